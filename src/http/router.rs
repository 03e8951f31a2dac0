//! The router: resolves a request line against the route table
//! ([`super::routes::TABLE`], one row per endpoint), then dispatches: the
//! setup gate, the permission the row names, the row's handler, and the
//! wake-up of the event streams when the row may reduce someone's
//! access. A known path with the wrong method is a 405 that lists the
//! methods its rows take (HEAD wherever GET is).
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
//! A row's path names its parameters (`/api/v1/users/{name}`); the path
//! is read here once, and a handler gets each parameter parsed into the
//! type it takes (see [`Param`]), never the path. The last parameter of
//! a path is the rest of it as sent (not decoded, not checked: an
//! unknown item is the handler's 404), and the part after the
//! collection's slash must not be empty (`/api/v1/users/` names nothing).

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Method, Request};
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use super::context::AppContext;
use super::error::ApiError;
use super::guard::require;
use super::pages::{self, Asset};
use super::request::{accepts_html, json_body};
use super::response::{Response, see_other};
use super::routes::TABLE;
use crate::accounts::Caller;
use crate::auth::Action;

/// One endpoint: what it answers, who may ask, when, and who answers.
pub struct Row {
    /// GET rows answer HEAD too.
    pub method: Method,
    /// The path, with its parameters in braces: `/api/v1/users/{name}`.
    pub path: &'static str,
    pub access: Access,
    pub phase: Phase,
    /// Whether succeeding can take someone's access to the live status
    /// away, so that open event streams must check theirs again. Every
    /// row decides; only few may: every check costs a store read per open
    /// stream, and a signal on every sign-in or new token would let
    /// anyone keep all of them busy.
    pub may_reduce_access: bool,
    /// Whether the handler is given the body as it arrives, or whole.
    pub body: BodyUse,
    pub handler: Handler,
}

/// How a row takes the request's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyUse {
    /// Read whole before the handler runs, within the server's limits
    /// (size and time: see [`crate::config::Limits`]).
    Whole,
    /// Handed to the handler as it arrives ([`Call::into_stream`]), at
    /// most `max` bytes declared: an upload to disk, never held in
    /// memory. The handler reads it within limits of its own.
    Streamed { max: u64 },
}

/// A request body as it arrives.
pub type BodyStream =
    http_body_util::combinators::UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A row's handler: parses what the request carries (through [`Call`]'s
/// typed parts), calls a service, encodes the answer.
pub type Handler = for<'a> fn(Call<'a>) -> BoxFuture<'a, Reply>;

/// What every handler answers: the response, or the error that becomes
/// one.
pub type Reply = Result<Response, ApiError>;

/// Who may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No role is checked before the handler: it answers anyone, or
    /// decides itself (the setup cookie, a view of the status, a session).
    Open,
    /// A signed-in caller whose role allows the action (401, 403
    /// otherwise; a state-changing request must also be same-origin).
    Role(Action),
}

/// When a row answers, as far as the first-boot setup goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Before and after the setup.
    Always,
    /// During the setup only: 410 Gone after it.
    Setup,
    /// After the setup only: 403 `setup_required` before it.
    Ready,
}

/// What a handler is given: the request, the caller its row's
/// [`Access::Role`] let in, and the path's parameters.
pub struct Call<'a> {
    pub ctx: &'a AppContext,
    pub peer: SocketAddr,
    pub req: Request<Bytes>,
    /// Wakes at a change of who may see what, subscribed before the
    /// caller was checked: a stream that follows it misses none.
    pub changes: watch::Receiver<()>,
    caller: Option<Caller>,
    params: Params,
    /// A [`BodyUse::Streamed`] row's body (`req`'s is then empty).
    stream: Option<BodyStream>,
}

impl Call<'_> {
    /// The caller the row's role let in.
    pub fn caller(&self) -> Result<Caller, ApiError> {
        self.caller
            .clone()
            .ok_or_else(|| ApiError::Internal("a route without a role asked for its caller".into()))
    }

    /// The caller the row's role let in, and the address they ask from.
    pub fn actor(&self) -> Result<Actor, ApiError> {
        Ok(Actor {
            caller: self.caller()?,
            source: self.peer.ip(),
        })
    }

    /// The path's parameter `name`, parsed.
    pub fn param<T: Param>(&self, name: &str) -> Result<T, ApiError> {
        match self.params.iter().find(|(n, _)| *n == name) {
            Some((_, raw)) => T::parse(raw),
            None => Err(ApiError::Internal(format!(
                "the route has no parameter {name}"
            ))),
        }
    }

    /// The JSON body, parsed (see [`json_body`]: a 415 or a 400 naming
    /// the field otherwise).
    pub fn body<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        json_body(&self.req)
    }

    /// A [`BodyUse::Streamed`] row's body, as it arrives.
    pub fn into_stream(self) -> Result<BodyStream, ApiError> {
        self.stream.ok_or_else(|| {
            ApiError::Internal("a route that reads its body whole streamed it".into())
        })
    }
}

