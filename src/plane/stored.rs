//! The user plane in the store, beside the firewall's policy (its table
//! and key are the firewall's since schema 3): the servers' manager saves
//! it, the firewall's manager renders what it holds.

use super::UserPlane;
use crate::store::{AuditAction, AuditEntry, Records, Store, StoreError};

const KEY: &str = "servers";

/// The user plane as last saved; empty before the first server.
pub fn load(store: &Store) -> Result<UserPlane, StoreError> {
    Ok(store.record(Records::Firewall, KEY)?.unwrap_or_default())
}

/// Saves `plane`, audited as a change of the firewall by the system.
pub fn save(store: &Store, plane: &UserPlane) -> Result<(), StoreError> {
    let entry = AuditEntry::system(AuditAction::FirewallChange, "servers");
    store.change(entry, |c| c.put_record(Records::Firewall, KEY, plane))
}
