//! `GET /api/v1/box`: what the pages' header and status strip show about
//! the box. Open to everyone, in setup mode too, with more for those who
//! may see more:
//!
//! - everyone: `name` (the host name chosen in setup, else the OS's) and
//!   `setup_complete`;
//! - whoever may see the status (signed in, or a visitor while
//!   `public_status` is on): also `version`, `timezone` (`UTC` until one
//!   is chosen) and `domain` when one is set;
//! - signed-in users only: also `addresses` and `port`, where on the
//!   network the box answers, which a visitor from the internet has no
//!   need to learn.

use bytes::Bytes;
use http::{Request, StatusCode};
use serde::Serialize;

use super::Reply;
use crate::events::View;
use crate::host;
use crate::http::blocking;
use crate::http::context::AppContext;
use crate::http::error::ApiError;
use crate::http::guard::status_view;
use crate::http::response::json;
use crate::names::DomainName;

#[derive(Debug, Serialize, utoipa::ToSchema)]
struct BoxInfo {
    name: String,
    setup_complete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<DomainName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<String>>)]
    addresses: Option<Vec<std::net::IpAddr>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

/// The box's name, and more for those who may see more.
#[utoipa::path(get, path = "/api/v1/box", tag = "status", security((), ("bearer" = []), ("session" = [])),
    responses((status = 200, description = "What the caller may know of the box.", body = BoxInfo)))]
pub async fn get(ctx: &AppContext, req: &Request<Bytes>) -> Reply {
    let view = match status_view(ctx, req).await {
        Ok(view) => Some(view),
        // Signed out (or not allowed the status): the public part only.
        Err(ApiError::Unauthorized { .. } | ApiError::Forbidden { .. }) => None,
        Err(e) => return Err(e),
    };
    let signed_in = view.is_some_and(|v| v != View::Public);
    let settings = ctx.settings.clone();
    let (profile, addresses) = blocking(move || {
        let addresses = signed_in.then(host::addresses::of_this_machine);
        settings.profile().map(|p| (p, addresses))
    })
    .await?;
    let status = view.is_some();
    let reply = BoxInfo {
        name: profile
            .hostname
            .as_ref()
            .map(|h| h.to_string())
            .or_else(host::os_hostname)
            .unwrap_or_else(|| "hearth".into()),
        setup_complete: ctx.setup.is_complete(),
        version: status.then_some(env!("CARGO_PKG_VERSION")),
        timezone: status.then(|| profile.timezone_or_utc().to_string()),
        domain: profile.domain.filter(|_| status),
        addresses,
        port: signed_in.then_some(ctx.local_addr.port()),
    };
    Ok(json(StatusCode::OK, &reply))
}