/// Who asks for a change, and from where: what the change's audit record
/// names. Only a row with a role has one.
pub struct Actor {
    pub caller: Caller,
    pub source: IpAddr,
}

/// A path parameter's type: what an invalid one is refused with.
pub trait Param: Sized {
    fn parse(raw: &str) -> Result<Self, ApiError>;
}

/// As sent: the handler's lookup finds no such item (404).
impl Param for String {
    fn parse(raw: &str) -> Result<String, ApiError> {
        Ok(raw.to_string())
    }
}

/// What to do with a server: there is no such action otherwise.
impl Param for crate::servers::service::Power {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        Self::parse(raw).ok_or(ApiError::NotFound)
    }
}

/// What to do with a service: there is no such action otherwise.
impl Param for crate::system::units::Verb {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        Self::parse(raw).ok_or(ApiError::NotFound)
    }
}

/// The parameters of a path, by name, as sent.
type Params = Vec<(&'static str, String)>;

/// What a request resolved to.
pub enum Route {
    Api { row: &'static Row, params: Params },
    Page(&'static Asset),
    SetupPage(&'static Asset),
}

/// The methods a page takes.
const READ: &str = "GET, HEAD";

/// The methods the API takes, in the order an `Allow` header lists them.
pub const METHODS: [Method; 6] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Parses a request line into a route: the first row whose path
/// matches, and of that path's rows the one for the method.
pub fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let Some((template, params)) = TABLE
        .iter()
        .find_map(|row| params_of(row.path, path).map(|params| (row.path, params)))
    else {
        let asset = pages::find(path).ok_or(ApiError::NotFound)?;
        if !matches!(*method, Method::GET | Method::HEAD) {
            return Err(ApiError::MethodNotAllowed { allow: READ.into() });
        }
        return Ok(if path == "/setup" {
            Route::SetupPage(asset)
        } else {
            Route::Page(asset)
        });
    };
    let mut rows = TABLE.iter().filter(|row| row.path == template);
    match rows.find(|row| row.answers(method)) {
        Some(row) => Ok(Route::Api { row, params }),
        None => Err(ApiError::MethodNotAllowed {
            allow: allow(template),
        }),
    }
}

impl Row {
    fn answers(&self, method: &Method) -> bool {
        self.method == method || (self.method == Method::GET && method == Method::HEAD)
    }
}

/// The `Allow` header of a path: its rows' methods, HEAD with GET.
fn allow(template: &str) -> String {
    let rows = || TABLE.iter().filter(|row| row.path == template);
    let methods: Vec<&str> = METHODS
        .iter()
        .filter(|m| rows().any(|row| row.answers(m)))
        .map(Method::as_str)
        .collect();
    methods.join(", ")
}

/// The parameters of `path` if it is one of `template`'s.
fn params_of(template: &'static str, path: &str) -> Option<Params> {
    let Some(open) = template.find('{') else {
        return (template == path).then(Vec::new);
    };
    let item = path.strip_prefix(&template[..open])?;
    if item.is_empty() {
        return None;
    }
    let mut params = Vec::new();
    let (mut template, mut rest) = (&template[open..], item);
    loop {
        let name_end = template.find('}')?;
        let name = &template[1..name_end];
        template = &template[name_end + 1..];
        if template.is_empty() {
            params.push((name, rest.to_string()));
            return Some(params);
        }
        // A parameter before the end is one segment.
        let (value, after) = rest.split_once('/')?;
        params.push((name, value.to_string()));
        let literal = template.strip_prefix('/')?;
        match literal.find('{') {
            None => return (after == literal).then_some(params),
            Some(i) => {
                rest = after.strip_prefix(&literal[..i])?;
                template = &literal[i..];
            }
        }
    }
}

impl Route {
    /// How its handler takes the body (a page takes none).
    pub fn body_use(&self) -> BodyUse {
        match self {
            Route::Api { row, .. } => row.body,
            Route::Page(_) | Route::SetupPage(_) => BodyUse::Whole,
        }
    }

    fn phase(&self) -> Phase {
        match self {
            Route::Api { row, .. } => row.phase,
            Route::SetupPage(_) => Phase::Setup,
            Route::Page(_) => Phase::Always,
        }
    }

    /// Whether it answers while the box is in setup mode.
    pub fn open_during_setup(&self) -> bool {
        self.phase() != Phase::Ready
    }

    /// See [`Row::may_reduce_access`]; a page changes nothing.
    pub fn may_reduce_access(&self) -> bool {
        matches!(self, Route::Api { row, .. } if row.may_reduce_access)
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
    stream: Option<BodyStream>,
) -> Response {
    if let Some(refusal) = setup_gate(ctx, &route, &req) {
        return refusal;
    }
    let (row, params) = match route {
        Route::Page(asset) | Route::SetupPage(asset) => return pages::serve(asset),
        Route::Api { row, params } => (row, params),
    };
    let changes = ctx.access.subscribe();
    let result = match row.access {
        Access::Open => Ok(None),
        Access::Role(action) => require(ctx, &req, action).await.map(Some),
    };
    let response = match result {
        Ok(caller) => {
            let call = Call {
                ctx,
                peer,
                req,
                changes,
                caller,
                params,
                stream,
            };
            (row.handler)(call).await
        }
        Err(e) => Err(e),
    }
    .unwrap_or_else(ApiError::into_response);
    if row.may_reduce_access && response.status().is_success() {
        ctx.access.changed();
    }
    response
}

/// The refusal of a route the setup's state closes, if it does.
fn setup_gate<B>(ctx: &AppContext, route: &Route, req: &Request<B>) -> Option<Response> {
    let complete = ctx.setup.is_complete();
    match route.phase() {
        Phase::Ready if !complete => Some(
            ApiError::Forbidden {
                code: "setup_required",
                message: "this box is not set up yet; finish the setup at /setup".into(),
            }
            .into_response(),
        ),
        // A bookmark of the wizard, or the wizard's own last step: the
        // person wants the box, not an error.
        Phase::Setup if complete && matches!(route, Route::SetupPage(_)) && accepts_html(req) => {
            Some(see_other("/"))
        }
        Phase::Setup if complete => Some(
            ApiError::Gone {
                message: "setup is complete; sign in instead".into(),
            }
            .into_response(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(r: Result<Route, ApiError>) -> String {
        match r {
            Ok(Route::Page(a)) | Ok(Route::SetupPage(a)) => format!("page {}", a.path),
            Ok(Route::Api { row, .. }) => match row.path {
                "/api/v1/health" => "health".into(),
                "/api/v1/events" => "events".into(),
                "/metrics" => "prometheus".into(),
                "/api/v1/setup/claim" => "claim".into(),
                _ => "other".into(),
            },
            Err(e) => e.code().into(),
        }
    }

    /// What a request line resolves to: `name`'s, or for an item route
    /// `"route item"`.
    fn resolved(method: &Method, path: &str) -> String {
        let route = |row: &Row| match (row.method.as_str(), row.path) {
            ("PATCH", "/api/v1/users/{name}") => Some("user_update"),
            ("DELETE", "/api/v1/users/{name}") => Some("user_delete"),
            ("DELETE", "/api/v1/tokens/{id}") => Some("token_revoke"),
            ("DELETE", "/api/v1/sessions/{id}") => Some("session_revoke"),
            _ => None,
        };
        match resolve(method, path) {
            Ok(Route::Api { row, params }) if route(row).is_some() => {
                let values: Vec<&str> = params.iter().map(|(_, v)| v.as_str()).collect();
                format!("{} {}", route(row).unwrap_or_default(), values.join(" "))
            }
            other => name(other),
        }
    }

    #[test]
    fn resolves_known_routes_and_refuses_the_rest() {
        let cases = [
            (Method::GET, "/api/v1/health", "health"),
            (Method::HEAD, "/api/v1/health", "health"),
            (Method::GET, "/api/v1/events", "events"),
            (Method::GET, "/metrics", "prometheus"),
            (Method::GET, "/", "page /"),
            (Method::GET, "/setup", "page /setup"),
            (Method::GET, "/assets/status.js", "page /assets/status.js"),
            (Method::POST, "/api/v1/setup/claim", "claim"),
            (Method::GET, "/api/v1/setup/claim", "method_not_allowed"),
            (Method::POST, "/api/v1/health", "method_not_allowed"),
            (Method::GET, "/api/v1/nope", "not_found"),
            (Method::GET, "/api/v1/health/", "not_found"),
            (Method::DELETE, "/nope", "not_found"),
            (Method::GET, "/api/v1/box", "other"),
            (Method::GET, "/api/v1/timezones", "other"),
            (Method::POST, "/api/v1/timezones", "method_not_allowed"),
            // Item routes carry the rest of the path as sent.
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
            assert_eq!(resolved(&method, path), expected, "{method} {path}");
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
        for path in ["/api/v1/box", "/api/v1/timezones"] {
            let route = resolve(&Method::GET, path).ok().unwrap();
            assert!(route.open_during_setup(), "{path}");
            assert!(!route.may_reduce_access(), "{path}");
        }
        let status = resolve(&Method::GET, "/api/v1/status").ok().unwrap();
        assert!(!status.open_during_setup());
    }

    /// The rows that take access away, and only these (see
    /// [`Row::may_reduce_access`]).
    #[test]
    fn only_the_rows_that_take_access_away_say_so() {
        let mut reducing: Vec<String> = TABLE
            .iter()
            .filter(|row| row.may_reduce_access)
            .map(|row| format!("{} {}", row.method, row.path))
            .collect();
        reducing.sort();
        assert_eq!(
            reducing,
            [
                "DELETE /api/v1/session",
                "DELETE /api/v1/sessions/{id}",
                "DELETE /api/v1/tokens/{id}",
                "DELETE /api/v1/users/{name}",
                "PATCH /api/v1/settings",
                "PATCH /api/v1/users/{name}",
                "POST /api/v1/session/password",
            ]
        );
    }

    /// A path's methods, in the `Allow` of a 405, as they were listed.
    #[test]
    fn a_wrong_method_lists_the_paths_methods() {
        let cases = [
            ("/api/v1/health", "GET, HEAD"),
            ("/api/v1/setup/claim", "POST"),
            ("/api/v1/users", "GET, HEAD, POST"),
            ("/api/v1/users/ann", "PATCH, DELETE"),
            ("/api/v1/session", "GET, HEAD, POST, DELETE"),
            ("/api/v1/settings", "GET, HEAD, PATCH"),
            ("/api/v1/totp", "POST, DELETE"),
            ("/api/v1/firewall", "GET, HEAD, PUT"),
            ("/api/v1/servers/x1", "GET, HEAD, DELETE"),
            ("/api/v1/servers/x1/logs", "GET, HEAD"),
            ("/api/v1/servers/x1/start", "POST"),
            ("/api/v1/quotas/ann", "GET, HEAD, PUT"),
            ("/api/v1/domains/a.example", "GET, HEAD, PUT, DELETE"),
            ("/api/v1/tokens/x", "DELETE"),
            ("/", "GET, HEAD"),
        ];
        for (path, allow) in cases {
            let wrong = [Method::GET, Method::POST, Method::PUT, Method::PATCH]
                .into_iter()
                .find(|m| !allow.split(", ").any(|a| a == m.as_str()))
                .unwrap_or(Method::OPTIONS);
            match resolve(&wrong, path) {
                Err(ApiError::MethodNotAllowed { allow: got }) => assert_eq!(got, allow, "{path}"),
                Err(e) => panic!("{wrong} {path}: {}", e.code()),
                Ok(_) => panic!("{wrong} {path} resolved"),
            }
        }
    }

    #[test]
    fn parameters_are_split_as_they_always_were() {
        let params = |method: Method, path: &str| match resolve(&method, path) {
            Ok(Route::Api { row, params }) => format!("{} {params:?}", row.path),
            other => name(other),
        };
        assert_eq!(
            params(Method::POST, "/api/v1/servers/x1/a/b"),
            r#"/api/v1/servers/{id}/{verb} [("id", "x1"), ("verb", "a/b")]"#
        );
        assert_eq!(
            params(Method::POST, "/api/v1/servers/x1/"),
            r#"/api/v1/servers/{id}/{verb} [("id", "x1"), ("verb", "")]"#
        );
        assert_eq!(
            params(Method::GET, "/api/v1/servers//logs"),
            r#"/api/v1/servers/{id}/logs [("id", "")]"#
        );
        assert_eq!(
            params(Method::POST, "/api/v1/services/caddy.service/start"),
            r#"/api/v1/services/{unit}/{verb} [("unit", "caddy.service"), ("verb", "start")]"#
        );
        assert_eq!(params(Method::POST, "/api/v1/services/caddy"), "not_found");
        assert_eq!(params(Method::GET, "/api/v1/servers/"), "not_found");
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
