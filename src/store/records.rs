//! Tables of JSON records keyed by a string: users (by name) and sessions
//! (by the SHA-256 of their token). The record types belong to the
//! `accounts` module; the store only keeps them, generic over serde.

use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::schema::{
    DOMAINS, FIREWALL, SERVER_CERTS, SERVER_QUOTAS, SERVERS, SESSIONS, TOKENS, UPDATES, USERS,
};
use super::{Change, Store, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Records {
    Users,
    Sessions,
    Tokens,
    Firewall,
    Domains,
    Servers,
    ServerQuotas,
    ServerCerts,
    Updates,
}

impl Records {
    fn table(self) -> TableDefinition<'static, &'static str, &'static [u8]> {
        match self {
            Records::Users => USERS,
            Records::Sessions => SESSIONS,
            Records::Tokens => TOKENS,
            Records::Firewall => FIREWALL,
            Records::Domains => DOMAINS,
            Records::Servers => SERVERS,
            Records::ServerQuotas => SERVER_QUOTAS,
            Records::ServerCerts => SERVER_CERTS,
            Records::Updates => UPDATES,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Records::Users => "user",
            Records::Sessions => "session",
            Records::Tokens => "API token",
            Records::Firewall => "firewall",
            Records::Domains => "domain",
            Records::Servers => "server",
            Records::ServerQuotas => "server quota",
            Records::ServerCerts => "server certificate",
            Records::Updates => "update",
        }
    }
}

impl Store {
    pub fn record<T: DeserializeOwned>(
        &self,
        t: Records,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let err = |e: redb::Error| self.read_err(t.what(), e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(t.table()).map_err(|e| err(e.into()))?;
        let Some(value) = table.get(key).map_err(|e| err(e.into()))? else {
            return Ok(None);
        };
        self.decode(t.what(), value.value()).map(Some)
    }

    /// Every record of a table, by key.
    pub fn records<T: DeserializeOwned>(&self, t: Records) -> Result<Vec<(String, T)>, StoreError> {
        let err = |e: redb::Error| self.read_err(t.what(), e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(t.table()).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| err(e.into()))? {
            let (k, v) = row.map_err(|e| err(e.into()))?;
            out.push((k.value().to_string(), self.decode(t.what(), v.value())?));
        }
        Ok(out)
    }

    /// Every record of table `t`, without its key.
    pub fn values<T: DeserializeOwned>(&self, t: Records) -> Result<Vec<T>, StoreError> {
        let records = self.records(t)?;
        Ok(records.into_iter().map(|(_, v)| v).collect())
    }

    /// Writes one record outside an audited change: for bookkeeping that
    /// is not a change someone made (a session's last-seen time).
    pub fn touch_record<T: Serialize>(
        &self,
        t: Records,
        key: &str,
        record: &T,
    ) -> Result<(), StoreError> {
        let err = |e: redb::Error| self.write_err(t.what(), e);
        let bytes = serde_json::to_vec(record).expect("records always serialize");
        let db = self.writable()?;
        let txn = db.begin_write().map_err(|e| err(e.into()))?;
        txn.open_table(t.table())
            .map_err(|e| err(e.into()))?
            .insert(key, bytes.as_slice())
            .map_err(|e| err(e.into()))?;
        self.commit(txn, t.what())?;
        let mut touched = super::watch::Touched::default();
        touched.add(t);
        self.inner.watchers.committed(touched, &[]);
        Ok(())
    }

    pub(super) fn decode<T: DeserializeOwned>(
        &self,
        what: &'static str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
            path: self.path().to_path_buf(),
            what,
            source,
        })
    }
}

impl Change<'_> {
    pub fn put_record<T: Serialize>(
        &mut self,
        t: Records,
        key: &str,
        record: &T,
    ) -> Result<(), StoreError> {
        self.touched.add(t);
        let err = |e: redb::Error| self.store.write_err(t.what(), e);
        let bytes = serde_json::to_vec(record).expect("records always serialize");
        self.txn
            .open_table(t.table())
            .map_err(|e| err(e.into()))?
            .insert(key, bytes.as_slice())
            .map_err(|e| err(e.into()))?;
        Ok(())
    }

    /// Whether the record existed.
    pub fn remove_record(&mut self, t: Records, key: &str) -> Result<bool, StoreError> {
        self.touched.add(t);
        let err = |e: redb::Error| self.store.write_err(t.what(), e);
        let removed = self
            .txn
            .open_table(t.table())
            .map_err(|e| err(e.into()))?
            .remove(key)
            .map_err(|e| err(e.into()))?
            .is_some();
        Ok(removed)
    }

    pub fn record<T: DeserializeOwned>(
        &self,
        t: Records,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let err = |e: redb::Error| self.store.read_err(t.what(), e);
        let table = self.txn.open_table(t.table()).map_err(|e| err(e.into()))?;
        let Some(value) = table.get(key).map_err(|e| err(e.into()))? else {
            return Ok(None);
        };
        self.store.decode(t.what(), value.value()).map(Some)
    }

    /// Every record of a table as this change sees it.
    pub fn records<T: DeserializeOwned>(&self, t: Records) -> Result<Vec<(String, T)>, StoreError> {
        let err = |e: redb::Error| self.store.read_err(t.what(), e);
        let table = self.txn.open_table(t.table()).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| err(e.into()))? {
            let (k, v) = row.map_err(|e| err(e.into()))?;
            out.push((
                k.value().to_string(),
                self.store.decode(t.what(), v.value())?,
            ));
        }
        Ok(out)
    }

    pub fn remove_setting(&mut self, key: &str) -> Result<(), StoreError> {
        self.touched.add(super::Table::Settings);
        let err = |e: redb::Error| self.store.write_err("setting", e);
        self.txn
            .open_table(super::schema::SETTINGS)
            .map_err(|e| err(e.into()))?
            .remove(key)
            .map_err(|e| err(e.into()))?;
        Ok(())
    }
}
