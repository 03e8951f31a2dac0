//! `/api/v1/server-certificates` (GET: list, POST: issue) and
//! `/api/v1/server-certificates/{id}` (DELETE: revoke): members' client
//! certificates for their servers' engines. The key is in the answer to
//! the POST and nowhere else, ever; the answer also carries the `ca.pem`
//! and the `docker context create` command for it.

use std::net::SocketAddr;

use http::StatusCode;
use serde::Serialize;

use crate::accounts::Caller;
use crate::accounts::certs::CertRecord;
use crate::clock::now_ms;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::response::{Response, json};
use crate::servers::access::certs::CertsService;

#[derive(Serialize, utoipa::ToSchema)]
pub struct CertificateList {
    certificates: Vec<CertRecord>,
}

fn service(ctx: &AppContext) -> Result<std::sync::Arc<CertsService>, ApiError> {
    ctx.server_certs
        .clone()
        .ok_or_else(|| ApiError::Unavailable {
            message: "the servers' certificate authority is unusable; see the log".into(),
        })
}

#[utoipa::path(get, path = "/api/v1/server-certificates", tag = "servers",
    responses((status = 200, description = "The caller's certificates.", body = CertificateList)))]
pub async fn list(ctx: &AppContext, caller: Caller) -> Result<Response, ApiError> {
    let certs = service(ctx)?;
    let list = blocking(move || certs.list(&caller)).await?;
    Ok(json(
        StatusCode::OK,
        &CertificateList { certificates: list },
    ))
}

#[utoipa::path(post, path = "/api/v1/server-certificates", tag = "servers",
    responses((status = 201, description = "Issued; the key is shown this once.", body = crate::servers::access::certs::NewCertificate)))]
pub async fn issue(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
) -> Result<Response, ApiError> {
    let certs = service(ctx)?;
    let new = blocking(move || certs.issue(&caller, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::CREATED, &new))
}

#[utoipa::path(delete, path = "/api/v1/server-certificates/{id}", tag = "servers",
    params(("id" = String, Path, description = "The certificate's id.")),
    responses((status = 200, description = "Revoked.", body = CertRecord)))]
pub async fn revoke(
    ctx: &AppContext,
    peer: SocketAddr,
    caller: Caller,
    id: String,
) -> Result<Response, ApiError> {
    let certs = service(ctx)?;
    let id = id.to_string();
    let revoked = blocking(move || certs.revoke(&caller, &id, peer.ip(), now_ms())).await?;
    Ok(json(StatusCode::OK, &revoked))
}
