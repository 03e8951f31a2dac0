//! `POST /api/v1/system/reboot` and `POST /api/v1/system/power-off`
//! (admins): audited, announced on the `services` topic, and carried out
//! through logind a few seconds later, so that every open page learns of
//! it before the box goes away. The answer (202) comes at once.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use crate::auth::Action;
use crate::clock::now_ms;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::response::{Response, json};
use crate::store::AuditAction;
use crate::system::units::{Power, PowerNotice, Services};

/// Between the announcement and the act.
const NOTICE: Duration = Duration::from_secs(5);

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
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    act(ctx, peer, req, Power::Reboot).await
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
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    act(ctx, peer, req, Power::PowerOff).await
}

async fn act(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
    power: Power,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageSettings).await?;
    let Some(units) = ctx.units.clone() else {
        return Err(ApiError::Conflict {
            message: "hearth does not manage this machine here (--dev)".into(),
        });
    };
    let action = match power {
        Power::Reboot => AuditAction::SystemReboot,
        Power::PowerOff => AuditAction::SystemPowerOff,
    };
    let store = ctx.store.clone();
    let entry = caller.audit(action, "host", peer.ip());
    crate::http::blocking(move || store.audit(entry)).await?;
    let at_ms = now_ms() + NOTICE.as_millis() as u64;
    ctx.hub.publish(Services {
        units: units.states(),
        power: Some(PowerNotice {
            action: power.name(),
            at_ms,
            by: caller.username.clone(),
        }),
    });
    tracing::warn!(action = power.name(), by = %caller.username, "the box goes down in {} s", NOTICE.as_secs());
    tokio::spawn(async move {
        tokio::time::sleep(NOTICE).await;
        if let Err(e) = units.power(power).await {
            tracing::error!(error = %e, action = power.name(), "logind refused");
        }
    });
    Ok(json(
        StatusCode::ACCEPTED,
        &Scheduled {
            action: power.name(),
            at_ms,
        },
    ))
}
