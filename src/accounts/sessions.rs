//! Sign-in sessions: login with username and password, the session behind
//! a cookie, logout. The token is 256 random bits, kept in the store only
//! as its SHA-256. A wrong password says only "wrong username or
//! password"; a wrong second factor says so (the right password is no
//! secret to whoever typed it, and `SecondFactorRequired` already tells).
//! Failures are audited and slow down with growing delays per source
//! address and per username.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use serde::{Deserialize, Serialize};

use super::UserRecord;

mod password_change;
use crate::auth::{
    Attempt, AttemptGuard, PasswordHash, Reservation, Role, Secret, SecretHash, SessionPolicy,
    SessionState, Username,
};
use crate::refusal::Refusal;
use crate::store::{AuditAction, AuditEntry, Outcome, Records, Store, StoreError};
pub use password_change::PasswordChangeError;

/// A session as the store keeps it (under the token's hash).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub username: String,
    pub created_ms: u64,
    pub last_seen_ms: u64,
    pub source: String,
    /// The browser, as a short label made from its User-Agent at sign-in
    /// (never the header itself); sessions stored before it have none.
    #[serde(default = "unknown_agent")]
    pub agent: String,
}

fn unknown_agent() -> String {
    "unknown".into()
}

/// A session as its owner sees it in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SessionView {
    pub id: String,
    pub current: bool,
    pub created_ms: u64,
    pub last_seen_ms: u64,
    pub source: String,
    pub agent: String,
}

/// Who is asking: the signed-in user behind a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Caller {
    pub username: String,
    pub role: Role,
    #[serde(skip)]
    pub session: SecretHash,
    pub created_ms: u64,
}

