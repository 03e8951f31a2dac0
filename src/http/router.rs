//! The router: one `match` from path to a [`Route`] and the methods it
//! takes, then one dispatch from a route to its handler. A known path with
//! the wrong method is a 405 that lists the allowed ones.
//!
//! Until the first-boot setup is finished, only the health check, the
//! pages, the box's name (`/api/v1/box`), the time zones and the setup API
//! answer; everything else is 403 `setup_required`. After it, the setup
//! API is 410 Gone, and so is the setup page, except that a browser
//! loading it is sent to `/`.
//!
//! Browsers get pages, not JSON: an unknown path outside `/api/` asked
//! for with `Accept: text/html` is answered with the HTML 404 page.
//!
//! A route carries what its path names (`/api/v1/users/{name}` gives
//! [`Route::UserUpdate`] its `name`), so the path is read here once and a
//! handler takes the value, never the path.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};

use super::api;
use super::context::AppContext;
use super::error::ApiError;
use super::pages::{self, Asset};
use super::request::accepts_html;
use super::response::{Response, see_other};

/// Everything the server can be asked to do.
#[derive(Clone)]
pub enum Route {
    Page(&'static Asset),
    SetupPage(&'static Asset),
    /// This API's OpenAPI description.
    OpenApi,
    Health,
    BoxInfo,
    TimeZones,
    Status,
    Events,
    MetricsHistory,
    Prometheus,
    SetupState,
    SetupClaim,
    SetupAdmin,
    SetupHost,
    SetupDomain,
    SetupFinish,
    SessionLogin,
    SessionWhoami,
    SessionLogout,
    PasswordChange,
    UsersList,
    UsersCreate,
    /// The item routes (a user, a token, a session) carry the rest of
    /// their path as sent: not decoded, not checked (an unknown item is
    /// the handler's 404).
    UserUpdate {
        name: String,
    },
    UserDelete {
        name: String,
    },
    TokensList,
    TokensCreate,
    TokenRevoke {
        id: String,
    },
    Audit,
    SettingsGet,
    SettingsPatch,
    SessionsList,
    SessionRevoke {
        id: String,
    },
    TotpBegin,
    TotpConfirm,
    TotpDisable,
    FirewallGet,
    FirewallPut,
    FirewallConfirm,
    DomainsList,
    DomainsCreate,
    DomainGet {
        name: String,
    },
    DomainReplace {
        name: String,
    },
    DomainDelete {
        name: String,
    },
    ServicesList,
    ProcessPrivileges,
    ServersList,
    ServersCreate,
    ServerGet {
        id: String,
    },
    ServerDelete {
        id: String,
    },
    ServerPower {
        id: String,
        verb: String,
    },
    ServerLogs {
        id: String,
    },
    ServerCertsList,
    ServerCertIssue,
    ServerCertRevoke {
        id: String,
    },
    QuotaGet {
        user: String,
    },
    QuotaPut {
        user: String,
    },
    Reboot,
    PowerOff,
    /// `/api/v1/services/{unit}/{verb}`, as sent.
    ServiceAction {
        unit: String,
        verb: String,
    },
}

/// The methods a path takes, and its `Allow` header.
struct Methods(&'static [Method], &'static str);

const READ: Methods = Methods(&[Method::GET, Method::HEAD], "GET, HEAD");
const WRITE: Methods = Methods(&[Method::POST], "POST");
/// A collection: listed with GET, added to with POST.
const COLLECTION: Methods = Methods(
    &[Method::GET, Method::HEAD, Method::POST],
    "GET, HEAD, POST",
);
/// One item of a collection: changed with PATCH, removed with DELETE.
const ITEM: Methods = Methods(&[Method::PATCH, Method::DELETE], "PATCH, DELETE");
/// The session: read with GET, opened with POST, ended with DELETE.
const SESSION: Methods = Methods(
    &[Method::GET, Method::HEAD, Method::POST, Method::DELETE],
    "GET, HEAD, POST, DELETE",
);

/// Settings: read with GET, changed with PATCH.
const SETTINGS: Methods = Methods(
    &[Method::GET, Method::HEAD, Method::PATCH],
    "GET, HEAD, PATCH",
);
/// Two-factor login: started with POST, turned off with DELETE.
const TOTP: Methods = Methods(&[Method::POST, Method::DELETE], "POST, DELETE");
/// The firewall policy: read with GET, replaced with PUT.
const REPLACEABLE: Methods = Methods(&[Method::GET, Method::HEAD, Method::PUT], "GET, HEAD, PUT");
/// A domain: read with GET, replaced with PUT, removed with DELETE.
/// An item read with GET and removed with DELETE.
const READABLE_ITEM: Methods = Methods(
    &[Method::GET, Method::HEAD, Method::DELETE],
    "GET, HEAD, DELETE",
);
/// A setting of one user: read with GET, set with PUT.
const QUOTA: Methods = Methods(&[Method::GET, Method::HEAD, Method::PUT], "GET, HEAD, PUT");
const REPLACEABLE_ITEM: Methods = Methods(
    &[Method::GET, Method::HEAD, Method::PUT, Method::DELETE],
    "GET, HEAD, PUT, DELETE",
);
/// An item that can only be removed.
const REMOVABLE: Methods = Methods(&[Method::DELETE], "DELETE");

/// Parses a request line into a route.
pub fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let (route, methods) = match path {
        "/api/v1/health" => (Route::Health, READ),
        super::openapi::PATH => (Route::OpenApi, READ),
        "/api/v1/box" => (Route::BoxInfo, READ),
        "/api/v1/timezones" => (Route::TimeZones, READ),
        "/api/v1/status" => (Route::Status, READ),
        "/api/v1/events" => (Route::Events, READ),
        "/api/v1/metrics/history" => (Route::MetricsHistory, READ),
        "/metrics" => (Route::Prometheus, READ),
        "/api/v1/setup" => (Route::SetupState, READ),
        "/api/v1/setup/claim" => (Route::SetupClaim, WRITE),
        "/api/v1/setup/admin" => (Route::SetupAdmin, WRITE),
        "/api/v1/setup/host" => (Route::SetupHost, WRITE),
        "/api/v1/setup/domain" => (Route::SetupDomain, WRITE),
        "/api/v1/setup/finish" => (Route::SetupFinish, WRITE),
        "/api/v1/users" => (
            if *method == Method::POST {
                Route::UsersCreate
            } else {
                Route::UsersList
            },
            COLLECTION,
        ),
        "/api/v1/session" => (
            match *method {
                Method::POST => Route::SessionLogin,
                Method::DELETE => Route::SessionLogout,
                _ => Route::SessionWhoami,
            },
            SESSION,
        ),
        "/api/v1/session/password" => (Route::PasswordChange, WRITE),
        "/api/v1/audit" => (Route::Audit, READ),
        "/api/v1/sessions" => (Route::SessionsList, READ),
        "/api/v1/totp" => (
            if *method == Method::DELETE {
                Route::TotpDisable
            } else {
                Route::TotpBegin
            },
            TOTP,
        ),
        "/api/v1/totp/confirm" => (Route::TotpConfirm, WRITE),
        "/api/v1/settings" => (
            if *method == Method::PATCH {
                Route::SettingsPatch
            } else {
                Route::SettingsGet
            },
            SETTINGS,
        ),
        "/api/v1/firewall" => (
            if *method == Method::PUT {
                Route::FirewallPut
            } else {
                Route::FirewallGet
            },
            REPLACEABLE,
        ),
        "/api/v1/firewall/confirm" => (Route::FirewallConfirm, WRITE),
        "/api/v1/domains" => (
            if *method == Method::POST {
                Route::DomainsCreate
            } else {
                Route::DomainsList
            },
            COLLECTION,
        ),
        "/api/v1/services" => (Route::ServicesList, READ),
        "/api/v1/servers" => (
            if *method == Method::POST {
                Route::ServersCreate
            } else {
                Route::ServersList
            },
            COLLECTION,
        ),
        "/api/v1/server-certificates" => (
            if *method == Method::POST {
                Route::ServerCertIssue
            } else {
                Route::ServerCertsList
            },
            COLLECTION,
        ),
        "/api/v1/system/reboot" => (Route::Reboot, WRITE),
        "/api/v1/system/process" => (Route::ProcessPrivileges, READ),
        "/api/v1/system/power-off" => (Route::PowerOff, WRITE),
        "/api/v1/tokens" => (
            if *method == Method::POST {
                Route::TokensCreate
            } else {
                Route::TokensList
            },
            COLLECTION,
        ),
        "/setup" => (
            Route::SetupPage(pages::find("/setup").ok_or(ApiError::NotFound)?),
            READ,
        ),
        other => match item_route(method, other) {
            Some(item) => item,
            None => (
                Route::Page(pages::find(other).ok_or(ApiError::NotFound)?),
                READ,
            ),
        },
    };
    if methods.0.contains(method) {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed { allow: methods.1 })
    }
}

