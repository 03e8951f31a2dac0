//! Waiting for a condition with a deadline: [`eventually`] (async) and
//! [`eventually_blocking`] (a thread). On timeout they panic saying what
//! was waited for and, when the check says why it is not there yet, the
//! last thing it said.
//!
//! A check answers a [`Check`]: `bool`, `Option<T>` (`Some(v)`: done, `v`
//! answered) or `Result<T, E>` (`Ok(v)`: done; `Err(e)`: not yet, `e`
//! shown, as `Display` shows it, if the deadline passes).

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often a condition is checked.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// What a check answers: done with a value, or not yet (with what it saw,
/// if it says).
pub trait Check {
    type Value;
    fn done(self) -> Result<Self::Value, Option<String>>;
}

impl Check for bool {
    type Value = ();
    fn done(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Check for Option<T> {
    type Value = T;
    fn done(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Check for Result<T, E> {
    type Value = T;
    fn done(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// `Ok(value)` if `done(&value)`, else `Err(value)`: a check that shows
/// the value it last saw if the deadline passes.
pub fn when<T>(value: T, done: impl FnOnce(&T) -> bool) -> Result<T, T> {
    if done(&value) { Ok(value) } else { Err(value) }
}

fn timed_out(what: &str, timeout: Duration, last: Option<String>) -> ! {
    match last {
        Some(last) => panic!("{what}: not within {timeout:?}; last seen: {last}"),
        None => panic!("{what}: not within {timeout:?}"),
    }
}

/// Runs `check` every [`INTERVAL`] until it is done, and answers its
/// value; panics naming `what` (and the last thing `check` saw) if it is
/// not done within `timeout`. `check` runs at least once, and once more
/// at the deadline.
pub async fn eventually<C: Check>(
    timeout: Duration,
    what: &str,
    check: impl AsyncFnMut() -> C,
) -> C::Value {
    eventually_every(timeout, INTERVAL, what, check).await
}

/// [`eventually`], checking every `interval`.
pub async fn eventually_every<C: Check>(
    timeout: Duration,
    interval: Duration,
    what: &str,
    mut check: impl AsyncFnMut() -> C,
) -> C::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().await.done() {
            Ok(v) => return v,
            Err(last) => last,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out(what, timeout, last);
        }
        tokio::time::sleep(interval.min(left)).await;
    }
}

/// [`eventually`] on the calling thread, for tests without a runtime.
pub fn eventually_blocking<C: Check>(
    timeout: Duration,
    what: &str,
    check: impl FnMut() -> C,
) -> C::Value {
    eventually_blocking_every(timeout, INTERVAL, what, check)
}

/// [`eventually_blocking`], checking every `interval`.
pub fn eventually_blocking_every<C: Check>(
    timeout: Duration,
    interval: Duration,
    what: &str,
    mut check: impl FnMut() -> C,
) -> C::Value {
    let deadline = Instant::now() + timeout;
    loop {
        let last = match check().done() {
            Ok(v) => return v,
            Err(last) => last,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out(what, timeout, last);
        }
        std::thread::sleep(interval.min(left));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_the_value_once_the_check_is_done() {
        let mut n = 0;
        let v = eventually(Duration::from_secs(5), "the third try", async || {
            n += 1;
            if n >= 3 { Ok(n) } else { Err(n) }
        })
        .await;
        assert_eq!(v, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "the impossible: not within 200ms; last seen: no")]
    async fn names_what_and_the_last_answer_on_timeout() {
        eventually(Duration::from_millis(200), "the impossible", || async {
            Err::<(), _>("no")
        })
        .await;
    }

    #[test]
    #[should_panic(expected = "never: not within 50ms")]
    fn a_bool_check_times_out_naming_what() {
        eventually_blocking(Duration::from_millis(50), "never", || false);
    }

    #[test]
    fn blocking_twin_polls_too() {
        let mut n = 0;
        eventually_blocking(Duration::from_secs(5), "two tries", || {
            n += 1;
            n == 2
        });
        assert_eq!(n, 2);
    }
}
