use super::*;
use crate::metrics::collect::{NetRaw, RaplRaw};
use crate::metrics::parse::cpu::CpuStat;
use crate::metrics::parse::disk::{looks_whole, parse_diskstats};
use crate::metrics::parse::fixture;
use crate::metrics::parse::net::parse_net_dev;

fn raw_at(secs: u64) -> Raw {
    Raw {
        at: Duration::from_secs(secs),
        ts_ms: secs * 1000,
        ..Raw::default()
    }
}

/// A sample at `secs` of the CPU's counters only.
fn cpu_at(secs: u64, total: CpuTicks, cores: Vec<(u32, CpuTicks)>) -> Raw {
    Raw {
        cpu: Some(CpuStat { total, cores }),
        ..raw_at(secs)
    }
}

fn ticks(user: u64, system: u64, idle: u64, iowait: u64) -> CpuTicks {
    CpuTicks {
        user,
        system,
        idle,
        iowait,
        ..CpuTicks::default()
    }
}

#[test]
fn counter_wraps_and_resets() {
    assert_eq!(counter_delta(10, 15), Some(5));
    assert_eq!(counter_delta(u64::from(u32::MAX) - 1, 3), Some(5));
    assert_eq!(
        counter_delta(1 << 40, 5),
        None,
        "a 64-bit counter going back is a reset"
    );
    // A small counter that reset is not a wrap either.
    assert_eq!(counter_delta(150_000, 20), None);
    assert_eq!(counter_delta(u64::from(u32::MAX) - 10, 1 << 31), None);
    assert_eq!(wrapping_delta(90, 10, Some(100)), Some(20));
    assert_eq!(wrapping_delta(90, 10, None), None);
}

#[test]
fn first_sample_has_no_rates() {
    let mut rates = Rates::new(100, 4096);
    let mut raw = cpu_at(
        0,
        ticks(100, 50, 800, 50),
        vec![(0, ticks(50, 25, 400, 25))],
    );
    raw.disks = parse_diskstats(&fixture("diskstats.txt"), looks_whole);
    raw.net = parse_net_dev(&fixture("net_dev.txt"))
        .into_iter()
        .map(|counters| NetRaw {
            counters,
            ..NetRaw::default()
        })
        .collect();
    let s = rates.next(raw);
    assert_eq!(s.cpu.count, 1);
    assert_eq!(s.cpu.total_pct, None);
    assert_eq!(s.cpu.cores[0].busy_pct, None);
    assert!(
        s.disks
            .iter()
            .all(|d| d.read_bps.is_none() && d.busy_pct.is_none())
    );
    assert!(s.net.iter().all(|n| n.rx_bps.is_none()));
    let json = serde_json::to_value(&s).unwrap();
    assert!(
        json["cpu"].get("total_pct").is_none(),
        "absent, not null: {json}"
    );
}

#[test]
fn cpu_percentages_from_deltas_with_a_core_going_offline() {
    let mut rates = Rates::new(100, 4096);
    let core = ticks(50, 25, 400, 25);
    rates.next(cpu_at(
        0,
        ticks(100, 50, 800, 50),
        vec![(0, core), (1, core)],
    ));
    // 200 ticks passed: 60 user, 20 system, 100 idle, 20 iowait; core 1
    // went offline, core 2 came online (no history yet).
    let b = cpu_at(
        1,
        ticks(160, 70, 900, 70),
        vec![(0, ticks(110, 45, 500, 45)), (2, ticks(1, 1, 1, 1))],
    );
    let s = rates.next(b);
    assert_eq!(s.cpu.total_pct, Some(40.0));
    assert_eq!(s.cpu.user_pct, Some(30.0));
    assert_eq!(s.cpu.system_pct, Some(10.0));
    assert_eq!(s.cpu.iowait_pct, Some(10.0));
    assert_eq!(s.cpu.count, 2);
    assert_eq!(s.cpu.cores[0].busy_pct, Some(40.0));
    assert_eq!((s.cpu.cores[1].id, s.cpu.cores[1].busy_pct), (2, None));
}

#[test]
fn iowait_going_backwards_does_not_break_the_sum() {
    let mut rates = Rates::new(100, 4096);
    rates.next(cpu_at(0, ticks(100, 0, 100, 50), vec![]));
    let b = cpu_at(1, ticks(150, 0, 150, 40), vec![]);
    assert_eq!(rates.next(b).cpu.total_pct, Some(50.0));
}

