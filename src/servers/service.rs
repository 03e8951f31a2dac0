//! What the API asks of the servers: list, read, create, start, stop,
//! restart and delete them, and the quotas an admin sets; each change
//! checked against who asks, the quota checked and the change audited in
//! the same transaction. Replies do not wait for the engines: the
//! manager brings them to the stored state and reports on the `servers`
//! topic.
//!
//! Who may do what: an admin manages every server, for any user, and
//! sets the quotas; a member sees and manages only their own servers, and
//! another member's is "not found" (404, not 403), so that its existence
//! is not told.

use std::net::IpAddr;

use super::error::ServersError;
use super::helper::Layout;
use super::model::{
    Deletion, DesiredState, Quota, Server, ServerId, ServerInput, free_engine_port,
};
use super::{room, stored};
use crate::accounts::{Caller, UserRecord};
use crate::auth::Role;
use crate::invalid::invalid;
use crate::store::{AuditAction, Change, Records, Store};

/// What a start, stop or restart asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Power {
    Start,
    Stop,
    Restart,
}

impl Power {
    pub fn parse(s: &str) -> Option<Power> {
        match s {
            "start" => Some(Power::Start),
            "stop" => Some(Power::Stop),
            "restart" => Some(Power::Restart),
            _ => None,
        }
    }
}

pub struct ServersService {
    store: Store,
    /// hearth's own port: no server may publish it.
    reserved: Option<u16>,
    /// Where the servers' disks are, where hearth makes them: a new
    /// server's disk must fit there (see [`super::room`]).
    storage: Option<Layout>,
}

impl ServersService {
    pub fn new(store: Store) -> ServersService {
        ServersService {
            store,
            reserved: None,
            storage: None,
        }
    }

    /// Refuses a server whose disk does not fit in `layout`'s storage.
    pub fn with_storage(mut self, layout: Layout) -> ServersService {
        self.storage = Some(layout);
        self
    }

    /// Whether `server`'s disk fits beside those promised to `all` the
    /// servers whose image is not made yet.
    fn fits(&self, all: &[Server], server: &Server) -> Result<(), ServersError> {
        let Some(layout) = &self.storage else {
            return Ok(());
        };
        let free = room::free_mib(&layout.storage).map_err(|source| ServersError::Storage {
            path: layout.storage.clone(),
            source,
        })?;
        let promised: u64 = all
            .iter()
            .filter(|s| s.deleting.is_none() && !layout.image(&s.id).exists())
            .map(|s| u64::from(s.limits.disk_mib))
            .sum();
        Ok(room::check(
            u64::from(server.limits.disk_mib),
            free,
            promised,
        )?)
    }

    /// Refuses `port` (hearth's own) to the servers' published ports.
    pub fn reserving(mut self, port: u16) -> ServersService {
        self.reserved = Some(port);
        self
    }

    /// The servers `caller` may see: all for an admin, their own for a
    /// member.
    pub fn list(&self, caller: &Caller) -> Result<Vec<Server>, ServersError> {
        Ok(stored::servers(&self.store)?
            .into_iter()
            .filter(|s| may_see(caller, s))
            .collect())
    }

    pub fn get(&self, caller: &Caller, id: &str) -> Result<Server, ServersError> {
        let id = lookup_id(id)?;
        self.store
            .record::<Server>(Records::Servers, id.as_str())?
            .filter(|s| may_see(caller, s))
            .ok_or(ServersError::NotFound)
    }

