//! `/api/v1/tokens`: a user's own API tokens. `POST {"name","expires_at"?}`
//! (Unix seconds) answers `{"id","token",...}` with the token shown this
//! once; `GET` lists them (never the token); `DELETE /api/v1/tokens/{id}`
//! revokes one.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};

use crate::accounts::{TokenError, TokenRecord};
use crate::auth::Action;
use crate::clock::now_ms;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::request::json_body;
use crate::http::response::{Response, json, no_content};

fn api_error(e: TokenError) -> ApiError {
    match e {
        TokenError::Invalid { field, message } => ApiError::BadRequest {
            field: Some(field),
            message,
        },
        TokenError::NotFound => ApiError::NotFound,
        TokenError::Store(e) => ApiError::Internal(e.to_string()),
    }
}

fn join_error(e: tokio::task::JoinError) -> ApiError {
    ApiError::Internal(e.to_string())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    name: String,
    /// Unix seconds.
    expires_at: Option<u64>,
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    record: TokenRecord,
    token: String,
}

pub async fn create(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageOwnTokens).await?;
    let body: Create = json_body(req, &["name", "expires_at"])?;
    let tokens = ctx.tokens.clone();
    let (record, token) = tokio::task::spawn_blocking(move || {
        let expires_ms = body.expires_at.map(|s| s.saturating_mul(1000));
        tokens.create(&caller, &body.name, expires_ms, peer.ip(), now_ms())
    })
    .await
    .map_err(join_error)?
    .map_err(api_error)?;
    Ok(json(StatusCode::CREATED, &Created { record, token }))
}

pub async fn list(ctx: &AppContext, req: &Request<Bytes>) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageOwnTokens).await?;
    let tokens = ctx.tokens.clone();
    let list = tokio::task::spawn_blocking(move || tokens.list(&caller))
        .await
        .map_err(join_error)?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(json(StatusCode::OK, &list))
}

pub async fn revoke(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageOwnTokens).await?;
    let id = req
        .uri()
        .path()
        .strip_prefix("/api/v1/tokens/")
        .unwrap_or("")
        .to_string();
    let tokens = ctx.tokens.clone();
    tokio::task::spawn_blocking(move || tokens.revoke(&caller, &id, peer.ip()))
        .await
        .map_err(join_error)?
        .map_err(api_error)?;
    Ok(no_content())
}
