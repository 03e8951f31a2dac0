//! The users table: one JSON record per username. The record's type
//! belongs to the `accounts` module; the store only keeps it, so it is
//! generic over any serde type here.

use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::schema::USERS;
use super::{Change, Store, StoreError};

impl Store {
    pub fn user<T: DeserializeOwned>(&self, username: &str) -> Result<Option<T>, StoreError> {
        let err = |e: redb::Error| self.read_err("user", e);
        let txn = self.inner.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(USERS).map_err(|e| err(e.into()))?;
        let Some(value) = table.get(username).map_err(|e| err(e.into()))? else {
            return Ok(None);
        };
        self.decode("user", value.value()).map(Some)
    }

    /// Every user, by name.
    pub fn users<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        let err = |e: redb::Error| self.read_err("users", e);
        let txn = self.inner.db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(USERS).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| err(e.into()))? {
            let (k, v) = row.map_err(|e| err(e.into()))?;
            out.push((k.value().to_string(), self.decode("user", v.value())?));
        }
        Ok(out)
    }

    fn decode<T: DeserializeOwned>(
        &self,
        what: &'static str,
        bytes: &[u8],
    ) -> Result<T, StoreError> {
        serde_json::from_slice(bytes).map_err(|source| StoreError::Decode {
            path: self.inner.path.clone(),
            what,
            source,
        })
    }
}

impl Change<'_> {
    pub fn put_user<T: Serialize>(&mut self, username: &str, record: &T) -> Result<(), StoreError> {
        let err = |e: redb::Error| self.store.write_err("user", e);
        let bytes = serde_json::to_vec(record).expect("records always serialize");
        self.txn
            .open_table(USERS)
            .map_err(|e| err(e.into()))?
            .insert(username, bytes.as_slice())
            .map_err(|e| err(e.into()))?;
        Ok(())
    }

    /// Whether the user existed.
    pub fn remove_user(&mut self, username: &str) -> Result<bool, StoreError> {
        let err = |e: redb::Error| self.store.write_err("user", e);
        let removed = self
            .txn
            .open_table(USERS)
            .map_err(|e| err(e.into()))?
            .remove(username)
            .map_err(|e| err(e.into()))?
            .is_some();
        Ok(removed)
    }

    pub fn user<T: DeserializeOwned>(&self, username: &str) -> Result<Option<T>, StoreError> {
        let err = |e: redb::Error| self.store.read_err("user", e);
        let table = self.txn.open_table(USERS).map_err(|e| err(e.into()))?;
        let Some(value) = table.get(username).map_err(|e| err(e.into()))? else {
            return Ok(None);
        };
        self.store.decode("user", value.value()).map(Some)
    }

    pub fn remove_setting(&mut self, key: &str) -> Result<(), StoreError> {
        let err = |e: redb::Error| self.store.write_err("setting", e);
        self.txn
            .open_table(super::schema::SETTINGS)
            .map_err(|e| err(e.into()))?
            .remove(key)
            .map_err(|e| err(e.into()))?;
        Ok(())
    }
}
