//! The servers' manager on [`crate::reconcile::run`]: each pass reads
//! the servers from the store, looks at the host ([`Machinery::look`]),
//! plans ([`super::plan`]) and carries the steps out, each server's
//! independently (one server's failure does not hold back the others;
//! the pass then fails, and the loop retries with backoff).
//!
//! Every request to the privileged helper is audited (`server.helper`,
//! actor `system`), and so is the end of a deletion (`server.removed`).
//! The firewall's user plane ([`plan::user_plane`]) is written here too,
//! when it changes. The crashes of each engine are remembered here (not in the store: a
//! restart of hearth starts the count again), and the soonest moment a
//! crashed engine may start again is the loop's next wake-up.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use super::adapter::Machinery;
use super::base;
use super::engine::Engine;
use super::engines::{EngineView, Engines};
use super::helper::Layout;
use super::helper::protocol::Request;
use super::logs::{self, LogLine};
use super::model::status::{ServerStatus, ServersStatus};
use super::model::{Server, ServerId};
use super::plan::{self, Activity, Crashes, Observed, Phase, Seen, ServersPlan, Step};
use super::progress::progress;
use super::stored;
use super::usage::Sampler;
use crate::auth::Username;
use crate::clock::now_ms;
use crate::component::Component;
use crate::reconcile::{Manager, Observation};
use crate::store::{AuditAction, AuditEntry, Store, StoreError};

pub use super::error::ServersPassError;

pub struct ServersManager<M> {
    store: Store,
    machinery: Arc<M>,
    crashes: BTreeMap<ServerId, Crashes>,
    wake_at_ms: Option<u64>,
    /// A pass took steps: the next looks at once (a server is made one
    /// step per pass, and a helper's work wakes nothing else).
    again: bool,
    /// The servers the last `desired` read: what `observe` looks for.
    ids: Vec<ServerId>,
    /// The followers of the engines that are up, if hearth follows them.
    engines: Option<Engines>,
    /// What they saw, as of the last `observe`.
    views: BTreeMap<ServerId, EngineView>,
    /// Where the servers' cgroups are, and their last readings, where
    /// hearth reads what they use.
    usage: Option<(PathBuf, Sampler)>,
    /// When this manager began: the readings' clock.
    started: tokio::time::Instant,
    /// The base image new servers get, and where their engines are.
    base: Option<(PathBuf, Layout)>,
    /// The imports under way (`None`) or failed (when to try again).
    base_busy: Arc<std::sync::Mutex<BTreeMap<ServerId, Option<u64>>>>,
    /// Where the engines' last words are read (`Some(None)`: the
    /// system's journal), if hearth reads them.
    journal: Option<Option<PathBuf>>,
    /// The last words of the engines in trouble, as last read: when the
    /// unit entered its state, when they were read, the lines.
    tails: BTreeMap<ServerId, (u64, u64, Vec<LogLine>)>,
}

/// How many of an engine's last lines its status shows when in trouble.
const TAIL_LINES: u32 = 12;
/// How often the last lines of an engine still in trouble are read again.
const TAIL_REFRESH_MS: u64 = 30_000;

/// How long after a failed import of the base image it is tried again.
const BASE_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

impl<M: Machinery> ServersManager<M> {
    pub fn new(store: Store, machinery: Arc<M>) -> ServersManager<M> {
        ServersManager {
            store,
            machinery,
            crashes: BTreeMap::new(),
            wake_at_ms: None,
            again: false,
            ids: Vec::new(),
            engines: None,
            views: BTreeMap::new(),
            usage: None,
            started: tokio::time::Instant::now(),
            base: None,
            base_busy: Arc::default(),
            journal: None,
            tails: BTreeMap::new(),
        }
    }

    /// Reads the last lines of an engine that failed or does not answer
    /// into its status, from the journal in `directory` (the system's
    /// when `None`).
    pub fn with_journal(mut self, directory: Option<PathBuf>) -> ServersManager<M> {
        self.journal = Some(directory);
        self
    }

