//! A user changing their own password: the current one is checked first
//! (under the sign-in throttle, so a left-open session cannot be used to
//! guess it), and every other session of the user ends, since changing
//! the password is what one does after losing a device.

use std::net::IpAddr;
use std::time::Duration;

use super::{Caller, HashTurn, Sessions};
use crate::accounts::{SessionRecord, UserRecord};
use crate::auth::{Attempt, NewPassword, PasswordError};
use crate::refusal::Refusal;
use crate::store::{AuditAction, AuditEntry, Outcome, Records, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("is not your current password")]
    WrongCurrent,
    /// The new password was refused (too short, too weak, ...).
    #[error(transparent)]
    Refused(#[from] PasswordError),
    #[error("too many failed attempts; try again in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error("the account no longer exists or is disabled")]
    NoAccount,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasswordChangeError> for Refusal {
    fn from(e: PasswordChangeError) -> Refusal {
        match e {
            e @ PasswordChangeError::WrongCurrent => {
                Refusal::invalid("current_password", e.to_string())
            }
            e @ PasswordChangeError::Refused(_) => Refusal::invalid("new_password", e.to_string()),
            e @ PasswordChangeError::Throttled { retry_after } => Refusal::TooMany {
                message: e.to_string(),
                retry_after: Some(retry_after),
            },
            PasswordChangeError::NoAccount => Refusal::Unauthorized {
                code: "unauthorized",
                message: "sign in first".into(),
            },
            PasswordChangeError::Store(e) => e.into(),
        }
    }
}

impl Sessions {
    /// Replaces `caller`'s password (argon2 twice: call off the async
    /// threads). The caller's own session stays open; the others end.
    pub fn change_password(
        &self,
        _turn: &HashTurn,
        caller: &Caller,
        current: &str,
        new: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), PasswordChangeError> {
        let source = source.to_canonical();
        let username = caller.username.as_str();
        // A signed-in caller is not held by the account's slow-down; the
        // counts per address still apply.
        let attempt = Attempt {
            address: source,
            username,
            vouched: true,
        };
        let reservation = match self.reserve(&attempt, now_ms) {
            Ok(reservation) => reservation,
            Err(retry_after) => {
                self.store
                    .audit_refused(entry(username, source, Outcome::Denied))?;
                return Err(PasswordChangeError::Throttled { retry_after });
            }
        };
        let user: Option<UserRecord> = self.store.record(Records::Users, username)?;
        let Some(user) = user.filter(|u| !u.disabled) else {
            self.succeeded(reservation);
            return Err(PasswordChangeError::NoAccount);
        };
        if !user.password.verify(current) {
            self.store
                .audit(entry(username, source, Outcome::Failure))?;
            return Err(PasswordChangeError::WrongCurrent);
        }
        self.succeeded(reservation);
        let hash = NewPassword::new(new, username)?.hash();
        self.store
            .change(entry(username, source, Outcome::Success), |c| {
                let Some(mut user) = c.record::<UserRecord>(Records::Users, username)? else {
                    return Err(PasswordChangeError::NoAccount);
                };
                user.password = hash;
                c.put_record(Records::Users, username, &user)?;
                for (key, s) in c.records::<SessionRecord>(Records::Sessions)? {
                    if s.username == username && key != caller.session.as_str() {
                        c.remove_record(Records::Sessions, &key)?;
                    }
                }
                Ok(())
            })
    }
}

fn entry(username: &str, source: IpAddr, outcome: Outcome) -> AuditEntry {
    AuditEntry {
        actor: username.into(),
        action: AuditAction::UserPassword,
        target: username.into(),
        source: source.to_string(),
        outcome,
    }
}
