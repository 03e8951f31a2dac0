//! What the API asks of the domains: list, read, add, replace and remove
//! them, each change checked against who asks and audited in the same
//! transaction. The reply does not wait for Caddy: the manager loads the
//! new config and reports each load here ([`ProxyService::loaded`]), and
//! a record's view says whether it is in force.
//!
//! Who may do what: an admin manages every domain, for any user, with
//! any target; a member sees and changes only the domains they own, and
//! another member's domain is "not found" to them (404, not 403), so its
//! existence is not told. A member's domain can lead only to one of
//! their own servers (kind `server`): an address on the box could be
//! anything running there (hearth itself, a root service on loopback),
//! so address and hearth targets are for admins. A member may keep such
//! a target an admin gave their domain while changing the rest of it.
//!
//! A `server` target names a server of the domain's owner (whoever
//! asks: an admin making a domain for ann may choose only ann's
//! servers) and one of its published tcp ports; another user's server
//! is refused in the words of one that does not exist (see `model`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Mutex, RwLock};

use serde::Serialize;
use tokio::sync::watch;

use super::error::ProxyError;
use super::health::DomainHealth;
use super::model::{Context, Domain, DomainInput, SiteName, Target};
use super::render::unreachable;
use super::stored;
use crate::accounts::{BoxProfile, Caller, UserRecord};
use crate::auth::Role;
use crate::invalid::invalid;
use crate::reconcile::Observation;
use crate::servers::model::Server;
use crate::servers::stored::servers as all_servers;
use crate::store::{AuditAction, Records, Store};

/// What the manager last did with Caddy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadState {
    /// The records of the last load that Caddy took, by name.
    pub loaded: BTreeMap<SiteName, Domain>,
    /// The last load's failure, if the last attempt failed.
    pub failure: Option<String>,
    /// When the last load was tried, in ms since the epoch.
    pub at_ms: Option<u64>,
}

/// Whether a record is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase", tag = "state")]
pub enum Applied {
    /// Caddy serves the record as it is.
    Applied,
    /// Not loaded yet.
    Pending,
    /// The last load failed; Caddy still runs its previous config.
    Failed { error: String },
}

/// One domain as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DomainView {
    #[serde(flatten)]
    pub domain: Domain,
    pub apply: Applied,
    /// Why the domain does not reach its server now, if it does not
    /// (the server is gone, stopped, or no longer publishes the port).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
}

pub struct ProxyService {
    store: Store,
    /// hearth's own port: a target may not name it by address.
    hearth_port: u16,
    /// Whether hearth drives Caddy here, or why not (`--dev`): the
    /// domains are then kept but not served.
    caddy: Observation<()>,
    loaded: watch::Sender<LoadState>,
    /// The names Caddy may get certificates for: what the on-demand ask
    /// endpoint answers from, without touching the store.
    names: RwLock<Vec<SiteName>>,
    /// The last health check of each domain, by name.
    health: Mutex<BTreeMap<String, DomainHealth>>,
}

impl ProxyService {
    pub fn new(store: Store, hearth_port: u16, caddy: Observation<()>) -> ProxyService {
        ProxyService {
            store,
            hearth_port,
            caddy,
            loaded: watch::channel(LoadState::default()).0,
            names: RwLock::new(Vec::new()),
            health: Mutex::new(BTreeMap::new()),
        }
    }

    /// The names hearth serves (the manager sets them on every pass).
    pub fn set_names(&self, names: Vec<SiteName>) {
        *self.names.write().unwrap_or_else(|p| p.into_inner()) = names;
    }

    /// Whether Caddy may get a certificate for `name` (a host name as a
    /// TLS client sent it): one of the domains, or one label under a
    /// wildcard domain.
    pub fn may_certify(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.names
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .any(|n| n.covers(&name))
    }

