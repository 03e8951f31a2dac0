//! History rings: the last hour at sampling resolution, and the last
//! seven days at one-minute resolution (min, avg, max), for a fixed set of
//! series derived from each sample. The minute series is what the store
//! keeps, so a restart keeps the week.

use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use super::model::SystemSample;
use crate::store::MinutePoint;

/// A named number taken from every sample.
pub struct SeriesDef {
    pub name: &'static str,
    pub unit: &'static str,
    get: fn(&SystemSample) -> Option<f64>,
}

fn sum(values: impl Iterator<Item = Option<u64>>) -> Option<f64> {
    values
        .flatten()
        .map(|v| v as f64)
        .fold(None, |acc, v| Some(acc.unwrap_or(0.0) + v))
}

/// The series kept, in the order the API lists them.
pub const SERIES: &[SeriesDef] = &[
    SeriesDef {
        name: "cpu.total_pct",
        unit: "percent",
        get: |s| s.cpu.total_pct,
    },
    SeriesDef {
        name: "cpu.iowait_pct",
        unit: "percent",
        get: |s| s.cpu.iowait_pct,
    },
    SeriesDef {
        name: "memory.used_bytes",
        unit: "bytes",
        get: |s| s.memory.as_ref().map(|m| m.used_bytes as f64),
    },
    SeriesDef {
        name: "memory.available_bytes",
        unit: "bytes",
        get: |s| s.memory.as_ref().map(|m| m.available_bytes as f64),
    },
    SeriesDef {
        name: "swap.used_bytes",
        unit: "bytes",
        get: |s| s.memory.as_ref().map(|m| m.swap_used_bytes as f64),
    },
    SeriesDef {
        name: "load.1",
        unit: "load",
        get: |s| s.load.map(|l| l[0]),
    },
    SeriesDef {
        name: "net.rx_bps",
        unit: "bytes/s",
        get: |s| sum(s.net.iter().filter(|n| !n.is_virtual).map(|n| n.rx_bps)),
    },
    SeriesDef {
        name: "net.tx_bps",
        unit: "bytes/s",
        get: |s| sum(s.net.iter().filter(|n| !n.is_virtual).map(|n| n.tx_bps)),
    },
    SeriesDef {
        name: "disk.read_bps",
        unit: "bytes/s",
        get: |s| sum(s.disks.iter().map(|d| d.read_bps)),
    },
    SeriesDef {
        name: "disk.write_bps",
        unit: "bytes/s",
        get: |s| sum(s.disks.iter().map(|d| d.write_bps)),
    },
    SeriesDef {
        name: "temperature.max_celsius",
        unit: "celsius",
        get: |s| s.temperatures.iter().map(|t| t.celsius).reduce(f64::max),
    },
    SeriesDef {
        name: "power.watts",
        unit: "watts",
        // The packages only: sub-zones (core, dram) are inside them, and
        // `psys` (the whole platform) would count them twice.
        get: |s| {
            s.power
                .rapl
                .iter()
                .filter(|z| z.zone.starts_with("package"))
                .filter_map(|z| z.watts)
                .reduce(|a, b| a + b)
        },
    },
];

/// The ranges the API serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
    Week,
}

impl TryFrom<&str> for Range {
    type Error = String;
    fn try_from(s: &str) -> Result<Range, String> {
        match s {
            "1h" => Ok(Range::Hour),
            "24h" => Ok(Range::Day),
            "7d" => Ok(Range::Week),
            other => Err(format!("{other:?} is not a range; use 1h, 24h or 7d")),
        }
    }
}

impl Range {
    fn name(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    fn minutes(self) -> u32 {
        match self {
            Range::Hour => 60,
            Range::Day => 24 * 60,
            Range::Week => 7 * 24 * 60,
        }
    }
}

pub const WEEK_MINUTES: usize = 7 * 24 * 60;

#[derive(Debug, Clone, Copy)]
struct Acc {
    min: f32,
    max: f32,
    sum: f64,
    count: u32,
}

impl Acc {
    const EMPTY: Acc = Acc {
        min: f32::INFINITY,
        max: f32::NEG_INFINITY,
        sum: 0.0,
        count: 0,
    };
}

pub struct History {
    fine_cap: usize,
    fine_times: VecDeque<u64>,
    /// Per series, aligned with `fine_times`; NaN where absent.
    fine: Vec<VecDeque<f32>>,
    minutes: Vec<VecDeque<MinutePoint>>,
    acc: Vec<Acc>,
    acc_minute: Option<u32>,
    /// Minute points not yet saved to the store.
    unsaved: Vec<(String, MinutePoint)>,
}

/// A reply of `/api/v1/metrics/history`.
#[derive(Debug, Serialize, PartialEq, utoipa::ToSchema)]
pub struct HistoryReply {
    pub series: &'static str,
    pub unit: &'static str,
    pub range: &'static str,
    pub step_s: f64,
    /// `[t_ms, value|null]` (1h), or `[t_ms, min, avg, max]` (24h, 7d).
    #[schema(value_type = Vec<Vec<Option<f64>>>)]
    pub points: Vec<Point>,
}

/// One point, serialized as a JSON array.
#[derive(Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Point {
    /// `[t_ms, value|null]` (the 1h range).
    Sample(u64, Option<f64>),
    /// `[t_ms, min, avg, max]` (the 24h and 7d ranges).
    Minute(u64, Option<f64>, Option<f64>, Option<f64>),
}

