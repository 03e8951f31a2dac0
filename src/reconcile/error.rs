//! Errors of a pass: which step failed, around the manager's own error.
//! The loop never fails as a whole; a failed pass is retried.

use std::error::Error;

#[derive(Debug, thiserror::Error)]
pub enum PassError<E: Error + 'static> {
    #[error("cannot read the desired state")]
    Desired(#[source] E),
    #[error("cannot observe the component")]
    Observe(#[source] E),
    #[error("cannot apply the plan")]
    Apply(#[source] E),
}

impl<E: Error + 'static> PassError<E> {
    /// The message and its causes on one line, "a: b: c", as the health
    /// detail and the report show it.
    pub fn chain(&self) -> String {
        crate::logging::chain(self)
    }
}
