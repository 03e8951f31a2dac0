//! The manager's passes against the recording fake Caddy and a real
//! store; the loop around them is tested in `reconcile`.

use serde_json::json;

use super::*;
use crate::auth::Role;
use crate::proxy::adapter::RecordingCaddy;
use crate::proxy::error::CaddyError;
use crate::proxy::service::Applied;
use crate::proxy::testkit::{HERE, caller, input, lab, settings};

/// One pass as `reconcile::run` makes it; answers whether it loaded.
async fn pass(m: &mut ProxyManager) -> Result<bool, PassError> {
    Ok(crate::reconcile::once(m).await?.is_some())
}

fn add(service: &ProxyService, name: &str) {
    let root = caller("boss", Role::Admin);
    let d = input(json!({"name": name, "target": {"address": "127.0.0.1", "port": 8080}}));
    service.create(&root, &d, HERE).unwrap();
}

#[tokio::test]
async fn loads_on_start_and_change_and_not_when_in_step() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings());
    assert!(pass(&mut m).await.unwrap(), "the first pass loads");
    assert!(!pass(&mut m).await.unwrap(), "in step: no load");
    add(&lab.service, "a.example.org");
    assert!(pass(&mut m).await.unwrap());
    assert_eq!(caddy.loads(), 2);
    let routes = &caddy.running()["apps"]["http"]["servers"]["https"]["routes"];
    assert_eq!(routes[0]["match"][0]["host"][0], "a.example.org");
    let root = caller("boss", Role::Admin);
    let view = lab.service.get(&root, "a.example.org").unwrap();
    assert_eq!(view.apply, Applied::Applied);
    assert!(lab.service.may_certify("a.example.org"));
}

#[tokio::test]
async fn a_restarted_caddy_gets_the_config_again() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings());
    add(&lab.service, "a.example.org");
    pass(&mut m).await.unwrap();
    caddy.set_down(true);
    assert!(matches!(
        pass(&mut m).await,
        Err(PassError::Caddy(CaddyError::Connect { .. }))
    ));
    caddy.set_down(false);
    let desired = m.desired().await.unwrap();
    let Observation::Present(observed) = m.observe().await.unwrap() else {
        panic!()
    };
    match ProxyManager::plan(&desired, &observed) {
        ProxyPlan::Load { reason, .. } => assert_eq!(reason, "Caddy restarted"),
        ProxyPlan::Keep => panic!("a restarted Caddy must be loaded"),
    }
    assert!(pass(&mut m).await.unwrap());
    assert_eq!(caddy.loads(), 2);
}

#[tokio::test]
async fn a_refused_load_is_reported_on_the_record() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings());
    pass(&mut m).await.unwrap();
    let before = caddy.running();
    caddy.refuse(Some("listening on :443: address already in use"));
    add(&lab.service, "a.example.org");
    assert!(matches!(
        pass(&mut m).await,
        Err(PassError::Caddy(CaddyError::Refused { .. }))
    ));
    assert_eq!(caddy.running(), before, "the previous config runs on");
    let root = caller("boss", Role::Admin);
    match lab.service.get(&root, "a.example.org").unwrap().apply {
        Applied::Failed { error } => assert!(error.contains("address already in use"), "{error}"),
        other => panic!("{other:?}"),
    }
    caddy.refuse(None);
    assert!(pass(&mut m).await.unwrap());
    assert_eq!(
        lab.service.get(&root, "a.example.org").unwrap().apply,
        Applied::Applied
    );
}

#[tokio::test]
async fn a_config_that_is_not_the_one_loaded_fails_the_pass() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings());
    caddy.swap_after_load(Some(json!({"apps": {}})));
    assert!(matches!(
        pass(&mut m).await,
        Err(PassError::ReadBackDiffers)
    ));
    // Not reported as in force.
    add(&lab.service, "a.example.org");
    assert!(pass(&mut m).await.is_err());
    let boss = caller("boss", Role::Admin);
    match lab.service.get(&boss, "a.example.org").unwrap().apply {
        Applied::Failed { error } => assert!(error.contains("another config"), "{error}"),
        other => panic!("{other:?}"),
    }
    caddy.swap_after_load(None);
    assert!(pass(&mut m).await.unwrap());
}

#[tokio::test]
async fn a_server_that_goes_away_is_a_new_config_and_its_domain_says_why() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings());
    let web = crate::proxy::testkit::server("ann", "a1a1a1a1", json!([{"port": 8080}]));
    crate::proxy::testkit::put_server(&lab.store, &web);
    let ann = caller("ann", Role::Member);
    let d = input(
        json!({"name": "ann.example.org", "target": {"kind": "server", "server": "a1a1a1a1", "port": 8080}}),
    );
    lab.service.create(&ann, &d, HERE).unwrap();
    assert!(pass(&mut m).await.unwrap());
    let handler = |caddy: &RecordingCaddy| {
        caddy.running()["apps"]["http"]["servers"]["https"]["routes"][0]["handle"][0].clone()
    };
    assert_eq!(handler(&caddy)["upstreams"][0]["dial"], "127.0.0.1:8080");

    // Only the server's record changes: the domain now answers 502.
    crate::proxy::testkit::remove_server(&lab.store, &web);
    let desired = m.desired().await.unwrap();
    let Observation::Present(observed) = m.observe().await.unwrap() else {
        panic!()
    };
    match ProxyManager::plan(&desired, &observed) {
        ProxyPlan::Load { reason, .. } => assert_eq!(reason, "servers changed"),
        ProxyPlan::Keep => panic!("a gone server must be a new config"),
    }
    assert!(pass(&mut m).await.unwrap());
    assert_eq!(handler(&caddy)["handler"], "static_response");
    assert_eq!(handler(&caddy)["status_code"], 502);
    let desired = m.desired().await.unwrap();
    let Observation::Present(observed) = m.observe().await.unwrap() else {
        panic!()
    };
    let status = serde_json::to_value(ProxyManager::status(&desired, &observed)).unwrap();
    assert_eq!(
        status["domains"][0]["target_error"],
        "server a1a1a1a1 is gone"
    );
    // The domain itself is unchanged and in force.
    assert_eq!(
        lab.service.get(&ann, "ann.example.org").unwrap().apply,
        Applied::Applied
    );
    // Back: dialled again.
    crate::proxy::testkit::put_server(&lab.store, &web);
    assert!(pass(&mut m).await.unwrap());
    assert_eq!(handler(&caddy)["upstreams"][0]["dial"], "127.0.0.1:8080");
}

#[tokio::test]
async fn a_new_certificate_of_hearths_is_pinned_again() {
    let lab = lab();
    let caddy = RecordingCaddy::new();
    let first = settings().hearth;
    let (pin, pinned) = tokio::sync::watch::channel(first.clone());
    let mut m = ProxyManager::new(lab.service.clone(), Arc::new(caddy.clone()), settings())
        .following_hearth(pinned);
    let root = caller("boss", Role::Admin);
    let d = input(json!({"name": "box.example.org", "target": {"kind": "hearth"}}));
    lab.service.create(&root, &d, HERE).unwrap();
    assert!(pass(&mut m).await.unwrap());
    let config = caddy.running().to_string();
    assert!(config.contains(&first.certificate), "{config}");
    pin.send(render::HearthUpstream {
        certificate: "TkVXQ0VSVA==".into(),
        ..first.clone()
    })
    .unwrap();
    assert!(pass(&mut m).await.unwrap(), "the new pin is loaded");
    let config = caddy.running().to_string();
    assert!(config.contains("TkVXQ0VSVA=="), "{config}");
    assert!(!config.contains(&first.certificate), "{config}");
}
