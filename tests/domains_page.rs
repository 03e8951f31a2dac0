//! The domains page in headless Chromium, against a hearth that drives a
//! real Caddy (`common::proxy_lab`): an admin adds a domain to a loopback
//! backend and sees it come into force without reloading, with its DNS
//! and certificate checks; a bad name is marked at its field; a change
//! and a removal; the web server's state when Caddy is gone. A member
//! sees only their own domain, is told how to get a server to lead one
//! to, leads a domain to her server's published port (through Caddy),
//! and sees it say so when the server is gone.
//! Needs caddy, curl, chromium and chromium-driver.

use hearth_testkit as common;

use std::path::PathBuf;
use std::time::Duration;

use common::caddy_lab::{Backend, curl_resolve};
use common::proxy_lab::ProxyLab;
use common::webdriver::Browser;
use common::{ADMIN_PASSWORD, Daemon, TlsClient};
use common::{eventually, when};
use serde_json::{Value, json};

const MEMBER_PASSWORD: &str = "a member's own long passphrase";

/// Signs `user` in on the sign-in page, which leads to /domains, and
/// waits until the page has the list and the web server's first report.
async fn open_domains(b: &Browser, d: &Daemon, user: &str, password: &str) {
    b.sign_in_at(
        &d.url("/login?next=%2Fdomains"),
        (user, password),
        "return location.pathname === '/domains' && document.readyState === 'complete' && !document.getElementById('domains-page').hidden && document.getElementById('proxy-state').classList.contains('state-ok') && (document.querySelector('#domains li') !== null || !document.getElementById('domains-none').hidden)",
        "the domains page with its list and the web server's state",
    )
    .await;
    // The sign-in page asks who is signed in (401 before): expected.
    b.assert_no_severe_errors(&["401 ()"]).await;
}

/// What the page shows of domain `name`: each `data-field` of its entry
/// by name, its heading as `name`, its buttons as `buttons`; null when
/// it is not listed.
async fn shown(b: &Browser, name: &str) -> Value {
    b.eval_with(
        "const li = Array.from(document.querySelectorAll('#domains li')).find(l => l.dataset.name === arguments[0]); if (!li) return null; const f = {name: li.querySelector('h3').textContent, buttons: Array.from(li.querySelectorAll('button'), x => x.getAttribute('aria-label'))}; for (const e of li.querySelectorAll('[data-field]')) f[e.dataset.field] = e.textContent; return f;",
        &[json!(name)],
    )
    .await
}

/// The names listed, in order.
async fn listed(b: &Browser) -> Value {
    b.eval("return Array.from(document.querySelectorAll('#domains li'), l => l.dataset.name)")
        .await
}

