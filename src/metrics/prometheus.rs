//! `GET /metrics`: the raw counters in Prometheus' text format, under
//! node_exporter's metric names wherever the meaning is the same, so
//! existing dashboards work. hearth's own metrics are `hearth_*`.

use std::fmt::Write;

use super::collect::Raw;
use super::model::TempSource;

/// Values from outside the sample.
pub struct Extra {
    pub clk_tck: u64,
    pub now_s: f64,
    pub sample_duration_s: Option<f64>,
    pub sse_subscribers: usize,
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Out {
    text: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}");
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", number(value));
    }

    /// A family with one sample per item; written only if there are items.
    fn each<T>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        items: &[T],
        sample: impl Fn(&T) -> Option<(Vec<(&'static str, String)>, f64)>,
    ) {
        let rows: Vec<_> = items.iter().filter_map(sample).collect();
        if rows.is_empty() {
            return;
        }
        self.family(name, kind, help);
        for (labels, value) in rows {
            let l: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
            self.sample(name, &l, value);
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
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
fn sanitize(name: &str) -> String {
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

pub fn render(raw: &Raw, extra: &Extra) -> String {
    let mut o = Out {
        text: String::with_capacity(16 * 1024),
    };
    let tck = extra.clk_tck.max(1) as f64;

    if let Some(cpu) = &raw.cpu {
        o.family(
            "node_cpu_seconds_total",
            "counter",
            "Seconds the CPUs spent in each mode.",
        );
        for (id, t) in &cpu.cores {
            let id = id.to_string();
            for (mode, v) in [
                ("user", t.user),
                ("nice", t.nice),
                ("system", t.system),
                ("idle", t.idle),
                ("iowait", t.iowait),
                ("irq", t.irq),
                ("softirq", t.softirq),
                ("steal", t.steal),
            ] {
                o.sample(
                    "node_cpu_seconds_total",
                    &[("cpu", &id), ("mode", mode)],
                    v as f64 / tck,
                );
            }
        }
    }
    if let Some(l) = &raw.load {
        for (name, v, help) in [
            ("node_load1", l.load[0], "1m load average."),
            ("node_load5", l.load[1], "5m load average."),
            ("node_load15", l.load[2], "15m load average."),
        ] {
            o.family(name, "gauge", help);
            o.sample(name, &[], v);
        }
        o.family(
            "node_procs_running",
            "gauge",
            "Number of processes in runnable state.",
        );
        o.sample("node_procs_running", &[], l.running as f64);
    }
    if let Some(up) = raw.uptime_s {
        o.family(
            "node_boot_time_seconds",
            "gauge",
            "Node boot time, in unixtime.",
        );
        o.sample("node_boot_time_seconds", &[], (extra.now_s - up).round());
    }
    o.family(
        "node_time_seconds",
        "gauge",
        "System time in seconds since epoch (1970).",
    );
    o.sample("node_time_seconds", &[], extra.now_s);

    if let Some(m) = &raw.memory {
        let mut mem = vec![
            ("MemTotal", m.total),
            ("MemFree", m.free),
            ("Buffers", m.buffers),
            ("Cached", m.cached),
            ("SwapTotal", m.swap_total),
            ("SwapFree", m.swap_free),
        ];
        if let Some(a) = m.available {
            mem.push(("MemAvailable", a));
        }
        for (field, v) in mem {
            let name = format!("node_memory_{field}_bytes");
            o.family(
                &name,
                "gauge",
                &format!("Memory information field {field}_bytes."),
            );
            o.sample(&name, &[], v as f64);
        }
    }

    let fs = &raw.filesystems;
    let fs_labels = |f: &super::model::Filesystem| {
        vec![
            ("device", f.device.clone().unwrap_or_default()),
            ("fstype", f.fstype.clone().unwrap_or_default()),
            ("mountpoint", f.mount.clone()),
        ]
    };
    o.each(
        "node_filesystem_size_bytes",
        "gauge",
        "Filesystem size in bytes.",
        fs,
        |f| Some((fs_labels(f), f.size_bytes as f64)),
    );
    o.each(
        "node_filesystem_free_bytes",
        "gauge",
        "Filesystem free space in bytes.",
        fs,
        |f| {
            Some((
                fs_labels(f),
                f.size_bytes.saturating_sub(f.used_bytes) as f64,
            ))
        },
    );
    o.each(
        "node_filesystem_avail_bytes",
        "gauge",
        "Filesystem space available to non-root users in bytes.",
        fs,
        |f| Some((fs_labels(f), f.avail_bytes as f64)),
    );
    o.each(
        "node_filesystem_files",
        "gauge",
        "Filesystem total file nodes.",
        fs,
        |f| Some((fs_labels(f), f.inodes_total as f64)),
    );
    o.each(
        "node_filesystem_files_free",
        "gauge",
        "Filesystem total free file nodes.",
        fs,
        |f| Some((fs_labels(f), f.inodes_free as f64)),
    );

    let d = &raw.disks;
    let dev = |name: &str| vec![("device", name.to_string())];
    o.each(
        "node_disk_reads_completed_total",
        "counter",
        "The total number of reads completed successfully.",
        d,
        |x| Some((dev(&x.name), x.reads as f64)),
    );
    o.each(
        "node_disk_writes_completed_total",
        "counter",
        "The total number of writes completed successfully.",
        d,
        |x| Some((dev(&x.name), x.writes as f64)),
    );
    o.each(
        "node_disk_read_bytes_total",
        "counter",
        "The total number of bytes read successfully.",
        d,
        |x| Some((dev(&x.name), x.sectors_read.saturating_mul(512) as f64)),
    );
    o.each(
        "node_disk_written_bytes_total",
        "counter",
        "The total number of bytes written successfully.",
        d,
        |x| Some((dev(&x.name), x.sectors_written.saturating_mul(512) as f64)),
    );
    o.each(
        "node_disk_io_time_seconds_total",
        "counter",
        "Total seconds spent doing I/Os.",
        d,
        |x| Some((dev(&x.name), x.io_ms as f64 / 1000.0)),
    );

    let n = &raw.net;
    type NetField = fn(&super::parse::net::NetCounters) -> u64;
    let net_counters: [(&str, &str, NetField); 8] = [
        (
            "node_network_receive_bytes_total",
            "Network device statistic receive_bytes.",
            |c| c.rx_bytes,
        ),
        (
            "node_network_transmit_bytes_total",
            "Network device statistic transmit_bytes.",
            |c| c.tx_bytes,
        ),
        (
            "node_network_receive_packets_total",
            "Network device statistic receive_packets.",
            |c| c.rx_packets,
        ),
        (
            "node_network_transmit_packets_total",
            "Network device statistic transmit_packets.",
            |c| c.tx_packets,
        ),
        (
            "node_network_receive_errs_total",
            "Network device statistic receive_errs.",
            |c| c.rx_errors,
        ),
        (
            "node_network_transmit_errs_total",
            "Network device statistic transmit_errs.",
            |c| c.tx_errors,
        ),
        (
            "node_network_receive_drop_total",
            "Network device statistic receive_drop.",
            |c| c.rx_drops,
        ),
        (
            "node_network_transmit_drop_total",
            "Network device statistic transmit_drop.",
            |c| c.tx_drops,
        ),
    ];
    for (name, help, field) in net_counters {
        o.each(name, "counter", help, n, |x| {
            Some((dev(&x.counters.iface), field(&x.counters) as f64))
        });
    }
    o.each(
        "node_network_up",
        "gauge",
        "Value is 1 if operstate is 'up', 0 otherwise.",
        n,
        |x| {
            let up = x.link.as_deref() == Some("up");
            x.link
                .as_ref()
                .map(|_| (dev(&x.counters.iface), if up { 1.0 } else { 0.0 }))
        },
    );
    o.each(
        "node_network_speed_bytes",
        "gauge",
        "Network device property: speed in bytes per second.",
        n,
        |x| {
            x.speed_mbps
                .map(|s| (dev(&x.counters.iface), s as f64 * 125_000.0))
        },
    );

    let t = &raw.temperatures;
    o.each(
        "node_hwmon_temp_celsius",
        "gauge",
        "Hardware monitor for temperature (input).",
        t,
        |x| match &x.source {
            Some(TempSource::Hwmon { chip, sensor }) => Some((
                vec![("chip", chip.clone()), ("sensor", sensor.clone())],
                x.celsius,
            )),
            _ => None,
        },
    );
    o.each(
        "node_hwmon_temp_crit_celsius",
        "gauge",
        "Hardware monitor for temperature (crit).",
        t,
        |x| match (&x.source, x.critical_celsius) {
            (Some(TempSource::Hwmon { chip, sensor }), Some(c)) => {
                Some((vec![("chip", chip.clone()), ("sensor", sensor.clone())], c))
            }
            _ => None,
        },
    );
    o.each(
        "node_thermal_zone_temp",
        "gauge",
        "Zone temperature in Celsius",
        t,
        |x| match &x.source {
            Some(TempSource::Thermal { zone, kind }) => Some((
                vec![("type", kind.clone()), ("zone", zone.clone())],
                x.celsius,
            )),
            _ => None,
        },
    );

    // One family per zone kind, however many packages report it.
    let kinds: std::collections::BTreeSet<String> =
        raw.rapl.iter().map(|r| rapl_kind(&r.name)).collect();
    for metric_part in kinds {
        let name = format!("node_rapl_{metric_part}_joules_total");
        o.each(
            &name,
            "counter",
            &format!("Current RAPL {metric_part} value in joules"),
            &raw.rapl,
            |r| {
                (rapl_kind(&r.name) == metric_part)
                    .then(|| (vec![("index", r.index.clone())], r.energy_uj as f64 / 1e6))
            },
        );
    }

    let s = &raw.supplies;
    let ps = |name: &str| vec![("power_supply", name.to_string())];
    o.each(
        "node_power_supply_capacity",
        "gauge",
        "capacity value of /sys/class/power_supply/<power_supply>.",
        s,
        |x| x.capacity_pct.map(|c| (ps(&x.name), c as f64)),
    );
    o.each(
        "node_power_supply_online",
        "gauge",
        "online value of /sys/class/power_supply/<power_supply>.",
        s,
        |x| x.online.map(|v| (ps(&x.name), if v { 1.0 } else { 0.0 })),
    );
    o.each(
        "node_power_supply_power_watt",
        "gauge",
        "power_watt value of /sys/class/power_supply/<power_supply>.",
        s,
        |x| x.power_watts.map(|w| (ps(&x.name), w)),
    );

    let p = &raw.pressure;
    for (name, help, psi) in [
        (
            "node_pressure_cpu_waiting_seconds_total",
            "Total time in seconds that processes have waited for CPU time",
            p.cpu.and_then(|x| x.some),
        ),
        (
            "node_pressure_memory_waiting_seconds_total",
            "Total time in seconds that processes have waited for memory",
            p.memory.and_then(|x| x.some),
        ),
        (
            "node_pressure_memory_stalled_seconds_total",
            "Total time in seconds no process could make progress due to memory congestion",
            p.memory.and_then(|x| x.full),
        ),
        (
            "node_pressure_io_waiting_seconds_total",
            "Total time in seconds that processes have waited due to IO congestion",
            p.io.and_then(|x| x.some),
        ),
        (
            "node_pressure_io_stalled_seconds_total",
            "Total time in seconds no process could make progress due to IO congestion",
            p.io.and_then(|x| x.full),
        ),
    ] {
        if let Some(line) = psi {
            o.family(name, "counter", help);
            o.sample(name, &[], line.total_us as f64 / 1e6);
        }
    }

    o.family(
        "node_uname_info",
        "gauge",
        "Labeled system information as provided by the uname system call.",
    );
    o.sample(
        "node_uname_info",
        &[
            ("nodename", raw.hostname.as_deref().unwrap_or("")),
            ("release", raw.kernel.as_deref().unwrap_or("")),
            ("sysname", "Linux"),
        ],
        1.0,
    );
    if let Some(os) = &raw.os {
        o.family("node_os_info", "gauge", "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, image_version, name, pretty_name, variant, variant_id, version, version_codename, version_id.");
        o.sample("node_os_info", &[("pretty_name", os)], 1.0);
    }
    if let Some(d) = extra.sample_duration_s {
        o.family(
            "hearth_sample_duration_seconds",
            "gauge",
            "How long hearth's last metrics sample took.",
        );
        o.sample("hearth_sample_duration_seconds", &[], d);
    }
    o.family(
        "hearth_sse_subscribers",
        "gauge",
        "Open Server-Sent Events streams.",
    );
    o.sample("hearth_sse_subscribers", &[], extra.sse_subscribers as f64);
    o.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::collect::{Collector, Roots};
    use std::path::Path;
    use std::time::Duration;

    fn fixture_text() -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics/root");
        let mut c = Collector::new(Roots::under(&root), None);
        let raw = c.collect(Duration::ZERO, 0, false);
        render(
            &raw,
            &Extra {
                clk_tck: 100,
                now_s: 1_763_770_000.0,
                sample_duration_s: Some(0.0001),
                sse_subscribers: 3,
            },
        )
    }

    #[test]
    fn node_exporter_names_and_values() {
        let t = fixture_text();
        for line in [
            "node_cpu_seconds_total{cpu=\"3\",mode=\"user\"} 100",
            "node_load1 0.5",
            "node_memory_MemTotal_bytes 8192000000",
            "node_disk_read_bytes_total{device=\"nvme0n1\"} 2048000",
            "node_network_receive_bytes_total{device=\"eth0\"} 4294967290",
            "node_network_up{device=\"eth0\"} 1",
            "node_network_speed_bytes{device=\"eth0\"} 125000000",
            "node_hwmon_temp_celsius{chip=\"coretemp\",sensor=\"temp1\"} 45",
            "node_hwmon_temp_crit_celsius{chip=\"coretemp\",sensor=\"temp1\"} 100",
            "node_thermal_zone_temp{type=\"x86_pkg_temp\",zone=\"0\"} 46",
            "node_rapl_package_joules_total{index=\"0\"} 262143",
            "node_rapl_core_joules_total{index=\"0:0\"} 1",
            "node_power_supply_capacity{power_supply=\"BAT0\"} 87",
            "node_power_supply_online{power_supply=\"AC\"} 0",
            "node_pressure_io_waiting_seconds_total 0.123456",
            "node_boot_time_seconds 1763757654",
            "hearth_sse_subscribers 3",
        ] {
            assert!(t.lines().any(|l| l == line), "missing {line:?} in\n{t}");
        }
        assert!(t.contains("# TYPE node_cpu_seconds_total counter"));
        // Each family is declared once.
        let mut families: Vec<&str> = t.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let n = families.len();
        families.sort();
        families.dedup();
        assert_eq!(families.len(), n, "a family declared twice");
    }

    /// The whole text for the fixture machine, against its golden file:
    /// any change to names, labels, help or order shows as a diff. The
    /// filesystem figures come from statvfs of the real mount point the
    /// fixture names, so their values (not their lines) are masked.
    #[test]
    fn the_fixture_machine_renders_as_its_golden_file() {
        let text: String = fixture_text()
            .lines()
            .map(|l| match l.rsplit_once(' ') {
                Some((series, _)) if l.starts_with("node_filesystem_") => {
                    format!("{series} <statvfs>\n")
                }
                _ => format!("{l}\n"),
            })
            .collect();
        crate::golden::assert_golden("prometheus.txt", &text);
    }

    #[test]
    fn two_packages_give_one_family_per_zone_kind() {
        let zone = |name: &str, index: &str| crate::metrics::collect::RaplRaw {
            zone: name.into(),
            name: name.into(),
            index: index.into(),
            energy_uj: 1_000_000,
            max_range_uj: None,
        };
        let raw = Raw {
            rapl: vec![
                zone("package-0", "0"),
                zone("core", "0:0"),
                zone("package-1", "1"),
                zone("core", "1:0"),
            ],
            ..Raw::default()
        };
        let extra = Extra {
            clk_tck: 100,
            now_s: 0.0,
            sample_duration_s: None,
            sse_subscribers: 0,
        };
        let t = render(&raw, &extra);
        assert_eq!(
            t.matches("# TYPE node_rapl_package_joules_total").count(),
            1
        );
        assert_eq!(t.matches("# TYPE node_rapl_core_joules_total").count(), 1);
        assert!(t.contains("node_rapl_package_joules_total{index=\"1\"} 1"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(sanitize("package-0"), "package_0");
        assert_eq!(number(f64::NAN), "NaN");
    }
}
