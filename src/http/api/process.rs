//! `GET /api/v1/system/process` (admins): the privileges hearth's process
//! holds, as the kernel reports them in `/proc/self/status` (user, group,
//! the five capability sets, no_new_privs, seccomp): what the README's
//! table of privileges promises, checkable on a running box.

use http::StatusCode;

use super::Reply;
use crate::http::blocking;
use crate::http::error::ApiError;
use crate::http::response::json;
use crate::system::privileges::Held;

#[utoipa::path(get, path = "/api/v1/system/process", tag = "system",
    responses((status = 200, description = "What hearth's process holds.", body = crate::system::privileges::Held)))]
pub async fn get() -> Reply {
    let held = blocking(|| {
        Held::read().map_err(|e| ApiError::Internal(format!("reading /proc/self/status: {e}")))
    })
    .await?;
    Ok(json(StatusCode::OK, &held))
}
