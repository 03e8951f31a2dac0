//! The audit log API (admins only), against the binary.

use hearth_testkit as common;

use common::{Daemon, Options};

#[tokio::test]
async fn admins_read_the_audit_log_with_filters_and_paging() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;
    // A failed login is audited too.
    let r = c.try_login("admin", "wrong wrong wrong").await;
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
    // Newest first: the failed login is the latest record.
    assert_eq!(records[0]["id"], failed["id"]);
    let ids: Vec<u64> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");

    // Paging: two at a time, following `next`, gives the same records.
    let paged = common::audit_pages(&c, &admin, "limit=2").await;
    assert_eq!(paged.iter().map(|p| p.len()).max(), Some(2));
    assert_eq!(paged.concat(), ids);

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
    let later = records[0]["time_ms"].as_u64().unwrap() + 1;
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

#[tokio::test]
async fn pages_run_newest_first_without_gaps_or_repeats() {
    let d = Daemon::start(Options::default());
    let c = d.client();
    let admin = d.session.clone().expect("the harness signed in");
    // 120 records and more, 40 of them alpha's: each signs in once and
    // makes API tokens (refused sign-ins would not do: they are counted
    // in one record per address).
    let password = "two users share this long one";
    let mut sessions = Vec::new();
    for name in ["alpha", "beta"] {
        d.add_user(name, password, "viewer").await;
        sessions.push(c.login(name, password).await);
    }
    for i in 0..117 {
        let (who, session) = if i % 3 == 0 {
            (0, &sessions[0])
        } else {
            (1, &sessions[1])
        };
        let body = format!("{{\"name\":\"token {who} {i}\"}}");
        let r = c.as_user(session, "POST", "/api/v1/tokens", &body).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
    }
    let pages = common::audit_pages(&c, &admin, "limit=50").await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes.len(), 3, "{sizes:?}");
    assert_eq!(&sizes[..2], &[50, 50]);
    assert!(sizes[2] >= 20, "{sizes:?}");
    // Every record once, newest first, none left out: ids only grow by
    // one, so the pages together are exactly newest..=1.
    let ids = pages.concat();
    let newest = ids[0];
    assert!(newest >= 120);
    assert_eq!(ids, (1..=newest).rev().collect::<Vec<u64>>());
    // The default page size is 100.
    let first = common::audit_pages(&c, &admin, "").await;
    assert_eq!(first[0].len(), 100);

    // The actor filter pages the same way, through that actor's records.
    let alpha = common::audit_pages(&c, &admin, "actor=alpha&limit=15").await;
    let sizes: Vec<usize> = alpha.iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![15, 15, 10]);
    let alpha = alpha.concat();
    assert!(alpha.windows(2).all(|w| w[0] > w[1]), "{alpha:?}");
    let page = c
        .as_user(&admin, "GET", "/api/v1/audit?actor=alpha&limit=500", "")
        .await
        .json();
    let records = page["records"].as_array().unwrap();
    assert!(records.iter().all(|r| r["actor"] == "alpha"));
    let listed: Vec<u64> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(alpha, listed);
    // `before` past the oldest record: an empty last page.
    let r = c
        .as_user(&admin, "GET", "/api/v1/audit?before=1", "")
        .await
        .json();
    assert!(r["records"].as_array().unwrap().is_empty());
    assert!(r.get("next").is_none());
}

#[tokio::test]
async fn paging_forward_with_after_is_refused_with_what_to_use() {
    let d = Daemon::start(Options::default());
    let r = d.admin_client().get("/api/v1/audit?after=1").await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let e = r.json();
    assert_eq!(e["error"]["field"], "after");
    assert!(e["error"]["message"].as_str().unwrap().contains("before="));
}

/// The retention of the log of attempts: shown with the settings, set by
/// an admin (audited), a bad value named and nothing changed.
#[tokio::test]
async fn admins_set_how_long_the_log_keeps_attempts() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let settings = admin.get("/api/v1/settings").await.json();
    assert_eq!(
        (&settings["audit_keep_days"], &settings["audit_max_mib"]),
        (&180.into(), &32.into()),
        "{settings}"
    );
    let patch = |body: &'static str| {
        let admin = &admin;
        async move { admin.patch_settings(body).await }
    };
    for (body, field) in [
        (r#"{"audit_keep_days":0}"#, "audit_keep_days"),
        (r#"{"audit_max_mib":5000}"#, "audit_max_mib"),
        (r#"{"audit_max_mib":"16"}"#, "audit_max_mib"),
        (
            r#"{"audit_keep_days":30,"audit_max_mib":-1}"#,
            "audit_max_mib",
        ),
    ] {
        let r = patch(body).await;
        assert_eq!(r.status, 400, "{body}: {:?}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{body}");
    }
    let unchanged = admin.get("/api/v1/settings").await.json();
    assert_eq!(unchanged["audit_keep_days"], 180, "nothing half-applied");

    let r = patch(r#"{"audit_keep_days":30}"#).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let v = r.json();
    assert_eq!(
        (&v["audit_keep_days"], &v["audit_max_mib"]),
        (&30.into(), &32.into())
    );
    let audit = admin.get("/api/v1/audit").await.json();
    let record = common::audited(&audit, "settings.audit_retention");
    assert_eq!(record["target"], "keep_days=30 max_mib=32");

    // Not for members.
    d.add_user("mia", "a member's own long password", "member")
        .await;
    let mia = d
        .client()
        .login("mia", "a member's own long password")
        .await;
    let r = d
        .client()
        .as_user(
            &mia,
            "PATCH",
            "/api/v1/settings",
            r#"{"audit_keep_days":1}"#,
        )
        .await;
    assert_eq!(r.status, 403);
}
