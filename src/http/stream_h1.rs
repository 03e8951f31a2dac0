//! A lean HTTP/1.1 path for event streams.
//!
//! An SSE stream lives for hours and mostly idles; under hyper each
//! HTTP/1.1 connection keeps an 8 KiB read buffer and an 8 KiB write
//! buffer for its whole life, and frames every event in chunked encoding.
//! So the accept loop peeks at the first request of an HTTP/1.1
//! connection: a `GET /api/v1/events` is routed and dispatched through the
//! same router as everything else, and its response is then written here
//! directly, event by event, delimited by closing the connection (RFC 9112
//! section 6.3). Any other request is handed to hyper with the peeked
//! bytes put back in front (see [`super::prefixed`]).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{Method, Request};
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

use super::response::Response;
use super::router::{self, Route};

/// The longest first request head read here; a longer one goes to hyper,
/// which answers 431.
const MAX_HEAD: usize = 16 * 1024;

/// Headers parsed at most; more also go to hyper.
const MAX_HEADERS: usize = 64;

/// A client that accepts nothing for this long is gone (or hostile): its
/// stream ends and frees its slot.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// The kernel send buffer of an event stream's socket (Linux doubles
/// it). A stream is a trickle of small events: without a cap the
/// buffer grows with autotuning, absorbs a client that stopped reading
/// for many minutes (381 KB each was seen after 140 s) before a write
/// blocks and [`WRITE_TIMEOUT`] starts, and holds that much kernel
/// memory per stream: 3.1 MB queued for one client in `events`'s test,
/// not cut within 4 minutes. With it, at most about 51 KB is queued and
/// the client is cut about 45 s after it stopped reading (at 5 events a
/// second; what its own receive buffer takes is included).
pub const SEND_BUFFER: usize = 8 * 1024;

/// What the first bytes of a connection were.
pub enum FirstRequest {
    /// A complete, parsed request head.
    Parsed(Box<Request<Bytes>>),
    /// Not parsable here (malformed, too long): let hyper answer it.
    Unparsed,
}

/// Reads the first request head within `limit`. Returns the bytes read,
/// to be replayed to hyper, or `None` if the client sent nothing usable
/// in time or closed.
pub async fn read_first_head<S: AsyncRead + Unpin>(
    io: &mut S,
    limit: Duration,
) -> Option<(Bytes, FirstRequest)> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut buf = BytesMut::with_capacity(1024);
    loop {
        match parse(&buf) {
            Ok(Some(request)) => {
                return Some((buf.freeze(), FirstRequest::Parsed(Box::new(request))));
            }
            Ok(None) if buf.len() < MAX_HEAD => {}
            _ => return Some((buf.freeze(), FirstRequest::Unparsed)),
        }
        match tokio::time::timeout_at(deadline, io.read_buf(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
    }
}

/// `Ok(None)`: the head is not complete yet.
fn parse(buf: &[u8]) -> Result<Option<Request<Bytes>>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Partial) => Ok(None),
        Ok(httparse::Status::Complete(_)) => {
            let mut builder = Request::builder()
                .method(req.method.ok_or(())?)
                .uri(req.path.ok_or(())?)
                .version(if req.version == Some(0) {
                    http::Version::HTTP_10
                } else {
                    http::Version::HTTP_11
                });
            for h in req.headers.iter() {
                builder = builder.header(h.name, h.value);
            }
            builder.body(Bytes::new()).map(Some).map_err(|_| ())
        }
        Err(_) => Err(()),
    }
}

/// Whether this request is served here rather than by hyper: what the
/// router takes for the event stream, asked with GET over HTTP/1.1. A HEAD
/// routes there too, but its answer must have no body, which hyper sees to.
pub fn is_event_stream(req: &Request<Bytes>) -> bool {
    req.method() == Method::GET
        && req.version() == http::Version::HTTP_11
        && matches!(
            router::resolve(req.method(), req.uri().path()),
            Ok(Route::Api { row, .. }) if row.path == super::routes::EVENTS
        )
}

