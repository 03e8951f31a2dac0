//! `GET /metrics`: the raw counters in Prometheus' text format, under
//! node_exporter's metric names wherever the meaning is the same, so
//! existing dashboards work. hearth's own metrics are `hearth_*`.

mod node;
mod text;

use super::collect::Raw;
use text::{Out, Table, no_labels};

/// Values from outside the sample.
pub struct Extra {
    pub clk_tck: u64,
    pub now_s: f64,
    pub sample_duration_s: Option<f64>,
    pub sse_subscribers: usize,
}

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// hearth's own families, over the one [`Extra`].
#[rustfmt::skip]
const HEARTH: Table<Extra> = Table::gauges(no_labels, &[
    ("hearth_sample_duration_seconds", "How long hearth's last metrics sample took.", |e| e.sample_duration_s),
    ("hearth_sse_subscribers", "Open Server-Sent Events streams.", |e| Some(e.sse_subscribers as f64)),
]);

pub fn render(raw: &Raw, extra: &Extra) -> String {
    let mut o = Out::new();
    node::cpu(&mut o, raw.cpu.as_ref(), extra.clk_tck);
    node::LOAD.write(&mut o, raw.load.as_slice());
    node::clock(&mut o, raw.uptime_s, extra.now_s);
    node::memory(&mut o, raw.memory.as_ref());
    node::FILESYSTEMS.write(&mut o, &raw.filesystems);
    node::DISKS.write(&mut o, &raw.disks);
    node::NETWORK.write(&mut o, &raw.net);
    node::LINKS.write(&mut o, &raw.net);
    node::HWMON.write(&mut o, &raw.temperatures);
    node::THERMAL.write(&mut o, &raw.temperatures);
    node::rapl(&mut o, &raw.rapl);
    node::SUPPLIES.write(&mut o, &raw.supplies);
    node::PRESSURE.write(&mut o, std::slice::from_ref(&raw.pressure));
    node::system(&mut o, raw);
    HEARTH.write(&mut o, std::slice::from_ref(extra));
    o.finish()
}

#[cfg(test)]
mod tests {
    use super::node::sanitize;
    use super::text::{escape, number};
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
