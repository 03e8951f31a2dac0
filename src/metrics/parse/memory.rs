//! `/proc/meminfo`.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    pub available: Option<u64>,
    pub buffers: u64,
    pub cached: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

impl MemInfo {
    /// What `free` calls available; kernels before 3.14 lack the field,
    /// so fall back to free + buffers + cache.
    pub fn available(&self) -> u64 {
        self.available
            .unwrap_or(
                self.free
                    .saturating_add(self.buffers)
                    .saturating_add(self.cached),
            )
            .min(self.total)
    }

    pub fn used(&self) -> u64 {
        self.total.saturating_sub(self.available())
    }

    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }
}

/// Values in bytes; `None` without `MemTotal`.
pub fn parse_meminfo(text: &str) -> Option<MemInfo> {
    let mut m = MemInfo::default();
    let mut have_total = false;
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let mut parts = rest.split_ascii_whitespace();
        let Some(Ok(value)) = parts.next().map(str::parse::<u64>) else {
            continue;
        };
        let bytes = match parts.next() {
            Some("kB") => value.saturating_mul(1024),
            _ => value,
        };
        match key {
            "MemTotal" => {
                m.total = bytes;
                have_total = true;
            }
            "MemFree" => m.free = bytes,
            "MemAvailable" => m.available = Some(bytes),
            "Buffers" => m.buffers = bytes,
            "Cached" => m.cached = bytes,
            "SwapTotal" => m.swap_total = bytes,
            "SwapFree" => m.swap_free = bytes,
            _ => {}
        }
    }
    have_total.then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn this_machine() {
        let m = parse_meminfo(&fixture("meminfo.txt")).unwrap();
        assert_eq!(m.total, 24684096 * 1024);
        assert_eq!(m.available, Some(23739512 * 1024));
        assert_eq!(m.swap_total, 0);
        assert_eq!(m.used(), (24684096 - 23739512) * 1024);
    }

    #[test]
    fn with_swap_and_unknown_fields() {
        let m = parse_meminfo(&fixture("meminfo_swap.txt")).unwrap();
        assert_eq!(m.swap_used(), 500000 * 1024);
        assert_eq!(m.cached, 2500000 * 1024);
        assert_eq!(m.buffers, 200000 * 1024);
    }

    #[test]
    fn old_kernel_without_memavailable() {
        let m =
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 250 kB\n")
                .unwrap();
        assert_eq!(m.available(), 400 * 1024);
    }

    #[test]
    fn garbage() {
        assert_eq!(parse_meminfo(""), None);
        assert_eq!(parse_meminfo("MemTotal: lots\n::::\n"), None);
    }
}
