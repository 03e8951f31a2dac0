//! The proxy's manager on [`crate::reconcile::run`]: each pass reads the
//! domains, renders Caddy's config, reads back the config Caddy runs
//! (`GET /config/`) and loads the whole config (`POST /load`) when they
//! differ: a change in the store, hearth's first pass, a Caddy that was
//! restarted (it starts from its boot config, with no site), or a config
//! changed behind hearth's back. After a load the config is read back
//! and compared again. Caddy's refusal leaves its previous config
//! running; it is reported on the records and the topic, and retried
//! with backoff (a change in the store retries at once).
//!
//! The servers' records are read too: a domain that leads to a member's
//! server is rendered from its server as it is now (see `render`), so a
//! server deleted, stopped or changed is a new config; the report says,
//! per domain, why one does not reach its server (`target_error`).
//!
//! A burst of changes is one load: the loop's debounce (500 ms here)
//! folds the store's wake-ups together. A pass that finds Caddy in step
//! loads nothing: every load builds Caddy a whole new config, and a
//! proxied stream open across it keeps the old one alive (2.6.2 lets
//! such a stream finish on the config it started on; see the README's
//! benchmark).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use super::adapter::CaddyAdmin;
use super::health::DomainHealth;
use super::model::{Domain, SiteName, Target, TlsMode};
use super::render::{self, CaddySettings, RenderInput};
use super::service::{Applied, LoadState, ProxyService};
use super::stored;
use crate::accounts::BoxProfile;
use crate::auth::Username;
use crate::clock::now_ms;
use crate::component::Component;
use crate::events::{Hidden, Reader, Topic, Visible};
use crate::reconcile::{Manager, Observation, Plan, Status};
use crate::servers::stored::servers as all_servers;
use crate::store::StoreError;

pub use super::error::PassError;

pub struct ProxyManager {
    service: Arc<ProxyService>,
    caddy: Arc<dyn CaddyAdmin>,
    settings: CaddySettings,
    /// hearth's certificate as Caddy pins it, when it may change while
    /// hearth runs (a reload, the console's new certificate).
    hearth: Option<tokio::sync::watch::Receiver<super::render::HearthUpstream>>,
    /// What hearth last loaded, to tell a restart or drift from a change.
    last: Option<Loaded>,
}

#[derive(Debug, Clone)]
struct Loaded {
    config: Value,
    /// What the config was made from, to say why the next one differs.
    domains: Vec<Domain>,
    unreachable: Unreachables,
    at_ms: u64,
    reason: &'static str,
}

/// Why each domain that does not reach its server does not, by name.
pub type Unreachables = BTreeMap<SiteName, String>;

pub struct Desired {
    pub domains: Vec<Domain>,
    pub unreachable: Unreachables,
    pub config: Value,
}

pub struct Observed {
    /// The config Caddy runs (`null`: its boot config).
    pub running: Value,
    last: Option<Loaded>,
    health: BTreeMap<String, DomainHealth>,
}

#[derive(Debug)]
pub enum ProxyPlan {
    Keep,
    Load {
        config: Value,
        domains: Vec<Domain>,
        unreachable: Unreachables,
        reason: &'static str,
    },
}

impl Plan for ProxyPlan {
    fn is_noop(&self) -> bool {
        matches!(self, ProxyPlan::Keep)
    }
}

/// Published on the `proxy` topic after every pass that succeeded.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_load: Option<LastLoad>,
    pub domains: Vec<DomainStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastLoad {
    pub at_ms: u64,
    pub reason: &'static str,
}

/// A domain's record (its owner checked), and how it fares.
#[derive(Debug, Clone, Serialize)]
pub struct DomainStatus {
    pub name: SiteName,
    pub owner: Username,
    pub target: Target,
    pub tls: TlsMode,
    pub hsts: bool,
    pub apply: Applied,
    /// Why the domain does not reach its server (it answers with a
    /// static error page meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<DomainHealth>,
}

/// A member sees their own domains, whole, and Caddy's last load; the
/// others' domains not at all.
impl Visible for ProxyStatus {
    type Member = ProxyStatus;
    fn for_member(&self, reader: Reader<'_>) -> Option<ProxyStatus> {
        let Reader::Member(member) = reader else {
            return None;
        };
        let ProxyStatus { last_load, domains } = self;
        Some(ProxyStatus {
            last_load: last_load.clone(),
            domains: domains
                .iter()
                .filter(|d| d.owner == *member)
                .cloned()
                .collect(),
        })
    }

    type Public = Hidden;
    fn for_public(&self) -> Option<Hidden> {
        None
    }
}

impl Status for ProxyStatus {
    const TOPIC: Topic = Topic::Proxy;
}

impl ProxyManager {
    pub fn new(
        service: Arc<ProxyService>,
        caddy: Arc<dyn CaddyAdmin>,
        settings: CaddySettings,
    ) -> ProxyManager {
        ProxyManager {
            service,
            caddy,
            settings,
            hearth: None,
            last: None,
        }
    }

    /// Renders hearth's upstream from `pinned`'s latest value.
    pub fn following_hearth(
        mut self,
        pinned: tokio::sync::watch::Receiver<super::render::HearthUpstream>,
    ) -> ProxyManager {
        self.hearth = Some(pinned);
        self
    }

