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
        code: "unauthorized",
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
        None => Err(ApiError::Unauthorized {
            code: "unauthorized",
            message: "sign in first".into(),
        }),
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
