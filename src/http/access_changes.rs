//! The signal that who may see what may have changed: after a request that
//! can take access away succeeds (a sign-out, a revoked session or token, a
//! changed or deleted user, the status made private; see
//! [`Row::may_reduce_access`](crate::http::router::Row)), every open
//! event stream checks its credential again and ends if it no longer gets
//! the view it was opened with. A stream also checks on its own every
//! [`RECHECK_EVERY`], for sessions that expire with time.

use std::time::Duration;

use tokio::sync::watch;

pub const RECHECK_EVERY: Duration = Duration::from_secs(60);

/// When a new stream checks first: at a random point of its first
/// [`RECHECK_EVERY`], so that streams opened together check apart.
pub fn first_recheck() -> Duration {
    let r = u16::from_le_bytes(crate::auth::token::random_bytes::<2>());
    RECHECK_EVERY.mul_f64((f64::from(r) + 1.0) / 65536.0)
}

/// A watch channel with nothing in it: only the wake-up counts.
pub struct AccessChanges {
    tx: watch::Sender<()>,
}

impl Default for AccessChanges {
    fn default() -> Self {
        AccessChanges {
            tx: watch::Sender::new(()),
        }
    }
}

impl AccessChanges {
    /// Tells every stream to check again.
    pub fn changed(&self) {
        self.tx.send_replace(());
    }

    /// A receiver that wakes at the next [`AccessChanges::changed`].
    pub fn subscribe(&self) -> watch::Receiver<()> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_change_wakes_every_subscriber() {
        let changes = AccessChanges::default();
        let mut a = changes.subscribe();
        let mut b = changes.subscribe();
        assert!(!a.has_changed().unwrap());
        changes.changed();
        a.changed().await.unwrap();
        b.changed().await.unwrap();
        assert!(!a.has_changed().unwrap(), "seen once");
    }

    #[test]
    fn first_checks_spread_over_the_interval() {
        let firsts: Vec<Duration> = (0..100).map(|_| first_recheck()).collect();
        assert!(firsts.iter().all(|d| !d.is_zero() && *d <= RECHECK_EVERY));
        let distinct: std::collections::HashSet<_> = firsts.iter().collect();
        assert!(distinct.len() > 50, "{firsts:?}");
    }
}
