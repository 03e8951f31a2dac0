//! The firewall section of the admin page in headless Chromium, against a
//! daemon that really manages a firewall: the daemon runs in the box
//! namespace of a test network (`common::fw_lab`), and this test's thread
//! moves into the LAN client's namespace before it starts the browser, so
//! that chromedriver and Chromium (its children) reach the box through
//! the ruleset hearth applies. What is checked is what an admin sees.
//! Needs root, nftables, iproute2, chromium and chromium-driver.

use hearth_testkit as common;

use std::time::{Duration, Instant};

use common::eventually;
use common::fw_lab::{BOX_LAN, LAN_CLIENT, Lab, Listener, reaches};
use common::webdriver::Browser;
use common::{ADMIN_PASSWORD, Daemon, Reply, TlsClient};
use serde_json::{Value, json};

/// The confirm window of the daemon in the tests where the page confirms
/// by itself.
const WINDOW_S: u64 = 10;

async fn firewall(client: &TlsClient) -> Value {
    let r = client.get("/api/v1/firewall").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()
}

async fn put(client: &TlsClient, body: Value) -> Reply {
    client
        .call("PUT", "/api/v1/firewall", &body.to_string())
        .await
}

/// Signs in as the admin on the sign-in page and lands on /admin with the
/// firewall section loaded.
async fn open_admin(b: &Browser, d: &Daemon) {
    b.sign_in_at(
        &d.addr_url("/login?next=%2Fadmin"),
        ("admin", ADMIN_PASSWORD),
        "return location.pathname === '/admin' && document.readyState === 'complete' && document.getElementById('fw-https-from').value !== ''",
        "the admin page with the firewall loaded",
    )
    .await;
    // The sign-in page asks who is signed in (401 before): expected, and
    // dropped from the log the checks below read.
    b.assert_no_severe_errors(&["401 ()"]).await;
    let managed = b.text("#fw-managed").await;
    assert!(
        managed.starts_with("hearth manages this box's firewall"),
        "the page says the firewall is managed here: {managed}"
    );
}

/// [`Browser::wait_for`] with a longer patience than its 10 s.
async fn wait_long(b: &Browser, script: &str, what: &str, patience: Duration) {
    eventually(patience, what, async || {
        if b.eval(script).await == true {
            return Ok(());
        }
        let shown = b
            .eval("return [document.getElementById('fw-message').textContent, document.getElementById('fw-state').textContent, document.getElementById('fw-counters').textContent]")
            .await;
        Err(format!("the firewall section shows {shown}"))
    })
    .await
}

/// Notes every text the countdown shows (it may last less than a poll)
/// and whether the Keep button was offered meanwhile.
const WATCH_COUNTDOWN: &str = r#"
window.countdownSeen = [];
const c = document.getElementById('fw-countdown');
new MutationObserver(() => {
  if (c.textContent) window.countdownSeen.push({
    text: c.textContent,
    shown: !document.getElementById('fw-pending').hidden,
    keep: !document.getElementById('fw-keep').hidden,
  });
}).observe(c, {childList: true, characterData: true, subtree: true});
return true;
"#;

const KEPT: &str = "const m = document.getElementById('fw-message'); return m.classList.contains('ok') && !m.classList.contains('error') && m.textContent === 'Change kept.' && document.getElementById('fw-pending').hidden";

