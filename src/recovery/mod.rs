//! What the recovery console may do to hearth's state, written once: the
//! daemon runs it when the console asks on the control socket
//! (`crate::control`), and the console runs it itself, on the store it
//! opened, when the daemon is down. So a reset is the same reset either
//! way, and the daemon started afterwards simply reads the result.
//!
//! Every action is audited with actor `console` and, as its source, the
//! terminal it was made at (`tty1`, `ttyS0`). The erasing factory reset is
//! in [`factory`]: it needs the daemon stopped.

pub mod factory;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::accounts::{TwoFactorError, UserError, UserRecord};
use crate::auth::{NewPassword, Role};
use crate::config::TlsFiles;
use crate::firewall::adapter::Nft;
use crate::firewall::error::NftError;
use crate::store::{AuditAction, AuditEntry, Outcome, Records, Store, StoreError};
use crate::tls::{self, TlsError, TlsMaterial};

/// The audit records' actor.
pub const ACTOR: &str = "console";

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("no user named {0}")]
    NoUser(String),
    #[error("the new password {0}")]
    Password(crate::auth::PasswordError),
    #[error(
        "hearth does not manage this machine's firewall (firewall.manage = false): nothing to reset"
    )]
    FirewallNotManaged,
    #[error("cannot load the boot-time firewall")]
    Firewall(#[source] NftError),
    #[error(transparent)]
    Certificate(#[from] TlsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An error the action cannot give (a bug), said as it is.
    #[error("{0}")]
    Unexpected(String),
}

/// A user as the console lists them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleUser {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub two_factor: bool,
}

/// What the console does itself and only records: restarting hearth,
/// rebooting, powering off, showing the log, opening a shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recorded {
    Log,
    Restart,
    Reboot,
    PowerOff,
    Shell,
    /// A factory reset that failed part-way (one that succeeded is the
    /// first record of the new store).
    FactoryReset,
}

impl Recorded {
    pub fn action(self) -> AuditAction {
        match self {
            Recorded::Log => AuditAction::ConsoleLog,
            Recorded::Restart => AuditAction::ConsoleRestart,
            Recorded::Reboot => AuditAction::ConsoleReboot,
            Recorded::PowerOff => AuditAction::ConsolePowerOff,
            Recorded::Shell => AuditAction::ConsoleShell,
            Recorded::FactoryReset => AuditAction::ConsoleFactoryReset,
        }
    }
}

/// The console's actions on one store.
pub struct Recovery {
    store: Store,
    state_dir: PathBuf,
    tls: Option<TlsFiles>,
    /// `None` where hearth does not manage the firewall.
    nft: Option<Arc<dyn Nft>>,
}

fn entry(action: AuditAction, target: &str, terminal: &str, outcome: Outcome) -> AuditEntry {
    AuditEntry {
        actor: ACTOR.into(),
        action,
        target: target.chars().take(64).collect(),
        source: terminal.chars().take(32).collect(),
        outcome,
    }
}

impl Recovery {
    pub fn new(
        store: Store,
        state_dir: &Path,
        tls: Option<TlsFiles>,
        nft: Option<Arc<dyn Nft>>,
    ) -> Recovery {
        Recovery {
            store,
            state_dir: state_dir.to_path_buf(),
            tls,
            nft,
        }
    }

