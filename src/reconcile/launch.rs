//! What the daemon hands each manager's `start` (in the manager's own
//! folder): the registries to report to, the hub, the shutdown token and
//! the task list, with the one way to start a manager on [`run`]. The
//! daemon wires; a manager says what it watches and how it paces itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::context::{Publish, ReconcileContext, Timing};
use super::manager::{Component, Manager};
use super::report::Status;
use super::run;
use super::tasks::Tasks;
use super::wakes::Wakes;
use crate::events::{HealthEvent, Hub};
use crate::health::{ComponentState, Health, Snapshot};
use crate::liveness::{Heartbeat, Liveness};

/// Where the daemon's components start.
pub struct Launch<'a> {
    pub health: &'a Health,
    pub liveness: &'a Liveness,
    pub hub: &'a Hub,
    pub shutdown: &'a CancellationToken,
    pub tasks: &'a mut Tasks,
}

impl Launch<'_> {
    /// Runs `manager` on [`run`] until shutdown: woken by `wakes`, paced
    /// by `timing`, its reports on its status's topic.
    pub fn manager<M>(&mut self, manager: M, wakes: Wakes, timing: Timing)
    where
        M: Manager,
        M::Status: Status,
    {
        let hub = self.hub.clone();
        self.run(
            manager,
            wakes,
            timing,
            Arc::new(move |report| {
                hub.publish(report);
            }),
        );
    }

    /// Runs `manager` whose reports go nowhere: its health entry says
    /// all (the store's check).
    pub fn unpublished<M: Manager>(&mut self, manager: M, wakes: Wakes, timing: Timing) {
        self.run(manager, wakes, timing, Arc::new(|_| {}));
    }

    fn run<M: Manager>(
        &mut self,
        manager: M,
        wakes: Wakes,
        timing: Timing,
        publish: Publish<M::Status>,
    ) {
        let ctx = ReconcileContext {
            timing,
            ..ReconcileContext::new(self.health.clone(), self.liveness.clone(), publish)
        };
        let stop = self.shutdown.clone().cancelled_owned();
        self.tasks
            .spawn(M::COMPONENT.name(), run(manager, wakes, ctx, stop));
    }

    /// Runs `task` (a follower, a listener) until shutdown.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(name, task);
    }

    /// A heartbeat for a loop the watchdog depends on.
    pub fn heartbeat(&self, component: Component) -> Heartbeat {
        self.liveness.register(component)
    }

    /// `component` is not managed on this box, and `why` (`--dev`): the
    /// state a manager's [`Observation::NotPresent`](super::Observation)
    /// leads to, for a component whose manager is not started at all.
    pub fn not_present(&self, component: Component, why: &str) {
        self.health.set(component, ComponentState::Disabled, why);
    }

    /// Publishes the health registry on the `health` topic now and
    /// whenever it changes, until shutdown.
    pub fn health_publisher(&mut self) {
        let (health, hub, shutdown) =
            (self.health.clone(), self.hub.clone(), self.shutdown.clone());
        let mut rx = health.subscribe();
        let publish = move |rx: &mut tokio::sync::watch::Receiver<Snapshot>| {
            let snapshot = rx.borrow_and_update().clone();
            hub.publish(HealthEvent(snapshot));
        };
        // Before READY, like the first sample: the status is complete
        // from the first request on.
        publish(&mut rx);
        self.tasks.spawn("health publisher", async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    changed = rx.changed() => if changed.is_err() { return },
                }
                publish(&mut rx);
            }
        });
    }

    /// `: ping` on every event stream each `period`, so idle proxies and
    /// browsers keep them open.
    pub fn stream_pinger(&mut self, period: Duration) {
        let (hub, shutdown) = (self.hub.clone(), self.shutdown.clone());
        self.tasks.spawn("stream pinger", async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tick.tick() => hub.ping(),
                }
            }
        });
    }
}
