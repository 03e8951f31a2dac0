//! The account page's server certificates in headless Chromium, used as a
//! member would: make one (its three files shown once, with the `docker
//! context create` command for their server), see it listed, revoke it
//! after the dialog, and the API agrees at each step; the page passes its
//! checks (axe-core, no sideways scroll at 1280 and 390 px) and says a
//! failed call in the section instead of throwing. Needs chromium and
//! chromium-driver. The servers' certificate authority is made in the
//! state folder under any configuration, so the daemon here runs no
//! servers: the member's server is a record, which is all the command
//! needs.

use hearth_testkit as common;

use base64::Engine;
use common::webdriver::{Browser, sign_in_and_open_status};
use common::{ADMIN_PASSWORD, Daemon, Options, TlsClient};
use serde_json::{Value, json};

const PASSWORD: &str = "a member's own long passphrase";

/// The caller's certificates, as the API lists them.
async fn listed(ann: &TlsClient) -> Vec<Value> {
    let r = ann.get("/api/v1/server-certificates").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()["certificates"].as_array().unwrap().clone()
}

/// The DER of a PEM certificate.
fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// What the page lists: per certificate its id, heading, state, facts,
/// the fingerprint's title and its buttons' texts and names.
const SHOWN: &str = "return Array.from(document.querySelectorAll('#certs li'), l => ({id: l.dataset.id, heading: l.querySelector('h3').textContent, state: l.querySelector('[data-field=state]').textContent, facts: Array.from(l.querySelectorAll('dt'), t => [t.textContent, t.nextElementSibling.textContent]), title: l.querySelector('code').title, buttons: Array.from(l.querySelectorAll('button'), b => [b.textContent, b.getAttribute('aria-label')])}))";

/// The certificates' section shown, with no certificate listed.
const NO_CERTIFICATES: &str = "return !document.getElementById('certs-section').hidden && !document.getElementById('certs-none').hidden && document.querySelector('#certs li') === null";

/// Signs in through the status page, then opens the account page.
async fn open_account(b: &Browser, d: &Daemon, username: &str, password: &str) {
    sign_in_and_open_status(b, d.addr().port(), username, password).await;
    b.goto(&d.url("/account")).await;
}

