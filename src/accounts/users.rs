//! User management: create, list, change and delete accounts. Callers have
//! already been allowed by the permission matrix; this module keeps the
//! rules about the accounts themselves (valid names and passwords, and
//! never losing the last enabled admin). Every change is audited.

use std::net::IpAddr;

use serde::Serialize;

use super::{Caller, SessionRecord, UserRecord};
use crate::auth::{NewPassword, Role, Username};
use crate::store::{AuditAction, Change, Records, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("user {0} already exists")]
    Exists(String),
    #[error("no such user")]
    NotFound,
    #[error("the last enabled admin cannot be removed, disabled or demoted")]
    LastAdmin,
    /// A user's domains stay theirs until an admin removes or reassigns
    /// them: a domain owned by nobody would still be served.
    #[error("the user still owns the domains {}: remove them or give them to another user first", .0.join(", "))]
    OwnsDomains(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the API shows of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_ms: u64,
}

/// A change to an account; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct UserUpdate {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password: Option<String>,
}

/// Removes every session of `username`.
fn end_sessions(c: &mut Change<'_>, username: &str) -> Result<(), StoreError> {
    for (key, s) in c.records::<SessionRecord>(Records::Sessions)? {
        if s.username == username {
            c.remove_record(Records::Sessions, &key)?;
        }
    }
    Ok(())
}

fn invalid(field: &'static str, e: impl std::fmt::Display) -> UserError {
    UserError::Invalid {
        field,
        message: format!("{field} {e}"),
    }
}

/// Enabled admins other than `except`, as the change sees them.
fn other_admins(c: &Change<'_>, except: &str) -> Result<usize, StoreError> {
    Ok(c.records::<UserRecord>(Records::Users)?
        .into_iter()
        .filter(|(name, u)| name != except && u.role == Role::Admin && !u.disabled)
        .count())
}

/// Sets `username`'s password to `hash`, turns their two-factor login
/// off and ends their sessions, in one transaction recorded as `entry`
/// (the recovery console's reset: for an owner who lost their password or
/// their second factor). `NotFound` for no such user.
pub fn reset_password(
    store: &Store,
    username: &str,
    hash: crate::auth::PasswordHash,
    entry: crate::store::AuditEntry,
) -> Result<(), UserError> {
    store.change(entry, |c| {
        let Some(mut user) = c.record::<UserRecord>(Records::Users, username)? else {
            return Err(UserError::NotFound);
        };
        user.password = hash;
        user.totp = None;
        end_sessions(c, username)?;
        c.put_record(Records::Users, username, &user)?;
        Ok(())
    })
}

pub struct Users {
    store: Store,
}

impl Users {
    pub fn new(store: Store) -> Users {
        Users { store }
    }

    pub fn list(&self) -> Result<Vec<UserView>, StoreError> {
        Ok(self
            .store
            .records::<UserRecord>(Records::Users)?
            .into_iter()
            .map(|(username, u)| UserView {
                username,
                role: u.role,
                disabled: u.disabled,
                created_ms: u.created_ms,
            })
            .collect())
    }

