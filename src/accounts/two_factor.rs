//! Two-factor login with TOTP: enrol (a new secret, shown once as a QR
//! code and text), confirm with a first code (which also hands out ten
//! one-time recovery codes), check at login, and turn off.

use std::net::IpAddr;

use serde::Serialize;

use super::{Caller, TotpRecord, UserRecord};
use crate::auth::{Secret, totp};
use crate::refusal::Refusal;
use crate::store::{AuditAction, AuditEntry, Records, Store, StoreError};

pub const RECOVERY_CODES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    #[error("start the enrolment first")]
    NotEnrolling,
    #[error("two-factor login is already on; turn it off first")]
    AlreadyOn,
    #[error("wrong code")]
    WrongCode,
    #[error("no such user")]
    NoUser,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TwoFactorError> for Refusal {
    fn from(e: TwoFactorError) -> Refusal {
        match e {
            e @ (TwoFactorError::NotEnrolling | TwoFactorError::AlreadyOn) => {
                Refusal::Conflict(e.to_string())
            }
            TwoFactorError::WrongCode => {
                Refusal::invalid("code", "wrong code; check the time on your phone")
            }
            TwoFactorError::NoUser => Refusal::NotFound,
            TwoFactorError::Store(e) => e.into(),
        }
    }
}

/// What the enrolment page shows, once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Enrolment {
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

pub struct TwoFactor {
    store: Store,
}

/// Two-factor changes are made by a user to their own account.
fn audit(caller: &Caller, action: AuditAction, source: IpAddr) -> AuditEntry {
    caller.audit(action, &caller.username, source)
}

/// A recovery code: 10 characters of base32 in two groups, easy to type.
fn recovery_code() -> String {
    let s = totp::base32(&crate::auth::token::random_bytes::<7>());
    format!("{}-{}", &s[..5], &s[5..10]).to_lowercase()
}

fn recovery_hash(code: &str) -> crate::auth::SecretHash {
    Secret::from_client(&code.trim().to_lowercase().replace(' ', "")).hash()
}

impl TwoFactor {
    pub fn new(store: Store) -> TwoFactor {
        TwoFactor { store }
    }

    /// Starts (or restarts) enrolment for the caller.
    pub fn begin(
        &self,
        caller: &Caller,
        issuer: &str,
        source: IpAddr,
    ) -> Result<Enrolment, TwoFactorError> {
        let secret = totp::base32(&totp::new_secret());
        let uri = totp::otpauth_uri(issuer, &caller.username, &secret);
        self.store
            .change(audit(caller, AuditAction::TotpBegin, source), |c| {
                let mut user: UserRecord = c
                    .record(Records::Users, &caller.username)?
                    .ok_or(TwoFactorError::NoUser)?;
                if user.totp.as_ref().is_some_and(|t| t.confirmed) {
                    return Err(TwoFactorError::AlreadyOn);
                }
                user.totp = Some(TotpRecord {
                    secret: secret.clone(),
                    confirmed: false,
                    last_counter: 0,
                    recovery: Vec::new(),
                });
                c.put_record(Records::Users, &caller.username, &user)?;
                Ok(())
            })?;
        Ok(Enrolment {
            qr_svg: totp::qr_svg(&uri),
            secret,
            uri,
        })
    }

    /// Confirms enrolment with a first code; returns the recovery codes.
    pub fn confirm(
        &self,
        caller: &Caller,
        code: &str,
        source: IpAddr,
        unix_s: u64,
    ) -> Result<Vec<String>, TwoFactorError> {
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
        self.store
            .change(audit(caller, AuditAction::TotpEnable, source), |c| {
                let mut user: UserRecord = c
                    .record(Records::Users, &caller.username)?
                    .ok_or(TwoFactorError::NoUser)?;
                let Some(t) = user.totp.as_mut().filter(|t| !t.confirmed) else {
                    return Err(TwoFactorError::NotEnrolling);
                };
                let secret = totp::base32_decode(&t.secret).ok_or(TwoFactorError::NotEnrolling)?;
                let counter =
                    totp::verify(&secret, code, unix_s, 0).ok_or(TwoFactorError::WrongCode)?;
                t.confirmed = true;
                t.last_counter = counter;
                t.recovery = codes.iter().map(|c| recovery_hash(c)).collect();
                c.put_record(Records::Users, &caller.username, &user)?;
                Ok(())
            })?;
        Ok(codes)
    }

    /// Whether `username` has two-factor login on (confirmed, not only
    /// begun); `false` for no such user.
    pub fn is_on(&self, username: &str) -> Result<bool, StoreError> {
        Ok(self
            .store
            .record::<UserRecord>(Records::Users, username)?
            .and_then(|u| u.totp)
            .is_some_and(|t| t.confirmed))
    }