    /// Reads again the last lines of each engine in trouble whose lines
    /// are older than its trouble or [`TAIL_REFRESH_MS`]; forgets those
    /// of the others.
    async fn read_tails(&mut self, servers: &BTreeMap<ServerId, Seen>, now_ms: u64) {
        let Some(directory) = self.journal.clone() else {
            return;
        };
        let troubled: BTreeMap<&ServerId, u64> = servers
            .iter()
            .filter(|(_, seen)| in_trouble(seen, now_ms))
            .map(|(id, seen)| (id, seen.since_ms))
            .collect();
        self.tails.retain(|id, _| troubled.contains_key(id));
        for (id, since_ms) in troubled {
            let fresh = self.tails.get(id).is_some_and(|(since, read_at, _)| {
                *since == since_ms && now_ms < read_at + TAIL_REFRESH_MS
            });
            if fresh {
                continue;
            }
            let lines = match logs::tail(directory.as_deref(), id, TAIL_LINES).await {
                Ok(lines) => lines,
                Err(e) => vec![LogLine {
                    at_ms: now_ms,
                    priority: None,
                    message: format!("(hearth could not read its log: {e})"),
                }],
            };
            self.tails.insert(id.clone(), (since_ms, now_ms, lines));
        }
    }

    /// Imports `tar` into each new server's engine once it answers (see
    /// [`super::base`]); `layout` says where the engines' sockets are.
    pub fn with_base_image(mut self, tar: PathBuf, layout: Layout) -> ServersManager<M> {
        self.base = Some((tar, layout));
        self
    }

    /// Starts importing the base image into `id`'s engine, in the
    /// background: an import (some 100 MiB) takes longer than a pass may
    /// (the loop's liveness would stop the watchdog's pings). Its end is
    /// recorded and audited (`server.base_image`, a failure as a
    /// failure); the record's change wakes the loop. A failed import is
    /// tried again after [`BASE_RETRY`].
    fn load_base(&self, id: ServerId) {
        let Some((tar, layout)) = self.base.clone() else {
            return;
        };
        {
            let mut busy = self.base_busy.lock().unwrap_or_else(|e| e.into_inner());
            if busy.get(&id) == Some(&None) {
                return;
            }
            busy.insert(id.clone(), None);
        }
        let store = self.store.clone();
        let busy = self.base_busy.clone();
        tokio::spawn(async move {
            let result = match Engine::connect(&layout.socket(&id)) {
                Ok(engine) => base::load(&engine, &tar).await,
                Err(e) => Err(e),
            };
            if let Err(e) = &result {
                tracing::warn!(server = %id, error = %e, "servers: the base image did not go in");
            }
            let failed = result.is_err();
            let target = id.clone();
            let recorded = tokio::task::spawn_blocking(move || {
                let mut entry = AuditEntry::system(AuditAction::ServerBaseImage, target.as_str());
                if failed {
                    entry.outcome = crate::store::Outcome::Failure;
                }
                store.change(entry, |c| {
                    if !failed && let Some(mut server) = stored::server_in(c, &target)? {
                        server.base_loaded = true;
                        stored::put(c, &server)?;
                    }
                    Ok::<_, StoreError>(())
                })
            })
            .await;
            if !matches!(recorded, Ok(Ok(()))) {
                tracing::warn!(server = %id, "servers: the base image's import was not recorded");
            }
            let mut busy = busy.lock().unwrap_or_else(|e| e.into_inner());
            if failed {
                let retry_at = now_ms() + BASE_RETRY.as_millis() as u64;
                busy.insert(id, Some(retry_at));
            } else {
                busy.remove(&id);
            }
        });
    }

    /// Reads what each running server uses from its unit's cgroup under
    /// `slice` on each pass, into the status.
    pub fn with_usage(mut self, slice: PathBuf) -> ServersManager<M> {
        self.usage = Some((slice, Sampler::default()));
        self
    }