    /// Shows a failed load on the records (what was in force stays so).
    fn failed(&self, e: PassError, at_ms: u64) -> PassError {
        let mut state = self.service.load_state();
        state.failure = Some(e.to_string());
        state.at_ms = Some(at_ms);
        self.service.loaded(state);
        e
    }
}

fn status(
    domains: &[Domain],
    unreachable: &Unreachables,
    last: Option<&Loaded>,
    health: &BTreeMap<String, DomainHealth>,
) -> ProxyStatus {
    ProxyStatus {
        last_load: last.map(|l| LastLoad {
            at_ms: l.at_ms,
            reason: l.reason,
        }),
        domains: domains
            .iter()
            .filter_map(|d| {
                let Domain {
                    name,
                    owner,
                    target,
                    tls,
                    hsts,
                } = d.clone();
                // Owners are users' names when written: one that is not
                // is a damaged record, shown to nobody rather than to all.
                let owner = Username::try_from(owner.as_str())
                    .inspect_err(|e| tracing::error!(domain = %name, owner, error = %e, "a domain's owner is no user name; left out of the status"))
                    .ok()?;
                Some(DomainStatus {
                    apply: Applied::Applied,
                    target_error: unreachable.get(&name).cloned(),
                    health: health.get(name.as_str()).cloned(),
                    name,
                    owner,
                    target,
                    tls,
                    hsts,
                })
            })
            .collect(),
    }
}

impl Manager for ProxyManager {
    const COMPONENT: Component = Component::Proxy;
    type Desired = Desired;
    type Observed = Observed;
    type Plan = ProxyPlan;
    type Status = ProxyStatus;
    type Error = PassError;

    async fn desired(&mut self) -> Result<Desired, PassError> {
        let store = self.service.store().clone();
        let (domains, servers, profile) = tokio::task::spawn_blocking(move || {
            Ok::<_, StoreError>((
                stored::domains(&store)?,
                all_servers(&store)?,
                BoxProfile::read(&store)?,
            ))
        })
        .await
        .map_err(PassError::ReadTask)??;
        // The ask endpoint answers from this list, at once: a name is
        // vetted as soon as its record exists.
        self.service
            .set_names(domains.iter().map(|d| d.name.clone()).collect());
        let pinned;
        let settings = match &self.hearth {
            Some(rx) => {
                pinned = CaddySettings {
                    hearth: rx.borrow().clone(),
                    ..self.settings.clone()
                };
                &pinned
            }
            None => &self.settings,
        };
        let config = render::config(RenderInput {
            domains: &domains,
            servers: &servers,
            email: profile.email.as_ref(),
            settings,
        });
        let unreachable = domains
            .iter()
            .filter_map(|d| {
                Some((
                    d.name.clone(),
                    render::unreachable(d, &servers)?.to_string(),
                ))
            })
            .collect();
        Ok(Desired {
            domains,
            unreachable,
            config,
        })
    }

    async fn observe(&mut self) -> Result<Observation<Observed>, PassError> {
        let running = self.caddy.config().await?;
        Ok(Observation::Present(Observed {
            running,
            last: self.last.clone(),
            health: self.service.health(),
        }))
    }

    fn plan(desired: &Desired, observed: &Observed) -> ProxyPlan {
        if observed.running == desired.config {
            return ProxyPlan::Keep;
        }
        let reason = match &observed.last {
            None => "start",
            Some(last) if last.domains != desired.domains => "domains changed",
            Some(last) if last.unreachable != desired.unreachable => "servers changed",
            Some(last) if last.config != desired.config => "settings changed",
            Some(_) if observed.running.is_null() => "Caddy restarted",
            Some(_) => "Caddy's config was changed behind hearth's back",
        };
        ProxyPlan::Load {
            config: desired.config.clone(),
            domains: desired.domains.clone(),
            unreachable: desired.unreachable.clone(),
            reason,
        }
    }

    async fn apply(&mut self, plan: ProxyPlan) -> Result<ProxyStatus, PassError> {
        let ProxyPlan::Load {
            config,
            domains,
            unreachable,
            reason,
        } = plan
        else {
            unreachable!("the loop does not apply a no-op plan")
        };
        let at_ms = now_ms();
        if let Err(e) = self.caddy.load(&config).await {
            return Err(self.failed(e.into(), at_ms));
        }
        if self.caddy.config().await? != config {
            return Err(self.failed(PassError::ReadBackDiffers, at_ms));
        }
        tracing::info!(reason, domains = domains.len(), "Caddy config loaded");
        self.service.loaded(LoadState {
            loaded: domains
                .iter()
                .map(|d| (d.name.clone(), d.clone()))
                .collect(),
            failure: None,
            at_ms: Some(at_ms),
        });
        let last = Loaded {
            config,
            domains,
            unreachable,
            at_ms,
            reason,
        };
        let status = status(
            &last.domains,
            &last.unreachable,
            Some(&last),
            &self.service.health(),
        );
        self.last = Some(last);
        Ok(status)
    }

    fn status(desired: &Desired, observed: &Observed) -> ProxyStatus {
        status(
            &desired.domains,
            &desired.unreachable,
            observed.last.as_ref(),
            &observed.health,
        )
    }

    /// Without a count: every signed-in user sees the health entry, and
    /// how many domains others have is not theirs to know.
    fn detail(_status: &ProxyStatus) -> String {
        "Caddy runs hearth's config".into()
    }
}

#[cfg(test)]
mod tests;
