//! The proxy's plan and status without Caddy: why a config is loaded,
//! and what each reader sees of the status.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::events::{Reader, Visible};
use crate::proxy::model::{Target, TlsMode};

fn record(name: &str, owner: &str) -> Domain {
    Domain {
        name: SiteName::try_from(name).unwrap(),
        owner: owner.into(),
        target: Target::Hearth,
        tls: TlsMode::Internal,
        hsts: false,
    }
}

#[test]
fn a_member_sees_their_own_domains_only_and_admins_all() {
    let b_org = SiteName::try_from("b.org").unwrap();
    let unreachable = Unreachables::from([(b_org, "server gone".to_string())]);
    let domains = [
        record("a.org", "ann"),
        record("b.org", "bob"),
        record("x.org", "Not A User"),
    ];
    let st = status(&domains, &unreachable, None, &BTreeMap::new());
    // A record whose owner is no user name is nobody's: not shown.
    let admin = serde_json::to_value(&st).unwrap();
    let names: Vec<&str> = st.domains.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["a.org", "b.org"]);
    assert_eq!(admin["domains"][1]["owner"], "bob");
    assert_eq!(admin["domains"][1]["target_error"], "server gone");
    assert_eq!(admin["domains"][0]["target"]["kind"], "hearth", "{admin}");
    let ann = Username::try_from("ann").unwrap();
    let mine = st.for_member(Reader::Member(&ann)).unwrap();
    let seen = serde_json::to_value(&mine).unwrap();
    assert_eq!(seen["domains"].as_array().unwrap().len(), 1, "{seen}");
    assert_eq!(seen["domains"][0], admin["domains"][0]);
    assert!(!seen.to_string().contains("bob") && !seen.to_string().contains("b.org"));
    let carl = Username::try_from("carl").unwrap();
    assert!(
        st.for_member(Reader::Member(&carl))
            .unwrap()
            .domains
            .is_empty()
    );
    // Never one cut for all members, and nothing for visitors.
    assert!(st.for_member(Reader::Anyone).is_none());
    assert!(st.for_public().is_none());
}

fn wanted(domains: Vec<Domain>) -> Desired {
    let config = json!({ "apps": { "http": { "names": domains.iter().map(|d| d.name.as_str()).collect::<Vec<_>>() } } });
    Desired {
        domains,
        unreachable: Unreachables::new(),
        config,
    }
}

fn found(running: serde_json::Value, last: Option<&Desired>) -> Observed {
    Observed {
        running,
        last: last.map(|d| Loaded {
            config: d.config.clone(),
            domains: d.domains.clone(),
            unreachable: d.unreachable.clone(),
            at_ms: 1,
            reason: "start",
        }),
        health: BTreeMap::new(),
    }
}

fn reason(plan: ProxyPlan) -> Option<&'static str> {
    match plan {
        ProxyPlan::Keep => None,
        ProxyPlan::Load { reason, .. } => Some(reason),
    }
}

#[test]
fn each_difference_is_a_load_with_its_reason_and_a_caddy_in_step_is_left_alone() {
    let before = wanted(vec![record("a.org", "ann")]);
    let after = wanted(vec![record("a.org", "ann"), record("b.org", "bob")]);
    let mut servers_changed = wanted(vec![record("a.org", "ann")]);
    let a_org = SiteName::try_from("a.org").unwrap();
    servers_changed
        .unreachable
        .insert(a_org, "server stopped".into());
    // Its domain now gets a static error page: another config.
    servers_changed.config["apps"]["http"]["error_page"] = json!("a.org");
    let mut settings_changed = wanted(vec![record("a.org", "ann")]);
    settings_changed.config["admin"] = json!({ "listen": "unix//run/other" });
    let cases: [(&str, &Desired, Observed, Option<&str>); 7] = [
        (
            "first pass",
            &before,
            found(json!(null), None),
            Some("start"),
        ),
        (
            "in step",
            &before,
            found(before.config.clone(), Some(&before)),
            None,
        ),
        (
            "domains",
            &after,
            found(before.config.clone(), Some(&before)),
            Some("domains changed"),
        ),
        (
            "servers",
            &servers_changed,
            found(before.config.clone(), Some(&before)),
            Some("servers changed"),
        ),
        (
            "settings",
            &settings_changed,
            found(before.config.clone(), Some(&before)),
            Some("settings changed"),
        ),
        (
            "restarted",
            &before,
            found(json!(null), Some(&before)),
            Some("Caddy restarted"),
        ),
        (
            "by hand",
            &before,
            found(json!({ "apps": {} }), Some(&before)),
            Some("Caddy's config was changed behind hearth's back"),
        ),
    ];
    for (case, desired, observed, want) in cases {
        assert_eq!(reason(plan(desired, &observed)), want, "{case}");
    }
}

#[test]
fn a_load_carries_the_wanted_config_and_what_it_was_made_from() {
    let desired = wanted(vec![record("a.org", "ann")]);
    let ProxyPlan::Load {
        config,
        domains,
        unreachable,
        ..
    } = plan(&desired, &found(json!(null), None))
    else {
        panic!("a first pass loads")
    };
    assert_eq!(config, desired.config);
    assert_eq!(domains, desired.domains);
    assert_eq!(unreachable, desired.unreachable);
}
