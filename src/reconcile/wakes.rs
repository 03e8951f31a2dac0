//! The wake-up sources of one loop, merged: the store tables a manager
//! depends on and the component's own events.
//!
//! A store table plugs in as its `tokio::sync::watch` receiver
//! (`Wakes::watch("store", store.watch(Table::Firewall))`): a watch
//! channel already folds a burst of commits into one change, and its value
//! is not needed, since the manager re-reads its desired state. Any other
//! source is a `Stream`, each item one wake-up; its items are not kept,
//! because a pass looks at the whole component anyway.

use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{self, SelectAll, Stream, StreamExt};
use tokio::sync::watch;

/// What the loop learns from its sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Wake {
    /// The source with this label has something new.
    Woke(&'static str),
    /// The source with this label ended (its sender is gone) and is
    /// dropped; the drift timer still covers what it watched.
    Ended(&'static str),
}

type Source = Pin<Box<dyn Stream<Item = Wake> + Send>>;

/// A loop's wake-up sources, each labelled for the log.
pub struct Wakes {
    sources: SelectAll<Source>,
}

impl Default for Wakes {
    fn default() -> Wakes {
        Wakes::new()
    }
}

impl Wakes {
    /// No source: the loop wakes on its drift timer only.
    pub fn new() -> Wakes {
        Wakes {
            sources: SelectAll::new(),
        }
    }

    /// Wakes on every change of `rx` after now, e.g. a store table's
    /// receiver from `Store::watch`.
    pub fn watch<T>(self, label: &'static str, rx: watch::Receiver<T>) -> Wakes
    where
        T: Send + Sync + 'static,
    {
        let changes = stream::unfold(rx, |mut rx| async move {
            rx.changed().await.ok().map(|()| ((), rx))
        });
        self.stream(label, changes)
    }

    /// Wakes on every item of `events`, e.g. the Docker engine's events.
    /// A source that can drop (a socket) should reconnect inside the
    /// stream; one that ends is dropped with a warning.
    pub fn stream<S>(mut self, label: &'static str, events: S) -> Wakes
    where
        S: Stream + Send + 'static,
    {
        let source = events
            .map(move |_| Wake::Woke(label))
            .chain(stream::once(async move { Wake::Ended(label) }));
        self.sources.push(Box::pin(source));
        self
    }

    /// Wakes every `period` (the first time one period from now), e.g.
    /// for a reading the component sends no event about (the servers'
    /// cgroups). A late tick is delayed, never bunched.
    pub fn every(self, label: &'static str, period: Duration) -> Wakes {
        let start = tokio::time::Instant::now() + period;
        let mut ticks = tokio::time::interval_at(start, period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let ticks = stream::unfold(ticks, |mut t| async move {
            t.tick().await;
            Some(((), t))
        });
        self.stream(label, ticks)
    }

    /// The next wake-up; never returns once every source has ended.
    /// Cancel-safe, as the loop's `select!` needs.
    pub(super) async fn next(&mut self) -> Wake {
        match self.sources.next().await {
            Some(wake) => wake,
            None => std::future::pending().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn next_within(wakes: &mut Wakes, ms: u64) -> Option<Wake> {
        tokio::time::timeout(Duration::from_millis(ms), wakes.next())
            .await
            .ok()
    }

    #[tokio::test(start_paused = true)]
    async fn a_watch_folds_a_burst_and_reports_its_end() {
        let (tx, rx) = watch::channel(0u64);
        tx.send_modify(|n| *n += 1);
        let mut wakes = Wakes::new().watch("store", rx);
        // The receiver was made before the first send: one change seen.
        assert_eq!(next_within(&mut wakes, 10).await, Some(Wake::Woke("store")));
        for _ in 0..5 {
            tx.send_modify(|n| *n += 1);
        }
        assert_eq!(next_within(&mut wakes, 10).await, Some(Wake::Woke("store")));
        assert_eq!(
            next_within(&mut wakes, 10).await,
            None,
            "five sends, one wake"
        );
        drop(tx);
        assert_eq!(
            next_within(&mut wakes, 10).await,
            Some(Wake::Ended("store"))
        );
        assert_eq!(next_within(&mut wakes, 1000).await, None, "no sources left");
    }

    #[tokio::test(start_paused = true)]
    async fn streams_wake_once_per_item_and_no_sources_never_wake() {
        let mut wakes = Wakes::new().stream("docker", stream::iter([1, 2]));
        assert_eq!(wakes.next().await, Wake::Woke("docker"));
        assert_eq!(wakes.next().await, Wake::Woke("docker"));
        assert_eq!(wakes.next().await, Wake::Ended("docker"));
        assert_eq!(next_within(&mut Wakes::new(), 1000).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn every_wakes_once_a_period_and_not_before() {
        let mut wakes = Wakes::new().every("usage", Duration::from_secs(5));
        assert_eq!(
            next_within(&mut wakes, 4_900).await,
            None,
            "not before the period"
        );
        assert_eq!(
            next_within(&mut wakes, 200).await,
            Some(Wake::Woke("usage"))
        );
        assert_eq!(next_within(&mut wakes, 4_900).await, None);
        assert_eq!(
            next_within(&mut wakes, 200).await,
            Some(Wake::Woke("usage"))
        );
    }
}
