//! `/api/v1/servers` (GET: list, POST: create), `/api/v1/servers/{id}`
//! (GET; DELETE, `?erase=true` to erase its storage too),
//! `/api/v1/servers/{id}/{start|stop|restart}` (POST), and
//! `/api/v1/quotas/{user}` (admins; GET, PUT): members manage their own
//! servers, admins every one (see `servers::service`). A change answers
//! once it is in the store; the engines follow.

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use super::{Actor, Reply};
use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::query;
use crate::servers::model::{Quota, Server, ServerInput};
use crate::servers::service::Power;

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerList {
    servers: Vec<Server>,
}

#[utoipa::path(get, path = "/api/v1/servers", tag = "servers",
    responses((status = 200, description = "The caller's servers (an admin's: all).", body = ServerList)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Reply {
    let servers = blocking_with(&ctx.servers, move |s| s.list(&caller)).await?;
    Ok(json(StatusCode::OK, &ServerList { servers }))
}

#[utoipa::path(get, path = "/api/v1/servers/{id}", tag = "servers",
    params(("id" = String, Path, description = "The server's id.")),
    responses((status = 200, description = "The server.", body = Server)))]
pub async fn get(ctx: &AppContext, caller: Caller, id: String) -> Reply {
    let server = blocking_with(&ctx.servers, move |s| s.get(&caller, &id)).await?;
    Ok(json(StatusCode::OK, &server))
}

#[utoipa::path(post, path = "/api/v1/servers", tag = "servers", request_body = ServerInput,
    responses((status = 201, description = "Created; the engine follows.", body = Server)))]
pub async fn create(ctx: &AppContext, actor: Actor, input: ServerInput) -> Reply {
    let server = blocking_with(&ctx.servers, move |s| {
        s.create(&actor.caller, &input, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &server))
}

#[utoipa::path(post, path = "/api/v1/servers/{id}/{verb}", tag = "servers",
    params(
        ("id" = String, Path, description = "The server's id."),
        ("verb" = crate::servers::service::Power, Path, description = "What to do."),
    ),
    responses((status = 200, description = "Asked; the engine follows.", body = Server)))]
pub async fn power(ctx: &AppContext, actor: Actor, id: String, power: Power) -> Reply {
    let server = blocking_with(&ctx.servers, move |s| {
        s.power(&actor.caller, &id, power, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::OK, &server))
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}", tag = "servers",
    params(
        ("id" = String, Path, description = "The server's id."),
        ("erase" = Option<bool>, Query, description = "Erase its storage too (else kept aside)."),
    ),
    responses((status = 202, description = "Being deleted.", body = Server)))]
pub async fn delete(ctx: &AppContext, actor: Actor, req: &Request<Bytes>, id: String) -> Reply {
    let erase = match query::param(req.uri(), "erase").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::BadRequest {
                field: Some("erase"),
                message: "erase must be true or false".into(),
            });
        }
    };
    let server = blocking_with(&ctx.servers, move |s| {
        s.delete(&actor.caller, &id, erase, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::ACCEPTED, &server))
}

#[utoipa::path(get, path = "/api/v1/quotas/{user}", tag = "servers",
    params(("user" = String, Path, description = "A member's username.")),
    responses((status = 200, description = "The member's quota.", body = Quota)))]
pub async fn get_quota(ctx: &AppContext, user: String) -> Reply {
    let quota = blocking_with(&ctx.servers, move |s| s.quota(&user)).await?;
    Ok(json(StatusCode::OK, &quota))
}

#[utoipa::path(put, path = "/api/v1/quotas/{user}", tag = "servers", request_body = Quota,
    params(("user" = String, Path, description = "A member's username.")),
    responses((status = 200, description = "Set.", body = Quota)))]
pub async fn put_quota(ctx: &AppContext, actor: Actor, user: String, quota: Quota) -> Reply {
    blocking_with(&ctx.servers, move |s| {
        s.set_quota(&actor.caller, &user, &quota, actor.source)
    })
    .await?;
    Ok(json(StatusCode::OK, &quota))
}