/// Writes `response` and its body, then closes the connection. Each body
/// frame is written and flushed as it comes (one TLS record per event).
/// Ends early at `stop`, when the client has gone (a write fails), or when
/// a write cannot complete within [`WRITE_TIMEOUT`].
pub async fn write_response<S: AsyncWrite + Unpin>(
    io: &mut S,
    response: Response,
    stop: &CancellationToken,
) -> std::io::Result<()> {
    let (parts, mut body) = response.into_parts();
    let mut head = Vec::with_capacity(512);
    head.extend_from_slice(
        format!(
            "HTTP/1.1 {} {}\r\n",
            parts.status.as_u16(),
            parts.status.canonical_reason().unwrap_or("")
        )
        .as_bytes(),
    );
    for (name, value) in &parts.headers {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    if let Some(len) = hyper::body::Body::size_hint(&body).exact() {
        head.extend_from_slice(format!("content-length: {len}\r\n").as_bytes());
    }
    head.extend_from_slice(b"connection: close\r\n\r\n");
    send(io, &head, stop).await?;
    drop(head);
    loop {
        let frame = tokio::select! {
            _ = stop.cancelled() => break,
            frame = body.frame() => frame,
        };
        let Some(Ok(frame)) = frame else { break };
        if let Ok(data) = frame.into_data() {
            send(io, &data, stop).await?;
        }
    }
    // Best effort: a client that stopped reading may never take the
    // close_notify either.
    let _ = tokio::time::timeout(Duration::from_secs(1), io.shutdown()).await;
    Ok(())
}

/// Writes and flushes `bytes`, giving up at `stop` or after the timeout.
async fn send<S: AsyncWrite + Unpin>(
    io: &mut S,
    bytes: &[u8],
    stop: &CancellationToken,
) -> std::io::Result<()> {
    let write = async {
        io.write_all(bytes).await?;
        io.flush().await
    };
    tokio::select! {
        _ = stop.cancelled() => Err(std::io::ErrorKind::Interrupted.into()),
        r = tokio::time::timeout(WRITE_TIMEOUT, write) => {
            r.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::full;

    /// What `read_first_head` makes of a client that sent `sent` at once.
    async fn first_head_of(sent: &[u8]) -> (Bytes, FirstRequest) {
        let (mut client, mut server) = tokio::io::duplex(4096);
        client.write_all(sent).await.unwrap();
        read_first_head(&mut server, Duration::from_secs(1))
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn peeks_a_head_and_keeps_the_bytes() {
        let (bytes, first) = first_head_of(
            b"GET /api/v1/events?topics=system HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 7\r\n\r\nextra",
        )
        .await;
        assert!(bytes.ends_with(b"extra"));
        let FirstRequest::Parsed(req) = first else {
            panic!("not parsed")
        };
        assert!(is_event_stream(&req));
        assert_eq!(req.uri().query(), Some("topics=system"));
        assert_eq!(req.headers()["last-event-id"], "7");
    }

    #[tokio::test]
    async fn head_arriving_in_pieces_and_other_requests() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let reader =
            tokio::spawn(async move { read_first_head(&mut server, Duration::from_secs(2)).await });
        client.write_all(b"POST /api/v1/sess").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        client
            .write_all(b"ion HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let (_, first) = reader.await.unwrap().unwrap();
        let FirstRequest::Parsed(req) = first else {
            panic!("not parsed")
        };
        assert!(!is_event_stream(&req));
    }

    #[test]
    fn only_a_get_of_the_event_stream_over_http_1_1_is_served_here() {
        let req = |method: Method, uri: &str, version| {
            Request::builder()
                .method(method)
                .uri(uri)
                .version(version)
                .body(Bytes::new())
                .unwrap()
        };
        let h11 = http::Version::HTTP_11;
        assert!(is_event_stream(&req(Method::GET, "/api/v1/events", h11)));
        assert!(is_event_stream(&req(
            Method::GET,
            "/api/v1/events?topics=system",
            h11
        )));
        for (method, uri, version) in [
            (Method::HEAD, "/api/v1/events", h11),
            (Method::POST, "/api/v1/events", h11),
            (Method::GET, "/api/v1/events", http::Version::HTTP_10),
            (Method::GET, "/api/v1/events/", h11),
            (Method::GET, "/api/v1/status", h11),
            (Method::GET, "/", h11),
        ] {
            assert!(
                !is_event_stream(&req(method.clone(), uri, version)),
                "{method} {uri} {version:?}"
            );
        }
    }

    #[tokio::test]
    async fn garbage_goes_to_hyper_and_silence_closes() {
        let (_, first) = first_head_of(b"\x16\x03\x01 not http\r\n\r\n").await;
        assert!(matches!(first, FirstRequest::Unparsed));
        let (_client, mut server) = tokio::io::duplex(4096);
        assert!(
            read_first_head(&mut server, Duration::from_millis(50))
                .await
                .is_none()
        );
    }

    #[tokio::test]
    async fn writes_head_and_body_then_closes() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        let mut r = http::Response::new(full("{\"a\":1}"));
        r.headers_mut()
            .insert("content-type", "application/json".parse().unwrap());
        write_response(&mut server, r, &CancellationToken::new())
            .await
            .unwrap();
        drop(server);
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        assert_eq!(
            out,
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{\"a\":1}"
        );
    }
}
