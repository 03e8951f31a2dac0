//! Starts the metrics sampler: primed (its first sample taken) before
//! the daemon is ready, then a sample per interval, on the `system`
//! topic and into the history.

use std::sync::Arc;

use super::collect::{Collector, Roots};
use super::rates::Rates;
use super::sampler::{self, MetricsState, Sampler};
use crate::component::Component;
use crate::config::Config;
use crate::health::ComponentState;
use crate::reconcile::Launch;
use crate::store::Store;

/// The metrics sampler, primed (its first sample taken) so that the
/// status is complete from the first request on.
pub fn start(config: &Config, store: &Store, launch: &mut Launch<'_>) -> Arc<MetricsState> {
    let (clk_tck, page_size) = sampler::clock_and_page();
    let metrics = Arc::new(MetricsState::new(config.metrics.interval, clk_tck));
    metrics.restore(store);
    let mut sampler = Sampler {
        collector: Collector::new(Roots::host(), config.metrics.mounts.clone()),
        rates: Rates::new(clk_tck, page_size),
        state: metrics.clone(),
        hub: launch.hub.clone(),
        store: store.clone(),
        interval: config.metrics.interval,
    };
    let sampled_from = sampler.prime();
    launch.health.set(
        Component::Metrics,
        ComponentState::Ok,
        format!("a sample every {} ms", config.metrics.interval.as_millis()),
    );
    let heartbeat = launch.heartbeat(Component::Metrics);
    let shutdown = launch.shutdown.clone();
    launch.spawn(
        "metrics sampler",
        sampler.run(sampled_from, heartbeat, shutdown),
    );
    metrics
}
