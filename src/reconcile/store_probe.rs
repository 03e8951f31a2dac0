//! The state store's periodic check, as a reconcile manager: nothing to
//! apply, only an observation every few seconds, so a failing disk shows
//! in the health report and the loop beats for the watchdog like every
//! other. It runs on [`super::run`], which owns the timer, the backoff
//! and the health entry; the store has no topic of its own: its state
//! reaches people through the health entry.

use std::time::Duration;

use super::{Launch, Manager, Observation, Plan, Timing, Wakes};
use crate::component::Component;
use crate::store::{Store, StoreError};

/// How often the store is probed.
pub const CHECK_EVERY: Duration = Duration::from_secs(10);

/// The loop's timing: a check per [`CHECK_EVERY`], and after a failure a
/// retry no later than that.
fn timing() -> Timing {
    Timing {
        drift: CHECK_EVERY,
        backoff_cap: CHECK_EVERY,
        ..Timing::default()
    }
}

/// Checks `store` every [`CHECK_EVERY`] until shutdown.
pub fn start(store: &Store, launch: &mut Launch<'_>) {
    let probe = StoreProbe {
        store: store.clone(),
    };
    launch.unpublished(probe, Wakes::new(), timing());
}

struct StoreProbe {
    store: Store,
}

/// The store is never changed by this manager.
pub struct NothingToDo;

impl Plan for NothingToDo {
    fn is_noop(&self) -> bool {
        true
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the store check panicked")]
    Panicked(#[source] tokio::task::JoinError),
}

impl Manager for StoreProbe {
    const COMPONENT: Component = Component::Store;
    type Desired = ();
    type Observed = ();
    type Plan = NothingToDo;
    type Status = ();
    type Error = ProbeError;

    async fn desired(&mut self) -> Result<(), ProbeError> {
        Ok(())
    }

    async fn observe(&mut self) -> Result<Observation<()>, ProbeError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.check())
            .await
            .map_err(ProbeError::Panicked)??;
        Ok(Observation::Present(()))
    }

    fn plan(_: &(), _: &()) -> NothingToDo {
        NothingToDo
    }

    async fn apply(&mut self, _: NothingToDo) -> Result<(), ProbeError> {
        Ok(())
    }

    fn status(_: &(), _: &()) {}

    fn detail(_: &()) -> String {
        "open".to_string()
    }
}
