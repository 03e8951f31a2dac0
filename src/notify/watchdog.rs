//! The systemd watchdog: `WATCHDOG=1` at half of `WATCHDOG_USEC`, and only
//! while every internal loop is alive (see [`crate::liveness`]). A stuck
//! loop withholds the ping, so systemd restarts the daemon.

use std::sync::Arc;
use std::time::Duration;

use super::Notifier;
use crate::liveness::{BEAT_INTERVAL, Liveness};

/// How old a heartbeat may be before its loop counts as stuck.
fn max_beat_age(period: Duration) -> Duration {
    (period / 2).max(BEAT_INTERVAL * 3)
}

/// Starts the pinger where systemd asked for a watchdog; the handle is
/// aborted at shutdown.
pub fn start(
    liveness: &Liveness,
    notifier: &Arc<dyn Notifier>,
) -> Option<tokio::task::JoinHandle<()>> {
    let period = sd_notify::watchdog_enabled().filter(|p| !p.is_zero())?;
    tracing::info!(
        period_ms = period.as_millis() as u64,
        "systemd watchdog enabled"
    );
    Some(tokio::spawn(run(
        period,
        liveness.clone(),
        notifier.clone(),
    )))
}

/// Runs until the task is dropped.
pub async fn run(period: Duration, liveness: Liveness, notifier: Arc<dyn Notifier>) {
    let mut tick = tokio::time::interval(period / 2);
    let max_age = max_beat_age(period);
    let mut withheld = false;
    loop {
        tick.tick().await;
        let stale = liveness.stale(max_age);
        if stale.is_empty() {
            if withheld {
                tracing::info!("all loops alive again; resuming watchdog pings");
                withheld = false;
            }
            notifier.watchdog();
        } else if !withheld {
            tracing::error!(loops = ?stale, "internal loops stuck; withholding the watchdog ping");
            withheld = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::component::Component;
    use crate::notify::RecordingNotifier;

    fn pings(n: &RecordingNotifier) -> usize {
        n.sent
            .lock()
            .unwrap()
            .iter()
            .filter(|s| *s == "WATCHDOG=1")
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn pings_while_alive_and_stops_when_a_loop_sticks() {
        let liveness = Liveness::new();
        let recorder = Arc::new(RecordingNotifier::default());
        let alive = liveness.register(Component::Metrics);
        let stuck = liveness.register(Component::Store);
        let task = tokio::spawn(run(
            Duration::from_secs(10),
            liveness.clone(),
            recorder.clone(),
        ));
        // Both loops beat for 20 s: a ping every 5 s.
        for _ in 0..20 {
            alive.beat();
            stuck.beat();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let while_alive = pings(&recorder);
        assert!(while_alive >= 4, "{while_alive} pings");
        // One loop stops; after its beat is 5 s old the pings stop.
        for _ in 0..30 {
            alive.beat();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let after_stuck = pings(&recorder);
        assert!(
            after_stuck <= while_alive + 1,
            "{while_alive} -> {after_stuck}"
        );
        for _ in 0..30 {
            alive.beat();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        assert_eq!(
            pings(&recorder),
            after_stuck,
            "no ping while a loop is stuck"
        );
        task.abort();
    }
}
