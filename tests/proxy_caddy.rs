//! hearth drives the real Caddy (Debian's 2.6.2) through its admin API on
//! a unix socket: domains reach their loopback backends over HTTPS with
//! Caddy's local CA, a removed domain stops answering, a bad name is
//! refused with Caddy's config unchanged, a restarted Caddy is loaded
//! again, a burst of changes is a few loads, the on-demand ask endpoint
//! knows the configured names, hearth's own pages can be served through
//! Caddy, which pins hearth's certificate, and a member's domain reaches
//! a published port of their server (and answers 502 once it is gone).

use hearth_testkit as common;

use std::time::{Duration, Instant};

use common::caddy_lab::{Backend, ECHO_XFF, curl_resolve, curl_resolve_with};
use common::eventually_blocking;
use common::proxy_lab::{LabOptions, ProxyLab};

/// A lab whose Caddy serves `name` (with the box's own authority) from
/// a backend answering `text`, once Caddy has it.
fn serving(name: &str, text: &str) -> (ProxyLab, Backend) {
    let lab = ProxyLab::start();
    let backend = Backend::start(text);
    let r = lab.add(name, backend.addr(), "internal");
    assert_eq!(r.status, 201, "{:?}", r.body);
    lab.wait_for_hosts(&[name]);
    (lab, backend)
}

#[test]
fn domains_reach_their_backends_and_a_removed_one_stops() {
    let lab = ProxyLab::start();
    let one = Backend::start("one");
    let two = Backend::start("two");
    let r = lab.add("one.test", one.addr(), "internal");
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json()["apply"]["state"], "pending");
    lab.wait_for_hosts(&["one.test"]);
    lab.caddy.wait_for_local_cert("one.test");
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("one.test", lab.https_port, Some(&root), "/"),
        (200, "one".to_string())
    );
    // The record says it is in force.
    eventually_blocking(Duration::from_secs(10), "the record to be applied", || {
        lab.api("GET", "/api/v1/domains/one.test", "").json()["apply"]["state"] == "applied"
    });

    // A second domain leaves the first working.
    assert_eq!(lab.add("two.test", two.addr(), "internal").status, 201);
    lab.wait_for_hosts(&["one.test", "two.test"]);
    lab.caddy.wait_for_local_cert("two.test");
    assert_eq!(
        curl_resolve("two.test", lab.https_port, Some(&root), "/"),
        (200, "two".to_string())
    );
    assert_eq!(
        curl_resolve("one.test", lab.https_port, Some(&root), "/"),
        (200, "one".to_string())
    );

    // Removed: the name fails (no certificate, no route), the other stays.
    let r = lab.api("DELETE", "/api/v1/domains/one.test", "");
    assert_eq!(r.status, 200, "{:?}", r.body);
    lab.wait_for_hosts(&["two.test"]);
    let (status, _) = curl_resolve("one.test", lab.https_port, Some(&root), "/");
    assert_ne!(status, 200, "a removed domain must not answer");
    assert_eq!(
        curl_resolve("two.test", lab.https_port, Some(&root), "/"),
        (200, "two".to_string())
    );
    // Audited.
    let audit = lab.api("GET", "/api/v1/audit", "").json().to_string();
    for action in ["domain.create", "domain.delete"] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
}

