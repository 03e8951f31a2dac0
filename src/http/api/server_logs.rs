//! `GET /api/v1/servers/{id}/logs`: a server's log (its unit's journal)
//! as Server-Sent Events, one `log` event per entry (`{"at_ms",
//! "priority", "message"}`): the last 200, then each new one. Another
//! member's server is 404. The stream counts against the address's open
//! streams, and ends when anyone's access changes (the client opens it
//! again, and is answered as it now should be).

use futures_util::StreamExt;
use tokio::sync::watch;

use super::{Actor, Reply};
use crate::events::sse::{encode_event, retry_frame};
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::event_stream;
use crate::servers::logs;

/// The server's log as Server-Sent Events (`log` events).
#[utoipa::path(get, path = "/api/v1/servers/{id}/logs", tag = "servers",
    params(("id" = String, Path, description = "The server's id.")),
    responses((status = 200, description = "An endless `text/event-stream`.", content_type = "text/event-stream", body = String)))]
pub async fn get(
    ctx: &AppContext,
    actor: Actor,
    id: String,
    mut changes: watch::Receiver<()>,
) -> Reply {
    let Actor { caller, source } = actor;
    let server = blocking_with(&ctx.servers, move |s| s.get(&caller, &id)).await?;
    let permit = ctx.streams.try_acquire(source)?;
    let entries = logs::follow(ctx.journal_dir.as_deref(), &server.id).map_err(|e| {
        ApiError::Unavailable {
            message: e.to_string(),
        }
    })?;
    changes.borrow_and_update();
    let mut n = 0u64;
    let entries = Box::pin(entries);
    let first = futures_util::stream::once(async { retry_frame() });
    let events = futures_util::stream::unfold(
        (entries, changes, permit),
        move |(mut entries, mut changes, permit)| async move {
            tokio::select! {
                entry = entries.next() => {
                    let entry = entry?;
                    n += 1;
                    let json = serde_json::to_string(&entry).ok()?;
                    Some((encode_event(n, "log", &json), (entries, changes, permit)))
                }
                // Anyone's access changed: end; the client asks again.
                _ = changes.changed() => None,
            }
        },
    );
    Ok(event_stream(first.chain(events)))
}
