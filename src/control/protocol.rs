//! What the console may ask the daemon, and what it answers: one JSON
//! line each way. Passwords travel only over this root-only socket and
//! are never echoed back or logged.

use serde::{Deserialize, Serialize};

use crate::recovery::{ConsoleUser, Recorded};
use crate::store::Outcome;

/// At most this long a request line may be.
pub const MAX_LINE: usize = 4096;

/// A request and the terminal it comes from (the audit records' source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    pub terminal: String,
    pub request: Request,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// The daemon's health and whether the box is set up.
    Status,
    Users,
    ResetPassword {
        username: String,
        password: String,
    },
    TurnOffTwoFactor {
        username: String,
    },
    ResetFirewall,
    NewCertificate,
    /// Records something the console did itself.
    Record {
        what: Recorded,
        outcome: Outcome,
    },
    ShellAllowed,
}

impl std::fmt::Debug for Request {
    /// Never the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::ResetPassword { username, .. } => f
                .debug_struct("ResetPassword")
                .field("username", username)
                .finish_non_exhaustive(),
            Request::Status => f.write_str("Status"),
            Request::Users => f.write_str("Users"),
            Request::TurnOffTwoFactor { username } => f
                .debug_struct("TurnOffTwoFactor")
                .field("username", username)
                .finish(),
            Request::ResetFirewall => f.write_str("ResetFirewall"),
            Request::NewCertificate => f.write_str("NewCertificate"),
            Request::Record { what, outcome } => f
                .debug_struct("Record")
                .field("what", what)
                .field("outcome", outcome)
                .finish(),
            Request::ShellAllowed => f.write_str("ShellAllowed"),
        }
    }
}

/// One component's health, as the banner shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthLine {
    pub component: String,
    pub state: String,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    Status {
        setup_complete: bool,
        /// The port hearth's HTTPS listener is bound to.
        https_port: u16,
        /// The SHA-256 of the certificate served now.
        fingerprint: Option<String>,
        health: Vec<HealthLine>,
    },
    Users {
        users: Vec<ConsoleUser>,
    },
    /// Done; `message` says what (e.g. the new fingerprint).
    Done {
        message: String,
    },
    ShellAllowed {
        allowed: bool,
    },
    /// Not done, and why (a bad request, no such user, a weak password).
    Failed {
        message: String,
    },
    /// Not root.
    Refused {
        message: String,
    },
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_read_as_written_and_the_password_is_not_in_debug() {
        let ask = Ask {
            terminal: "ttyS0".into(),
            request: Request::ResetPassword {
                username: "ann".into(),
                password: "very secret words here".into(),
            },
        };
        let line = serde_json::to_string(&ask).unwrap();
        assert_eq!(
            line,
            r#"{"terminal":"ttyS0","request":{"do":"reset_password","username":"ann","password":"very secret words here"}}"#
        );
        assert_eq!(serde_json::from_str::<Ask>(&line).unwrap(), ask);
        assert!(!format!("{ask:?}").contains("secret"));
        let record =
            r#"{"terminal":"tty1","request":{"do":"record","what":"reboot","outcome":"success"}}"#;
        assert!(serde_json::from_str::<Ask>(record).is_ok());
        for bad in [
            r#"{"terminal":"tty1","request":{"do":"format_disk"}}"#,
            r#"{"terminal":"tty1","request":{"do":"turn_off_two_factor","username":"a","extra":1}}"#,
            r#"{"request":{"do":"status"}}"#,
        ] {
            assert!(serde_json::from_str::<Ask>(bad).is_err(), "{bad}");
        }
    }
}
