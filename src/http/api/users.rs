//! `/api/v1/users` (admins): `GET` lists, `POST {username,password,role}`
//! creates; `/api/v1/users/{name}`: `PATCH {role?,disabled?,password?}`
//! changes, `DELETE` removes (and ends the user's sessions).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Deserialize;

use crate::accounts::Caller;
use crate::accounts::UserUpdate;
use crate::auth::Role;
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::request::json_body;
use crate::http::response::{Response, json, no_content};

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "Every user.", body = Vec<crate::accounts::UserView>)))]
pub async fn list(ctx: &AppContext) -> Result<Response, ApiError> {
    let users = ctx.users.clone();
    let list = blocking(move || users.list()).await?;
    Ok(json(StatusCode::OK, &list))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Create {
    username: String,
    password: String,
    role: String,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = Create,
    responses((status = 201, description = "Created.", body = crate::accounts::UserView)))]
pub async fn create(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let body: Create = json_body(req, &["username", "password", "role"])?;
    let users = ctx.users.clone();
    let view = blocking(move || {
        users.create(
            &caller,
            &body.username,
            &body.password,
            &body.role,
            peer.ip(),
            now_ms(),
        )
    })
    .await?;
    Ok(json(StatusCode::CREATED, &view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Patch {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = Patch,
    params(("name" = String, Path, description = "The username.")),
    responses((status = 200, description = "Changed.", body = crate::accounts::UserView)))]
pub async fn update(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
    name: String,
) -> Result<Response, ApiError> {
    let body: Patch = json_body(req, &["role", "disabled", "password"])?;
    let role = body
        .role
        .as_deref()
        .map(|r| {
            Role::try_from(r).map_err(|message| ApiError::BadRequest {
                field: Some("role"),
                message: format!("role {message}"),
            })
        })
        .transpose()?;
    let update = UserUpdate {
        role,
        disabled: body.disabled,
        password: body.password,
    };
    let users = ctx.users.clone();
    let view = blocking(move || users.update(&caller, &name, update, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::OK, &view))
}

/// Removes a user and ends their sessions.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The username.")),
    responses((status = 204, description = "Removed.")))]
pub async fn delete(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
    name: String,
) -> Result<Response, ApiError> {
    let users = ctx.users.clone();
    blocking(move || users.delete(&caller, &name, peer.ip(), now_ms())).await?;
    Ok(no_content())
}
