//! `/proc/stat` (CPU time counters), `/proc/loadavg` and `/proc/uptime`.

/// CPU time in clock ticks, as the kernel counts it since boot.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTicks {
    /// All time, busy or not. Guest time is already inside user and nice.
    pub fn total(&self) -> u64 {
        self.user
            .saturating_add(self.nice)
            .saturating_add(self.system)
            .saturating_add(self.idle)
            .saturating_add(self.iowait)
            .saturating_add(self.irq)
            .saturating_add(self.softirq)
            .saturating_add(self.steal)
    }

    /// Time not idle and not waiting for I/O.
    pub fn busy(&self) -> u64 {
        self.total()
            .saturating_sub(self.idle)
            .saturating_sub(self.iowait)
    }
}

/// The CPU lines of `/proc/stat`: the sum and each online core.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CpuStat {
    pub total: CpuTicks,
    /// (core id, ticks); an offline core has no line, so ids may skip.
    pub cores: Vec<(u32, CpuTicks)>,
}

pub fn parse_stat(text: &str) -> Option<CpuStat> {
    let mut stat = CpuStat::default();
    let mut seen_total = false;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        let (id, fields) = match rest.split_once(' ') {
            Some((id, fields)) => (id, fields),
            None => continue,
        };
        let Some(ticks) = parse_ticks(fields) else {
            continue;
        };
        if id.is_empty() {
            stat.total = ticks;
            seen_total = true;
        } else if let Ok(n) = id.parse::<u32>() {
            stat.cores.push((n, ticks));
        }
    }
    seen_total.then_some(stat)
}

fn parse_ticks(fields: &str) -> Option<CpuTicks> {
    let mut it = fields.split_ascii_whitespace().map(|f| f.parse::<u64>());
    let mut next = || it.next().and_then(Result::ok);
    // Kernels before 2.6.11 lack steal; treat missing trailing columns as 0
    // but require the first four.
    Some(CpuTicks {
        user: next()?,
        nice: next()?,
        system: next()?,
        idle: next()?,
        iowait: next().unwrap_or(0),
        irq: next().unwrap_or(0),
        softirq: next().unwrap_or(0),
        steal: next().unwrap_or(0),
    })
}

/// `/proc/loadavg`: the three load averages and the task counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAvg {
    pub load: [f64; 3],
    pub running: u64,
    pub total: u64,
}

pub fn parse_loadavg(text: &str) -> Option<LoadAvg> {
    let mut f = text.split_ascii_whitespace();
    let load = [
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
        f.next()?.parse().ok()?,
    ];
    let (running, total) = f.next()?.split_once('/')?;
    Some(LoadAvg {
        load,
        running: running.parse().ok()?,
        total: total.parse().ok()?,
    })
}

/// `/proc/uptime`: seconds since boot.
pub fn parse_uptime(text: &str) -> Option<f64> {
    text.split_ascii_whitespace()
        .next()?
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn stat_of_a_two_core_machine() {
        let s = parse_stat(&fixture("stat.txt")).unwrap();
        assert_eq!(s.total.user, 47027);
        assert_eq!(s.total.idle, 133317);
        assert_eq!(s.total.steal, 700);
        assert_eq!(s.cores.len(), 2);
        assert_eq!(s.cores[1].0, 1);
        assert_eq!(s.cores[1].1.user, 24603);
    }

    #[test]
    fn stat_with_an_offline_core_and_an_extra_column() {
        let s = parse_stat(&fixture("stat_cpu_offline.txt")).unwrap();
        let ids: Vec<u32> = s.cores.iter().map(|c| c.0).collect();
        assert_eq!(ids, vec![0, 1, 3]);
        assert_eq!(s.total.steal, 900);
    }

    #[test]
    fn stat_without_a_cpu_line_is_none_and_garbage_is_skipped() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("intr 1 2 3\nctxt 5\n"), None);
        let s = parse_stat("cpu 1 2 3 4\ncpu0 x y z\ncpuZ 1 2 3 4\ncpu1 1 2\n").unwrap();
        assert_eq!(s.total.total(), 10);
        assert!(s.cores.is_empty());
    }

    #[test]
    fn busy_excludes_idle_and_iowait() {
        let t = CpuTicks {
            user: 10,
            system: 5,
            idle: 80,
            iowait: 5,
            ..CpuTicks::default()
        };
        assert_eq!(t.total(), 100);
        assert_eq!(t.busy(), 15);
    }

    #[test]
    fn loadavg_and_uptime() {
        let l = parse_loadavg(&fixture("loadavg.txt")).unwrap();
        assert!(l.load.iter().all(|v| *v >= 0.0));
        assert!(l.total >= l.running);
        let l = parse_loadavg("0.50 1.00 2.25 3/120 999\n").unwrap();
        assert_eq!(l.load, [0.5, 1.0, 2.25]);
        assert_eq!((l.running, l.total), (3, 120));
        assert_eq!(parse_loadavg("1.0 2.0"), None);
        assert_eq!(parse_uptime("949.80 1332.25\n"), Some(949.8));
        assert_eq!(parse_uptime("NaN 1"), None);
        assert_eq!(parse_uptime(""), None);
    }
}
