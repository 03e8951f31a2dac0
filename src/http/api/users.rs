//! `/api/v1/users` (admins): `GET` lists, `POST {username,password,role}`
//! creates; `/api/v1/users/{name}`: `PATCH {role?,disabled?,password?}`
//! changes, `DELETE` removes (and ends the user's sessions).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Deserialize;

use crate::accounts::{UserError, UserUpdate, Users};
use crate::auth::{Action, Role};
use crate::clock::now_ms;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::request::json_body;
use crate::http::response::{Response, json, no_content};

fn api_error(e: UserError) -> ApiError {
    match e {
        UserError::Invalid { field, message } => ApiError::BadRequest {
            field: Some(field),
            message,
        },
        e @ UserError::Exists(_) => ApiError::Conflict {
            message: e.to_string(),
        },
        UserError::NotFound => ApiError::NotFound,
        e @ UserError::LastAdmin => ApiError::Conflict {
            message: e.to_string(),
        },
        UserError::Store(e) => ApiError::Internal(e.to_string()),
    }
}

async fn blocking<T: Send + 'static>(
    users: &Arc<Users>,
    f: impl FnOnce(&Users) -> Result<T, UserError> + Send + 'static,
) -> Result<T, ApiError> {
    let users = users.clone();
    tokio::task::spawn_blocking(move || f(&users))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(api_error)
}

/// The `{name}` of `/api/v1/users/{name}`.
fn name_of(req: &Request<Bytes>) -> String {
    req.uri()
        .path()
        .strip_prefix("/api/v1/users/")
        .unwrap_or("")
        .to_string()
}

pub async fn list(ctx: &AppContext, req: &Request<Bytes>) -> Result<Response, ApiError> {
    require(ctx, req, Action::ManageUsers).await?;
    let users = blocking(&ctx.users, |u| u.list().map_err(UserError::Store)).await?;
    Ok(json(StatusCode::OK, &users))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Create {
    username: String,
    password: String,
    role: String,
}

pub async fn create(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageUsers).await?;
    let body: Create = json_body(req, &["username", "password", "role"])?;
    let view = blocking(&ctx.users, move |u| {
        u.create(
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

pub async fn update(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageUsers).await?;
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
    let name = name_of(req);
    let update = UserUpdate {
        role,
        disabled: body.disabled,
        password: body.password,
    };
    let view = blocking(&ctx.users, move |u| {
        u.update(&caller, &name, update, peer.ip())
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}

pub async fn delete(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageUsers).await?;
    let name = name_of(req);
    blocking(&ctx.users, move |u| u.delete(&caller, &name, peer.ip())).await?;
    Ok(no_content())
}
