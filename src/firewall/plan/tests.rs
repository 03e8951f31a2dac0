//! The firewall's plan without a kernel: why a pass applies (or not),
//! and who sees its status.

use serde_json::json;

use super::*;
use crate::firewall::adapter::TableState;

fn wanted(version: u64, script: &str) -> Desired {
    Desired {
        version,
        script: script.into(),
        pending: Some((version, 99)),
    }
}

fn applied(script: &str, shape: Value) -> InKernel {
    InKernel {
        script: script.into(),
        shape,
        version: 1,
        at_ms: 1,
        reason: "start".into(),
    }
}

fn kernel(table: Option<Value>, base_present: bool, last: Option<InKernel>) -> Observed {
    Observed {
        listing: Listing {
            base_present,
            hearth: table.map(|shape| TableState {
                shape,
                counters: Vec::new(),
            }),
        },
        last,
    }
}

#[test]
fn each_difference_is_an_apply_with_its_reason() {
    let shape = json!({ "chain": "input", "rules": 3 });
    let by_hand = json!({ "chain": "input", "rules": 2 });
    let ours = || Some(applied("table inet hearth {}", shape.clone()));
    let cases = [
        (
            "first pass",
            "table inet hearth {}",
            kernel(None, true, None),
            Some(Reason::Start),
        ),
        (
            "in step",
            "table inet hearth {}",
            kernel(Some(shape.clone()), false, ours()),
            None,
        ),
        (
            "new policy",
            "table inet hearth { 22 }",
            kernel(Some(shape.clone()), false, ours()),
            Some(Reason::Changed),
        ),
        (
            "table gone",
            "table inet hearth {}",
            kernel(None, false, ours()),
            Some(Reason::Drift("hearth's table is gone")),
        ),
        (
            "hand edit",
            "table inet hearth {}",
            kernel(Some(by_hand), false, ours()),
            Some(Reason::Drift("hearth's table was changed by hand")),
        ),
        (
            "boot table back",
            "table inet hearth {}",
            kernel(Some(shape.clone()), true, ours()),
            Some(Reason::Drift("the boot-time table was loaded again")),
        ),
    ];
    for (case, script, observed, want) in cases {
        let got = match plan(&wanted(4, script), &observed) {
            FirewallPlan::Keep => None,
            FirewallPlan::Apply {
                script: s,
                version,
                pending,
                reason,
            } => {
                assert_eq!(
                    (s.as_str(), version, pending),
                    (script, 4, Some(4)),
                    "{case}"
                );
                Some(reason)
            }
        };
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn the_status_names_the_pending_change_and_the_last_apply() {
    let observed = kernel(Some(json!({})), false, Some(applied("x", json!({}))));
    let st = status(
        7,
        Some((8, 1_000)),
        &observed.listing,
        observed.last.as_ref(),
    );
    let json = serde_json::to_value(&st).unwrap();
    assert_eq!(json["version"], 7);
    assert_eq!(
        json["pending"],
        json!({ "version": 8, "confirm_by_ms": 1_000 })
    );
    assert_eq!(json["last_apply"]["reason"], "start");
}

#[test]
fn the_firewalls_status_is_for_admins_only() {
    use crate::events::{Reader, Visible};
    let status = FirewallStatus {
        version: 3,
        pending: None,
        last_apply: None,
        counters: Vec::new(),
    };
    let ann = crate::auth::Username::try_from("ann").unwrap();
    assert!(status.for_member(Reader::Member(&ann)).is_none());
    assert!(status.for_member(Reader::Anyone).is_none());
    assert!(status.for_public().is_none());
}