/// An allow rule added on the page is applied, confirmed by the page
/// itself over a new connection, reaches the box's port through the new
/// ruleset, and is counted in the live counters.
#[tokio::test]
async fn an_open_port_added_on_the_page_is_applied_confirmed_and_counted() {
    let lab = Lab::from_lan("fwpg");
    Listener::start(&lab.boxns, "0.0.0.0:5000");
    let (d, admin) = lab.hearth_in_force(WINDOW_S).await;
    let to = format!("{BOX_LAN}:5000");
    assert!(!reaches(&lab.lan, None, &to), "closed before the change");

    let b = d.browser().await;
    open_admin(&b, &d).await;
    assert_eq!(
        b.eval("return document.querySelectorAll('#fw-allow tr').length")
            .await,
        0
    );
    b.click("#fw-add-allow").await;
    let focused = b
        .eval("return document.activeElement.classList.contains('fw-ports') && document.activeElement.getAttribute('aria-label')")
        .await;
    assert_eq!(focused, "Ports of open port 1", "the new row's ports field");
    b.set_value("#fw-allow tr:last-child .fw-ports", "5000")
        .await;
    assert_eq!(b.eval(WATCH_COUNTDOWN).await, true);
    let applied_at = Instant::now();
    b.click("#fw-form button[type=submit]").await;

    // Kept without any further click.
    b.wait_for(KEPT, "“Change kept.” after the page confirmed by itself")
        .await;
    let seen = b.eval("return window.countdownSeen").await;
    let seen = seen.as_array().expect("the countdown's texts");
    assert!(
        seen.iter().any(|s| {
            let text = s["text"].as_str().unwrap_or("");
            s["shown"] == true
                && s["keep"] == false
                && text.contains(" s unless confirmed…")
                && text.contains("Confirming…")
        }),
        "the countdown showed while the page confirmed: {seen:?}"
    );
    let view = firewall(&admin).await;
    assert_eq!(view["version"], 1, "{view}");
    assert!(view.get("pending").is_none(), "confirmed: {view}");
    assert!(
        reaches(&lab.lan, None, &to),
        "the LAN reaches port 5000 through the new ruleset"
    );

    // The counters table shows the rule, and the connection just made.
    wait_long(
        &b,
        "const r = document.querySelector('#fw-counters tr[data-rule=\"allow 0\"]'); return r !== null && r.querySelector('th').textContent === 'Open port 1 (tcp 5000)' && Number(r.querySelector('td').textContent.replace(/\\D/g, '')) > 0",
        "a counted packet on the row of open port 1",
        Duration::from_secs(15),
    )
    .await;
    let last = b
        .eval("return [document.getElementById('fw-last').hidden, document.getElementById('fw-last-version').textContent, document.getElementById('fw-last-reason').textContent, document.getElementById('fw-state').className]")
        .await;
    assert_eq!(
        last,
        json!([false, "1", "the policy changed", "state-ok"]),
        "the last apply, from the firewall topic"
    );
    // The audit log says it in words, live.
    b.wait_for(
        "return Array.from(document.querySelectorAll('#audit td'), e => e.textContent).includes('admin kept the firewall change (version 1)')",
        "the confirmation in the audit log",
    )
    .await;
    // The screenshots show the report: what is in force and the counters.
    b.eval("document.getElementById('h-fw-live').scrollIntoView(); return true")
        .await;
    b.check_page("admin-firewall").await;

    // After the window the change is still there: it was confirmed.
    let window_end = applied_at + Duration::from_secs(WINDOW_S + 2);
    tokio::time::sleep(window_end.saturating_duration_since(Instant::now())).await;
    let view = firewall(&admin).await;
    assert_eq!(view["version"], 1, "no rollback: {view}");
    assert!(view.get("pending").is_none(), "{view}");
    assert_eq!(
        view["policy"]["allow"],
        json!([{"protocol": "tcp", "ports": 5000}]),
        "{view}"
    );
    assert!(reaches(&lab.lan, None, &to), "still open after the window");
    assert_eq!(
        b.eval("return [document.getElementById('fw-message').textContent, document.getElementById('fw-pending').hidden]")
            .await,
        json!(["Change kept.", true]),
        "nothing came back after the window"
    );
    // The box closed the connections opened before the change, event
    // streams included (they reconnect by themselves).
    b.assert_no_severe_errors(&["net::ERR_CONNECTION_CLOSED"])
        .await;
}

