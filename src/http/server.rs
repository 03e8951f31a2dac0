//! The HTTPS server: accept loop, TLS handshake, HTTP/1.1 or HTTP/2 (as
//! ALPN chose), the limits, and graceful shutdown.
//!
//! Like mini-redis, [`serve`] takes an already-bound listener and a
//! shutdown future, so the daemon can pass a socket systemd handed over and
//! tests can run the server in-process.
//!
//! Limits, and who enforces them:
//! - connections overall and per address: [`ConnectionLimiter`], at accept;
//! - TLS handshake: a timeout around `accept`;
//! - HTTP/1.1 request headers: hyper's `header_read_timeout`;
//! - the first request, and idle connections (HTTP/1.1 keep-alive and
//!   HTTP/2 alike): [`Activity`], checked by each connection's task;
//! - request bodies: size (413) and time (408) in `read_body`;
//! - HTTP/2 flow-control windows and concurrent streams, so one connection
//!   cannot make the daemon buffer more than about 1 MiB.
//!
//! HTTP/1.1 event streams take a lean path of their own (see
//! `stream_h1`); everything else is served by hyper.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::activity::{Activity, TrackedBody};
use super::context::AppContext;
use super::error::ApiError;
use super::forwarded;
use super::limits::{ConnectionLimiter, ConnectionPermit};
use super::prefixed::Prefixed;
use super::response::{Response, add_security_headers};
use super::router::{self, BodyUse};
use super::stream_h1::{self, FirstRequest};
use crate::config::Limits;
use crate::connection_epoch::AcceptedIn;
use crate::liveness::{BEAT_INTERVAL, Heartbeat};

/// How long open connections get to finish after shutdown starts; the
/// daemon must exit within systemd's 5 s.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