    pub fn health(&self) -> BTreeMap<String, DomainHealth> {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The health checker's results; names no longer served are dropped.
    pub fn set_health(&self, health: BTreeMap<String, DomainHealth>) {
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = health;
    }

    /// Wakes after each load report: the health checker looks again.
    pub fn subscribe_loads(&self) -> watch::Receiver<LoadState> {
        self.loaded.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn not_managed(&self) -> Option<&str> {
        self.caddy.not_present()
    }

    /// The manager's report of a load (or a failed one).
    pub fn loaded(&self, state: LoadState) {
        self.loaded.send_replace(state);
    }

    pub fn load_state(&self) -> LoadState {
        self.loaded.borrow().clone()
    }

    /// The domains `caller` may see: all for an admin, their own for a
    /// member.
    pub fn list(&self, caller: &Caller) -> Result<Vec<DomainView>, ProxyError> {
        let state = self.loaded.borrow().clone();
        let servers = all_servers(&self.store)?;
        Ok(stored::domains(&self.store)?
            .into_iter()
            .filter(|d| may_see(caller, d))
            .map(|d| view(d, &state, &servers))
            .collect())
    }

    pub fn get(&self, caller: &Caller, name: &str) -> Result<DomainView, ProxyError> {
        let name = lookup_name(name)?;
        let d = self
            .store
            .record::<Domain>(Records::Domains, name.as_str())?
            .filter(|d| may_see(caller, d))
            .ok_or(ProxyError::NotFound)?;
        let servers = all_servers(&self.store)?;
        Ok(view(d, &self.loaded.borrow(), &servers))
    }

    /// Adds a domain; its name must be free.
    pub fn create(
        &self,
        caller: &Caller,
        input: &DomainInput,
        source: IpAddr,
    ) -> Result<DomainView, ProxyError> {
        // Said first, whatever the other fields hold.
        if caller.role == Role::Member && matches!(input.target.kind(), "address" | "hearth") {
            return Err(ProxyError::Forbidden(MEMBER_TARGETS));
        }
        let (domain, servers) = self.validate(caller, input)?;
        let entry = caller.audit(AuditAction::DomainCreate, domain.name.as_str(), source);
        self.store.change(entry, |c| {
            if stored::domain_in(c, &domain.name)?.is_some() {
                return Err(ProxyError::Exists(domain.name.to_string()));
            }
            owner_exists(c, &domain.owner)?;
            stored::put(c, &domain)?;
            Ok(())
        })?;
        Ok(view(domain, &self.loaded.borrow(), &servers))
    }

    /// Replaces the domain `name` (the body's name must be the same).
    pub fn replace(
        &self,
        caller: &Caller,
        name: &str,
        input: &DomainInput,
        source: IpAddr,
    ) -> Result<DomainView, ProxyError> {
        let name = lookup_name(name)?;
        let (domain, servers) = self.validate(caller, input)?;
        if domain.name != name {
            return Err(invalid(
                "name",
                format!("must be the one in the address ({name}); to rename, add the new name and remove the old one"),
            )
            .into());
        }
        let entry = caller.audit(AuditAction::DomainUpdate, name.as_str(), source);
        self.store.change(entry, |c| {
            let old = stored::domain_in(c, &name)?
                .filter(|d| may_see(caller, d))
                .ok_or(ProxyError::NotFound)?;
            // A member leads their domain to one of their servers, or
            // keeps the target an admin gave it.
            let own_server = matches!(domain.target, Target::Server { .. });
            if caller.role != Role::Admin && !own_server && old.target != domain.target {
                return Err(ProxyError::Forbidden(MEMBER_TARGETS));
            }
            owner_exists(c, &domain.owner)?;
            stored::put(c, &domain)?;
            Ok(())
        })?;
        Ok(view(domain, &self.loaded.borrow(), &servers))
    }

    pub fn remove(&self, caller: &Caller, name: &str, source: IpAddr) -> Result<(), ProxyError> {
        let name = lookup_name(name)?;
        let entry = caller.audit(AuditAction::DomainDelete, name.as_str(), source);
        self.store.change(entry, |c| {
            stored::domain_in(c, &name)?
                .filter(|d| may_see(caller, d))
                .ok_or(ProxyError::NotFound)?;
            stored::remove(c, &name)?;
            Ok(())
        })
    }

    /// The input as a domain `caller` may have, but for whether its
    /// target's kind is theirs to choose, which `create` and `replace`
    /// check; with the box's servers it was checked against.
    fn validate(
        &self,
        caller: &Caller,
        input: &DomainInput,
    ) -> Result<(Domain, Vec<Server>), ProxyError> {
        let owner = input
            .owner
            .clone()
            .unwrap_or_else(|| caller.username.clone());
        match caller.role {
            Role::Admin => {}
            Role::Member if owner == caller.username => {}
            Role::Member => {
                return Err(ProxyError::Forbidden(
                    "members own only their own domains: leave out owner, or give your own name",
                ));
            }
            Role::Viewer => {
                return Err(ProxyError::Forbidden("viewers cannot change domains"));
            }
        }
        let profile = BoxProfile::read(&self.store)?;
        let addresses = crate::host::addresses::of_this_machine();
        let servers = all_servers(&self.store)?;
        let ctx = Context {
            box_domain: profile.domain.as_ref(),
            box_addresses: &addresses,
            hearth_port: self.hearth_port,
            servers: &servers,
        };
        let domain = Domain::from_input(input, owner, ctx)?;
        Ok((domain, servers))
    }
}

/// Why a member cannot choose a target.
const MEMBER_TARGETS: &str = "a member's domain leads to one of their own servers (target kind server, with the server and one of its published tcp ports); addresses on the box and hearth itself are for admins, who can add such a domain for you";

/// A name from the URL, checked the way a record's is.
fn lookup_name(name: &str) -> Result<SiteName, ProxyError> {
    SiteName::try_from(name).map_err(|_| ProxyError::NotFound)
}

fn may_see(caller: &Caller, d: &Domain) -> bool {
    caller.role == Role::Admin || d.owner == caller.username
}

fn owner_exists(c: &crate::store::Change<'_>, owner: &str) -> Result<(), ProxyError> {
    if c.record::<UserRecord>(Records::Users, owner)?.is_none() {
        return Err(invalid("owner", format!("{owner:?} is not a user of this box")).into());
    }
    Ok(())
}

fn view(domain: Domain, state: &LoadState, servers: &[Server]) -> DomainView {
    let apply = if state.loaded.get(&domain.name) == Some(&domain) {
        Applied::Applied
    } else if let Some(error) = &state.failure {
        Applied::Failed {
            error: error.clone(),
        }
    } else {
        Applied::Pending
    };
    let target_error = unreachable(&domain, servers).map(|u| u.to_string());
    DomainView {
        domain,
        apply,
        target_error,
    }
}

#[cfg(test)]
mod tests;
