//! The first-boot setup API (the wizard's steps, also usable without a
//! browser): `GET /api/v1/setup`, `POST /api/v1/setup/{claim,admin,host,
//! domain,finish}`. Every step after the claim needs the setup cookie;
//! after `finish` all of it answers 410 Gone.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http::{Request, StatusCode, header};
use serde::Deserialize;

use super::Reply;
use crate::accounts::{Setup, SetupError};
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::request::{cookie, expired_cookie, json_body, same_origin, session_cookie};
use crate::http::response::json;

pub const SETUP_COOKIE: &str = "__Host-hearth_setup";

fn secret(req: &Request<Bytes>) -> Option<String> {
    cookie(req, SETUP_COOKIE).map(str::to_string)
}

fn next_step(ctx: &AppContext, secret: Option<&str>) -> Reply {
    let status = ctx.setup.status(secret, now_ms())?;
    Ok(json(StatusCode::OK, &status))
}

/// Where the setup stands (setup mode only; 410 after).
#[utoipa::path(get, path = "/api/v1/setup", tag = "setup", security((), ("setup" = [])),
    responses((status = 200, description = "The setup's state.", body = crate::accounts::SetupStatus)))]
pub async fn state(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    if ctx.setup.is_complete() {
        return Err(SetupError::Complete.into());
    }
    next_step(ctx, secret(req).as_deref())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Claim {
    code: String,
}

/// Claims the box with the setup code; sets the setup cookie.
#[utoipa::path(post, path = "/api/v1/setup/claim", tag = "setup", security(()), request_body = Claim,
    responses((status = 200, description = "Claimed; the setup's state.", body = crate::accounts::SetupStatus)))]
pub async fn claim(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    same_origin(req, || ctx.own_hosts())?;
    let body: Claim = json_body(req)?;
    let ip: IpAddr = peer.ip();
    let setup = ctx.setup.clone();
    let secret = blocking(move || setup.claim(&body.code, ip, now_ms())).await?;
    let mut r = next_step(ctx, Some(secret.expose()))?;
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(
            SETUP_COOKIE,
            secret.expose(),
            crate::accounts::SETUP_SESSION_LIFETIME.as_secs(),
        ),
    );
    Ok(r)
}

/// One wizard step after the claim: the same-origin check, the JSON body,
/// the setup cookie, the step itself off the async threads (it hashes and
/// writes to disk), and the state it leads to.
async fn step<B: serde::de::DeserializeOwned + Send + 'static>(
    ctx: &AppContext,
    req: &Request<Bytes>,
    apply: impl FnOnce(&Setup, Option<&str>, B, u64) -> Result<(), SetupError> + Send + 'static,
) -> Reply {
    same_origin(req, || ctx.own_hosts())?;
    let body: B = json_body(req)?;
    let s = secret(req);
    let s2 = s.clone();
    let setup = ctx.setup.clone();
    blocking(move || apply(&setup, s2.as_deref(), body, now_ms())).await?;
    next_step(ctx, s.as_deref())
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Admin {
    username: String,
    password: String,
}

/// Creates the first admin.
#[utoipa::path(post, path = "/api/v1/setup/admin", tag = "setup", security(("setup" = [])), request_body = Admin,
    responses((status = 200, description = "Done; the setup's state.", body = crate::accounts::SetupStatus)))]
pub async fn admin(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    step(ctx, req, move |setup, s, b: Admin, now| {
        setup.create_admin(s, &b.username, &b.password, peer.ip(), now)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Host {
    hostname: String,
    timezone: String,
}

/// Sets the box's host name and time zone.
#[utoipa::path(post, path = "/api/v1/setup/host", tag = "setup", security(("setup" = [])), request_body = Host,
    responses((status = 200, description = "Done; the setup's state.", body = crate::accounts::SetupStatus)))]
pub async fn host(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    step(ctx, req, move |setup, s, b: Host, now| {
        setup.set_host(s, &b.hostname, &b.timezone, peer.ip(), now)
    })
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Domain {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// Sets the box's domain and contact e-mail (both optional).
#[utoipa::path(post, path = "/api/v1/setup/domain", tag = "setup", security(("setup" = [])), request_body = Domain,
    responses((status = 200, description = "Done; the setup's state.", body = crate::accounts::SetupStatus)))]
pub async fn domain(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    step(ctx, req, move |setup, s, b: Domain, now| {
        setup.set_domain(s, b.domain.as_deref(), b.email.as_deref(), peer.ip(), now)
    })
    .await
}

/// The answer to the last step.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Finished {
    complete: bool,
}

/// Ends setup mode; the setup API is gone after.
#[utoipa::path(post, path = "/api/v1/setup/finish", tag = "setup", security(("setup" = [])),
    responses((status = 200, description = "Setup is complete.", body = Finished)))]
pub async fn finish(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    same_origin(req, || ctx.own_hosts())?;
    let s = secret(req);
    let setup = ctx.setup.clone();
    blocking(move || setup.finish(s.as_deref(), peer.ip(), now_ms())).await?;
    let mut r = json(StatusCode::OK, &Finished { complete: true });
    r.headers_mut()
        .insert(header::SET_COOKIE, expired_cookie(SETUP_COOKIE));
    Ok(r)
}
