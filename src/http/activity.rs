//! Per-connection activity: how many requests (and response bodies, such
//! as an SSE stream) are in flight, and since when the connection has been
//! idle. The accept loop closes connections that stay idle too long, which
//! hyper does not do by itself for HTTP/2 or before the first request.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use tokio::time::Instant;

#[derive(Clone)]
pub struct Activity {
    inner: Arc<Inner>,
}

struct Inner {
    base: Instant,
    in_flight: AtomicUsize,
    last_change_ms: AtomicU64,
    requests: AtomicU64,
}

/// Held while a request or its response body is alive.
pub struct ActiveGuard {
    activity: Activity,
}

impl Default for Activity {
    fn default() -> Self {
        Activity::new()
    }
}

impl Activity {
    pub fn new() -> Activity {
        Activity {
            inner: Arc::new(Inner {
                base: Instant::now(),
                in_flight: AtomicUsize::new(0),
                last_change_ms: AtomicU64::new(0),
                requests: AtomicU64::new(0),
            }),
        }
    }

    fn now_ms(&self) -> u64 {
        self.inner.base.elapsed().as_millis() as u64
    }

    pub fn start(&self) -> ActiveGuard {
        self.inner.in_flight.fetch_add(1, Ordering::AcqRel);
        self.inner.requests.fetch_add(1, Ordering::Relaxed);
        ActiveGuard {
            activity: self.clone(),
        }
    }

    /// How long nothing has been in flight; `None` while something is.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.inner.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let since = self.inner.last_change_ms.load(Ordering::Acquire);
        Some(Duration::from_millis(self.now_ms().saturating_sub(since)))
    }

    /// Requests seen on this connection so far.
    pub fn requests(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let a = &self.activity;
        a.inner.last_change_ms.store(a.now_ms(), Ordering::Release);
        a.inner.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request counted as in flight until the
/// body is finished or dropped.
pub struct TrackedBody<B> {
    inner: B,
    _guard: ActiveGuard,
}

impl<B> TrackedBody<B> {
    pub fn new(inner: B, guard: ActiveGuard) -> Self {
        TrackedBody {
            inner,
            _guard: guard,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for TrackedBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn idle_counts_from_the_last_finished_request() {
        let a = Activity::new();
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(a.idle_for(), Some(Duration::from_secs(5)));
        let g = a.start();
        assert_eq!(a.idle_for(), None);
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(a.idle_for(), None, "a long stream is not idle");
        drop(g);
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(a.idle_for(), Some(Duration::from_secs(2)));
        assert_eq!(a.requests(), 1);
    }
}
