//! `GET /api/v1/services` (signed in): the box's services as systemd
//! reports them; `POST /api/v1/services/{unit}/{start|stop|restart}`
//! (admins): answers once systemd's job has ended, audited either way.

use http::StatusCode;
use serde::Serialize;

use super::{Actor, Reply};
use crate::http::context::AppContext;
use crate::http::response::json;
use crate::system::actions;
use crate::system::units::{UnitState, Verb};

/// The services, and whether hearth drives them here (not in `--dev`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceList {
    managed: bool,
    units: Vec<UnitState>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ServiceDone<'a> {
    /// `done`.
    result: &'static str,
    unit: &'a str,
    verb: &'static str,
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, description = "The box's services.", body = ServiceList)))]
pub async fn list(ctx: &AppContext) -> Reply {
    Ok(json(
        StatusCode::OK,
        &match &ctx.units {
            Some(units) => ServiceList {
                managed: true,
                units: units.states(),
            },
            None => ServiceList {
                managed: false,
                units: Vec::new(),
            },
        },
    ))
}

/// Starts, stops or restarts a service; answers once systemd's job ended.
#[utoipa::path(post, path = "/api/v1/services/{unit}/{verb}", tag = "services",
    params(
        ("unit" = String, Path, description = "The unit's name (`caddy.service`)."),
        ("verb" = crate::system::units::Verb, Path, description = "What to do."),
    ),
    responses((status = 200, description = "Done.", body = ServiceDone)))]
pub async fn act(ctx: &AppContext, actor: Actor, unit: String, verb: Verb) -> Reply {
    let units = ctx.units.as_deref();
    actions::act(units, &ctx.store, &actor.caller, &unit, verb, actor.source).await?;
    Ok(json(
        StatusCode::OK,
        &ServiceDone {
            result: "done",
            unit: &unit,
            verb: verb.name(),
        },
    ))
}
