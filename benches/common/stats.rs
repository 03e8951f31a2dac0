//! Figures of a sample of durations, shared by the benchmarks.

use std::time::Duration;

/// min, median, p95 (nearest rank: the 19th of 20) and max of a sample.
pub struct Stats {
    pub min: Duration,
    pub median: Duration,
    pub p95: Duration,
    #[allow(dead_code)]
    pub max: Duration,
}

pub fn stats(mut d: Vec<Duration>) -> Stats {
    d.sort();
    let n = d.len();
    Stats {
        min: d[0],
        median: if n.is_multiple_of(2) {
            (d[n / 2 - 1] + d[n / 2]) / 2
        } else {
            d[n / 2]
        },
        p95: d[(n as f64 * 0.95).ceil() as usize - 1],
        max: d[n - 1],
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