    /// Follows the engines of the servers that are up: their answers
    /// decide `running`, and their containers are in the status.
    pub fn with_engines(mut self, engines: Engines) -> ServersManager<M> {
        self.engines = Some(engines);
        self
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ServersPassError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store))
            .await
            .map_err(ServersPassError::StoreTask)?
            .map_err(ServersPassError::Store)
    }

    async fn helper(&self, request: Request) -> Result<(), ServersPassError> {
        let what = request.describe();
        let result = self.machinery.ask_helper(request).await;
        let store = self.store.clone();
        let target = what.clone();
        let failed = result.is_err();
        tokio::task::spawn_blocking(move || {
            let mut entry = AuditEntry::system(AuditAction::ServerHelper, &target);
            if failed {
                entry.outcome = crate::store::Outcome::Failure;
            }
            store.change(entry, |_| Ok::<_, StoreError>(()))
        })
        .await
        .map_err(ServersPassError::AuditTask)??;
        Ok(result?)
    }

    async fn step(&self, step: Step) -> Result<(), ServersPassError> {
        match step {
            Step::CreateUser(id) => self.helper(Request::CreateUser { id }).await,
            Step::PrepareStorage {
                id,
                disk_mib,
                ports,
            } => {
                // The ports first: the engine starts once the storage is
                // ready, and must find only its own ports to bind.
                self.helper(Request::GuardPorts {
                    id: id.clone(),
                    ports,
                })
                .await?;
                self.helper(Request::PrepareStorage { id, disk_mib }).await
            }
            Step::RemoveStorage { id, erase } => {
                self.helper(Request::RemoveStorage { id, erase }).await
            }
            Step::RemoveUser(id) => self.helper(Request::RemoveUser { id }).await,
            Step::Start { id, limits } => Ok(self.machinery.start(&id, limits).await?),
            Step::Restart { id, limits } => Ok(self.machinery.restart(&id, limits).await?),
            Step::Stop(id) => Ok(self.machinery.stop(&id).await?),
            Step::LoadBase(id) => {
                self.load_base(id);
                Ok(())
            }
            Step::Forget(id) => {
                self.blocking(move |store| {
                    let entry = AuditEntry::system(AuditAction::ServerRemoved, id.as_str());
                    store.change(entry, |c| stored::remove(c, &id).map(|_| ()))
                })
                .await
            }
        }
    }

    /// Counts a failure seen for the first time; forgets the crashes of
    /// an engine that has stayed up.
    fn count_crashes(&mut self, observed: &Observed) {
        for (id, seen) in &observed.servers {
            match seen.unit {
                Activity::Failed => {
                    let c = self.crashes.entry(id.clone()).or_default();
                    if c.last_ms < seen.since_ms || c.count == 0 {
                        c.count += 1;
                        c.last_ms = seen.since_ms;
                    }
                }
                Activity::Active if observed.now_ms >= seen.since_ms + plan::STABLE_AFTER_MS => {
                    self.crashes.remove(id);
                }
                _ => {}
            }
        }
        self.crashes
            .retain(|id, _| observed.servers.contains_key(id));
    }
}

pub struct Desired {
    servers: Vec<Server>,
}

impl<M: Machinery> Manager for ServersManager<M> {
    const COMPONENT: Component = Component::Servers;
    type Desired = Desired;
    type Observed = Observed;
    type Plan = PassPlan;
    type Status = ServersStatus;
    type Error = ServersPassError;

    async fn desired(&mut self) -> Result<Desired, ServersPassError> {
        let servers = self.blocking(|store| stored::servers(&store)).await?;
        self.ids = servers.iter().map(|s| s.id.clone()).collect();
        Ok(Desired { servers })
    }

