//! `GET /api/v1/metrics/history?series=..&range=1h|24h|7d` and the
//! Prometheus endpoint `GET /metrics`.

use http::{HeaderValue, Request, StatusCode, header};

use bytes::Bytes;

use super::Reply;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::status_view;
use crate::http::response::{full, json};
use crate::metrics::history::{Range, SERIES};
use crate::metrics::prometheus::CONTENT_TYPE;
use crate::query;

/// One series' recent history.
#[utoipa::path(get, path = "/api/v1/metrics/history", tag = "status", security((), ("bearer" = []), ("session" = [])),
    params(
        ("series" = String, Query, description = "The series' name (the error lists them)."),
        ("range" = Option<String>, Query, description = "`1h` (the default), `24h` or `7d`."),
    ),
    responses((status = 200, description = "The series' points.", body = crate::metrics::history::HistoryReply)))]
pub async fn history(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    status_view(ctx, req).await?;
    let series = query::param(req.uri(), "series").ok_or_else(|| ApiError::BadRequest {
        field: Some("series"),
        message: format!("missing; one of: {}", series_names()),
    })?;
    let range = match query::param(req.uri(), "range") {
        None => Range::Hour,
        Some(r) => Range::try_from(r.as_str()).map_err(|message| ApiError::BadRequest {
            field: Some("range"),
            message,
        })?,
    };
    let reply = ctx
        .metrics
        .history(&series, range)
        .ok_or_else(|| ApiError::BadRequest {
            field: Some("series"),
            message: format!(
                "{:?} is not a series; one of: {}",
                series.chars().take(64).collect::<String>(),
                series_names()
            ),
        })?;
    Ok(json(StatusCode::OK, &reply))
}

fn series_names() -> String {
    SERIES.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// The box's metrics in Prometheus' text format.
#[utoipa::path(get, path = "/metrics", tag = "status",
    responses((status = 200, description = "Prometheus text exposition.", content_type = "text/plain; version=0.0.4; charset=utf-8", body = String)))]
pub async fn prometheus(ctx: &AppContext) -> Reply {
    let text = ctx
        .metrics
        .prometheus(ctx.hub.subscribers())
        .ok_or(ApiError::Unavailable {
            message: "no sample taken yet; try again in a second".into(),
        })?;
    let mut r = http::Response::new(full(text));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    Ok(r)
}
