//! Who may call a handler: the signed-in caller and the permission matrix
//! ([`crate::auth::allowed`]). 401 without a session, 403 without the
//! permission; state-changing requests also pass the same-origin check.

use bytes::Bytes;
use http::{Method, Request};

use super::api::session::caller;
use super::context::AppContext;
use super::error::ApiError;
use super::request::same_origin;
use crate::accounts::Caller;
use crate::auth::{Action, Role, allowed};
use crate::events::View;

pub async fn require(
    ctx: &AppContext,
    req: &Request<Bytes>,
    action: Action,
) -> Result<Caller, ApiError> {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        same_origin(req)?;
    }
    let caller = caller(ctx, req).await?.ok_or(ApiError::Unauthorized {
        message: "sign in first".into(),
    })?;
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
    match caller(ctx, req).await? {
        Some(c) if allowed(c.role, Action::ReadStatus) => Ok(match c.role {
            Role::Admin => View::Admin,
            Role::Member => View::Member,
            Role::Viewer => View::Viewer,
        }),
        Some(_) => Err(ApiError::Forbidden {
            code: "forbidden",
            message: "your role does not allow this".into(),
        }),
        None if ctx.settings.public_status() => Ok(View::Public),
        None => Err(ApiError::Unauthorized {
            message: "sign in first".into(),
        }),
    }
}