/// How often a connection checks whether it has been idle too long.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// How long a closing connection may take to say goodbye.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Serves HTTPS on `listener` until `shutdown` resolves, then stops
/// accepting, asks every connection to close, and waits up to
/// [`DRAIN_TIMEOUT`] for them.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    ctx: Arc<AppContext>,
    limits: Limits,
    heartbeat: Heartbeat,
    shutdown: impl Future<Output = ()>,
) {
    let acceptor = TlsAcceptor::from(tls);
    let limiter =
        ConnectionLimiter::new(limits.max_connections, limits.max_connections_per_address);
    let limits = Arc::new(limits);
    let tracker = TaskTracker::new();
    let stop = CancellationToken::new();
    let mut tick = tokio::time::interval(BEAT_INTERVAL);
    let mut shutdown = pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            _ = tick.tick() => heartbeat.beat(),
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let permit = match limiter.try_acquire(peer.ip()) {
                    Ok(p) => p,
                    Err(why) => {
                        tracing::debug!(%peer, ?why, "connection refused: limit reached");
                        continue;
                    }
                };
                tracker.spawn(connection(
                    stream,
                    peer,
                    permit,
                    acceptor.clone(),
                    ctx.clone(),
                    limits.clone(),
                    stop.clone(),
                ));
            }
        }
    }
    drop(listener);
    tracing::info!(
        open = limiter.open_connections(),
        "stopped accepting; closing connections"
    );
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = limiter.open_connections(),
            "connections still open after the drain timeout; dropping them"
        );
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    _permit: ConnectionPermit,
    acceptor: TlsAcceptor,
    ctx: Arc<AppContext>,
    limits: Arc<Limits>,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    // Caddy's connections carry the client's address (see `forwarded`).
    let proxied = stream
        .local_addr()
        .is_ok_and(|local| forwarded::from_trusted_proxy(peer, local, ctx.trusted_proxy_uid));
    // The epoch this connection was accepted in: its requests carry it,
    // and a newer epoch closes it (see `connection_epoch`).
    let born = ctx.epoch.current();
    let tls = tokio::select! {
        _ = stop.cancelled() => return,
        r = tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)) => match r {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::debug!(%peer, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        }
    };
    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
    // HTTP/1.1: peek at the first request; an event stream is served by
    // the lean path, anything else by hyper with the bytes put back.
    let mut tls = tls;
    let prefix = if h2 {
        Bytes::new()
    } else {
        let peeked = tokio::select! {
            _ = stop.cancelled() => return,
            peeked = stream_h1::read_first_head(&mut tls, limits.header_timeout) => peeked,
        };
        let Some((prefix, first)) = peeked else {
            return;
        };
        if let FirstRequest::Parsed(mut req) = first
            && stream_h1::is_event_stream(&req)
        {
            drop(prefix);
            // A small kernel buffer: a client that stops reading is found
            // out (a write blocks) while little is queued for it.
            if let Err(e) =
                socket2::SockRef::from(tls.get_ref().0).set_send_buffer_size(stream_h1::SEND_BUFFER)
            {
                tracing::debug!(%peer, error = %e, "cannot cap an event stream's send buffer");
            }
            // And the TLS layer's own (64 KiB by default) the same way.
            tls.get_mut()
                .1
                .set_buffer_limit(Some(stream_h1::SEND_BUFFER));
            req.extensions_mut().insert(AcceptedIn(born));
            let req = (*req).map(Full::new);
            let response = handle(&ctx, peer, proxied, &limits, req).await;
            if let Err(e) = stream_h1::write_response(&mut tls, response, &stop).await {
                tracing::debug!(%peer, error = %e, "event stream ended");
            }
            return;
        }
        prefix
    };
    let activity = Activity::new();
    let epoch = ctx.epoch.clone();
    let service = {
        let activity = activity.clone();
        let limits = limits.clone();
        service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(AcceptedIn(born));
            let guard = activity.start();
            let ctx = ctx.clone();
            let limits = limits.clone();
            async move {
                let response = handle(&ctx, peer, proxied, &limits, req).await;
                let (parts, body) = response.into_parts();
                Ok::<_, Infallible>(http::Response::from_parts(
                    parts,
                    TrackedBody::new(body, guard),
                ))
            }
        })
    };
    let io = TokioIo::new(Prefixed::new(prefix, tls));
    let superseded = epoch.superseded(born);
    // Boxed: hyper's connection state is large, and an unboxed await
    // here would make every connection task (event streams on the lean
    // path included) that large.
    let result = if h2 {
        let conn = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .max_concurrent_streams(32)
            .initial_stream_window_size(256 * 1024)
            .initial_connection_window_size(1024 * 1024)
            .max_header_list_size(64 * 1024)
            .keep_alive_interval(Duration::from_secs(30))
            .keep_alive_timeout(Duration::from_secs(20))
            .serve_connection(io, service);
        Box::pin(drive(conn, &activity, &limits, &stop, superseded)).await
    } else {
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            // One buffer per response chunk: TLS then makes one record and
            // one write of it, instead of one per chunk-size line, data and
            // trailer (three records per event on an SSE stream).
            .writev(false)
            .max_buf_size(64 * 1024)
            .serve_connection(io, service);
        Box::pin(drive(conn, &activity, &limits, &stop, superseded)).await
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// Runs a connection to its end, closing it gracefully at shutdown, when
/// a newer connection epoch starts (`superseded`), or when it has been
/// idle too long (before its first request: the header timeout; after:
/// the idle timeout).
async fn drive<C>(
    conn: C,
    activity: &Activity,
    limits: &Limits,
    stop: &CancellationToken,
    superseded: impl Future<Output = ()>,
) -> Result<(), C::Error>
where
    C: GracefulConnection,
{
    let mut conn = pin!(conn);
    let mut superseded = pin!(superseded);
    let mut check = tokio::time::interval(IDLE_CHECK);
    // Once closing, a peer that does not cooperate (an HTTP/2 client that
    // never acknowledges GOAWAY's ping) is dropped after a grace period.
    let mut hard_deadline: Option<tokio::time::Instant> = None;
    loop {
        let closing = hard_deadline.is_some();
        let close = tokio::select! {
            result = conn.as_mut() => return result,
            _ = stop.cancelled(), if !closing => true,
            // The answer in flight still goes out: graceful, like shutdown.
            () = &mut superseded, if !closing => true,
            _ = check.tick(), if !closing => {
                let limit = if activity.requests() == 0 {
                    limits.header_timeout
                } else {
                    limits.idle_timeout
                };
                activity.idle_for().is_some_and(|idle| idle >= limit)
            }
            _ = sleep_until_opt(hard_deadline), if closing => return Ok(()),
        };
        if close {
            conn.as_mut().graceful_shutdown();
            hard_deadline = Some(tokio::time::Instant::now() + CLOSE_GRACE);
        }
    }
}

/// Routes first (so a 404 or 405 never reads a body), reads the body
/// within the limits, dispatches, and adds the common headers. The lean
/// HTTP/1.1 event-stream path comes this way too, with the (empty) body
/// of the head it read.
async fn handle<B>(
    ctx: &AppContext,
    peer: SocketAddr,
    proxied: bool,
    limits: &Limits,
    req: Request<B>,
) -> Response
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let peer = forwarded::client_address(peer, proxied, req.headers());
    let route = match route(&req, limits) {
        Err(e) => return with_security_headers(router::refused(&req, e)),
        Ok(route) => route,
    };
    if let BodyUse::Streamed { .. } = route.body_use() {
        // The handler reads the body as it arrives (an upload to disk).
        let (parts, body) = req.into_parts();
        let stream = UnsyncBoxBody::new(body.map_err(Into::into));
        let req = Request::from_parts(parts, Bytes::new());
        let response = router::dispatch(ctx, route, peer, req, Some(stream)).await;
        return with_security_headers(response);
    }
    let response = match read_body(req, limits).await {
        Ok(req) => router::dispatch(ctx, route, peer, req, None).await,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "request refused");
            e.into_response()
        }
    };
    with_security_headers(response)
}