#[test]
fn plain_http_and_hsts_are_what_the_record_says() {
    let lab = ProxyLab::start();
    let plain = Backend::start("plain");
    let strict = Backend::start("strict");
    assert_eq!(lab.add("plain.test", plain.addr(), "off").status, 201);
    let body = serde_json::json!({
        "name": "strict.test",
        "target": {"address": "127.0.0.1", "port": strict.addr().port()},
        "hsts": true,
    });
    assert_eq!(
        lab.api("POST", "/api/v1/domains", &body.to_string()).status,
        201
    );
    lab.wait_for_hosts(&["plain.test", "strict.test"]);
    assert_eq!(
        curl_resolve("plain.test", lab.http_port, None, "/"),
        (200, "plain".to_string())
    );
    lab.caddy.wait_for_local_cert("strict.test");
    let root = lab.caddy.local_root_pem();
    let r = curl_resolve_with("strict.test", lab.https_port, Some(&root), "/", &[]);
    assert_eq!(r.status, 200, "{}", r.stderr);
    assert_eq!(
        r.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    // Caddy sends the client's address, not one the client made up.
    let r = curl_resolve_with(
        "strict.test",
        lab.https_port,
        Some(&root),
        "/",
        &["-H", "X-Forwarded-For: 203.0.113.66"],
    );
    assert_eq!(r.header(ECHO_XFF), Some("127.0.0.1"));
}

#[test]
fn a_bad_name_is_refused_and_caddy_is_unchanged() {
    let (lab, backend) = serving("ok.test", "ok");
    let before = lab.caddy.running_config();
    for (name, field) in [
        ("bad host!.test", "name"),
        ("*.not-under-the-box.test", "name"),
        ("ok2.test", "target.address"),
    ] {
        let body = serde_json::json!({
            "name": name,
            "target": {"address": if field == "target.address" { "192.0.2.1" } else { "127.0.0.1" }, "port": 80},
        });
        let r = lab.api("POST", "/api/v1/domains", &body.to_string());
        assert_eq!(r.status, 400, "{name}: {:?}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{name}");
    }
    let r = lab.add("ok.test", backend.addr(), "internal");
    assert_eq!(r.status, 409, "a name is taken once");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(lab.caddy.running_config(), before);
}

#[test]
fn a_restarted_caddy_is_loaded_again() {
    let (mut lab, _backend) = serving("back.test", "back");
    lab.caddy.kill();
    // While Caddy is down, the proxy is degraded and hearth serves on.
    eventually_blocking(Duration::from_secs(15), "the proxy to be degraded", || {
        let health = lab.api("GET", "/api/v1/health", "").json();
        health.to_string().contains("\"proxy\"")
            && health["components"]["proxy"]["state"] == "degraded"
    });
    lab.caddy.restart();
    let restarted = Instant::now();
    lab.wait_for_hosts(&["back.test"]);
    let took = restarted.elapsed();
    eprintln!("config back in Caddy {took:?} after its restart");
    lab.caddy.wait_for_local_cert("back.test");
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("back.test", lab.https_port, Some(&root), "/"),
        (200, "back".to_string())
    );
}

#[test]
fn twenty_quick_changes_are_a_few_loads() {
    let lab = ProxyLab::start();
    let backend = Backend::start("b");
    lab.wait_for_hosts(&[]);
    let loads_before = lab.caddy.log().matches("load complete").count();
    for i in 0..20 {
        assert_eq!(
            lab.add(&format!("n{i}.test"), backend.addr(), "internal")
                .status,
            201
        );
    }
    let names: Vec<String> = (0..20).map(|i| format!("n{i}.test")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    lab.wait_for_hosts(&names);
    std::thread::sleep(Duration::from_secs(1));
    let loads = lab.caddy.log().matches("load complete").count() - loads_before;
    eprintln!("20 changes, {loads} loads");
    assert!((1..=5).contains(&loads), "20 changes took {loads} loads");
}

#[test]
fn the_ask_endpoint_knows_the_configured_names() {
    let (lab, _backend) = serving("known.test", "b");
    let ask = |name: &str| {
        let url = format!("http://127.0.0.1:{}/ask?domain={name}", lab.ask_port);
        let out = std::process::Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &url])
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    assert_eq!(ask("known.test"), "200");
    assert_eq!(ask("KNOWN.test"), "200");
    assert_eq!(ask("unknown.test"), "403");
    assert_eq!(ask("sub.known.test"), "403");
    // Caddy is told where to ask.
    let config = lab.caddy.running_config();
    assert_eq!(
        config["apps"]["tls"]["automation"]["on_demand"]["ask"],
        format!("http://127.0.0.1:{}/ask", lab.ask_port)
    );
}

