//! `POST /api/v1/session` (sign in), `GET /api/v1/session` (who am I),
//! `DELETE /api/v1/session` (sign out). The session travels in the
//! `__Host-hearth_session` cookie: HttpOnly, Secure, SameSite=Strict.
//!
//! Sign-in answers 401 `unauthorized` to a wrong username or password,
//! 403 `totp_required` to the right password alone when two-factor login
//! is on, 401 `totp_wrong` to a wrong code, 429 with `Retry-After` (and
//! the wait in the message) while throttled (the policy:
//! `auth::attempts`), 400 to a username longer than any can be, and 503
//! `busy` with `Retry-After` when more passwords are being checked at
//! once than memory is set aside for (`sessions::HASHES_AT_ONCE`). Who-am-I answers the
//! caller (`username`, `role`, `created_ms`) and `two_factor`.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use serde::{Deserialize, Serialize};

use super::{Actor, Reply};
use crate::accounts::Caller;
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::{Credential, SESSION_COOKIE, caller};
use crate::http::request::{expired_cookie, json_body, same_origin, session_cookie};
use crate::http::response::{json, no_content};
use crate::http::user_agent;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct Login {
    username: String,
    password: String,
    /// A code from the authenticator app, or a recovery code, when the
    /// user has two-factor login on.
    #[serde(default)]
    totp: Option<String>,
}

/// Signs in; sets the session cookie.
#[utoipa::path(post, path = "/api/v1/session", tag = "account", security(()), request_body = Login,
    responses((status = 200, description = "Signed in.", body = Caller)))]
pub async fn login(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    same_origin(req, || ctx.own_hosts())?;
    let body: Login = json_body(req)?;
    let agent = user_agent::label(
        req.headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    );
    // A turn at the hash first: at most a few run at once, whatever
    // arrives (the rest wait a little, then get 503 and Retry-After).
    let turn = ctx.sessions.hash_turn().await?;
    let (token, caller) = blocking_with(&ctx.sessions, move |sessions| {
        sessions.login(
            &turn,
            &body.username,
            &body.password,
            body.totp.as_deref(),
            peer.ip(),
            &agent,
            now_ms(),
        )
    })
    .await?;
    let mut r = json(StatusCode::OK, &caller);
    let max_age = ctx.sessions.policy().absolute.as_secs();
    r.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(SESSION_COOKIE, token.expose(), max_age),
    );
    Ok(r)
}

/// Who the caller is, and whether two-factor login is on for them.
#[derive(Serialize, utoipa::ToSchema)]
struct WhoAmI {
    #[serde(flatten)]
    caller: Caller,
    two_factor: bool,
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/v1/session", tag = "account",
    responses((status = 200, description = "The caller.", body = WhoAmI)))]
pub async fn whoami(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    let caller = caller(ctx, req)
        .await?
        .ok_or_else(ApiError::sign_in_first)?;
    let username = caller.username.clone();
    let two_factor = blocking_with(&ctx.two_factor, move |t| t.is_on(&username)).await?;
    Ok(json(StatusCode::OK, &WhoAmI { caller, two_factor }))
}

/// Signs out (a session only; an API token is 400).
#[utoipa::path(delete, path = "/api/v1/session", tag = "account", security(("session" = [])),
    responses((status = 204, description = "Signed out.")))]
pub async fn logout(ctx: &AppContext, peer: SocketAddr, req: &Request<Bytes>) -> Reply {
    same_origin(req, || ctx.own_hosts())?;
    let caller = caller(ctx, req)
        .await?
        .ok_or_else(ApiError::sign_in_first)?;
    // An API token is no session: "signing out" with it would end nothing
    // yet read as a success in the audit log.
    if matches!(Credential::of(req), Some(Credential::Token(_))) {
        return Err(ApiError::BadRequest {
            field: None,
            message: "an API token is not a session; revoke it with DELETE /api/v1/tokens/{id}"
                .into(),
        });
    }
    blocking_with(&ctx.sessions, move |s| s.logout(&caller, peer.ip())).await?;
    let mut r = no_content();
    r.headers_mut()
        .insert(header::SET_COOKIE, expired_cookie(SESSION_COOKIE));
    Ok(r)
}

/// `GET /api/v1/sessions`: the caller's own sessions.
#[utoipa::path(get, path = "/api/v1/sessions", tag = "account",
    responses((status = 200, description = "The caller's sessions.", body = Vec<crate::accounts::SessionView>)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Reply {
    let list = blocking_with(&ctx.sessions, move |s| s.list(&caller, now_ms())).await?;
    Ok(json(StatusCode::OK, &list))
}

/// `DELETE /api/v1/sessions/{id}`: ends one of the caller's sessions.
#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "account",
    params(("id" = String, Path, description = "The session's id.")),
    responses((status = 204, description = "Ended.")))]
pub async fn revoke(ctx: &AppContext, actor: Actor, id: String) -> Reply {
    let found = blocking_with(&ctx.sessions, move |s| {
        s.revoke(&actor.caller, &id, actor.source)
    })
    .await?;
    if !found {
        return Err(ApiError::NotFound);
    }
    Ok(no_content())
}
