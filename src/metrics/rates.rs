//! From two raw snapshots to a [`SystemSample`]: percentages and rates
//! per second over the monotonic time between them. Pure: time comes in
//! the snapshots, so tests inject it.
//!
//! Counters may wrap (32-bit counters on some kernels and drivers, RAPL's
//! energy counter at its documented range) or reset (a device re-added);
//! a wrap is unwrapped, a reset gives no rate for that sample.

use std::collections::HashMap;
use std::time::Duration;

use super::collect::Raw;
use super::model::{
    Core, Cpu, Disk, Memory, NetIface, Power, PowerSupply, Process, Processes, RaplZone,
    SystemSample,
};
use super::parse::cpu::CpuTicks;
use super::parse::process::ProcStat;

/// How many processes the top lists hold.
pub const TOP_N: usize = 5;

/// The increase of a counter; `None` when it went back in a way that is
/// not a 32-bit wrap. A wrap is only assumed when the old value was in the
/// top half of the 32-bit range and the new one in the bottom half: a
/// counter that reset (an interface re-created, a disk re-added) must not
/// turn into a rate of gigabytes per second.
pub fn counter_delta(prev: u64, cur: u64) -> Option<u64> {
    const HALF: u64 = 1 << 31;
    if cur >= prev {
        Some(cur - prev)
    } else if (HALF..=u64::from(u32::MAX)).contains(&prev) && cur < HALF {
        Some(u64::from(u32::MAX) - prev + cur + 1)
    } else {
        None
    }
}

/// Like [`counter_delta`] for a counter that wraps at `max` (RAPL).
pub fn wrapping_delta(prev: u64, cur: u64, max: Option<u64>) -> Option<u64> {
    match (cur >= prev, max) {
        (true, _) => Some(cur - prev),
        (false, Some(max)) if prev <= max => Some(max - prev + cur),
        _ => None,
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| round1((part as f64 / whole as f64 * 100.0).clamp(0.0, 100.0)))
}

/// Turns consecutive raw snapshots into samples.
pub struct Rates {
    clk_tck: u64,
    page_size: u64,
    prev: Option<Raw>,
    /// The last process scan: its time and each pid's CPU ticks.
    prev_scan: Option<(Duration, HashMap<u32, u64>)>,
    processes: Option<Processes>,
}

impl Rates {
    /// `clk_tck`: clock ticks per second (`getconf CLK_TCK`); `page_size`
    /// in bytes.
    pub fn new(clk_tck: u64, page_size: u64) -> Rates {
        Rates {
            clk_tck: clk_tck.max(1),
            page_size,
            prev: None,
            prev_scan: None,
            processes: None,
        }
    }

    /// The snapshot the last sample came from (for `/metrics`).
    pub fn last_raw(&self) -> Option<&Raw> {
        self.prev.as_ref()
    }

    pub fn next(&mut self, mut raw: Raw) -> SystemSample {
        if let Some(scan) = raw.processes.take() {
            self.processes = Some(self.processes_from(&raw, scan));
        }
        let prev = self.prev.as_ref();
        let dt = prev
            .and_then(|p| raw.at.checked_sub(p.at))
            .filter(|d| !d.is_zero());
        let secs = dt.map(|d| d.as_secs_f64());
        let per_sec = |delta: Option<u64>| -> Option<f64> { Some(delta? as f64 / secs?) };

        let sample = SystemSample {
            ts_ms: raw.ts_ms,
            hostname: raw.hostname.clone(),
            kernel: raw.kernel.clone(),
            os: raw.os.clone(),
            uptime_s: raw.uptime_s.map(|u| u as u64),
            load: raw.load.map(|l| l.load),
            cpu: cpu(prev.and_then(|p| p.cpu.as_ref()), raw.cpu.as_ref()),
            memory: raw.memory.map(|m| Memory {
                total_bytes: m.total,
                available_bytes: m.available(),
                used_bytes: m.used(),
                free_bytes: m.free,
                cached_bytes: m.cached,
                buffers_bytes: m.buffers,
                swap_total_bytes: m.swap_total,
                swap_used_bytes: m.swap_used(),
            }),
            filesystems: raw.filesystems.clone(),
            disks: raw
                .disks
                .iter()
                .map(|d| {
                    let p = prev.and_then(|p| p.disks.iter().find(|x| x.name == d.name));
                    let delta = |f: fn(&super::parse::disk::DiskCounters) -> u64| {
                        p.and_then(|p| counter_delta(f(p), f(d)))
                    };
                    Disk {
                        name: d.name.clone(),
                        read_bps: per_sec(delta(|x| x.sectors_read).map(|s| s.saturating_mul(512)))
                            .map(|v| v as u64),
                        write_bps: per_sec(
                            delta(|x| x.sectors_written).map(|s| s.saturating_mul(512)),
                        )
                        .map(|v| v as u64),
                        read_iops: per_sec(delta(|x| x.reads)).map(round1),
                        write_iops: per_sec(delta(|x| x.writes)).map(round1),
                        busy_pct: delta(|x| x.io_ms).and_then(|ms| {
                            let window = dt?.as_millis() as u64;
                            pct(ms.min(window), window)
                        }),
                    }
                })
                .collect(),
            net: raw
                .net
                .iter()
                .map(|n| {
                    let c = &n.counters;
                    let p = prev
                        .and_then(|p| p.net.iter().find(|x| x.counters.iface == c.iface))
                        .map(|x| &x.counters);
                    let rate = |f: fn(&super::parse::net::NetCounters) -> u64| {
                        per_sec(p.and_then(|p| counter_delta(f(p), f(c))))
                    };
                    NetIface {
                        iface: c.iface.clone(),
                        is_virtual: crate::host::interfaces::is_virtual(&c.iface),
                        rx_bps: rate(|x| x.rx_bytes).map(|v| v as u64),
                        tx_bps: rate(|x| x.tx_bytes).map(|v| v as u64),
                        rx_pps: rate(|x| x.rx_packets).map(round1),
                        tx_pps: rate(|x| x.tx_packets).map(round1),
                        rx_errors: c.rx_errors,
                        tx_errors: c.tx_errors,
                        rx_drops: c.rx_drops,
                        tx_drops: c.tx_drops,
                        link: n.link.clone(),
                        speed_mbps: n.speed_mbps,
                        mac: n.mac.clone(),
                    }
                })
                .collect(),
            temperatures: raw.temperatures.clone(),
            power: Power {
                rapl: raw
                    .rapl
                    .iter()
                    .map(|r| {
                        let p = prev.and_then(|p| p.rapl.iter().find(|x| x.zone == r.zone));
                        let uj = p
                            .and_then(|p| wrapping_delta(p.energy_uj, r.energy_uj, r.max_range_uj));
                        RaplZone {
                            zone: r.zone.clone(),
                            watts: per_sec(uj).map(|uw| round1(uw / 1e6)),
                        }
                    })
                    .collect(),
                supplies: raw
                    .supplies
                    .iter()
                    .map(|s| PowerSupply {
                        name: s.name.clone(),
                        kind: s.kind.clone(),
                        status: s.status.clone(),
                        online: s.online,
                        capacity_pct: s.capacity_pct,
                        watts: s.power_watts.map(round1),
                    })
                    .collect(),
            },
            pressure: raw.pressure.clone(),
            processes: self.processes.clone(),
        };
        self.prev = Some(raw);
        sample
    }

