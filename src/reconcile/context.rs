//! What the daemon hands every loop: where to report, and its timings.

use std::sync::Arc;
use std::time::Duration;

use super::backoff::Jitter;
use super::report::Report;
use crate::health::Health;
use crate::liveness::Liveness;

/// Publishes a pass's report, with the manager's typed status `S`, on the
/// component's event topic. The daemon passes a closure over
/// `hub.publish(report)`, so this module does not know the hub; the hub
/// drops a report equal to the last one, so a drift pass that changed
/// nothing reaches no one.
pub type Publish<S> = Arc<dyn Fn(Report<S>) + Send + Sync>;

/// How a loop paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// After the first wake-up of a burst, how long to wait for the rest
    /// before the pass starts: a form that writes three tables in three
    /// transactions causes one pass, not three.
    pub debounce: Duration,
    /// A pass with no wake-up after this much quiet: it catches changes
    /// made behind hearth's back (someone ran `nft flush ruleset`) and
    /// looks again for a component that was not present.
    pub drift: Duration,
    /// The first wait after a failed pass.
    pub backoff_base: Duration,
    /// The longest wait between failed passes.
    pub backoff_cap: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            debounce: Duration::from_millis(100),
            drift: Duration::from_secs(60),
            backoff_base: Duration::from_secs(1),
            backoff_cap: Duration::from_secs(60),
        }
    }
}

/// One per loop: the publish callback names the loop's own topic.
pub struct ReconcileContext<S> {
    pub health: Health,
    /// The loop registers itself here under its component's name.
    pub liveness: Liveness,
    pub publish: Publish<S>,
    pub timing: Timing,
    pub jitter: Jitter,
}

impl<S> ReconcileContext<S> {
    /// The default timings and jitter from entropy.
    pub fn new(health: Health, liveness: Liveness, publish: Publish<S>) -> ReconcileContext<S> {
        ReconcileContext {
            health,
            liveness,
            publish,
            timing: Timing::default(),
            jitter: Jitter::from_entropy(),
        }
    }
}
