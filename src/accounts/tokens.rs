//! API tokens for scripts: `Authorization: Bearer hth_...`. A user makes
//! them for itself, with a name and an optional expiry; the token is shown
//! once and stored only as its SHA-256; it acts with the user's current
//! role (so at most that), and stops working at once when revoked, when it
//! expires, or when its user is disabled or deleted.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Caller;
use crate::auth::Secret;
use crate::auth::token::random_bytes;
use crate::refusal::Refusal;
use crate::store::{AuditAction, Records, Store, StoreError};

/// Marks hearth tokens, so secret scanners and people recognise them.
pub const PREFIX: &str = "hth_";

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TokenRecord {
    pub id: String,
    pub username: String,
    pub name: String,
    pub created_ms: u64,
    pub expires_ms: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("no such token")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<TokenError> for Refusal {
    fn from(e: TokenError) -> Refusal {
        match e {
            TokenError::Invalid { field, message } => Refusal::invalid(field, message),
            TokenError::NotFound => Refusal::NotFound,
            TokenError::Store(e) => e.into(),
        }
    }
}

pub struct Tokens {
    store: Store,
}

impl Tokens {
    pub fn new(store: Store) -> Tokens {
        Tokens { store }
    }

    /// Makes a token for the caller; returns its record and the token,
    /// which is never shown again.
    pub fn create(
        &self,
        caller: &Caller,
        name: &str,
        expires_ms: Option<u64>,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<(TokenRecord, String), TokenError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(TokenError::Invalid {
                field: "name",
                message: "name must be 1 to 64 printable characters".into(),
            });
        }
        if expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(TokenError::Invalid {
                field: "expires_at",
                message: "expires_at must be in the future".into(),
            });
        }
        let token = format!("{PREFIX}{}", Secret::generate().expose());
        let id: String = random_bytes::<8>()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let record = TokenRecord {
            id: id.clone(),
            username: caller.username.clone(),
            name: name.to_string(),
            created_ms: now_ms,
            expires_ms,
        };
        let key = Secret::from_client(&token).hash();
        self.store
            .change(caller.audit(AuditAction::TokenCreate, &id, source), |c| {
                c.put_record(Records::Tokens, key.as_str(), &record)
            })?;
        Ok((record, token))
    }

    /// The caller's own tokens.
    pub fn list(&self, caller: &Caller) -> Result<Vec<TokenRecord>, StoreError> {
        let mut tokens = self.store.values::<TokenRecord>(Records::Tokens)?;
        tokens.retain(|t| t.username == caller.username);
        Ok(tokens)
    }

    /// Revokes one of the caller's own tokens.
    pub fn revoke(&self, caller: &Caller, id: &str, source: IpAddr) -> Result<(), TokenError> {
        self.store
            .change(caller.audit(AuditAction::TokenRevoke, id, source), |c| {
                let found = c
                    .records::<TokenRecord>(Records::Tokens)?
                    .into_iter()
                    .find(|(_, t)| t.id == id && t.username == caller.username);
                let Some((key, _)) = found else {
                    return Err(TokenError::NotFound);
                };
                c.remove_record(Records::Tokens, &key)?;
                Ok(())
            })
    }

    /// The caller a bearer token stands for, if it is valid now.
    pub fn authenticate(&self, token: &str, now_ms: u64) -> Result<Option<Caller>, StoreError> {
        if !token.starts_with(PREFIX) {
            return Ok(None);
        }
        let key = Secret::from_client(token).hash();
        let Some(record) = self
            .store
            .record::<TokenRecord>(Records::Tokens, key.as_str())?
        else {
            return Ok(None);
        };
        if record.expires_ms.is_some_and(|e| e <= now_ms) {
            return Ok(None);
        }
        let Some(user) = super::active_user(&self.store, &record.username)? else {
            return Ok(None);
        };
        Ok(Some(Caller {
            username: record.username,
            role: user.role,
            session: key,
            created_ms: record.created_ms,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::UserRecord;
    use crate::auth::{NewPassword, Role, SecretHash};
    use crate::refusal::{Refusal, is_internal};

    const T0: u64 = 1_800_000_000_000;

    fn setup() -> (tempfile::TempDir, Store, Tokens, Caller) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = UserRecord::new(
            Role::Viewer,
            NewPassword::new("correct horse battery staple", "ann")
                .unwrap()
                .hash(),
            T0,
        );
        store
            .change(
                crate::store::AuditEntry::system(AuditAction::UserCreate, "ann"),
                |c| c.put_record(Records::Users, "ann", &user),
            )
            .unwrap();
        let caller = Caller {
            username: "ann".into(),
            role: Role::Viewer,
            session: SecretHash::default(),
            created_ms: T0,
        };
        (dir, store.clone(), Tokens::new(store), caller)
    }

    fn ip() -> IpAddr {
        IpAddr::from([10, 0, 0, 3])
    }

    #[test]
    fn create_use_list_revoke() {
        let (_d, store, tokens, ann) = setup();
        let (rec, token) = tokens
            .create(&ann, "backup script", None, ip(), T0)
            .unwrap();
        assert!(token.starts_with("hth_") && token.len() == 47);
        let who = tokens.authenticate(&token, T0 + 1).unwrap().unwrap();
        assert_eq!((who.username.as_str(), who.role), ("ann", Role::Viewer));
        let stored = store.records::<TokenRecord>(Records::Tokens).unwrap();
        assert!(
            !stored[0].0.contains(&token[4..]),
            "only the hash is stored"
        );
        assert_eq!(tokens.list(&ann).unwrap().len(), 1);
        tokens.revoke(&ann, &rec.id, ip()).unwrap();
        assert!(tokens.authenticate(&token, T0 + 2).unwrap().is_none());
        assert!(matches!(
            tokens.revoke(&ann, &rec.id, ip()),
            Err(TokenError::NotFound)
        ));
    }

    #[test]
    fn expiry_and_bad_input() {
        let (_d, _store, tokens, ann) = setup();
        let (_, token) = tokens
            .create(&ann, "short", Some(T0 + 1000), ip(), T0)
            .unwrap();
        assert!(tokens.authenticate(&token, T0 + 999).unwrap().is_some());
        assert!(tokens.authenticate(&token, T0 + 1000).unwrap().is_none());
        assert!(matches!(
            tokens.create(&ann, "", None, ip(), T0),
            Err(TokenError::Invalid { field: "name", .. })
        ));
        assert!(matches!(
            tokens.create(&ann, "past", Some(T0), ip(), T0),
            Err(TokenError::Invalid {
                field: "expires_at",
                ..
            })
        ));
        assert!(
            tokens
                .authenticate("hth_not-a-token", T0)
                .unwrap()
                .is_none()
        );
        assert!(
            tokens
                .authenticate("not even prefixed", T0)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn token_errors_refuse_as_the_api_promises() {
        assert_eq!(
            Refusal::from(TokenError::Invalid {
                field: "name",
                message: "name is empty".into()
            }),
            Refusal::invalid("name", "name is empty")
        );
        assert_eq!(Refusal::from(TokenError::NotFound), Refusal::NotFound);
        assert!(is_internal(TokenError::Store(StoreError::for_tests())));
    }
}
