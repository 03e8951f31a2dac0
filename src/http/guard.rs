//! Who is asking, and whether they may: the credential a request carries
//! (an API token, or the session cookie), the signed-in caller behind it,
//! and the permission matrix ([`crate::auth::allowed`]). 401 without a
//! session, 403 without the permission; state-changing requests also pass
//! the same-origin check. The handlers under `api/` ask here; nothing here
//! asks them.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, header};

use super::blocking;
use super::context::AppContext;
use super::error::ApiError;
use super::request::{cookie, same_origin};
use crate::accounts::{Caller, SessionUse, Sessions, Tokens};
use crate::auth::{Action, Role, Secret, allowed};
use crate::clock::now_ms;
use crate::events::View;

pub const SESSION_COOKIE: &str = "__Host-hearth_session";

/// The caller behind the request: an API token (`Authorization: Bearer`)
/// or else the session cookie. A bearer token that is not valid is not
/// silently replaced by the cookie: the request is anonymous.
pub async fn caller(ctx: &AppContext, req: &Request<Bytes>) -> Result<Option<Caller>, ApiError> {
    match Credential::of(req) {
        Some(credential) => {
            credential
                .lookup(&ctx.sessions, &ctx.tokens, SessionUse::Touch)
                .await
        }
        None => Ok(None),
    }
}

/// What a request signs in with, kept by an event stream to check again
/// later that it still may follow (see [`super::api::events`]). The secrets
/// inside never print.
#[derive(Clone)]
pub enum Credential {
    Token(Secret),
    Session(Secret),
}

impl Credential {
    pub fn of(req: &Request<Bytes>) -> Option<Credential> {
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match bearer {
            Some(token) => Some(Credential::Token(Secret::from_client(token.trim()))),
            None => {
                cookie(req, SESSION_COOKIE).map(|t| Credential::Session(Secret::from_client(t)))
            }
        }
    }

    /// The caller it signs in as now, if any. `how` matters for sessions
    /// only: an API token has no idle timeout to keep from.
    pub async fn lookup(
        &self,
        sessions: &Arc<Sessions>,
        tokens: &Arc<Tokens>,
        how: SessionUse,
    ) -> Result<Option<Caller>, ApiError> {
        match self.clone() {
            Credential::Token(token) => {
                let tokens = tokens.clone();
                blocking(move || tokens.authenticate(token.expose(), now_ms())).await
            }
            Credential::Session(token) => {
                let sessions = sessions.clone();
                blocking(move || sessions.lookup(token.expose(), now_ms(), how)).await
            }
        }
    }
}

pub async fn require(
    ctx: &AppContext,
    req: &Request<Bytes>,
    action: Action,
) -> Result<Caller, ApiError> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        same_origin(req, || ctx.own_hosts())?;
    }
    let caller = caller(ctx, req)
        .await?
        .ok_or_else(ApiError::sign_in_first)?;
    if allowed(caller.role, action) {
        Ok(caller)
    } else {
        Err(ApiError::Forbidden {
            code: "forbidden",
            message: "your role does not allow this".into(),
        })
    }
}

/// How a request may see the live status: by the caller's role, or as a
/// visitor when the owner made the status public; otherwise 401.
pub async fn status_view(ctx: &AppContext, req: &Request<Bytes>) -> Result<View, ApiError> {
    view_for(
        caller(ctx, req).await?.as_ref(),
        ctx.settings.public_status(),
    )
}

/// The view `caller` (or a visitor, for `None`) gets of the live status
/// while the status is public or not.
pub fn view_for(caller: Option<&Caller>, public_status: bool) -> Result<View, ApiError> {
    match caller {
        Some(c) if allowed(c.role, Action::ReadStatus) => Ok(match c.role {
            Role::Admin => View::Admin,
            Role::Member => View::Member,
            Role::Viewer => View::Viewer,
        }),
        Some(_) => Err(ApiError::Forbidden {
            code: "forbidden",
            message: "your role does not allow this".into(),
        }),
        None if public_status => Ok(View::Public),
        None => Err(ApiError::sign_in_first()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Secret;

    fn caller(role: Role) -> Caller {
        Caller {
            username: "ann".into(),
            role,
            session: Secret::from_client("t").hash(),
            created_ms: 0,
        }
    }

    #[test]
    fn each_role_gets_its_view_and_visitors_only_when_public() {
        for (role, view) in [
            (Role::Admin, View::Admin),
            (Role::Member, View::Member),
            (Role::Viewer, View::Viewer),
        ] {
            assert_eq!(view_for(Some(&caller(role)), false).unwrap(), view);
            assert_eq!(view_for(Some(&caller(role)), true).unwrap(), view);
        }
        assert_eq!(view_for(None, true).unwrap(), View::Public);
        assert!(matches!(
            view_for(None, false),
            Err(ApiError::Unauthorized { .. })
        ));
    }
}
