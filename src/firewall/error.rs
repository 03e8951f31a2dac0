//! What can go wrong in the firewall: running `nft`, the kernel refusing a
//! ruleset, the store, and a change that is not allowed.

use crate::refusal::Refusal;
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
}

impl From<FirewallError> for Refusal {
    fn from(e: FirewallError) -> Refusal {
        match e {
            FirewallError::Invalid(e) => e.into(),
            FirewallError::Nft(NftError::Refused { message }) => Refusal::Rejected {
                code: "ruleset_refused",
                message: format!("the kernel refused the ruleset, so nothing changed: {message}"),
            },
            FirewallError::Nft(e) => {
                Refusal::Unavailable(format!("cannot drive the firewall: {e}"))
            }
            FirewallError::Store(e) => e.into(),
            FirewallError::CannotConfirm(message) => Refusal::Conflict(message.into()),
            e @ FirewallError::ApplyTimedOut => Refusal::Unavailable(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refusal::is_internal;

    #[test]
    fn firewall_errors_refuse_as_the_api_promises() {
        let invalid = Invalid {
            field: "allow[2].ports".into(),
            message: "must be a port".into(),
        };
        assert_eq!(
            Refusal::from(FirewallError::Invalid(invalid)),
            Refusal::invalid("allow[2].ports", "allow[2].ports must be a port")
        );
        let refused = NftError::Refused {
            message: "Error: syntax error".into(),
        };
        let Refusal::Rejected { code, message } = Refusal::from(FirewallError::Nft(refused)) else {
            panic!("not rejected")
        };
        assert_eq!(code, "ruleset_refused");
        assert!(
            message.contains("nothing changed: Error: syntax error"),
            "{message}"
        );
        assert_eq!(
            Refusal::from(FirewallError::CannotConfirm("too early")),
            Refusal::Conflict("too early".into())
        );
        assert!(matches!(
            Refusal::from(FirewallError::ApplyTimedOut),
            Refusal::Unavailable(_)
        ));
        assert!(is_internal(FirewallError::Store(StoreError::for_tests())));
    }
}