/// The routes of one item of a collection, `/api/v1/{collection}/{item}`.
/// The item is everything after the collection's slash, and must not be
/// empty (`/api/v1/users/` names nothing).
fn item_route(method: &Method, path: &str) -> Option<(Route, Methods)> {
    let (collection, item) = path.strip_prefix("/api/v1/")?.split_once('/')?;
    if item.is_empty() {
        return None;
    }
    let item = item.to_string();
    match collection {
        "users" if *method == Method::DELETE => Some((Route::UserDelete { name: item }, ITEM)),
        "users" => Some((Route::UserUpdate { name: item }, ITEM)),
        "tokens" => Some((Route::TokenRevoke { id: item }, REMOVABLE)),
        "server-certificates" => Some((Route::ServerCertRevoke { id: item }, REMOVABLE)),
        "sessions" => Some((Route::SessionRevoke { id: item }, REMOVABLE)),
        "services" => {
            let (unit, verb) = item.split_once('/')?;
            Some((
                Route::ServiceAction {
                    unit: unit.to_string(),
                    verb: verb.to_string(),
                },
                WRITE,
            ))
        }
        "servers" => match item.split_once('/') {
            Some((id, "logs")) => Some((Route::ServerLogs { id: id.to_string() }, READ)),
            Some((id, verb)) => Some((
                Route::ServerPower {
                    id: id.to_string(),
                    verb: verb.to_string(),
                },
                WRITE,
            )),
            None if *method == Method::DELETE => {
                Some((Route::ServerDelete { id: item }, READABLE_ITEM))
            }
            None => Some((Route::ServerGet { id: item }, READABLE_ITEM)),
        },
        "quotas" if *method == Method::PUT => Some((Route::QuotaPut { user: item }, QUOTA)),
        "quotas" => Some((Route::QuotaGet { user: item }, QUOTA)),
        "domains" => Some((
            match *method {
                Method::PUT => Route::DomainReplace { name: item },
                Method::DELETE => Route::DomainDelete { name: item },
                _ => Route::DomainGet { name: item },
            },
            REPLACEABLE_ITEM,
        )),
        _ => None,
    }
}