    /// Turns two-factor login off for the caller.
    pub fn disable(&self, caller: &Caller, source: IpAddr) -> Result<(), TwoFactorError> {
        self.store
            .change(audit(caller, AuditAction::TotpDisable, source), |c| {
                let mut user: UserRecord = c
                    .record(Records::Users, &caller.username)?
                    .ok_or(TwoFactorError::NoUser)?;
                user.totp = None;
                c.put_record(Records::Users, &caller.username, &user)?;
                Ok(())
            })
    }
}

/// Turns `username`'s two-factor login off (the recovery console's; a
/// user turns their own off with [`TwoFactor::disable`]), recorded as
/// `entry`. Their password and sessions stay.
pub fn turn_off(store: &Store, username: &str, entry: AuditEntry) -> Result<(), TwoFactorError> {
    store.change(entry, |c| {
        let mut user: UserRecord = c
            .record(Records::Users, username)?
            .ok_or(TwoFactorError::NoUser)?;
        user.totp = None;
        c.put_record(Records::Users, username, &user)?;
        Ok(())
    })
}

/// Checks a login's second factor against `user` (a TOTP code, or a
/// recovery code, which is then used up). Returns the updated record to
/// store, or `None` if the factor is wrong.
pub fn check_second_factor(user: &UserRecord, input: &str, unix_s: u64) -> Option<UserRecord> {
    let t = user.totp.as_ref().filter(|t| t.confirmed)?;
    let mut updated = user.clone();
    let ut = updated.totp.as_mut().expect("present above");
    if let Some(secret) = totp::base32_decode(&t.secret)
        && let Some(counter) = totp::verify(&secret, input, unix_s, t.last_counter)
    {
        ut.last_counter = counter;
        return Some(updated);
    }
    let hash = recovery_hash(input);
    let before = ut.recovery.len();
    ut.recovery.retain(|h| *h != hash);
    (ut.recovery.len() < before).then_some(updated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{NewPassword, Role, SecretHash};
    use crate::refusal::{Refusal, assert_refuses, is_internal};

    const NOW: u64 = 1_800_000_000;

    fn user_with_totp() -> (UserRecord, Vec<u8>) {
        let secret = totp::new_secret();
        let password = NewPassword::new("correct horse battery staple", "u").unwrap();
        let user = UserRecord {
            totp: Some(TotpRecord {
                secret: totp::base32(&secret),
                confirmed: true,
                last_counter: 0,
                recovery: vec![recovery_hash("abcde-fghij")],
            }),
            ..UserRecord::new(Role::Viewer, password.hash(), 0)
        };
        (user, secret)
    }

    #[test]
    fn on_only_once_confirmed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let put = |user: &UserRecord| {
            store
                .change(AuditEntry::system(AuditAction::UserUpdate, "u"), |c| {
                    c.put_record(Records::Users, "u", user)
                })
                .unwrap()
        };
        let (mut user, _) = user_with_totp();
        user.totp.as_mut().unwrap().confirmed = false;
        put(&user);
        let two_factor = TwoFactor::new(store.clone());
        assert!(!two_factor.is_on("u").unwrap(), "begun is not on");
        assert!(!two_factor.is_on("nobody").unwrap());
        user.totp.as_mut().unwrap().confirmed = true;
        put(&user);
        assert!(two_factor.is_on("u").unwrap());
    }

    #[test]
    fn codes_work_once_and_recovery_codes_are_used_up() {
        let (user, secret) = user_with_totp();
        let code = totp::hotp(&secret, NOW / totp::STEP_S, totp::DIGITS);
        let after = check_second_factor(&user, &code, NOW).expect("right code");
        assert!(
            check_second_factor(&after, &code, NOW).is_none(),
            "no replay"
        );
        assert!(check_second_factor(&user, "000000", NOW).is_none() || code == "000000");
        let used = check_second_factor(&user, "ABCDE-FGHIJ", NOW).expect("recovery code");
        assert!(used.totp.as_ref().unwrap().recovery.is_empty());
        assert!(
            check_second_factor(&used, "abcde-fghij", NOW).is_none(),
            "only once"
        );
        let _ = SecretHash::default();
    }

    #[test]
    fn two_factor_errors_refuse_as_the_api_promises() {
        assert_refuses([
            (
                TwoFactorError::NotEnrolling,
                Refusal::Conflict("start the enrolment first".into()),
            ),
            (
                TwoFactorError::AlreadyOn,
                Refusal::Conflict("two-factor login is already on; turn it off first".into()),
            ),
            (
                TwoFactorError::WrongCode,
                Refusal::invalid("code", "wrong code; check the time on your phone"),
            ),
            (TwoFactorError::NoUser, Refusal::NotFound),
        ]);
        assert!(is_internal(TwoFactorError::Store(StoreError::for_tests())));
    }
}
