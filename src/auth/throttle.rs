//! Growing delays after failed attempts (logins): the first few failures
//! are free, then each one doubles the wait before the next attempt is
//! heard, up to a maximum. Keys are whatever the caller throttles on (a
//! source address, a username), kept as a fixed-size hash: a megabyte of
//! username costs 16 bytes here. Time is passed in.

use std::collections::HashMap;
use std::time::Duration;

/// What a throttle counts under: a 128-bit hash of the parts it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThrottleKey([u8; 16]);

impl ThrottleKey {
    /// The key of `parts` (a kind, then its values), each part length-
    /// prefixed so that no two different lists hash alike.
    pub fn of(parts: &[&[u8]]) -> ThrottleKey {
        let mut context = ring::digest::Context::new(&ring::digest::SHA256);
        for part in parts {
            context.update(&(part.len() as u64).to_be_bytes());
            context.update(part);
        }
        let mut key = [0; 16];
        key.copy_from_slice(&context.finish().as_ref()[..16]);
        ThrottleKey(key)
    }
}

pub struct Throttle {
    free: u32,
    base: Duration,
    max: Duration,
    /// Failures older than this are forgotten.
    window: Duration,
    entries: HashMap<ThrottleKey, Entry>,
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
    pub fn check(&self, key: &ThrottleKey, now_ms: u64) -> Result<(), Duration> {
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

    pub fn failure(&mut self, key: &ThrottleKey, now_ms: u64) {
        let window = self.window.as_millis() as u64;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries
                .retain(|_, e| now_ms.saturating_sub(e.last_ms) < window);
        }
        let e = self.entries.entry(*key).or_insert(Entry {
            failures: 0,
            last_ms: now_ms,
        });
        if now_ms.saturating_sub(e.last_ms) >= window {
            e.failures = 0;
        }
        e.failures += 1;
        e.last_ms = now_ms;
    }

    pub fn success(&mut self, key: &ThrottleKey) {
        self.entries.remove(key);
    }

    /// Takes back one failure counted under `key` (an attempt that was
    /// reserved as a failure and turned out not to be one); the time of
    /// the last one stays.
    pub fn forget_one(&mut self, key: &ThrottleKey) {
        if let Some(e) = self.entries.get_mut(key) {
            e.failures = e.failures.saturating_sub(1);
            if e.failures == 0 {
                self.entries.remove(key);
            }
        }
    }

    /// How many keys are remembered (bounded by `MAX_ENTRIES`).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(name: &str) -> ThrottleKey {
        ThrottleKey::of(&[b"test", name.as_bytes()])
    }

    #[test]
    fn delays_grow_after_the_free_failures_and_reset() {
        let mut t = Throttle::default();
        let t0 = 1_000_000;
        for i in 0..3 {
            t.failure(&k("ip:1"), t0 + i);
            assert_eq!(t.check(&k("ip:1"), t0 + i), Ok(()), "free failure {i}");
        }
        t.failure(&k("ip:1"), t0 + 10);
        assert_eq!(t.check(&k("ip:1"), t0 + 10), Err(Duration::from_secs(1)));
        assert_eq!(t.check(&k("ip:1"), t0 + 1010), Ok(()));
        t.failure(&k("ip:1"), t0 + 1010);
        assert_eq!(t.check(&k("ip:1"), t0 + 1010), Err(Duration::from_secs(2)));
        for i in 0..20 {
            t.failure(&k("ip:1"), t0 + 2000 + i);
        }
        assert_eq!(
            t.check(&k("ip:1"), t0 + 2019),
            Err(Duration::from_secs(60)),
            "capped"
        );
        assert_eq!(t.check(&k("ip:2"), t0 + 2019), Ok(()), "others unaffected");
        // Forgotten after the window, and on success.
        assert_eq!(t.check(&k("ip:1"), t0 + 2019 + 15 * 60 * 1000), Ok(()));
        t.success(&k("ip:1"));
        assert_eq!(t.check(&k("ip:1"), t0 + 2020), Ok(()));
    }

    #[test]
    fn keys_are_fixed_size_and_tell_their_parts_apart() {
        assert_eq!(std::mem::size_of::<ThrottleKey>(), 16);
        let long = "x".repeat(1 << 20);
        assert_ne!(ThrottleKey::of(&[b"user", long.as_bytes()]), k("x"));
        assert_ne!(
            ThrottleKey::of(&[b"ab", b"c"]),
            ThrottleKey::of(&[b"a", b"bc"])
        );
        assert_eq!(ThrottleKey::of(&[b"a"]), ThrottleKey::of(&[b"a"]));
    }

    #[test]
    fn a_failure_taken_back_leaves_the_others() {
        let mut t = Throttle::default();
        for i in 0..4 {
            t.failure(&k("a"), 1000 + i);
        }
        assert!(t.check(&k("a"), 1004).is_err());
        t.forget_one(&k("a"));
        assert_eq!(t.check(&k("a"), 1004), Ok(()), "three are free");
        for _ in 0..3 {
            t.forget_one(&k("a"));
        }
        assert!(t.is_empty());
    }
}
