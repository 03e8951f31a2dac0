//! The permission matrix against the binary, endpoint by endpoint, for
//! each role and for a signed-out caller; and every state-changing
//! endpoint leaves exactly one audit record.

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options, TlsClient};

const PW: &str = "another fine passphrase here";

async fn audit_count(c: &TlsClient, admin: &str) -> usize {
    let mut n = 0;
    let mut path = "/api/v1/audit?limit=500".to_string();
    loop {
        let page = c.as_user(admin, "GET", &path, "").await.json();
        n += page["records"].as_array().unwrap().len();
        match page["next"].as_u64() {
            Some(next) => path = format!("/api/v1/audit?limit=500&before={next}"),
            None => return n,
        }
    }
}

#[tokio::test]
async fn every_endpoint_for_every_role() {
    let d = Daemon::start(Options::default());
    let c = d.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
    for (name, role) in [("mem", "member"), ("view", "viewer"), ("mem2", "member")] {
        let r = c
            .as_user(
                &admin,
                "POST",
                "/api/v1/users",
                &format!("{{\"username\":\"{name}\",\"password\":\"{PW}\",\"role\":\"{role}\"}}"),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let member = c.login("mem", PW).await;
    let viewer = c.login("view", PW).await;

    // (method, path, body, allowed for admin, member, viewer). Signed-out
    // callers get 401 on all of these.
    let reads: &[(&str, &str, &str, [bool; 3])] = &[
        ("GET", "/api/v1/status", "", [true, true, true]),
        (
            "GET",
            "/api/v1/metrics/history?series=load.1",
            "",
            [true, true, true],
        ),
        ("GET", "/metrics", "", [true, true, true]),
        ("GET", "/api/v1/session", "", [true, true, true]),
        ("GET", "/api/v1/sessions", "", [true, true, true]),
        ("GET", "/api/v1/tokens", "", [true, true, true]),
        ("GET", "/api/v1/users", "", [true, false, false]),
        ("GET", "/api/v1/audit", "", [true, false, false]),
        ("GET", "/api/v1/settings", "", [true, false, false]),
        ("GET", "/api/v1/system/process", "", [true, false, false]),
        ("GET", "/api/v1/servers", "", [true, true, false]),
        (
            "GET",
            "/api/v1/server-certificates",
            "",
            [true, true, false],
        ),
        ("GET", "/api/v1/quotas/mem", "", [true, false, false]),
        ("GET", "/api/v1/services", "", [true, true, true]),
    ];
    for (method, path, body, allowed) in reads {
        assert_eq!(
            c.send(method, path, body, &[], &[]).await.status,
            401,
            "nobody {path}"
        );
        for (i, token) in [&admin, &member, &viewer].into_iter().enumerate() {
            let r = c.as_user(token, method, path, body).await;
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
    assert_eq!(
        c.as_user(&mem2, "GET", "/api/v1/session", "").await.status,
        200,
        "untouched"
    );
}

#[tokio::test]
async fn every_state_changing_endpoint_leaves_one_audit_record() {
    let d = Daemon::start(Options::default());
    let c = d.client();
    let admin = c.login("admin", ADMIN_PASSWORD).await;
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
