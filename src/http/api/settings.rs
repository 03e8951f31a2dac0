//! `GET /api/v1/settings` and `PATCH /api/v1/settings` (admins): whether
//! the status is public, whether the recovery console offers a root shell
//! (`console_shell`), and the host name, time zone and NTP setting.
//! A PATCH is validated whole before anything is stored: one bad field is
//! a 400 naming it, and nothing of the request changes.

use http::StatusCode;
use serde::Deserialize;

use super::{Actor, Reply};
use crate::accounts::HostChange;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::invalid::invalid;
use crate::names::{Hostname, TimeZone};
use crate::store::Retention;

#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses((status = 200, description = "The settings.", body = crate::accounts::SettingsView)))]
pub async fn get(ctx: &AppContext) -> Reply {
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    public_status: Option<bool>,
    /// Loose like `ntp`, so that a wrong type names this field.
    #[schema(value_type = Option<bool>)]
    console_shell: Option<serde_json::Value>,
    hostname: Option<String>,
    timezone: Option<String>,
    /// Kept loose so that a wrong type is named as this field's error
    /// (serde's own message does not say which field it was).
    #[schema(value_type = Option<bool>)]
    ntp: Option<serde_json::Value>,
    /// Days the log keeps its records of attempts (1 to 3650).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 3650)]
    audit_keep_days: Option<serde_json::Value>,
    /// MiB of records of attempts the log keeps at most (1 to 4096).
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 4096)]
    audit_max_mib: Option<serde_json::Value>,
}

/// The field `name`, when given, as `parse` reads it; what `parse` says
/// of a value it cannot read is the field's error.
fn given<'a, V: ?Sized, T, E: std::fmt::Display>(
    name: &str,
    value: Option<&'a V>,
    parse: impl FnOnce(&'a V) -> Result<T, E>,
) -> Result<Option<T>, ApiError> {
    value
        .map(parse)
        .transpose()
        .map_err(|e| invalid(name, e.to_string()).into())
}

/// A field that must be `true` or `false`, when given.
fn boolean(name: &str, value: Option<&serde_json::Value>) -> Result<Option<bool>, ApiError> {
    given(name, value, |v| v.as_bool().ok_or("must be true or false"))
}

/// A whole number field, when given.
fn whole(name: &str, value: Option<&serde_json::Value>) -> Result<Option<u32>, ApiError> {
    given(name, value, |v| {
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("must be a whole number")
    })
}

impl Patch {
    /// The new retention of the log of attempts, if either part is given
    /// (the other stays as it is).
    fn retention(&self, current: Retention) -> Result<Option<Retention>, ApiError> {
        let days = whole("audit_keep_days", self.audit_keep_days.as_ref())?;
        let mib = whole("audit_max_mib", self.audit_max_mib.as_ref())?;
        if days.is_none() && mib.is_none() {
            return Ok(None);
        }
        Retention::new(
            days.unwrap_or(current.keep_days),
            mib.unwrap_or(current.max_mib),
        )
        .map(Some)
        .map_err(|e| invalid(e.field, format!("must be from {} to {}", e.min, e.max)).into())
    }

    fn host_change(&self) -> Result<HostChange, ApiError> {
        Ok(HostChange {
            hostname: given("hostname", self.hostname.as_deref(), Hostname::try_from)?,
            timezone: given("timezone", self.timezone.as_deref(), TimeZone::try_from)?,
            ntp: boolean("ntp", self.ntp.as_ref())?,
        })
    }
}

/// Changes the fields given; all or nothing.
#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings", request_body = Patch,
    responses((status = 200, description = "The settings now.", body = crate::accounts::SettingsView)))]
pub async fn patch(ctx: &AppContext, actor: Actor, body: Patch) -> Reply {
    let host = body.host_change()?;
    let console_shell = boolean("console_shell", body.console_shell.as_ref())?;
    let retention = body.retention(ctx.store.audit_retention()?)?;
    let Actor { caller, source } = actor;
    blocking_with(&ctx.settings, move |settings| {
        if let Some(retention) = retention {
            settings.set_audit_retention(&caller, retention, source)?;
        }
        if let Some(on) = body.public_status {
            settings.set_public_status(&caller, on, source)?;
        }
        if let Some(on) = console_shell {
            settings.set_console_shell(&caller, on, source)?;
        }
        settings.set_host(&caller, &host, source)
    })
    .await?;
    Ok(json(StatusCode::OK, &ctx.settings.view()?))
}
