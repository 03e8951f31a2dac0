//! Change notifications: who wants to know when the store changed.
//!
//! [`Store::watch`] hands out a receiver per table that wakes after every
//! committed transaction that wrote to it (a manager re-reads its desired
//! state then); a transaction that was refused or failed wakes nobody,
//! since nothing changed. The value is a count of such transactions, so a
//! receiver that was away sees that it missed some, and a burst of
//! commits wakes a busy receiver once. [`Store::on_audit`] listeners are
//! told of each audit record after its commit, any number of them.

use std::sync::RwLock;

use tokio::sync::watch;

use super::{AuditRecord, Records, Store};

/// The tables one can watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Users,
    Sessions,
    Tokens,
    Settings,
    Audit,
    Firewall,
    Domains,
    Servers,
    Updates,
}

impl Table {
    const ALL: [Table; 9] = [
        Table::Users,
        Table::Sessions,
        Table::Tokens,
        Table::Settings,
        Table::Audit,
        Table::Firewall,
        Table::Domains,
        Table::Servers,
        Table::Updates,
    ];

    fn bit(self) -> u16 {
        1 << (self as u8)
    }
}

impl From<Records> for Table {
    fn from(r: Records) -> Table {
        match r {
            Records::Users => Table::Users,
            Records::Sessions => Table::Sessions,
            Records::Tokens => Table::Tokens,
            Records::Firewall => Table::Firewall,
            Records::Domains => Table::Domains,
            // A quota is checked when a server is made; the manager
            // follows the servers alone.
            Records::Servers | Records::ServerQuotas | Records::ServerCerts => Table::Servers,
            Records::Updates => Table::Updates,
        }
    }
}

/// The tables one write transaction touched, gathered as it runs and
/// announced only once it has committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Touched(u16);

impl Touched {
    pub(super) fn add(&mut self, t: impl Into<Table>) {
        self.0 |= t.into().bit();
    }

    fn contains(self, t: Table) -> bool {
        self.0 & t.bit() != 0
    }
}

type AuditListener = Box<dyn Fn(&AuditRecord) + Send + Sync>;

/// The store's watchers: one channel per table, and the audit listeners.
pub(super) struct Watchers {
    tables: [watch::Sender<u64>; Table::ALL.len()],
    audit: RwLock<Vec<AuditListener>>,
}

impl Default for Watchers {
    fn default() -> Watchers {
        Watchers {
            tables: std::array::from_fn(|_| watch::channel(0).0),
            audit: RwLock::default(),
        }
    }
}

impl Watchers {
    /// Wakes the watchers of what a committed transaction touched, then
    /// hands its audit records (if it wrote any), in order, to the
    /// listeners.
    pub(super) fn committed(&self, touched: Touched, records: &[AuditRecord]) {
        for t in Table::ALL {
            if touched.contains(t) {
                self.tables[t as usize].send_modify(|n| *n += 1);
            }
        }
        if records.is_empty() {
            return;
        }
        let listeners = self.audit.read().unwrap_or_else(|p| p.into_inner());
        for record in records {
            for listener in listeners.iter() {
                listener(record);
            }
        }
    }
}

impl Store {
    /// A receiver that wakes after each committed transaction that wrote
    /// to `table` (`changed().await`); its value counts them.
    pub fn watch(&self, table: Table) -> watch::Receiver<u64> {
        self.inner.watchers.tables[table as usize].subscribe()
    }

    /// Calls `listener` with every audit record from now on, after its
    /// change has committed (the daemon publishes them on the `audit`
    /// topic). Any number may listen; a listener must not block.
    pub fn on_audit(&self, listener: impl Fn(&AuditRecord) + Send + Sync + 'static) {
        self.inner
            .watchers
            .audit
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(listener));
    }
}
