//! The firewall's records in the store: the policy in force (with a
//! version that every change raises), the pending change awaiting its
//! confirmation (the user plane the servers' manager keeps beside them
//! is `plane::stored`'s).
//! Rolling back an unconfirmed change is one audited transaction.

use serde::{Deserialize, Serialize};

use super::model::Policy;
use crate::store::{AuditAction, AuditEntry, Change, Records, Store, StoreError};

const POLICY: &str = "policy";
const PENDING: &str = "pending";

/// The policy in force.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPolicy {
    /// Raised by every change and rollback; 0 is the built-in default.
    pub version: u64,
    pub policy: Policy,
}

/// A change in its confirm window: without a confirmation by
/// `deadline_ms`, `previous` comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    /// The version that awaits confirmation.
    pub version: u64,
    /// What comes back: the last confirmed policy.
    pub previous: Policy,
    pub deadline_ms: u64,
    /// Who made the change.
    pub by: String,
}

pub fn policy(store: &Store) -> Result<StoredPolicy, StoreError> {
    Ok(store.record(Records::Firewall, POLICY)?.unwrap_or_default())
}

pub fn pending(store: &Store) -> Result<Option<Pending>, StoreError> {
    store.record(Records::Firewall, PENDING)
}

pub(super) fn policy_in(c: &Change<'_>) -> Result<StoredPolicy, StoreError> {
    Ok(c.record(Records::Firewall, POLICY)?.unwrap_or_default())
}

pub(super) fn pending_in(c: &Change<'_>) -> Result<Option<Pending>, StoreError> {
    c.record(Records::Firewall, PENDING)
}

pub(super) fn put_policy(c: &mut Change<'_>, p: &StoredPolicy) -> Result<(), StoreError> {
    c.put_record(Records::Firewall, POLICY, p)
}

pub(super) fn put_pending(c: &mut Change<'_>, p: Option<&Pending>) -> Result<(), StoreError> {
    match p {
        Some(p) => c.put_record(Records::Firewall, PENDING, p),
        None => c.remove_record(Records::Firewall, PENDING).map(drop),
    }
}

/// Takes an unconfirmed change back, if there is one: the previous policy
/// is in force again under a new version. `why` goes into the audit
/// record's target (`timeout`, `restart`, `apply failed`).
pub fn roll_back(store: &Store, why: &str) -> Result<bool, StoreError> {
    let result = store.change(
        AuditEntry::system(AuditAction::FirewallRollback, why),
        |c| {
            // Nothing pending (confirmed meanwhile): abort, so that no
            // rollback is recorded.
            let pending = pending_in(c)?.ok_or(Abort::Nothing)?;
            let current = policy_in(c)?;
            put_policy(
                c,
                &StoredPolicy {
                    version: current.version + 1,
                    policy: pending.previous,
                },
            )?;
            put_pending(c, None)?;
            Ok::<(), Abort>(())
        },
    );
    match result {
        Ok(()) => Ok(true),
        Err(Abort::Nothing) => Ok(false),
        Err(Abort::Store(e)) => Err(e),
    }
}

/// Ends a change's transaction early without writing anything.
pub(super) enum Abort {
    Store(StoreError),
    Nothing,
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Abort {
        Abort::Store(e)
    }
}

/// Puts the built-in default policy in force under a new version and
/// drops any change awaiting confirmation, in one transaction recorded as
/// `entry` (the recovery console's reset: the default opens hearth's port
/// to everyone, so nobody stays locked out by a policy). The servers' user
/// plane is kept: it is the servers' manager's, not a policy.
pub fn reset_to_default(store: &Store, entry: AuditEntry) -> Result<(), StoreError> {
    store.change(entry, |c| {
        let current = policy_in(c)?;
        put_policy(
            c,
            &StoredPolicy {
                version: current.version + 1,
                policy: Policy::default(),
            },
        )?;
        put_pending(c, None)
    })
}
