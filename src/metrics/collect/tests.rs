use super::*;

fn fixture_root() -> Roots {
    Roots::under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/metrics/root"))
}

#[test]
fn fixture_machine_is_read_completely() {
    let mut c = Collector::new(fixture_root(), None);
    let raw = c.collect(Duration::from_secs(1), 1_000, true);
    assert_eq!(raw.hostname.as_deref(), Some("fixturebox"));
    assert_eq!(raw.kernel.as_deref(), Some("6.1.0-test"));
    assert_eq!(raw.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(raw.uptime_s, Some(12345.67));
    assert_eq!(raw.load.unwrap().load, [0.5, 1.0, 2.25]);
    let cores: Vec<u32> = raw
        .cpu
        .as_ref()
        .unwrap()
        .cores
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(cores, vec![0, 1, 3]);
    assert_eq!(raw.memory.unwrap().total, 8_000_000 * 1024);

    // /sys/block decides which devices are disks.
    let disks: Vec<&str> = raw.disks.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(disks, vec!["sda", "nvme0n1"]);

    let eth0 = raw.net.iter().find(|n| n.counters.iface == "eth0").unwrap();
    assert_eq!(eth0.link.as_deref(), Some("up"));
    assert_eq!(eth0.speed_mbps, Some(1000));
    assert_eq!(eth0.mac.as_deref(), Some("52:54:00:12:34:56"));
    let lo = raw.net.iter().find(|n| n.counters.iface == "lo").unwrap();
    assert_eq!(lo.mac, None);
    let wlan = raw
        .net
        .iter()
        .find(|n| n.counters.iface == "wlan0")
        .unwrap();
    assert_eq!(
        (wlan.link.as_deref(), wlan.speed_mbps),
        (Some("down"), None)
    );

    let temps: Vec<(&str, f64)> = raw
        .temperatures
        .iter()
        .map(|t| (t.label.as_str(), t.celsius))
        .collect();
    assert_eq!(
        temps,
        vec![
            ("coretemp Package id 0", 45.0),
            ("coretemp Core 0", 43.5),
            ("nvme temp1", 38.85),
            ("thermal x86_pkg_temp", 46.0),
        ]
    );
    assert_eq!(raw.temperatures[0].critical_celsius, Some(100.0));

    let zones: Vec<&str> = raw.rapl.iter().map(|r| r.zone.as_str()).collect();
    assert_eq!(zones, vec!["package-0", "intel-rapl:0:0 core"]);
    assert_eq!(raw.rapl[0].max_range_uj, Some(262143328850));

    let supplies: Vec<&str> = raw.supplies.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(supplies, vec!["AC", "BAT0"]);
    assert!(raw.pressure.cpu.is_some() && raw.pressure.io.is_some());

    let mut procs: Vec<(u32, String)> = raw
        .processes
        .unwrap()
        .into_iter()
        .map(|p| (p.pid, p.name))
        .collect();
    procs.sort();
    assert_eq!(
        procs,
        vec![
            (1, "systemd".to_string()),
            (42, "my (weird) name".to_string()),
            (777, "kworker/0:1".to_string())
        ]
    );
}

#[test]
fn processes_only_when_asked() {
    let mut c = Collector::new(fixture_root(), None);
    assert!(c.collect(Duration::ZERO, 0, false).processes.is_none());
}

#[test]
fn an_empty_machine_reads_as_absent_not_as_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collector::new(Roots::under(dir.path()), Some(vec!["/nonexistent".into()]));
    for i in 0..3 {
        let raw = c.collect(Duration::from_secs(i), 0, true);
        assert!(raw.cpu.is_none() && raw.memory.is_none() && raw.load.is_none());
        assert!(raw.disks.is_empty() && raw.net.is_empty() && raw.temperatures.is_empty());
        assert!(raw.filesystems.is_empty());
        assert_eq!(raw.processes.as_deref(), Some(&[][..]));
    }
}

#[test]
fn files_that_appear_later_are_picked_up_on_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = Collector::new(Roots::under(dir.path()), None);
    assert!(c.collect(Duration::ZERO, 0, false).memory.is_none());
    std::fs::create_dir_all(dir.path().join("proc")).unwrap();
    std::fs::write(dir.path().join("proc/meminfo"), "MemTotal: 1 kB\n").unwrap();
    assert!(c.collect(Duration::from_secs(1), 0, false).memory.is_none());
    assert!(c.collect(Duration::from_secs(2), 0, true).memory.is_some());
}

#[test]
fn this_host_root_filesystem_and_memory() {
    let mut c = Collector::new(Roots::host(), None);
    let raw = c.collect(Duration::ZERO, 0, true);
    let root = raw
        .filesystems
        .iter()
        .find(|f| f.mount == "/")
        .expect("/ is listed");
    assert!(root.size_bytes > 0 && root.avail_bytes <= root.size_bytes);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    // The first line: `MemTotal: <kB> kB`.
    let total_kb: u64 = meminfo.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert_eq!(raw.memory.unwrap().total, total_kb * 1024);
    assert!(
        raw.processes
            .unwrap()
            .iter()
            .any(|p| p.pid == std::process::id())
    );
}
