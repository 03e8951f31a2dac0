//! Figures of a sample of durations, shared by the benchmarks.

use std::time::Duration;

/// min, median, p95 (nearest rank: the 19th of 20) and max of a sample.
pub struct Stats {
    pub min: Duration,
    pub median: Duration,
    pub p95: Duration,
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

/// Prints one row of a Markdown table of `| what | min | median | p95 |`,
/// each in milliseconds.
pub fn print_row(what: &str, s: &Stats) {
    println!(
        "| {what} | {} | {} | {} |",
        ms(s.min),
        ms(s.median),
        ms(s.p95)
    );
}

/// Prints one line of figures: `name`, then the median, min and p95 of
/// `d`, each shown with `unit`. (Not every benchmark prints this way.)
pub fn print_line(name: &str, d: Vec<Duration>, unit: fn(Duration) -> String) {
    let s = stats(d);
    println!(
        "{name:<44} median {:>9}  min {:>9}  p95 {:>9}",
        unit(s.median),
        unit(s.min),
        unit(s.p95)
    );
}