    async fn observe(&mut self) -> Result<Observation<Observed>, ServersPassError> {
        self.again = false;
        let mut view = self.machinery.look(&self.ids).await?;
        let up: Vec<ServerId> = view
            .servers
            .iter()
            .filter(|(_, s)| {
                matches!(
                    s.unit,
                    Activity::Active | Activity::Activating | Activity::Reloading
                )
            })
            .map(|(id, _)| id.clone())
            .collect();
        if let Some(engines) = &mut self.engines {
            engines.follow_only(&up);
            self.views = engines.views();
            for (id, seen) in view.servers.iter_mut() {
                seen.answering = Some(self.views.get(id).is_some_and(|v| v.answering));
            }
        }
        let plane = self
            .blocking(|store| crate::plane::stored::load(&store))
            .await?;
        // A few small files of /sys per running server: read in place.
        let at_usec = self.started.elapsed().as_micros() as u64;
        let usage = match &mut self.usage {
            Some((slice, sampler)) => sampler.sample_ids(slice, &up, at_usec),
            None => Default::default(),
        };
        let base_busy = self
            .base_busy
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let now = now_ms();
        self.read_tails(&view.servers, now).await;
        let tails = self
            .tails
            .iter()
            .map(|(id, (_, _, lines))| (id.clone(), lines.clone()))
            .collect();
        let mut observed = Observed {
            tails,
            base_offered: self.base.is_some(),
            base_busy,
            usage,
            plane,
            servers: view.servers,
            users: view.users,
            units: view.units,
            crashes: BTreeMap::new(),
            now_ms: now,
            engines: self.views.clone(),
        };
        self.count_crashes(&observed);
        observed.crashes = self.crashes.clone();
        // Asked after every pass, no-op or not: a crashed engine waiting
        // out its backoff, or a failed import of the base image, is looked
        // at again when the wait is over.
        self.wake_at_ms = observed
            .servers
            .iter()
            .filter(|(_, seen)| seen.unit == Activity::Failed)
            .filter_map(|(id, _)| self.crashes.get(id))
            .map(Crashes::retry_at_ms)
            .chain(observed.base_busy.values().flatten().copied())
            .filter(|at| *at > observed.now_ms)
            .min();
        Ok(Observation::Present(observed))
    }

    fn plan(desired: &Desired, observed: &Observed) -> PassPlan {
        PassPlan {
            plan: plan::plan(&desired.servers, observed),
            servers: desired.servers.clone(),
            observed: observed.clone(),
        }
    }

    async fn apply(&mut self, pass: PassPlan) -> Result<ServersStatus, ServersPassError> {
        let PassPlan {
            plan,
            servers,
            observed,
        } = pass;
        if let Some(plane) = plan.plane.clone() {
            // Before the steps: a server started in this pass finds its
            // ports on the way to being opened.
            self.blocking(move |store| crate::plane::stored::save(&store, &plane))
                .await?;
        }
        let mut failures = Vec::new();
        let mut failed: BTreeSet<ServerId> = BTreeSet::new();
        for step in plan.steps.clone() {
            let id = step.server().clone();
            if failed.contains(&id) {
                continue;
            }
            if let Err(e) = self.step(step).await {
                tracing::warn!(server = %id, error = %e, "servers: a step failed");
                failed.insert(id.clone());
                failures.push((id, e.to_string()));
            }
        }
        if !failures.is_empty() {
            // The loop's backoff decides when to try again.
            return Err(ServersPassError::Steps(failures));
        }
        self.again = true;
        Ok(status(&servers, &observed, &plan, &plan.steps))
    }

    fn status(desired: &Desired, observed: &Observed) -> ServersStatus {
        status(
            &desired.servers,
            observed,
            &plan::plan(&desired.servers, observed),
            &[],
        )
    }

    fn wake_at(&self) -> Option<tokio::time::Instant> {
        if self.again {
            return Some(tokio::time::Instant::now());
        }
        let at = self.wake_at_ms?;
        let wait = at.saturating_sub(now_ms());
        Some(tokio::time::Instant::now() + std::time::Duration::from_millis(wait))
    }