fn round(v: f32) -> Option<f64> {
    // f32 history printed as f64 shows noise digits; three significant
    // decimals are plenty for a chart.
    v.is_finite()
        .then(|| ((v as f64) * 1000.0).round() / 1000.0)
}

impl History {
    pub fn new(interval: Duration) -> History {
        let ms = interval.as_millis().max(1) as usize;
        let fine_cap = 3_600_000usize.div_ceil(ms);
        History {
            fine_cap,
            fine_times: VecDeque::new(),
            fine: SERIES.iter().map(|_| VecDeque::new()).collect(),
            minutes: SERIES.iter().map(|_| VecDeque::new()).collect(),
            acc: vec![Acc::EMPTY; SERIES.len()],
            acc_minute: None,
            unsaved: Vec::new(),
        }
    }

    pub fn series_index(name: &str) -> Option<usize> {
        SERIES.iter().position(|s| s.name == name)
    }

    /// Adds a sample to the rings.
    pub fn push(&mut self, sample: &SystemSample) {
        let minute = (sample.ts_ms / 60_000) as u32;
        if self.acc_minute.is_some_and(|m| m != minute) {
            self.close_minute();
        }
        self.acc_minute = Some(minute);
        if self.fine_times.len() == self.fine_cap {
            self.fine_times.pop_front();
            for ring in &mut self.fine {
                ring.pop_front();
            }
        }
        self.fine_times.push_back(sample.ts_ms);
        for (i, def) in SERIES.iter().enumerate() {
            let v = (def.get)(sample).map(|v| v as f32).unwrap_or(f32::NAN);
            self.fine[i].push_back(v);
            if v.is_finite() {
                let a = &mut self.acc[i];
                a.min = a.min.min(v);
                a.max = a.max.max(v);
                a.sum += v as f64;
                a.count += 1;
            }
        }
    }

    fn close_minute(&mut self) {
        let Some(minute) = self.acc_minute else {
            return;
        };
        for (i, def) in SERIES.iter().enumerate() {
            let a = std::mem::replace(&mut self.acc[i], Acc::EMPTY);
            if a.count == 0 {
                continue;
            }
            let point = MinutePoint {
                minute,
                min: a.min,
                avg: (a.sum / a.count as f64) as f32,
                max: a.max,
            };
            self.insert_minute(i, point);
            self.unsaved.push((def.name.to_string(), point));
        }
    }

    fn insert_minute(&mut self, i: usize, point: MinutePoint) {
        let ring = &mut self.minutes[i];
        if ring.back().is_some_and(|last| last.minute >= point.minute) {
            return;
        }
        if ring.len() == WEEK_MINUTES {
            ring.pop_front();
        }
        ring.push_back(point);
    }

    /// Loads minute points saved by an earlier run (oldest first).
    pub fn restore(&mut self, points: Vec<(String, MinutePoint)>) {
        for (name, point) in points {
            if let Some(i) = History::series_index(&name) {
                self.insert_minute(i, point);
            }
        }
    }

    /// The minute points closed since the last call, for the store.
    pub fn take_unsaved(&mut self) -> Vec<(String, MinutePoint)> {
        std::mem::take(&mut self.unsaved)
    }