/// Scrolls to the certificates, so that the checks' screenshots show them.
async fn show_section(b: &Browser) {
    b.eval("document.getElementById('certs-section').scrollIntoView({block: 'end'}); return true")
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_makes_lists_and_revokes_a_server_certificate() {
    let mut d = Daemon::start(Options::default());
    d.add_user("ann", PASSWORD, "member").await;
    let mut ann = d.client();
    ann.session = Some(ann.login("ann", PASSWORD).await);
    let r = ann
        .call("POST", "/api/v1/servers", r#"{"name":"web"}"#)
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let port = r.json()["engine_port"].as_u64().expect("an engine port");
    // Someone else's certificate, on no page but theirs.
    let bob = d.signed_in("bob", "member").await;
    let r = bob.call("POST", "/api/v1/server-certificates", "").await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let b = d.browser().await;
    open_account(&b, &d, "ann", PASSWORD).await;
    b.wait_for(NO_CERTIFICATES, "the certificates' section, with none yet")
        .await;

    // Made: the three files, the command for ann's server, then listed.
    // The files' contents are caught as the page hands them to the
    // browser (a blob: fetch is outside the pages' CSP).
    b.eval("window.saved = []; const make = URL.createObjectURL; URL.createObjectURL = (blob) => { window.saved.push(blob); return make(blob); }; return true")
        .await;
    b.click("#cert-issue").await;
    b.wait_for(
        "return !document.getElementById('cert-shown').hidden && document.querySelectorAll('#cert-files a[download]').length === 3 && document.querySelector('#certs li') !== null",
        "the certificate's files, and the certificate listed",
    )
    .await;
    let files = b
        .eval("return Array.from(document.querySelectorAll('#cert-files a'), a => a.download)")
        .await;
    assert_eq!(files, json!(["ca.pem", "cert.pem", "key.pem"]));
    let saved = b
        .eval_async(
            "const done = arguments[arguments.length - 1]; Promise.all(window.saved.map(b => b.text())).then(done)",
        )
        .await;
    let [ca, cert, key_pem] = [0, 1, 2].map(|i| saved[i].as_str().unwrap().to_string());
    assert!(key_pem.contains("PRIVATE KEY"), "{key_pem}");
    assert_eq!(
        ca,
        std::fs::read_to_string(d.state_dir().join("servers-ca.pem")).unwrap(),
        "ca.pem is the servers' authority"
    );
    let command = b.text("#cert-command").await;
    assert_eq!(
        command,
        format!(
            "docker context create hearth-web --docker \"host=tcp://localhost:{port},ca=ca.pem,cert=cert.pem,key=key.pem\"\ndocker context use hearth-web"
        )
    );
    let note = b
        .eval("return document.querySelector('#cert-shown .message').textContent")
        .await;
    assert!(
        note.as_str().unwrap().contains("shown only this once"),
        "{note}"
    );

    let api = listed(&ann).await;
    assert_eq!(api.len(), 1, "{api:?}");
    let fingerprint = api[0]["fingerprint"].as_str().unwrap();
    let id = api[0]["id"].as_str().unwrap();
    assert_eq!(
        hearth::servers::access::ca::fingerprint(&der(&cert)),
        fingerprint,
        "cert.pem is the certificate listed"
    );
    let all = b.eval(SHOWN).await;
    assert_eq!(all.as_array().unwrap().len(), 1, "only ann's: {all}");
    let shown = &all[0];
    assert_eq!(shown["id"], id);
    assert!(
        shown["heading"].as_str().unwrap().starts_with("Made "),
        "{shown}"
    );
    assert_eq!(shown["state"], "active");
    assert_eq!(
        shown["facts"],
        json!([["Fingerprint", format!("{}…", &fingerprint[..16])]])
    );
    assert_eq!(shown["title"], fingerprint, "the whole fingerprint");
    assert_eq!(
        shown["buttons"],
        json!([["Revoke", format!("Revoke the certificate {id}")]])
    );
    show_section(&b).await;
    b.check_page("account-certificate-made").await;

    // Shown once: the page read again has the certificate, not its files.
    b.goto(&d.url("/account")).await;
    b.wait_present("#certs li", "the certificate listed again")
        .await;
    assert_eq!(
        b.eval("return [document.getElementById('cert-shown').hidden, document.querySelectorAll('#cert-files a').length]")
            .await,
        json!([true, 0])
    );

    revoked_after_the_dialog(&b, &ann).await;

    // An admin's account page has their own certificates only (the API
    // gives them everyone's, which the servers page shows).
    b.assert_no_severe_errors(&[]).await;
    b.click("#signout").await;
    b.wait_for("return location.pathname === '/login'", "signed out")
        .await;
    assert_eq!(listed(&d.admin_client()).await.len(), 2);
    open_account(&b, &d, "admin", ADMIN_PASSWORD).await;
    b.wait_for(
        NO_CERTIFICATES,
        "the admin's page, with no certificate of theirs",
    )
    .await;

    // A failed call is said in the section, in people's words.
    d.stop();
    b.click("#cert-issue").await;
    b.wait_for(
        "const m = document.getElementById('certs-message'); return m.classList.contains('error') && m.textContent.startsWith(\"Can't reach the box\")",
        "the box unreachable, in the section",
    )
    .await;
    b.assert_no_severe_errors(&["ERR_CONNECTION_REFUSED"]).await;
}

/// Revoked after the dialog (Cancel first keeps it).
async fn revoked_after_the_dialog(b: &Browser, ann: &TlsClient) {
    b.click("#certs li button").await;
    b.wait_dialog().await;
    assert_eq!(
        b.eval("return document.activeElement.value").await,
        "cancel",
        "Enter alone revokes nothing"
    );
    b.answer_dialog(false).await;
    assert!(listed(ann).await[0].get("revoked_ms").is_none());
    b.click("#certs li button").await;
    b.answer_dialog(true).await;
    b.wait_for(
        "const l = document.querySelector('#certs li'); return l.querySelector('[data-field=state]').textContent === 'revoked' && l.querySelector('button') === null && document.getElementById('certs-message').classList.contains('ok')",
        "the certificate listed as revoked",
    )
    .await;
    let shown = &b.eval(SHOWN).await[0];
    assert_eq!(shown["facts"][1][0], "Revoked", "{shown}");
    assert_eq!(shown["buttons"], json!([]));
    let api = listed(ann).await;
    assert_eq!(api.len(), 1, "{api:?}");
    assert!(api[0]["revoked_ms"].as_u64().is_some(), "{api:?}");
    show_section(b).await;
    b.check_page("account-certificate-revoked").await;
}
