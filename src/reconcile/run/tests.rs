//! The loop against the fake manager, in paused time: every time below is
//! exact, in ms since the loop started.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream;
use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::sleep;
use tokio_util::sync::CancellationToken;

use super::fake::{Call, Fake, FakeStatus, Script, State};
use super::run;
use crate::component::Component;
use crate::health::{ComponentHealth, ComponentState, Health};
use crate::liveness::{BEAT_INTERVAL, Liveness};
use crate::reconcile::{Jitter, ReconcileContext, Report, Timing, Wakes};

const MS: Duration = Duration::from_millis(1);
const S: Duration = Duration::from_secs(1);

fn timing() -> Timing {
    Timing {
        debounce: 100 * MS,
        drift: 3600 * S,
        backoff_base: S,
        backoff_cap: 8 * S,
    }
}

struct Harness {
    script: Script,
    health: Health,
    liveness: Liveness,
    reports: Arc<Mutex<Vec<Value>>>,
    /// The component's events.
    events: Option<mpsc::UnboundedSender<()>>,
    /// A store table's change counter, as `Store::watch` hands it out.
    store: watch::Sender<u64>,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

fn start(timing: Timing, setup: impl FnOnce(&mut State)) -> Harness {
    let script = Script::new();
    script.with(setup);
    let health = Health::new();
    let liveness = Liveness::new();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let (store_tx, store_rx) = watch::channel(0);
    let events = stream::unfold(events_rx, |mut rx| async move {
        rx.recv().await.map(|()| ((), rx))
    });
    let wakes = Wakes::new()
        .watch("store", store_rx)
        .stream("events", events);
    let publish = {
        let reports = reports.clone();
        Arc::new(move |report: Report<FakeStatus>| {
            reports
                .lock()
                .unwrap()
                .push(serde_json::to_value(&report).unwrap());
        })
    };
    let ctx = ReconcileContext {
        health: health.clone(),
        liveness: liveness.clone(),
        publish,
        timing,
        jitter: Jitter::none(),
    };
    let stop = CancellationToken::new();
    let task = tokio::spawn(run(
        Fake(script.clone()),
        wakes,
        ctx,
        stop.clone().cancelled_owned(),
    ));
    Harness {
        script,
        health,
        liveness,
        reports,
        events: Some(events_tx),
        store: store_tx,
        stop,
        task,
    }
}

impl Harness {
    fn wake(&self) {
        self.events.as_ref().unwrap().send(()).unwrap();
    }

    fn health(&self) -> ComponentHealth {
        self.health.snapshot()[&Component::Fake].clone()
    }

    fn last_report(&self) -> Value {
        self.reports.lock().unwrap().last().cloned().unwrap()
    }

