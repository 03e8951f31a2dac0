//! `GET /api/v1/timezones`: the time zone names the box knows, sorted, as
//! a JSON array (see [`crate::host::timezones`]). Open to everyone, in
//! setup mode too: the setup wizard offers them, and they are the same
//! on every box with the same `tzdata`.

use std::convert::Infallible;

use http::StatusCode;

use super::Reply;
use crate::host::timezones;
use crate::http::blocking;
use crate::http::response::json;

/// The time zone names the box knows, sorted.
#[utoipa::path(get, path = "/api/v1/timezones", tag = "setup", security(()),
    responses((status = 200, description = "Time zone names.", body = Vec<String>)))]
pub async fn list() -> Reply {
    // The first call reads the database: off the async threads.
    let zones = blocking(|| Ok::<_, Infallible>(timezones::list())).await?;
    Ok(json(StatusCode::OK, &zones))
}
