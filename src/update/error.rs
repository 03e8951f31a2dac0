//! The update manager's errors: each names the operation that failed.

use crate::refusal::Refusal;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot read the slots from the update helper: {0}")]
    Status(String),
    #[error("cannot mark slot {slot} bad: {error}")]
    MarkBad { slot: String, error: String },
    #[error("cannot trust the next update key: {0}")]
    TrustNextKey(String),
    #[error("cannot reboot: {0}")]
    Reboot(String),
    #[error("cannot keep a copy of the store before the reboot: {0}")]
    KeepStore(#[source] StoreError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UpdateError> for Refusal {
    fn from(e: UpdateError) -> Refusal {
        match e {
            UpdateError::Store(e) | UpdateError::KeepStore(e) => e.into(),
            other => Refusal::Unavailable(other.to_string()),
        }
    }
}