    fn processes_from(&mut self, raw: &Raw, scan: Vec<ProcStat>) -> Processes {
        let ticks: HashMap<u32, u64> = scan.iter().map(|p| (p.pid, p.cpu_ticks)).collect();
        let window = self
            .prev_scan
            .as_ref()
            .and_then(|(at, _)| raw.at.checked_sub(*at))
            .filter(|d| !d.is_zero());
        let cpu_pct = |p: &ProcStat| -> Option<f64> {
            let (_, before) = self.prev_scan.as_ref()?;
            let delta = p.cpu_ticks.checked_sub(*before.get(&p.pid)?)?;
            let secs = window?.as_secs_f64();
            Some(round1(delta as f64 / self.clk_tck as f64 / secs * 100.0))
        };
        let mut listed: Vec<Process> = scan
            .iter()
            .map(|p| Process {
                pid: p.pid,
                name: p.name.clone(),
                cpu_pct: cpu_pct(p),
                rss_bytes: p.rss_pages * self.page_size,
            })
            .collect();
        // The first scan has no CPU figures: no top-CPU list rather than a
        // made-up one.
        let mut top_cpu: Vec<Process> = listed
            .iter()
            .filter(|p| p.cpu_pct.is_some())
            .cloned()
            .collect();
        top_cpu.sort_by(|a, b| {
            b.cpu_pct
                .partial_cmp(&a.cpu_pct)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.pid.cmp(&b.pid))
        });
        top_cpu.truncate(TOP_N);
        listed.sort_by(|a, b| b.rss_bytes.cmp(&a.rss_bytes).then(a.pid.cmp(&b.pid)));
        listed.truncate(TOP_N);
        self.prev_scan = Some((raw.at, ticks));
        Processes {
            total: scan.len() as u64,
            running: scan.iter().filter(|p| p.state == 'R').count() as u64,
            top_cpu,
            top_memory: listed,
        }
    }
}

fn cpu(prev: Option<&super::parse::cpu::CpuStat>, cur: Option<&super::parse::cpu::CpuStat>) -> Cpu {
    let Some(cur) = cur else {
        return Cpu::default();
    };
    let mut out = Cpu {
        count: cur.cores.len(),
        cores: cur
            .cores
            .iter()
            .map(|(id, c)| Core {
                id: *id,
                busy_pct: prev
                    .and_then(|p| p.cores.iter().find(|(pid, _)| pid == id))
                    .and_then(|(_, p)| {
                        let d = ticks_delta(p, c);
                        pct(d.busy(), d.total())
                    }),
            })
            .collect(),
        ..Cpu::default()
    };
    if let Some(p) = prev {
        let d = ticks_delta(&p.total, &cur.total);
        let total = d.total();
        out.total_pct = pct(d.busy(), total);
        out.user_pct = pct(d.user + d.nice, total);
        out.system_pct = pct(d.system + d.irq + d.softirq, total);
        out.iowait_pct = pct(d.iowait, total);
        out.steal_pct = pct(d.steal, total);
    }
    out
}

/// Field-wise increase. A field that went back (iowait does, on some
/// kernels) counts as zero rather than poisoning the sum.
fn ticks_delta(p: &CpuTicks, c: &CpuTicks) -> CpuTicks {
    CpuTicks {
        user: c.user.saturating_sub(p.user),
        nice: c.nice.saturating_sub(p.nice),
        system: c.system.saturating_sub(p.system),
        idle: c.idle.saturating_sub(p.idle),
        iowait: c.iowait.saturating_sub(p.iowait),
        irq: c.irq.saturating_sub(p.irq),
        softirq: c.softirq.saturating_sub(p.softirq),
        steal: c.steal.saturating_sub(p.steal),
    }
}

#[cfg(test)]
mod tests;
