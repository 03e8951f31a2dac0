//! The wait after a failed pass: doubling from a base to a cap, with
//! "equal jitter" (a wait between half and all of the doubled value).
//!
//! Jitter keeps managers that failed together (the store went away, the
//! network came back) from retrying in step. The random source is a
//! SplitMix64 seeded from std's per-process hash keys: no dependency, and
//! tests seed it, or turn jitter off, to get exact waits.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Where the jitter comes from.
#[derive(Debug, Clone)]
pub struct Jitter(Option<u64>);

impl Jitter {
    /// Seeded from the process's random hash keys: differs per start.
    pub fn from_entropy() -> Jitter {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0);
        Jitter::seeded(h.finish())
    }

    /// The same waits for the same seed.
    pub fn seeded(seed: u64) -> Jitter {
        Jitter(Some(seed))
    }

    /// No jitter: each wait is exactly the doubled value.
    pub fn none() -> Jitter {
        Jitter(None)
    }

    /// Uniform in `0..=max` (to the nanosecond); zero without jitter.
    fn up_to(&mut self, max: Duration) -> Duration {
        let Some(state) = &mut self.0 else {
            return Duration::ZERO;
        };
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        // The modulo's bias is below 2^-30 for waits under a minute.
        Duration::from_nanos(splitmix64(state) % nanos.saturating_add(1))
    }
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Counts consecutive failures and turns them into waits.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    jitter: Jitter,
}

impl Backoff {
    pub fn new(base: Duration, cap: Duration, jitter: Jitter) -> Backoff {
        Backoff {
            base,
            cap: cap.max(base),
            failures: 0,
            jitter,
        }
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Records a failure and returns the wait before the next try:
    /// base, 2·base, 4·base … up to the cap, each less up to half of it.
    pub fn fail(&mut self) -> Duration {
        // Past 2^20 the doubling has long met any sane cap.
        let doubled = self
            .base
            .saturating_mul(1 << self.failures.min(20))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        doubled - self.jitter.up_to(doubled / 2)
    }

    /// A pass succeeded (or found nothing to drive): start from the base.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new(S, 60 * S, Jitter::none());
        let waits: Vec<u64> = (0..9).map(|_| b.fail().as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.failures(), 9);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.fail(), S);
    }

    #[test]
    fn never_overflows() {
        let mut b = Backoff::new(S, 60 * S, Jitter::none());
        for _ in 0..10_000 {
            assert!(b.fail() <= 60 * S);
        }
    }

    #[test]
    fn jittered_waits_lie_between_half_and_all_and_repeat_for_a_seed() {
        let mut a = Backoff::new(S, 60 * S, Jitter::seeded(7));
        let mut b = Backoff::new(S, 60 * S, Jitter::seeded(7));
        let mut doubled = Backoff::new(S, 60 * S, Jitter::none());
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let (wa, wb, full) = (a.fail(), b.fail(), doubled.fail());
            assert_eq!(wa, wb, "same seed, same waits");
            assert!(
                wa >= full / 2 && wa <= full,
                "{wa:?} outside {full:?}/2..={full:?}"
            );
            distinct.insert(wa);
        }
        assert!(distinct.len() > 40, "jitter varies: {}", distinct.len());
        let mut c = Backoff::new(S, 60 * S, Jitter::seeded(8));
        let mut a = Backoff::new(S, 60 * S, Jitter::seeded(7));
        let differ = (0..10).filter(|_| a.fail() != c.fail()).count();
        assert!(differ > 5, "another seed, other waits");
    }
}
