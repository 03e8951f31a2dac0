//! The domains in the store, keyed by their name (punycode). The
//! records belong to `model`; every change goes through `service`, which
//! audits it in the same transaction.

use super::model::{Domain, SiteName};
use crate::store::{Change, Records, Store, StoreError};

/// Every domain, in name order.
pub fn domains(store: &Store) -> Result<Vec<Domain>, StoreError> {
    Ok(store
        .records::<Domain>(Records::Domains)?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

pub(super) fn domain_in(c: &Change<'_>, name: &SiteName) -> Result<Option<Domain>, StoreError> {
    c.record(Records::Domains, name.as_str())
}

pub(super) fn put(c: &mut Change<'_>, d: &Domain) -> Result<(), StoreError> {
    c.put_record(Records::Domains, d.name.as_str(), d)
}

pub(super) fn remove(c: &mut Change<'_>, name: &SiteName) -> Result<bool, StoreError> {
    c.remove_record(Records::Domains, name.as_str())
}
