//! `/api/v1/domains` (GET: list, POST: add) and
//! `/api/v1/domains/{name}` (GET, PUT: replace, DELETE): admins manage
//! every domain, members their own (see `proxy::service`). A change
//! answers once it is in the store; Caddy's load follows within a second
//! and is reported on the record (`apply`) and the `proxy` topic.

use http::StatusCode;
use serde::Serialize;

use super::{Actor, Reply};
use crate::accounts::Caller;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::proxy::model::DomainInput;
use crate::proxy::service::DomainView;

#[derive(Serialize, utoipa::ToSchema)]
pub struct DomainList<'a> {
    domains: Vec<DomainView>,
    /// Whether hearth drives Caddy here.
    managed: bool,
    /// Why not, when not.
    not_managed: Option<&'a str>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Removed {
    removed: bool,
}

#[utoipa::path(get, path = "/api/v1/domains", tag = "domains",
    responses((status = 200, description = "The caller's domains (an admin's: all).", body = DomainList)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Reply {
    let domains = blocking_with(&ctx.proxy, move |proxy| proxy.list(&caller)).await?;
    let not_managed = ctx.proxy.not_managed();
    Ok(json(
        StatusCode::OK,
        &DomainList {
            domains,
            managed: not_managed.is_none(),
            not_managed,
        },
    ))
}

#[utoipa::path(get, path = "/api/v1/domains/{name}", tag = "domains",
    params(("name" = String, Path, description = "The domain name.")),
    responses((status = 200, description = "The domain.", body = DomainView)))]
pub async fn get(ctx: &AppContext, caller: Caller, name: String) -> Reply {
    let name = decoded(&name)?;
    let domain = blocking_with(&ctx.proxy, move |proxy| proxy.get(&caller, &name)).await?;
    Ok(json(StatusCode::OK, &domain))
}

#[utoipa::path(post, path = "/api/v1/domains", tag = "domains", request_body = DomainInput,
    responses((status = 201, description = "Added.", body = DomainView)))]
pub async fn create(ctx: &AppContext, actor: Actor, input: DomainInput) -> Reply {
    let domain = blocking_with(&ctx.proxy, move |proxy| {
        proxy.create(&actor.caller, &input, actor.source)
    })
    .await?;
    Ok(json(StatusCode::CREATED, &domain))
}

#[utoipa::path(put, path = "/api/v1/domains/{name}", tag = "domains", request_body = DomainInput,
    params(("name" = String, Path, description = "The domain name.")),
    responses((status = 200, description = "Replaced.", body = DomainView)))]
pub async fn replace(ctx: &AppContext, actor: Actor, name: String, input: DomainInput) -> Reply {
    let name = decoded(&name)?;
    let domain = blocking_with(&ctx.proxy, move |proxy| {
        proxy.replace(&actor.caller, &name, &input, actor.source)
    })
    .await?;
    Ok(json(StatusCode::OK, &domain))
}

#[utoipa::path(delete, path = "/api/v1/domains/{name}", tag = "domains",
    params(("name" = String, Path, description = "The domain name.")),
    responses((status = 200, description = "Removed.", body = Removed)))]
pub async fn remove(ctx: &AppContext, actor: Actor, name: String) -> Reply {
    let name = decoded(&name)?;
    blocking_with(&ctx.proxy, move |proxy| {
        proxy.remove(&actor.caller, &name, actor.source)
    })
    .await?;
    Ok(json(StatusCode::OK, &Removed { removed: true }))
}

/// The name from the path, percent-decoded (an internationalised name
/// may be sent as UTF-8).
fn decoded(name: &str) -> Result<String, ApiError> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("n={name}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())
        .unwrap_or_default();
    String::from_utf8(bytes).map_err(|_| ApiError::NotFound)
}
