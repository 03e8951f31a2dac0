//! What each server uses, read from its unit's cgroup in
//! `/sys/fs/cgroup` (cgroup v2, as systemd sets it up, under
//! [`SERVERS_SLICE`]): CPU over the last
//! interval in thousandths of a CPU (the unit of the CPU limit), memory,
//! and tasks. The project reads
//! `/sys` directly; a server's engine, its helpers and its containers
//! are all in its unit's cgroup (`Delegate=yes`), so this is the whole
//! server.
//!
//! The servers' manager reads the cgroups of the servers whose unit is up
//! on each pass ([`Sampler::sample_ids`]: a few small files each), and
//! its loop wakes every [`INTERVAL`] (`Wakes::every`); the usage goes
//! into its report on the `servers` topic: one report, so a member's filtered stream carries
//! its servers' usage with their state, and a server whose cgroup cannot
//! be read says why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use super::model::ServerId;

/// How often the servers' cgroups are read.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Where systemd puts the servers' cgroups: instances of a template unit
/// go into a slice of their own, `system-<template>.slice` (the dash of
/// `hearth-server` escaped as `\x2d`), as `systemctl status` shows.
pub const SERVERS_SLICE: &str = "/sys/fs/cgroup/system.slice/system-hearth\\x2dserver.slice";

/// One server's use of the box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Thousandths of a CPU over the last interval (2000 is two CPUs
    /// busy), as `Limits::cpu_millis`; absent after the first reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_millis: Option<u64>,
    pub memory_bytes: u64,
    pub tasks: u64,
}

/// The latest reading of each running server: its usage, or why it
/// could not be read.
pub type Readings = BTreeMap<ServerId, Result<Usage, String>>;

/// One reading of a cgroup's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    pub cpu_usec: u64,
    pub memory_bytes: u64,
    pub tasks: u64,
    pub at_usec: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} has no usage_usec line")]
    NoCpuUsage { path: PathBuf },
    #[error("{path} does not hold a number: {text:?}")]
    NotANumber { path: PathBuf, text: String },
}

/// The cgroup of `id`'s unit under `slice`.
pub fn cgroup(slice: &Path, id: &ServerId) -> PathBuf {
    slice.join(format!("hearth-server@{id}.service"))
}

/// Reads `dir`'s counters, at `at_usec` (a monotonic clock).
pub fn read(dir: &Path, at_usec: u64) -> Result<Reading, UsageError> {
    let text = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path)
            .map(|t| (path.clone(), t))
            .map_err(|source| UsageError::Read { path, source })
    };
    let number = |name: &str| -> Result<u64, UsageError> {
        let (path, t) = text(name)?;
        t.trim().parse().map_err(|_| UsageError::NotANumber {
            path,
            text: t.trim().to_string(),
        })
    };
    let (path, stat) = text("cpu.stat")?;
    Ok(Reading {
        cpu_usec: cpu_usage_usec(&stat).ok_or(UsageError::NoCpuUsage { path })?,
        memory_bytes: number("memory.current")?,
        tasks: number("pids.current")?,
        at_usec,
    })
}

/// `usage_usec` of a `cpu.stat` file's text.
fn cpu_usage_usec(stat: &str) -> Option<u64> {
    stat.lines()
        .find_map(|l| l.strip_prefix("usage_usec "))
        .and_then(|v| v.trim().parse().ok())
}

/// The usage `now` shows, against the reading `before` (if any).
pub fn usage(before: Option<&Reading>, now: &Reading) -> Usage {
    let cpu_millis = before
        .filter(|b| now.at_usec > b.at_usec && now.cpu_usec >= b.cpu_usec)
        .map(|b| {
            let used = u128::from(now.cpu_usec - b.cpu_usec);
            let span = u128::from(now.at_usec - b.at_usec);
            u64::try_from((used * 1000 + span / 2) / span).unwrap_or(u64::MAX)
        });
    Usage {
        cpu_millis,
        memory_bytes: now.memory_bytes,
        tasks: now.tasks,
    }
}

/// Keeps the last reading of each server, to tell CPU use over time.
#[derive(Debug, Default)]
pub struct Sampler {
    last: BTreeMap<ServerId, Reading>,
}

impl Sampler {
    /// Reads the servers `ids` under `slice`: each one's usage, or why it
    /// could not be read.
    pub fn sample_ids(&mut self, slice: &Path, ids: &[ServerId], at_usec: u64) -> Readings {
        let mut out = BTreeMap::new();
        let mut last = BTreeMap::new();
        for id in ids.iter().cloned() {
            match read(&cgroup(slice, &id), at_usec) {
                Ok(now) => {
                    out.insert(id.clone(), Ok(usage(self.last.get(&id), &now)));
                    last.insert(id, now);
                }
                Err(e) => {
                    out.insert(id, Err(e.to_string()));
                }
            }
        }
        self.last = last;
        out
    }
}

#[cfg(test)]
mod tests;
