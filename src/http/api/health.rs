//! `GET /api/v1/health`: is the daemon up, and how are its components.
//! No authentication: monitoring and the setup screen need it.

use http::StatusCode;
use serde::Serialize;

use crate::health::{Overall, Snapshot, overall};
use crate::http::context::AppContext;
use crate::http::response::{Response, json};

#[derive(Serialize, utoipa::ToSchema)]
struct HealthReply {
    status: Overall,
    version: &'static str,
    uptime_s: u64,
    components: Snapshot,
}

/// Whether the daemon is up, and how each of its components is.
#[utoipa::path(get, path = "/api/v1/health", tag = "status", security(()),
    responses((status = 200, description = "The daemon's health.", body = HealthReply)))]
pub fn get(ctx: &AppContext) -> Response {
    let components = ctx.health.snapshot();
    let reply = HealthReply {
        status: overall(&components),
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: ctx.started.elapsed().as_secs(),
        components,
    };
    json(StatusCode::OK, &reply)
}