    /// Stops the loop; it must be gone without any time passing.
    async fn stop_at_once(self) -> Script {
        self.stop.cancel();
        let before = tokio::time::Instant::now();
        tokio::time::timeout(MS, self.task)
            .await
            .expect("the loop stops at once")
            .unwrap();
        assert_eq!(before.elapsed(), Duration::ZERO);
        self.script
    }
}

fn health(state: ComponentState, detail: &str) -> ComponentHealth {
    ComponentHealth {
        state,
        detail: detail.to_string(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_burst_of_wakes_makes_one_pass() {
    let h = start(timing(), |_| {});
    sleep(S).await;
    assert_eq!(h.script.passes(), [0]);
    for _ in 0..5 {
        h.wake();
        sleep(10 * MS).await;
    }
    sleep(5 * S).await;
    // The first wake at 1000 ms, the pass after the debounce.
    assert_eq!(h.script.passes(), [0, 1100]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn wakes_during_a_pass_make_one_more_pass() {
    let h = start(timing(), |s| {
        s.desired = 1;
        s.apply_takes = 500 * MS;
    });
    sleep(100 * MS).await;
    h.script.with(|s| s.desired = 2);
    for _ in 0..5 {
        h.wake();
        h.store.send_modify(|n| *n += 1);
        sleep(50 * MS).await;
    }
    sleep(5 * S).await;
    // The first pass ends at 500 ms; one more after the debounce.
    assert_eq!(h.script.passes(), [0, 600]);
    let applied: Vec<Call> = h
        .script
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Apply(_)))
        .collect();
    assert_eq!(applied, [Call::Apply(1), Call::Apply(2)]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn backoff_doubles_to_the_cap_and_resets_after_success() {
    let h = start(timing(), |s| s.fail_desired = 6);
    sleep(60 * S).await;
    // Waits 1, 2, 4, 8, 8, 8 s (the cap), then a success.
    assert_eq!(
        h.script.passes(),
        [0, 1000, 3000, 7000, 15000, 23000, 31000]
    );
    assert_eq!(h.health(), health(ComponentState::Ok, "value 0"));
    h.script.with(|s| s.fail_desired = 1);
    h.wake();
    sleep(10 * S).await;
    // At 60.1 s a failure, retried after the base again, not after 16 s.
    assert_eq!(h.script.passes()[7..], [60100, 61100]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn a_wake_during_backoff_waits_it_out() {
    let h = start(
        Timing {
            backoff_base: 4 * S,
            ..timing()
        },
        |s| s.fail_desired = 1,
    );
    sleep(S).await;
    h.wake();
    h.store.send_modify(|n| *n += 1);
    sleep(10 * S).await;
    assert_eq!(h.script.passes(), [0, 4000]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn health_and_reports_follow_ok_degraded_disabled() {
    let h = start(timing(), |s| {
        s.desired = 1;
        s.fail_apply = 1;
    });
    sleep(10 * MS).await;
    // The public health entry names the step; the report has the cause.
    let refused = "cannot apply the plan: component refused: busy";
    let step = "cannot apply the plan; see the log";
    assert_eq!(h.health(), health(ComponentState::Degraded, step));
    let failed_first = json!({
        "component": "fake", "state": "degraded", "detail": step,
        "cause": refused, "failures": 1, "retry_in_ms": 1000,
    });
    assert_eq!(h.last_report(), failed_first);

    sleep(S).await;
    assert_eq!(h.health(), health(ComponentState::Ok, "value 1"));
    let ok = json!({
        "component": "fake", "state": "ok", "detail": "value 1",
        "failures": 0, "status": {"value": 1},
    });
    assert_eq!(h.last_report(), ok);

    // A failure keeps the status in force in the report.
    h.script.with(|s| s.fail_desired = 1);
    h.wake();
    sleep(200 * MS).await;
    let unreadable = "cannot read the desired state: store unreadable";
    let step = "cannot read the desired state; see the log";
    assert_eq!(h.health(), health(ComponentState::Degraded, step));
    let failed_again = json!({
        "component": "fake", "state": "degraded", "detail": step,
        "cause": unreadable, "failures": 1, "retry_in_ms": 1000, "status": {"value": 1},
    });
    assert_eq!(h.last_report(), failed_again);
    sleep(S).await;
    assert_eq!(h.health(), health(ComponentState::Ok, "value 1"));

    h.script.with(|s| s.absent = Some("no engine under --dev"));
    h.wake();
    sleep(200 * MS).await;
    assert_eq!(
        h.health(),
        health(ComponentState::Disabled, "no engine under --dev")
    );
    let disabled = json!({
        "component": "fake", "state": "disabled",
        "detail": "no engine under --dev", "failures": 0,
    });
    assert_eq!(h.last_report(), disabled);
    assert_eq!(
        *h.reports.lock().unwrap(),
        [failed_first, ok.clone(), failed_again, ok, disabled],
        "one report per pass"
    );
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn an_absent_component_is_looked_for_on_the_drift_timer_only() {
    let h = start(
        Timing {
            drift: 30 * S,
            ..timing()
        },
        |s| s.absent = Some("no nft binary"),
    );
    sleep(5 * S).await;
    h.wake();
    h.store.send_modify(|n| *n += 1);
    sleep(30 * S).await;
    assert_eq!(h.script.passes(), [0, 30000], "wakes ignored");
    assert_eq!(h.health().state, ComponentState::Disabled);
    h.script.with(|s| s.absent = None);
    sleep(30 * S).await;
    assert_eq!(h.script.passes(), [0, 30000, 60000]);
    assert_eq!(h.health(), health(ComponentState::Ok, "value 0"));
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn the_drift_timer_makes_a_pass_after_each_quiet_period() {
    let h = start(
        Timing {
            drift: 30 * S,
            ..timing()
        },
        |_| {},
    );
    sleep(70 * S).await;
    h.wake();
    sleep(31 * S).await;
    // Drift passes at 30 and 60 s; the wake at 70 s restarts the period.
    assert_eq!(h.script.passes(), [0, 30000, 60000, 70100, 100100]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn a_noop_plan_skips_apply_and_publishes_the_observed_status() {
    let h = start(timing(), |s| {
        s.desired = 7;
        s.observed = 7;
    });
    sleep(10 * MS).await;
    assert_eq!(h.script.calls(), [Call::Desired, Call::Observe]);
    assert_eq!(h.last_report()["status"], json!({"value": 7}));
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_mid_apply_returns_at_once_and_drops_the_apply() {
    let h = start(timing(), |s| {
        s.desired = 1;
        s.hang_apply = true;
    });
    sleep(5 * S).await;
    assert_eq!(h.script.calls().last(), Some(&Call::Apply(1)));
    let script = h.stop_at_once().await;
    assert_eq!(script.with(|s| s.applies_dropped), 1);
}

#[tokio::test(start_paused = true)]
async fn shutdown_during_backoff_returns_at_once() {
    let h = start(
        Timing {
            backoff_base: 30 * S,
            backoff_cap: 60 * S,
            ..timing()
        },
        |s| s.fail_desired = 100,
    );
    sleep(S).await;
    let script = h.stop_at_once().await;
    assert_eq!(script.passes(), [0]);
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_goes_on_through_backoff_and_stops_while_apply_hangs() {
    let h = start(timing(), |s| s.fail_desired = 5);
    // Backing off for 1 + 2 + 4 + 8 + 8 s: beating all along.
    for _ in 0..30 {
        sleep(S + 300 * MS).await;
        assert!(h.liveness.stale(2 * BEAT_INTERVAL).is_empty());
    }
    assert_eq!(h.health().state, ComponentState::Ok);
    h.script.with(|s| {
        s.desired = 1;
        s.hang_apply = true;
    });
    h.wake();
    sleep(5 * S).await;
    assert_eq!(h.liveness.stale(2 * BEAT_INTERVAL), [Component::Fake]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn an_ended_source_is_dropped_and_the_others_still_wake() {
    let mut h = start(timing(), |_| {});
    sleep(S).await;
    h.events = None;
    sleep(S).await;
    assert_eq!(h.script.passes(), [0], "an ending is not a wake-up");
    h.store.send_modify(|n| *n += 1);
    sleep(S).await;
    assert_eq!(h.script.passes(), [0, 2100]);
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn a_manager_can_ask_for_a_pass_before_the_drift() {
    let h = start(timing(), |s| s.wake_after = Some(5 * S));
    sleep(5050 * MS).await;
    assert_eq!(h.script.passes(), [0, 5000], "at once, then when asked");
    // Still asking for 5 s, now past: once more after the debounce, not
    // in a loop without pause.
    sleep(200 * MS).await;
    assert_eq!(h.script.passes(), [0, 5000, 5100, 5200]);
    h.script.with(|s| s.wake_after = None);
    sleep(60 * S).await;
    assert_eq!(h.script.passes().len(), 5, "then only the drift timer");
    h.stop_at_once().await;
}

#[tokio::test(start_paused = true)]
async fn trouble_after_a_good_pass_is_degraded_without_a_retry() {
    let h = start(timing(), |s| s.desired = super::fake::UNLUCKY);
    sleep(10 * MS).await;
    let unlucky = "value 13 is in force but unlucky";
    assert_eq!(h.health(), health(ComponentState::Degraded, unlucky));
    // Nothing failed: no cause, no retry, the status is there.
    assert_eq!(
        h.last_report(),
        json!({
            "component": "fake", "state": "degraded", "detail": unlucky,
            "failures": 0, "status": {"value": 13},
        })
    );
    h.script.with(|s| s.desired = 1);
    h.wake();
    sleep(S).await;
    assert_eq!(h.health(), health(ComponentState::Ok, "value 1"));
    h.stop_at_once().await;
}
