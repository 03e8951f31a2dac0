//! An admin's start, stop or restart of one of the box's services,
//! audited with its outcome (a refusal as denied, a failed job as
//! failed), whatever it is.

use std::net::IpAddr;

use super::units::{UnitError, Units, Verb};
use crate::accounts::Caller;
use crate::refusal::Refusal;
use crate::store::{AuditAction, Outcome, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServiceControlError {
    /// `--dev`: hearth does not drive this machine's systemd.
    #[error("hearth does not manage this machine's services here (--dev)")]
    NotManaged,
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit write did not finish: {0}")]
    Task(String),
}

impl From<ServiceControlError> for Refusal {
    fn from(e: ServiceControlError) -> Refusal {
        match e {
            e @ ServiceControlError::NotManaged => Refusal::Conflict(e.to_string()),
            ServiceControlError::Unit(e) => e.into(),
            ServiceControlError::Store(e) => e.into(),
            e @ ServiceControlError::Task(_) => Refusal::Internal(e.to_string()),
        }
    }
}

/// Carries out `verb` on `unit` and writes the audit record of what came
/// of it; an audit that cannot be written is the answer then, before the
/// job's own. `units` is `None` where hearth does not manage the machine.
pub async fn act(
    units: Option<&Units>,
    store: &Store,
    caller: &Caller,
    unit: &str,
    verb: Verb,
    from: IpAddr,
) -> Result<(), ServiceControlError> {
    let units = units.ok_or(ServiceControlError::NotManaged)?;
    let result = units.act(unit, verb).await;
    let action = match verb {
        Verb::Start => AuditAction::ServiceStart,
        Verb::Stop => AuditAction::ServiceStop,
        Verb::Restart => AuditAction::ServiceRestart,
    };
    let mut entry = caller.audit(action, unit, from);
    entry.outcome = match &result {
        Ok(()) => Outcome::Success,
        Err(UnitError::NotAllowed(_)) => Outcome::Denied,
        Err(_) => Outcome::Failure,
    };
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.audit(entry))
        .await
        .map_err(|e| ServiceControlError::Task(e.to_string()))??;
    Ok(result?)
}
