//! Audit records: who did what to which target, from where, and how it
//! ended. They are append-only and written only inside the transaction of
//! the change they record (see [`super::Change`]).

use serde::{Deserialize, Serialize};

/// How a recorded action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

/// Declares [`AuditAction`] and its dotted names from one list, so that
/// [`AuditAction::ALL`] cannot miss a variant.
macro_rules! audit_actions {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)+) => {
        /// What an audit record says was done. The names are what the log
        /// stores and the API serves (and what the admin page puts in
        /// words): a stored name must never change meaning.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$doc])* $variant,)+
        }

        impl AuditAction {
            pub const ALL: &[AuditAction] = &[$(AuditAction::$variant,)+];

            /// The dotted name stored in the log, e.g. `user.create`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)+
                }
            }
        }
    };
}

audit_actions! {
    /// The recovery console (actor `console`, source the terminal) reset
    /// a user's password and, with it, their two-factor login.
    ConsolePasswordReset => "console.password_reset",
    /// The recovery console turned a user's two-factor login off.
    ConsoleTwoFactorOff => "console.two_factor_off",
    /// The recovery console put the boot-time firewall back.
    ConsoleFirewallReset => "console.firewall_reset",
    /// The recovery console made a new self-signed TLS certificate.
    ConsoleCertificate => "console.certificate",
    /// The recovery console showed the last lines of hearth's log.
    ConsoleLog => "console.log",
    ConsoleRestart => "console.restart",
    ConsoleReboot => "console.reboot",
    ConsolePowerOff => "console.power_off",
    /// The recovery console erased hearth's state and every server's data
    /// (the first record of the new store).
    ConsoleFactoryReset => "console.factory_reset",
    /// Someone at the console opened a root shell (an admin allowed it).
    ConsoleShell => "console.shell",
    DaemonStart => "daemon.start",
    DaemonStop => "daemon.stop",
    DomainCreate => "domain.create",
    DomainUpdate => "domain.update",
    DomainDelete => "domain.delete",
    ServerCreate => "server.create",
    ServerStart => "server.start",
    ServerStop => "server.stop",
    ServerRestart => "server.restart",
    ServerDelete => "server.delete",
    /// An admin set a member's server quota.
    ServerQuota => "server.quota",
    /// The daemon asked the servers' privileged helper for something
    /// (make or remove a server's user or storage): the target says what.
    ServerHelper => "server.helper",
    ServerBaseImage => "server.base_image",
    /// A server's deletion finished: its record is gone.
    ServerRemoved => "server.removed",
    /// A member was issued a client certificate for their servers' engines.
    ServerCertIssue => "server.cert_issue",
    ServerCertRevoke => "server.cert_revoke",
    ServiceStart => "service.start",
    ServiceStop => "service.stop",
    ServiceRestart => "service.restart",
    /// An admin rebooted the box.
    SystemReboot => "system.reboot",
    SystemPowerOff => "system.power_off",
    /// An admin applied a new firewall policy.
    FirewallChange => "firewall.change",
    /// An admin kept a change within its confirm window.
    FirewallConfirm => "firewall.confirm",
    /// An unconfirmed or failed change was taken back.
    FirewallRollback => "firewall.rollback",
    /// hearth put back its ruleset after a change behind its back.
    FirewallRepair => "firewall.repair",
    SessionLogin => "session.login",
    SessionLogout => "session.logout",
    /// One of the caller's other sessions ended by them.
    SessionRevoke => "session.revoke",
    SettingsPublicStatus => "settings.public_status",
    /// An admin changed the host name, time zone or NTP setting.
    SettingsHost => "settings.host",
    SettingsConsoleShell => "settings.console_shell",
    /// An admin changed how long, and how much of, the audit log's
    /// records of attempts are kept.
    SettingsAuditRetention => "settings.audit_retention",
    /// hearth fell back to the version it ran before an update, found
    /// the store too new for it, and put back the copy it kept before the
    /// update (the target names the store set aside and what was lost).
    StoreRestore => "store.restore",
    /// An admin uploaded an update bundle that checked out.
    UpdateUpload => "update.upload",
    /// An admin asked for a bundle's install.
    UpdateAsk => "update.ask",
    /// The helper wrote the other slot and its boot entry.
    UpdateWritten => "update.written",
    /// An admin said "reboot into the new slot now".
    UpdateReboot => "update.reboot",
    /// The new slot came up and was judged good.
    UpdateInstalled => "update.installed",
    /// The new slot did not come up: back on the old one.
    UpdateFallBack => "update.fallback",
    /// An install failed, or was cut off, or taken back.
    UpdateFailed => "update.failed",
    SetupClaim => "setup.claim",
    SetupAdmin => "setup.admin",
    SetupHost => "setup.host",
    SetupDomain => "setup.domain",
    SetupFinish => "setup.finish",
    /// Too many wrong setup codes: the daemon made a new one.
    SetupCodeRotate => "setup.code_rotate",
    TokenCreate => "token.create",
    TokenRevoke => "token.revoke",
    TotpBegin => "totp.begin",
    TotpEnable => "totp.enable",
    TotpDisable => "totp.disable",
    UserCreate => "user.create",
    UserUpdate => "user.update",
    UserDelete => "user.delete",
    /// A user changed their own password.
    UserPassword => "user.password",
}

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AuditAction {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// An audit record as the caller describes it; the store adds id and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// A username, or `system` for the daemon itself.
    pub actor: String,
    pub action: AuditAction,
    pub target: String,
    /// The peer address of the request, or `local`.
    pub source: String,
    pub outcome: Outcome,
}