    fn detail(status: &ServersStatus) -> String {
        let running = status
            .servers
            .iter()
            .filter(|s| s.phase == Phase::Running)
            .count();
        format!("{running} of {} servers running", status.servers.len())
    }

    /// Engines that failed or do not answer: counts only (the health
    /// entry is public; the members' topic says which and why).
    fn trouble(status: &ServersStatus) -> Option<String> {
        let count = |phase| status.servers.iter().filter(|s| s.phase == phase).count();
        let (failed, unresponsive) = (count(Phase::Failed), count(Phase::Unresponsive));
        let mut parts = Vec::new();
        if failed > 0 {
            parts.push(format!("{failed} failed (started again after a wait)"));
        }
        if unresponsive > 0 {
            parts.push(format!(
                "{unresponsive} not answering for {} minutes",
                plan::UNRESPONSIVE_AFTER_MS / 60_000
            ));
        }
        (!parts.is_empty()).then(|| format!("{}; {}", Self::detail(status), parts.join(", ")))
    }
}

/// The plan, with what its status is made from.
pub struct PassPlan {
    pub plan: ServersPlan,
    servers: Vec<Server>,
    observed: Observed,
}

impl crate::reconcile::Plan for PassPlan {
    fn is_noop(&self) -> bool {
        self.plan.steps.is_empty()
    }
}

/// The status after a pass that took `taken` (all of them done).
fn status(
    servers: &[Server],
    observed: &Observed,
    plan: &ServersPlan,
    taken: &[Step],
) -> ServersStatus {
    ServersStatus {
        servers: servers
            .iter()
            .filter_map(|s| {
                // Owners are users' names when written: one that is not
                // is a damaged record, shown to nobody rather than to all.
                let owner = Username::try_from(s.owner.as_str())
                    .inspect_err(|e| tracing::error!(server = %s.id, owner = s.owner, error = %e, "a server's owner is no user name; left out of the status"))
                    .ok()?;
                let crashes = observed.crashes.get(&s.id);
                let phase = plan.phases.get(&s.id).copied().unwrap_or(Phase::Preparing);
                let seen = observed.servers.get(&s.id).unwrap_or(&Seen::NOTHING);
                let own: Vec<&Step> = taken.iter().filter(|t| t.server() == &s.id).collect();
                let base_pending = observed.base_offered && !s.base_loaded;
                Some(ServerStatus {
                    progress: progress(phase, seen, &own, base_pending),
                    id: s.id.clone(),
                    owner,
                    name: s.name.to_string(),
                    desired: s.desired,
                    phase,
                    limits: s.limits,
                    crashes: crashes.map(|c| c.count),
                    retry_at_ms: crashes
                        .filter(|_| plan.phases.get(&s.id) == Some(&Phase::Failed))
                        .map(|c| c.retry_at_ms()),
                    engine: observed.engines.get(&s.id).cloned(),
                    usage: observed.usage.get(&s.id).and_then(|r| r.clone().ok()),
                    usage_error: observed.usage.get(&s.id).and_then(|r| r.clone().err()),
                    last_log: phase
                        .is_trouble()
                        .then(|| observed.tails.get(&s.id).cloned())
                        .flatten(),
                })
            })
            .collect(),
        unknown_users: plan.unknown_users.iter().map(|i| i.user()).collect(),
        unknown_units: plan
            .unknown_units
            .iter()
            .map(super::adapter::unit_name)
            .collect(),
    }
}

/// Whether what the host shows of a server is trouble: its unit failed,
/// or its engine has not answered since the unit came up
/// [`plan::UNRESPONSIVE_AFTER_MS`] ago.
fn in_trouble(seen: &Seen, now_ms: u64) -> bool {
    match seen.unit {
        Activity::Failed => true,
        Activity::Active => {
            seen.answering == Some(false)
                && now_ms.saturating_sub(seen.since_ms) >= plan::UNRESPONSIVE_AFTER_MS
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
