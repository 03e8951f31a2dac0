//! `GET /api/v1/audit` (admins): the audit log, newest first.
//!
//! Filters: `actor=`, `since=` and `until=` (milliseconds since the epoch,
//! both inclusive). Paging: `limit=` (1 to 500, default 100; a number
//! outside is brought into that range) and `before=<id>`, which gives the
//! records with a smaller id. The reply's `next` is the `before` of the
//! following, older page, absent on the last. Newest first because the
//! latest actions are what an admin opens the log for; a cursor on the id
//! (not an offset) keeps pages without gaps or repeats while new records
//! arrive. The `after=` of earlier versions is refused (400) rather than
//! ignored: a client paging with it would get the newest page forever.

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use super::Reply;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::query;
use crate::store::{AuditQuery, AuditRecord};

pub const MAX_LIMIT: usize = 500;
pub const DEFAULT_LIMIT: usize = 100;

#[derive(Serialize, utoipa::ToSchema)]
struct Page {
    records: Vec<AuditRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<u64>,
}

fn number(req: &Request<Bytes>, field: &'static str) -> Result<Option<u64>, ApiError> {
    query::param(req.uri(), field)
        .map(|v| {
            v.parse::<u64>().map_err(|_| ApiError::BadRequest {
                field: Some(field),
                message: format!("{field} must be a whole number"),
            })
        })
        .transpose()
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit",
    params(
        ("actor" = Option<String>, Query, description = "Only this actor's records."),
        ("since" = Option<u64>, Query, description = "Only records from this time on (ms since the epoch)."),
        ("until" = Option<u64>, Query, description = "Only records up to this time (ms since the epoch)."),
        ("limit" = Option<u64>, Query, description = "At most this many (1 to 500, default 100)."),
        ("before" = Option<u64>, Query, description = "Only records with a smaller id: the `next` of the previous page."),
    ),
    responses((status = 200, description = "A page of records, newest first.", body = Page)))]
pub async fn list(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    if query::param(req.uri(), "after").is_some() {
        return Err(ApiError::BadRequest {
            field: Some("after"),
            message: "the log pages from the newest record back: use before=<id> (the next of the previous reply)".into(),
        });
    }
    let before = number(req, "before")?.unwrap_or(u64::MAX);
    let since_ms = number(req, "since")?.unwrap_or(0);
    let until_ms = number(req, "until")?.unwrap_or(u64::MAX);
    let limit = number(req, "limit")?
        .unwrap_or(DEFAULT_LIMIT as u64)
        .clamp(1, MAX_LIMIT as u64) as usize;
    let actor = query::param(req.uri(), "actor");
    let store = ctx.store.clone();
    let mut records = blocking(move || {
        // One more than asked for, to know whether an older page follows.
        store.audit_newest_first(&AuditQuery {
            before,
            actor: actor.as_deref(),
            since_ms,
            until_ms,
            limit: limit + 1,
        })
    })
    .await?;
    let next = (records.len() > limit).then(|| {
        records.truncate(limit);
        records.last().map_or(before, |r| r.id)
    });
    Ok(json(StatusCode::OK, &Page { records, next }))
}