/// The route of a request whose declared size is within the limit: the
/// server's, or a streamed row's own.
fn route<B>(req: &Request<B>, limits: &Limits) -> Result<router::Route, ApiError> {
    let whole_limit = limits.max_body_bytes as u64;
    let streamed_limit = router::resolve(req.method(), req.uri().path())
        .ok()
        .and_then(|route| match route.body_use() {
            BodyUse::Streamed { max } => Some(max),
            BodyUse::Whole => None,
        });
    declared_length_ok(req, streamed_limit.unwrap_or(whole_limit))?;
    one_host(req)?;
    router::resolve(req.method(), req.uri().path())
}

fn with_security_headers(mut response: Response) -> Response {
    add_security_headers(response.headers_mut());
    response
}

/// A request whose target names a host (HTTP/1.1's absolute form, or
/// HTTP/2's `:authority`) other than its `Host` header is refused: which
/// of the two it meant cannot be told, and a proxy in front may have
/// routed it by the other.
fn one_host<B>(req: &Request<B>) -> Result<(), ApiError> {
    let (Some(target), Some(host)) = (
        req.uri().authority(),
        req.headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok()),
    ) else {
        return Ok(());
    };
    if target.as_str().eq_ignore_ascii_case(host.trim()) {
        Ok(())
    } else {
        Err(ApiError::BadRequest {
            field: None,
            message: format!(
                "the request target names {target}, its Host header {host}: one host per request"
            ),
        })
    }
}

/// A declared body over the limit is refused from the headers alone.
fn declared_length_ok<B>(req: &Request<B>, limit: u64) -> Result<(), ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(n) if n > limit => Err(ApiError::PayloadTooLarge {
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
        }),
        _ => Ok(()),
    }
}

/// Reads the whole body within the size and time limits.
async fn read_body<B>(req: Request<B>, limits: &Limits) -> Result<Request<Bytes>, ApiError>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit = limits.max_body_bytes;
    let too_large = ApiError::PayloadTooLarge { limit };
    let (parts, body) = req.into_parts();
    let collected = tokio::time::timeout(limits.body_timeout, Limited::new(body, limit).collect())
        .await
        .map_err(|_| ApiError::RequestTimeout)?;
    let bytes = match collected {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large),
        Err(e) => {
            return Err(ApiError::BadRequest {
                field: None,
                message: format!("cannot read the request body: {e}"),
            });
        }
    };
    Ok(Request::from_parts(parts, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt, stream};
    use http_body_util::StreamBody;
    use hyper::body::Frame;

    fn limits() -> Limits {
        Limits {
            max_body_bytes: 1000,
            body_timeout: Duration::from_secs(5),
            ..Limits::default()
        }
    }

    fn chunks(
        n: usize,
        size: usize,
    ) -> Request<StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, Infallible>>>>
    {
        let body = StreamBody::new(stream::iter(
            (0..n).map(move |_| Ok(Frame::data(Bytes::from(vec![b'x'; size])))),
        ));
        Request::builder().method("POST").body(body).unwrap()
    }

    #[tokio::test]
    async fn unsized_body_over_the_limit_is_413_and_within_is_read() {
        let err = read_body(chunks(11, 100), &limits()).await.unwrap_err();
        assert!(matches!(err, ApiError::PayloadTooLarge { limit: 1000 }));
        let req = read_body(chunks(10, 100), &limits()).await.unwrap();
        assert_eq!(req.body().len(), 1000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_stalls_is_408() {
        let body = StreamBody::new(
            stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"x")))])
                .chain(stream::pending()),
        );
        let req = Request::builder().method("POST").body(body).unwrap();
        let err = read_body(req, &limits()).await.unwrap_err();
        assert!(matches!(err, ApiError::RequestTimeout));
        assert_eq!(err.status(), http::StatusCode::REQUEST_TIMEOUT);
    }

    #[test]
    fn declared_length_is_checked_before_reading() {
        let req = Request::builder()
            .header("content-length", "1001")
            .body(())
            .unwrap();
        assert!(declared_length_ok(&req, 1000).is_err());
        let req = Request::builder()
            .header("content-length", "1000")
            .body(())
            .unwrap();
        assert!(declared_length_ok(&req, 1000).is_ok());
    }
}
