//! What can go wrong in the firewall: running `nft`, the kernel refusing a
//! ruleset, the store, and a change that is not allowed.

use crate::store::StoreError;

use super::model::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("cannot run {program}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nft did not finish within {seconds} s")]
    TimedOut { seconds: u64 },
    /// The kernel (or nft's parser) refused; nothing was changed.
    #[error("nft refused the ruleset: {message}")]
    Refused { message: String },
    #[error("cannot read nft's JSON output")]
    Json(#[source] serde_json::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum FirewallError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A confirmation that does not count, and why.
    #[error("{0}")]
    CannotConfirm(&'static str),
    #[error("the new ruleset was not applied in time; the previous one stays")]
    ApplyTimedOut,
    #[error("the firewall is not managed on this box: {0}")]
    NotManaged(String),
}
