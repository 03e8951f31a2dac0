use serde_json::json;

use super::*;
use crate::proxy::testkit::{HERE, caller, input, lab};
use crate::servers::model::Server;

fn site(name: &str) -> DomainInput {
    input(json!({"name": name, "target": {"address": "127.0.0.1", "port": 8080}}))
}

#[test]
fn admins_manage_every_domain_and_members_see_their_own() {
    let lab = lab();
    let root = caller("boss", Role::Admin);
    let ann = caller("ann", Role::Member);
    let bob = caller("bob", Role::Member);
    let mut for_ann = site("ann.example.org");
    for_ann.owner = Some("ann".into());
    lab.service.create(&root, &for_ann, HERE).unwrap();
    lab.service
        .create(&root, &site("boss.example.org"), HERE)
        .unwrap();

    assert_eq!(lab.service.list(&root).unwrap().len(), 2);
    let mine = lab.service.list(&ann).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].domain.name.as_str(), "ann.example.org");
    assert!(lab.service.list(&bob).unwrap().is_empty());
    // Another member's domain does not exist for bob: 404, not 403.
    assert!(matches!(
        lab.service.get(&bob, "ann.example.org"),
        Err(ProxyError::NotFound)
    ));
    assert!(matches!(
        lab.service.remove(&bob, "ann.example.org", HERE),
        Err(ProxyError::NotFound)
    ));
    assert!(lab.service.get(&ann, "ANN.example.org.").is_ok());
    // Each change is audited under its name.
    let actions = lab.store.audit_actions(100).unwrap();
    assert_eq!(actions.iter().filter(|a| *a == "domain.create").count(), 2);
    lab.service.remove(&ann, "ann.example.org", HERE).unwrap();
    assert!(lab.service.list(&ann).unwrap().is_empty());
}

#[test]
fn members_cannot_point_a_domain_at_the_box_or_give_it_away() {
    let lab = lab();
    let ann = caller("ann", Role::Member);
    let refused = |r: Result<DomainView, ProxyError>| match r {
        Err(ProxyError::Forbidden(why)) => assert!(why.contains("their own servers"), "{why}"),
        other => panic!("{other:?}"),
    };
    refused(lab.service.create(&ann, &site("ann.example.org"), HERE));
    let mut to_bob = site("ann.example.org");
    to_bob.owner = Some("bob".into());
    assert!(matches!(
        lab.service.create(&ann, &to_bob, HERE),
        Err(ProxyError::Forbidden(_))
    ));
    let hearth = input(json!({"name": "box.example.org", "target": {"kind": "hearth"}}));
    refused(lab.service.create(&ann, &hearth, HERE));
    // A member's domain, made by an admin: its TLS and HSTS are theirs to
    // change, with the target it has; another address is not.
    let boss = caller("boss", Role::Admin);
    let mut made = site("ann.example.org");
    made.owner = Some("ann".into());
    lab.service.create(&boss, &made, HERE).unwrap();
    made.owner = None;
    made.hsts = true;
    let v = lab
        .service
        .replace(&ann, "ann.example.org", &made, HERE)
        .unwrap();
    assert!(v.domain.hsts);
    let elsewhere =
        input(json!({"name": "ann.example.org", "target": {"address": "127.0.0.1", "port": 9999}}));
    refused(
        lab.service
            .replace(&ann, "ann.example.org", &elsewhere, HERE),
    );
    // Refused for the kind before any other field is looked at.
    let empty = input(json!({"name": "x", "target": {}}));
    refused(lab.service.create(&ann, &empty, HERE));
    lab.service.remove(&boss, "ann.example.org", HERE).unwrap();
    let viewer = caller("vic", Role::Viewer);
    assert!(matches!(
        lab.service.create(&viewer, &hearth, HERE),
        Err(ProxyError::Forbidden(_))
    ));
    assert!(
        lab.service
            .list(&caller("boss", Role::Admin))
            .unwrap()
            .is_empty()
    );
}

/// A server of `owner`'s, made through the servers' service, publishing
/// `ports` (the API's JSON).
fn new_server(lab: &crate::proxy::testkit::Lab, owner: &str, ports: serde_json::Value) -> Server {
    let servers = crate::servers::service::ServersService::new(lab.store.clone());
    let input =
        serde_json::from_value(json!({"name": format!("web-{owner}"), "ports": ports})).unwrap();
    servers
        .create(&caller(owner, Role::Member), &input, HERE, 1)
        .unwrap()
}

