//! Typed events: what a publisher hands the hub, and what each audience
//! may see of it.
//!
//! Every topic has its own type (a manager's report, a metrics sample,
//! the health registry, an audit record, the services' states). The type
//! says, next to its definition, what a member and a public visitor see
//! ([`Visible`]): a value of a reduced type, made from the full one by
//! naming the fields it keeps or clears. A field renamed or removed is a
//! compile error there, not a field that silently stops being hidden.
//!
//! Which views may follow a topic at all, and which topics are cut per
//! member, is the topic table of [`super::view`]; the hub encodes each
//! view once (see [`super::Hub`]).

use serde::{Serialize, Serializer};

use super::topic::Topic;
use crate::auth::Username;
use crate::health::Snapshot;
use crate::store::AuditRecord;

/// Who a signed-in view that is no admin's is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader<'a> {
    /// Any member or viewer: the cut is the same for all of them, so it is
    /// encoded once and shared. A per-owner topic shows it nothing.
    Anyone,
    /// One member, on a per-owner topic: their own records only.
    Member(&'a Username),
}

/// What each audience may see of a value. Admins see it whole.
pub trait Visible: Serialize {
    /// What members (and viewers) see.
    type Member: Serialize;
    /// `None`: nothing (an admin-only topic, or no record of theirs
    /// matters here).
    fn for_member(&self, reader: Reader<'_>) -> Option<Self::Member>;
    /// What signed-out visitors see, when the owner made the status public.
    type Public: Serialize;
    fn for_public(&self) -> Option<Self::Public>;
}

/// A value published on one topic: the hub takes nothing else.
pub trait Event: Visible + Send + Sync + 'static {
    const TOPIC: Topic;
}

/// The view of an admin-only value: there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Hidden {}

/// Serializes `value` through a `serde_json::Value`, whose objects keep
/// their keys sorted: the order some topics have always had on the wire
/// (a manager's status, the services), kept byte for byte.
pub fn sorted<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serde_json::to_value(value)
        .map_err(serde::ser::Error::custom)?
        .serialize(serializer)
}

/// Implements [`Visible`] for a value every signed-in user sees whole
/// (members and viewers alike), and signed-out visitors not at all.
macro_rules! signed_in_only {
    ($t:ty) => {
        impl $crate::events::Visible for $t {
            type Member = $t;
            fn for_member(&self, _: $crate::events::Reader<'_>) -> Option<$t> {
                Some(self.clone())
            }
            type Public = $crate::events::Hidden;
            fn for_public(&self) -> Option<Self::Public> {
                None
            }
        }
    };
}
pub(crate) use signed_in_only;

/// Implements [`Visible`] for a value only admins may see: members and
/// visitors get nothing of it.
macro_rules! admin_only {
    ($t:ty) => {
        impl $crate::events::Visible for $t {
            type Member = $crate::events::Hidden;
            fn for_member(&self, _: $crate::events::Reader<'_>) -> Option<Self::Member> {
                None
            }
            type Public = $crate::events::Hidden;
            fn for_public(&self) -> Option<Self::Public> {
                None
            }
        }
    };
}
pub(crate) use admin_only;

// Audit records name users and the addresses they came from.
admin_only!(AuditRecord);

impl Event for AuditRecord {
    const TOPIC: Topic = Topic::Audit;
}

/// The health registry, as the `health` topic carries it (the registry
/// sits below the hub, so its event type is here).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct HealthEvent(pub Snapshot);

// Every signed-in user sees the components' health (`/api/v1/health`
// shows it to anyone); the public status page gets the machine only.
signed_in_only!(HealthEvent);

impl Event for HealthEvent {
    const TOPIC: Topic = Topic::Health;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use crate::health::{ComponentHealth, ComponentState};
    use crate::store::{AuditAction, AuditEntry, Store};

    #[test]
    fn signed_in_users_see_the_whole_health_and_visitors_none() {
        let health = HealthEvent(Snapshot::from([(
            Component::Store,
            ComponentHealth {
                state: ComponentState::Ok,
                detail: "open".into(),
            },
        )]));
        let admin = serde_json::to_string(&health).unwrap();
        assert_eq!(admin, r#"{"store":{"state":"ok","detail":"open"}}"#);
        let member = health.for_member(Reader::Anyone).unwrap();
        assert_eq!(serde_json::to_string(&member).unwrap(), admin);
        assert!(health.for_public().is_none());
    }

    #[test]
    fn audit_records_are_for_admins_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .audit(AuditEntry::system(AuditAction::SessionLogin, "ann"))
            .unwrap();
        let record = store.audit_records(0, 1).unwrap().remove(0);
        let ann = Username::try_from("ann").unwrap();
        assert!(record.for_member(Reader::Member(&ann)).is_none());
        assert!(record.for_member(Reader::Anyone).is_none());
        assert!(record.for_public().is_none());
    }
}
