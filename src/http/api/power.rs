//! `POST /api/v1/system/reboot` and `POST /api/v1/system/power-off`
//! (admins): the box goes down a few seconds later (see
//! [`crate::system::actions`]); the answer (202) comes at once.

use std::net::SocketAddr;

use http::StatusCode;
use serde::Serialize;

use crate::accounts::Caller;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::{Response, json};
use crate::system::actions::schedule_power;
use crate::system::units::Power;

/// The answer: what happens, and when.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Scheduled {
    /// `reboot` or `power-off`.
    action: &'static str,
    /// When, in ms since the epoch.
    at_ms: u64,
}

/// Reboots the box a few seconds from now.
#[utoipa::path(
    post,
    path = "/api/v1/system/reboot",
    tag = "system",
    responses(
        (status = 202, description = "The box reboots in a few seconds.", body = Scheduled),
    ),
)]
pub async fn reboot(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
) -> Result<Response, ApiError> {
    act(ctx, peer, caller, Power::Reboot).await
}

/// Powers the box off a few seconds from now.
#[utoipa::path(
    post,
    path = "/api/v1/system/power-off",
    tag = "system",
    responses(
        (status = 202, description = "The box powers off in a few seconds.", body = Scheduled),
    ),
)]
pub async fn power_off(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
) -> Result<Response, ApiError> {
    act(ctx, peer, caller, Power::PowerOff).await
}

async fn act(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
    power: Power,
) -> Result<Response, ApiError> {
    let units = ctx.units.clone();
    let at_ms = schedule_power(units, &ctx.store, &ctx.hub, &caller, power, peer.ip()).await?;
    Ok(json(
        StatusCode::ACCEPTED,
        &Scheduled {
            action: power.name(),
            at_ms,
        },
    ))
}
