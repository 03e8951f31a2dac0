//! The route table: one row per endpoint — its method and path (with
//! typed parameters), the permission it needs, when it answers as far as
//! the first-boot setup goes, whether it may reduce someone's access,
//! and its handler. The router resolves and dispatches from it, and the
//! OpenAPI description is checked against it both ways (see
//! [`super::openapi`]). A new endpoint is one more row.

use http::Method;

use super::api;
use super::router::Access::{Open, Role};
use super::router::{BodyUse, Phase, Row};
use crate::auth::Action::{
    ManageAllServers, ManageOwnAccount, ManageOwnServers, ManageOwnTokens, ManageSettings,
    ManageUsers, ReadAudit, ReadStatus,
};

/// The event stream's path (served by `stream_h1` over HTTP/1.1).
pub const EVENTS: &str = "/api/v1/events";

/// `row!(METHOD "path", access, phase, reduces|keeps, |call| handler)`,
/// and `row!(METHOD "path", access, phase, reduces|keeps, streamed(MAX),
/// |call| handler)` for a handler given the body as it arrives.
macro_rules! row {
    ($method:ident $path:expr, $access:expr, $phase:ident, $effect:ident, |$c:tt| $body:expr) => {
        row!(@row $method $path, $access, $phase, $effect, BodyUse::Whole, |$c| $body)
    };
    ($method:ident $path:expr, $access:expr, $phase:ident, $effect:ident, streamed($max:expr), |$c:tt| $body:expr) => {
        row!(@row $method $path, $access, $phase, $effect, BodyUse::Streamed { max: $max }, |$c| $body)
    };
    (@row $method:ident $path:expr, $access:expr, $phase:ident, $effect:ident, $use:expr, |$c:tt| $body:expr) => {
        Row {
            method: Method::$method,
            path: $path,
            access: $access,
            phase: Phase::$phase,
            may_reduce_access: row!(@$effect),
            body: $use,
            handler: |$c| Box::pin(async move { $body }),
        }
    };
    (@reduces) => {
        true
    };
    (@keeps) => {
        false
    };
}

