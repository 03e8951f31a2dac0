//! `GET /api/v1/health`: is the daemon up, and how are its components.
//! No authentication: monitoring and the setup screen need it.

use http::StatusCode;
use serde::Serialize;

use crate::health::{Overall, Snapshot, overall};
use crate::http::context::AppContext;
use crate::http::response::{Response, json};

#[derive(Serialize)]
struct HealthReply {
    status: Overall,
    version: &'static str,
    uptime_s: u64,
    components: Snapshot,
}

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
