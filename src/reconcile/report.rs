//! What a loop publishes on its component's topic after every pass.

use std::sync::Arc;

use serde::Serialize;

use crate::component::Component;
use crate::events::{Event, Reader, Topic, Visible};
use crate::health::ComponentState;

/// The published report, e.g.
/// `{"component":"firewall","state":"degraded","detail":"cannot apply the
/// plan; see the log","cause":"cannot apply the plan: nft exited with 1",
/// "failures":3,"retry_in_ms":4000,"status":{..}}`.
///
/// `state` and `detail` are the component's health entry, which
/// `/api/v1/health` shows to anyone: after a failure it names the failed
/// step only. `cause` is the whole error chain, for the admins who may
/// follow the component's topic and for the log. `status` is the
/// manager's status from the last pass that succeeded, kept while later
/// passes fail (the page shows what is in force and what went wrong), and
/// left out while the component is not present; its objects' keys are
/// sorted on the wire (see [`crate::events::sorted`]).
#[derive(Debug, Serialize)]
#[serde(bound(serialize = "S: Serialize"))]
pub struct Report<S> {
    pub component: Component,
    pub state: ComponentState,
    pub detail: String,
    /// After a failed pass: the error with its sources, "a: b: c".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// Failed passes in a row; 0 after a success.
    pub failures: u32,
    /// The wait before the next try, after a failed pass; relative to
    /// when the report was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "sorted_status"
    )]
    pub status: Option<Arc<S>>,
}

fn sorted_status<S: Serialize, Ser: serde::Serializer>(
    status: &Option<Arc<S>>,
    serializer: Ser,
) -> Result<Ser::Ok, Ser::Error> {
    crate::events::sorted(&status.as_deref(), serializer)
}

/// A manager's status: the topic its reports go to, and (as [`Visible`])
/// what members see of it.
pub trait Status: Visible + Send + Sync + 'static {
    const TOPIC: Topic;
}

/// A report as a member sees it: no `cause` (a failure's full text may
/// name others' records), and the status's member view.
#[derive(Debug, Serialize)]
pub struct MemberReport<V> {
    pub component: Component,
    pub state: ComponentState,
    pub detail: String,
    pub failures: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<V>,
}

impl<S: Status> Visible for Report<S> {
    type Member = MemberReport<S::Member>;

    /// A report without a status is shown to a member on a per-owner
    /// topic only: whether anyone else may see it is the status's to say.
    fn for_member(&self, reader: Reader<'_>) -> Option<MemberReport<S::Member>> {
        let status = match (&self.status, reader) {
            (Some(status), _) => Some(status.for_member(reader)?),
            (None, Reader::Member(_)) => None,
            (None, Reader::Anyone) => return None,
        };
        let Report {
            component,
            state,
            detail,
            cause: _,
            failures,
            retry_in_ms,
            status: _,
        } = self;
        Some(MemberReport {
            component: *component,
            state: *state,
            detail: detail.clone(),
            failures: *failures,
            retry_in_ms: *retry_in_ms,
            status,
        })
    }

    type Public = crate::events::Hidden;

    /// No manager's report is on the public status page.
    fn for_public(&self) -> Option<crate::events::Hidden> {
        None
    }
}

impl<S: Status> Event for Report<S> {
    const TOPIC: Topic = S::TOPIC;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Username;

    /// A status with one record per owner.
    #[derive(Debug, Serialize)]
    struct Owned {
        zeta: u8,
        owners: Vec<String>,
    }

    impl Visible for Owned {
        type Member = Vec<String>;
        fn for_member(&self, reader: Reader<'_>) -> Option<Vec<String>> {
            let Reader::Member(who) = reader else {
                return None;
            };
            Some(
                self.owners
                    .iter()
                    .filter(|o| *o == who.as_str())
                    .cloned()
                    .collect(),
            )
        }
        type Public = crate::events::Hidden;
        fn for_public(&self) -> Option<crate::events::Hidden> {
            None
        }
    }

    impl Status for Owned {
        const TOPIC: Topic = Topic::Servers;
    }

    fn report(status: Option<Owned>) -> Report<Owned> {
        Report {
            component: Component::Servers,
            state: ComponentState::Degraded,
            detail: "cannot start a server; see the log".into(),
            cause: Some("cannot start a server: bob's disk is full".into()),
            failures: 2,
            retry_in_ms: Some(4000),
            status: status.map(Arc::new),
        }
    }

    #[test]
    fn admins_get_the_whole_report_with_the_status_keys_sorted() {
        let r = report(Some(Owned {
            zeta: 1,
            owners: vec!["ann".into()],
        }));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"component":"servers","state":"degraded","detail":"cannot start a server; see the log","cause":"cannot start a server: bob's disk is full","failures":2,"retry_in_ms":4000,"status":{"owners":["ann"],"zeta":1}}"#
        );
        let bare = serde_json::to_value(report(None)).unwrap();
        assert!(bare.get("status").is_none());
    }

    #[test]
    fn a_member_gets_no_cause_and_their_own_records_only() {
        let ann = Username::try_from("ann").unwrap();
        let r = report(Some(Owned {
            zeta: 1,
            owners: vec!["ann".into(), "bob".into()],
        }));
        let seen = serde_json::to_value(r.for_member(Reader::Member(&ann)).unwrap()).unwrap();
        assert!(seen.get("cause").is_none(), "{seen}");
        assert_eq!(seen["status"], serde_json::json!(["ann"]));
        assert_eq!(seen["detail"], "cannot start a server; see the log");
        assert_eq!(
            (seen["failures"].as_u64(), seen["retry_in_ms"].as_u64()),
            (Some(2), Some(4000))
        );
        // Shared with every member (or without a status): nothing.
        assert!(r.for_member(Reader::Anyone).is_none());
        assert!(report(None).for_member(Reader::Anyone).is_none());
        let bare = report(None).for_member(Reader::Member(&ann)).unwrap();
        assert!(bare.status.is_none());
        assert!(r.for_public().is_none());
    }
}
