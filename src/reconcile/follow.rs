//! The one loop every follower runs: a task that keeps a connection to a
//! component's event stream (systemd's signals, a Docker engine's events,
//! the domains' checks) and tells the rest of the daemon what it sees.
//!
//! What this owns: connecting again when a session ends, after a wait
//! that grows with jitter ([`Backoff`]) and starts again from its base
//! once a session got connected; beating for the watchdog while it waits
//! and while a session runs (when it has a [`Heartbeat`]); stopping at
//! shutdown wherever it is; and logging each lost session once. What a
//! follower says while it is down (a health entry, an empty view) is its
//! own, in [`Follower::down`].
//!
//! A session must not hang: the beat goes on while it runs, so each call
//! it makes to the component has a time limit of its own.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::backoff::{Backoff, Jitter};
use crate::liveness::{BEAT_INTERVAL, Heartbeat};

/// A component's event stream, followed one session at a time.
pub trait Follower: Send {
    /// Why a session failed; its text, with its sources, goes to the log.
    type Error: std::error::Error + Send;

    /// One connection's life: connect, call `connected.now()` once
    /// connected, follow, and return when the stream ends (`Ok`) or
    /// fails (`Err`). Dropped at shutdown wherever it is.
    fn session(
        &mut self,
        connected: &Connected,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The session ended (`why`); the next begins in `retry`.
    fn down(&mut self, _why: &str, _retry: Duration) {}
}

/// Told by a session once it is connected: the next wait starts again
/// from the backoff's base.
#[derive(Debug, Default)]
pub struct Connected(std::sync::atomic::AtomicBool);

impl Connected {
    pub fn now(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn take(&self) -> bool {
        self.0.swap(false, std::sync::atomic::Ordering::Relaxed)
    }
}

/// How a follower paces itself between sessions.
pub struct Pace {
    pub backoff: Backoff,
    /// Beats while the follower runs: a follower the watchdog depends on.
    pub heartbeat: Option<Heartbeat>,
}

impl Pace {
    /// Waits from `base` up to `cap`, with jitter from entropy; no beat.
    pub fn new(base: Duration, cap: Duration) -> Pace {
        Pace {
            backoff: Backoff::new(base, cap, Jitter::from_entropy()),
            heartbeat: None,
        }
    }

    /// Beats on `heartbeat` throughout.
    pub fn beating(self, heartbeat: Heartbeat) -> Pace {
        Pace {
            heartbeat: Some(heartbeat),
            ..self
        }
    }
}

/// Follows with `follower` until `shutdown`. `label` names it in the log.
pub async fn follow<F: Follower>(
    label: &'static str,
    mut follower: F,
    mut pace: Pace,
    shutdown: CancellationToken,
) {
    let mut beat = Beat::new(pace.heartbeat.take(), shutdown);
    let connected = Connected::default();
    loop {
        let Some(outcome) = beat.during(follower.session(&connected)).await else {
            return;
        };
        if connected.take() {
            pace.backoff.reset();
        }
        let why = match outcome {
            Ok(()) => "the stream ended".to_string(),
            Err(e) => crate::logging::chain(&e),
        };
        let retry = pace.backoff.fail();
        tracing::debug!(follower = label, error = %why, retry_ms = retry.as_millis() as u64, "lost the stream; connecting again");
        follower.down(&why, retry);
        if beat.during(tokio::time::sleep(retry)).await.is_none() {
            return;
        }
    }
}

/// Drives a future while beating for the watchdog, until shutdown.
struct Beat {
    heartbeat: Option<Heartbeat>,
    tick: tokio::time::Interval,
    shutdown: CancellationToken,
}

impl Beat {
    fn new(heartbeat: Option<Heartbeat>, shutdown: CancellationToken) -> Beat {
        let mut tick = tokio::time::interval(BEAT_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Beat {
            heartbeat,
            tick,
            shutdown,
        }
    }

    /// `future`'s output; `None` once shutdown is asked for.
    async fn during<T>(&mut self, future: impl Future<Output = T>) -> Option<T> {
        let mut future = std::pin::pin!(future);
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => return None,
                out = &mut future => return Some(out),
                _ = self.tick.tick() => {
                    if let Some(h) = &self.heartbeat {
                        h.beat();
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::component::Component;
    use crate::liveness::Liveness;

    /// A scripted follower: each session connects or not, then ends.
    struct Scripted {
        /// Per session: whether it connects, and how it ends.
        script: Vec<(bool, Result<(), Refused>)>,
        log: Arc<Mutex<Vec<String>>>,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Refused(String);

    impl Follower for Scripted {
        type Error = Refused;

        async fn session(&mut self, connected: &Connected) -> Result<(), Refused> {
            if self.script.is_empty() {
                std::future::pending::<()>().await;
            }
            let (connects, end) = self.script.remove(0);
            let at = tokio::time::Instant::now();
            self.log.lock().unwrap().push(format!("session at {at:?}"));
            if connects {
                connected.now();
            }
            end
        }

        fn down(&mut self, why: &str, retry: Duration) {
            self.log
                .lock()
                .unwrap()
                .push(format!("down: {why}, retry {} ms", retry.as_millis()));
        }
    }

    fn pace() -> Pace {
        Pace {
            backoff: Backoff::new(
                Duration::from_secs(1),
                Duration::from_secs(8),
                Jitter::none(),
            ),
            heartbeat: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn failures_back_off_and_a_connected_session_starts_the_wait_again() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let follower = Scripted {
            script: vec![
                (false, Err(Refused("refused".into()))),
                (false, Err(Refused("refused".into()))),
                (true, Ok(())),
                (false, Err(Refused("refused".into()))),
            ],
            log: log.clone(),
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(follow("test", follower, pace(), shutdown.clone()));
        tokio::time::sleep(Duration::from_secs(60)).await;
        let downs: Vec<String> = log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("down"))
            .cloned()
            .collect();
        assert_eq!(
            downs,
            [
                "down: refused, retry 1000 ms",
                "down: refused, retry 2000 ms",
                // Connected: the wait starts from the base again.
                "down: the stream ended, retry 1000 ms",
                "down: refused, retry 2000 ms",
            ]
        );
        shutdown.cancel();
        task.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn it_beats_while_a_session_runs_and_stops_at_shutdown() {
        let liveness = Liveness::new();
        let follower = Scripted {
            script: Vec::new(),
            log: Arc::default(),
        };
        let shutdown = CancellationToken::new();
        let pace = pace().beating(liveness.register(Component::System));
        let task = tokio::spawn(follow("test", follower, pace, shutdown.clone()));
        tokio::time::sleep(BEAT_INTERVAL * 10).await;
        assert!(
            liveness.stale(BEAT_INTERVAL * 2).is_empty(),
            "a session that runs on still beats"
        );
        shutdown.cancel();
        task.await.expect("follow returns at shutdown");
    }
}
