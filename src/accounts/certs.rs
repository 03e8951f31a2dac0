//! Members' client certificates for their servers' engines, as the store
//! keeps them: an account's credentials, like its API tokens, so they
//! live and die with the account. Issuing, listing and revoking one is the
//! servers' business (`servers::access::certs`, which has the authority);
//! here is the record, and the revocation of all of a user's at once that
//! disabling, demoting to viewer or deleting them does in the same
//! transaction, so that no moment exists when the account is gone and its
//! certificate still opens an engine.

use serde::{Deserialize, Serialize};

use crate::store::{Change, Records, StoreError};

/// A certificate as the store keeps it, under its fingerprint in
/// [`Records::ServerCerts`]. The field names are the stored JSON's: they
/// must not change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CertRecord {
    /// The first 16 hex digits of the fingerprint: what people name it by.
    pub id: String,
    pub fingerprint: String,
    pub owner: String,
    pub created_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_ms: Option<u64>,
}

impl CertRecord {
    pub fn is_revoked(&self) -> bool {
        self.revoked_ms.is_some()
    }
}

/// Revokes every certificate of `username` not yet revoked, at `now_ms`,
/// inside the change `c`; the ones it revoked (the caller audits each).
/// One revoked earlier keeps the time it was revoked.
pub(crate) fn revoke_all_of(
    c: &mut Change<'_>,
    username: &str,
    now_ms: u64,
) -> Result<Vec<CertRecord>, StoreError> {
    let mut revoked = Vec::new();
    for (key, mut cert) in c.records::<CertRecord>(Records::ServerCerts)? {
        if cert.owner == username && !cert.is_revoked() {
            cert.revoked_ms = Some(now_ms);
            c.put_record(Records::ServerCerts, &key, &cert)?;
            revoked.push(cert);
        }
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AuditAction, AuditEntry, Store};

    fn cert(fingerprint: &str, owner: &str, revoked_ms: Option<u64>) -> CertRecord {
        CertRecord {
            id: fingerprint[..4].to_string(),
            fingerprint: fingerprint.into(),
            owner: owner.into(),
            created_ms: 1,
            revoked_ms,
        }
    }

    #[test]
    fn all_of_ones_certificates_and_no_one_elses_are_revoked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let certs = [
            cert("aaaa01", "ann", None),
            cert("aaaa02", "ann", Some(5)),
            cert("bbbb01", "bob", None),
            cert("aaaa03", "ann", None),
        ];
        let entry = || AuditEntry::system(AuditAction::UserUpdate, "ann");
        store
            .change(entry(), |c| {
                for cert in &certs {
                    c.put_record(Records::ServerCerts, &cert.fingerprint, cert)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let revoked = store
            .change(entry(), |c| revoke_all_of(c, "ann", 9))
            .unwrap();
        let ids: Vec<&str> = revoked.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["aaaa", "aaaa"]);
        let now: Vec<(String, Option<u64>)> = store
            .records::<CertRecord>(Records::ServerCerts)
            .unwrap()
            .into_iter()
            .map(|(k, r)| (k, r.revoked_ms))
            .collect();
        assert_eq!(
            now,
            [
                ("aaaa01".to_string(), Some(9)),
                ("aaaa02".to_string(), Some(5)),
                ("aaaa03".to_string(), Some(9)),
                ("bbbb01".to_string(), None),
            ],
            "the earlier revocation keeps its time; Bob's is untouched"
        );
    }

    #[test]
    fn the_stored_json_is_the_same_as_before_the_move() {
        let stored = r#"{"id":"0123456789abcdef","fingerprint":"0123456789abcdef00","owner":"ann","created_ms":5}"#;
        let r: CertRecord = serde_json::from_str(stored).unwrap();
        assert!(!r.is_revoked());
        assert_eq!(serde_json::to_string(&r).unwrap(), stored);
        let revoked = CertRecord {
            revoked_ms: Some(7),
            ..r
        };
        assert!(
            serde_json::to_string(&revoked)
                .unwrap()
                .ends_with(r#""created_ms":5,"revoked_ms":7}"#)
        );
    }
}
