//! Rebooting and powering off the box: audited, announced on the
//! `services` topic, and carried out through logind a few seconds later,
//! so that every open page learns of it before the box goes away. The
//! caller hears back at once, with when it happens.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::units::{Power, Units};
use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::events::{Hub, Topic};
use crate::refusal::Refusal;
use crate::store::{AuditAction, Store, StoreError};

/// Between the announcement and the act.
pub const NOTICE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    /// `--dev`: hearth does not drive this machine's logind.
    #[error("hearth does not manage this machine here (--dev)")]
    NotManaged,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the audit write did not finish: {0}")]
    Task(String),
}

impl From<PowerError> for Refusal {
    fn from(e: PowerError) -> Refusal {
        match e {
            e @ PowerError::NotManaged => Refusal::Conflict(e.to_string()),
            PowerError::Store(e) => e.into(),
            e @ PowerError::Task(_) => Refusal::Internal(e.to_string()),
        }
    }
}

/// Writes the audit record, announces the act to every stream, and has
/// logind carry it out after [`NOTICE`]. Answers when it happens, in ms
/// since the epoch. `units` is `None` where hearth does not manage the
/// machine (`--dev`): nothing is done then.
pub async fn schedule(
    units: Option<Arc<Units>>,
    store: &Store,
    hub: &Hub,
    caller: &Caller,
    power: Power,
    from: IpAddr,
) -> Result<u64, PowerError> {
    let units = units.ok_or(PowerError::NotManaged)?;
    let action = match power {
        Power::Reboot => AuditAction::SystemReboot,
        Power::PowerOff => AuditAction::SystemPowerOff,
    };
    let entry = caller.audit(action, "host", from);
    let store = store.clone();
    tokio::task::spawn_blocking(move || store.audit(entry))
        .await
        .map_err(|e| PowerError::Task(e.to_string()))??;
    let at_ms = now_ms() + NOTICE.as_millis() as u64;
    let notice = json!({
        "units": units.states(),
        "power": {"action": power.name(), "at_ms": at_ms, "by": caller.username},
    });
    hub.publish(Topic::Services, notice.to_string());
    tracing::warn!(action = power.name(), by = %caller.username, "the box goes down in {} s", NOTICE.as_secs());
    tokio::spawn(async move {
        tokio::time::sleep(NOTICE).await;
        if let Err(e) = units.power(power).await {
            tracing::error!(error = %e, action = power.name(), "logind refused");
        }
    });
    Ok(at_ms)
}
