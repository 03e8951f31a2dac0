//! User management: create, list, change and delete accounts. Callers have
//! already been allowed by the permission matrix; this module keeps the
//! rules about the accounts themselves (valid names and passwords, and
//! never losing the last enabled admin). Every change is audited.
//!
//! A user's credentials go with their standing: disabling a user, making
//! them a viewer or deleting them revokes their servers' client
//! certificates in the same transaction, each revocation audited. A user
//! who still owns domains or servers is not deleted: what they own would
//! outlive them with nobody to answer for it.

use std::net::IpAddr;

use serde::Serialize;

use super::{Caller, SessionRecord, UserRecord};
use crate::auth::{NewPassword, Role, Username};
use crate::refusal::Refusal;
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
    /// A server keeps running (and keeps its data) until it is deleted;
    /// one owned by nobody would have nobody to stop it.
    #[error("the user still owns the servers {}: delete them first", .0.join(", "))]
    OwnsServers(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<UserError> for Refusal {
    fn from(e: UserError) -> Refusal {
        match e {
            UserError::Invalid { field, message } => Refusal::invalid(field, message),
            e @ (UserError::Exists(_)
            | UserError::LastAdmin
            | UserError::OwnsDomains(_)
            | UserError::OwnsServers(_)) => Refusal::Conflict(e.to_string()),
            UserError::NotFound => Refusal::NotFound,
            UserError::Store(e) => e.into(),
        }
    }
}

/// What the API shows of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
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

/// Revokes every client certificate of `username` inside `c`, each with
/// its own `server.cert_revoke` record by the caller, written with the
/// change.
fn revoke_certificates(
    c: &mut Change<'_>,
    caller: &Caller,
    username: &str,
    source: IpAddr,
    now_ms: u64,
) -> Result<(), StoreError> {
    for cert in super::certs::revoke_all_of(c, username, now_ms)? {
        c.also_audit(caller.audit(AuditAction::ServerCertRevoke, &cert.id, source));
    }
    Ok(())
}

/// The names of what `username` owns in `table`, whose records belong to
/// another module (`proxy`, `servers`): only their `owner` and the
/// field `name_field` (or the key, for `None`) are read.
fn owned_in(
    c: &Change<'_>,
    table: Records,
    username: &str,
    name_field: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    Ok(c.records::<serde_json::Value>(table)?
        .into_iter()
        .filter(|(_, r)| r.get("owner").and_then(|o| o.as_str()) == Some(username))
        .map(|(key, r)| match name_field {
            Some(field) => r
                .get(field)
                .and_then(|n| n.as_str())
                .map_or(key, str::to_string),
            None => key,
        })
        .collect())
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
        let record = UserRecord::new(role, password.hash(), now_ms);
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
        now_ms: u64,
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
                // Revoked for good: enabled or promoted again, the user
                // makes a new certificate, so that one that leaked while
                // they were out does not come back with them.
                if update.disabled == Some(true) || update.role == Some(Role::Viewer) {
                    revoke_certificates(c, caller, username, source, now_ms)?;
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

    /// Deletes the account, ends its sessions, removes its tokens and
    /// revokes its certificates (their records stay, revoked, for the
    /// admins to see). Refused while the user owns domains or servers.
    pub fn delete(
        &self,
        caller: &Caller,
        username: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(), UserError> {
        self.store.change(
            caller.audit(AuditAction::UserDelete, username, source),
            |c| {
                let Some(user) = c.record::<UserRecord>(Records::Users, username)? else {
                    return Err(UserError::NotFound);
                };
                if user.role == Role::Admin && !user.disabled && other_admins(c, username)? == 0 {
                    return Err(UserError::LastAdmin);
                }
                let domains = owned_in(c, Records::Domains, username, None)?;
                if !domains.is_empty() {
                    return Err(UserError::OwnsDomains(domains));
                }
                let servers = owned_in(c, Records::Servers, username, Some("name"))?;
                if !servers.is_empty() {
                    return Err(UserError::OwnsServers(servers));
                }
                c.remove_record(Records::Users, username)?;
                end_sessions(c, username)?;
                for (key, t) in c.records::<super::TokenRecord>(Records::Tokens)? {
                    if t.username == username {
                        c.remove_record(Records::Tokens, &key)?;
                    }
                }
                revoke_certificates(c, caller, username, source, now_ms)?;
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::SecretHash;
    use crate::refusal::{Refusal, is_internal};

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
            .update(&a, "kid", role_change(Role::Viewer), ip(), T0)
            .unwrap();
        assert_eq!(v.role, Role::Viewer);
        assert!(matches!(
            users.update(&a, "ghost", UserUpdate::default(), ip(), T0),
            Err(UserError::NotFound)
        ));
        users.delete(&a, "kid", ip(), T0).unwrap();
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
            users.delete(&a, "boss", ip(), T0),
            Err(UserError::LastAdmin)
        ));
        let demote = role_change(Role::Member);
        assert!(matches!(
            users.update(&a, "boss", demote, ip(), T0),
            Err(UserError::LastAdmin)
        ));
        let disable = disabled(true);
        assert!(matches!(
            users.update(&a, "boss", disable, ip(), T0),
            Err(UserError::LastAdmin)
        ));
        users.create(&a, "second", PW, "admin", ip(), T0).unwrap();
        users.delete(&a, "boss", ip(), T0).unwrap();
    }
    use crate::accounts::certs::CertRecord;

    const T1: u64 = T0 + 60_000;

    /// A store with the admin `boss`, the members `ann` and `bob`, and
    /// certificates: two of Ann's (`ann-1`, `ann-2`) and one of Bob's.
    fn with_certificates() -> (tempfile::TempDir, Store, Users) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let users = Users::new(store.clone());
        let a = admin();
        users.create(&a, "boss", PW, "admin", ip(), T0).unwrap();
        for name in ["ann", "bob"] {
            users.create(&a, name, PW, "member", ip(), T0).unwrap();
        }
        for (fingerprint, owner) in [("ann-1", "ann"), ("ann-2", "ann"), ("bob-1", "bob")] {
            let cert = CertRecord {
                id: fingerprint.into(),
                fingerprint: fingerprint.into(),
                owner: owner.into(),
                created_ms: T0,
                revoked_ms: None,
            };
            store
                .change(
                    a.audit(AuditAction::ServerCertIssue, fingerprint, ip()),
                    |c| c.put_record(Records::ServerCerts, fingerprint, &cert),
                )
                .unwrap();
        }
        (dir, store, users)
    }

    /// A change of the role only.
    fn role_change(role: Role) -> UserUpdate {
        UserUpdate {
            role: Some(role),
            ..UserUpdate::default()
        }
    }

    /// A change of whether the account is disabled, only.
    fn disabled(disabled: bool) -> UserUpdate {
        UserUpdate {
            disabled: Some(disabled),
            ..UserUpdate::default()
        }
    }

    /// Each certificate and when it was revoked.
    fn revocations(store: &Store) -> Vec<(String, Option<u64>)> {
        store
            .records::<CertRecord>(Records::ServerCerts)
            .unwrap()
            .into_iter()
            .map(|(key, c)| (key, c.revoked_ms))
            .collect()
    }

    /// The audit records after record `after`: (actor, action, target).
    fn audit_after(store: &Store, after: u64) -> Vec<(String, String, String)> {
        store
            .audit_records(after, 100)
            .unwrap()
            .into_iter()
            .map(|r| (r.actor, r.action, r.target))
            .collect()
    }

    fn last_audit_id(store: &Store) -> u64 {
        store
            .audit_records(0, 1000)
            .unwrap()
            .last()
            .map_or(0, |r| r.id)
    }

    fn entry(action: &str, target: &str) -> (String, String, String) {
        ("root-admin".into(), action.into(), target.into())
    }

    /// Asserts that Ann's certificates, and no other, were revoked at `T1`
    /// by the records after `before`: one each, by the admin, written with
    /// the change `action` to Ann.
    fn anns_certificates_revoked(store: &Store, before: u64, action: &str) {
        assert_eq!(
            revocations(store),
            [
                ("ann-1".to_string(), Some(T1)),
                ("ann-2".to_string(), Some(T1)),
                ("bob-1".to_string(), None),
            ]
        );
        assert_eq!(
            audit_after(store, before),
            [
                entry("server.cert_revoke", "ann-1"),
                entry("server.cert_revoke", "ann-2"),
                entry(action, "ann"),
            ]
        );
    }

    #[test]
    fn disabling_revokes_the_users_certificates_with_the_change() {
        let (_dir, store, users) = with_certificates();
        let before = last_audit_id(&store);
        let disable = disabled(true);
        users.update(&admin(), "ann", disable, ip(), T1).unwrap();
        anns_certificates_revoked(&store, before, "user.update");

        // Enabled again, Ann makes new certificates: the old stay revoked.
        let enable = disabled(false);
        users.update(&admin(), "ann", enable, ip(), T1 + 1).unwrap();
        assert_eq!(revocations(&store)[0], ("ann-1".to_string(), Some(T1)));
    }

    #[test]
    fn a_viewer_keeps_no_certificate_and_other_changes_keep_them() {
        let (_dir, store, users) = with_certificates();
        let a = admin();
        // A new password, or becoming an admin, leaves them as they were.
        let password = UserUpdate {
            password: Some("another horse battery staple".into()),
            ..UserUpdate::default()
        };
        users.update(&a, "ann", password, ip(), T1).unwrap();
        let promote = role_change(Role::Admin);
        users.update(&a, "bob", promote, ip(), T1).unwrap();
        assert!(revocations(&store).iter().all(|(_, r)| r.is_none()));

        let before = last_audit_id(&store);
        let demote = role_change(Role::Viewer);
        users.update(&a, "bob", demote, ip(), T1 + 1).unwrap();
        assert_eq!(revocations(&store)[2], ("bob-1".to_string(), Some(T1 + 1)));
        assert_eq!(
            audit_after(&store, before),
            [
                entry("server.cert_revoke", "bob-1"),
                entry("user.update", "bob"),
            ]
        );
    }

    #[test]
    fn a_refused_change_revokes_nothing() {
        let (_dir, store, users) = with_certificates();
        let a = admin();
        let boss = CertRecord {
            id: "boss-1".into(),
            fingerprint: "boss-1".into(),
            owner: "boss".into(),
            created_ms: T0,
            revoked_ms: None,
        };
        store
            .change(a.audit(AuditAction::ServerCertIssue, "boss-1", ip()), |c| {
                c.put_record(Records::ServerCerts, "boss-1", &boss)
            })
            .unwrap();
        let before = last_audit_id(&store);
        let disable = disabled(true);
        assert!(matches!(
            users.update(&a, "boss", disable, ip(), T1),
            Err(UserError::LastAdmin)
        ));
        assert!(revocations(&store).iter().all(|(_, r)| r.is_none()));
        assert_eq!(audit_after(&store, before), []);
    }

    #[test]
    fn deleting_revokes_the_users_certificates_with_the_change() {
        let (_dir, store, users) = with_certificates();
        let before = last_audit_id(&store);
        users.delete(&admin(), "ann", ip(), T1).unwrap();
        // The records stay, revoked, for the admins to see.
        anns_certificates_revoked(&store, before, "user.delete");
    }

    #[test]
    fn a_user_who_owns_servers_is_not_deleted() {
        let (_dir, store, users) = with_certificates();
        let a = admin();
        // The records belong to `servers`; only owner and name are read.
        store
            .change(a.audit(AuditAction::ServerCreate, "s1", ip()), |c| {
                for (id, owner, name) in [
                    ("s1", "ann", "web"),
                    ("s2", "bob", "db"),
                    ("s3", "ann", "mail"),
                ] {
                    let record = serde_json::json!({"id": id, "owner": owner, "name": name});
                    c.put_record(Records::Servers, id, &record)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let before = last_audit_id(&store);
        let refused = users.delete(&a, "ann", ip(), T1);
        match &refused {
            Err(UserError::OwnsServers(names)) => assert_eq!(names, &["web", "mail"]),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            refused.unwrap_err().to_string(),
            "the user still owns the servers web, mail: delete them first"
        );
        assert!(revocations(&store).iter().all(|(_, r)| r.is_none()));
        assert_eq!(audit_after(&store, before), []);
        assert!(users.list().unwrap().iter().any(|u| u.username == "ann"));

        store
            .change(a.audit(AuditAction::ServerRemoved, "s1", ip()), |c| {
                c.remove_record(Records::Servers, "s1")?;
                c.remove_record(Records::Servers, "s3")
            })
            .unwrap();
        users.delete(&a, "ann", ip(), T1).unwrap();
    }

    #[test]
    fn user_errors_refuse_as_the_api_promises() {
        assert_eq!(
            Refusal::from(UserError::Invalid {
                field: "username",
                message: "username too long".into()
            }),
            Refusal::invalid("username", "username too long")
        );
        assert_eq!(
            Refusal::from(UserError::Exists("ann".into())),
            Refusal::Conflict("user ann already exists".into())
        );
        assert_eq!(Refusal::from(UserError::NotFound), Refusal::NotFound);
        assert_eq!(
            Refusal::from(UserError::LastAdmin),
            Refusal::Conflict(
                "the last enabled admin cannot be removed, disabled or demoted".into()
            )
        );
        assert!(is_internal(UserError::Store(StoreError::for_tests())));
    }
}
