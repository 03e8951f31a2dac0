//! `/api/v1/servers` (GET: list, POST: create), `/api/v1/servers/{id}`
//! (GET; DELETE, `?erase=true` to erase its storage too),
//! `/api/v1/servers/{id}/{start|stop|restart}` (POST), and
//! `/api/v1/quotas/{user}` (admins; GET, PUT): members manage their own
//! servers, admins every one (see `servers::service`). A change answers
//! once it is in the store; the engines follow.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::request::json_body;
use crate::http::response::{Response, json};
use crate::query;
use crate::servers::model::{Quota, Server, ServerInput};
use crate::servers::service::Power;

const FIELDS: &[&str] = &["name", "owner", "limits", "ports", "running"];
const QUOTA_FIELDS: &[&str] = &["max_servers", "max_memory_mib", "max_disk_mib"];

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServerList {
    servers: Vec<Server>,
}

#[utoipa::path(get, path = "/api/v1/servers", tag = "servers",
    responses((status = 200, description = "The caller's servers (an admin's: all).", body = ServerList)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Result<Response, ApiError> {
    let servers = ctx.servers.clone();
    let list = blocking(move || servers.list(&caller)).await?;
    Ok(json(StatusCode::OK, &ServerList { servers: list }))
}

#[utoipa::path(get, path = "/api/v1/servers/{id}", tag = "servers",
    params(("id" = String, Path, description = "The server's id.")),
    responses((status = 200, description = "The server.", body = Server)))]
pub async fn get(ctx: &AppContext, caller: Caller, id: String) -> Result<Response, ApiError> {
    let servers = ctx.servers.clone();
    let server = blocking(move || servers.get(&caller, &id)).await?;
    Ok(json(StatusCode::OK, &server))
}

#[utoipa::path(post, path = "/api/v1/servers", tag = "servers", request_body = ServerInput,
    responses((status = 201, description = "Created; the engine follows.", body = Server)))]
pub async fn create(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let input: ServerInput = json_body(req, FIELDS)?;
    let servers = ctx.servers.clone();
    let server = blocking(move || servers.create(&caller, &input, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::CREATED, &server))
}

#[utoipa::path(post, path = "/api/v1/servers/{id}/{verb}", tag = "servers",
    params(
        ("id" = String, Path, description = "The server's id."),
        ("verb" = crate::servers::service::Power, Path, description = "What to do."),
    ),
    responses((status = 200, description = "Asked; the engine follows.", body = Server)))]
pub async fn power(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
    id: String,
    power: Power,
) -> Result<Response, ApiError> {
    let servers = ctx.servers.clone();
    let server = blocking(move || servers.power(&caller, &id, power, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::OK, &server))
}

#[utoipa::path(delete, path = "/api/v1/servers/{id}", tag = "servers",
    params(
        ("id" = String, Path, description = "The server's id."),
        ("erase" = Option<bool>, Query, description = "Erase its storage too (else kept aside)."),
    ),
    responses((status = 202, description = "Being deleted.", body = Server)))]
pub async fn delete(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
    id: String,
) -> Result<Response, ApiError> {
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
    let servers = ctx.servers.clone();
    let server = blocking(move || servers.delete(&caller, &id, erase, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::ACCEPTED, &server))
}

#[utoipa::path(get, path = "/api/v1/quotas/{user}", tag = "servers",
    params(("user" = String, Path, description = "A member's username.")),
    responses((status = 200, description = "The member's quota.", body = Quota)))]
pub async fn get_quota(ctx: &AppContext, user: String) -> Result<Response, ApiError> {
    let servers = ctx.servers.clone();
    let quota = blocking(move || servers.quota(&user)).await?;
    Ok(json(StatusCode::OK, &quota))
}

#[utoipa::path(put, path = "/api/v1/quotas/{user}", tag = "servers", request_body = Quota,
    params(("user" = String, Path, description = "A member's username.")),
    responses((status = 200, description = "Set.", body = Quota)))]
pub async fn put_quota(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    caller: Caller,
    user: String,
) -> Result<Response, ApiError> {
    let quota: Quota = json_body(req, QUOTA_FIELDS)?;
    let servers = ctx.servers.clone();
    blocking(move || servers.set_quota(&caller, &user, &quota, peer.ip())).await?;
    Ok(json(StatusCode::OK, &quota))
}
