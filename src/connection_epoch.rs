//! Connection epochs: the proof that a client reached the box anew.
//!
//! A change that may cut clients off (a firewall policy) is only kept when
//! it is confirmed over a connection made after it took effect: an
//! established connection survives a new ruleset (conntrack lets it
//! through), so a confirmation over one proves nothing. The HTTPS server
//! notes the epoch each connection was accepted in and tags its requests
//! with it ([`AcceptedIn`]); when the firewall applies a change awaiting
//! confirmation it starts a new epoch, and the server closes the older
//! connections gracefully (the answer in flight still goes out), so that
//! a browser's next request opens a new one through the new ruleset.

use std::sync::Arc;

use tokio::sync::watch;

#[derive(Clone)]
pub struct ConnectionEpoch {
    tx: Arc<watch::Sender<u64>>,
}

/// On every request: the epoch its connection was accepted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AcceptedIn(pub u64);

impl Default for ConnectionEpoch {
    fn default() -> ConnectionEpoch {
        ConnectionEpoch::new()
    }
}

impl ConnectionEpoch {
    pub fn new() -> ConnectionEpoch {
        ConnectionEpoch {
            tx: Arc::new(watch::channel(0).0),
        }
    }

    pub fn current(&self) -> u64 {
        *self.tx.borrow()
    }

    /// Starts a new epoch and answers it: connections accepted before now
    /// are asked to close.
    pub fn renew(&self) -> u64 {
        let mut now = 0;
        self.tx.send_modify(|e| {
            *e += 1;
            now = *e;
        });
        now
    }

    /// Completes once a newer epoch than `born` has started.
    pub async fn superseded(&self, born: u64) {
        let mut rx = self.tx.subscribe();
        // The sender lives as long as `self`: `wait_for` cannot fail here.
        let _ = rx.wait_for(|e| *e > born).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_renewal_supersedes_the_older_connections_only() {
        let epoch = ConnectionEpoch::new();
        let born = epoch.current();
        let waiting = tokio::spawn({
            let epoch = epoch.clone();
            async move { epoch.superseded(born).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        assert_eq!(epoch.renew(), 1);
        waiting.await.unwrap();
        // One accepted in the new epoch is not superseded by it.
        let young = tokio::time::timeout(
            std::time::Duration::from_millis(20),
            epoch.superseded(epoch.current()),
        )
        .await;
        assert!(young.is_err());
    }
}
