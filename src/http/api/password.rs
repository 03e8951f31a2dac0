//! `POST /api/v1/session/password {current_password, new_password}`: the
//! caller changes their own password (any role). The caller's other
//! sessions end; this one stays.

use serde::Deserialize;

use super::{Actor, Reply};
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::response::no_content;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Change {
    current_password: String,
    new_password: String,
}

/// Changes the caller's own password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/session/password", tag = "account", request_body = Change,
    responses((status = 204, description = "Changed.")))]
pub async fn change(ctx: &AppContext, actor: Actor, body: Change) -> Reply {
    let turn = ctx.sessions.hash_turn().await?;
    blocking_with(&ctx.sessions, move |sessions| {
        sessions.change_password(
            &turn,
            &actor.caller,
            &body.current_password,
            &body.new_password,
            actor.source,
            now_ms(),
        )
    })
    .await?;
    Ok(no_content())
}
