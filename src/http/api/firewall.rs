//! `GET/PUT /api/v1/firewall` and `POST /api/v1/firewall/confirm`
//! (admins). A PUT answers once the new policy is in force (or refused);
//! when it awaits confirmation, the answer says by when.

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::{Deserialize, Serialize};

use super::{Actor, Reply};
use crate::connection_epoch::AcceptedIn;
use crate::firewall::model::{Policy, PolicyInput};
use crate::firewall::service::ChangeRequest;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::response::json;

#[utoipa::path(get, path = "/api/v1/firewall", tag = "firewall",
    responses((status = 200, description = "The policy, and any change awaiting confirmation.", body = crate::firewall::service::FirewallView)))]
pub async fn get(ctx: &AppContext) -> Reply {
    let view = blocking_with(&ctx.firewall, |firewall| firewall.view()).await?;
    Ok(json(StatusCode::OK, &view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Put {
    policy: PolicyInput,
    /// Keep the change only if confirmed in time (the default).
    #[serde(default = "yes")]
    confirm: bool,
    /// The admin knows the change cuts off the address they send it from.
    #[serde(default)]
    drop_my_access: bool,
}

/// The version confirmed.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Confirmed {
    confirmed: u64,
}

fn yes() -> bool {
    true
}

/// Replaces the policy; answers once it is in force (or refused).
#[utoipa::path(put, path = "/api/v1/firewall", tag = "firewall", request_body = Put,
    responses((status = 200, description = "In force (confirm it by `confirm_by_ms`).", body = crate::firewall::service::ChangeOutcome)))]
pub async fn put(ctx: &AppContext, actor: Actor, body: Put) -> Reply {
    let policy = Policy::try_from(body.policy)?;
    let request = ChangeRequest {
        policy,
        confirm: body.confirm,
        drop_my_access: body.drop_my_access,
    };
    let outcome = ctx
        .firewall
        .change(&actor.caller, request, actor.source)
        .await?;
    Ok(json(StatusCode::OK, &outcome))
}

/// Keeps the change awaiting confirmation.
#[utoipa::path(post, path = "/api/v1/firewall/confirm", tag = "firewall",
    responses((status = 200, description = "Kept.", body = Confirmed)))]
pub async fn confirm(ctx: &AppContext, actor: Actor, req: &Request<Bytes>) -> Reply {
    // Requests always carry it (the server tags them); a request made
    // some other way proves no new connection.
    let accepted_in = req
        .extensions()
        .get::<AcceptedIn>()
        .copied()
        .unwrap_or(AcceptedIn(0));
    let version = blocking_with(&ctx.firewall, move |firewall| {
        firewall.confirm(&actor.caller, actor.source, accepted_in)
    })
    .await?;
    Ok(json(StatusCode::OK, &Confirmed { confirmed: version }))
}
