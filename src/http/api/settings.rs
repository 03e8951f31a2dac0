//! `GET /api/v1/settings` and `PATCH /api/v1/settings` (admins): whether
//! the status is public, and the host name, time zone and NTP setting.
//! A PATCH is validated whole before anything is stored: one bad field is
//! a 400 naming it, and nothing of the request changes.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Deserialize;

use crate::accounts::HostChange;
use crate::auth::Action;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::require;
use crate::http::request::json_body;
use crate::http::response::{Response, json};
use crate::invalid::invalid;
use crate::names::{Hostname, TimeZone};

pub async fn get(ctx: &AppContext, req: &Request<Bytes>) -> Result<Response, ApiError> {
    require(ctx, req, Action::ManageSettings).await?;
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    public_status: Option<bool>,
    hostname: Option<String>,
    timezone: Option<String>,
    /// Kept loose so that a wrong type is named as this field's error
    /// (serde's own message does not say which field it was).
    ntp: Option<serde_json::Value>,
}

const FIELDS: &[&str] = &["public_status", "hostname", "timezone", "ntp"];

impl Patch {
    fn host_change(&self) -> Result<HostChange, ApiError> {
        let hostname = self
            .hostname
            .as_deref()
            .map(Hostname::try_from)
            .transpose()
            .map_err(|e| invalid("hostname", e.to_string()))?;
        let timezone = self
            .timezone
            .as_deref()
            .map(TimeZone::try_from)
            .transpose()
            .map_err(|e| invalid("timezone", e.to_string()))?;
        let ntp = self
            .ntp
            .as_ref()
            .map(|v| {
                v.as_bool()
                    .ok_or_else(|| invalid("ntp", "must be true or false"))
            })
            .transpose()?;
        Ok(HostChange {
            hostname,
            timezone,
            ntp,
        })
    }
}

pub async fn patch(
    ctx: &AppContext,
    peer: SocketAddr,
    req: &Request<Bytes>,
) -> Result<Response, ApiError> {
    let caller = require(ctx, req, Action::ManageSettings).await?;
    let body: Patch = json_body(req, FIELDS)?;
    let host = body.host_change()?;
    let settings = ctx.settings.clone();
    blocking(move || {
        if let Some(on) = body.public_status {
            settings.set_public_status(&caller, on, peer.ip())?;
        }
        settings.set_host(&caller, &host, peer.ip())
    })
    .await?;
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}
