//! The sampler task: every interval it collects, computes rates,
//! publishes the `system` topic, feeds the history, and every few minutes
//! saves the closed history minutes to the store.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::collect::{Collector, Raw};
use super::history::{History, HistoryReply, Range, WEEK_MINUTES};
use super::model::SystemSample;
use super::prometheus::{self, Extra};
use super::rates::Rates;
use crate::events::Hub;
use crate::liveness::Heartbeat;
use crate::store::Store;

/// How often a housekeeping sample rediscovers devices and scans the
/// process table (a walk of all of /proc).
pub const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(5);

/// How often closed history minutes are written to the store.
pub const SAVE_EVERY: Duration = Duration::from_secs(5 * 60);

/// What the HTTP layer reads: the newest sample, its raw counters, the
/// history. One short lock per tick and per request.
pub struct MetricsState {
    inner: Mutex<Latest>,
    clk_tck: u64,
}

struct Latest {
    raw: Option<Raw>,
    sample: Option<SystemSample>,
    history: History,
    sample_duration: Option<Duration>,
}

impl MetricsState {
    pub fn new(interval: Duration, clk_tck: u64) -> MetricsState {
        MetricsState {
            inner: Mutex::new(Latest {
                raw: None,
                sample: None,
                history: History::new(interval),
                sample_duration: None,
            }),
            clk_tck,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn latest(&self) -> Option<SystemSample> {
        self.lock().sample.clone()
    }

    pub fn history(&self, series: &str, range: Range) -> Option<HistoryReply> {
        self.lock().history.query(series, range, now_ms())
    }

    /// The Prometheus text of the newest sample; `None` before the first.
    pub fn prometheus(&self, sse_subscribers: usize) -> Option<String> {
        let latest = self.lock();
        let raw = latest.raw.as_ref()?;
        Some(prometheus::render(
            raw,
            &Extra {
                clk_tck: self.clk_tck,
                now_s: now_ms() as f64 / 1000.0,
                sample_duration_s: latest.sample_duration.map(|d| d.as_secs_f64()),
                sse_subscribers,
            },
        ))
    }

    /// Loads the saved week from the store.
    pub fn restore(&self, store: &Store) {
        let from = ((now_ms() / 60_000) as u32).saturating_sub(WEEK_MINUTES as u32);
        match store.load_history(from) {
            Ok(points) => {
                let n = points.len();
                self.lock().history.restore(points);
                tracing::info!(points = n, "restored metrics history");
            }
            Err(e) => tracing::warn!(error = %e, "cannot load metrics history; starting empty"),
        }
    }

    fn save(&self, store: &Store) {
        let points = self.lock().history.take_unsaved();
        if points.is_empty() {
            return;
        }
        let keep_from = ((now_ms() / 60_000) as u32).saturating_sub(WEEK_MINUTES as u32);
        if let Err(e) = store.append_history(&points, keep_from) {
            tracing::warn!(error = %e, "cannot save metrics history");
        }
    }
}

pub use crate::clock::now_ms;

/// Clock ticks per second and the page size, from sysconf.
pub fn clock_and_page() -> (u64, u64) {
    use nix::unistd::{SysconfVar, sysconf};
    let tck = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as u64;
    let page = sysconf(SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    (tck, page)
}

pub struct Sampler {
    pub collector: Collector,
    pub rates: Rates,
    pub state: Arc<MetricsState>,
    pub hub: Hub,
    pub store: Store,
    pub interval: Duration,
}

impl Sampler {
    /// One tick: collect, compute, publish, record. Returns the sample.
    pub fn tick(&mut self, at: Duration, housekeeping: bool) -> SystemSample {
        let started = Instant::now();
        let raw = self.collector.collect(at, now_ms(), housekeeping);
        let sample = self.rates.next(raw);
        // Encoded by the hub, as part of the tick.
        self.hub.publish(sample.clone());
        let took = started.elapsed();
        let mut latest = self.state.lock();
        latest.history.push(&sample);
        latest.raw = self.rates.last_raw().cloned();
        latest.sample = Some(sample.clone());
        latest.sample_duration = Some(took);
        sample
    }

    /// Takes the first sample now, so the status is complete from the
    /// moment the daemon reports ready. Returns its time base for [`run`].
    ///
    /// [`run`]: Sampler::run
    pub fn prime(&mut self) -> tokio::time::Instant {
        let start = tokio::time::Instant::now();
        self.tick(Duration::ZERO, true);
        start
    }

    /// Runs until `shutdown`, one sample per interval after the primed
    /// one; beats `heartbeat` every tick.
    pub async fn run(
        mut self,
        start: tokio::time::Instant,
        heartbeat: Heartbeat,
        shutdown: CancellationToken,
    ) {
        let mut ticker = tokio::time::interval_at(start + self.interval, self.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut last_scan: Option<Duration> = Some(Duration::ZERO);
        let mut last_save = start;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            heartbeat.beat();
            let at = start.elapsed();
            let scan = last_scan.is_none_or(|t| at.saturating_sub(t) >= HOUSEKEEPING_EVERY);
            if scan {
                last_scan = Some(at);
            }
            // Collection is a few dozen small reads (about 100 µs; a
            // process scan a few ms): cheaper than a hop to the blocking pool.
            self.tick(at, scan);
            if last_save.elapsed() >= SAVE_EVERY {
                last_save = tokio::time::Instant::now();
                self.save_history().await;
            }
        }
        self.save_history().await;
    }

    async fn save_history(&self) {
        let state = self.state.clone();
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || state.save(&store)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{HubConfig, TopicSet};
    use crate::metrics::collect::Roots;

    #[tokio::test]
    async fn ticks_publish_samples_and_fill_history_and_prometheus() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let hub = Hub::new(HubConfig::default());
        let (tck, page) = clock_and_page();
        let state = Arc::new(MetricsState::new(Duration::from_secs(1), tck));
        let mut sampler = Sampler {
            collector: Collector::new(Roots::host(), None),
            rates: Rates::new(tck, page),
            state: state.clone(),
            hub: hub.clone(),
            store: store.clone(),
            interval: Duration::from_secs(1),
        };
        assert!(state.prometheus(0).is_none());
        let first = sampler.tick(Duration::ZERO, true);
        assert!(first.cpu.total_pct.is_none(), "no rate on the first tick");
        std::thread::sleep(Duration::from_millis(50));
        let second = sampler.tick(Duration::from_millis(50), false);
        assert!(second.cpu.total_pct.is_some());
        assert_eq!(hub.last_id(), 2);
        let status: serde_json::Value =
            serde_json::from_str(&hub.state_json(TopicSet::all(), crate::events::View::Admin))
                .unwrap();
        assert!(status["system"]["cpu"]["total_pct"].is_number());
        let text = state.prometheus(0).unwrap();
        assert!(text.contains("node_memory_MemTotal_bytes"));
        assert!(text.contains("hearth_sample_duration_seconds"));
        let h = state.history("cpu.total_pct", Range::Hour).unwrap();
        assert_eq!(h.points.len(), 2);
    }
}
