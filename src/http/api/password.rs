//! `POST /api/v1/session/password {current_password, new_password}`: the
//! caller changes their own password (any role). The caller's other
//! sessions end; this one stays.

use std::net::SocketAddr;

use bytes::Bytes;
use http::Request;
use serde::Deserialize;

use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::request::json_body;
use crate::http::response::{Response, no_content};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Change {
    current_password: String,
    new_password: String,
}

/// Changes the caller's own password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/session/password", tag = "account", request_body = Change,
    responses((status = 204, description = "Changed.")))]
pub async fn change(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let body: Change = json_body(req, &["current_password", "new_password"])?;
    let sessions = ctx.sessions.clone();
    let turn = sessions.hash_turn().await?;
    blocking(move || {
        sessions.change_password(
            &turn,
            &caller,
            &body.current_password,
            &body.new_password,
            peer.ip(),
            now_ms(),
        )
    })
    .await?;
    Ok(no_content())
}