    pub fn query(&self, series: &str, range: Range, now_ms: u64) -> Option<HistoryReply> {
        let i = History::series_index(series)?;
        let def = &SERIES[i];
        let points = match range {
            Range::Hour => {
                let from = now_ms.saturating_sub(3_600_000);
                self.fine_times
                    .iter()
                    .zip(&self.fine[i])
                    .filter(|(t, _)| **t >= from)
                    .map(|(t, v)| Point::Sample(*t, round(*v)))
                    .collect()
            }
            Range::Day | Range::Week => {
                let from = ((now_ms / 60_000) as u32).saturating_sub(range.minutes());
                self.minutes[i]
                    .iter()
                    .filter(|p| p.minute >= from)
                    .map(|p| {
                        Point::Minute(
                            u64::from(p.minute) * 60_000,
                            round(p.min),
                            round(p.avg),
                            round(p.max),
                        )
                    })
                    .collect()
            }
        };
        let step_s = match range {
            Range::Hour => 3600.0 / self.fine_cap as f64,
            _ => 60.0,
        };
        Some(HistoryReply {
            series: def.name,
            unit: def.unit,
            range: range.name(),
            step_s,
            points,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::model::{Cpu, Memory};

    fn sample(ts_ms: u64, cpu: Option<f64>) -> SystemSample {
        SystemSample {
            ts_ms,
            cpu: Cpu {
                total_pct: cpu,
                ..Cpu::default()
            },
            memory: Some(Memory {
                used_bytes: 1000,
                ..Memory::default()
            }),
            ..SystemSample::default()
        }
    }

    const T0: u64 = 1_763_770_000_000 - 1_763_770_000_000 % 60_000;

    #[test]
    fn hour_ring_keeps_an_hour_at_sampling_resolution() {
        let mut h = History::new(Duration::from_secs(1));
        for s in 0..4000u64 {
            h.push(&sample(T0 + s * 1000, Some(s as f64 % 100.0)));
        }
        let r = h
            .query("cpu.total_pct", Range::Hour, T0 + 3999 * 1000)
            .unwrap();
        assert_eq!(r.points.len(), 3600);
        assert_eq!(r.step_s, 1.0);
        assert_eq!(
            r.points.last(),
            Some(&Point::Sample(T0 + 3999 * 1000, Some(99.0)))
        );
        // First sample has no CPU rate: null, not a made-up zero.
        let mut h = History::new(Duration::from_secs(1));
        h.push(&sample(T0, None));
        let r = h.query("cpu.total_pct", Range::Hour, T0).unwrap();
        assert_eq!(r.points, vec![Point::Sample(T0, None)]);
        assert_eq!(
            serde_json::to_string(&r.points).unwrap(),
            format!("[[{T0},null]]")
        );
    }

    #[test]
    fn minutes_aggregate_min_avg_max_and_are_handed_to_the_store() {
        let mut h = History::new(Duration::from_secs(10));
        for s in 0..12u64 {
            // minute 0: 10, 20, ..., 60; minute 1: 70, ..., 120
            h.push(&sample(T0 + s * 10_000, Some((s + 1) as f64 * 10.0)));
        }
        h.push(&sample(T0 + 120_000, Some(1.0)));
        let r = h.query("cpu.total_pct", Range::Day, T0 + 120_000).unwrap();
        assert_eq!(r.step_s, 60.0);
        assert_eq!(
            r.points,
            vec![
                Point::Minute(T0, Some(10.0), Some(35.0), Some(60.0)),
                Point::Minute(T0 + 60_000, Some(70.0), Some(95.0), Some(120.0)),
            ]
        );
        let unsaved = h.take_unsaved();
        let cpu: Vec<&MinutePoint> = unsaved
            .iter()
            .filter(|(n, _)| n == "cpu.total_pct")
            .map(|(_, p)| p)
            .collect();
        assert_eq!(cpu.len(), 2);
        assert!(h.take_unsaved().is_empty());
    }

    #[test]
    fn restored_week_is_served_and_ranges_cut_it() {
        let mut h = History::new(Duration::from_secs(1));
        let now_minute = (T0 / 60_000) as u32;
        let points: Vec<(String, MinutePoint)> = (0..WEEK_MINUTES as u32 + 100)
            .rev()
            .map(|ago| {
                (
                    "load.1".to_string(),
                    MinutePoint {
                        minute: now_minute - ago,
                        min: 0.0,
                        avg: 1.0,
                        max: 2.0,
                    },
                )
            })
            .chain(std::iter::once((
                "no.such.series".to_string(),
                MinutePoint {
                    minute: now_minute,
                    min: 0.0,
                    avg: 0.0,
                    max: 0.0,
                },
            )))
            .collect();
        h.restore(points);
        let week = h.query("load.1", Range::Week, T0).unwrap();
        assert_eq!(week.points.len(), WEEK_MINUTES);
        let day = h.query("load.1", Range::Day, T0).unwrap();
        assert_eq!(day.points.len(), 24 * 60 + 1);
        assert!(h.query("no.such.series", Range::Week, T0).is_none());
    }

    #[test]
    fn ranges_parse() {
        assert_eq!(Range::try_from("1h"), Ok(Range::Hour));
        assert_eq!(Range::try_from("7d"), Ok(Range::Week));
        assert!(Range::try_from("2h").unwrap_err().contains("1h, 24h or 7d"));
    }
}
