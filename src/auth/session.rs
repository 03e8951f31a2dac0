//! Session lifetimes: an idle timeout and an absolute limit, checked with
//! the time passed in, so tests inject the clock.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 60 * 60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Valid,
    IdleExpired,
    AbsoluteExpired,
}

impl SessionPolicy {
    /// The state at `now_ms` of a session created at `created_ms` and last
    /// used at `last_seen_ms` (all milliseconds since the epoch).
    pub fn check(&self, created_ms: u64, last_seen_ms: u64, now_ms: u64) -> SessionState {
        let ms = |d: Duration| d.as_millis() as u64;
        if now_ms.saturating_sub(created_ms) >= ms(self.absolute) {
            SessionState::AbsoluteExpired
        } else if now_ms.saturating_sub(last_seen_ms) >= ms(self.idle) {
            SessionState::IdleExpired
        } else {
            SessionState::Valid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn idle_and_absolute_limits() {
        let p = SessionPolicy::default();
        let t0 = 1_000_000_000;
        assert_eq!(p.check(t0, t0, t0 + 29 * MIN), SessionState::Valid);
        assert_eq!(p.check(t0, t0, t0 + 30 * MIN), SessionState::IdleExpired);
        // Used every 20 minutes: alive until the 12-hour limit.
        let mut last = t0;
        let mut now = t0;
        while now + 20 * MIN < t0 + 12 * 60 * MIN {
            now += 20 * MIN;
            assert_eq!(p.check(t0, last, now), SessionState::Valid, "at {now}");
            last = now;
        }
        assert_eq!(
            p.check(t0, t0 + 12 * 60 * MIN - MIN, t0 + 12 * 60 * MIN),
            SessionState::AbsoluteExpired
        );
    }
}