#[test]
fn hearths_own_pages_through_caddy_pin_hearths_certificate() {
    let lab = ProxyLab::start();
    let body = serde_json::json!({"name": "box.test", "target": {"kind": "hearth"}});
    let r = lab.api("POST", "/api/v1/domains", &body.to_string());
    assert_eq!(r.status, 201, "{:?}", r.body);
    lab.wait_for_hosts(&["box.test"]);
    lab.caddy.wait_for_local_cert("box.test");
    let root = lab.caddy.local_root_pem();
    let r = curl_resolve_with(
        "box.test",
        lab.https_port,
        Some(&root),
        "/api/v1/health",
        &[],
    );
    assert_eq!(r.status, 200, "{} {}", r.body, r.stderr);
    assert!(r.body.contains("\"proxy\""), "{}", r.body);
}

/// Waits on `stream` for a `proxy` report (or a snapshot holding one)
/// that satisfies `done`; answers it.
async fn proxy_report(
    stream: &mut common::sse::SseStream,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    stream.until("proxy", Duration::from_secs(30), done).await
}

fn names(report: &serde_json::Value) -> Vec<String> {
    report["status"]["domains"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_proxy_topic_shows_each_domains_health_and_members_their_own() {
    let lab = ProxyLab::start();
    let backend = Backend::start("b");
    common::on_own_runtime(
        lab.hearth
            .add_user("ann", "a long enough password 1", "member"),
    );
    let body = serde_json::json!({
        "name": "ann.test", "owner": "ann",
        "target": {"address": "127.0.0.1", "port": backend.addr().port()},
    });
    assert_eq!(
        lab.api("POST", "/api/v1/domains", &body.to_string()).status,
        201
    );
    assert_eq!(
        lab.add("admin.test", backend.addr(), "internal").status,
        201
    );
    let admin = lab.hearth.admin_client();
    let mut member = lab.hearth.client();
    common::on_own_runtime(async {
        member.session = Some(member.login("ann", "a long enough password 1").await);
        let path = "/api/v1/events?topics=proxy";
        let mut all = common::sse::open(&admin, common::Protocol::Http2, path, None).await;
        let report = proxy_report(&mut all, |r| {
            r["status"]["domains"].as_array().is_some_and(|d| {
                d.len() == 2 && d.iter().all(|d| d["health"]["certificate"].is_object())
            })
        })
        .await;
        assert_eq!(names(&report), ["admin.test", "ann.test"]);
        let health = &report["status"]["domains"][0]["health"];
        let issuer = health["certificate"]["issuer"].as_str().unwrap();
        assert!(issuer.contains("Caddy Local Authority"), "{issuer}");
        assert!(health["certificate"]["not_after_ms"].as_u64().unwrap() > 0);
        // `.test` names are in no DNS: said, not hidden.
        assert!(health["dns"]["error"].is_string(), "{health}");
        assert_eq!(report["state"], "ok");

        let mut own = common::sse::open(&member, common::Protocol::Http2, path, None).await;
        let report = proxy_report(&mut own, |r| r["status"]["domains"].is_array()).await;
        assert_eq!(names(&report), ["ann.test"], "a member sees only their own");
        let listed = member.get("/api/v1/domains").await.json();
        assert_eq!(listed["domains"].as_array().unwrap().len(), 1);
        let other = member.get("/api/v1/domains/admin.test").await;
        assert_eq!(
            other.status, 404,
            "another's domain does not exist for a member"
        );
    });
}

#[test]
fn a_load_caddy_refuses_is_reported_and_the_previous_config_runs_on() {
    let (lab, backend) = serving("kept.test", "kept");
    // Something else holds the HTTP port: a plain-HTTP site cannot listen.
    let squatter = std::net::TcpListener::bind(("127.0.0.1", lab.http_port)).unwrap();
    assert_eq!(lab.add("plain.test", backend.addr(), "off").status, 201);
    eventually_blocking(
        Duration::from_secs(15),
        "the record to say the load failed",
        || {
            let d = lab.api("GET", "/api/v1/domains/plain.test", "").json();
            d["apply"]["state"] == "failed"
                && d["apply"]["error"]
                    .as_str()
                    .is_some_and(|e| e.contains("address already in use"))
        },
    );
    let health = lab.api("GET", "/api/v1/health", "").json();
    assert_eq!(
        health["components"]["proxy"]["state"], "degraded",
        "{health}"
    );
    // Caddy runs its previous config: the first domain still answers.
    // (Caddy puts its previous config back after the refused load, and
    // its TLS for the name with it: the handshake may fail for a moment
    // meanwhile, an "internal error" alert, so the answer is waited for.)
    assert_eq!(lab.routed_hosts(), ["kept.test"]);
    lab.caddy.wait_for_local_cert("kept.test");
    let root = lab.caddy.local_root_pem();
    eventually_blocking(Duration::from_secs(15), "the kept domain to answer", || {
        curl_resolve("kept.test", lab.https_port, Some(&root), "/") == (200, "kept".to_string())
    });
    // Once the port is free, the retry loads it.
    drop(squatter);
    lab.wait_for_hosts(&["kept.test", "plain.test"]);
    eventually_blocking(Duration::from_secs(30), "the record to be applied", || {
        lab.api("GET", "/api/v1/domains/plain.test", "").json()["apply"]["state"] == "applied"
    });
    assert_eq!(
        curl_resolve("plain.test", lab.http_port, None, "/"),
        (200, "kept".to_string())
    );
}

#[test]
fn a_wildcard_gets_certificates_on_demand_for_the_names_hearth_vouches_for() {
    let lab = ProxyLab::start_opts(LabOptions {
        box_domain: Some("box.test"),
        ..LabOptions::default()
    });
    let backend = Backend::start("any app");
    let r = lab.add("*.box.test", backend.addr(), "internal");
    assert_eq!(r.status, 201, "{:?}", r.body);
    lab.wait_for_hosts(&["*.box.test"]);
    // No certificate until a client asks for a name; then Caddy asks
    // hearth, which says yes for one label under the wildcard.
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("app.box.test", lab.https_port, Some(&root), "/"),
        (200, "any app".to_string())
    );
    assert!(
        lab.caddy
            .storage_dir()
            .join("certificates/local/app.box.test/app.box.test.crt")
            .exists(),
        "a certificate for the name asked"
    );
    assert!(
        lab.caddy.log().contains("tls.on_demand"),
        "issued on demand, after hearth said yes"
    );
    // Two labels deep is not under the wildcard: no certificate.
    let (status, _) = curl_resolve("a.b.box.test", lab.https_port, Some(&root), "/");
    assert_eq!(status, 0, "no handshake for a name two labels deep");
    assert!(
        !lab.caddy
            .storage_dir()
            .join("certificates/local/a.b.box.test")
            .exists()
    );
}

#[test]
fn a_members_domain_reaches_their_servers_port_and_says_when_the_server_is_gone() {
    let lab = ProxyLab::start();
    // No engine runs here (servers.manage = false): the server's published
    // port is a plain HTTP listener the test holds on 127.0.0.1, where
    // rootlesskit would hold it (on every address of the box).
    let published = Backend::start("from mia's server");
    let port = published.addr().port();
    let password = "a long enough password 1";
    common::on_own_runtime(lab.hearth.add_user("mia", password, "member"));
    common::on_own_runtime(lab.hearth.add_user("max", password, "member"));
    let client = lab.hearth.client();
    let login = |who: &str| common::on_own_runtime(client.login(who, password));
    let (mia, max) = (login("mia"), login("max"));
    let call = |token: &str, method: &str, path: &str, body: serde_json::Value| {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        common::on_own_runtime(client.as_user(token, method, path, &body))
    };
    let r = call(
        &mia,
        "POST",
        "/api/v1/servers",
        serde_json::json!({"name": "web", "ports": [{"port": port}, {"port": port, "protocol": "udp"}]}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let server = r.json()["id"].as_str().unwrap().to_string();

    // A member may not lead a domain to an address, nor to another's
    // server, which is refused as one that does not exist.
    let to = |server: &str, port: u16| serde_json::json!({"name": "mia.test", "target": {"kind": "server", "server": server, "port": port}, "tls": "internal"});
    let address =
        serde_json::json!({"name": "mia.test", "target": {"address": "127.0.0.1", "port": port}});
    assert_eq!(call(&mia, "POST", "/api/v1/domains", address).status, 403);
    let theirs = call(&max, "POST", "/api/v1/domains", to(&server, port));
    assert_eq!(theirs.status, 400, "{:?}", theirs.body);
    assert_eq!(theirs.json()["error"]["field"], "target.server");
    let none = call(&max, "POST", "/api/v1/domains", to("c0ffee00", port));
    assert_eq!(
        theirs.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace(&server, "ID"),
        none.json()["error"]["message"]
            .as_str()
            .unwrap()
            .replace("c0ffee00", "ID")
    );
    let unpublished = call(&mia, "POST", "/api/v1/domains", to(&server, port ^ 1));
    assert_eq!(unpublished.status, 400, "{:?}", unpublished.body);
    assert_eq!(unpublished.json()["error"]["field"], "target.port");

    // Her domain to her server's port: through Caddy to the listener.
    let r = call(&mia, "POST", "/api/v1/domains", to(&server, port));
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json()["target"]["kind"], "server");
    lab.wait_for_hosts(&["mia.test"]);
    let config = lab.caddy.running_config();
    let route = &config["apps"]["http"]["servers"]["https"]["routes"][0];
    assert_eq!(
        route["handle"][0]["upstreams"][0]["dial"],
        format!("127.0.0.1:{port}")
    );
    lab.caddy.wait_for_local_cert("mia.test");
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("mia.test", lab.https_port, Some(&root), "/hello"),
        (200, "from mia's server".to_string())
    );
    assert!(
        published.seen().iter().any(|r| r.path == "/hello"),
        "the listener answered"
    );

    // The server deleted: the domain stays, Caddy answers 502 for it
    // (no longer dialling a port anything could take), and the record
    // and the proxy's report say why.
    let r = call(
        &mia,
        "DELETE",
        &format!("/api/v1/servers/{server}"),
        serde_json::Value::Null,
    );
    assert_eq!(r.status, 202, "{:?}", r.body);
    let gone = format!("server {server} is gone");
    eventually_blocking(
        Duration::from_secs(15),
        "Caddy to answer 502 for mia.test",
        || curl_resolve("mia.test", lab.https_port, Some(&root), "/").0 == 502,
    );
    assert_eq!(
        curl_resolve("mia.test", lab.https_port, Some(&root), "/"),
        (502, "This site's server no longer exists.\n".to_string())
    );
    let d = call(
        &mia,
        "GET",
        "/api/v1/domains/mia.test",
        serde_json::Value::Null,
    )
    .json();
    assert_eq!(d["target_error"], gone.as_str(), "{d}");
    assert_eq!(d["apply"]["state"], "applied", "{d}");
    assert_eq!(lab.routed_hosts(), ["mia.test"]);
    common::on_own_runtime(async {
        let path = "/api/v1/events?topics=proxy";
        let admin = lab.hearth.admin_client();
        let mut stream = common::sse::open(&admin, common::Protocol::Http2, path, None).await;
        let report = proxy_report(&mut stream, |r| {
            r["status"]["domains"][0]["target_error"] == gone.as_str()
        })
        .await;
        assert_eq!(report["status"]["last_load"]["reason"], "servers changed");
    });
}