    /// The actions on `store` as `config` has the box: the firewall's
    /// reset only where hearth manages the firewall.
    pub fn for_config(config: &crate::config::Config, store: Store) -> Recovery {
        let nft: Option<Arc<dyn Nft>> = config
            .firewall
            .manage
            .then(|| Arc::new(crate::firewall::adapter::NftBinary::system()) as Arc<dyn Nft>);
        Recovery::new(store, &config.state_dir, config.tls.clone(), nft)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Every account, by name.
    pub fn users(&self) -> Result<Vec<ConsoleUser>, StoreError> {
        let mut users: Vec<ConsoleUser> = self
            .store
            .records::<UserRecord>(Records::Users)?
            .into_iter()
            .map(|(username, u)| ConsoleUser {
                username,
                role: u.role,
                disabled: u.disabled,
                two_factor: u.totp.is_some_and(|t| t.confirmed),
            })
            .collect();
        users.sort_by(|a, b| a.username.cmp(&b.username));
        Ok(users)
    }

    /// Gives `username` the password `password` (which must meet the
    /// password policy), turns their two-factor login off and ends their
    /// sessions. A failure is recorded too.
    pub fn reset_password(
        &self,
        username: &str,
        password: &str,
        terminal: &str,
    ) -> Result<(), RecoveryError> {
        let action = AuditAction::ConsolePasswordReset;
        let result = NewPassword::new(password, username)
            .map_err(RecoveryError::Password)
            .and_then(|p| {
                crate::accounts::reset_password(
                    &self.store,
                    username,
                    p.hash(),
                    entry(action, username, terminal, Outcome::Success),
                )
                .map_err(|e| match e {
                    UserError::NotFound => RecoveryError::NoUser(username.into()),
                    UserError::Store(e) => RecoveryError::Store(e),
                    e => RecoveryError::Unexpected(e.to_string()),
                })
            });
        self.record_failure(&result, action, username, terminal);
        result
    }

    /// Turns `username`'s two-factor login off; their password stays.
    pub fn turn_off_two_factor(&self, username: &str, terminal: &str) -> Result<(), RecoveryError> {
        let action = AuditAction::ConsoleTwoFactorOff;
        let result = crate::accounts::turn_off_two_factor(
            &self.store,
            username,
            entry(action, username, terminal, Outcome::Success),
        )
        .map_err(|e| match e {
            TwoFactorError::NoUser => RecoveryError::NoUser(username.into()),
            TwoFactorError::Store(e) => RecoveryError::Store(e),
            e => RecoveryError::Unexpected(e.to_string()),
        });
        self.record_failure(&result, action, username, terminal);
        result
    }

    /// Loads the boot-time firewall at once (hearth's table gone, the base
    /// table back, in one `nft` transaction), and makes the built-in
    /// default policy the one in force, so that a running hearth does not
    /// put the mistake back: what it applies next opens its port to
    /// everyone. The admin's rules are in the audit log, not lost.
    pub async fn reset_firewall(&self, terminal: &str) -> Result<(), RecoveryError> {
        let action = AuditAction::ConsoleFirewallReset;
        let result = match &self.nft {
            None => Err(RecoveryError::FirewallNotManaged),
            Some(nft) => match crate::firewall::reset(nft.as_ref()).await {
                Err(e) => Err(RecoveryError::Firewall(e)),
                Ok(()) => crate::firewall::stored::reset_to_default(
                    &self.store,
                    entry(action, "boot policy", terminal, Outcome::Success),
                )
                .map_err(RecoveryError::from),
            },
        };
        self.record_failure(&result, action, "boot policy", terminal);
        result
    }

    /// Replaces the self-signed certificate; returns the new one.
    pub fn new_certificate(&self, terminal: &str) -> Result<TlsMaterial, RecoveryError> {
        let action = AuditAction::ConsoleCertificate;
        let result =
            tls::regenerate(&self.state_dir, self.tls.as_ref()).map_err(RecoveryError::from);
        match &result {
            Ok(material) => {
                // The new pair is in place already: a record that cannot
                // be written must not make it look undone.
                if let Err(e) = self.store.audit(entry(
                    action,
                    &material.fingerprint,
                    terminal,
                    Outcome::Success,
                )) {
                    tracing::warn!(error = %e, "cannot record the new certificate");
                }
            }
            Err(_) => self.record_failure(&result, action, "", terminal),
        }
        result
    }

    /// Records what the console did itself.
    pub fn record(
        &self,
        what: Recorded,
        terminal: &str,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        self.store
            .audit(entry(what.action(), "hearth", terminal, outcome))
    }

    /// Whether an admin allowed a root shell on the console.
    pub fn shell_allowed(&self) -> Result<bool, StoreError> {
        crate::accounts::settings::console_shell(&self.store)
    }

    fn record_failure<T>(
        &self,
        result: &Result<T, RecoveryError>,
        action: AuditAction,
        target: &str,
        terminal: &str,
    ) {
        if result.is_err()
            && let Err(e) = self
                .store
                .audit(entry(action, target, terminal, Outcome::Failure))
        {
            tracing::warn!(error = %e, "cannot record the console's failed action");
        }
    }
}

/// A new random password for a reset: 16 characters of Crockford base32
/// (the setup code's alphabet: nothing to misread on a screen) in groups
/// of four, 80 bits.
pub fn generate_password() -> String {
    let mut bits = u128::from_le_bytes(crate::auth::token::random_bytes::<16>());
    let mut out = String::with_capacity(19);
    for i in 0..16 {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(crate::auth::setup_code::ALPHABET[(bits & 31) as usize] as char);
        bits >>= 5;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_four_groups_of_four_and_meet_the_policy() {
        let a = generate_password();
        let b = generate_password();
        assert_ne!(a, b);
        for p in [&a, &b] {
            assert_eq!(p.len(), 19, "{p}");
            let groups: Vec<&str> = p.split('-').collect();
            assert_eq!(groups.len(), 4, "{p}");
            assert!(groups.iter().all(|g| g.len() == 4));
            assert!(
                p.chars()
                    .all(|c| c == '-' || crate::auth::setup_code::ALPHABET.contains(&(c as u8))),
                "{p}"
            );
            NewPassword::new(p, "admin").expect("meets the password policy");
        }
    }
}