#[test]
fn disk_rates_with_a_32_bit_wrap_and_busy_time() {
    let mut rates = Rates::new(100, 4096);
    let disks = |secs, file| Raw {
        disks: parse_diskstats(&fixture(file), looks_whole),
        ..raw_at(secs)
    };
    rates.next(disks(10, "diskstats_old_kernel.txt"));
    let s = rates.next(disks(11, "diskstats_old_kernel_later.txt"));
    let sda = &s.disks[0];
    assert_eq!(sda.name, "sda");
    // reads 4294967000 -> 300 wraps at 2^32: 596 reads.
    assert_eq!(sda.read_iops, Some(596.0));
    // sectors written 4294967200 -> 500: 596 sectors.
    assert_eq!(sda.write_bps, Some(596 * 512));
    assert_eq!(sda.busy_pct, Some(50.0));
    let nvme = &s.disks[1];
    assert_eq!(nvme.read_bps, Some(4096 * 512));
    assert_eq!(nvme.busy_pct, Some(50.0));
}

#[test]
fn network_rates_and_wrap() {
    let mut rates = Rates::new(100, 4096);
    let net = |rx: u64, packets: u64| {
        vec![NetRaw {
            counters: crate::metrics::parse::net::NetCounters {
                iface: "eth0".into(),
                rx_bytes: rx,
                rx_packets: packets,
                ..Default::default()
            },
            link: Some("up".into()),
            ..NetRaw::default()
        }]
    };
    rates.next(Raw {
        net: net(4294967290, 100),
        ..raw_at(0)
    });
    let s = rates.next(Raw {
        net: net(10, 300),
        ..raw_at(2)
    });
    assert_eq!(s.net[0].rx_bps, Some(8));
    assert_eq!(s.net[0].rx_pps, Some(100.0));
    assert_eq!(s.net[0].link.as_deref(), Some("up"));
}

#[test]
fn rapl_watts_across_the_counter_range() {
    let mut rates = Rates::new(100, 4096);
    let zone = |uj: u64| {
        vec![RaplRaw {
            zone: "package-0".into(),
            name: "package-0".into(),
            index: "0".into(),
            energy_uj: uj,
            max_range_uj: Some(262_143_328_850),
        }]
    };
    let a = Raw {
        rapl: zone(262_143_000_000),
        ..raw_at(0)
    };
    assert_eq!(rates.next(a).power.rapl[0].watts, None);
    // 328_850 before the wrap + 19_671_150 after = 20 J in 2 s.
    let b = Raw {
        rapl: zone(19_671_150),
        ..raw_at(2)
    };
    assert_eq!(rates.next(b).power.rapl[0].watts, Some(10.0));
}

#[test]
fn top_processes_by_cpu_and_memory() {
    let mut rates = Rates::new(100, 4096);
    let proc = |pid: u32, ticks: u64, rss: u64| ProcStat {
        pid,
        name: format!("p{pid}"),
        state: 'S',
        cpu_ticks: ticks,
        rss_pages: rss,
    };
    let mut a = raw_at(0);
    a.processes = Some(
        (1..=8)
            .map(|pid| proc(pid, 1000, u64::from(pid) * 10))
            .collect(),
    );
    let first = rates.next(a).processes.unwrap();
    assert!(
        first.top_cpu.is_empty(),
        "no CPU figures from a single scan"
    );
    assert_eq!(first.total, 8);
    let mem: Vec<u32> = first.top_memory.iter().map(|p| p.pid).collect();
    assert_eq!(mem, vec![8, 7, 6, 5, 4]);
    assert_eq!(first.top_memory[0].rss_bytes, 80 * 4096);

    // Between scans the last lists are kept.
    let mid = rates.next(raw_at(2)).processes.unwrap();
    assert_eq!(mid, first);

    let mut b = raw_at(5);
    // pid 3 used 250 ticks (2.5 s of CPU) in 5 s: 50 %; pid 9 is new.
    let mut scan: Vec<ProcStat> = (1..=8).map(|pid| proc(pid, 1000, 10)).collect();
    scan[2].cpu_ticks = 1250;
    scan[4].cpu_ticks = 1050;
    scan.push(proc(9, 5000, 10));
    b.processes = Some(scan);
    let second = rates.next(b).processes.unwrap();
    assert_eq!(second.top_cpu[0].pid, 3);
    assert_eq!(second.top_cpu[0].cpu_pct, Some(50.0));
    assert_eq!(second.top_cpu[1].pid, 5);
    assert_eq!(second.top_cpu[1].cpu_pct, Some(10.0));
    assert!(
        second.top_cpu.iter().all(|p| p.pid != 9),
        "new process has no rate yet"
    );
    assert_eq!(second.top_cpu.len(), TOP_N);
}
