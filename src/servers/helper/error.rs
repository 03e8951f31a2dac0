//! What can fail in the privileged helper: each variant names the step
//! and the path or user it was done to (never anything secret: the helper
//! handles none).

use std::path::PathBuf;

use crate::servers::subids::SubIdError;

#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error("cannot look up user {user}: {source}")]
    LookupUser { user: String, source: nix::Error },
    #[error("the user {0} does not exist (create_user first)")]
    NoSuchUser(String),
    #[error(
        "the user {user} has uid {uid} and gid {gid}, outside the servers' range {first}-{last}: the firewall would not confine it (remove the user)"
    )]
    OutsideRange {
        user: String,
        uid: u32,
        gid: u32,
        first: u32,
        last: u32,
    },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    SubIds { path: PathBuf, source: SubIdError },
    #[error("cannot set up the folder {path}: {source}")]
    Folder {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the disk image {path}: {source}")]
    Image {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot move {from} to {to}: {source}")]
    Move {
        from: PathBuf,
        to: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove {path}: {source}")]
    Remove {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot grant hearth the socket in {path}: {source}")]
    Acl {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already holds kept storage of that server")]
    KeptExists { path: PathBuf },
    #[error("cannot give {path} its blocks: {source}")]
    NoRoom {
        path: PathBuf,
        source: crate::servers::room::NoRoom,
    },
    #[error("cannot allocate {path}: {source}")]
    Allocate {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{id} may not be given {port}: {why}")]
    PortNotPublishable {
        id: String,
        port: String,
        why: String,
    },
    #[error("the servers' ports cannot be guarded: {0}")]
    GuardPorts(#[from] crate::servers::helper::bind_guard::GuardError),
    #[error("cannot read the servers' guarded ports in {path}: {detail}")]
    GuardedPorts { path: PathBuf, detail: String },
    /// slirp4netns, as the server's user, opens the tun device.
    #[error("the servers' network device {path}: {detail}")]
    Tun { path: PathBuf, detail: String },
}