    pub fn create(
        &self,
        caller: &Caller,
        username: &str,
        password: &str,
        role: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<UserView, UserError> {
        let username = Username::try_from(username).map_err(|e| invalid("username", e))?;
        let role = Role::try_from(role).map_err(|e| invalid("role", e))?;
        let password =
            NewPassword::new(password, username.as_str()).map_err(|e| invalid("password", e))?;
        let record = UserRecord {
            role,
            password: password.hash(),
            disabled: false,
            created_ms: now_ms,
            totp: None,
        };
        self.store.change(
            caller.audit(AuditAction::UserCreate, username.as_str(), source),
            |c| {
                if c.record::<UserRecord>(Records::Users, username.as_str())?
                    .is_some()
                {
                    return Err(UserError::Exists(username.to_string()));
                }
                c.put_record(Records::Users, username.as_str(), &record)?;
                Ok(())
            },
        )?;
        Ok(UserView {
            username: username.to_string(),
            role,
            disabled: false,
            created_ms: now_ms,
        })
    }

    pub fn update(
        &self,
        caller: &Caller,
        username: &str,
        update: UserUpdate,
        source: IpAddr,
    ) -> Result<UserView, UserError> {
        // One's own password changes only with the current one (and its
        // throttle): a session left open must not be enough to take the
        // account.
        if update.password.is_some() && username == caller.username {
            return Err(UserError::Invalid {
                field: "password",
                message: "change your own password with your current one, at POST /api/v1/session/password".into(),
            });
        }
        let password = update
            .password
            .as_deref()
            .map(|p| NewPassword::new(p, username).map_err(|e| invalid("password", e)))
            .transpose()?
            .map(|p| p.hash());
        self.store.change(
            caller.audit(AuditAction::UserUpdate, username, source),
            |c| {
                let Some(mut user) = c.record::<UserRecord>(Records::Users, username)? else {
                    return Err(UserError::NotFound);
                };
                let loses_admin = user.role == Role::Admin
                    && !user.disabled
                    && (update.role.is_some_and(|r| r != Role::Admin)
                        || update.disabled == Some(true));
                if loses_admin && other_admins(c, username)? == 0 {
                    return Err(UserError::LastAdmin);
                }
                if let Some(role) = update.role {
                    user.role = role;
                }
                if let Some(disabled) = update.disabled {
                    user.disabled = disabled;
                }
                if let Some(hash) = password {
                    user.password = hash;
                    // A reset password is for someone who lost theirs, or
                    // lost a device: nobody stays signed in with the old one.
                    end_sessions(c, username)?;
                }
                c.put_record(Records::Users, username, &user)?;
                Ok(UserView {
                    username: username.to_string(),
                    role: user.role,
                    disabled: user.disabled,
                    created_ms: user.created_ms,
                })
            },
        )
    }

    /// Deletes the account, ends its sessions and revokes its tokens.
    pub fn delete(&self, caller: &Caller, username: &str, source: IpAddr) -> Result<(), UserError> {
        self.store.change(
            caller.audit(AuditAction::UserDelete, username, source),
            |c| {
                let Some(user) = c.record::<UserRecord>(Records::Users, username)? else {
                    return Err(UserError::NotFound);
                };
                if user.role == Role::Admin && !user.disabled && other_admins(c, username)? == 0 {
                    return Err(UserError::LastAdmin);
                }
                // The records belong to `proxy`; only their owner is read.
                let owned: Vec<String> = c
                    .records::<serde_json::Value>(Records::Domains)?
                    .into_iter()
                    .filter(|(_, d)| d.get("owner").and_then(|o| o.as_str()) == Some(username))
                    .map(|(name, _)| name)
                    .collect();
                if !owned.is_empty() {
                    return Err(UserError::OwnsDomains(owned));
                }
                c.remove_record(Records::Users, username)?;
                end_sessions(c, username)?;
                for (key, t) in c.records::<super::TokenRecord>(Records::Tokens)? {
                    if t.username == username {
                        c.remove_record(Records::Tokens, &key)?;
                    }
                }
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SecretHash;

    const PW: &str = "correct horse battery staple";
    const T0: u64 = 1_800_000_000_000;

    fn admin() -> Caller {
        Caller {
            username: "root-admin".into(),
            role: Role::Admin,
            session: SecretHash::default(),
            created_ms: T0,
        }
    }

    fn ip() -> IpAddr {
        IpAddr::from([10, 0, 0, 1])
    }

    #[test]
    fn create_update_delete_with_one_audit_record_each() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let users = Users::new(store.clone());
        let a = admin();
        users.create(&a, "boss", PW, "admin", ip(), T0).unwrap();
        users.create(&a, "kid", PW, "member", ip(), T0).unwrap();
        assert!(matches!(
            users.create(&a, "kid", PW, "viewer", ip(), T0),
            Err(UserError::Exists(_))
        ));
        assert!(matches!(
            users.create(&a, "x", "short", "viewer", ip(), T0),
            Err(UserError::Invalid {
                field: "password",
                ..
            })
        ));
        assert!(matches!(
            users.create(&a, "y", PW, "root", ip(), T0),
            Err(UserError::Invalid { field: "role", .. })
        ));
        let v = users
            .update(
                &a,
                "kid",
                UserUpdate {
                    role: Some(Role::Viewer),
                    ..UserUpdate::default()
                },
                ip(),
            )
            .unwrap();
        assert_eq!(v.role, Role::Viewer);
        assert!(matches!(
            users.update(&a, "ghost", UserUpdate::default(), ip()),
            Err(UserError::NotFound)
        ));
        users.delete(&a, "kid", ip()).unwrap();
        let names: Vec<String> = users
            .list()
            .unwrap()
            .into_iter()
            .map(|u| u.username)
            .collect();
        assert_eq!(names, vec!["boss"]);
        let actions: Vec<String> = store.audit_actions(100).unwrap();
        // Refused changes leave no record claiming success.
        assert_eq!(
            actions,
            vec!["user.create", "user.create", "user.update", "user.delete"]
        );
    }

    #[test]
    fn the_last_admin_stays() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let users = Users::new(store);
        let a = admin();
        users.create(&a, "boss", PW, "admin", ip(), T0).unwrap();
        assert!(matches!(
            users.delete(&a, "boss", ip()),
            Err(UserError::LastAdmin)
        ));
        let demote = UserUpdate {
            role: Some(Role::Member),
            ..UserUpdate::default()
        };
        assert!(matches!(
            users.update(&a, "boss", demote, ip()),
            Err(UserError::LastAdmin)
        ));
        let disable = UserUpdate {
            disabled: Some(true),
            ..UserUpdate::default()
        };
        assert!(matches!(
            users.update(&a, "boss", disable, ip()),
            Err(UserError::LastAdmin)
        ));
        users.create(&a, "second", PW, "admin", ip(), T0).unwrap();
        users.delete(&a, "boss", ip()).unwrap();
    }
}