impl Route {
    fn is_setup(&self) -> bool {
        matches!(
            self,
            Route::SetupPage(_)
                | Route::SetupState
                | Route::SetupClaim
                | Route::SetupAdmin
                | Route::SetupHost
                | Route::SetupDomain
                | Route::SetupFinish
        )
    }

    /// What answers while the box is in setup mode.
    fn open_during_setup(&self) -> bool {
        self.is_setup()
            || matches!(
                self,
                Route::Health | Route::OpenApi | Route::BoxInfo | Route::TimeZones | Route::Page(_)
            )
    }

    /// Whether succeeding can take someone's access to the live status
    /// away, so that open event streams must check theirs again. Spelled
    /// out for every route, so that a new one has to decide. Only these:
    /// every check costs a store read per open stream, and a signal on
    /// every sign-in or new token would let anyone keep all of them busy.
    pub fn may_reduce_access(&self) -> bool {
        match self {
            Route::SessionLogout
            | Route::PasswordChange
            | Route::SessionRevoke { .. }
            | Route::TokenRevoke { .. }
            | Route::UserUpdate { .. }
            | Route::UserDelete { .. }
            | Route::SettingsPatch => true,
            // The firewall decides who reaches the box, not who may see
            // what once there.
            Route::FirewallGet | Route::FirewallPut | Route::FirewallConfirm => false,
            // Domains are served by Caddy; who sees which is checked per
            // event, by owner.
            Route::DomainsList
            | Route::DomainsCreate
            | Route::DomainGet { .. }
            | Route::DomainReplace { .. }
            | Route::DomainDelete { .. } => false,
            // Services run or stop; no one's access changes.
            Route::ServicesList | Route::ServiceAction { .. } | Route::ProcessPrivileges => false,
            // A member's servers are checked per request and per event.
            Route::ServersList
            | Route::ServersCreate
            | Route::ServerGet { .. }
            | Route::ServerDelete { .. }
            | Route::ServerPower { .. }
            | Route::ServerLogs { .. }
            | Route::ServerCertsList
            | Route::ServerCertIssue
            | Route::ServerCertRevoke { .. }
            | Route::QuotaGet { .. }
            | Route::QuotaPut { .. } => false,
            // The box goes down: every stream ends with it anyway.
            Route::Reboot | Route::PowerOff => false,
            // Streams are refused until setup is complete.
            Route::SetupState
            | Route::SetupClaim
            | Route::SetupAdmin
            | Route::SetupHost
            | Route::SetupDomain
            | Route::SetupFinish
            | Route::SetupPage(_) => false,
            // Add access, or change nothing that decides it.
            Route::Page(_)
            | Route::OpenApi
            | Route::Health
            | Route::BoxInfo
            | Route::TimeZones
            | Route::Status
            | Route::Events
            | Route::MetricsHistory
            | Route::Prometheus
            | Route::SessionLogin
            | Route::SessionWhoami
            | Route::UsersList
            | Route::UsersCreate
            | Route::TokensList
            | Route::TokensCreate
            | Route::Audit
            | Route::SettingsGet
            | Route::SessionsList
            | Route::TotpBegin
            | Route::TotpConfirm
            | Route::TotpDisable => false,
        }
    }
}

