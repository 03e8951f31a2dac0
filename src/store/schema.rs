//! The store's tables and its schema history.
//!
//! The schema version lives in the `meta` table. Each migration step moves
//! the store one version up inside one write transaction, together with the
//! version bump, so a crash mid-migration leaves the previous version
//! intact. A store newer than this binary is refused, never downgraded.

use redb::{
    MultimapTableDefinition, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};

/// `schema_version` → version number.
pub(super) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Setting name → value (text).
pub(super) const SETTINGS: TableDefinition<&str, &str> = TableDefinition::new("settings");
/// Audit id → JSON of [`super::AuditRecord`]. Ids only grow.
pub(super) const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");
/// Actor → audit ids, so an owner can list one user's actions without a scan.
pub(super) const AUDIT_BY_ACTOR: MultimapTableDefinition<&str, u64> =
    MultimapTableDefinition::new("audit_by_actor");

/// Audit id → (time in ms, stored size) of each record that is not a
/// change, oldest first: what the retention prunes (see `retention`).
pub(super) const AUDIT_ATTEMPTS: TableDefinition<u64, (u64, u64)> =
    TableDefinition::new("audit_attempts");
/// In [`META`]: the total stored size of the records in [`AUDIT_ATTEMPTS`].
pub(super) const ATTEMPT_BYTES: &str = "audit_attempt_bytes";

const VERSION_KEY: &str = "schema_version";

/// (series, minute since the epoch) → min, avg, max as three f32 (LE).
/// Metrics history, not state a person changes: written without audit.
pub(super) const HISTORY: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("history");

/// Username → JSON of the account record (defined by `accounts`).
pub(super) const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");

/// SHA-256 of a session token → JSON of the session record.
pub(super) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");

/// SHA-256 of an API token → JSON of the token record.
pub(super) const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// Key (`policy`, `pending`) → JSON of the firewall's records (defined by
/// `firewall`).
pub(super) const FIREWALL: TableDefinition<&str, &[u8]> = TableDefinition::new("firewall");

/// Host name (punycode) → JSON of a domain record (defined by `proxy`).
pub(super) const DOMAINS: TableDefinition<&str, &[u8]> = TableDefinition::new("domains");

/// Server id → JSON of a virtual server's record (defined by `servers`).
pub(super) const SERVERS: TableDefinition<&str, &[u8]> = TableDefinition::new("servers");

/// Username → JSON of the member's server quota (defined by `servers`).
pub(super) const SERVER_QUOTAS: TableDefinition<&str, &[u8]> =
    TableDefinition::new("server_quotas");

/// SHA-256 of a member's engine client certificate → JSON of its record
/// (defined by `servers::access`).
pub(super) const SERVER_CERTS: TableDefinition<&str, &[u8]> = TableDefinition::new("server_certs");
/// The updates of the box: what the admin asked, the install under way
/// or awaiting its trial boot, and the history of updates and fallbacks.
pub(super) const UPDATES: TableDefinition<&str, &[u8]> = TableDefinition::new("updates");

/// The version this binary writes.
pub const CURRENT_VERSION: u64 = 13;

/// A table of records by a text key (users, sessions, domains, ...).
type Records = TableDefinition<'static, &'static str, &'static [u8]>;

/// One migration step.
enum Step {
    /// Creates these tables of records, empty.
    Create(&'static [Records]),
    /// Does more than create tables of records.
    Run(fn(&WriteTransaction) -> Result<(), redb::Error>),
}

/// `STEPS[n]` migrates from version `n` to `n + 1`; a step that does more
/// than create tables is a function below, its version in its doc.
const STEPS: [Step; CURRENT_VERSION as usize] = [
    Step::Run(v0_to_v1),
    Step::Run(v1_to_v2),
    Step::Run(v2_to_v3),
    // Version 4: user accounts.
    Step::Create(&[USERS]),
    // Version 5: sign-in sessions.
    Step::Create(&[SESSIONS]),
    // Version 6: API tokens.
    Step::Create(&[TOKENS]),
    Step::Run(v6_to_v7),
    // Version 8: the firewall's policy and its pending change.
    Step::Create(&[FIREWALL]),
    // Version 9: the domains that Caddy serves.
    Step::Create(&[DOMAINS]),
    // Version 10: the virtual servers and the members' quotas.
    Step::Create(&[SERVERS, SERVER_QUOTAS]),
    // Version 11: the members' engine client certificates.
    Step::Create(&[SERVER_CERTS]),
    Step::Run(v11_to_v12),
    // Version 13: the updates of the box.
    Step::Create(&[UPDATES]),
];

/// Version 1: settings and the audit log.
fn v0_to_v1(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(META)?;
    txn.open_table(SETTINGS)?;
    txn.open_table(AUDIT)?;
    Ok(())
}

/// Version 2: the actor index of the audit log, filled from existing records.
fn v1_to_v2(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let audit = txn.open_table(AUDIT)?;
    let mut index = txn.open_multimap_table(AUDIT_BY_ACTOR)?;
    for row in audit.iter()? {
        let (id, value) = row?;
        // A record that does not decode is kept in the log but not indexed;
        // the migration must not lose the rest because of one bad record.
        if let Ok(record) = serde_json::from_slice::<ActorOnly>(value.value()) {
            index.insert(record.actor.as_str(), id.value())?;
        }
    }
    Ok(())
}

/// Version 3: the metrics history (per-minute min/avg/max, 7 days).
fn v2_to_v3(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(HISTORY)?;
    Ok(())
}

/// The setting that holds the first start's time.
pub(super) const INSTALLED_AT: &str = "installed_at";

/// Version 7: one unit for times in the store, milliseconds since the
/// epoch. `installed_at` was written in seconds by versions before 7; a
/// value below 10^11 (a date in 1973 as milliseconds, in 5138 as seconds)
/// can only be seconds.
fn v6_to_v7(txn: &WriteTransaction) -> Result<(), redb::Error> {
    let mut settings = txn.open_table(SETTINGS)?;
    let seconds = settings
        .get(INSTALLED_AT)?
        .and_then(|v| v.value().parse::<u64>().ok())
        .filter(|&v| v < 100_000_000_000);
    if let Some(seconds) = seconds {
        settings.insert(INSTALLED_AT, (seconds * 1000).to_string().as_str())?;
    }
    Ok(())
}

/// Version 12: the index of the audit records that are not changes, for
/// the retention, filled from the log.
fn v11_to_v12(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(AUDIT_ATTEMPTS)?;
    super::retention::index_existing(txn)
}

#[derive(serde::Deserialize)]
struct ActorOnly {
    actor: String,
}

/// Reads the stored version; a store without the meta table is version 0.
pub(super) fn read_version(db: &redb::Database) -> Result<u64, redb::Error> {
    version_in(&db.begin_read()?)
}

/// The version as `txn` sees it.
pub(super) fn version_in(txn: &redb::ReadTransaction) -> Result<u64, redb::Error> {
    let meta = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    Ok(meta.get(VERSION_KEY)?.map(|v| v.value()).unwrap_or(0))
}

/// Runs one migration step and records the new version, atomically.
pub(super) fn step(db: &redb::Database, from: u64) -> Result<(), redb::Error> {
    let txn = db.begin_write()?;
    match &STEPS[from as usize] {
        Step::Create(tables) => {
            for table in tables.iter() {
                txn.open_table(*table)?;
            }
        }
        Step::Run(run) => run(&txn)?,
    }
    txn.open_table(META)?.insert(VERSION_KEY, from + 1)?;
    txn.commit()?;
    Ok(())
}
