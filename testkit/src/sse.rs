//! A Server-Sent Events reader over the test's TLS client.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};

use super::{Protocol, TlsClient};

#[derive(Debug, Clone, PartialEq)]
pub struct SseEvent {
    pub id: Option<u64>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

pub struct SseStream {
    pub status: u16,
    pub headers: http::HeaderMap,
    body: Incoming,
    buf: BytesMut,
    pub comments: Vec<String>,
    pub retry: Option<u64>,
}

/// Opens `path` as an event stream, which must be accepted (200) and
/// start with a snapshot within `timeout`: the stream and its snapshot.
pub async fn open_snapshot(
    client: &TlsClient,
    protocol: Protocol,
    path: &str,
    timeout: Duration,
) -> (SseStream, SseEvent) {
    let mut stream = open(client, protocol, path, None).await;
    assert_eq!(stream.status, 200, "{path}");
    let snapshot = stream
        .next(timeout)
        .await
        .unwrap_or_else(|| panic!("{path}: no first event within {timeout:?}"));
    assert_eq!(snapshot.event, "snapshot", "{path}: {}", snapshot.data);
    (stream, snapshot)
}

/// Opens `path` as an event stream over HTTP/1.1, from now (no
/// `Last-Event-ID`): what most followers of a stream do.
pub async fn follow(client: &TlsClient, path: &str) -> SseStream {
    open(client, Protocol::Http1, path, None).await
}

/// Opens `path` as an event stream on a new connection.
pub async fn open(
    client: &TlsClient,
    protocol: Protocol,
    path: &str,
    last_event_id: Option<u64>,
) -> SseStream {
    let alpn: &[&[u8]] = match protocol {
        Protocol::Http1 => &[b"http/1.1"],
        Protocol::Http2 => &[b"h2"],
    };
    let tls = client.connect(alpn).await.expect("TLS connection");
    let io = TokioIo::new(tls);
    let req = request(client, path, last_event_id);
    let response = match protocol {
        Protocol::Http1 => {
            let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
        Protocol::Http2 => {
            let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .unwrap();
            tokio::spawn(conn);
            send.send_request(req).await.unwrap()
        }
    };
    from_response(response)
}

pub fn request(
    client: &TlsClient,
    path: &str,
    last_event_id: Option<u64>,
) -> http::Request<Empty<Bytes>> {
    let mut req = http::Request::builder()
        .uri(format!("https://localhost:{}{path}", client.addr.port()))
        .header("host", format!("localhost:{}", client.addr.port()))
        .header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        req = req.header("last-event-id", id.to_string());
    }
    if let Some(s) = &client.session {
        req = req.header("cookie", format!("{}={s}", super::SESSION_COOKIE));
    }
    if let Some(t) = &client.bearer {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req.body(Empty::new()).unwrap()
}

pub fn from_response(response: http::Response<Incoming>) -> SseStream {
    SseStream {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: response.into_body(),
        buf: BytesMut::new(),
        comments: Vec::new(),
        retry: None,
    }
}

impl SseStream {
    /// The next event, skipping comments; `None` at the end of the stream
    /// or after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\n\n") {
                let block = self.buf.split_to(pos + 2);
                let text = String::from_utf8(block.to_vec()).unwrap();
                if let Some(e) = self.parse(&text) {
                    return Some(e);
                }
                continue;
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame())
                .await
                .ok()??;
            if let Ok(data) = frame.ok()?.into_data() {
                self.buf.extend_from_slice(&data);
            }
        }
    }

    /// The next JSON of `topic` (an event of it, or its part of a
    /// snapshot) that satisfies `done`; panics, naming `topic`, when none
    /// comes within `timeout`.
    pub async fn until(
        &mut self,
        topic: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        match self.try_until(topic, timeout, done).await {
            Ok(json) => json,
            Err(last) => {
                panic!("no {topic} event as awaited within {timeout:?}; the last: {last}")
            }
        }
    }

    /// [`Self::until`], answering the last event seen instead of failing.
    pub async fn try_until(
        &mut self,
        topic: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<serde_json::Value, serde_json::Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut last = serde_json::Value::Null;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(event) = self.next(left).await else {
                return Err(last);
            };
            let json = match event.event.as_str() {
                e if e == topic => event.json(),
                "snapshot" => event.json()[topic].clone(),
                _ => continue,
            };
            if done(&json) {
                return Ok(json);
            }
            last = json;
        }
    }

    /// True when the server ended the stream within `timeout`.
    pub async fn ends_within(&mut self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) => return false,
                Ok(None) => return true,
                Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    fn parse(&mut self, block: &str) -> Option<SseEvent> {
        let mut id = None;
        let mut event = None;
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(c) = line.strip_prefix(':') {
                self.comments.push(c.trim().to_string());
            } else if let Some(v) = line.strip_prefix("retry: ") {
                self.retry = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("id: ") {
                id = v.parse().ok();
            } else if let Some(v) = line.strip_prefix("event: ") {
                event = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("data: ") {
                data.push(v.to_string());
            }
        }
        if data.is_empty() {
            return None;
        }
        Some(SseEvent {
            id,
            event: event.unwrap_or_else(|| "message".into()),
            data: data.join("\n"),
        })
    }
}
