//! The watchdog pings stop when a core loop stalls, so that systemd
//! restarts hearth: with `WATCHDOG_USEC` set, a debug build's
//! `HEARTH_TEST_STALL=<component>` stops that loop's heartbeat (as if it
//! hung; see `liveness`), and the pings stop while the rest runs on.

use hearth_testkit as common;

use std::time::Duration;

use common::fake_systemd::{FakeSystemd, PrivateBus};
use common::{Daemon, Options, eventually_blocking};

fn stalled(component: &str) -> Daemon {
    stalled_with(component, String::new())
}

fn stalled_with(component: &str, config: String) -> Daemon {
    Daemon::start(Options {
        config,
        env: vec![
            ("WATCHDOG_USEC".into(), "1000000".into()),
            ("HEARTH_TEST_STALL".into(), component.into()),
        ],
        // No request needed: the accept loop may be the one stalled.
        pending_setup: true,
        ..Options::default()
    })
}

fn assert_pings_stop(component: &str) {
    assert_pings_stop_in(stalled(component), component);
}

fn assert_pings_stop_in(mut d: Daemon, component: &str) {
    // The loop beats (and hangs) within its first period; the watchdog
    // then finds it stale and says so: from then on, no ping.
    eventually_blocking(
        Duration::from_secs(30),
        &format!("the watchdog ping withheld for {component}"),
        || {
            let log = d.stderr();
            if log.contains("withholding the watchdog ping") && log.contains(component) {
                Ok(())
            } else {
                Err(log)
            }
        },
    );
    // What was sent before it said so.
    let _ = d.count_within("WATCHDOG=1", Duration::from_millis(10));
    let pings = d.count_within("WATCHDOG=1", Duration::from_secs(3));
    assert_eq!(
        pings,
        0,
        "{component} stalled, yet {pings} pings\n{}",
        d.stderr()
    );
}

#[test]
fn a_stalled_sampler_stops_the_pings() {
    assert_pings_stop("metrics");
}

#[test]
fn a_stalled_reconcile_loop_stops_the_pings() {
    // The store check runs on `reconcile::run`, like every manager.
    assert_pings_stop("store");
}

#[test]
fn a_stalled_accept_loop_stops_the_pings() {
    assert_pings_stop("https");
}

#[test]
fn a_stalled_services_follower_stops_the_pings() {
    // The follower of systemd's units is a loop of its own, not a
    // manager's: it beats all the same, while it waits for signals.
    let bus = PrivateBus::start();
    let _fake = FakeSystemd::serve(&bus);
    let config = format!("[system]\nmanage = true\nbus = {:?}\n", bus.address());
    assert_pings_stop_in(stalled_with("system", config), "system");
}

#[test]
fn without_a_stall_the_pings_go_on() {
    let mut d = stalled("nothing-of-that-name");
    // Past the time a stalled loop is found stale (see above)...
    std::thread::sleep(Duration::from_secs(3));
    let _ = d.count_within("WATCHDOG=1", Duration::from_millis(10));
    // ...the pings still come, and nothing is withheld.
    d.wait_pings(4, "4 more watchdog pings");
    let log = d.stderr();
    assert!(!log.contains("withholding the watchdog ping"), "{log}");
}
