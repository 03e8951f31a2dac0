//! The console's requests carried out on a [`Recovery`]: the same code
//! whether the daemon answers them on its control socket or the console
//! runs them itself on the store it opened.

use std::sync::Arc;

use super::protocol::{Answer, Ask, Request};
use crate::recovery::Recovery;

/// Carries out `ask`. `Status` has no answer here: only a running daemon
/// has one.
pub async fn carry_out(recovery: Arc<Recovery>, ask: Ask) -> Answer {
    let terminal = ask.terminal;
    match ask.request {
        Request::ResetFirewall => match recovery.reset_firewall(&terminal).await {
            Ok(()) => Answer::Done {
                message: "the boot-time firewall is in force".into(),
            },
            Err(e) => failed(&e),
        },
        request => tokio::task::spawn_blocking(move || blocking(&recovery, &terminal, request))
            .await
            .unwrap_or_else(|e| Answer::Failed {
                message: format!("the request failed: {e}"),
            }),
    }
}

fn blocking(recovery: &Recovery, terminal: &str, request: Request) -> Answer {
    let done = |message: &str| Answer::Done {
        message: message.into(),
    };
    match request {
        Request::Status => Answer::Failed {
            message: "hearth is not running".into(),
        },
        Request::Users => match recovery.users() {
            Ok(users) => Answer::Users { users },
            Err(e) => failed(&e),
        },
        Request::ResetPassword { username, password } => {
            match recovery.reset_password(&username, &password, terminal) {
                Ok(()) => done("password reset; two-factor login off; sessions ended"),
                Err(e) => failed(&e),
            }
        }
        Request::TurnOffTwoFactor { username } => {
            match recovery.turn_off_two_factor(&username, terminal) {
                Ok(()) => done("two-factor login off"),
                Err(e) => failed(&e),
            }
        }
        Request::NewCertificate => match recovery.new_certificate(terminal) {
            Ok(material) => done(&material.fingerprint),
            Err(e) => failed(&e),
        },
        Request::Record { what, outcome } => match recovery.record(what, terminal, outcome) {
            Ok(()) => done("recorded"),
            Err(e) => failed(&e),
        },
        Request::ShellAllowed => match recovery.shell_allowed() {
            Ok(allowed) => Answer::ShellAllowed { allowed },
            Err(e) => failed(&e),
        },
        // Carried out above, off the blocking pool.
        Request::ResetFirewall => Answer::Failed {
            message: "internal: the firewall reset is not a blocking request".into(),
        },
    }
}

/// A failure as the console shows it: the error and its causes.
pub fn failed(e: &dyn std::error::Error) -> Answer {
    Answer::Failed {
        message: crate::logging::chain(e),
    }
}