/// Polls `check` on what the page shows of `name` until it holds, for
/// up to `patience` (the health checks take a few seconds after a load).
async fn wait_shown(
    b: &Browser,
    name: &str,
    what: &str,
    patience: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    eventually(patience, what, || async {
        let v = shown(b, name).await;
        if check(&v) {
            Ok(v)
        } else {
            Err(format!(
                "the page shows {v} and says {:?}",
                b.text_if_any("#proxy-state").await
            ))
        }
    })
    .await
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

/// The domains as the API lists them to the admin, by name.
fn api_names(lab: &ProxyLab) -> Vec<String> {
    let r = lab.api("GET", "/api/v1/domains", "");
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

/// The error shown at input `id` (its `-error` note, tied to it through
/// aria-describedby), whether it has the focus, and the form's message.
async fn field_error(b: &Browser, id: &str) -> Value {
    b.eval_with(
        "const i = document.getElementById(arguments[0]); const e = document.getElementById(arguments[0] + '-error'); return [i.getAttribute('aria-invalid'), (i.getAttribute('aria-describedby') || '').split(' ').includes(arguments[0] + '-error'), e ? e.textContent : null, document.activeElement === i, document.getElementById('form-message').textContent];",
        &[json!(id)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_admin_adds_a_domain_sees_it_applied_live_changes_and_removes_it() {
    let mut lab = ProxyLab::start();
    let backend = Backend::start("web");
    let b = lab.hearth.browser().await;
    open_domains(&b, &lab.hearth, "admin", ADMIN_PASSWORD).await;

    let nav = b
        .eval("return Array.from(document.querySelectorAll('#shell nav a'), a => [a.textContent, a.getAttribute('aria-current')])")
        .await;
    assert_eq!(
        nav,
        json!([
            ["Status", null],
            ["Domains", "page"],
            ["Servers", null],
            ["Account", null],
            ["Admin", null]
        ]),
        "the page is in the navigation"
    );
    assert_eq!(b.text("#h-domains").await, "All domains");
    assert_eq!(
        b.text("#proxy-state").await,
        "Caddy is up: 0 domains served."
    );
    // Set on this document: a reload would lose it.
    b.eval("window.sameDocument = true; return true").await;

    a_refused_name_is_said_at_its_field(&b, &lab, &backend).await;
    a_good_name_is_listed_and_served(&b, &lab, &backend).await;
    the_health_checks_arrive_live(&b).await;
    a_change_to_https_only_is_in_force(&b, &lab, &backend).await;
    a_removal_asks_first(&b, &lab).await;
    caddy_gone_is_said_live(&b, &mut lab).await;
    // The refusal (400) is how the page learnt of the bad name.
    b.assert_no_severe_errors(&["400 ()"]).await;
}

/// A name the box refuses: said at the name, and nothing stored.
async fn a_refused_name_is_said_at_its_field(b: &Browser, lab: &ProxyLab, backend: &Backend) {
    let port = backend.addr().port().to_string();
    let fields = [
        ("#d-name", "localhost"),
        ("#d-address", "127.0.0.1"),
        ("#d-port", port.as_str()),
        ("#d-tls", "internal"),
    ];
    b.fill(&fields).await;
    b.click("#d-submit").await;
    b.wait_invalid("#d-name", "the bad name marked at its field")
        .await;
    assert_eq!(
        field_error(b, "d-name").await,
        json!([
            "true",
            true,
            "The name must have at least two labels, like example.org.",
            true,
            ""
        ]),
        "the message at the name, tied to it, with the focus there"
    );
    assert!(api_names(lab).is_empty(), "nothing stored");
    b.check_page("domains-bad-name").await;
}

/// A good one: listed at once, in force as soon as Caddy took it.
async fn a_good_name_is_listed_and_served(b: &Browser, lab: &ProxyLab, backend: &Backend) {
    b.set_value("#d-name", "web.test").await;
    b.click("#d-submit").await;
    b.wait_for(
        "return document.querySelector('#domains li') !== null && document.getElementById('d-name').value === ''",
        "the new domain listed and the form emptied",
    )
    .await;
    let entry = wait_shown(
        b,
        "web.test",
        "web.test applied",
        Duration::from_secs(15),
        |v| field(v, "apply-state") == "Applied",
    )
    .await;
    assert_eq!(field(&entry, "apply"), "Caddy serves it as shown.");
    assert_eq!(
        field(&entry, "target"),
        format!("127.0.0.1:{}", backend.addr().port())
    );
    assert_eq!(field(&entry, "owner"), "admin");
    assert_eq!(field(&entry, "tls"), "The box's own authority");
    assert_eq!(
        entry["buttons"],
        json!(["Change web.test", "Remove web.test"])
    );
    assert_eq!(
        b.eval("return [window.sameDocument === true, document.getElementById('d-name').hasAttribute('aria-invalid'), document.getElementById('message').textContent]")
            .await,
        json!([
            true,
            false,
            "web.test was added; the web server takes it within a second or two."
        ]),
        "no reload, the old error gone, the addition said"
    );
    assert_eq!(api_names(lab), ["web.test"]);
    // It is real: Caddy routes it to the backend with its local CA.
    lab.wait_for_hosts(&["web.test"]);
    lab.caddy.wait_for_local_cert("web.test");
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("web.test", lab.https_port, Some(&root), "/"),
        (200, "web".to_string())
    );
}

/// The health checks arrive on the stream: the name does not resolve
/// here (no DNS for .test), the certificate is the local CA's.
async fn the_health_checks_arrive_live(b: &Browser) {
    let entry = wait_shown(
        b,
        "web.test",
        "the certificate from the health check",
        Duration::from_secs(30),
        |v| field(v, "certificate").starts_with("From Caddy Local Authority"),
    )
    .await;
    let cert = field(&entry, "certificate");
    assert!(
        cert.contains("; valid until ") && cert.ends_with(" left)."),
        "issuer, expiry and time left: {cert}"
    );
    assert_eq!(
        field(&entry, "dns"),
        "Does not lead here: the name does not resolve. Point its DNS (an A or AAAA record) at this box."
    );
    assert_eq!(
        b.text("#proxy-state").await,
        "Caddy is up: 1 domain served."
    );
    let last = b.text("#proxy-last").await;
    assert!(
        last.starts_with("Last loaded ") && last.ends_with(", because the domains changed."),
        "{last}"
    );
    assert_eq!(b.eval("return window.sameDocument === true").await, true);
    b.check_page("domains").await;
}

/// A change: HTTPS only.
async fn a_change_to_https_only_is_in_force(b: &Browser, lab: &ProxyLab, backend: &Backend) {
    b.click("button[aria-label='Change web.test']").await;
    assert_eq!(
        b.eval("return [document.getElementById('h-domain-form').textContent, document.getElementById('d-name').value, document.getElementById('d-name').readOnly, document.getElementById('d-tls').value, document.getElementById('d-port').value, document.getElementById('d-submit').textContent]")
            .await,
        json!([
            "Change web.test",
            "web.test",
            true,
            "internal",
            backend.addr().port().to_string(),
            "Save changes"
        ]),
        "the form holds the domain"
    );
    b.click("#d-hsts").await;
    b.click("#d-submit").await;
    wait_shown(
        b,
        "web.test",
        "the change in force",
        Duration::from_secs(15),
        |v| {
            field(v, "tls") == "The box's own authority, HTTPS only (HSTS)"
                && field(v, "apply-state") == "Applied"
        },
    )
    .await;
    let r = lab.api("GET", "/api/v1/domains/web.test", "");
    assert_eq!(r.json()["hsts"], true, "{:?}", r.body);
    assert_eq!(b.text("#h-domain-form").await, "Add a domain");
}

/// Removed, after the confirmation.
async fn a_removal_asks_first(b: &Browser, lab: &ProxyLab) {
    b.click("button[aria-label='Remove web.test']").await;
    b.wait_dialog().await;
    assert_eq!(b.text("#confirm-title").await, "Remove web.test?");
    b.click("#confirm-ok").await;
    b.wait_for(
        "return document.querySelector('#domains li') === null && !document.getElementById('domains-none').hidden",
        "the list without web.test",
    )
    .await;
    assert_eq!(b.text("#message").await, "web.test was removed.");
    assert!(api_names(lab).is_empty());
    lab.wait_for_hosts(&[]);
    b.wait_text(
        "#proxy-state",
        "Caddy is up: 0 domains served.",
        "the report after the removal",
    )
    .await;
}

/// Caddy gone: the page says so, live.
async fn caddy_gone_is_said_live(b: &Browser, lab: &mut ProxyLab) {
    lab.caddy.kill();
    let state = eventually(Duration::from_secs(20), "the degraded state", || async {
        let state = b
            .eval("const s = document.getElementById('proxy-state'); return [s.classList.contains('state-degraded'), s.textContent]")
            .await;
        when(state, |s| s[0] == true)
    })
    .await;
    assert!(
        state[1]
            .as_str()
            .unwrap()
            .starts_with("Caddy unreachable: cannot observe the component; see the log. What was in force stays in force."),
        "{state}"
    );
    let cause = b.text("#proxy-cause").await;
    assert!(cause.contains("cannot reach Caddy's admin API"), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_leads_a_domain_to_her_server_and_sees_when_it_is_gone() {
    let lab = ProxyLab::start();
    let backend = Backend::start("mia");
    // No engine runs here (servers.manage = false): her server's published
    // port is a listener the test holds on 127.0.0.1, where rootlesskit
    // would hold it.
    let app = Backend::start("mia's app");
    lab.hearth.add_user("mia", MEMBER_PASSWORD, "member").await;
    let body = json!({
        "name": "mia.test",
        "owner": "mia",
        "target": {"address": "127.0.0.1", "port": backend.addr().port()},
        "tls": "internal",
    });
    let r = lab.api("POST", "/api/v1/domains", &body.to_string());
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(
        lab.add("admin.test", backend.addr(), "internal").status,
        201
    );
    lab.wait_for_hosts(&["admin.test", "mia.test"]);

    // What the page relies on: a member adding one to anything but her
    // server is refused, saying why.
    let client = lab.hearth.client();
    let token = client.login("mia", MEMBER_PASSWORD).await;
    let mine = json!({"name": "mine.test", "target": {"kind": "hearth"}});
    let r = client
        .as_user(&token, "POST", "/api/v1/domains", &mine.to_string())
        .await;
    assert_eq!(r.status, 403, "{:?}", r.body);
    let refusal = r.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(refusal.contains("their own servers"), "{refusal}");

    let b = lab.hearth.browser().await;
    open_domains(&b, &lab.hearth, "mia", MEMBER_PASSWORD).await;
    her_page_shows_only_hers(&b).await;
    let (id, root) = her_server_is_chosen_and_reached(&b, &lab, (&client, &token), &app).await;

    // Her server deleted: the domain stays, and says why it is not
    // reached, live.
    let r = client
        .as_user(&token, "DELETE", &format!("/api/v1/servers/{id}"), "")
        .await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let entry = wait_shown(
        &b,
        "app.test",
        "the gone server said",
        Duration::from_secs(15),
        |v| !field(v, "target-error").is_empty(),
    )
    .await;
    assert_eq!(
        field(&entry, "target-error"),
        format!("Visitors get an error page: server {id} is gone.")
    );
    // Caddy's load may follow the page's word by a moment.
    eventually(Duration::from_secs(15), "Caddy answering 502", || async {
        let got = curl_resolve("app.test", lab.https_port, Some(&root), "/");
        if got.0 == 502 {
            Ok(())
        } else {
            Err(format!("{got:?}"))
        }
    })
    .await;
    b.check_page("domains-member-server").await;
    b.assert_no_severe_errors(&[]).await;
}

/// Her page: her domain only, with its health, no owner column, no form
/// (she has no server yet) but the way to get one.
async fn her_page_shows_only_hers(b: &Browser) {
    assert_eq!(
        b.eval("return Array.from(document.querySelectorAll('#shell nav a'), a => a.textContent)")
            .await,
        json!(["Status", "Domains", "Servers", "Account"])
    );
    assert_eq!(listed(b).await, json!(["mia.test"]), "only her own");
    let entry = wait_shown(
        b,
        "mia.test",
        "her domain applied, with its health from her stream",
        Duration::from_secs(30),
        |v| {
            field(v, "apply-state") == "Applied"
                && field(v, "certificate").starts_with("From Caddy Local Authority")
        },
    )
    .await;
    assert!(entry.get("owner").is_none(), "no owner column: {entry}");
    assert_eq!(
        entry["buttons"],
        json!(["Change mia.test", "Remove mia.test"]),
        "hers to change (to one of her servers) and remove"
    );
    assert_eq!(b.text("#h-domains").await, "Your domains");
    assert_eq!(
        b.text("#proxy-state").await,
        "Caddy is up.",
        "not how many domains others have"
    );
    // No server yet: the note says how to get one, instead of a form.
    let state = b
        .eval("return [document.getElementById('domain-form').hidden, document.getElementById('member-note').hidden, document.getElementById('member-note').textContent.trim()]")
        .await;
    assert_eq!(state[0], true, "no form she cannot use: {state}");
    assert_eq!(state[1], false, "the way instead: {state}");
    let note = state[2].as_str().unwrap();
    assert!(
        note.contains("leads to one of your servers")
            && note.contains("You have no server yet")
            && note.contains("Servers page"),
        "{note}"
    );
    // Her stream names none of the admin's domains either.
    assert_eq!(
        b.eval("return dm.report.status.domains.map(d => d.name)")
            .await,
        json!(["mia.test"])
    );
    b.check_page("domains-member").await;
}

/// Her server, publishing the app's port for tcp and another for udp, is
/// the one choice of target; the domain led to it is served through
/// Caddy. Answers the server's id and the local CA's root.
async fn her_server_is_chosen_and_reached(
    b: &Browser,
    lab: &ProxyLab,
    (client, token): (&TlsClient, &str),
    app: &Backend,
) -> (String, PathBuf) {
    let port = app.addr().port();
    let server =
        json!({"name": "web", "ports": [{"port": port}, {"port": port, "protocol": "udp"}]});
    let r = client
        .as_user(token, "POST", "/api/v1/servers", &server.to_string())
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.json()["id"].as_str().unwrap().to_string();
    b.goto(&lab.hearth.url("/domains")).await;
    b.wait_for(
        "return document.readyState === 'complete' && !document.getElementById('domain-form').hidden && document.getElementById('d-server').value !== ''",
        "the form, with her server to choose",
    )
    .await;
    // One choice: her servers, and of each its tcp ports.
    assert_eq!(
        b.eval("return [Array.from(document.querySelectorAll('#d-kind label'), l => [l.textContent.trim(), !l.hidden]), document.getElementById('d-kind-server').checked, document.getElementById('d-owner-fields').hidden, document.getElementById('member-note').hidden, Array.from(document.querySelectorAll('#d-server option'), o => [o.value, o.textContent]), Array.from(document.querySelectorAll('#d-server-port option'), o => o.value)]")
            .await,
        json!([
            [
                ["One of my servers", true],
                ["An address and port on the box", false],
                ["hearth itself (these pages)", false],
                ["Where an admin led it", false]
            ],
            true,
            true,
            true,
            [[id, format!("web ({id})")]],
            [port.to_string()]
        ])
    );
    b.set_value("#d-name", "app.test").await;
    b.set_value("#d-tls", "internal").await;
    b.click("#d-submit").await;
    let entry = wait_shown(
        b,
        "app.test",
        "app.test applied",
        Duration::from_secs(15),
        |v| field(v, "apply-state") == "Applied",
    )
    .await;
    assert_eq!(
        field(&entry, "target"),
        format!("Server web ({id}), port {port}")
    );
    assert!(entry.get("target-error").is_none(), "{entry}");
    assert_eq!(
        b.text("#message").await,
        "app.test was added; the web server takes it within a second or two."
    );
    // Real: through Caddy to her server's port.
    lab.wait_for_hosts(&["admin.test", "app.test", "mia.test"]);
    lab.caddy.wait_for_local_cert("app.test");
    let root = lab.caddy.local_root_pem();
    assert_eq!(
        curl_resolve("app.test", lab.https_port, Some(&root), "/"),
        (200, "mia's app".to_string())
    );
    (id, root)
}
