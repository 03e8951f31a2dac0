//! The signal that who may see what may have changed: after any request
//! that changed state (a sign-out, a revoked session or token, a changed
//! role or password, a deleted user, the status made private...), every
//! open event stream checks its credential again and ends if it no longer
//! gets the view it was opened with. A stream also checks on its own every
//! [`RECHECK_EVERY`], for sessions that expire with time and for changes
//! made outside the API.

use std::time::Duration;

use tokio::sync::watch;

pub const RECHECK_EVERY: Duration = Duration::from_secs(60);

pub struct AccessChanges {
    tx: watch::Sender<u64>,
}

impl Default for AccessChanges {
    fn default() -> Self {
        AccessChanges {
            tx: watch::Sender::new(0),
        }
    }
}

impl AccessChanges {
    /// Tells every stream to check again.
    pub fn changed(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that wakes at the next [`AccessChanges::changed`].
    pub fn subscribe(&self) -> watch::Receiver<u64> {
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
}
