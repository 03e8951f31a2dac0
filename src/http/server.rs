//! The HTTPS server: accept loop, TLS handshake, HTTP/1.1 and HTTP/2, the
//! limits, and graceful shutdown.
//!
//! Like mini-redis, [`serve`] takes an already-bound listener and a
//! shutdown future, so the daemon can pass a socket systemd handed over and
//! tests can run the server in-process.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::context::AppContext;
use super::error::ApiError;
use super::limits::ConnectionLimiter;
use super::response::{Response, add_security_headers};
use super::router;
use crate::config::Limits;
use crate::liveness::{BEAT_INTERVAL, Heartbeat};

/// How long open connections get to finish after shutdown starts; the
/// daemon must exit within systemd's 5 s.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);

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
    let builder = Arc::new(connection_builder(&limits));
    let graceful = GracefulShutdown::new();
    let mut tick = tokio::time::interval(BEAT_INTERVAL);
    tokio::pin!(shutdown);
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
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let builder = builder.clone();
                let ctx = ctx.clone();
                let watcher = graceful.watcher();
                let max_body = limits.max_body_bytes;
                let handshake_timeout = limits.handshake_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    let tls = match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let service = service_fn(move |req| {
                        let ctx = ctx.clone();
                        async move { Ok::<_, Infallible>(handle(&ctx, peer, max_body, req).await) }
                    });
                    let conn = builder.serve_connection(TokioIo::new(tls), service).into_owned();
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    tracing::info!(
        open = limiter.open_connections(),
        "stopped accepting; closing connections"
    );
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain timeout; closing them");
    }
}

fn connection_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(256)
        .max_header_list_size(64 * 1024)
        .keep_alive_interval(Duration::from_secs(30))
        .keep_alive_timeout(Duration::from_secs(20));
    builder
}

/// Reads the body within the limit, routes, and adds the common headers.
async fn handle(
    ctx: &AppContext,
    peer: SocketAddr,
    max_body: usize,
    req: Request<Incoming>,
) -> Response {
    let mut response = match read_body(req, max_body).await {
        Ok(req) => router::handle(ctx, req).await,
        Err(e) => {
            tracing::debug!(%peer, error = %e, "request refused");
            e.into_response()
        }
    };
    add_security_headers(response.headers_mut());
    response
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Request<Bytes>, ApiError> {
    let too_large = ApiError::PayloadTooLarge { limit };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
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
