//! The status page in headless Chromium (Debian's chromium and
//! chromium-driver): it renders at once, then follows the live stream.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::webdriver::{Browser, sign_in_and_open_status, spki_pin};
use common::{Daemon, Options};

/// Makes the CPU figures move: every core busy for one second, then idle
/// for one, so consecutive 1 Hz samples differ widely.
fn vary_cpu_load(stop: Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<()>> {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut busy = true;
                while !stop.load(Ordering::Relaxed) {
                    let phase = Instant::now();
                    while phase.elapsed() < Duration::from_millis(1000)
                        && !stop.load(Ordering::Relaxed)
                    {
                        if busy {
                            std::hint::black_box((0..1000u64).sum::<u64>());
                        } else {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                    busy = !busy;
                }
            })
        })
        .collect()
}

/// One test, so no second browser competes for the CPU whose figures
/// this one watches change.
#[tokio::test(flavor = "multi_thread")]
async fn status_page_in_chromium() {
    let d = Daemon::start(Options::default());
    let key = std::fs::read_to_string(d.state_dir().join("tls/key.pem")).unwrap();
    shows_cpu_and_updates_live(&d, &key).await;
    fits_a_phone_without_sideways_scrolling(&d, &key).await;
    a_revoked_session_sends_the_page_to_sign_in(&d, &key).await;
}

/// Signed out elsewhere (here: the session revoked from another device),
/// the open page loses its stream and goes to the sign-in page by itself.
async fn a_revoked_session_sends_the_page_to_sign_in(d: &Daemon, key: &str) {
    let browser = Browser::start(&spki_pin(key)).await;
    sign_in_and_open_status(&browser, d.addr().port(), "admin", common::ADMIN_PASSWORD).await;
    let live = "return document.getElementById('live').dataset.state";
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.eval(live).await != "live" {
        assert!(Instant::now() < deadline, "the stream never came up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The harness's admin session revokes every other one: the browser's.
    let admin = d.admin_client();
    let list = admin.get("/api/v1/sessions").await.json();
    let others: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] == false)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !others.is_empty(),
        "the browser's session is listed: {list}"
    );
    for id in others {
        let r = admin
            .send("DELETE", &format!("/api/v1/sessions/{id}"), "", &[], &[])
            .await;
        assert_eq!(r.status, 204);
    }
    // The browser waits the retry delay the stream set (2 s) before it
    // reconnects and is refused.
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.eval("return location.pathname").await != "/login" {
        assert!(
            Instant::now() < deadline,
            "still on {} with the stream {}",
            browser.eval("return location.href").await,
            browser.eval(live).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn shows_cpu_and_updates_live(d: &Daemon, key: &str) {
    let browser = Browser::start(&spki_pin(key)).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = vary_cpu_load(stop.clone());

    sign_in_and_open_status(&browser, d.addr().port(), "admin", common::ADMIN_PASSWORD).await;
    // The CPU card's figures: total, per core, I/O wait, load.
    let read_cpu = "return [document.getElementById('cpu-total').textContent, ...Array.from(document.querySelectorAll('#cores .value'), e => e.textContent), document.getElementById('cpu-iowait').textContent, document.getElementById('load').textContent].join(' | ')";
    // Rendered from /api/v1/status at once (or the snapshot): a figure.
    let deadline = Instant::now() + Duration::from_secs(5);
    let first = loop {
        let v = browser.eval(read_cpu).await;
        let t = v.as_str().unwrap_or("").to_string();
        if t.starts_with(|c: char| c.is_ascii_digit()) && t.contains('%') {
            break t;
        }
        if Instant::now() >= deadline {
            let at = browser
                .eval("return location.href + ' ' + document.title")
                .await;
            panic!(
                "no CPU figure after load at {at}: {v}\nbrowser log: {:?}",
                browser.log().await
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // ...and it changes within 3 s, fed by the event stream.
    let since = Instant::now();
    let mut changed = None;
    while since.elapsed() < Duration::from_secs(3) {
        let now = browser
            .eval(read_cpu)
            .await
            .as_str()
            .unwrap_or("")
            .to_string();
        if now != first && now.contains('%') {
            changed = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    assert!(changed.is_some(), "CPU figure stayed {first:?} for 3 s");

    let live = browser
        .eval("return document.getElementById('live').dataset.state")
        .await;
    assert_eq!(live, "live", "the live indicator says the stream is up");
    let who = browser
        .eval("return document.getElementById('whoami').textContent")
        .await;
    assert_eq!(who, "admin (admin)");
    let memory = browser
        .eval("return document.getElementById('mem-total').textContent")
        .await;
    assert!(memory.as_str().unwrap().ends_with("GiB") || memory.as_str().unwrap().ends_with("MiB"));
    let cores = browser
        .eval("return document.querySelectorAll('#cores li').length")
        .await;
    assert!(cores.as_u64().unwrap() >= 1, "per-core bars");
    let spark = browser
        .eval("return document.querySelector('#spark-cpu polyline').getAttribute('points').split(' ').length")
        .await;
    assert!(spark.as_u64().unwrap() >= 2, "the sparkline has points");

    // No script error and no Content-Security-Policy violation.
    let log = browser.log().await;
    let severe: Vec<_> = log
        .iter()
        .filter(|e| {
            e["level"] == "SEVERE" && !e["message"].as_str().unwrap_or("").contains("favicon.ico")
        })
        .collect();
    assert!(severe.is_empty(), "browser errors: {severe:?}");

    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    browser.screenshot(&shot).await;
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000);
    eprintln!("screenshot: {}", shot.display());
}

async fn fits_a_phone_without_sideways_scrolling(d: &Daemon, key: &str) {
    let browser = Browser::start(&spki_pin(key)).await;
    browser.set_window_size(390, 844).await;
    sign_in_and_open_status(&browser, d.addr().port(), "admin", common::ADMIN_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while browser
        .eval("return document.getElementById('live').dataset.state")
        .await
        != "live"
    {
        assert!(Instant::now() < deadline, "stream not live");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let inner = browser
        .eval("return window.innerWidth")
        .await
        .as_u64()
        .unwrap();
    assert!(inner <= 420, "window is phone-sized: {inner}");
    let fits = browser
        .eval("return document.documentElement.scrollWidth <= window.innerWidth")
        .await;
    assert_eq!(fits, true, "the page scrolls sideways at {inner} px");
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page-phone.png");
    browser.screenshot(&shot).await;
}