impl AuditEntry {
    /// A record of the daemon acting on its own behalf.
    pub fn system(action: AuditAction, target: &str) -> AuditEntry {
        AuditEntry {
            actor: "system".into(),
            action,
            target: target.into(),
            source: "local".into(),
            outcome: Outcome::Success,
        }
    }
}

/// A stored audit record; stored as JSON under its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRecord {
    pub id: u64,
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub actor: String,
    /// An [`AuditAction`]'s name. Kept as text: a log written by another
    /// hearth version may hold names this one does not write, and they
    /// must still read and serve as they were.
    pub action: String,
    pub target: String,
    pub source: String,
    pub outcome: Outcome,
    /// How many attempts the record stands for: refused attempts from one
    /// address are counted in one record per window (see
    /// [`super::Store::audit_refused`]); 1 otherwise, and then not stored.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub count: u64,
    /// When the last of them came, if more than one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ms: Option<u64>,
}

fn one() -> u64 {
    1
}

fn is_one(n: &u64) -> bool {
    *n == 1
}

impl AuditRecord {
    pub(super) fn new(id: u64, time_ms: u64, entry: AuditEntry) -> AuditRecord {
        AuditRecord {
            id,
            time_ms,
            actor: entry.actor,
            action: entry.action.as_str().to_string(),
            target: entry.target,
            source: entry.source,
            outcome: entry.outcome,
            count: 1,
            last_ms: None,
        }
    }

    /// Whether the record is of a change to the box, kept whatever the
    /// retention; the others (attempts refused or failed, sign-ins and
    /// sign-outs, a look at the log) go when they are old or too many.
    pub fn is_change(&self) -> bool {
        self.outcome == Outcome::Success
            && !matches!(
                self.action.as_str(),
                "session.login" | "session.logout" | "console.log"
            )
    }
}

/// Which audit records to read, newest first (see
/// [`super::Store::audit_newest_first`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery<'a> {
    /// Only records with a smaller id: the paging cursor (`u64::MAX` for
    /// the newest page).
    pub before: u64,
    /// Only this actor's records.
    pub actor: Option<&'a str>,
    /// Only records written in `since_ms..=until_ms` (ms since the epoch).
    pub since_ms: u64,
    pub until_ms: u64,
    /// At most this many records.
    pub limit: usize,
}

impl AuditQuery<'_> {
    /// The newest `limit` records, unfiltered.
    pub fn newest(limit: usize) -> AuditQuery<'static> {
        AuditQuery {
            before: u64::MAX,
            actor: None,
            since_ms: 0,
            until_ms: u64::MAX,
            limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_its_own_dotted_name() {
        let mut seen = std::collections::HashSet::new();
        for action in AuditAction::ALL {
            let name = action.as_str();
            assert!(seen.insert(name), "{name} names two actions");
            let parts: Vec<&str> = name.split('.').collect();
            assert_eq!(parts.len(), 2, "{name} is not noun.verb");
            for part in parts {
                assert!(
                    !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                    "{name}"
                );
            }
            assert_eq!(action.to_string(), name);
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                serde_json::Value::from(name)
            );
        }
    }

    #[test]
    fn only_successful_changes_are_changes() {
        let record = |action, outcome| AuditRecord {
            outcome,
            ..AuditRecord::new(1, 2, AuditEntry::system(action, "x"))
        };
        assert!(record(AuditAction::UserCreate, Outcome::Success).is_change());
        assert!(record(AuditAction::FirewallRollback, Outcome::Success).is_change());
        assert!(!record(AuditAction::UserCreate, Outcome::Denied).is_change());
        assert!(!record(AuditAction::UserCreate, Outcome::Failure).is_change());
        assert!(!record(AuditAction::SessionLogin, Outcome::Success).is_change());
        assert!(!record(AuditAction::SessionLogout, Outcome::Success).is_change());
        assert!(!record(AuditAction::ConsoleLog, Outcome::Success).is_change());
    }

    #[test]
    fn a_single_record_reads_and_writes_as_before() {
        let record = AuditRecord::new(7, 8, AuditEntry::system(AuditAction::UserCreate, "ann"));
        let json = serde_json::to_value(&record).unwrap();
        assert!(
            json.get("count").is_none() && json.get("last_ms").is_none(),
            "{json}"
        );
        let back: AuditRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.count, 1);
        assert_eq!(back, record);
    }

    #[test]
    fn a_record_stores_the_name() {
        let entry = AuditEntry::system(AuditAction::UserCreate, "ann");
        let record = AuditRecord::new(1, 2, entry);
        assert_eq!(record.action, "user.create");
        assert_eq!(record.actor, "system");
    }
}
