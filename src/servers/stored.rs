//! The servers in the store, keyed by id, and each member's quota, keyed
//! by username. The records belong to `model`; every change goes through
//! the servers' service (to come), which audits it in the same
//! transaction and checks the quota inside it, so that two creates at
//! once cannot both slip under the limit.

use super::model::{Quota, Server, ServerId};
use crate::store::{Change, Records, Store, StoreError};

/// Every server of the box, in id order.
pub fn servers(store: &Store) -> Result<Vec<Server>, StoreError> {
    Ok(store
        .records::<Server>(Records::Servers)?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// `owner`'s quota; none set is no limit.
pub fn quota(store: &Store, owner: &str) -> Result<Quota, StoreError> {
    Ok(store
        .record::<Quota>(Records::ServerQuotas, owner)?
        .unwrap_or_default())
}

/// Every server, inside a change (for the quota check).
pub fn servers_in(c: &Change<'_>) -> Result<Vec<Server>, StoreError> {
    Ok(c.records::<Server>(Records::Servers)?
        .into_iter()
        .map(|(_, s)| s)
        .collect())
}

/// One server, outside a change.
pub fn server_in_store(store: &Store, id: &ServerId) -> Result<Option<Server>, StoreError> {
    store.record(Records::Servers, id.as_str())
}

pub fn server_in(c: &Change<'_>, id: &ServerId) -> Result<Option<Server>, StoreError> {
    c.record(Records::Servers, id.as_str())
}

pub fn quota_in(c: &Change<'_>, owner: &str) -> Result<Quota, StoreError> {
    Ok(c.record::<Quota>(Records::ServerQuotas, owner)?
        .unwrap_or_default())
}

pub fn put(c: &mut Change<'_>, s: &Server) -> Result<(), StoreError> {
    c.put_record(Records::Servers, s.id.as_str(), s)
}

pub fn remove(c: &mut Change<'_>, id: &ServerId) -> Result<bool, StoreError> {
    c.remove_record(Records::Servers, id.as_str())
}

/// Sets `owner`'s quota; the default (no limits) removes the record.
pub fn set_quota(c: &mut Change<'_>, owner: &str, quota: &Quota) -> Result<(), StoreError> {
    if *quota == Quota::default() {
        c.remove_record(Records::ServerQuotas, owner)?;
        Ok(())
    } else {
        c.put_record(Records::ServerQuotas, owner, quota)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::model::ServerInput;
    use crate::store::{AuditAction, AuditEntry};

    fn new_server(owner: &str, name: &str) -> Server {
        let input: ServerInput = serde_json::from_str(&format!("{{\"name\":\"{name}\"}}")).unwrap();
        Server::from_input(&input, owner.into(), ServerId::random(), 5).unwrap()
    }

    fn change(store: &Store, f: impl FnOnce(&mut Change<'_>) -> Result<(), StoreError>) {
        store
            .change(AuditEntry::system(AuditAction::DaemonStart, "test"), f)
            .unwrap();
    }

    #[test]
    fn servers_and_quotas_are_kept_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(servers(&store).unwrap().is_empty());
        assert_eq!(quota(&store, "mia").unwrap(), Quota::default());

        let web = new_server("mia", "web");
        let quota_mia = Quota {
            max_servers: Some(1),
            ..Quota::default()
        };
        change(&store, |c| {
            put(c, &web)?;
            set_quota(c, "mia", &quota_mia)
        });
        assert_eq!(servers(&store).unwrap(), std::slice::from_ref(&web));
        assert_eq!(quota(&store, "mia").unwrap(), quota_mia);

        // Inside a change: what the quota check sees.
        let second = new_server("mia", "db");
        let mut refused = None;
        change(&store, |c| {
            let all = servers_in(c)?;
            refused = quota_in(c, "mia")?.admit(&all, &second).err();
            assert_eq!(
                server_in(c, &web.id)?.map(|s| s.name),
                Some(web.name.clone())
            );
            Ok(())
        });
        assert!(refused.is_some(), "the quota of one server holds");

        change(&store, |c| {
            assert!(remove(c, &web.id)?);
            set_quota(c, "mia", &Quota::default())
        });
        assert!(servers(&store).unwrap().is_empty());
        assert_eq!(quota(&store, "mia").unwrap(), Quota::default());
    }
}
