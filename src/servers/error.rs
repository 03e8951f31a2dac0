//! What can fail in the servers: a request the API refuses, or the store
//! under it.

use super::adapter::MachineryError;
use super::model::{QuotaExceeded, ServerId};
use crate::invalid::Invalid;
use crate::refusal::Refusal;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServersError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such server, or not one the caller may see (another member's
    /// server is not found, so that its existence is not told).
    #[error("no such server")]
    NotFound,
    #[error(transparent)]
    Quota(#[from] QuotaExceeded),
    /// The server is being deleted: nothing else may be asked of it.
    #[error("the server {0} is being deleted")]
    Deleting(String),
    #[error("{0}")]
    Forbidden(&'static str),
    /// The box serves no more servers (every engine port is taken).
    #[error("the box has as many servers as it can serve ({0})")]
    Full(usize),
    /// The server's disk does not fit on the box.
    #[error(transparent)]
    NoRoom(#[from] super::room::NoRoom),
    #[error("cannot read the free space of {path}: {source}")]
    Storage {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot make the certificate: {0}")]
    Certificate(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ServersError> for Refusal {
    fn from(e: ServersError) -> Refusal {
        match e {
            ServersError::Invalid(e) => e.into(),
            ServersError::NotFound => Refusal::NotFound,
            e @ (ServersError::Quota(_)
            | ServersError::Deleting(_)
            | ServersError::Full(_)
            | ServersError::NoRoom(_)) => Refusal::Conflict(e.to_string()),
            ServersError::Forbidden(message) => Refusal::forbidden(message),
            // rcgen failing to sign is hearth's fault, never the caller's.
            ServersError::Certificate(e) => Refusal::Internal(e),
            // The box's own storage unreadable: nothing the caller did.
            e @ ServersError::Storage { .. } => Refusal::Internal(e.to_string()),
            ServersError::Store(e) => e.into(),
        }
    }
}

/// What can fail in a pass of the servers' manager.
#[derive(Debug, thiserror::Error)]
pub enum ServersPassError {
    #[error(transparent)]
    Host(#[from] MachineryError),
    #[error("reading the servers: {0}")]
    Store(#[from] StoreError),
    #[error("a read of the store did not finish")]
    StoreTask(#[source] tokio::task::JoinError),
    #[error("the audit record of a root helper request was not written")]
    AuditTask(#[source] tokio::task::JoinError),
    /// Some servers' steps failed; the others went on.
    #[error("{}", .0.iter().map(|(id, e)| format!("{id}: {e}")).collect::<Vec<_>>().join("; "))]
    Steps(Vec<(ServerId, String)>),
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use crate::invalid::invalid;
    use crate::refusal::is_internal;
    use crate::servers::room::NoRoom;

    #[test]
    fn servers_errors_refuse_as_the_api_promises() {
        let port = invalid("ports[0].port", "must be a port");
        let not_admin = "only admins name another owner";
        for (e, refusal) in [
            (
                ServersError::Invalid(port),
                Refusal::invalid("ports[0].port", "ports[0].port must be a port"),
            ),
            (ServersError::NotFound, Refusal::NotFound),
            (
                ServersError::Forbidden(not_admin),
                Refusal::forbidden(not_admin),
            ),
        ] {
            assert_eq!(Refusal::from(e), refusal);
        }
        // What stands in the way is a conflict, and says what it is.
        let quota = QuotaExceeded::Servers {
            owner: "ann".into(),
            max: 2,
            has: 2,
        };
        let no_room = NoRoom {
            wanted_mib: 4096,
            free_mib: 1024,
            promised_mib: 0,
            keep_mib: 512,
        };
        for (e, says) in [
            (ServersError::Quota(quota), "ann may have at most 2 servers"),
            (ServersError::Deleting("s1".into()), "s1 is being deleted"),
            (
                ServersError::Full(64),
                "as many servers as it can serve (64)",
            ),
            (
                ServersError::NoRoom(no_room),
                "a 4096 MiB disk does not fit",
            ),
        ] {
            match Refusal::from(e) {
                Refusal::Conflict(message) => assert!(message.contains(says), "{message}"),
                other => panic!("{says}: {other:?}"),
            }
        }
        // The box's own faults: their cause stays in the log.
        let storage = ServersError::Storage {
            path: "/srv/hearth".into(),
            source: std::io::Error::other("gone"),
        };
        assert!(is_internal(storage));
        assert!(is_internal(ServersError::Certificate("rcgen".into())));
        assert!(is_internal(ServersError::Store(StoreError::for_tests())));
    }
}
