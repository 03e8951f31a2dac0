//! What an admin asks of the host: a service started, stopped or
//! restarted, the box rebooted or powered off. Each is audited (a service
//! action with its outcome: a refusal as denied, a failed job as failed);
//! going down is also announced on the `services` topic and carried out
//! through logind a few seconds later, so that every open page learns of
//! it before the box goes away.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::units::{Power, PowerNotice, Services, UnitError, Units, Verb};
use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::events::Hub;
use crate::refusal::Refusal;
use crate::store::{AuditAction, AuditEntry, Outcome, Store, StoreError};

/// Between the announcement of a reboot or power-off and the act.
pub const NOTICE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// `--dev`: hearth does not drive this machine's systemd; says what
    /// was asked of it.
    #[error("hearth does not manage this machine{0} here (--dev)")]
    NotManaged(&'static str),
    #[error(transparent)]
    Unit(#[from] UnitError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit write did not finish")]
    AuditTask(#[source] tokio::task::JoinError),
}

impl From<ActionError> for Refusal {
    fn from(e: ActionError) -> Refusal {
        match e {
            e @ ActionError::NotManaged(_) => Refusal::Conflict(e.to_string()),
            ActionError::Unit(e) => e.into(),
            ActionError::Store(e) => e.into(),
            e @ ActionError::AuditTask(_) => Refusal::Internal(crate::logging::chain(&e)),
        }
    }
}

async fn audit(store: &Store, entry: AuditEntry) -> Result<(), ActionError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.audit(entry))
        .await
        .map_err(ActionError::AuditTask)??;
    Ok(())
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
) -> Result<(), ActionError> {
    let units = units.ok_or(ActionError::NotManaged("'s services"))?;
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
    audit(store, entry).await?;
    Ok(result?)
}

/// Writes the audit record, announces the act to every stream, and has
/// logind carry it out after [`NOTICE`]. Answers when it happens, in ms
/// since the epoch.
pub async fn schedule_power(
    units: Option<Arc<Units>>,
    store: &Store,
    hub: &Hub,
    caller: &Caller,
    power: Power,
    from: IpAddr,
) -> Result<u64, ActionError> {
    let units = units.ok_or(ActionError::NotManaged(""))?;
    let action = match power {
        Power::Reboot => AuditAction::SystemReboot,
        Power::PowerOff => AuditAction::SystemPowerOff,
    };
    audit(store, caller.audit(action, "host", from)).await?;
    let at_ms = now_ms() + NOTICE.as_millis() as u64;
    hub.publish(Services {
        units: units.states(),
        power: Some(PowerNotice {
            action: power.name(),
            at_ms,
            by: caller.username.clone(),
        }),
    });
    tracing::warn!(action = power.name(), by = %caller.username, "the box goes down in {} s", NOTICE.as_secs());
    tokio::spawn(async move {
        tokio::time::sleep(NOTICE).await;
        if let Err(e) = units.power(power).await {
            tracing::error!(error = %e, action = power.name(), "logind refused");
        }
    });
    Ok(at_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_managing_the_machine_says_so_as_before() {
        assert_eq!(
            Refusal::from(ActionError::NotManaged("")),
            Refusal::Conflict("hearth does not manage this machine here (--dev)".into())
        );
        assert_eq!(
            Refusal::from(ActionError::NotManaged("'s services")),
            Refusal::Conflict("hearth does not manage this machine's services here (--dev)".into())
        );
    }
}
