//! `GET /api/v1/events?topics=a,b`: the Server-Sent Events stream.
//!
//! The server cuts the asked topics (all of them when none are named)
//! down to those the caller's view may follow
//! ([`can_see`](crate::events::view::can_see)) and follows those: a
//! signed-out visitor asking for `system,health` gets `system`, so one
//! page serves every kind of caller. Only when nothing is left is it 403,
//! naming the topics the caller may follow.
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

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::Request;

use super::Reply;
use crate::accounts::{BoxSettings, SessionUse, Sessions, Tokens};
use crate::auth::Username;
use crate::events::view::visible;
use crate::events::{Subscription, TopicSet, View};
use crate::http::access_changes::{RECHECK_EVERY, first_recheck};
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::Credential;
use crate::http::guard::view_for;
use crate::http::limits::ConnectionPermit;
use crate::http::response::event_stream;
use crate::query;

/// The Server-Sent Events stream of the topics the caller may follow.
#[utoipa::path(get, path = "/api/v1/events", tag = "status", security((), ("bearer" = []), ("session" = [])),
    params(
        ("topics" = Option<String>, Query, description = "Comma-separated topic names; all when left out."),
        ("last_event_id" = Option<String>, Query, description = "Resume after this event (as the `Last-Event-ID` header)."),
    ),
    responses((status = 200, description = "An endless `text/event-stream`.", content_type = "text/event-stream", body = String)))]
pub async fn get(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    // Subscribed before the access is checked: a change committed while
    // the check runs still wakes this stream to check again.
    let changes = ctx.access.subscribe();
    let access = StreamAccess::of(ctx, req);
    let (view, username) = access.view(SessionUse::Touch).await?;
    let asked = TopicSet::parse(query::param(req.uri(), "topics").as_deref())?;
    let topics = visible(asked, view);
    if topics.is_empty() {
        return Err(ApiError::Forbidden {
            code: "forbidden",
            message: format!(
                "you may not follow {asked}; topics you may follow: {}",
                visible(TopicSet::all(), view)
            ),
        });
    }
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| query::param(req.uri(), "last_event_id"))
        // An id we cannot read is treated as none: the client gets a snapshot.
        .and_then(|v| v.trim().parse::<u64>().ok());
    let permit = ctx.streams.try_acquire(peer.ip())?;
    // A name that is no user name owns no records: it sees none of them.
    let owner = username.and_then(|u| Username::try_from(u.as_str()).ok());
    let subscription = ctx
        .hub
        .subscribe_as(topics, view, owner.as_ref(), last_event_id);
    // The first check is spread over a minute, so that streams opened
    // together (all clients reconnecting after a restart) check apart.
    let mut recheck =
        tokio::time::interval_at(tokio::time::Instant::now() + first_recheck(), RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let state = Following {
        subscription,
        access,
        view,
        changes,
        recheck,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(state, |mut s| async move {
        let frame = s.next().await?;
        Some((frame, s))
    });
    Ok(event_stream(stream))
}

/// One open stream: its events, and what it needs to check its access.
struct Following {
    subscription: Subscription,
    access: StreamAccess,
    /// What the stream was opened with; it ends when the caller's differs.
    view: View,
    changes: tokio::sync::watch::Receiver<()>,
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
            match self.access.view(SessionUse::Check).await {
                Ok((view, _)) if view == self.view => {}
                // The store could not be read: that decides nothing, and
                // the next check tells. Ending every stream at once would
                // only bring every client back at once; and a change that
                // takes access away is itself a store write that would
                // have failed.
                Err(ApiError::Internal(e)) => {
                    tracing::warn!(error = %e, "could not check an event stream's access; checking again later");
                }
                // Signed out, refused, or another view: the client
                // reconnects and is answered as it now should be.
                Ok(_) | Err(_) => return None,
            }
        }
    }
}

/// The credential a stream was opened with, and where to check it.
struct StreamAccess {
    credential: Option<Credential>,
    sessions: Arc<Sessions>,
    tokens: Arc<Tokens>,
    settings: Arc<BoxSettings>,
}

impl StreamAccess {
    fn of(ctx: &AppContext, req: &Request<Bytes>) -> StreamAccess {
        StreamAccess {
            credential: Credential::of(req),
            sessions: ctx.sessions.clone(),
            tokens: ctx.tokens.clone(),
            settings: ctx.settings.clone(),
        }
    }

    /// The view the caller gets now (see [`view_for`]), and who they are
    /// (a signed-in caller's name picks their own records).
    async fn view(&self, how: SessionUse) -> Result<(View, Option<String>), ApiError> {
        let caller = match &self.credential {
            Some(c) => c.lookup(&self.sessions, &self.tokens, how).await?,
            None => None,
        };
        let view = view_for(caller.as_ref(), self.settings.public_status())?;
        Ok((view, caller.map(|c| c.username)))
    }
}
