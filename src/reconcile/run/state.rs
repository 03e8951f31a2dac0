//! The loop's bookkeeping: when the next pass may start, and what follows
//! from a pass's outcome (health, report, backoff) or from a wake-up.

use std::sync::Arc;

use tokio::time::Instant;

use crate::component::Component;
use crate::health::{ComponentState, Health};
use crate::reconcile::backoff::Backoff;
use crate::reconcile::context::{Publish, Timing};
use crate::reconcile::manager::Manager;
use crate::reconcile::pass::Outcome;
use crate::reconcile::report::Report;
use crate::reconcile::wakes::Wake;

pub(super) struct State<S> {
    component: Component,
    health: Health,
    publish: Publish<S>,
    timing: Timing,
    backoff: Backoff,
    /// A pass is due, to start at `start_at` (after a debounce or a
    /// backoff) once no pass runs.
    pub wanted: bool,
    pub start_at: Instant,
    /// When quiet ends and a drift check is due.
    pub drift_at: Instant,
    /// The component was not present: only the drift timer looks again.
    disabled: bool,
    /// The status of the last pass that succeeded, shared by the reports
    /// that follow it.
    last_status: Option<Arc<S>>,
}

impl<S> State<S> {
    /// A first pass is due at once.
    pub fn new(
        component: Component,
        health: Health,
        publish: Publish<S>,
        timing: Timing,
        backoff: Backoff,
    ) -> State<S> {
        let now = Instant::now();
        State {
            component,
            health,
            publish,
            timing,
            backoff,
            wanted: true,
            start_at: now,
            drift_at: now + timing.drift,
            disabled: false,
            last_status: None,
        }
    }

    /// A wake-up; `busy` when a pass is running.
    pub fn woken(&mut self, wake: Wake, busy: bool) {
        let name = self.component.name();
        match wake {
            Wake::Woke(source) if busy => {
                // Served after the running pass, which may have read the
                // desired state before this change. Kept even while
                // disabled: that pass may find the component back.
                tracing::trace!(component = name, source, "woken during a pass");
                self.wanted = true;
            }
            Wake::Woke(source) if self.disabled => {
                tracing::trace!(component = name, source, "woken while disabled; ignored");
            }
            Wake::Woke(source) => {
                tracing::trace!(component = name, source, "woken");
                // A pass already due keeps its start: the first wake-up
                // of a burst opens the window, the others join it, and a
                // backoff is never cut short.
                if !self.wanted {
                    self.wanted = true;
                    self.start_at = Instant::now() + self.timing.debounce;
                }
            }
            Wake::Ended(source) => {
                tracing::warn!(
                    component = name,
                    source,
                    "a wake-up source ended; relying on the drift timer"
                );
            }
        }
    }

    /// Quiet lasted a drift period: a pass is due now.
    pub fn drifted(&mut self) {
        tracing::trace!(component = self.component.name(), "drift check");
        self.wanted = true;
    }

    /// A pass ended: sets the health, publishes, schedules what follows.
    /// `wake_at`: when the manager wants a look sooner than the drift.
    pub fn finished<M: Manager<Status = S>>(
        &mut self,
        outcome: Outcome<M>,
        wake_at: Option<Instant>,
    ) {
        let now = Instant::now();
        self.drift_at = now + self.timing.drift;
        if let Some(at) = wake_at {
            // A moment already past is served after the debounce, so that
            // a manager that keeps answering it cannot spin the loop.
            self.drift_at = self.drift_at.min(at.max(now + self.timing.debounce));
        }
        match outcome {
            Outcome::Synced { status, applied } => self.synced::<M>(now, status, applied),
            Outcome::NotPresent { reason } => self.not_present(reason),
            Outcome::Failed(error) => {
                self.failed(now, &format!("{error}; see the log"), &error.chain())
            }
        }
    }

    fn synced<M: Manager<Status = S>>(&mut self, now: Instant, status: S, applied: bool) {
        let name = self.component.name();
        if self.backoff.failures() > 0 {
            tracing::info!(
                component = name,
                failures = self.backoff.failures(),
                "component recovered"
            );
        }
        self.backoff.reset();
        self.disabled = false;
        let detail = M::detail(&status);
        let trouble = M::trouble(&status);
        tracing::debug!(component = name, applied, detail, "reconcile pass done");
        self.last_status = Some(Arc::new(status));
        if self.wanted {
            // Woken while the pass ran: wait for the burst's tail.
            self.start_at = now + self.timing.debounce;
        }
        match trouble {
            Some(trouble) => self.report(ComponentState::Degraded, &trouble, None),
            None => self.report(ComponentState::Ok, &detail, None),
        }
    }

    fn not_present(&mut self, reason: String) {
        if !self.disabled {
            tracing::info!(
                component = self.component.name(),
                reason,
                "component not present; disabled"
            );
        }
        // Absence is no failure: when it comes back, it starts afresh.
        self.backoff.reset();
        self.disabled = true;
        self.wanted = false;
        self.last_status = None;
        self.report(ComponentState::Disabled, &reason, None);
    }

    /// `detail` (the failed step) goes to the public health entry; `cause`
    /// (the whole chain) to the log and the report.
    fn failed(&mut self, now: Instant, detail: &str, cause: &str) {
        let wait = self.backoff.fail();
        let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        tracing::warn!(
            component = self.component.name(),
            error = %cause,
            failures = self.backoff.failures(),
            retry_in_ms,
            "reconcile pass failed"
        );
        self.disabled = false;
        self.wanted = true;
        self.start_at = now + wait;
        self.report(ComponentState::Degraded, detail, Some((cause, retry_in_ms)));
    }

    /// `failure`: the cause and the wait before the retry.
    fn report(&self, state: ComponentState, detail: &str, failure: Option<(&str, u64)>) {
        self.health.set(self.component, state, detail);
        (self.publish)(Report {
            component: self.component,
            state,
            detail: detail.to_string(),
            cause: failure.map(|(cause, _)| cause.to_string()),
            retry_in_ms: failure.map(|(_, wait)| wait),
            failures: self.backoff.failures(),
            status: self.last_status.clone(),
        });
    }
}
