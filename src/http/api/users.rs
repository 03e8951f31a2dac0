//! `/api/v1/users` (admins): `GET` lists, `POST {username,password,role}`
//! creates; `/api/v1/users/{name}`: `PATCH {role?,disabled?,password?}`
//! changes, `DELETE` removes (and ends the user's sessions).

use http::StatusCode;
use serde::Deserialize;

use super::{Actor, Reply};
use crate::accounts::UserUpdate;
use crate::auth::Role;
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::{json, no_content};

#[utoipa::path(get, path = "/api/v1/users", tag = "users",
    responses((status = 200, description = "Every user.", body = Vec<crate::accounts::UserView>)))]
pub async fn list(ctx: &AppContext) -> Reply {
    let list = blocking_with(&ctx.users, |users| users.list()).await?;
    Ok(json(StatusCode::OK, &list))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    username: String,
    password: String,
    role: String,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = Create,
    responses((status = 201, description = "Created.", body = crate::accounts::UserView)))]
pub async fn create(ctx: &AppContext, actor: Actor, body: Create) -> Reply {
    let view = blocking_with(&ctx.users, move |users| {
        users.create(
            &actor.caller,
            &body.username,
            &body.password,
            &body.role,
            actor.source,
            now_ms(),
        )
    })
    .await?;
    Ok(json(StatusCode::CREATED, &view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

#[utoipa::path(patch, path = "/api/v1/users/{name}", tag = "users", request_body = Patch,
    params(("name" = String, Path, description = "The username.")),
    responses((status = 200, description = "Changed.", body = crate::accounts::UserView)))]
pub async fn update(ctx: &AppContext, actor: Actor, name: String, body: Patch) -> Reply {
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
    let view = blocking_with(&ctx.users, move |users| {
        users.update(&actor.caller, &name, update, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::OK, &view))
}

/// Removes a user and ends their sessions.
#[utoipa::path(delete, path = "/api/v1/users/{name}", tag = "users",
    params(("name" = String, Path, description = "The username.")),
    responses((status = 204, description = "Removed.")))]
pub async fn delete(ctx: &AppContext, actor: Actor, name: String) -> Reply {
    blocking_with(&ctx.users, move |users| {
        users.delete(&actor.caller, &name, actor.source, now_ms())
    })
    .await?;
    Ok(no_content())
}
