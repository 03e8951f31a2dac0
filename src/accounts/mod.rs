//! Accounts and the first-boot setup: the service layer between the HTTP
//! handlers and the store. It owns the user record, the setup flow and its
//! claim code, and writes every change with its audit record.

mod sessions;
mod settings;
mod setup;
mod tokens;
mod users;

pub use sessions::{Caller, LoginError, SessionRecord, SessionView, Sessions};
pub use settings::{BoxSettings, SettingsView};
pub use setup::{
    SESSION_LIFETIME as SETUP_SESSION_LIFETIME, Setup, SetupError, SetupStatus, SetupStep,
};
pub use tokens::{TokenError, TokenRecord, Tokens};
pub use users::{UserError, UserUpdate, UserView, Users};

use serde::{Deserialize, Serialize};

use crate::auth::{PasswordHash, Role};

/// A user as the store keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub role: Role,
    pub password: PasswordHash,
    pub disabled: bool,
    pub created_ms: u64,
}
