//! A manager for the loop's tests: it records its calls and when they
//! happened, and can be told to fail, to be absent, to be slow or to hang.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::reconcile::{Component, Manager, Observation, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Call {
    Desired,
    Observe,
    Apply(u32),
}

/// What the fake does next; the tests change it while the loop runs.
#[derive(Default)]
pub(super) struct State {
    /// Each call, with the time since the fake was made.
    pub calls: Vec<(Duration, Call)>,
    /// The "store": what `desired` reads.
    pub desired: u32,
    /// The "component": what `observe` sees and `apply` sets.
    pub observed: u32,
    /// Fail the next this many `desired` reads.
    pub fail_desired: u32,
    /// Fail the next this many applies.
    pub fail_apply: u32,
    pub absent: Option<&'static str>,
    pub apply_takes: Duration,
    pub hang_apply: bool,
    /// Applies dropped before they finished (shutdown mid-apply).
    pub applies_dropped: u32,
    /// What `wake_at` answers, after the fake was made.
    pub wake_after: Option<Duration>,
}

/// The test's handle on the fake's state.
#[derive(Clone)]
pub(super) struct Script {
    base: Instant,
    state: Arc<Mutex<State>>,
}

impl Script {
    pub fn new() -> Script {
        Script {
            base: Instant::now(),
            state: Arc::default(),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    fn record(&self, call: Call) {
        let at = self.base.elapsed();
        self.with(|s| s.calls.push((at, call)));
    }

    /// When each pass started (its `desired` read), in ms since the start.
    pub fn passes(&self) -> Vec<u128> {
        self.with(|s| {
            s.calls
                .iter()
                .filter(|(_, c)| *c == Call::Desired)
                .map(|(at, _)| at.as_millis())
                .collect()
        })
    }

    pub fn calls(&self) -> Vec<Call> {
        self.with(|s| s.calls.iter().map(|(_, c)| *c).collect())
    }
}

pub(super) struct Fake(pub Script);

#[derive(Debug, PartialEq, Eq)]
pub(super) struct FakePlan(Option<u32>);

impl Plan for FakePlan {
    fn is_noop(&self) -> bool {
        self.0.is_none()
    }
}

/// A value the fake applies and then calls trouble.
pub(super) const UNLUCKY: u32 = 13;

#[derive(Debug, Serialize)]
pub(super) struct FakeStatus {
    value: u32,
}

#[derive(Debug, thiserror::Error)]
pub(super) enum FakeError {
    #[error("store unreadable")]
    Store,
    #[error("component refused")]
    Refused(#[source] std::io::Error),
}

/// Counts an apply that was dropped before it finished.
struct DropWatch(Option<Script>);

impl Drop for DropWatch {
    fn drop(&mut self) {
        if let Some(script) = self.0.take() {
            script.with(|s| s.applies_dropped += 1);
        }
    }
}

impl Manager for Fake {
    const COMPONENT: Component = Component::Fake;
    type Desired = u32;
    type Observed = u32;
    type Plan = FakePlan;
    type Status = FakeStatus;
    type Error = FakeError;

    fn wake_at(&self) -> Option<Instant> {
        let base = self.0.base;
        self.0.with(|s| s.wake_after.map(|d| base + d))
    }

    async fn desired(&mut self) -> Result<u32, FakeError> {
        self.0.record(Call::Desired);
        self.0.with(|s| {
            if s.fail_desired > 0 {
                s.fail_desired -= 1;
                return Err(FakeError::Store);
            }
            Ok(s.desired)
        })
    }

    async fn observe(&mut self) -> Result<Observation<u32>, FakeError> {
        self.0.record(Call::Observe);
        Ok(self.0.with(|s| match s.absent {
            Some(reason) => Observation::NotPresent {
                reason: reason.to_string(),
            },
            None => Observation::Present(s.observed),
        }))
    }

    fn plan(desired: &u32, observed: &u32) -> FakePlan {
        FakePlan((desired != observed).then_some(*desired))
    }

    async fn apply(&mut self, plan: FakePlan) -> Result<FakeStatus, FakeError> {
        let target = plan.0.expect("the loop skips a no-op plan");
        self.0.record(Call::Apply(target));
        let mut watch = DropWatch(Some(self.0.clone()));
        let (hang, takes) = self.0.with(|s| (s.hang_apply, s.apply_takes));
        if hang {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(takes).await;
        watch.0 = None;
        self.0.with(|s| {
            if s.fail_apply > 0 {
                s.fail_apply -= 1;
                return Err(FakeError::Refused(std::io::Error::other("busy")));
            }
            s.observed = target;
            Ok(FakeStatus { value: target })
        })
    }

    fn status(_desired: &u32, observed: &u32) -> FakeStatus {
        FakeStatus { value: *observed }
    }

    fn detail(status: &FakeStatus) -> String {
        format!("value {}", status.value)
    }

    fn trouble(status: &FakeStatus) -> Option<String> {
        (status.value == UNLUCKY).then(|| format!("value {UNLUCKY} is in force but unlucky"))
    }
}
