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

use std::sync::Arc;

use super::adapter::CaddyAdmin;
use super::model::status::ProxyStatus;
use super::plan::{self, Desired, Loaded, Observed, ProxyPlan, status};
use super::render::{self, CaddySettings, RenderInput};
use super::service::{LoadState, ProxyService};
use super::stored;
use crate::accounts::BoxProfile;
use crate::clock::now_ms;
use crate::component::Component;
use crate::reconcile::{Manager, Observation};
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
        plan::plan(desired, observed)
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
