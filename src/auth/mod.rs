//! Who may do what: validated usernames, password policy and hashing
//! (argon2id), roles and the permission matrix, session and API token
//! secrets, session lifetimes, and the first-boot setup code.
//!
//! Everything here is pure or local (random numbers, hashing); storing
//! users and sessions is the store's job, and the HTTP layer turns
//! requests into calls here. No secret is ever logged or put in an error
//! message: errors say which rule failed, never the value.

pub mod attempts;
pub mod password;
pub mod role;
pub mod session;
pub mod setup_code;
pub mod throttle;
pub mod token;
pub mod totp;
pub mod username;

pub use attempts::{Attempt, AttemptGuard, Reservation};
pub use password::{NewPassword, PasswordError, PasswordHash};
pub use role::{Action, Role, allowed};
pub use session::{SessionPolicy, SessionState};
pub use setup_code::SetupCode;
pub use throttle::{Throttle, ThrottleKey};
pub use token::{Secret, SecretHash};
pub use username::{Username, UsernameError};
