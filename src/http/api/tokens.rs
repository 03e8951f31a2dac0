//! `/api/v1/tokens`: a user's own API tokens. `POST {"name","expires_at"?}`
//! (Unix seconds) answers `{"id","token",...}` with the token shown this
//! once; `GET` lists them (never the token); `DELETE /api/v1/tokens/{id}`
//! revokes one.

use http::StatusCode;
use serde::{Deserialize, Serialize};

use super::{Actor, Reply};
use crate::accounts::Caller;
use crate::accounts::TokenRecord;
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::response::{json, no_content};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Create {
    name: String,
    /// Unix seconds.
    expires_at: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    #[serde(flatten)]
    record: TokenRecord,
    token: String,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "account", request_body = Create,
    responses((status = 201, description = "Created; the token is shown this once.", body = Created)))]
pub async fn create(ctx: &AppContext, actor: Actor, body: Create) -> Reply {
    let (record, token) = blocking_with(&ctx.tokens, move |tokens| {
        let expires_ms = body.expires_at.map(|s| s.saturating_mul(1000));
        tokens.create(
            &actor.caller,
            &body.name,
            expires_ms,
            actor.source,
            now_ms(),
        )
    })
    .await?;
    Ok(json(StatusCode::CREATED, &Created { record, token }))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "account",
    responses((status = 200, description = "The caller's tokens (never the secret).", body = Vec<crate::accounts::TokenRecord>)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Reply {
    let list = blocking_with(&ctx.tokens, move |tokens| tokens.list(&caller)).await?;
    Ok(json(StatusCode::OK, &list))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "account",
    params(("id" = String, Path, description = "The token's id.")),
    responses((status = 204, description = "Revoked.")))]
pub async fn revoke(ctx: &AppContext, actor: Actor, id: String) -> Reply {
    blocking_with(&ctx.tokens, move |t| {
        t.revoke(&actor.caller, &id, actor.source)
    })
    .await?;
    Ok(no_content())
}
