//! `GET /api/v1/events?topics=a,b`: the Server-Sent Events stream.
//!
//! `Last-Event-ID` (the header a browser's EventSource sends on reconnect,
//! or `?last_event_id=` for clients that cannot set headers) resumes the
//! stream; see [`crate::events`] for the replay rules.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::events::TopicSet;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::status_view;
use crate::http::query;
use crate::http::response::Response;

pub async fn get(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let view = status_view(ctx, req).await?;
    let topics = TopicSet::parse(query::param(req.uri(), "topics").as_deref()).map_err(|e| {
        ApiError::BadRequest {
            field: Some("topics"),
            message: e.to_string(),
        }
    })?;
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query::param(req.uri(), "last_event_id"))
        // An id we cannot read is treated as none: the client gets a snapshot.
        .and_then(|v| v.trim().parse::<u64>().ok());
    let permit = ctx
        .streams
        .try_acquire(peer.ip())
        .map_err(|_| ApiError::TooManyRequests {
            message: "too many open event streams from this address".into(),
        })?;
    // Asking by name for a topic one may not see is refused; the default
    // (all topics) quietly leaves such topics out.
    if query::param(req.uri(), "topics").is_some()
        && topics
            .iter()
            .any(|t| !crate::events::view::can_see(t, view))
    {
        return Err(ApiError::Forbidden {
            code: "forbidden",
            message: "your role may not follow one of these topics".into(),
        });
    }
    let subscription = ctx.hub.subscribe(topics, view, last_event_id);
    let stream =
        futures_util::stream::unfold((subscription, permit), |(mut sub, permit)| async move {
            let frame = sub.next().await?;
            Some((Ok::<_, Infallible>(Frame::data(frame)), (sub, permit)))
        });
    let mut r = http::Response::new(StreamBody::new(stream).boxed_unsync());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Tell a buffering reverse proxy (nginx) to pass events through at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(r)
}
