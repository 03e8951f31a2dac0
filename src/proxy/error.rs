//! What can fail in the proxy: a request the API refuses, and talking to
//! Caddy's admin API.

use std::path::PathBuf;

use crate::invalid::Invalid;
use crate::refusal::Refusal;
use crate::store::StoreError;

/// A domain change refused, or the store failing under it.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// No such domain, or not one the caller may see.
    #[error("no such domain")]
    NotFound,
    #[error("the domain {0} exists already")]
    Exists(String),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ProxyError> for Refusal {
    fn from(e: ProxyError) -> Refusal {
        match e {
            ProxyError::Invalid(e) => e.into(),
            ProxyError::NotFound => Refusal::NotFound,
            e @ ProxyError::Exists(_) => Refusal::Conflict(e.to_string()),
            ProxyError::Forbidden(message) => Refusal::forbidden(message),
            ProxyError::Store(e) => e.into(),
        }
    }
}

/// Caddy's admin API could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CaddyError {
    /// The socket is not there or refuses: Caddy is not running.
    #[error("cannot reach Caddy's admin API at {path}: {source}")]
    Connect {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Caddy's admin API at {path} did not answer {what}: {message}")]
    Exchange {
        path: PathBuf,
        what: &'static str,
        message: String,
    },
    /// Caddy answered and refused: for a load, its previous config runs on.
    #[error("Caddy refused {what} ({status}): {message}")]
    Refused {
        what: &'static str,
        status: u16,
        message: String,
    },
    #[error("Caddy's admin API did not answer within {0} s")]
    TimedOut(u64),
}

/// What can fail in a pass of the proxy's manager.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Caddy(#[from] CaddyError),
    #[error("Caddy runs another config than the one it just took")]
    ReadBackDiffers,
    #[error("reading the domains: {0}")]
    Store(#[from] StoreError),
    #[error("the read of the domains did not finish")]
    ReadTask(#[source] tokio::task::JoinError),
}

#[cfg(test)]
mod refusal_tests {
    use super::*;
    use crate::invalid::invalid;
    use crate::refusal::is_internal;

    #[test]
    fn proxy_errors_refuse_as_the_api_promises() {
        let port = invalid("target.port", "must be a port");
        let exists = "the domain a.example exists already";
        // The store's own kinds pass through: a full disk is the owner's
        // to fix.
        let full = StoreError::NoSpace {
            path: "/var/lib/hearth/state.redb".into(),
            what: "transaction",
        };
        let cases = [
            (
                ProxyError::Invalid(port),
                Refusal::invalid("target.port", "target.port must be a port"),
            ),
            (ProxyError::NotFound, Refusal::NotFound),
            (
                ProxyError::Exists("a.example".into()),
                Refusal::Conflict(exists.into()),
            ),
            (
                ProxyError::Forbidden("not your server"),
                Refusal::forbidden("not your server"),
            ),
            (ProxyError::Store(full), Refusal::StorageFull),
        ];
        for (e, refusal) in cases {
            assert_eq!(Refusal::from(e), refusal);
        }
        // Anything else of the store's is hearth's own fault.
        assert!(is_internal(ProxyError::Store(StoreError::for_tests())));
    }
}
