//! Why a request was refused, in the few kinds every domain shares: each
//! domain's error says which kind it is, beside its own definition (a
//! `From` impl into [`Refusal`]), and the API maps each kind to its
//! status once (`http::error`). A refusal carries what may be said to
//! a client; hearth's own faults carry their cause for the log only.

use std::convert::Infallible;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No such thing (or none the caller may know of).
    NotFound,
    /// A bad value: the field at fault, when one is, and what is wrong
    /// (the whole sentence, as the client reads it).
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Not signed in, or the sign-in failed; `code` says how, when a
    /// client can act on the difference.
    Unauthorized { code: &'static str, message: String },
    /// Not allowed; `code` says why, when a client can act on it.
    Forbidden { code: &'static str, message: String },
    /// The state of things stands in the way (it exists, it is in use,
    /// it is the last one).
    Conflict(String),
    /// Over for good (the first-boot setup, once finished).
    Gone(String),
    /// Too many attempts; how long to wait, when that is known.
    TooMany {
        message: String,
        retry_after: Option<Duration>,
    },
    /// Well-formed, but the component refused it (the kernel a ruleset,
    /// systemd a job); `code` says which. Nothing was changed.
    Rejected { code: &'static str, message: String },
    /// A component, or the store, cannot do it now.
    Unavailable(String),
    /// A bounded resource is all in use: come back after `retry_after`.
    Busy {
        message: String,
        retry_after: Duration,
    },
    /// The box's storage is full: nothing was changed.
    StorageFull,
    /// hearth's own fault: the cause is for the log, never the client.
    Internal(String),
}

impl Refusal {
    /// A bad value of `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Refusal {
        Refusal::Invalid {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// A forbidden request, with the plain `forbidden` code.
    pub fn forbidden(message: impl Into<String>) -> Refusal {
        Refusal::Forbidden {
            code: "forbidden",
            message: message.into(),
        }
    }
}

/// For work that cannot fail.
impl From<Infallible> for Refusal {
    fn from(e: Infallible) -> Refusal {
        match e {}
    }
}

/// Whether `e` refuses as hearth's own fault (for the domains' tests).
#[cfg(test)]
pub(crate) fn is_internal(e: impl Into<Refusal>) -> bool {
    matches!(e.into(), Refusal::Internal(_))
}

/// Asserts that each error refuses as the refusal beside it (for the
/// domains' tests).
#[cfg(test)]
#[track_caller]
pub(crate) fn assert_refuses<E: Into<Refusal> + std::fmt::Debug>(
    cases: impl IntoIterator<Item = (E, Refusal)>,
) {
    for (error, expected) in cases {
        let shown = format!("{error:?}");
        assert_eq!(error.into(), expected, "{shown}");
    }
}
