//! `/api/v1/server-certificates` (GET: list, POST: issue) and
//! `/api/v1/server-certificates/{id}` (DELETE: revoke): members' client
//! certificates for their servers' engines. The key is in the answer to
//! the POST and nowhere else, ever; the answer also carries the `ca.pem`
//! and the `docker context create` command for it.

use std::sync::Arc;

use http::StatusCode;
use serde::Serialize;

use super::{Actor, Reply};
use crate::accounts::Caller;
use crate::accounts::certs::CertRecord;
use crate::clock::now_ms;
use crate::http::blocking_with;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::servers::access::certs::CertsService;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateList {
    certificates: Vec<CertRecord>,
}

fn service(ctx: &AppContext) -> Result<&Arc<CertsService>, ApiError> {
    ctx.server_certs
        .as_ref()
        .ok_or_else(|| ApiError::Unavailable {
            message: "the servers' certificate authority is unusable; see the log".into(),
        })
}

#[utoipa::path(get, path = "/api/v1/server-certificates", tag = "servers",
    responses((status = 200, description = "The caller's certificates.", body = CertificateList)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Reply {
    let certificates = blocking_with(service(ctx)?, move |certs| certs.list(&caller)).await?;
    Ok(json(StatusCode::OK, &CertificateList { certificates }))
}

#[utoipa::path(post, path = "/api/v1/server-certificates", tag = "servers",
    responses((status = 201, description = "Issued; the key is shown this once.", body = crate::servers::access::certs::NewCertificate)))]
pub async fn issue(ctx: &AppContext, actor: Actor) -> Reply {
    let new = blocking_with(service(ctx)?, move |certs| {
        certs.issue(&actor.caller, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::CREATED, &new))
}

#[utoipa::path(delete, path = "/api/v1/server-certificates/{id}", tag = "servers",
    params(("id" = String, Path, description = "The certificate's id.")),
    responses((status = 200, description = "Revoked.", body = CertRecord)))]
pub async fn revoke(ctx: &AppContext, actor: Actor, id: String) -> Reply {
    let revoked = blocking_with(service(ctx)?, move |certs| {
        certs.revoke(&actor.caller, &id, actor.source, now_ms())
    })
    .await?;
    Ok(json(StatusCode::OK, &revoked))
}
