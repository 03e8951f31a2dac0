//! `GET /api/v1/events?topics=a,b`: the Server-Sent Events stream.
//!
//! `Last-Event-ID` (the header a browser's EventSource sends on reconnect,
//! or `?last_event_id=` for clients that cannot set headers) resumes the
//! stream; see [`crate::events`] for the replay rules.
//!
//! A stream lasts only as long as the access it was opened with: after any
//! change (see [`AccessChanges`](crate::http::access_changes)) and every
//! [`RECHECK_EVERY`], it checks its credential again, without counting as a
//! use of the session, and ends if the caller no longer gets the same view.
//! The browser then reconnects and is answered as it now should be.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;

use crate::accounts::SessionUse;
use crate::accounts::{BoxSettings, Sessions, Tokens};
use crate::events::{Subscription, TopicSet, View};
use crate::http::access_changes::{RECHECK_EVERY, first_recheck};
use crate::http::api::session::Credential;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::{status_view, view_for};
use crate::http::limits::ConnectionPermit;
use crate::http::query;
use crate::http::response::Response;

pub async fn get(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    // Subscribed before the access is checked: a change committed while
    // the check runs still wakes this stream to check again.
    let changes = ctx.access.subscribe();
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
    let access = StreamAccess {
        credential: Credential::of(req),
        view,
        sessions: ctx.sessions.clone(),
        tokens: ctx.tokens.clone(),
        settings: ctx.settings.clone(),
    };
    // The first check is spread over a minute, so that streams opened
    // together (all clients reconnecting after a restart) check apart.
    let mut recheck =
        tokio::time::interval_at(tokio::time::Instant::now() + first_recheck(), RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = Following {
        subscription,
        access,
        changes,
        recheck,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let frame = s.next().await?;
        Some((Ok::<_, Infallible>(Frame::data(frame)), s))
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

/// One open stream: its events, and what it needs to check its access.
struct Following {
    subscription: Subscription,
    access: StreamAccess,
    changes: tokio::sync::watch::Receiver<u64>,
    recheck: tokio::time::Interval,
    /// Held for the stream's life: it counts against the address's cap.
    _permit: ConnectionPermit,
}

impl Following {
    /// The next frame; `None` ends the stream (shutdown, or access lost).
    async fn next(&mut self) -> Option<Bytes> {
        loop {
            // Each branch is cancel-safe: a frame not yet taken stays queued.
            tokio::select! {
                frame = self.subscription.next() => return frame,
                changed = self.changes.changed() => {
                    if changed.is_err() {
                        // The context is gone: the server is stopping.
                        return None;
                    }
                }
                _ = self.recheck.tick() => {}
            }
            if !self.access.still_holds().await {
                return None;
            }
        }
    }
}

/// The credential a stream was opened with and the view it got.
struct StreamAccess {
    credential: Option<Credential>,
    view: View,
    sessions: Arc<Sessions>,
    tokens: Arc<Tokens>,
    settings: Arc<BoxSettings>,
}

impl StreamAccess {
    /// Whether the caller still gets the view the stream was opened with.
    /// A check that fails (the store could not be read) decides nothing:
    /// the stream stays and the next check tells. Ending every stream at
    /// once would only bring every client back at once; and a change that
    /// takes access away is itself a store write that would have failed.
    async fn still_holds(&self) -> bool {
        let caller = match &self.credential {
            Some(c) => match c
                .lookup(&self.sessions, &self.tokens, SessionUse::Check)
                .await
            {
                Ok(caller) => caller,
                Err(e) => {
                    tracing::warn!(error = %e, "could not check an event stream's access; checking again later");
                    return true;
                }
            },
            None => None,
        };
        view_for(caller.as_ref(), self.settings.public_status()).is_ok_and(|v| v == self.view)
    }
}
