//! Liveness of the daemon's internal loops, for the systemd watchdog.
//!
//! Each long-running loop registers once and beats at least every second
//! (a loop that waits on events wakes on a tick to beat). The watchdog
//! pings systemd only while every registered loop has beaten recently, so a
//! loop stuck in a blocking call, or one that died, stops the pings and
//! systemd restarts the daemon. Time is tokio's, so tests can pause it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::component::Component;

/// How often a loop is expected to beat.
pub const BEAT_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Liveness {
    base: Instant,
    loops: Arc<Mutex<Vec<Arc<LoopState>>>>,
}

struct LoopState {
    component: Component,
    last_beat_ms: AtomicU64,
}

/// A registered loop's handle.
pub struct Heartbeat {
    base: Instant,
    state: Arc<LoopState>,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness::new()
    }
}

impl Liveness {
    pub fn new() -> Liveness {
        Liveness {
            base: Instant::now(),
            loops: Arc::default(),
        }
    }

    /// Registers a loop; it counts as alive from now.
    pub fn register(&self, component: Component) -> Heartbeat {
        let state = Arc::new(LoopState {
            component,
            last_beat_ms: AtomicU64::new(elapsed_ms(self.base)),
        });
        self.loops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(state.clone());
        Heartbeat {
            base: self.base,
            state,
        }
    }

    /// The loops that have not beaten within `max_age`.
    pub fn stale(&self, max_age: Duration) -> Vec<Component> {
        let now = elapsed_ms(self.base);
        let max = max_age.as_millis() as u64;
        self.loops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| now.saturating_sub(l.last_beat_ms.load(Ordering::Relaxed)) > max)
            .map(|l| l.component)
            .collect()
    }
}

impl Heartbeat {
    pub fn beat(&self) {
        if stalled_for_a_test(self.state.component) {
            return;
        }
        self.state
            .last_beat_ms
            .store(elapsed_ms(self.base), Ordering::Relaxed);
    }
}

/// A test-only hook, in debug builds alone (the tests' binary; never the
/// appliance's release build): with `HEARTH_TEST_STALL=metrics`, that
/// component's loop beats no more after its first beat, as if it hung
/// there, so that a test can see the watchdog pings stop. The loop itself
/// runs on: hanging it for real would hold a runtime thread, and with it
/// whatever task sat in that thread's queue (the watchdog's, maybe), which
/// tests the runtime rather than the watchdog.
fn stalled_for_a_test(component: Component) -> bool {
    if !cfg!(debug_assertions) {
        return false;
    }
    let asked = std::env::var("HEARTH_TEST_STALL")
        .is_ok_and(|list| list.split(',').any(|c| c.trim() == component.name()));
    if asked {
        tracing::warn!(
            component = component.name(),
            "HEARTH_TEST_STALL: this loop's heartbeat stops"
        );
    }
    asked
}

fn elapsed_ms(base: Instant) -> u64 {
    Instant::now().duration_since(base).as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_loop_that_stops_beating_becomes_stale() {
        let live = Liveness::new();
        let a = live.register(Component::Https);
        let b = live.register(Component::Store);
        tokio::time::advance(Duration::from_secs(2)).await;
        a.beat();
        b.beat();
        assert!(live.stale(Duration::from_secs(3)).is_empty());
        tokio::time::advance(Duration::from_secs(2)).await;
        a.beat();
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(live.stale(Duration::from_secs(3)), vec![Component::Store]);
    }
}
