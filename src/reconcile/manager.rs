//! What a manager implements: the four steps of a pass and the types
//! that flow between them.

use std::future::Future;

use serde::Serialize;

pub use crate::component::Component;

/// What `observe` found: the component, or the reason it is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation<T> {
    Present(T),
    /// Not on this machine, by design or by circumstance (no Docker under
    /// `--dev`): the component is `disabled`, never failed, and is looked
    /// for again on the drift timer only. The reason is shown to people.
    NotPresent {
        reason: String,
    },
}

impl<T> Observation<T> {
    /// The component, if present.
    pub fn present(&self) -> Option<&T> {
        match self {
            Observation::Present(t) => Some(t),
            Observation::NotPresent { .. } => None,
        }
    }

    /// Why the component is not present, if it is not.
    pub fn not_present(&self) -> Option<&str> {
        match self {
            Observation::Present(_) => None,
            Observation::NotPresent { reason } => Some(reason),
        }
    }
}

/// A manager's plan: whatever it is, it says whether there is work.
pub trait Plan {
    /// True when the component already matches: `apply` is skipped, so a
    /// drift check of a healthy component does no writes (a needless
    /// Caddy `/load` builds a whole new config, and every proxied stream
    /// open across it keeps the old one in memory).
    fn is_noop(&self) -> bool;
}

/// One component's reconciler; [`super::run`] drives it.
///
/// The async steps are written `async fn` in an impl; the trait spells
/// them as `impl Future + Send` so that the loop can be spawned.
pub trait Manager: Send + 'static {
    const COMPONENT: Component;

    /// The typed desired state, read from the store.
    type Desired: Send;
    /// What the real component looks like now.
    type Observed: Send;
    type Plan: Plan + Send;
    /// What is published after a pass (inside a [`super::Report`]); kept
    /// after the pass and shared by the reports that follow it.
    type Status: Serialize + Send + Sync + 'static;
    /// Its text, with its sources, goes to the log and the report: no secrets.
    type Error: std::error::Error + Send + Sync + 'static;

    fn desired(&mut self) -> impl Future<Output = Result<Self::Desired, Self::Error>> + Send;

    fn observe(
        &mut self,
    ) -> impl Future<Output = Result<Observation<Self::Observed>, Self::Error>> + Send;

    /// Pure: no I/O, no clock, so that it can be golden-file tested.
    fn plan(desired: &Self::Desired, observed: &Self::Observed) -> Self::Plan;

    /// Carries the plan out. Must be atomic or cancel-safe: at shutdown
    /// the future is dropped wherever it is.
    fn apply(
        &mut self,
        plan: Self::Plan,
    ) -> impl Future<Output = Result<Self::Status, Self::Error>> + Send;

    /// The status of a component that needed nothing (a no-op plan).
    fn status(desired: &Self::Desired, observed: &Self::Observed) -> Self::Status;

    /// A moment the component must be looked at again, sooner than the
    /// drift timer: e.g. the end of the firewall's confirm window, when
    /// an unconfirmed change is taken back. Asked after every pass.
    fn wake_at(&self) -> Option<tokio::time::Instant> {
        None
    }

    /// The health detail of a pass that succeeded, e.g. "12 rules".
    fn detail(_status: &Self::Status) -> String {
        "in sync".to_string()
    }

    /// Trouble a pass that succeeded leaves for an admin, in words the
    /// public health entry may show (counts, never members' names): the
    /// component is `degraded` with it as the detail, while the loop goes
    /// on at its own pace (nothing failed that a retry would fix). E.g. a
    /// server whose engine has not answered for minutes.
    fn trouble(_status: &Self::Status) -> Option<String> {
        None
    }
}
