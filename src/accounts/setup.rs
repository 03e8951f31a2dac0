//! The first-boot setup: until it is finished the box is in setup mode.
//!
//! A one-time setup code is written to a root-only file (the console shows
//! it); whoever types it claims the box and gets a short-lived setup
//! session, with which the admin account, host name, time zone and an
//! optional domain are set, and setup is finished. The code never travels
//! over the network and is never logged. Wrong codes are rate-limited per
//! source address and, after [`MAX_WRONG`] in total, the code is replaced.
//!
//! Setup mode lives in the store (`setup.complete`), so a restart mid-setup
//! resumes it; the code file is reused across a daemon restart and made
//! anew after a reboot (it lives under /run).

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::Serialize;

use super::UserRecord;
use super::profile::{self, BoxProfile};
use crate::auth::{NewPassword, Role, Secret, SecretHash, SetupCode, Username};
use crate::fsutil::write_atomically;
use crate::names::{DomainName, Email, Hostname, TimeZone};
use crate::refusal::Refusal;
use crate::store::{AuditAction, AuditEntry, Outcome, Records, Store, StoreError};

/// Wrong codes in total before the code is replaced.
pub const MAX_WRONG: u32 = 10;
/// Claim attempts per source address per [`ATTEMPT_WINDOW`].
pub const MAX_ATTEMPTS: usize = 5;
pub const ATTEMPT_WINDOW: Duration = Duration::from_secs(60);
/// How long a setup session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(30 * 60);

