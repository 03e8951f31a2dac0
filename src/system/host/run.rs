//! The host manager: reads the box profile, looks at the machine through
//! its [`HostMachine`], and sets what differs.

use super::adapter::HostMachine;
use super::error::HostError;
use super::model::{Desired, HostStatus};
use super::plan::{HostPlan, plan};
use crate::accounts::BoxProfile;
use crate::component::Component;
use crate::reconcile::{Manager, Observation};
use crate::store::Store;

pub struct HostManager<M> {
    store: Store,
    machine: M,
    /// Settings changed on the machine since hearth started.
    applied: u64,
}

impl<M: HostMachine> HostManager<M> {
    pub fn new(store: Store, machine: M) -> HostManager<M> {
        HostManager {
            store,
            machine,
            applied: 0,
        }
    }
}

impl<M: HostMachine> Manager for HostManager<M> {
    const COMPONENT: Component = Component::Host;
    type Desired = Desired;
    type Observed = HostStatus;
    type Plan = HostPlan;
    type Status = HostStatus;
    type Error = HostError;

    async fn desired(&mut self) -> Result<Desired, HostError> {
        let store = self.store.clone();
        let profile = tokio::task::spawn_blocking(move || BoxProfile::read(&store))
            .await
            .map_err(HostError::ReadProfileTask)?
            .map_err(HostError::ReadProfile)?;
        Ok(Desired {
            hostname: profile.hostname.map(|h| h.as_str().to_string()),
            timezone: profile.timezone.map(|t| t.as_str().to_string()),
            ntp: profile.ntp,
        })
    }

    async fn observe(&mut self) -> Result<Observation<HostStatus>, HostError> {
        let mut now = self.machine.read().await?;
        now.applied_since_start = self.applied;
        Ok(Observation::Present(now))
    }

    fn plan(desired: &Desired, observed: &HostStatus) -> HostPlan {
        plan(desired, observed)
    }

    async fn apply(&mut self, plan: HostPlan) -> Result<HostStatus, HostError> {
        let mut now = plan.now;
        if let Some(name) = plan.hostname {
            self.machine.set_hostname(&name).await?;
            tracing::info!(hostname = %name, "host name set through hostnamed");
            now.running_hostname.clone_from(&name);
            now.hostname = name;
            self.applied += 1;
        }
        if let Some(zone) = plan.timezone {
            self.machine.set_timezone(&zone).await?;
            tracing::info!(timezone = %zone, "time zone set through timedated");
            now.timezone = zone;
            self.applied += 1;
        }
        if let Some(on) = plan.ntp {
            self.machine.set_ntp(on).await?;
            tracing::info!(ntp = on, "NTP set through timedated");
            now.ntp = on;
            self.applied += 1;
        }
        now.applied_since_start = self.applied;
        Ok(now)
    }

    fn status(_desired: &Desired, observed: &HostStatus) -> HostStatus {
        observed.clone()
    }

    fn detail(status: &HostStatus) -> String {
        let ntp = if status.ntp { "NTP on" } else { "NTP off" };
        format!("{} in {}, {ntp}", status.hostname, status.timezone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reconcile::Plan;
    use crate::system::host::adapter::RecordingHost;
    use crate::system::host::plan::tests::{machine, want};

    /// A pass by hand: observe, plan, apply, as `reconcile::run` does.
    async fn pass(m: &mut HostManager<RecordingHost>, desired: &Desired) -> HostStatus {
        let Observation::Present(observed) = m.observe().await.unwrap() else {
            panic!("the recording machine is present");
        };
        let plan = HostManager::<RecordingHost>::plan(desired, &observed);
        if plan.is_noop() {
            return observed;
        }
        m.apply(plan).await.unwrap()
    }

    #[tokio::test]
    async fn only_what_differs_is_set_and_counted_and_a_second_pass_sets_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let host = RecordingHost {
            machine: machine(),
            calls: Vec::new(),
        };
        let mut m = HostManager::new(store, host);
        let desired = want(Some("attic"), Some("Europe/Vienna"), Some(false));
        let status = pass(&mut m, &desired).await;
        assert_eq!(
            m.machine.calls,
            ["read", "timezone Europe/Vienna", "ntp false"]
        );
        assert_eq!(status.timezone, "Europe/Vienna");
        assert!(!status.ntp);
        assert_eq!(status.applied_since_start, 2);
        let again = pass(&mut m, &desired).await;
        assert_eq!(m.machine.calls.len(), 4, "{:?}", m.machine.calls);
        assert_eq!(again.applied_since_start, 2);
    }
}