    pub fn create(
        &self,
        caller: &Caller,
        input: &ServerInput,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<Server, ServersError> {
        let owner = match &input.owner {
            Some(o) if *o != caller.username && caller.role != Role::Admin => {
                return Err(ServersError::Forbidden(
                    "only an admin makes a server for someone else",
                ));
            }
            Some(o) => o.clone(),
            None => caller.username.clone(),
        };
        let mut server = Server::from_input(input, owner, ServerId::random(), now_ms)?;
        if let Some(p) = server.ports.iter().find(|p| Some(p.port) == self.reserved) {
            return Err(invalid(input.port_field(p), "is hearth's own port").into());
        }
        let target = format!("{} ({}/{})", server.id, server.owner, server.name);
        let entry = caller.audit(AuditAction::ServerCreate, &target, source);
        self.store.change(entry, |c| {
            owner_exists(c, &server.owner)?;
            if stored::server_in(c, &server.id)?.is_some() {
                // 2^32 ids: a clash is rare, and refused rather than lost.
                return Err(invalid("id", "clashed with another server's; try again").into());
            }
            let all = stored::servers_in(c)?;
            published_elsewhere(&all, &server, input)?;
            stored::quota_in(c, &server.owner)?.admit(&all, &server)?;
            self.fits(&all, &server)?;
            server.engine_port = Some(free_engine_port(&all).ok_or(ServersError::Full(all.len()))?);
            stored::put(c, &server)?;
            Ok::<_, ServersError>(server)
        })
    }

    /// Starts, stops or restarts a server (restart: a running server's
    /// desired state stays `running`; the manager restarts the engine on
    /// the audit record's wake-up).
    pub fn power(
        &self,
        caller: &Caller,
        id: &str,
        power: Power,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<Server, ServersError> {
        let id = lookup_id(id)?;
        let action = match power {
            Power::Start => AuditAction::ServerStart,
            Power::Stop => AuditAction::ServerStop,
            Power::Restart => AuditAction::ServerRestart,
        };
        let entry = caller.audit(action, id.as_str(), source);
        self.store.change(entry, |c| {
            let mut server = self.visible_in(c, caller, &id)?;
            server.desired = match power {
                Power::Start | Power::Restart => DesiredState::Running,
                Power::Stop => DesiredState::Stopped,
            };
            if power == Power::Restart {
                server.restart_asked_ms = Some(now_ms);
            }
            stored::put(c, &server)?;
            Ok(server)
        })
    }

    /// Marks a server for deletion; the manager stops it, keeps or erases
    /// its data, and removes the record.
    pub fn delete(
        &self,
        caller: &Caller,
        id: &str,
        erase: bool,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<Server, ServersError> {
        let id = lookup_id(id)?;
        let what = if erase { "erase" } else { "keep data" };
        let entry = caller.audit(AuditAction::ServerDelete, &format!("{id} ({what})"), source);
        self.store.change(entry, |c| {
            let mut server = self.visible_in(c, caller, &id)?;
            server.desired = DesiredState::Stopped;
            server.deleting = Some(Deletion {
                erase,
                asked_ms: now_ms,
            });
            stored::put(c, &server)?;
            Ok(server)
        })
    }

    pub fn quota(&self, owner: &str) -> Result<Quota, ServersError> {
        Ok(stored::quota(&self.store, owner)?)
    }

    /// Sets a member's quota (admins; the API checks the role). Servers
    /// over a new, lower quota keep running: it is checked at create.
    pub fn set_quota(
        &self,
        caller: &Caller,
        owner: &str,
        quota: &Quota,
        source: IpAddr,
    ) -> Result<(), ServersError> {
        let entry = caller.audit(AuditAction::ServerQuota, owner, source);
        self.store.change(entry, |c| {
            owner_exists(c, owner)?;
            stored::set_quota(c, owner, quota)?;
            Ok::<_, ServersError>(())
        })
    }

    /// The server `id` inside a change, if `caller` may see it and it is
    /// not being deleted.
    fn visible_in(
        &self,
        c: &Change<'_>,
        caller: &Caller,
        id: &ServerId,
    ) -> Result<Server, ServersError> {
        let server = stored::server_in(c, id)?
            .filter(|s| may_see(caller, s))
            .ok_or(ServersError::NotFound)?;
        if server.deleting.is_some() {
            return Err(ServersError::Deleting(server.id.to_string()));
        }
        Ok(server)
    }
}

/// A port of the box is one server's: a second server publishing it
/// would never be reached (the first one's engine holds it).
fn published_elsewhere(
    all: &[Server],
    server: &Server,
    input: &ServerInput,
) -> Result<(), ServersError> {
    for p in &server.ports {
        if all.iter().any(|other| other.ports.contains(p)) {
            return Err(invalid(
                input.port_field(p),
                format!("{} is published by another server of this box", p.label()),
            )
            .into());
        }
    }
    Ok(())
}

fn may_see(caller: &Caller, s: &Server) -> bool {
    caller.role == Role::Admin || s.owner == caller.username
}

/// An id from a path: one that cannot be an id names no server.
fn lookup_id(id: &str) -> Result<ServerId, ServersError> {
    ServerId::try_from(id).map_err(|_| ServersError::NotFound)
}

#[cfg(test)]
mod tests;

fn owner_exists(c: &Change<'_>, owner: &str) -> Result<(), ServersError> {
    if c.record::<UserRecord>(Records::Users, owner)?.is_none() {
        return Err(invalid("owner", format!("{owner:?} is not a user of this box")).into());
    }
    Ok(())
}