impl Caller {
    /// The audit entry of a change this caller made from `source` to
    /// `target`, recorded with the change itself (a refused change is
    /// audited with its own outcome, not through this).
    pub fn audit(&self, action: AuditAction, target: &str, source: IpAddr) -> AuditEntry {
        AuditEntry {
            actor: self.username.clone(),
            action,
            target: target.into(),
            source: source.to_canonical().to_string(),
            outcome: Outcome::Success,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("wrong username or password")]
    WrongCredentials,
    #[error("the second factor is needed: a code from the authenticator app or a recovery code")]
    SecondFactorRequired,
    /// The password was right; the code (or recovery code) was not.
    #[error("that code is not right; check the time on your phone, or use a recovery code")]
    WrongSecondFactor,
    #[error("too many failed attempts; try again in {} s", retry_after.as_secs().max(1))]
    Throttled { retry_after: Duration },
    #[error("must be at most {} characters", Username::MAX_LEN)]
    UsernameTooLong,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LoginError> for Refusal {
    fn from(e: LoginError) -> Refusal {
        match e {
            LoginError::WrongCredentials => Refusal::Unauthorized {
                code: "unauthorized",
                message: "wrong username or password".into(),
            },
            e @ LoginError::SecondFactorRequired => Refusal::Forbidden {
                code: "totp_required",
                message: e.to_string(),
            },
            e @ LoginError::WrongSecondFactor => Refusal::Unauthorized {
                code: "totp_wrong",
                message: e.to_string(),
            },
            e @ LoginError::Throttled { retry_after } => Refusal::TooMany {
                message: e.to_string(),
                retry_after: Some(retry_after),
            },
            e @ LoginError::UsernameTooLong => Refusal::invalid("username", e.to_string()),
            LoginError::Store(e) => e.into(),
        }
    }
}

/// A session's last-seen time is written at most this often: the idle
/// timeout is measured with this granularity, and requests do not each
/// cost a disk write.
const TOUCH_EVERY_MS: u64 = 60_000;

/// Whether looking a session up counts as using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionUse {
    /// A request made with the session: it keeps it from idling out.
    Touch,
    /// A check on behalf of an open event stream: a page left watching
    /// does not keep its session alive past the idle timeout.
    Check,
}

pub struct Sessions {
    store: Store,
    policy: SessionPolicy,
    attempts: Mutex<AttemptGuard>,
    hashing: Arc<Semaphore>,
}

/// Password hashes checked at once, at most (argon2 with 19 MiB each):
/// whatever arrives, sign-ins and password changes add at most
/// `HASHES_AT_ONCE` x 19 MiB to the daemon's memory.
pub const HASHES_AT_ONCE: usize = 2;

/// How long an attempt waits for a turn at the hash before it is told to
/// come back (503 with `Retry-After`).
const HASH_WAIT: Duration = Duration::from_secs(5);

/// A turn at checking a password: [`Sessions::login`] and
/// [`Sessions::change_password`] take one, so that no more than
/// [`HASHES_AT_ONCE`] hashes run.
pub struct HashTurn(#[allow(dead_code)] OwnedSemaphorePermit);

/// No turn came within the wait: too many password checks at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins at once; try again in {} s", retry_after.as_secs().max(1))]
pub struct Busy {
    pub retry_after: Duration,
}

impl From<Busy> for Refusal {
    fn from(e: Busy) -> Refusal {
        Refusal::Busy {
            message: e.to_string(),
            retry_after: e.retry_after,
        }
    }
}

fn audit(actor: &str, action: AuditAction, source: IpAddr, outcome: Outcome) -> AuditEntry {
    AuditEntry {
        actor: actor.chars().take(64).collect(),
        action,
        target: "session".into(),
        source: source.to_canonical().to_string(),
        outcome,
    }
}

impl Sessions {
    pub fn new(store: Store, policy: SessionPolicy) -> Sessions {
        Sessions {
            store,
            policy,
            attempts: Mutex::new(AttemptGuard::default()),
            hashing: Arc::new(Semaphore::new(HASHES_AT_ONCE)),
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    fn attempts(&self) -> std::sync::MutexGuard<'_, AttemptGuard> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits (a little) for a turn at checking a password.
    pub async fn hash_turn(&self) -> Result<HashTurn, Busy> {
        match tokio::time::timeout(HASH_WAIT, self.hashing.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(HashTurn(permit)),
            // The semaphore is never closed; a timeout is the busy case.
            _ => Err(Busy {
                retry_after: Duration::from_secs(1),
            }),
        }
    }

    /// A turn at checking a password if one is free now (for callers that
    /// cannot wait: the recovery console, tests).
    pub fn try_hash_turn(&self) -> Result<HashTurn, Busy> {
        self.hashing
            .clone()
            .try_acquire_owned()
            .map(HashTurn)
            .map_err(|_| Busy {
                retry_after: Duration::from_secs(1),
            })
    }

    /// Forgets the failed password attempts on `username` from everywhere
    /// (after the recovery console reset their password, the owner signs
    /// in at once).
    pub fn forgive(&self, username: &str) {
        self.attempts().forgive(username);
    }

    /// Lets a password attempt through (counted as failed until it
    /// succeeds), or says how long it must wait.
    fn reserve(&self, attempt: &Attempt, now_ms: u64) -> Result<Reservation, Duration> {
        self.attempts().reserve(attempt, now_ms)
    }

    fn succeeded(&self, reservation: Reservation) {
        self.attempts().succeeded(reservation);
    }

    /// Checks the password (argon2: call off the async threads, with a
    /// [`HashTurn`]) and opens a session. `agent` names the browser in the
    /// session list. Returns the token for the cookie.
    #[allow(clippy::too_many_arguments)]
    pub fn login(
        &self,
        _turn: &HashTurn,
        username: &str,
        password: &str,
        second_factor: Option<&str>,
        source: IpAddr,
        agent: &str,
        now_ms: u64,
    ) -> Result<(Secret, Caller), LoginError> {
        // No such user can exist: refused before it costs a hash or a
        // place in the throttle.
        if username.len() > Username::MAX_LEN {
            return Err(LoginError::UsernameTooLong);
        }
        let source = source.to_canonical();
        // Every way this sign-in ends is recorded as the same action.
        let entry = |outcome| audit(username, AuditAction::SessionLogin, source, outcome);
        let user: Option<UserRecord> = self.store.record(Records::Users, username)?;
        // An unknown or disabled user costs the same hash as a real one.
        let usable = user.filter(|u| !u.disabled);
        let vouched = usable.as_ref().is_some_and(|u| {
            u.knows_source(source)
                || second_factor.is_some_and(|code| {
                    u.totp.as_ref().is_some_and(|t| t.confirmed)
                        && super::two_factor::check_second_factor(u, code, now_ms / 1000).is_some()
                })
        });
        let attempt = Attempt {
            address: source,
            username,
            vouched,
        };
        let reservation = match self.reserve(&attempt, now_ms) {
            Ok(reservation) => reservation,
            Err(retry_after) => {
                // Counted in the address's record of the window: a flood
                // of refused attempts must not grow the log.
                self.store.audit_refused(entry(Outcome::Denied))?;
                return Err(LoginError::Throttled { retry_after });
            }
        };
        let hash = usable
            .as_ref()
            .map(|u| u.password.clone())
            .unwrap_or_else(PasswordHash::decoy);
        if !hash.verify(password) || usable.is_none() {
            // The reservation stays counted as the failure it was.
            self.store.audit(entry(Outcome::Failure))?;
            return Err(LoginError::WrongCredentials);
        }
        let mut user = usable.expect("checked above");
        // With two-factor login on, the password alone opens nothing.
        let mut used_factor = None;
        if user.totp.as_ref().is_some_and(|t| t.confirmed) {
            let Some(input) = second_factor else {
                // The right password: not a failure, and no session yet.
                self.succeeded(reservation);
                self.store.audit(entry(Outcome::Denied))?;
                return Err(LoginError::SecondFactorRequired);
            };
            match super::two_factor::check_second_factor(&user, input, now_ms / 1000) {
                Some(u) => {
                    user = u.clone();
                    used_factor = u.totp;
                }
                None => {
                    self.store.audit(entry(Outcome::Failure))?;
                    return Err(LoginError::WrongSecondFactor);
                }
            }
        }
        self.succeeded(reservation);
        let secret = Secret::generate();
        let record = SessionRecord {
            username: username.to_string(),
            created_ms: now_ms,
            last_seen_ms: now_ms,
            source: source.to_string(),
            agent: agent.to_string(),
        };
        let key = secret.hash();
        self.store.change(entry(Outcome::Success), |c| {
            // The user as it is now (an admin may have changed it while
            // the hash ran): the used code's counter or recovery code, and
            // this address among the known ones.
            if let Some(mut current) = c.record::<UserRecord>(Records::Users, username)? {
                if used_factor.is_some() {
                    current.totp = used_factor.clone();
                }
                current.remember_source(source);
                c.put_record(Records::Users, username, &current)?;
            }
            c.put_record(Records::Sessions, key.as_str(), &record)
        })?;
        Ok((
            secret,
            Caller {
                username: username.to_string(),
                role: user.role,
                session: key,
                created_ms: now_ms,
            },
        ))
    }

    /// The caller behind a session token, if the session is live and its
    /// user still exists and is enabled; a use of the session.
    pub fn authenticate(&self, token: &str, now_ms: u64) -> Result<Option<Caller>, StoreError> {
        self.lookup(token, now_ms, SessionUse::Touch)
    }

    /// The same answer as [`Sessions::authenticate`]; `how` says whether it
    /// counts as a use of the session.
    pub fn lookup(
        &self,
        token: &str,
        now_ms: u64,
        how: SessionUse,
    ) -> Result<Option<Caller>, StoreError> {
        let key = Secret::from_client(token).hash();
        let Some(mut record) = self
            .store
            .record::<SessionRecord>(Records::Sessions, key.as_str())?
        else {
            return Ok(None);
        };
        if self
            .policy
            .check(record.created_ms, record.last_seen_ms, now_ms)
            != SessionState::Valid
        {
            return Ok(None);
        }
        let Some(user) = super::active_user(&self.store, &record.username)? else {
            return Ok(None);
        };
        if how == SessionUse::Touch && now_ms.saturating_sub(record.last_seen_ms) >= TOUCH_EVERY_MS
        {
            record.last_seen_ms = now_ms;
            self.store
                .touch_record(Records::Sessions, key.as_str(), &record)?;
        }
        Ok(Some(Caller {
            username: record.username,
            role: user.role,
            session: key,
            created_ms: record.created_ms,
        }))
    }

    /// The caller's sessions, the current one marked. The id is the first
    /// 16 hex digits of the token's hash: enough to name it, useless to
    /// sign in with.
    pub fn list(&self, caller: &Caller, now_ms: u64) -> Result<Vec<SessionView>, StoreError> {
        let mut out: Vec<SessionView> = self
            .store
            .records::<SessionRecord>(Records::Sessions)?
            .into_iter()
            .filter(|(_, s)| s.username == caller.username)
            .filter(|(_, s)| {
                self.policy.check(s.created_ms, s.last_seen_ms, now_ms) == SessionState::Valid
            })
            .map(|(key, s)| SessionView {
                id: key[..16].to_string(),
                current: key == caller.session.as_str(),
                created_ms: s.created_ms,
                last_seen_ms: s.last_seen_ms,
                source: s.source,
                agent: s.agent,
            })
            .collect();
        out.sort_by_key(|s| s.created_ms);
        Ok(out)
    }

    /// Ends one of the caller's own sessions by id; `false` if none matched.
    pub fn revoke(&self, caller: &Caller, id: &str, source: IpAddr) -> Result<bool, StoreError> {
        if id.len() != 16 {
            return Ok(false);
        }
        let found = self
            .store
            .records::<SessionRecord>(Records::Sessions)?
            .into_iter()
            .find(|(key, s)| key.starts_with(id) && s.username == caller.username);
        let Some((key, _)) = found else {
            return Ok(false);
        };
        self.store.change(
            audit(
                &caller.username,
                AuditAction::SessionRevoke,
                source,
                Outcome::Success,
            ),
            |c| c.remove_record(Records::Sessions, &key),
        )
    }

    /// Ends the caller's session.
    pub fn logout(&self, caller: &Caller, source: IpAddr) -> Result<(), StoreError> {
        self.store.change(
            audit(
                &caller.username,
                AuditAction::SessionLogout,
                source,
                Outcome::Success,
            ),
            |c| {
                c.remove_record(Records::Sessions, caller.session.as_str())
                    .map(|_| ())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::NewPassword;
    use crate::auth::PasswordError;
    use crate::refusal::{Refusal, is_internal};

    const T0: u64 = 1_800_000_000_000;
    const PW: &str = "correct horse battery staple";
    const AGENT: &str = "Firefox 128 on Linux";

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    /// A sign-in with a turn at the hash, from the test's browser.
    fn sign_in(
        s: &Sessions,
        username: &str,
        password: &str,
        code: Option<&str>,
        from: IpAddr,
        at: u64,
    ) -> Result<(Secret, Caller), LoginError> {
        s.login(
            &s.try_hash_turn().unwrap(),
            username,
            password,
            code,
            from,
            AGENT,
            at,
        )
    }

    /// How many sign-ins the audit log records as failed.
    fn failed_logins(store: &Store) -> usize {
        store
            .audit_records(0, 100)
            .unwrap()
            .into_iter()
            .filter(|r| r.action == "session.login" && r.outcome == Outcome::Failure)
            .count()
    }

    /// Whether `token` is a live session at `at` (which keeps it alive).
    fn alive(s: &Sessions, token: &Secret, at: u64) -> bool {
        s.authenticate(token.expose(), at).unwrap().is_some()
    }

    fn fixture() -> (tempfile::TempDir, Store, Sessions) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = UserRecord::new(
            Role::Member,
            NewPassword::new(PW, "alice").unwrap().hash(),
            T0,
        );
        store
            .change(AuditEntry::system(AuditAction::UserCreate, "alice"), |c| {
                c.put_record(Records::Users, "alice", &user)
            })
            .unwrap();
        let sessions = Sessions::new(store.clone(), SessionPolicy::default());
        (dir, store, sessions)
    }

    #[test]
    fn login_authenticate_logout() {
        let (_d, store, s) = fixture();
        let (token, caller) = sign_in(&s, "alice", PW, None, ip(1), T0).unwrap();
        assert_eq!(caller.role, Role::Member);
        let who = s.authenticate(token.expose(), T0 + 1000).unwrap().unwrap();
        assert_eq!(who.username, "alice");
        // Stored only as a hash.
        let keys: Vec<String> = store
            .records::<SessionRecord>(Records::Sessions)
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![token.hash().as_str().to_string()]);
        assert_ne!(keys[0], token.expose());
        s.logout(&who, ip(1)).unwrap();
        assert!(!alive(&s, &token, T0 + 2000));
    }

    #[test]
    fn wrong_password_and_unknown_user_look_the_same() {
        let (_d, store, s) = fixture();
        let a = sign_in(&s, "alice", "wrong password here", None, ip(1), T0).unwrap_err();
        let b = sign_in(&s, "mallory", PW, None, ip(2), T0).unwrap_err();
        assert_eq!(a.to_string(), "wrong username or password");
        assert_eq!(a.to_string(), b.to_string());
        let failures = failed_logins(&store);
        assert_eq!(failures, 2);
    }

    #[test]
    fn repeated_failures_are_slowed_down() {
        let (_d, _store, s) = fixture();
        for i in 0..4 {
            assert!(matches!(
                sign_in(&s, "alice", "nope nope nope", None, ip(1), T0 + i),
                Err(LoginError::WrongCredentials)
            ));
        }
        // Even the right password waits now, from that address...
        assert!(matches!(
            sign_in(&s, "alice", PW, None, ip(1), T0 + 10),
            Err(LoginError::Throttled { .. })
        ));
        // The owner elsewhere is not held by one address's guesses.
        assert!(sign_in(&s, "alice", PW, None, ip(9), T0 + 10).is_ok());
        assert!(sign_in(&s, "alice", PW, None, ip(1), T0 + 5_000).is_ok());
    }

    #[test]
    fn guesses_from_many_addresses_hold_strangers_but_not_the_owner() {
        let (_d, store, s) = fixture();
        let login =
            |password: &str, from: u8, at: u64| sign_in(&s, "alice", password, None, ip(from), at);
        // alice signs in from ip(1): a known address from now on.
        assert!(login(PW, 1, T0).is_ok());
        let user: UserRecord = store.record(Records::Users, "alice").unwrap().unwrap();
        assert_eq!(user.known_sources, ["10.0.0.1"]);
        // One guess each from eleven addresses.
        for from in 100..=110 {
            assert!(matches!(
                login("nope nope nope", from, T0 + 1),
                Err(LoginError::WrongCredentials)
            ));
        }
        // A stranger, even with the right password, waits...
        assert!(matches!(
            login(PW, 200, T0 + 2),
            Err(LoginError::Throttled { .. })
        ));
        // ...the owner from a known address does not.
        assert!(login(PW, 1, T0 + 2).is_ok());
    }

    #[test]
    fn a_wrong_second_factor_says_so_and_counts_as_a_failure() {
        let (_d, store, s) = fixture();
        let mut user: UserRecord = store.record(Records::Users, "alice").unwrap().unwrap();
        let secret = crate::auth::totp::new_secret();
        user.totp = Some(super::super::TotpRecord {
            secret: crate::auth::totp::base32(&secret),
            confirmed: true,
            last_counter: 0,
            recovery: Vec::new(),
        });
        store
            .change(AuditEntry::system(AuditAction::TotpEnable, "alice"), |c| {
                c.put_record(Records::Users, "alice", &user)
            })
            .unwrap();
        assert!(matches!(
            sign_in(&s, "alice", PW, None, ip(1), T0),
            Err(LoginError::SecondFactorRequired)
        ));
        // Not a code of any time step near T0 (nor a recovery code).
        let err = sign_in(&s, "alice", PW, Some("not-a-code"), ip(1), T0).unwrap_err();
        assert!(matches!(err, LoginError::WrongSecondFactor));
        assert!(err.to_string().contains("not right"), "{err}");
        let failures = failed_logins(&store);
        assert_eq!(failures, 1);
        for i in 1..4 {
            let _ = sign_in(&s, "alice", PW, Some("000000x"), ip(1), T0 + i);
        }
        let err = sign_in(&s, "alice", PW, Some("000000x"), ip(1), T0 + 10).unwrap_err();
        assert!(matches!(err, LoginError::Throttled { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("too many failed attempts; try again in "),
            "{err}"
        );
    }

    #[test]
    fn the_list_names_each_sessions_browser() {
        let (_d, store, s) = fixture();
        let (token, caller) = sign_in(&s, "alice", PW, None, ip(1), T0).unwrap();
        // A session stored by an older hearth, without an agent.
        let old = r#"{"username":"alice","created_ms":1800000000000,"last_seen_ms":1800000000000,"source":"10.0.0.2"}"#;
        let old: SessionRecord = serde_json::from_str(old).unwrap();
        assert_eq!(old.agent, "unknown");
        store
            .change(
                AuditEntry::system(AuditAction::SessionLogin, "alice"),
                |c| c.put_record(Records::Sessions, &"0".repeat(64), &old),
            )
            .unwrap();
        let list = s.list(&caller, T0 + 1000).unwrap();
        assert_eq!(list.len(), 2);
        let current = list.iter().find(|v| v.current).unwrap();
        assert_eq!(current.agent, AGENT);
        assert!(current.id.len() == 16 && token.hash().as_str().starts_with(&current.id));
        let other = list.iter().find(|v| !v.current).unwrap();
        assert_eq!(other.agent, "unknown");
        assert_eq!(other.source, "10.0.0.2");
    }

    #[test]
    fn sessions_expire_idle_and_absolute() {
        let (_d, _store, s) = fixture();
        let (token, _) = sign_in(&s, "alice", PW, None, ip(1), T0).unwrap();
        let min = 60_000;
        assert!(alive(&s, &token, T0 + 29 * min));
        // Used at 29 min: alive until 29 + 30.
        assert!(alive(&s, &token, T0 + 58 * min));
        assert!(!alive(&s, &token, T0 + 89 * min));
        let (token, _) = sign_in(&s, "alice", PW, None, ip(1), T0).unwrap();
        let mut t = T0;
        while t < T0 + 12 * 60 * min - 20 * min {
            t += 20 * min;
            assert!(alive(&s, &token, t));
        }
        assert!(!alive(&s, &token, T0 + 12 * 60 * min));
    }

    #[test]
    fn verifying_a_session_does_not_keep_it_alive() {
        let (_d, _store, s) = fixture();
        let (token, _) = sign_in(&s, "alice", PW, None, ip(1), T0).unwrap();
        let min = 60_000;
        let caller = s
            .lookup(token.expose(), T0 + 29 * min, SessionUse::Check)
            .unwrap();
        assert_eq!(caller.map(|c| c.username).as_deref(), Some("alice"));
        // Checked at 29 min, but not used: idle since T0.
        assert!(
            s.lookup(token.expose(), T0 + 31 * min, SessionUse::Check)
                .unwrap()
                .is_none()
        );
        assert!(!alive(&s, &token, T0 + 31 * min));
    }

    #[test]
    fn login_errors_refuse_as_the_api_promises() {
        let minute = Duration::from_secs(60);
        assert_eq!(
            Refusal::from(LoginError::WrongCredentials),
            Refusal::Unauthorized {
                code: "unauthorized",
                message: "wrong username or password".into()
            }
        );
        assert!(matches!(
            Refusal::from(LoginError::SecondFactorRequired),
            Refusal::Forbidden {
                code: "totp_required",
                ..
            }
        ));
        assert!(matches!(
            Refusal::from(LoginError::WrongSecondFactor),
            Refusal::Unauthorized {
                code: "totp_wrong",
                ..
            }
        ));
        assert_eq!(
            Refusal::from(LoginError::Throttled {
                retry_after: minute
            }),
            Refusal::TooMany {
                message: "too many failed attempts; try again in 60 s".into(),
                retry_after: Some(minute)
            }
        );
        assert!(is_internal(LoginError::Store(StoreError::for_tests())));
        assert_eq!(
            Refusal::from(Busy {
                retry_after: minute
            }),
            Refusal::Busy {
                message: "too many sign-ins at once; try again in 60 s".into(),
                retry_after: minute
            }
        );
    }

    #[test]
    fn password_change_errors_refuse_as_the_api_promises() {
        let minute = Duration::from_secs(60);
        assert_eq!(
            Refusal::from(PasswordChangeError::WrongCurrent),
            Refusal::invalid("current_password", "is not your current password")
        );
        assert_eq!(
            Refusal::from(PasswordChangeError::Refused(
                PasswordError::ContainsUsername
            )),
            Refusal::invalid("new_password", "must not contain the username")
        );
        assert!(matches!(
            Refusal::from(PasswordChangeError::Throttled {
                retry_after: minute
            }),
            Refusal::TooMany { retry_after: Some(r), .. } if r == minute
        ));
        assert_eq!(
            Refusal::from(PasswordChangeError::NoAccount),
            Refusal::Unauthorized {
                code: "unauthorized",
                message: "sign in first".into()
            }
        );
        assert!(is_internal(PasswordChangeError::Store(
            StoreError::for_tests()
        )));
    }
}