const COMPLETE: &str = "setup.complete";
const ADMIN: &str = "setup.admin";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("setup is already complete")]
    Complete,
    #[error("wrong setup code")]
    WrongCode,
    #[error("too many attempts; wait a minute")]
    RateLimited,
    #[error("claim the box with the setup code first")]
    NotClaimed,
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("not ready to finish: {missing} is not set yet")]
    Incomplete { missing: &'static str },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the setup code file {path}")]
    CodeFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl From<SetupError> for Refusal {
    fn from(e: SetupError) -> Refusal {
        match e {
            SetupError::Complete => Refusal::Gone("setup is complete; sign in instead".into()),
            SetupError::WrongCode => Refusal::Forbidden {
                code: "wrong_setup_code",
                message: "wrong setup code".into(),
            },
            SetupError::RateLimited => Refusal::TooMany {
                message: "too many attempts; wait a minute".into(),
                retry_after: None,
            },
            SetupError::NotClaimed => Refusal::Unauthorized {
                code: "unauthorized",
                message: "claim the box with the setup code first".into(),
            },
            SetupError::Invalid { field, message } => Refusal::invalid(field, message),
            e @ SetupError::Incomplete { .. } => Refusal::Conflict(e.to_string()),
            e @ (SetupError::Store(_) | SetupError::CodeFile { .. }) => {
                Refusal::Internal(e.to_string())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SetupStep {
    Claim,
    Admin,
    Host,
    Domain,
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SetupStatus {
    pub complete: bool,
    /// Where a visitor with (or without) a setup session stands.
    pub step: SetupStep,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    /// What was entered so far (empty for a visitor who has not claimed).
    #[serde(flatten)]
    pub profile: BoxProfile,
}

struct Inner {
    code: Option<SetupCode>,
    wrong: u32,
    /// Setup sessions: secret hash → expiry (ms).
    sessions: HashMap<SecretHash, u64>,
    attempts: HashMap<IpAddr, VecDeque<u64>>,
}

pub struct Setup {
    store: Store,
    code_path: PathBuf,
    complete: AtomicBool,
    inner: Mutex<Inner>,
}

/// The audit record of an attempt to claim the box, by a visitor not
/// yet known.
fn claim_audit(source: IpAddr, outcome: Outcome) -> AuditEntry {
    AuditEntry {
        actor: "anonymous".into(),
        action: AuditAction::SetupClaim,
        target: "setup".into(),
        source: source.to_canonical().to_string(),
        outcome,
    }
}

/// The audit record of a setup step, done by whoever holds the claim.
fn step_audit(action: AuditAction, target: &str, source: IpAddr) -> AuditEntry {
    AuditEntry {
        actor: "setup".into(),
        action,
        target: target.into(),
        source: source.to_canonical().to_string(),
        outcome: Outcome::Success,
    }
}

fn invalid(field: &'static str, message: impl std::fmt::Display) -> SetupError {
    SetupError::Invalid {
        field,
        message: format!("{field} {message}"),
    }
}

impl Setup {
    /// Reads setup mode from the store; in setup mode, reuses the code in
    /// `code_path` or writes a new one there (mode 0600).
    pub fn open(store: Store, code_path: PathBuf) -> Result<Setup, SetupError> {
        let complete = store.setting(COMPLETE)?.is_some();
        if complete {
            // A box set up before the marker existed gets it now.
            store.mark_set_up()?;
        }
        let setup = Setup {
            store,
            code_path,
            complete: AtomicBool::new(complete),
            inner: Mutex::new(Inner {
                code: None,
                wrong: 0,
                sessions: HashMap::new(),
                attempts: HashMap::new(),
            }),
        };
        if !complete {
            let existing = std::fs::read_to_string(&setup.code_path)
                .ok()
                .and_then(|t| SetupCode::from_stored(t.trim()));
            let code = match existing {
                Some(code) => code,
                None => setup.write_new_code()?,
            };
            setup.lock().code = Some(code);
        }
        Ok(setup)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_new_code(&self) -> Result<SetupCode, SetupError> {
        let code = SetupCode::generate();
        if let Some(dir) = self.code_path.parent() {
            crate::fsutil::create_private_dir(dir).map_err(|source| SetupError::CodeFile {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        write_atomically(
            &self.code_path,
            format!("{}\n", code.display()).as_bytes(),
            0o600,
        )
        .map_err(|source| SetupError::CodeFile {
            path: self.code_path.clone(),
            source,
        })?;
        tracing::info!(file = %self.code_path.display(), "new setup code written (not logged)");
        Ok(code)
    }

    pub fn code_path(&self) -> &Path {
        &self.code_path
    }

    /// The current code, for the console and `make run` (never the network).
    pub fn code_for_console(&self) -> Option<String> {
        self.lock().code.as_ref().map(SetupCode::display)
    }

    pub fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    fn ensure_pending(&self) -> Result<(), SetupError> {
        if self.is_complete() {
            Err(SetupError::Complete)
        } else {
            Ok(())
        }
    }

    /// Whether `secret` is a live setup session.
    pub fn is_claimed(&self, secret: Option<&str>, now_ms: u64) -> bool {
        let Some(secret) = secret else { return false };
        let hash = Secret::from_client(secret).hash();
        let mut inner = self.lock();
        inner.sessions.retain(|_, expires| *expires > now_ms);
        inner.sessions.contains_key(&hash)
    }

    fn require_claim(&self, secret: Option<&str>, now_ms: u64) -> Result<(), SetupError> {
        self.ensure_pending()?;
        if self.is_claimed(secret, now_ms) {
            Ok(())
        } else {
            Err(SetupError::NotClaimed)
        }
    }

    pub fn status(&self, secret: Option<&str>, now_ms: u64) -> Result<SetupStatus, SetupError> {
        let complete = self.is_complete();
        let admin = self.store.setting(ADMIN)?;
        let profile = BoxProfile::read(&self.store)?;
        let step = if complete {
            SetupStep::Done
        } else if !self.is_claimed(secret, now_ms) {
            SetupStep::Claim
        } else if admin.is_none() {
            SetupStep::Admin
        } else if profile.hostname.is_none() {
            SetupStep::Host
        } else {
            SetupStep::Domain
        };
        // Only a claimed visitor sees what was entered so far.
        let show = step != SetupStep::Claim && !complete;
        Ok(SetupStatus {
            complete,
            step,
            admin: admin.filter(|_| show),
            profile: if show { profile } else { BoxProfile::default() },
        })
    }

    /// Checks a code typed by someone at `source`; on success returns the
    /// setup session secret (for the `__Host-hearth_setup` cookie).
    pub fn claim(&self, input: &str, source: IpAddr, now_ms: u64) -> Result<Secret, SetupError> {
        self.ensure_pending()?;
        let source = source.to_canonical();
        let mut inner = self.lock();
        let window = ATTEMPT_WINDOW.as_millis() as u64;
        let attempts = inner.attempts.entry(source).or_default();
        while attempts
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= window)
        {
            attempts.pop_front();
        }
        if attempts.len() >= MAX_ATTEMPTS {
            drop(inner);
            self.store
                .audit_refused(claim_audit(source, Outcome::Denied))?;
            return Err(SetupError::RateLimited);
        }
        attempts.push_back(now_ms);
        let right = inner.code.as_ref().is_some_and(|c| c.matches(input));
        if !right {
            inner.wrong += 1;
            let rotate = inner.wrong >= MAX_WRONG;
            if rotate {
                inner.wrong = 0;
                inner.code = Some(self.write_new_code()?);
                tracing::warn!("{MAX_WRONG} wrong setup codes: the code was replaced");
            }
            drop(inner);
            self.store.audit(claim_audit(source, Outcome::Failure))?;
            if rotate {
                self.store
                    .audit(AuditEntry::system(AuditAction::SetupCodeRotate, "setup"))?;
            }
            return Err(SetupError::WrongCode);
        }
        let secret = Secret::generate();
        inner
            .sessions
            .insert(secret.hash(), now_ms + SESSION_LIFETIME.as_millis() as u64);
        inner.attempts.remove(&source);
        drop(inner);
        self.store.audit(claim_audit(source, Outcome::Success))?;
        Ok(secret)
    }

    /// Step 2: the admin account (may be replaced until setup finishes).
    pub fn create_admin(
        &self,
        secret: Option<&str>,
        username: &str,
        password: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), SetupError> {
        self.require_claim(secret, now_ms)?;
        let username = Username::try_from(username).map_err(|e| invalid("username", e))?;
        let password =
            NewPassword::new(password, username.as_str()).map_err(|e| invalid("password", e))?;
        let record = UserRecord::new(Role::Admin, password.hash(), now_ms);
        self.store.change(
            step_audit(AuditAction::SetupAdmin, username.as_str(), source),
            |c| {
                if let Some(previous) = c.setting(ADMIN)?
                    && previous != username.as_str()
                {
                    c.remove_record(Records::Users, &previous)?;
                }
                c.put_record(Records::Users, username.as_str(), &record)?;
                c.set_setting(ADMIN, username.as_str())
            },
        )?;
        Ok(())
    }

    /// Step 3: host name and time zone (stored now, applied to the OS by a
    /// later part of hearth).
    pub fn set_host(
        &self,
        secret: Option<&str>,
        hostname: &str,
        timezone: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), SetupError> {
        self.require_claim(secret, now_ms)?;
        let hostname = Hostname::try_from(hostname).map_err(|e| invalid("hostname", e))?;
        let timezone = TimeZone::try_from(timezone).map_err(|e| invalid("timezone", e))?;
        self.store.change(
            step_audit(AuditAction::SetupHost, hostname.as_str(), source),
            |c| profile::write_host(c, &hostname, &timezone),
        )?;
        Ok(())
    }

    /// Step 4 (optional): a domain and a contact e-mail for certificates;
    /// empty values clear them.
    pub fn set_domain(
        &self,
        secret: Option<&str>,
        domain: Option<&str>,
        email: Option<&str>,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), SetupError> {
        self.require_claim(secret, now_ms)?;
        let domain = domain
            .filter(|d| !d.is_empty())
            .map(|d| DomainName::try_from(d).map_err(|e| invalid("domain", e)))
            .transpose()?;
        let email = email
            .filter(|e| !e.is_empty())
            .map(|e| Email::try_from(e).map_err(|e| invalid("email", e)))
            .transpose()?;
        if domain.is_some() && email.is_none() {
            return Err(invalid(
                "email",
                "is needed with a domain, for certificate notices",
            ));
        }
        let target = domain.as_ref().map(|d| d.to_string()).unwrap_or_default();
        self.store
            .change(step_audit(AuditAction::SetupDomain, &target, source), |c| {
                profile::write_domain(c, domain.as_ref(), email.as_ref())
            })?;
        Ok(())
    }

    /// Step 5: leaves setup mode for good; the code file is removed.
    pub fn finish(
        &self,
        secret: Option<&str>,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), SetupError> {
        self.require_claim(secret, now_ms)?;
        if self.store.setting(ADMIN)?.is_none() {
            return Err(SetupError::Incomplete {
                missing: "the admin account",
            });
        }
        if !BoxProfile::has_host(&self.store)? {
            return Err(SetupError::Incomplete {
                missing: "the host name",
            });
        }
        self.store
            .change(step_audit(AuditAction::SetupFinish, "setup", source), |c| {
                c.set_setting(COMPLETE, &now_ms.to_string())
            })?;
        self.complete.store(true, Ordering::Release);
        // The store holds it; the marker tells a later start that an
        // empty store is a loss, not a new box.
        self.store.mark_set_up()?;
        let mut inner = self.lock();
        inner.code = None;
        inner.sessions.clear();
        drop(inner);
        if let Err(e) = std::fs::remove_file(&self.code_path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.code_path.display(), error = %e, "cannot remove the setup code file");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
