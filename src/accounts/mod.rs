//! Accounts and the first-boot setup: the service layer between the HTTP
//! handlers and the store. It owns the user record, the setup flow and its
//! claim code, and writes every change with its audit record.

pub mod certs;
mod profile;
mod sessions;
pub mod settings;
mod setup;
#[cfg(test)]
pub(crate) mod testkit;
mod tokens;
mod two_factor;
mod users;

pub use profile::BoxProfile;
pub use sessions::{
    Busy, Caller, HASHES_AT_ONCE, HashTurn, LoginError, PasswordChangeError, SessionRecord,
    SessionUse, SessionView, Sessions,
};
pub use settings::{BoxSettings, HostChange, SettingsView, console_shell};
pub use setup::{
    SESSION_LIFETIME as SETUP_SESSION_LIFETIME, Setup, SetupError, SetupStatus, SetupStep,
};
pub use tokens::{TokenError, TokenRecord, Tokens};
pub use two_factor::{Enrolment, TwoFactor, TwoFactorError, turn_off as turn_off_two_factor};
pub use users::{UserError, UserUpdate, UserView, Users, reset_password};

use serde::{Deserialize, Serialize};

use crate::auth::{PasswordHash, Role};

/// A user as the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub role: Role,
    pub password: PasswordHash,
    pub disabled: bool,
    pub created_ms: u64,
    /// Two-factor login, when enrolled (older records have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp: Option<TotpRecord>,
    /// The addresses the user last signed in from, the latest first (at
    /// most [`KNOWN_SOURCES`]): an attempt from one of them passes the
    /// per-account slow-down (see `auth::attempts`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_sources: Vec<String>,
}

/// How many sign-in addresses a user's record remembers.
pub const KNOWN_SOURCES: usize = 8;

impl UserRecord {
    /// A new, enabled account, without two-factor login or known addresses.
    pub fn new(role: Role, password: PasswordHash, created_ms: u64) -> UserRecord {
        UserRecord {
            role,
            password,
            disabled: false,
            created_ms,
            totp: None,
            known_sources: Vec::new(),
        }
    }

    /// Whether the user signed in from `source` lately.
    pub fn knows_source(&self, source: std::net::IpAddr) -> bool {
        let source = source.to_canonical().to_string();
        self.known_sources.contains(&source)
    }

    /// Puts `source` first among the known addresses.
    pub fn remember_source(&mut self, source: std::net::IpAddr) {
        let source = source.to_canonical().to_string();
        self.known_sources.retain(|s| *s != source);
        self.known_sources.insert(0, source);
        self.known_sources.truncate(KNOWN_SOURCES);
    }
}

/// The user `username`, if it exists and is enabled: whom a session or
/// token may act for.
fn active_user(
    store: &crate::store::Store,
    username: &str,
) -> Result<Option<UserRecord>, crate::store::StoreError> {
    Ok(store
        .record::<UserRecord>(crate::store::Records::Users, username)?
        .filter(|u| !u.disabled))
}

/// A user's TOTP secret and recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TotpRecord {
    /// Base32; the code generator needs the secret itself.
    pub secret: String,
    /// False until a first code proved the app has the secret.
    pub confirmed: bool,
    /// The last time counter used, so a code works only once.
    pub last_counter: u64,
    /// SHA-256 of the unused recovery codes.
    pub recovery: Vec<crate::auth::SecretHash>,
}