/// Every endpoint. Where paths overlap (`/api/v1/servers/{id}/logs` and
/// `/api/v1/servers/{id}/{verb}`), the first row to match names the path.
#[rustfmt::skip]
pub static TABLE: &[Row] = &[
    // Open to everyone, in setup mode too.
    row!(GET super::openapi::PATH, Open, Always, keeps, |_| Ok(super::openapi::serve())),
    row!(GET "/api/v1/health", Open, Always, keeps, |c| Ok(api::health::get(c.ctx))),
    row!(GET "/api/v1/box", Open, Always, keeps, |c| api::box_info::get(c.ctx, &c.req).await),
    row!(GET "/api/v1/timezones", Open, Always, keeps, |_| api::timezones::list().await),
    // The live status, as the caller (or a visitor) may see it.
    row!(GET "/api/v1/status", Open, Ready, keeps, |c| api::status::get(c.ctx, &c.req).await),
    row!(GET EVENTS, Open, Ready, keeps, |c| api::events::get(c.ctx, c.peer, &c.req).await),
    row!(GET "/api/v1/metrics/history", Open, Ready, keeps, |c| api::metrics::history(c.ctx, &c.req).await),
    // Scrapers use an API token; no public access.
    row!(GET "/metrics", Role(ReadStatus), Ready, keeps, |c| api::metrics::prometheus(c.ctx).await),
    // The first-boot setup (its own cookie; 410 after).
    row!(GET "/api/v1/setup", Open, Setup, keeps, |c| api::setup::state(c.ctx, &c.req).await),
    row!(POST "/api/v1/setup/claim", Open, Setup, keeps, |c| api::setup::claim(c.ctx, c.peer, &c.req).await),
    row!(POST "/api/v1/setup/admin", Open, Setup, keeps, |c| api::setup::admin(c.ctx, c.peer, &c.req).await),
    row!(POST "/api/v1/setup/host", Open, Setup, keeps, |c| api::setup::host(c.ctx, c.peer, &c.req).await),
    row!(POST "/api/v1/setup/domain", Open, Setup, keeps, |c| api::setup::domain(c.ctx, c.peer, &c.req).await),
    row!(POST "/api/v1/setup/finish", Open, Setup, keeps, |c| api::setup::finish(c.ctx, c.peer, &c.req).await),
    // The caller's own account.
    row!(POST "/api/v1/session", Open, Ready, keeps, |c| api::session::login(c.ctx, c.peer, &c.req).await),
    row!(GET "/api/v1/session", Open, Ready, keeps, |c| api::session::whoami(c.ctx, &c.req).await),
    row!(DELETE "/api/v1/session", Open, Ready, reduces, |c| api::session::logout(c.ctx, c.peer, &c.req).await),
    row!(POST "/api/v1/session/password", Role(ManageOwnAccount), Ready, reduces,
        |c| api::password::change(c.ctx, c.actor()?, c.body()?).await),
    row!(GET "/api/v1/sessions", Role(ManageOwnAccount), Ready, keeps,
        |c| api::session::list(c.ctx, c.caller()?).await),
    row!(DELETE "/api/v1/sessions/{id}", Role(ManageOwnAccount), Ready, reduces,
        |c| api::session::revoke(c.ctx, c.actor()?, c.param("id")?).await),
    row!(POST "/api/v1/totp", Role(ManageOwnAccount), Ready, keeps,
        |c| api::two_factor::begin(c.ctx, c.actor()?).await),
    row!(DELETE "/api/v1/totp", Role(ManageOwnAccount), Ready, keeps,
        |c| api::two_factor::disable(c.ctx, c.actor()?).await),
    row!(POST "/api/v1/totp/confirm", Role(ManageOwnAccount), Ready, keeps,
        |c| api::two_factor::confirm(c.ctx, c.actor()?, c.body()?).await),
    row!(GET "/api/v1/tokens", Role(ManageOwnTokens), Ready, keeps,
        |c| api::tokens::list(c.ctx, c.caller()?).await),
    row!(POST "/api/v1/tokens", Role(ManageOwnTokens), Ready, keeps,
        |c| api::tokens::create(c.ctx, c.actor()?, c.body()?).await),
    row!(DELETE "/api/v1/tokens/{id}", Role(ManageOwnTokens), Ready, reduces,
        |c| api::tokens::revoke(c.ctx, c.actor()?, c.param("id")?).await),
    // Users and the box's settings (admins).
    row!(GET "/api/v1/users", Role(ManageUsers), Ready, keeps, |c| api::users::list(c.ctx).await),
    row!(POST "/api/v1/users", Role(ManageUsers), Ready, keeps,
        |c| api::users::create(c.ctx, c.actor()?, c.body()?).await),
    row!(PATCH "/api/v1/users/{name}", Role(ManageUsers), Ready, reduces,
        |c| api::users::update(c.ctx, c.actor()?, c.param("name")?, c.body()?).await),
    row!(DELETE "/api/v1/users/{name}", Role(ManageUsers), Ready, reduces,
        |c| api::users::delete(c.ctx, c.actor()?, c.param("name")?).await),
    row!(GET "/api/v1/audit", Role(ReadAudit), Ready, keeps, |c| api::audit::list(c.ctx, &c.req).await),
    row!(GET "/api/v1/settings", Role(ManageSettings), Ready, keeps, |c| api::settings::get(c.ctx).await),
    row!(PATCH "/api/v1/settings", Role(ManageSettings), Ready, reduces,
        |c| api::settings::patch(c.ctx, c.actor()?, c.body()?).await),
    // The firewall decides who reaches the box, not who may see what
    // once there.
    row!(GET "/api/v1/firewall", Role(ManageSettings), Ready, keeps, |c| api::firewall::get(c.ctx).await),
    row!(PUT "/api/v1/firewall", Role(ManageSettings), Ready, keeps,
        |c| api::firewall::put(c.ctx, c.actor()?, c.body()?).await),
    row!(POST "/api/v1/firewall/confirm", Role(ManageSettings), Ready, keeps,
        |c| api::firewall::confirm(c.ctx, c.actor()?, &c.req).await),
    // Domains are served by Caddy; who sees which is checked per event,
    // by owner.
    row!(GET "/api/v1/domains", Role(ManageOwnServers), Ready, keeps,
        |c| api::domains::list(c.ctx, c.caller()?).await),
    row!(POST "/api/v1/domains", Role(ManageOwnServers), Ready, keeps,
        |c| api::domains::create(c.ctx, c.actor()?, c.body()?).await),
    row!(GET "/api/v1/domains/{name}", Role(ManageOwnServers), Ready, keeps,
        |c| api::domains::get(c.ctx, c.caller()?, c.param("name")?).await),
    row!(PUT "/api/v1/domains/{name}", Role(ManageOwnServers), Ready, keeps,
        |c| api::domains::replace(c.ctx, c.actor()?, c.param("name")?, c.body()?).await),
    row!(DELETE "/api/v1/domains/{name}", Role(ManageOwnServers), Ready, keeps,
        |c| api::domains::remove(c.ctx, c.actor()?, c.param("name")?).await),
    // Services run or stop; no one's access changes.
    row!(GET "/api/v1/services", Role(ReadStatus), Ready, keeps, |c| api::services::list(c.ctx).await),
    row!(POST "/api/v1/services/{unit}/{verb}", Role(ManageSettings), Ready, keeps,
        |c| api::services::act(c.ctx, c.actor()?, c.param("unit")?, c.param("verb")?).await),
    row!(GET "/api/v1/system/process", Role(ManageSettings), Ready, keeps, |_| api::process::get().await),
    // The box goes down: every stream ends with it anyway.
    row!(POST "/api/v1/system/reboot", Role(ManageSettings), Ready, keeps,
        |c| api::power::reboot(c.ctx, c.actor()?).await),
    row!(POST "/api/v1/system/power-off", Role(ManageSettings), Ready, keeps,
        |c| api::power::power_off(c.ctx, c.actor()?).await),
    // A member's servers are checked per request and per event.
    row!(GET "/api/v1/servers", Role(ManageOwnServers), Ready, keeps,
        |c| api::servers::list(c.ctx, c.caller()?).await),
    row!(POST "/api/v1/servers", Role(ManageOwnServers), Ready, keeps,
        |c| api::servers::create(c.ctx, c.actor()?, c.body()?).await),
    row!(GET "/api/v1/servers/{id}/logs", Role(ManageOwnServers), Ready, keeps,
        |c| api::server_logs::get(c.ctx, c.actor()?, c.param("id")?, c.changes).await),
    row!(POST "/api/v1/servers/{id}/{verb}", Role(ManageOwnServers), Ready, keeps,
        |c| api::servers::power(c.ctx, c.actor()?, c.param("id")?, c.param("verb")?).await),
    row!(GET "/api/v1/servers/{id}", Role(ManageOwnServers), Ready, keeps,
        |c| api::servers::get(c.ctx, c.caller()?, c.param("id")?).await),
    row!(DELETE "/api/v1/servers/{id}", Role(ManageOwnServers), Ready, keeps,
        |c| api::servers::delete(c.ctx, c.actor()?, &c.req, c.param("id")?).await),
    row!(GET "/api/v1/server-certificates", Role(ManageOwnServers), Ready, keeps,
        |c| api::server_certs::list(c.ctx, c.caller()?).await),
    row!(POST "/api/v1/server-certificates", Role(ManageOwnServers), Ready, keeps,
        |c| api::server_certs::issue(c.ctx, c.actor()?).await),
    row!(DELETE "/api/v1/server-certificates/{id}", Role(ManageOwnServers), Ready, keeps,
        |c| api::server_certs::revoke(c.ctx, c.actor()?, c.param("id")?).await),
    row!(GET "/api/v1/quotas/{user}", Role(ManageAllServers), Ready, keeps,
        |c| api::servers::get_quota(c.ctx, c.param("user")?).await),
    row!(PUT "/api/v1/quotas/{user}", Role(ManageAllServers), Ready, keeps,
        |c| api::servers::put_quota(c.ctx, c.actor()?, c.param("user")?, c.body()?).await),
];
