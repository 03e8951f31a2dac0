//! `/proc/diskstats`: I/O counters of whole block devices.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskCounters {
    pub name: String,
    pub reads: u64,
    pub sectors_read: u64,
    pub writes: u64,
    pub sectors_written: u64,
    /// Milliseconds the device had I/O in flight.
    pub io_ms: u64,
}

/// Devices that are not disks: loop, RAM disks, compressed swap.
pub fn is_virtual(name: &str) -> bool {
    ["loop", "ram", "zram", "dm-", "md", "sr", "fd"]
        .iter()
        .any(|p| name.starts_with(p))
}

/// Parses the whole devices; `whole` says whether a name is a whole device
/// (the caller lists `/sys/block`, which holds exactly those).
pub fn parse_diskstats(text: &str, whole: impl Fn(&str) -> bool) -> Vec<DiskCounters> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        // major minor name + at least the 11 classic counters.
        if f.len() < 14 {
            continue;
        }
        let name = f[2];
        if is_virtual(name) || !whole(name) {
            continue;
        }
        let n = |i: usize| f[i].parse::<u64>().ok();
        let (Some(reads), Some(sectors_read), Some(writes), Some(sectors_written), Some(io_ms)) =
            (n(3), n(5), n(7), n(9), n(12))
        else {
            continue;
        };
        out.push(DiskCounters {
            name: name.to_string(),
            reads,
            sectors_read,
            writes,
            sectors_written,
            io_ms,
        });
    }
    out
}

/// Without a `/sys/block` listing: a name that ends in a digit after a
/// letter (`sda1`) or has a `p<digits>` suffix after a digit
/// (`nvme0n1p1`, `mmcblk0p2`) is a partition.
pub fn looks_whole(name: &str) -> bool {
    let b = name.as_bytes();
    let digits = b.iter().rev().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 {
        return true;
    }
    let before = &b[..b.len() - digits];
    if name.starts_with("nvme") || name.starts_with("mmcblk") {
        !(before.ends_with(b"p") && before.len() >= 2 && before[before.len() - 2].is_ascii_digit())
    } else {
        !before.last().is_some_and(|c| c.is_ascii_alphabetic())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn this_machine_lists_only_the_real_disk() {
        let d = parse_diskstats(&fixture("diskstats.txt"), looks_whole);
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["vda"]);
        assert_eq!(d[0].reads, 83923);
        assert_eq!(d[0].sectors_read, 6598042);
        assert_eq!(d[0].io_ms, 22612);
    }

    #[test]
    fn old_kernel_partitions_and_virtual_devices() {
        let d = parse_diskstats(&fixture("diskstats_old_kernel.txt"), looks_whole);
        let names: Vec<&str> = d.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec!["sda", "nvme0n1"]);
        // With a /sys/block listing, that decides.
        let d = parse_diskstats(&fixture("diskstats_old_kernel.txt"), |n| n == "sda");
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn partition_names() {
        for whole in ["sda", "vda", "nvme0n1", "mmcblk0", "xvdb"] {
            assert!(looks_whole(whole), "{whole}");
        }
        for part in ["sda1", "vda15", "nvme0n1p1", "mmcblk0p2"] {
            assert!(!looks_whole(part), "{part}");
        }
    }

    #[test]
    fn short_and_garbage_lines_are_skipped() {
        assert!(parse_diskstats("8 0 sda 1 2 3\n", |_| true).is_empty());
        assert!(parse_diskstats("8 0 sda a b c d e f g h i j k\n", |_| true).is_empty());
    }
}
