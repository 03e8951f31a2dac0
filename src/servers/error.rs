//! What can fail in the servers: a request the API refuses, or the store
//! under it.

use super::model::QuotaExceeded;
use crate::invalid::Invalid;
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
