//! The loop itself: the only `select!` a manager's component is driven by.

mod state;

use std::future::Future;
use std::pin::pin;

use tokio::time::{MissedTickBehavior, sleep_until};

use super::backoff::Backoff;
use super::context::ReconcileContext;
use super::manager::Manager;
use super::pass::pass;
use super::wakes::Wakes;
use crate::liveness::BEAT_INTERVAL;
use state::State;

/// Runs `manager` until `shutdown` completes: a first pass at once, then
/// one per burst of wake-ups, one after each drift period of quiet (or at
/// the manager's [`Manager::wake_at`], if sooner), and retries with
/// backoff after a failure.
///
/// - **Merging.** The first wake-up after a quiet spell starts the
///   debounce; what arrives before the pass starts, or while it runs, is
///   folded into one pass (after the running one, and its own debounce).
///   The window is not extended by later wake-ups, so a source that never
///   stops cannot postpone passes for ever.
/// - **Backoff.** After a failed pass the next one waits out the backoff
///   even if wake-ups arrive: a flapping store, or a component whose own
///   failure fires events, must not hammer a broken component; the
///   wake-ups are remembered and served by the retry, which re-reads
///   everything anyway. A success starts the backoff from its base again.
/// - **Not present.** The component is `disabled`; wake-ups are ignored
///   and only the drift timer looks again.
/// - **Heartbeat.** Beats every [`BEAT_INTERVAL`] while waiting,
///   including through a backoff, but never while a pass runs: a pass
///   that hangs (an `nft` that never exits, a socket that never answers)
///   must starve the watchdog, so that systemd restarts the daemon rather
///   than the component silently never converging.
/// - **Shutdown** wins over everything, and drops a pass in flight: see
///   the module doc on cancel-safe `apply`.
pub async fn run<M: Manager>(
    manager: M,
    mut wakes: Wakes,
    ctx: ReconcileContext<M::Status>,
    shutdown: impl Future<Output = ()>,
) {
    let component = M::COMPONENT;
    let ReconcileContext {
        health,
        liveness,
        publish,
        timing,
        jitter,
    } = ctx;
    let heartbeat = liveness.register(component);
    let mut beat = tokio::time::interval(BEAT_INTERVAL);
    beat.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let backoff = Backoff::new(timing.backoff_base, timing.backoff_cap, jitter);
    let mut state = State::new(component, health, publish, timing, backoff);
    let mut shutdown = pin!(shutdown);
    // The manager is either idle here or inside the running pass.
    let mut idle = Some(manager);
    let mut running = None;

    loop {
        let busy = running.is_some();
        tokio::select! {
            biased;
            () = &mut shutdown => {
                tracing::debug!(component = component.name(), in_pass = busy, "reconcile loop stopping");
                return;
            }
            (manager, outcome) = finish(&mut running) => {
                running = None;
                let wake_at = M::wake_at(&manager);
                idle = Some(manager);
                heartbeat.beat();
                state.finished(outcome, wake_at);
            }
            // Not while a pass runs: a hung pass must starve the watchdog.
            _ = beat.tick(), if !busy => heartbeat.beat(),
            () = sleep_until(state.start_at), if state.wanted && !busy => {
                state.wanted = false;
                let manager = idle.take().expect("an idle loop holds its manager");
                running = Some(Box::pin(pass(manager)));
            }
            () = sleep_until(state.drift_at), if !state.wanted && !busy => state.drifted(),
            // Last: a flood of wake-ups cannot starve the branches above.
            wake = wakes.next() => state.woken(wake, busy),
        }
    }
}

/// The running pass's result; pending while none runs.
async fn finish<F: Future + Unpin>(running: &mut Option<F>) -> F::Output {
    match running {
        Some(pass) => pass.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod fake;
#[cfg(test)]
mod tests;
