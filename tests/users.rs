//! User management and the permission matrix for it, against the binary:
//! every (role, endpoint) cell, allowed and refused.

use hearth_testkit as common;

use common::{Daemon, Options};
use hearth::store::Store;

const PW: &str = "another fine passphrase here";

#[tokio::test]
async fn admins_manage_users_and_nobody_else_can() {
    let mut d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;

    let create = |name: &str, role: &str| {
        format!("{{\"username\":\"{name}\",\"password\":\"{PW}\",\"role\":\"{role}\"}}")
    };
    let r = c.add_user_as(&admin, "kid", PW, "member").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json()["role"], "member");
    let r = c.add_user_as(&admin, "guest", PW, "viewer").await;
    assert_eq!(r.status, 201);
    let r = c.add_user_as(&admin, "kid", PW, "viewer").await;
    assert_eq!(r.status, 409, "exists");
    let r = c.add_user_as(&admin, "Bad Name", PW, "viewer").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["error"]["field"], "username");

    let member = c.login("kid", PW).await;
    let viewer = c.login("guest", PW).await;

    // Every cell of the users endpoints, for each role and for nobody.
    let cells: [(&str, &str, String); 4] = [
        ("GET", "/api/v1/users", String::new()),
        ("POST", "/api/v1/users", create("newbie", "viewer")),
        (
            "PATCH",
            "/api/v1/users/guest",
            "{\"role\":\"member\"}".into(),
        ),
        ("DELETE", "/api/v1/users/guest", String::new()),
    ];
    for (method, path, body) in &cells {
        let r = c.call(method, path, body).await;
        assert_eq!(r.status, 401, "nobody {method} {path}");
        for (who, token) in [("member", &member), ("viewer", &viewer)] {
            let r = c.as_user(token, method, path, body).await;
            assert_eq!(r.status, 403, "{who} {method} {path}");
            assert_eq!(r.json()["error"]["code"], "forbidden");
        }
    }
    // A member cannot act on another member's account either.
    let r = c
        .as_user(
            &member,
            "PATCH",
            "/api/v1/users/kid",
            "{\"role\":\"admin\"}",
        )
        .await;
    assert_eq!(r.status, 403, "no self-promotion");
    for (method, path, body) in &cells {
        let r = c.as_user(&admin, method, path, body).await;
        assert!(
            r.status < 300,
            "admin {method} {path}: {} {:?}",
            r.status,
            r.body
        );
    }

    let list = c.as_user(&admin, "GET", "/api/v1/users", "").await.json();
    let names = common::texts(&list, "username");
    assert_eq!(names, vec!["admin", "kid", "newbie"]);
    assert!(
        !list.to_string().contains("argon2"),
        "no hash leaves the box"
    );

    // The last admin stays.
    let r = c.as_user(&admin, "DELETE", "/api/v1/users/admin", "").await;
    assert_eq!(r.status, 409);
    // Deleting a user ends its sessions at once.
    let r = c.as_user(&admin, "DELETE", "/api/v1/users/kid", "").await;
    assert_eq!(r.status, 204);
    assert_eq!(c.session_status(&member).await, 401);
    let r = c
        .as_user(
            &admin,
            "PATCH",
            "/api/v1/users/nobody",
            "{\"disabled\":true}",
        )
        .await;
    assert_eq!(r.status, 404);

    // Exactly one audit record per successful change, none for refusals.
    let state = d.state_dir();
    assert!(d.stop().success());
    let store = Store::open(&state).unwrap();
    let changes: Vec<(String, String)> = store
        .audit_records(0, 1000)
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("user."))
        .map(|r| (r.action, r.target))
        .collect();
    let expect = [
        ("user.create", "kid"),
        ("user.create", "guest"),
        ("user.create", "newbie"),
        ("user.update", "guest"),
        ("user.delete", "guest"),
        ("user.delete", "kid"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, t)| (a.to_string(), t.to_string()))
        .collect();
    assert_eq!(changes, expect);
}
