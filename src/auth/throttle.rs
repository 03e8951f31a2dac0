//! Growing delays after failed attempts (logins): the first few failures
//! are free, then each one doubles the wait before the next attempt is
//! heard, up to a maximum. Keys are whatever the caller throttles on (a
//! source address, a username). Time is passed in.

use std::collections::HashMap;
use std::time::Duration;

pub struct Throttle {
    free: u32,
    base: Duration,
    max: Duration,
    /// Failures older than this are forgotten.
    window: Duration,
    entries: HashMap<String, Entry>,
}

#[derive(Clone, Copy)]
struct Entry {
    failures: u32,
    last_ms: u64,
}

/// Entries kept at most; beyond, old ones are dropped first.
const MAX_ENTRIES: usize = 10_000;

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new(
            3,
            Duration::from_secs(1),
            Duration::from_secs(60),
            Duration::from_secs(15 * 60),
        )
    }
}

impl Throttle {
    pub fn new(free: u32, base: Duration, max: Duration, window: Duration) -> Throttle {
        Throttle {
            free,
            base,
            max,
            window,
            entries: HashMap::new(),
        }
    }

    fn wait_after(&self, failures: u32) -> Duration {
        if failures <= self.free {
            return Duration::ZERO;
        }
        let doublings = (failures - self.free - 1).min(16);
        (self.base * 2u32.pow(doublings)).min(self.max)
    }

    /// `Err(retry_after)` while `key` must wait.
    pub fn check(&self, key: &str, now_ms: u64) -> Result<(), Duration> {
        let Some(e) = self.entries.get(key) else {
            return Ok(());
        };
        let since = Duration::from_millis(now_ms.saturating_sub(e.last_ms));
        if since >= self.window {
            return Ok(());
        }
        let wait = self.wait_after(e.failures);
        if since < wait {
            Err(wait - since)
        } else {
            Ok(())
        }
    }

    pub fn failure(&mut self, key: &str, now_ms: u64) {
        let window = self.window.as_millis() as u64;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, e| now_ms.saturating_sub(e.last_ms) < window);
        }
        let e = self.entries.entry(key.to_string()).or_insert(Entry {
            failures: 0,
            last_ms: now_ms,
        });
        if now_ms.saturating_sub(e.last_ms) >= window {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_ms = now_ms;
    }

    pub fn success(&mut self, key: &str) {
        self.entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_after_the_free_failures_and_reset() {
        let mut t = Throttle::default();
        let t0 = 1_000_000;
        for i in 0..3 {
            t.failure("ip:1", t0 + i);
            assert_eq!(t.check("ip:1", t0 + i), Ok(()), "free failure {i}");
        }
        t.failure("ip:1", t0 + 10);
        assert_eq!(t.check("ip:1", t0 + 10), Err(Duration::from_secs(1)));
        assert_eq!(t.check("ip:1", t0 + 1010), Ok(()));
        t.failure("ip:1", t0 + 1010);
        assert_eq!(t.check("ip:1", t0 + 1010), Err(Duration::from_secs(2)));
        for k in 0..20 {
            t.failure("ip:1", t0 + 2000 + k);
        }
        assert_eq!(
            t.check("ip:1", t0 + 2019),
            Err(Duration::from_secs(60)),
            "capped"
        );
        assert_eq!(t.check("ip:2", t0 + 2019), Ok(()), "others unaffected");
        // Forgotten after the window, and on success.
        assert_eq!(t.check("ip:1", t0 + 2019 + 15 * 60 * 1000), Ok(()));
        t.success("ip:1");
        assert_eq!(t.check("ip:1", t0 + 2020), Ok(()));
    }
}
