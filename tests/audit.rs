//! The audit log API (admins only), against the binary.

mod common;

use common::{ADMIN_PASSWORD, Daemon, Options};

#[tokio::test]
async fn admins_read_the_audit_log_with_filters_and_paging() {
    let d = Daemon::start(Options::default());
    let c = d.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    // A failed login is audited too.
    let r = c
        .send(
            "POST",
            "/api/v1/session",
            "{\"username\":\"admin\",\"password\":\"wrong wrong wrong\"}",
            &[],
            &[],
        )
        .await;
    assert_eq!(r.status, 401);

    let all = c
        .as_user(&admin, "GET", "/api/v1/audit?limit=500", "")
        .await;
    assert_eq!(all.status, 200);
    let records = all.json()["records"].as_array().unwrap().clone();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    for expected in [
        "daemon.start",
        "setup.claim",
        "setup.admin",
        "setup.host",
        "setup.finish",
        "session.login",
    ] {
        assert!(
            actions.contains(&expected),
            "{expected} missing from {actions:?}"
        );
    }
    let failed = records
        .iter()
        .find(|r| r["action"] == "session.login" && r["outcome"] == "failure")
        .expect("the failed login is audited");
    assert_eq!(failed["source"], "127.0.0.1");
    assert!(all.json().get("next").is_none());

    // Paging: two at a time, following `next`, gives the same records.
    let mut paged = Vec::new();
    let mut after = 0;
    loop {
        let page = c
            .as_user(
                &admin,
                "GET",
                &format!("/api/v1/audit?limit=2&after={after}"),
                "",
            )
            .await
            .json();
        paged.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_u64().unwrap()),
        );
        match page["next"].as_u64() {
            Some(n) => after = n,
            None => break,
        }
    }
    let ids: Vec<u64> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(paged, ids);

    let mine = c
        .as_user(&admin, "GET", "/api/v1/audit?actor=admin", "")
        .await
        .json();
    assert!(
        mine["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor"] == "admin")
    );
    let later = records.last().unwrap()["time_ms"].as_u64().unwrap() + 1;
    let none = c
        .as_user(&admin, "GET", &format!("/api/v1/audit?since={later}"), "")
        .await
        .json();
    assert!(none["records"].as_array().unwrap().is_empty());
    let bad = c
        .as_user(&admin, "GET", "/api/v1/audit?limit=lots", "")
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["field"], "limit");

    assert_eq!(c.get("/api/v1/audit").await.status, 401);
    let pw = "another fine passphrase here";
    c.as_user(
        &admin,
        "POST",
        "/api/v1/users",
        &format!("{{\"username\":\"kid\",\"password\":\"{pw}\",\"role\":\"member\"}}"),
    )
    .await;
    let kid = c.login("kid", pw).await;
    assert_eq!(
        c.as_user(&kid, "GET", "/api/v1/audit", "").await.status,
        403
    );
}
