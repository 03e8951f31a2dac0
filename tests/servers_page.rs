//! The servers page in headless Chromium, against a hearth that runs
//! real engines (`common::servers_box`): a member creates a server with
//! the form and sees it come up without reloading, then the container
//! they start in it, and its log; makes a certificate (three files to save and the
//! `docker context` command for the server), revokes it, stops and
//! deletes the server, each destructive step confirmed in a dialog; a bad
//! name is marked at its field. Needs chromium, chromium-driver and what
//! the servers' tests need.

use hearth_testkit as common;

use std::time::Duration;

use common::servers_box::ServersBox;
use common::servers_lab::{build_busybox_image, start_container};
use common::webdriver::Browser;
use common::{eventually, when};
use hearth::servers::engine::Engine;
use serde_json::{Value, json};

const PASSWORD: &str = "a member's own long passphrase";

/// What the page shows of server `name` (its `data-field`s and buttons),
/// null when it is not listed.
async fn shown(b: &Browser, name: &str) -> Value {
    b.eval_with(
        "const li = Array.from(document.querySelectorAll('#servers li')).find(l => l.querySelector('h3').textContent === arguments[0]); if (!li) return null; const f = {id: li.dataset.id, buttons: Array.from(li.querySelectorAll('button'), x => x.getAttribute('aria-label'))}; for (const e of li.querySelectorAll('[data-field]')) f[e.dataset.field] = e.textContent; return f;",
        &[json!(name)],
    )
    .await
}

/// Polls until `check` holds on what the page shows of `name`.
async fn wait_shown(b: &Browser, name: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    eventually(Duration::from_secs(90), what, async || {
        when(shown(b, name).await, &check)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_runs_a_server_from_the_page() {
    let sb = ServersBox::start();
    let d = &sb.daemon;
    d.add_user("ann", PASSWORD, "member").await;
    let b = d.browser().await;
    let url = |path: &str| format!("https://localhost:{}{path}", d.addr().port());

    b.sign_in_at(
        &url("/login?next=%2Fservers"),
        ("ann", PASSWORD),
        "return location.pathname === '/servers' && !document.getElementById('servers-page').hidden && !document.getElementById('servers-none').hidden",
        "the servers page, with no server yet",
    )
    .await;

    // A bad name is marked at its field, and nothing is made.
    b.set_value("#s-name", "Web Server").await;
    b.click("#s-submit").await;
    b.wait_invalid("#s-name", "the name marked").await;

    b.set_value("#s-name", "web").await;
    b.set_value("#s-memory", "512").await;
    b.click("#s-submit").await;
    let web = wait_shown(&b, "web", "web running", |v| v["phase"] == "Running").await;
    assert!(
        web["command"]
            .as_str()
            .unwrap()
            .starts_with("docker context create hearth-web --docker \"host=tcp://localhost:"),
        "{web}"
    );
    assert_eq!(
        web["buttons"],
        json!(["Show log of web", "Stop web", "Restart web", "Delete web"])
    );

    // A container started in the server shows by itself.
    let id = web["id"].as_str().unwrap();
    let engine = Engine::connect(&sb.lab.layout.socket(&id.try_into().unwrap())).unwrap();
    build_busybox_image(&engine, "base:test").await;
    start_container(&engine, "napper", "base:test", &["sleep", "300"], None).await;
    wait_shown(&b, "web", "the container listed", |v| {
        v["containers"] == "napper (running)"
    })
    .await;
    b.check_page("servers-running").await;

    // Its log, live: an entry of its unit's journal shows once written.
    b.click("#servers li button[aria-label='Show log of web']")
        .await;
    common::journal::append(
        &sb.journal(),
        &format!("hearth-server@{id}.service"),
        1,
        6,
        "API listen on docker.sock",
    );
    wait_shown(&b, "web", "the log shown", |v| {
        v["log"]
            .as_str()
            .is_some_and(|l| l.contains("API listen on docker.sock"))
    })
    .await;

    // A certificate: three files to save, the command, then listed.
    b.click("#c-issue").await;
    b.wait_for(
        "return !document.getElementById('issued').hidden && document.querySelectorAll('#issued-files a[download]').length === 3 && document.querySelector('#certs li') !== null",
        "the certificate's files",
    )
    .await;
    let files = b
        .eval(
            "return Array.from(document.querySelectorAll('#issued-files a'), a => a.dataset.file)",
        )
        .await;
    assert_eq!(files, json!(["ca.pem", "cert.pem", "key.pem"]));
    let command = b.text("#issued-command").await;
    assert!(
        command.contains("ca=ca.pem,cert=cert.pem,key=key.pem"),
        "{command}"
    );

    // Revoked, after the dialog.
    b.click("#certs li button").await;
    b.click("#confirm-ok").await;
    b.wait_for(
        "return document.querySelector('#certs li button') === null && document.querySelector('#certs li p').textContent.includes('revoked')",
        "the certificate revoked",
    )
    .await;

    // Stopped, then deleted after the dialog.
    b.click("#servers li button[aria-label='Stop web']").await;
    wait_shown(&b, "web", "web stopped", |v| v["phase"] == "Stopped").await;
    b.click("#servers li button[aria-label='Delete web']").await;
    b.click("#confirm-ok").await;
    b.wait_for(
        "return document.querySelector('#servers li') === null && !document.getElementById('servers-none').hidden",
        "web gone from the list",
    )
    .await;
    b.assert_no_severe_errors(&["401 ()"]).await;
}
