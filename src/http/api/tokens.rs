//! `/api/v1/tokens`: a user's own API tokens. `POST {"name","expires_at"?}`
//! (Unix seconds) answers `{"id","token",...}` with the token shown this
//! once; `GET` lists them (never the token); `DELETE /api/v1/tokens/{id}`
//! revokes one.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::accounts::Caller;
use crate::accounts::TokenRecord;
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::request::json_body;
use crate::http::response::{Response, json, no_content};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    /// Unix seconds.
    expires_at: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    #[serde(flatten)]
    record: TokenRecord,
    token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", request_body = Create,
    responses((status = 201, description = "Created; the token is shown this once.", body = Created)))]
pub async fn create(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let body: Create = json_body(req, &["name", "expires_at"])?;
    let tokens = ctx.tokens.clone();
    let (record, token) = blocking(move || {
        let expires_ms = body.expires_at.map(|s| s.saturating_mul(1000));
        tokens.create(&caller, &body.name, expires_ms, peer.ip(), now_ms())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &Created { record, token }))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, description = "The caller's tokens (never the secret).", body = Vec<crate::accounts::TokenRecord>)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Result<Response, ApiError> {
    let tokens = ctx.tokens.clone();
    let list = blocking(move || tokens.list(&caller)).await?;
    Ok(json(StatusCode::OK, &list))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account",
    params(("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
    id: String,
) -> Result<Response, ApiError> {
    let tokens = ctx.tokens.clone();
    blocking(move || tokens.revoke(&caller, &id, peer.ip())).await?;
    Ok(no_content())
}