/// The answer to a request that resolved to no route: a browser loading
/// a page gets the HTML 404 page; API paths and every other client get
/// the JSON error.
pub fn refused<B>(req: &Request<B>, error: ApiError) -> Response {
    let page_wanted = matches!(error, ApiError::NotFound)
        && !req.uri().path().starts_with("/api/")
        && accepts_html(req);
    if page_wanted {
        pages::not_found()
    } else {
        error.into_response()
    }
}

/// Runs the handler of an already resolved route.
pub async fn dispatch(
    ctx: &AppContext,
    route: Route,
    peer: SocketAddr,
    req: Request<Bytes>,
) -> Response {
    let complete = ctx.setup.is_complete();
    if !complete && !route.open_during_setup() {
        return ApiError::Forbidden {
            code: "setup_required",
            message: "this box is not set up yet; finish the setup at /setup".into(),
        }
        .into_response();
    }
    if complete && route.is_setup() {
        // A bookmark of the wizard, or the wizard's own last step: the
        // person wants the box, not an error.
        if matches!(route, Route::SetupPage(_)) && accepts_html(&req) {
            return see_other("/");
        }
        return ApiError::Gone {
            message: "setup is complete; sign in instead".into(),
        }
        .into_response();
    }
    let recheck_access = route.may_reduce_access();
    let result = match route {
        Route::Page(asset) | Route::SetupPage(asset) => Ok(pages::serve(asset)),
        Route::OpenApi => Ok(super::openapi::serve()),
        Route::Health => Ok(api::health::get(ctx)),
        Route::BoxInfo => api::box_info::get(ctx, &req).await,
        Route::TimeZones => api::timezones::list().await,
        Route::Status => api::status::get(ctx, &req).await,
        Route::Events => api::events::get(ctx, peer, &req).await,
        Route::MetricsHistory => api::metrics::history(ctx, &req).await,
        Route::Prometheus => api::metrics::prometheus(ctx, &req).await,
        Route::SettingsGet => api::settings::get(ctx, &req).await,
        Route::SettingsPatch => api::settings::patch(ctx, peer, &req).await,
        Route::FirewallGet => api::firewall::get(ctx, &req).await,
        Route::FirewallPut => api::firewall::put(ctx, peer, &req).await,
        Route::FirewallConfirm => api::firewall::confirm(ctx, peer, &req).await,
        Route::DomainsList => api::domains::list(ctx, &req).await,
        Route::DomainsCreate => api::domains::create(ctx, peer, &req).await,
        Route::DomainGet { name } => api::domains::get(ctx, &req, &name).await,
        Route::DomainReplace { name } => api::domains::replace(ctx, peer, &req, &name).await,
        Route::DomainDelete { name } => api::domains::remove(ctx, peer, &req, &name).await,
        Route::ServicesList => api::services::list(ctx, &req).await,
        Route::ProcessPrivileges => api::process::get(ctx, &req).await,
        Route::ServersList => api::servers::list(ctx, &req).await,
        Route::ServersCreate => api::servers::create(ctx, peer, &req).await,
        Route::ServerGet { id } => api::servers::get(ctx, &req, &id).await,
        Route::ServerDelete { id } => api::servers::delete(ctx, peer, &req, &id).await,
        Route::ServerPower { id, verb } => api::servers::power(ctx, peer, &req, &id, &verb).await,
        Route::ServerLogs { id } => api::server_logs::get(ctx, peer, &req, &id).await,
        Route::ServerCertsList => api::server_certs::list(ctx, &req).await,
        Route::ServerCertIssue => api::server_certs::issue(ctx, peer, &req).await,
        Route::ServerCertRevoke { id } => api::server_certs::revoke(ctx, peer, &req, &id).await,
        Route::QuotaGet { user } => api::servers::get_quota(ctx, &req, &user).await,
        Route::QuotaPut { user } => api::servers::put_quota(ctx, peer, &req, &user).await,
        Route::Reboot => api::power::reboot(ctx, peer, &req).await,
        Route::PowerOff => api::power::power_off(ctx, peer, &req).await,
        Route::ServiceAction { unit, verb } => {
            api::services::act(ctx, peer, &req, &unit, &verb).await
        }
        Route::SessionsList => api::session::list(ctx, &req).await,
        Route::SessionRevoke { id } => api::session::revoke(ctx, peer, &req, id).await,
        Route::TotpBegin => api::two_factor::begin(ctx, peer, &req).await,
        Route::TotpConfirm => api::two_factor::confirm(ctx, peer, &req).await,
        Route::TotpDisable => api::two_factor::disable(ctx, peer, &req).await,
        Route::SetupState => api::setup::state(ctx, &req).await,
        Route::SetupClaim => api::setup::claim(ctx, peer, &req).await,
        Route::SetupAdmin => api::setup::admin(ctx, peer, &req).await,
        Route::SetupHost => api::setup::host(ctx, peer, &req).await,
        Route::SetupDomain => api::setup::domain(ctx, peer, &req).await,
        Route::SetupFinish => api::setup::finish(ctx, peer, &req).await,
        Route::SessionLogin => api::session::login(ctx, peer, &req).await,
        Route::SessionWhoami => api::session::whoami(ctx, &req).await,
        Route::SessionLogout => api::session::logout(ctx, peer, &req).await,
        Route::PasswordChange => api::password::change(ctx, peer, &req).await,
        Route::UsersList => api::users::list(ctx, &req).await,
        Route::UsersCreate => api::users::create(ctx, peer, &req).await,
        Route::UserUpdate { name } => api::users::update(ctx, peer, &req, name).await,
        Route::UserDelete { name } => api::users::delete(ctx, peer, &req, name).await,
        Route::TokensList => api::tokens::list(ctx, &req).await,
        Route::TokensCreate => api::tokens::create(ctx, peer, &req).await,
        Route::TokenRevoke { id } => api::tokens::revoke(ctx, peer, &req, id).await,
        Route::Audit => api::audit::list(ctx, &req).await,
    };
    let response = result.unwrap_or_else(ApiError::into_response);
    if recheck_access && response.status().is_success() {
        ctx.access.changed();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(r: Result<Route, ApiError>) -> String {
        match r {
            Ok(Route::Page(a)) | Ok(Route::SetupPage(a)) => format!("page {}", a.path),
            Ok(Route::Health) => "health".into(),
            Ok(Route::Events) => "events".into(),
            Ok(Route::Prometheus) => "prometheus".into(),
            Ok(Route::SetupClaim) => "claim".into(),
            Ok(_) => "other".into(),
            Err(e) => e.code().into(),
        }
    }

    #[test]
    fn resolves_known_routes_and_refuses_the_rest() {
        assert_eq!(name(resolve(&Method::GET, "/api/v1/health")), "health");
        assert_eq!(name(resolve(&Method::HEAD, "/api/v1/health")), "health");
        assert_eq!(name(resolve(&Method::GET, "/api/v1/events")), "events");
        assert_eq!(name(resolve(&Method::GET, "/metrics")), "prometheus");
        assert_eq!(name(resolve(&Method::GET, "/")), "page /");
        assert_eq!(name(resolve(&Method::GET, "/setup")), "page /setup");
        assert_eq!(
            name(resolve(&Method::GET, "/assets/status.js")),
            "page /assets/status.js"
        );
        assert_eq!(name(resolve(&Method::POST, "/api/v1/setup/claim")), "claim");
        assert_eq!(
            name(resolve(&Method::GET, "/api/v1/setup/claim")),
            "method_not_allowed"
        );
        assert_eq!(
            name(resolve(&Method::POST, "/api/v1/health")),
            "method_not_allowed"
        );
        assert_eq!(name(resolve(&Method::GET, "/api/v1/nope")), "not_found");
        assert_eq!(name(resolve(&Method::GET, "/api/v1/health/")), "not_found");
        assert_eq!(name(resolve(&Method::DELETE, "/nope")), "not_found");
        assert_eq!(name(resolve(&Method::GET, "/api/v1/box")), "other");
        assert_eq!(name(resolve(&Method::GET, "/api/v1/timezones")), "other");
        assert_eq!(
            name(resolve(&Method::POST, "/api/v1/timezones")),
            "method_not_allowed"
        );
    }

    /// What an item route carries, as `"route item"`.
    fn item(method: Method, path: &str) -> String {
        match resolve(&method, path) {
            Ok(Route::UserUpdate { name }) => format!("user_update {name}"),
            Ok(Route::UserDelete { name }) => format!("user_delete {name}"),
            Ok(Route::TokenRevoke { id }) => format!("token_revoke {id}"),
            Ok(Route::SessionRevoke { id }) => format!("session_revoke {id}"),
            other => name(other),
        }
    }

    #[test]
    fn item_routes_carry_the_rest_of_the_path_as_sent() {
        let cases = [
            (Method::PATCH, "/api/v1/users/ann", "user_update ann"),
            (Method::DELETE, "/api/v1/users/ann", "user_delete ann"),
            (Method::DELETE, "/api/v1/tokens/0a1b", "token_revoke 0a1b"),
            (Method::DELETE, "/api/v1/sessions/0f", "session_revoke 0f"),
            // Not decoded, and the rest is the rest: the handler's lookup
            // finds no such item, as it always has.
            (Method::DELETE, "/api/v1/users/a%20b", "user_delete a%20b"),
            (Method::DELETE, "/api/v1/tokens/a/b", "token_revoke a/b"),
            // An empty item names nothing.
            (Method::DELETE, "/api/v1/users/", "not_found"),
            (Method::DELETE, "/api/v1/tokens/", "not_found"),
            (Method::DELETE, "/api/v1/sessions/", "not_found"),
            // Other collections have no items; the fixed paths stay theirs.
            (Method::DELETE, "/api/v1/audit/1", "not_found"),
            (Method::DELETE, "/api/v1/session/x", "not_found"),
            (Method::POST, "/api/v1/session/password", "other"),
            (Method::POST, "/api/v1/totp/confirm", "other"),
            (Method::GET, "/api/v1/users/ann", "method_not_allowed"),
            (Method::PATCH, "/api/v1/tokens/x", "method_not_allowed"),
        ];
        for (method, path, expected) in cases {
            assert_eq!(item(method.clone(), path), expected, "{method} {path}");
        }
    }

    #[test]
    fn item_routes_that_take_access_away_say_so() {
        for path in [
            "/api/v1/users/ann",
            "/api/v1/tokens/x",
            "/api/v1/sessions/x",
        ] {
            let route = resolve(&Method::DELETE, path).ok().unwrap();
            assert!(route.may_reduce_access(), "{path}");
            assert!(!route.open_during_setup(), "{path}");
        }
    }

    #[test]
    fn the_box_and_time_zones_answer_in_setup_mode_and_change_no_access() {
        for route in [Route::BoxInfo, Route::TimeZones] {
            assert!(route.open_during_setup());
            assert!(!route.may_reduce_access());
        }
        assert!(!Route::Status.open_during_setup());
    }

    async fn refusal(path: &str, accept: &str) -> (u16, String, String) {
        use http_body_util::BodyExt;
        let req = Request::builder()
            .uri(path)
            .header("accept", accept)
            .body(())
            .unwrap();
        let r = refused(&req, resolve(&Method::GET, path).err().unwrap());
        let status = r.status().as_u16();
        let kind = r.headers()["content-type"].to_str().unwrap().to_string();
        let body = r.into_body().collect().await.unwrap().to_bytes();
        (status, kind, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn browsers_get_the_404_page_and_everyone_else_json() {
        let html = "text/html,application/xhtml+xml,*/*;q=0.8";
        let (status, kind, body) = refusal("/no-such-page", html).await;
        assert_eq!((status, kind.as_str()), (404, "text/html; charset=utf-8"));
        assert!(body.contains("<h1>Page not found</h1>"), "{body}");
        assert!(body.contains("href=\"/\""), "{body}");
        assert!(!body.contains("<script") && !body.contains("style="));
        let (status, kind, _) = refusal("/api/v1/nope", html).await;
        assert_eq!((status, kind.as_str()), (404, "application/json"));
        let (status, kind, _) = refusal("/no-such-page", "*/*").await;
        assert_eq!((status, kind.as_str()), (404, "application/json"));
        // Only a missing page gets the page: a wrong method stays JSON.
        let req = Request::builder()
            .uri("/api/v1/health")
            .header("accept", html)
            .body(())
            .unwrap();
        let e = resolve(&Method::DELETE, "/api/v1/health").err().unwrap();
        assert_eq!(refused(&req, e).status(), 405);
    }
}
