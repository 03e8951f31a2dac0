//! `GET /api/v1/audit` (admins): the audit log, oldest first, with
//! filters: `actor=`, `since=` and `until=` (milliseconds since the
//! epoch), paged with `after=<id>` and `limit=` (at most 500). The reply's
//! `next` is the `after` of the following page, absent on the last.

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use crate::auth::Action;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::query;
use crate::http::response::{Response, json};
use crate::store::AuditRecord;

pub const MAX_LIMIT: usize = 500;

#[derive(Serialize)]
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

pub async fn list(ctx: &AppContext, req: &Request<Bytes>) -> Result<Response, ApiError> {
    require(ctx, req, Action::ReadAudit).await?;
    let after = number(req, "after")?.unwrap_or(0);
    let since = number(req, "since")?.unwrap_or(0);
    let until = number(req, "until")?.unwrap_or(u64::MAX);
    let limit = number(req, "limit")?
        .unwrap_or(100)
        .clamp(1, MAX_LIMIT as u64) as usize;
    let actor = query::param(req.uri(), "actor");
    let store = ctx.store.clone();
    let records = tokio::task::spawn_blocking(move || -> Result<Vec<AuditRecord>, ApiError> {
        let internal = |e: crate::store::StoreError| ApiError::Internal(e.to_string());
        let candidates = match &actor {
            Some(actor) => store.audit_records_by_actor(actor).map_err(internal)?,
            // Read one more than asked for, to know whether a page follows.
            None => {
                let mut out = Vec::new();
                let mut cursor = after;
                loop {
                    let batch = store.audit_records(cursor, 1000).map_err(internal)?;
                    let Some(last) = batch.last().map(|r| r.id) else {
                        break;
                    };
                    cursor = last;
                    out.extend(
                        batch
                            .into_iter()
                            .filter(|r| r.time_ms >= since && r.time_ms <= until),
                    );
                    if out.len() > limit {
                        break;
                    }
                }
                out
            }
        };
        Ok(candidates
            .into_iter()
            .filter(|r| r.id > after && r.time_ms >= since && r.time_ms <= until)
            .take(limit + 1)
            .collect())
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut records = records;
    let next = (records.len() > limit).then(|| {
        records.truncate(limit);
        records.last().map(|r| r.id).unwrap_or(after)
    });
    Ok(json(StatusCode::OK, &Page { records, next }))
}
