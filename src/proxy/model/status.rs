//! What the proxy manager publishes on the `proxy` topic after every
//! pass: admins see every domain, members their own.

use serde::Serialize;

use super::{SiteName, Target, TlsMode};
use crate::auth::Username;
use crate::events::{Hidden, Reader, Topic, Visible};
use crate::proxy::health::DomainHealth;
use crate::proxy::service::Applied;
use crate::reconcile::Status;

/// Published on the `proxy` topic after every pass that succeeded.
#[derive(Debug, Clone, Serialize)]
pub struct ProxyStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_load: Option<LastLoad>,
    pub domains: Vec<DomainStatus>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastLoad {
    pub at_ms: u64,
    pub reason: &'static str,
}

/// A domain's record (its owner checked), and how it fares.
#[derive(Debug, Clone, Serialize)]
pub struct DomainStatus {
    pub name: SiteName,
    pub owner: Username,
    pub target: Target,
    pub tls: TlsMode,
    pub hsts: bool,
    pub apply: Applied,
    /// Why the domain does not reach its server (it answers with a
    /// static error page meanwhile).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<DomainHealth>,
}

/// A member sees their own domains, whole, and Caddy's last load; the
/// others' domains not at all.
impl Visible for ProxyStatus {
    type Member = ProxyStatus;
    fn for_member(&self, reader: Reader<'_>) -> Option<ProxyStatus> {
        let Reader::Member(member) = reader else {
            return None;
        };
        let ProxyStatus { last_load, domains } = self;
        Some(ProxyStatus {
            last_load: last_load.clone(),
            domains: domains
                .iter()
                .filter(|d| d.owner == *member)
                .cloned()
                .collect(),
        })
    }

    type Public = Hidden;
    fn for_public(&self) -> Option<Hidden> {
        None
    }
}

impl Status for ProxyStatus {
    const TOPIC: Topic = Topic::Proxy;
}
