//! node_exporter's families, under its names and help texts, in the
//! order `/metrics` writes them.

use std::collections::BTreeSet;

use super::text::{Family, Labels, Out, Table, no_labels};
use crate::metrics::collect::{NetRaw, RaplRaw, Raw};
use crate::metrics::model::{Filesystem, Pressure, TempSource, Temperature};
use crate::metrics::parse::cpu::{CpuStat, LoadAvg};
use crate::metrics::parse::disk::DiskCounters;
use crate::metrics::parse::memory::MemInfo;
use crate::metrics::parse::power::PowerSupply;
use crate::metrics::parse::pressure::PsiLine;

const CPU_SECONDS: Family<'static> = Family::counter(
    "node_cpu_seconds_total",
    "Seconds the CPUs spent in each mode.",
);

/// Written whenever `/proc/stat` was read, even with no core in it.
pub(super) fn cpu(o: &mut Out, cpu: Option<&CpuStat>, clk_tck: u64) {
    let Some(cpu) = cpu else { return };
    let tck = clk_tck.max(1) as f64;
    let samples = cpu.cores.iter().flat_map(|(id, t)| {
        let modes = [
            ("user", t.user),
            ("nice", t.nice),
            ("system", t.system),
            ("idle", t.idle),
            ("iowait", t.iowait),
            ("irq", t.irq),
            ("softirq", t.softirq),
            ("steal", t.steal),
        ];
        modes.map(|(mode, ticks)| {
            let labels = vec![("cpu", id.to_string()), ("mode", mode.to_string())];
            (labels, ticks as f64 / tck)
        })
    });
    o.family(&CPU_SECONDS, samples);
}

#[rustfmt::skip]
pub(super) const LOAD: Table<LoadAvg> = Table::gauges(no_labels, &[
    ("node_load1", "1m load average.", |l| Some(l.load[0])),
    ("node_load5", "5m load average.", |l| Some(l.load[1])),
    ("node_load15", "15m load average.", |l| Some(l.load[2])),
    ("node_procs_running", "Number of processes in runnable state.", |l| Some(l.running as f64)),
]);

pub(super) fn clock(o: &mut Out, uptime_s: Option<f64>, now_s: f64) {
    let boot = Family::gauge("node_boot_time_seconds", "Node boot time, in unixtime.");
    o.single(&boot, uptime_s.map(|up| (now_s - up).round()));
    let now = Family::gauge(
        "node_time_seconds",
        "System time in seconds since epoch (1970).",
    );
    o.single(&now, Some(now_s));
}

pub(super) fn memory(o: &mut Out, m: Option<&MemInfo>) {
    let Some(m) = m else { return };
    let fields = [
        ("MemTotal", Some(m.total)),
        ("MemFree", Some(m.free)),
        ("Buffers", Some(m.buffers)),
        ("Cached", Some(m.cached)),
        ("SwapTotal", Some(m.swap_total)),
        ("SwapFree", Some(m.swap_free)),
        // Kernels before 3.14 lack it.
        ("MemAvailable", m.available),
    ];
    for (field, bytes) in fields {
        let name = format!("node_memory_{field}_bytes");
        let help = format!("Memory information field {field}_bytes.");
        o.single(&Family::gauge(&name, &help), bytes.map(|b| b as f64));
    }
}

#[rustfmt::skip]
pub(super) const FILESYSTEMS: Table<Filesystem> = Table::gauges(filesystem_labels, &[
    ("node_filesystem_size_bytes", "Filesystem size in bytes.", |f| Some(f.size_bytes as f64)),
    ("node_filesystem_free_bytes", "Filesystem free space in bytes.", |f| Some(f.size_bytes.saturating_sub(f.used_bytes) as f64)),
    ("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.", |f| Some(f.avail_bytes as f64)),
    ("node_filesystem_files", "Filesystem total file nodes.", |f| Some(f.inodes_total as f64)),
    ("node_filesystem_files_free", "Filesystem total free file nodes.", |f| Some(f.inodes_free as f64)),
]);

fn filesystem_labels(f: &Filesystem) -> Option<Labels> {
    Some(vec![
        ("device", f.device.clone().unwrap_or_default()),
        ("fstype", f.fstype.clone().unwrap_or_default()),
        ("mountpoint", f.mount.clone()),
    ])
}

#[rustfmt::skip]
pub(super) const DISKS: Table<DiskCounters> = Table::counters(|d| Some(device(&d.name)), &[
    ("node_disk_reads_completed_total", "The total number of reads completed successfully.", |d| Some(d.reads as f64)),
    ("node_disk_writes_completed_total", "The total number of writes completed successfully.", |d| Some(d.writes as f64)),
    ("node_disk_read_bytes_total", "The total number of bytes read successfully.", |d| Some(d.sectors_read.saturating_mul(512) as f64)),
    ("node_disk_written_bytes_total", "The total number of bytes written successfully.", |d| Some(d.sectors_written.saturating_mul(512) as f64)),
    ("node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", |d| Some(d.io_ms as f64 / 1000.0)),
]);

#[rustfmt::skip]
pub(super) const NETWORK: Table<NetRaw> = Table::counters(interface, &[
    ("node_network_receive_bytes_total", "Network device statistic receive_bytes.", |x| Some(x.counters.rx_bytes as f64)),
    ("node_network_transmit_bytes_total", "Network device statistic transmit_bytes.", |x| Some(x.counters.tx_bytes as f64)),
    ("node_network_receive_packets_total", "Network device statistic receive_packets.", |x| Some(x.counters.rx_packets as f64)),
    ("node_network_transmit_packets_total", "Network device statistic transmit_packets.", |x| Some(x.counters.tx_packets as f64)),
    ("node_network_receive_errs_total", "Network device statistic receive_errs.", |x| Some(x.counters.rx_errors as f64)),
    ("node_network_transmit_errs_total", "Network device statistic transmit_errs.", |x| Some(x.counters.tx_errors as f64)),
    ("node_network_receive_drop_total", "Network device statistic receive_drop.", |x| Some(x.counters.rx_drops as f64)),
    ("node_network_transmit_drop_total", "Network device statistic transmit_drop.", |x| Some(x.counters.tx_drops as f64)),
]);

