//! Errors of the state store. Each variant names the failed operation and
//! carries the store's path; the messages say what the owner can do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create state directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state store {path} is in use by another process (is another hearth running on the same state dir?); stop it first"
    )]
    Locked { path: PathBuf },
    #[error("cannot open state store {path}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state store {path} is unreadable or corrupt; it was left untouched: restore it from a backup, or move it away (and setup-done beside it, if there) to start with an empty store"
    )]
    Unreadable {
        path: PathBuf,
        #[source]
        source: Box<redb::Error>,
    },
    /// The store file is gone or empty (a power cut on a full disk can do
    /// that) while the state folder says the box was set up: starting
    /// afresh would silently drop every account, policy and server.
    #[error(
        "state store {path} is {what}, but this box was set up ({marker} says so): hearth will not start it as a new box. Restore the store from a backup, or start over with the recovery console's factory reset"
    )]
    SetUpStateMissing {
        path: PathBuf,
        marker: PathBuf,
        what: &'static str,
    },
    #[error("cannot record that the box is set up in {path}")]
    WriteMarker {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "state store {path} has schema version {found}, newer than this hearth understands ({supported}); run a newer hearth or restore a backup"
    )]
    SchemaTooNew {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    #[error("cannot migrate state store {path} from schema version {from}")]
    Migrate {
        path: PathBuf,
        from: u64,
        #[source]
        source: Box<redb::Error>,
    },
    #[error("cannot read {what} from state store {path}")]
    Read {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: Box<redb::Error>,
    },
    #[error("cannot write {what} to state store {path}")]
    Write {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: Box<redb::Error>,
    },
    /// The file system holding the store is full (or its quota reached).
    /// Nothing committed is lost, and writes resume once there is space.
    #[error(
        "cannot write {what} to state store {path}: its file system is full. Free some space there; nothing already saved was lost, and writes resume by themselves"
    )]
    NoSpace { path: PathBuf, what: &'static str },
    /// What the health probe says of the store's file system when it is
    /// (nearly) out of space.
    #[error(
        "the file system of state store {path} is {state}: {available_kib} KiB free. Free some space there; writes that need it are refused until then"
    )]
    LowSpace {
        path: PathBuf,
        state: &'static str,
        available_kib: u64,
    },
    /// An earlier write failed and the store could not be reopened yet.
    #[error("cannot use state store {path} for {what}: an earlier write failed ({cause})")]
    Failed {
        path: PathBuf,
        what: &'static str,
        cause: String,
    },
    /// A copy of the store (see [`super::copy`]) could not be written.
    #[error("cannot write a copy of the state store to {path}")]
    WriteCopy {
        path: PathBuf,
        #[source]
        source: Box<redb::Error>,
    },
    /// The written copy could not be synced or put in place.
    #[error("cannot put the copy of the state store in place at {path}")]
    PlaceCopy {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The folder of the store has no room for the copy kept before an
    /// update (see [`super::pre_update`]).
    #[error(
        "no room for the copy of the state store kept before an update in {path}: it needs about {needed_kib} KiB (the {store_kib} KiB store, a margin, and the space the store keeps free), and {available_kib} KiB are free. Free some space there, then start the update again"
    )]
    PreUpdateNoRoom {
        path: PathBuf,
        needed_kib: u64,
        available_kib: u64,
        store_kib: u64,
    },
    /// The copy kept before an update, or its mark, could not be written
    /// or replaced.
    #[error("cannot keep a copy of the state store before the update at {path}")]
    KeepPreUpdate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot remove the copy of the state store kept before the update at {path}")]
    DropPreUpdate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The store did not open, and the copy kept before an update was not
    /// put in its place: `source` is why the store did not open.
    #[error(
        "the copy of the state store kept before an update ({mark}) was not restored: {reason}"
    )]
    NotRestored {
        mark: PathBuf,
        reason: String,
        #[source]
        source: Box<StoreError>,
    },
    /// A step of putting the copy kept before an update in place of a
    /// store this hearth cannot read failed; the store is as it was.
    #[error("cannot restore the state store kept before the update: cannot {step} {path}")]
    RestorePreUpdate {
        path: PathBuf,
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("state store {path} holds a malformed {what} record")]
    Decode {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// A value that was valid when written no longer parses (edited by
    /// hand, or a rule tightened since).
    #[error("state store {path} holds a malformed {what}: it {reason}")]
    Malformed {
        path: PathBuf,
        what: &'static str,
        reason: String,
    },
}

#[cfg(test)]
impl StoreError {
    /// A store error whose kind does not matter (for tests).
    pub(crate) fn for_tests() -> StoreError {
        StoreError::Locked {
            path: "/var/lib/hearth/state.redb".into(),
        }
    }
}

/// A full disk is the owner's to fix, and says so; a store that has not
/// recovered from a failed write is unavailable for now; anything else
/// is internal, with its causes for the log.
impl From<StoreError> for crate::refusal::Refusal {
    fn from(e: StoreError) -> Self {
        use crate::refusal::Refusal;
        match e {
            StoreError::NoSpace { .. } | StoreError::LowSpace { .. } => Refusal::StorageFull,
            StoreError::Failed { .. } => {
                tracing::warn!(cause = %crate::logging::chain(&e), "state store unavailable");
                Refusal::Unavailable(
                    "the state store is recovering from a failed write; try again shortly".into(),
                )
            }
            e => Refusal::Internal(crate::logging::chain(&e)),
        }
    }
}
