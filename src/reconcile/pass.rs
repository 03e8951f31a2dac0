//! One pass: desired, observe, plan, and apply unless there is nothing
//! to do. No timing, no reporting: [`super::run`] does those.

use super::error::PassError;
use super::manager::{Manager, Observation, Plan};

/// How a pass ended.
pub(super) enum Outcome<M: Manager> {
    /// The component matches the desired state now.
    Synced {
        status: M::Status,
        applied: bool,
    },
    NotPresent {
        reason: String,
    },
    Failed(PassError<M::Error>),
}

/// Runs one pass. Takes the manager and gives it back, so the pass can be
/// held across the loop's iterations without a borrow of the loop's state.
pub(super) async fn pass<M: Manager>(mut manager: M) -> (M, Outcome<M>) {
    let outcome = steps(&mut manager).await;
    (manager, outcome)
}

/// One pass as the loop makes it, for a manager's own tests: the status
/// of an apply, `None` when there was nothing to do, or the step's error.
/// Panics when the component is not present: a test's fake always is.
#[cfg(test)]
pub async fn once<M: Manager>(manager: &mut M) -> Result<Option<M::Status>, M::Error> {
    match steps(manager).await {
        Outcome::Synced { status, applied } => Ok(applied.then_some(status)),
        Outcome::NotPresent { reason } => panic!("{} not present: {reason}", M::COMPONENT),
        Outcome::Failed(PassError::Desired(e) | PassError::Observe(e) | PassError::Apply(e)) => {
            Err(e)
        }
    }
}

async fn steps<M: Manager>(manager: &mut M) -> Outcome<M> {
    let desired = match manager.desired().await {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(PassError::Desired(e)),
    };
    let observed = match manager.observe().await {
        Ok(Observation::Present(o)) => o,
        Ok(Observation::NotPresent { reason }) => return Outcome::NotPresent { reason },
        Err(e) => return Outcome::Failed(PassError::Observe(e)),
    };
    let plan = M::plan(&desired, &observed);
    if plan.is_noop() {
        return Outcome::Synced {
            status: M::status(&desired, &observed),
            applied: false,
        };
    }
    drop((desired, observed));
    match manager.apply(plan).await {
        Ok(status) => Outcome::Synced {
            status,
            applied: true,
        },
        Err(e) => Outcome::Failed(PassError::Apply(e)),
    }
}
