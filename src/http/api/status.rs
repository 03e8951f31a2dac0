//! `GET /api/v1/status`: the current state of every topic, the same
//! object a fresh event stream's `snapshot` carries.

use http::{HeaderValue, StatusCode, header};

use crate::events::TopicSet;
use crate::http::context::AppContext;
use crate::http::response::{Response, full};

pub fn get(ctx: &AppContext) -> Response {
    let mut r = http::Response::new(full(ctx.hub.state_json(TopicSet::all())));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