fn to_server(name: &str, server: &Server, port: u16) -> DomainInput {
    input(
        json!({"name": name, "target": {"kind": "server", "server": server.id.as_str(), "port": port}}),
    )
}

fn invalid_field(r: Result<DomainView, ProxyError>) -> crate::invalid::Invalid {
    match r {
        Err(ProxyError::Invalid(e)) => e,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_member_leads_a_domain_to_a_published_tcp_port_of_their_own_server() {
    let lab = lab();
    let ann = caller("ann", Role::Member);
    let web = new_server(
        &lab,
        "ann",
        json!([{"port": 8080}, {"port": 5353, "protocol": "udp"}]),
    );
    let bobs = new_server(&lab, "bob", json!([{"port": 8081}]));

    let v = lab
        .service
        .create(&ann, &to_server("ann.example.org", &web, 8080), HERE)
        .unwrap();
    assert_eq!(
        v.domain.target,
        Target::Server {
            server: web.id.clone(),
            port: 8080
        }
    );
    assert_eq!(v.domain.owner, "ann");
    assert_eq!(v.target_error, None);

    // bob's server is no server to ann: the words of one that does not exist.
    let other = invalid_field(lab.service.create(
        &ann,
        &to_server("b.example.org", &bobs, 8081),
        HERE,
    ));
    let mut unknown_server = bobs.clone();
    unknown_server.id = crate::servers::model::ServerId::try_from("c0ffee00").unwrap();
    let unknown = invalid_field(lab.service.create(
        &ann,
        &to_server("b.example.org", &unknown_server, 8081),
        HERE,
    ));
    assert_eq!(other.field, "target.server");
    assert_eq!(
        other.message.replace(bobs.id.as_str(), "ID"),
        unknown.message.replace("c0ffee00", "ID")
    );
    assert!(other.message.contains("no such server"), "{other}");

    // Ports: published for tcp, else the published ones are said.
    let port = invalid_field(lab.service.create(
        &ann,
        &to_server("c.example.org", &web, 9999),
        HERE,
    ));
    assert_eq!(port.field, "target.port");
    assert!(port.message.contains("publishes 8080"), "{port}");
    let udp = invalid_field(lab.service.create(
        &ann,
        &to_server("c.example.org", &web, 5353),
        HERE,
    ));
    assert_eq!(udp.field, "target.port");
    assert!(udp.message.contains("udp only"), "{udp}");
    // Nothing of that was stored.
    assert_eq!(lab.service.list(&ann).unwrap().len(), 1);

    // Her own domain, its target changed by her: to her server, allowed;
    // to an address, not.
    let mut made = site("ann2.example.org");
    made.owner = Some("ann".into());
    let boss = caller("boss", Role::Admin);
    lab.service.create(&boss, &made, HERE).unwrap();
    let v = lab
        .service
        .replace(
            &ann,
            "ann2.example.org",
            &to_server("ann2.example.org", &web, 8080),
            HERE,
        )
        .unwrap();
    assert!(matches!(v.domain.target, Target::Server { .. }));
    assert!(matches!(
        lab.service
            .replace(&ann, "ann2.example.org", &site("ann2.example.org"), HERE),
        Err(ProxyError::Forbidden(_))
    ));
}

#[test]
fn an_admin_chooses_among_the_owners_servers() {
    let lab = lab();
    let boss = caller("boss", Role::Admin);
    let annes = new_server(&lab, "ann", json!([{"port": 8080}]));
    let bobs = new_server(&lab, "bob", json!([{"port": 8081}]));
    let mut for_bob = to_server("bob.example.org", &bobs, 8081);
    for_bob.owner = Some("bob".into());
    lab.service.create(&boss, &for_bob, HERE).unwrap();
    let mut wrong = to_server("bob2.example.org", &annes, 8080);
    wrong.owner = Some("bob".into());
    let e = invalid_field(lab.service.create(&boss, &wrong, HERE));
    assert_eq!(e.field, "target.server");
    assert!(e.message.contains("not one of bob's servers"), "{e}");
    // Nor the admin's own domain to ann's server.
    let e = invalid_field(lab.service.create(
        &boss,
        &to_server("boss.example.org", &annes, 8080),
        HERE,
    ));
    assert_eq!(e.field, "target.server");
}

#[test]
fn a_deleted_server_leaves_the_domain_and_says_why_it_does_not_answer() {
    let lab = lab();
    let ann = caller("ann", Role::Member);
    let web = new_server(&lab, "ann", json!([{"port": 8080}, {"port": 8090}]));
    lab.service
        .create(&ann, &to_server("ann.example.org", &web, 8090), HERE)
        .unwrap();
    // The port no longer published (the servers' service has no change
    // of ports yet: the record as it would be).
    let mut fewer = web.clone();
    fewer.ports.retain(|p| p.port != 8090);
    crate::proxy::testkit::put_server(&lab.store, &fewer);
    let v = lab.service.get(&ann, "ann.example.org").unwrap();
    assert_eq!(
        v.target_error.as_deref(),
        Some(format!("port 8090 is no longer published by server {}", web.id).as_str())
    );
    // Deleted: asked, then the record gone; the domain stays, saying so.
    let servers = crate::servers::service::ServersService::new(lab.store.clone());
    servers
        .delete(&ann, web.id.as_str(), false, HERE, 2)
        .unwrap();
    let gone = format!("server {} is gone", web.id);
    assert_eq!(
        lab.service.list(&ann).unwrap()[0].target_error.as_deref(),
        Some(gone.as_str())
    );
    crate::proxy::testkit::remove_server(&lab.store, &web);
    let v = lab.service.get(&ann, "ann.example.org").unwrap();
    assert_eq!(v.target_error.as_deref(), Some(gone.as_str()));
    // And a new domain cannot name it.
    let e = invalid_field(lab.service.create(
        &ann,
        &to_server("new.example.org", &web, 8080),
        HERE,
    ));
    assert_eq!(e.field, "target.server");
}

#[test]
fn names_are_unique_owners_must_exist_and_replace_keeps_the_name() {
    let lab = lab();
    let root = caller("boss", Role::Admin);
    lab.service
        .create(&root, &site("a.example.org"), HERE)
        .unwrap();
    assert!(matches!(
        lab.service.create(&root, &site("A.example.org"), HERE),
        Err(ProxyError::Exists(n)) if n == "a.example.org"
    ));
    let mut nobody = site("b.example.org");
    nobody.owner = Some("nobody".into());
    match lab.service.create(&root, &nobody, HERE) {
        Err(ProxyError::Invalid(e)) => assert_eq!(e.field, "owner"),
        other => panic!("{other:?}"),
    }
    match lab
        .service
        .replace(&root, "a.example.org", &site("c.example.org"), HERE)
    {
        Err(ProxyError::Invalid(e)) => assert_eq!(e.field, "name"),
        other => panic!("{other:?}"),
    }
    let mut hsts = site("a.example.org");
    hsts.hsts = true;
    let v = lab
        .service
        .replace(&root, "a.example.org", &hsts, HERE)
        .unwrap();
    assert!(v.domain.hsts);
    assert_eq!(v.apply, Applied::Pending);
    assert!(matches!(
        lab.service
            .replace(&root, "z.example.org", &site("z.example.org"), HERE),
        Err(ProxyError::NotFound)
    ));
}

#[test]
fn the_ask_list_covers_names_and_one_label_under_wildcards() {
    let lab = lab();
    lab.service.set_names(vec![
        SiteName::try_from("app.example.org").unwrap(),
        SiteName::try_from("*.box.example.org").unwrap(),
    ]);
    assert!(lab.service.may_certify("app.example.org"));
    assert!(lab.service.may_certify("APP.example.org."));
    assert!(lab.service.may_certify("x.box.example.org"));
    assert!(!lab.service.may_certify("box.example.org"));
    assert!(!lab.service.may_certify("a.b.box.example.org"));
    assert!(!lab.service.may_certify("evil.example.org"));
}

#[test]
fn a_user_who_owns_domains_is_not_deleted() {
    let lab = lab();
    let boss = caller("boss", Role::Admin);
    let mut for_ann = site("ann.example.org");
    for_ann.owner = Some("ann".into());
    lab.service.create(&boss, &for_ann, HERE).unwrap();
    let users = crate::accounts::Users::new(lab.store.clone());
    match users.delete(&boss, "ann", HERE, 1) {
        Err(crate::accounts::UserError::OwnsDomains(names)) => {
            assert_eq!(names, ["ann.example.org"]);
        }
        other => panic!("{other:?}"),
    }
    lab.service.remove(&boss, "ann.example.org", HERE).unwrap();
    users.delete(&boss, "ann", HERE, 1).unwrap();
}
