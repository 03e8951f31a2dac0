use serde_json::json;

use super::*;
use crate::proxy::testkit::{HERE, caller, input, lab};

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
    assert!(matches!(
        lab.service.create(&ann, &site("ann.example.org"), HERE),
        Err(ProxyError::Forbidden(_))
    ));
    let mut to_bob = site("ann.example.org");
    to_bob.owner = Some("bob".into());
    assert!(matches!(
        lab.service.create(&ann, &to_bob, HERE),
        Err(ProxyError::Forbidden(_))
    ));
    let hearth = input(json!({"name": "box.example.org", "target": {"kind": "hearth"}}));
    assert!(matches!(
        lab.service.create(&ann, &hearth, HERE),
        Err(ProxyError::Forbidden(_))
    ));
    // A member's domain, made by an admin: its TLS and HSTS are theirs to
    // change, its target is not.
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
    assert!(matches!(
        lab.service
            .replace(&ann, "ann.example.org", &elsewhere, HERE),
        Err(ProxyError::Forbidden(_))
    ));
    // Refused for the role before any field is looked at.
    let empty = input(json!({"name": "x", "target": {}}));
    assert!(matches!(
        lab.service.create(&ann, &empty, HERE),
        Err(ProxyError::Forbidden(_))
    ));
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
    match users.delete(&boss, "ann", HERE) {
        Err(crate::accounts::UserError::OwnsDomains(names)) => {
            assert_eq!(names, ["ann.example.org"]);
        }
        other => panic!("{other:?}"),
    }
    lab.service.remove(&boss, "ann.example.org", HERE).unwrap();
    users.delete(&boss, "ann", HERE).unwrap();
}
