//! Two-factor login for the caller's own account:
//! `POST /api/v1/totp` starts enrolment (answers the secret, its
//! `otpauth://` URI and a QR code as SVG), `POST /api/v1/totp/confirm
//! {"code"}` turns it on and answers ten recovery codes (shown once),
//! `DELETE /api/v1/totp` turns it off.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Actor, Reply};
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::response::{json, no_content};

/// Starts two-factor enrolment.
#[utoipa::path(post, path = "/api/v1/totp", tag = "account",
    responses((status = 200, description = "The secret, its URI and QR code, shown once.", body = crate::accounts::Enrolment)))]
pub async fn begin(ctx: &AppContext, actor: Actor) -> Reply {
    let (two_factor, settings) = (ctx.two_factor.clone(), ctx.settings.clone());
    let enrolment = blocking(move || {
        // The authenticator app lists the code as "hearth <host name>".
        let issuer = match settings.profile().ok().and_then(|p| p.hostname) {
            Some(host) => format!("hearth {host}"),
            None => "hearth".to_string(),
        };
        two_factor.begin(&actor.caller, &issuer, actor.source)
    })
    .await?;
    Ok(json(StatusCode::OK, &enrolment))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    code: String,
}

/// Each usable once in place of a code, shown this once.
#[derive(Serialize, utoipa::ToSchema)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// Turns two-factor login on with a code from the app.
#[utoipa::path(post, path = "/api/v1/totp/confirm", tag = "account", request_body = Confirm,
    responses((status = 200, description = "On; ten recovery codes, shown once.", body = RecoveryCodes)))]
pub async fn confirm(ctx: &AppContext, actor: Actor, body: Confirm) -> Reply {
    let codes = blocking_with(&ctx.two_factor, move |two_factor| {
        two_factor.confirm(&actor.caller, &body.code, actor.source, now_ms() / 1000)
    })
    .await?;
    Ok(json(
        StatusCode::OK,
        &RecoveryCodes {
            recovery_codes: codes,
        },
    ))
}

/// Turns two-factor login off.
#[utoipa::path(delete, path = "/api/v1/totp", tag = "account",
    responses((status = 204, description = "Off.")))]
pub async fn disable(ctx: &AppContext, actor: Actor) -> Reply {
    blocking_with(&ctx.two_factor, move |t| {
        t.disable(&actor.caller, actor.source)
    })
    .await?;
    Ok(no_content())
}
