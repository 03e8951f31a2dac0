//! `POST /api/v1/system/reboot` and `POST /api/v1/system/power-off`
//! (admins): the box goes down a few seconds later (see
//! [`crate::system::actions`]); the answer (202) comes at once.

use http::StatusCode;
use serde::Serialize;

use super::{Actor, Reply};
use crate::http::context::AppContext;
use crate::http::response::json;
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
#[utoipa::path(post, path = "/api/v1/system/reboot", tag = "system",
    responses((status = 202, description = "The box reboots in a few seconds.", body = Scheduled)))]
pub async fn reboot(ctx: &AppContext, actor: Actor) -> Reply {
    schedule(ctx, actor, Power::Reboot).await
}

/// Powers the box off a few seconds from now.
#[utoipa::path(post, path = "/api/v1/system/power-off", tag = "system",
    responses((status = 202, description = "The box powers off in a few seconds.", body = Scheduled)))]
pub async fn power_off(ctx: &AppContext, actor: Actor) -> Reply {
    schedule(ctx, actor, Power::PowerOff).await
}

async fn schedule(ctx: &AppContext, actor: Actor, power: Power) -> Reply {
    let units = ctx.units.clone();
    let Actor { caller, source } = actor;
    let at_ms = schedule_power(units, &ctx.store, &ctx.hub, &caller, power, source).await?;
    let action = power.name();
    Ok(json(StatusCode::ACCEPTED, &Scheduled { action, at_ms }))
}
