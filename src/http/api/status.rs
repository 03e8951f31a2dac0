//! `GET /api/v1/status`: the current state of every topic, the same
//! object a fresh event stream's `snapshot` carries.

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};

use super::Reply;
use crate::http::guard::status_view;

use crate::events::TopicSet;
use crate::http::context::AppContext;
use crate::http::response::full;

/// The current state of every topic the caller may see: the object an
/// event stream's `snapshot` carries, keyed by topic.
#[utoipa::path(get, path = "/api/v1/status", tag = "status", security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "Each topic's state, by topic name.", body = Object)))]
pub async fn get(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    let view = status_view(ctx, req).await?;
    let mut r = http::Response::new(full(ctx.hub.state_json(TopicSet::all(), view)));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(r)
}
