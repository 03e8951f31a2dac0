//! Members' client certificates for their servers' engines: issued by the
//! [`super::ca::AccessCa`], shown once (the key is never kept), listed,
//! revoked. The store keeps each certificate's SHA-256 with its owner
//! (the record is the account's, [`crate::accounts::certs`], which also
//! revokes them all when the account is disabled, made a viewer or
//! deleted), so that the front recognises a certificate by its
//! fingerprint and refuses one revoked or unknown, whatever the CA signed.

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use super::ca::{AccessCa, Issued};
use crate::accounts::Caller;
use crate::accounts::certs::CertRecord;
use crate::auth::Role;
use crate::servers::error::ServersError;
use crate::store::{AuditAction, Records, Store};

/// What an issue answers, once: the key is in nothing else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewCertificate {
    #[serde(flatten)]
    pub record: CertRecord,
    pub certificate: String,
    pub key: String,
    /// The authority the engines' front presents: the context's `ca.pem`.
    pub ca: String,
}

pub struct CertsService {
    store: Store,
    ca: Arc<AccessCa>,
}

impl CertsService {
    pub fn new(store: Store, ca: Arc<AccessCa>) -> CertsService {
        CertsService { store, ca }
    }

    /// A new certificate for `caller` (members and admins; a viewer has no
    /// servers).
    pub fn issue(
        &self,
        caller: &Caller,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<NewCertificate, ServersError> {
        let Issued {
            cert_pem,
            key_pem,
            fingerprint,
        } = self
            .ca
            .issue_client(&caller.username)
            .map_err(|e| ServersError::Certificate(e.to_string()))?;
        let record = CertRecord {
            id: fingerprint[..16].to_string(),
            fingerprint: fingerprint.clone(),
            owner: caller.username.clone(),
            created_ms: now_ms,
            revoked_ms: None,
        };
        let entry = caller.audit(AuditAction::ServerCertIssue, &record.id, source);
        self.store.change(entry, |c| {
            c.put_record(Records::ServerCerts, &fingerprint, &record)
        })?;
        Ok(NewCertificate {
            record,
            certificate: cert_pem,
            key: key_pem,
            ca: self.ca.ca_pem().to_string(),
        })
    }

    /// The certificates `caller` may see: their own; an admin's, all.
    pub fn list(&self, caller: &Caller) -> Result<Vec<CertRecord>, ServersError> {
        Ok(self
            .store
            .records::<CertRecord>(Records::ServerCerts)?
            .into_iter()
            .map(|(_, r)| r)
            .filter(|r| caller.role == Role::Admin || r.owner == caller.username)
            .collect())
    }

    /// Revokes certificate `id`; another member's is not found.
    pub fn revoke(
        &self,
        caller: &Caller,
        id: &str,
        source: IpAddr,
        now_ms: u64,
    ) -> Result<CertRecord, ServersError> {
        let found = self
            .list(caller)?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(ServersError::NotFound)?;
        let entry = caller.audit(AuditAction::ServerCertRevoke, &found.id, source);
        self.store.change(entry, |c| {
            let mut r: CertRecord = c
                .record(Records::ServerCerts, &found.fingerprint)?
                .ok_or(ServersError::NotFound)?;
            if r.revoked_ms.is_none() {
                r.revoked_ms = Some(now_ms);
                c.put_record(Records::ServerCerts, &r.fingerprint, &r)?;
            }
            Ok::<_, ServersError>(r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::testkit::{HERE, caller, lab};

    #[test]
    fn issued_listed_revoked_and_others_not_found() {
        let lab = lab();
        let dir = tempfile::tempdir().unwrap();
        let ca = Arc::new(AccessCa::load_or_create(dir.path()).unwrap());
        let service = CertsService::new(lab.store.clone(), ca);
        let ann = caller("ann", Role::Member);
        let bob = caller("bob", Role::Member);
        let boss = caller("boss", Role::Admin);
        let new = service.issue(&ann, HERE, 5).unwrap();
        assert!(new.key.contains("PRIVATE KEY"));
        assert!(new.certificate.contains("BEGIN CERTIFICATE"));
        assert_eq!(new.record.owner, "ann");
        let fp = new.record.fingerprint.clone();
        let record = |store: &Store| {
            store
                .record::<CertRecord>(Records::ServerCerts, &fp)
                .unwrap()
                .unwrap()
        };
        assert_eq!(record(&lab.store), new.record);
        assert_eq!(
            service.list(&ann).unwrap(),
            std::slice::from_ref(&new.record)
        );
        assert!(service.list(&bob).unwrap().is_empty());
        assert_eq!(service.list(&boss).unwrap().len(), 1);
        // The key is not kept anywhere in the store.
        let stored = serde_json::to_string(&service.list(&boss).unwrap()).unwrap();
        assert!(!stored.contains("PRIVATE"));

        assert!(matches!(
            service.revoke(&bob, &new.record.id, HERE, 6),
            Err(ServersError::NotFound)
        ));
        let revoked = service.revoke(&ann, &new.record.id, HERE, 7).unwrap();
        assert_eq!(revoked.revoked_ms, Some(7));
        assert_eq!(record(&lab.store).revoked_ms, Some(7));
        let actions = lab.store.audit_actions(20).unwrap();
        assert!(
            actions.iter().any(|a| a == "server.cert_issue"),
            "{actions:?}"
        );
        assert!(
            actions.iter().any(|a| a == "server.cert_revoke"),
            "{actions:?}"
        );
    }
}