/// A bad port is marked at its field, a change that would cut the admin
/// off asks for the admin's word first, and neither reaches the kernel.
#[tokio::test]
async fn refused_changes_are_marked_at_their_field_and_nothing_is_applied() {
    let lab = Lab::from_lan("fwpgbad");
    let (d, admin) = lab.hearth_in_force(WINDOW_S).await;
    // Without counters (-s): the page's requests are counted.
    let ruleset = || lab.boxns.run("nft", &["-s", "list", "ruleset"]);
    let before = ruleset();

    let b = d.browser().await;
    open_admin(&b, &d).await;
    b.click("#fw-add-allow").await;
    b.set_value("#fw-allow tr:last-child .fw-ports", "9-3")
        .await;
    b.click("#fw-form button[type=submit]").await;
    let ports = "#fw-allow tr:last-child .fw-ports";
    b.wait_invalid(ports, "the bad ports marked at their field")
        .await;
    let error = b
        .eval("const i = document.querySelector('#fw-allow tr:last-child .fw-ports'); const ids = (i.getAttribute('aria-describedby') || '').split(' '); const e = ids.map(id => document.getElementById(id)).find(e => e && e.classList.contains('field-error')); return [e ? e.textContent : null, document.activeElement === i, document.getElementById('fw-message').textContent]")
        .await;
    assert_eq!(
        error[0], "“9-3” is a range whose first port is above its last.",
        "the message at the field, tied to it: {error}"
    );
    assert_eq!(error[1], true, "the field has the focus: {error}");
    assert_eq!(error[2], "", "no other message: {error}");
    assert_eq!(
        b.eval("return document.querySelector('#fw-allow tr:last-child .fw-ports').value")
            .await,
        "9-3",
        "what was typed stays"
    );
    b.check_page("admin-firewall-error").await;
    let view = firewall(&admin).await;
    assert_eq!(view["version"], 0, "nothing stored: {view}");
    assert!(view.get("pending").is_none(), "{view}");

    // Cutting off the address this page is used from: the box says so at
    // the list, and the page offers to say "I know".
    assert_eq!(
        b.eval("return document.getElementById('fw-drop-row').hidden")
            .await,
        true,
        "not offered before the box asks"
    );
    b.set_value("#fw-allow tr:last-child .fw-ports", "5000")
        .await;
    b.set_value("#fw-https-from", "10.0.0.0/8").await;
    b.click("#fw-form button[type=submit]").await;
    b.wait_invalid("#fw-https-from", "the list of networks marked")
        .await;
    let state = b
        .eval("return [document.getElementById('fw-https-from-error') ? document.getElementById('fw-https-from-error').textContent : document.getElementById('fw-https-from').getAttribute('aria-describedby'), document.getElementById('fw-drop-row').hidden, document.querySelectorAll('[aria-invalid=true]').length]")
        .await;
    let said = state[0].as_str().unwrap_or("");
    assert!(
        said.contains(LAN_CLIENT) && said.contains("I know this cuts off my own address"),
        "says which address is cut off and what to tick: {state}"
    );
    assert_eq!(state[1], false, "the checkbox is offered: {state}");
    assert_eq!(state[2], 1, "the old error is gone: {state}");
    b.check_page("admin-firewall-cut-off").await;

    assert_eq!(firewall(&admin).await["version"], 0, "nothing stored");
    assert_eq!(ruleset(), before, "nothing applied");
    // The refusals (400) are how the page learns.
    b.assert_no_severe_errors(&["400 ()"]).await;
}

/// A change awaiting confirmation that the page did not make (another
/// tab, or a reload during the window) shows its countdown and is kept
/// with the Keep button.
#[tokio::test]
async fn a_change_awaiting_confirmation_is_shown_on_load_and_kept_with_a_click() {
    let lab = Lab::from_lan("fwpgkeep");
    Listener::start(&lab.boxns, "0.0.0.0:5000");
    // Long enough for the browser to start and sign in within it.
    let (d, admin) = lab.hearth_in_force(60).await;
    let r = put(
        &admin,
        json!({"policy": {"https_from": ["0.0.0.0/0", "::/0"], "web": true,
            "allow": [{"protocol": "tcp", "ports": 5000}]}}),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(r.json()["confirm_by_ms"].is_u64(), "{:?}", r.body);

    let b = d.browser().await;
    open_admin(&b, &d).await;
    b.wait_for(
        "return !document.getElementById('fw-pending').hidden && !document.getElementById('fw-keep').hidden",
        "the pending change with a Keep button",
    )
    .await;
    let countdown = b.text("#fw-countdown").await;
    assert!(
        countdown.starts_with("admin changed the firewall (version 1). Keeping this change in ")
            && countdown.ends_with(" s unless confirmed…"),
        "{countdown}"
    );
    b.check_page("admin-firewall-pending").await;
    assert!(
        firewall(&admin).await.get("pending").is_some(),
        "not confirmed by merely looking"
    );
    b.click("#fw-keep").await;
    b.wait_for(KEPT, "“Change kept.” after Keep").await;
    let view = firewall(&admin).await;
    assert_eq!(view["version"], 1, "{view}");
    assert!(view.get("pending").is_none(), "{view}");
    assert!(reaches(&lab.lan, None, &format!("{BOX_LAN}:5000")));
    b.assert_no_severe_errors(&[]).await;
}
