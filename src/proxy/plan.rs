//! The proxy manager's pass, pure: the config hearth wants Caddy to run
//! (rendered from the domains and the servers they lead to), the config
//! Caddy runs, and whether (and why) to load it again. Tested without
//! Caddy in `plan/tests.rs`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::health::DomainHealth;
use super::model::Domain;
use super::model::SiteName;
use super::model::status::{DomainStatus, LastLoad, ProxyStatus};
use super::service::Applied;
use crate::auth::Username;
use crate::reconcile::Plan;

#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Value,
    /// What the config was made from, to say why the next one differs.
    pub domains: Vec<Domain>,
    pub unreachable: Unreachables,
    pub at_ms: u64,
    pub reason: &'static str,
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
    pub last: Option<Loaded>,
    pub health: BTreeMap<String, DomainHealth>,
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

/// Load when Caddy does not run the config hearth wants, saying why.
pub fn plan(desired: &Desired, observed: &Observed) -> ProxyPlan {
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

/// The status of a pass: each domain with its owner, how it fares and
/// why it does not reach its server.
pub fn status(
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

#[cfg(test)]
mod tests;
