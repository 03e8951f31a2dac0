//! What a loop publishes on its component's topic after every pass.

use serde::Serialize;
use serde_json::Value;

use super::context::Publish;
use crate::component::Component;
use crate::health::ComponentState;

/// The published JSON, e.g.
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
/// left out while the component is not present.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    pub component: Component,
    pub state: ComponentState,
    pub detail: &'a str,
    /// After a failed pass: the error with its sources, "a: b: c".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'a str>,
    /// Failed passes in a row; 0 after a success.
    pub failures: u32,
    /// The wait before the next try, after a failed pass; relative to
    /// when the report was published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_in_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'a Value>,
}

impl Report<'_> {
    pub(super) fn send(&self, publish: &Publish) {
        match serde_json::to_string(self) {
            Ok(json) => publish(json),
            // Unreachable with the field types above; kept out of a panic
            // all the same, since the loop must outlive a bad status.
            Err(e) => {
                tracing::error!(component = self.component.name(), error = %e, "cannot encode the report")
            }
        }
    }
}