/// The link's state and speed, where `/sys/class/net` tells them.
#[rustfmt::skip]
pub(super) const LINKS: Table<NetRaw> = Table::gauges(interface, &[
    ("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.", |x| x.link.as_ref().map(|l| flag(l == "up"))),
    ("node_network_speed_bytes", "Network device property: speed in bytes per second.", |x| x.speed_mbps.map(|s| s as f64 * 125_000.0)),
]);

fn interface(x: &NetRaw) -> Option<Labels> {
    Some(device(&x.counters.iface))
}

fn device(name: &str) -> Labels {
    vec![("device", name.to_string())]
}

#[rustfmt::skip]
pub(super) const HWMON: Table<Temperature> = Table::gauges(hwmon_sensor, &[
    ("node_hwmon_temp_celsius", "Hardware monitor for temperature (input).", |t| Some(t.celsius)),
    ("node_hwmon_temp_crit_celsius", "Hardware monitor for temperature (crit).", |t| t.critical_celsius),
]);

fn hwmon_sensor(t: &Temperature) -> Option<Labels> {
    match &t.source {
        Some(TempSource::Hwmon { chip, sensor }) => {
            Some(vec![("chip", chip.clone()), ("sensor", sensor.clone())])
        }
        _ => None,
    }
}

pub(super) const THERMAL: Table<Temperature> = Table::gauges(
    thermal_zone,
    &[(
        "node_thermal_zone_temp",
        "Zone temperature in Celsius",
        |t| Some(t.celsius),
    )],
);

fn thermal_zone(t: &Temperature) -> Option<Labels> {
    match &t.source {
        Some(TempSource::Thermal { zone, kind }) => {
            Some(vec![("type", kind.clone()), ("zone", zone.clone())])
        }
        _ => None,
    }
}

/// One family per zone kind, however many packages report it.
pub(super) fn rapl(o: &mut Out, zones: &[RaplRaw]) {
    let kinds: BTreeSet<String> = zones.iter().map(|r| rapl_kind(&r.name)).collect();
    for kind in kinds {
        let name = format!("node_rapl_{kind}_joules_total");
        let help = format!("Current RAPL {kind} value in joules");
        let samples = zones
            .iter()
            .filter(|r| rapl_kind(&r.name) == kind)
            .map(|r| (vec![("index", r.index.clone())], r.energy_uj as f64 / 1e6));
        o.family_if_any(&Family::counter(&name, &help), samples);
    }
}

/// `package-0` → `package`, `core` → `core`: the zone kind of a metric name.
fn rapl_kind(zone_name: &str) -> String {
    sanitize(
        zone_name
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end_matches('-'),
    )
}

/// `package-0` → `package_0`: a valid metric-name part.
pub(super) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[rustfmt::skip]
pub(super) const SUPPLIES: Table<PowerSupply> = Table::gauges(|s| Some(vec![("power_supply", s.name.clone())]), &[
    ("node_power_supply_capacity", "capacity value of /sys/class/power_supply/<power_supply>.", |s| s.capacity_pct.map(f64::from)),
    ("node_power_supply_online", "online value of /sys/class/power_supply/<power_supply>.", |s| s.online.map(flag)),
    ("node_power_supply_power_watt", "power_watt value of /sys/class/power_supply/<power_supply>.", |s| s.power_watts),
]);

fn flag(on: bool) -> f64 {
    if on { 1.0 } else { 0.0 }
}

/// Over the one [`Pressure`] of the sample.
#[rustfmt::skip]
pub(super) const PRESSURE: Table<Pressure> = Table::counters(no_labels, &[
    ("node_pressure_cpu_waiting_seconds_total", "Total time in seconds that processes have waited for CPU time", |p| stalled(p.cpu.and_then(|x| x.some))),
    ("node_pressure_memory_waiting_seconds_total", "Total time in seconds that processes have waited for memory", |p| stalled(p.memory.and_then(|x| x.some))),
    ("node_pressure_memory_stalled_seconds_total", "Total time in seconds no process could make progress due to memory congestion", |p| stalled(p.memory.and_then(|x| x.full))),
    ("node_pressure_io_waiting_seconds_total", "Total time in seconds that processes have waited due to IO congestion", |p| stalled(p.io.and_then(|x| x.some))),
    ("node_pressure_io_stalled_seconds_total", "Total time in seconds no process could make progress due to IO congestion", |p| stalled(p.io.and_then(|x| x.full))),
]);

fn stalled(line: Option<PsiLine>) -> Option<f64> {
    line.map(|l| l.total_us as f64 / 1e6)
}

const UNAME: Family<'static> = Family::gauge(
    "node_uname_info",
    "Labeled system information as provided by the uname system call.",
);

const OS_INFO: Family<'static> = Family::gauge(
    "node_os_info",
    "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.",
);

pub(super) fn system(o: &mut Out, raw: &Raw) {
    let uname = vec![
        ("nodename", raw.hostname.clone().unwrap_or_default()),
        ("release", raw.kernel.clone().unwrap_or_default()),
        ("sysname", "Linux".to_string()),
    ];
    o.family(&UNAME, [(uname, 1.0)]);
    let os = raw
        .os
        .iter()
        .map(|os| (vec![("pretty_name", os.clone())], 1.0));
    o.family_if_any(&OS_INFO, os);
}
