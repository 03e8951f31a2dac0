//! The permission matrix against the binary, endpoint by endpoint, for
//! each role and for a signed-out caller; and every state-changing
//! endpoint leaves exactly one audit record.

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options, TlsClient};

const PW: &str = "another fine passphrase here";

/// How many records the audit log holds, all pages of it.
async fn audit_count(c: &TlsClient, admin: &str) -> usize {
    let pages = common::audit_pages(c, admin, "limit=500").await;
    pages.iter().map(Vec::len).sum()
}

#[tokio::test]
async fn every_endpoint_for_every_role() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;
    for (name, role) in [("mem", "member"), ("view", "viewer"), ("mem2", "member")] {
        let r = c.add_user_as(&admin, name, PW, role).await;
        assert_eq!(r.status, 201);
    }
    let member = c.login("mem", PW).await;
    let viewer = c.login("view", PW).await;

    // Who may GET each path: (admin, member, viewer). Signed-out callers
    // get 401 on all of these.
    const EVERY_ROLE: [bool; 3] = [true, true, true];
    const ADMINS: [bool; 3] = [true, false, false];
    const NOT_VIEWERS: [bool; 3] = [true, true, false];
    let reads: &[(&str, [bool; 3])] = &[
        ("/api/v1/status", EVERY_ROLE),
        ("/api/v1/metrics/history?series=load.1", EVERY_ROLE),
        ("/metrics", EVERY_ROLE),
        ("/api/v1/session", EVERY_ROLE),
        ("/api/v1/sessions", EVERY_ROLE),
        ("/api/v1/tokens", EVERY_ROLE),
        ("/api/v1/users", ADMINS),
        ("/api/v1/audit", ADMINS),
        ("/api/v1/settings", ADMINS),
        ("/api/v1/system/process", ADMINS),
        ("/api/v1/servers", NOT_VIEWERS),
        ("/api/v1/server-certificates", NOT_VIEWERS),
        ("/api/v1/quotas/mem", ADMINS),
        ("/api/v1/services", EVERY_ROLE),
    ];
    let method = "GET";
    for (path, allowed) in reads {
        assert_eq!(c.call(method, path, "").await.status, 401, "nobody {path}");
        for (i, token) in [&admin, &member, &viewer].into_iter().enumerate() {
            let r = c.as_user(token, method, path, "").await;
            let expect = if allowed[i] { 200 } else { 403 };
            assert_eq!(r.status, expect, "role #{i} {method} {path}");
        }
    }
    // Writes: each role on its own resources, then across users.
    for (who, token) in [("admin", &admin), ("member", &member), ("viewer", &viewer)] {
        let r = c
            .as_user(token, "POST", "/api/v1/tokens", "{\"name\":\"t\"}")
            .await;
        assert_eq!(r.status, 201, "{who} makes its own token");
        let id = r.json()["id"].as_str().unwrap().to_string();
        let r = c
            .as_user(token, "DELETE", &format!("/api/v1/tokens/{id}"), "")
            .await;
        assert_eq!(r.status, 204, "{who} revokes its own token");
        let r = c.as_user(token, "POST", "/api/v1/totp", "").await;
        assert_eq!(r.status, 200, "{who} may enrol two-factor login");
        let r = c.as_user(token, "DELETE", "/api/v1/totp", "").await;
        assert_eq!(r.status, 204);
        let r = c
            .as_user(
                token,
                "PATCH",
                "/api/v1/settings",
                "{\"public_status\":false}",
            )
            .await;
        assert_eq!(
            r.status,
            if who == "admin" { 200 } else { 403 },
            "{who} settings"
        );
    }
    // A member acting on another member's things: not found, not theirs.
    let mem2 = c.login("mem2", PW).await;
    let theirs = c
        .as_user(&mem2, "POST", "/api/v1/tokens", "{\"name\":\"x\"}")
        .await
        .json();
    let id = theirs["id"].as_str().unwrap();
    assert_eq!(
        c.as_user(&member, "DELETE", &format!("/api/v1/tokens/{id}"), "")
            .await
            .status,
        404
    );
    let sessions = c.as_user(&mem2, "GET", "/api/v1/sessions", "").await.json();
    let sid = sessions[0]["id"].as_str().unwrap();
    assert_eq!(
        c.as_user(&member, "DELETE", &format!("/api/v1/sessions/{sid}"), "")
            .await
            .status,
        404
    );
    assert_eq!(
        c.as_user(
            &member,
            "PATCH",
            "/api/v1/users/mem2",
            "{\"disabled\":true}"
        )
        .await
        .status,
        403
    );
    assert_eq!(
        c.as_user(&member, "DELETE", "/api/v1/users/mem2", "")
            .await
            .status,
        403
    );
    assert_eq!(c.session_status(&mem2).await, 200, "untouched");
}

#[tokio::test]
async fn every_state_changing_endpoint_leaves_one_audit_record() {
    let d = Daemon::start(Options::default());
    let (c, admin) = d.admin_sign_in().await;
    let calls: Vec<(&str, String, String)> = vec![
        (
            "POST",
            "/api/v1/users".into(),
            format!("{{\"username\":\"ann\",\"password\":\"{PW}\",\"role\":\"viewer\"}}"),
        ),
        (
            "PATCH",
            "/api/v1/users/ann".into(),
            "{\"role\":\"member\"}".into(),
        ),
        ("POST", "/api/v1/tokens".into(), "{\"name\":\"t\"}".into()),
        (
            "PATCH",
            "/api/v1/settings".into(),
            "{\"public_status\":true}".into(),
        ),
        ("POST", "/api/v1/totp".into(), String::new()),
        ("DELETE", "/api/v1/totp".into(), String::new()),
        ("DELETE", "/api/v1/users/ann".into(), String::new()),
    ];
    for (method, path, body) in &calls {
        let before = audit_count(&c, &admin).await;
        let r = c.as_user(&admin, method, path, body).await;
        assert!(r.status < 300, "{method} {path}: {} {:?}", r.status, r.body);
        let after = audit_count(&c, &admin).await;
        assert_eq!(after - before, 1, "{method} {path}");
    }
    // Sign-in, a session revoked by id, sign-out.
    let before = audit_count(&c, &admin).await;
    let other = c.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(audit_count(&c, &admin).await - before, 1, "sign-in");
    let list = c
        .as_user(&admin, "GET", "/api/v1/sessions", "")
        .await
        .json();
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let before = audit_count(&c, &admin).await;
    assert_eq!(
        c.as_user(&admin, "DELETE", &format!("/api/v1/sessions/{id}"), "")
            .await
            .status,
        204
    );
    assert_eq!(audit_count(&c, &admin).await - before, 1, "session revoke");
    let _ = other;
    let before = audit_count(&c, &admin).await;
    let extra = c.login("admin", ADMIN_PASSWORD).await;
    assert_eq!(
        c.as_user(&extra, "DELETE", "/api/v1/session", "")
            .await
            .status,
        204
    );
    assert_eq!(
        audit_count(&c, &admin).await - before,
        2,
        "sign-in and sign-out"
    );
}
