//! `GET /api/v1/settings` and `PATCH /api/v1/settings {"public_status"}`
//! (admins).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Deserialize;

use crate::auth::Action;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::request::json_body;
use crate::http::response::{Response, json};

pub async fn get(ctx: &AppContext, req: &Request<Bytes>) -> Result<Response, ApiError> {
    require(ctx, req, Action::ManageSettings).await?;
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    public_status: Option<bool>,
}

pub async fn patch(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageSettings).await?;
    let body: Patch = json_body(req, &["public_status"])?;
    if let Some(on) = body.public_status {
        let settings = ctx.settings.clone();
        blocking(move || settings.set_public_status(&caller, on, peer.ip())).await?;
    }
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}
