//! The OpenAPI 3.1 description of the API, served at
//! `GET /api/v1/openapi.json` (open to everyone, in setup mode too, like
//! the health check: it describes the API, and holds nothing of the box).
//!
//! Generated from the code, never written beside it: each handler carries
//! its `#[utoipa::path]` (path, method, parameters, body and replies), the
//! request and reply types derive `ToSchema` next to their serde derives,
//! and the list below names the handlers. A route is documented at its
//! row's path and method in the route table ([`super::routes::TABLE`]);
//! the tests check that the table and the description agree both ways.
//!
//! Every error (any status the operation does not list) is the one error
//! body of [`super::error`], `{"error":{"code","message","field"?}}`.

use std::sync::OnceLock;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, RefOr, Response as ApiResponse};
use utoipa::{Modify, OpenApi};

use super::api;
use super::response::{Response, full};
use super::router::Route;

/// The path this document is served at.
pub const PATH: &str = "/api/v1/openapi.json";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hearth",
        description = "The JSON API of hearth, the home server's control plane. \
            Sign in with `POST /api/v1/session` (a session cookie), or send an API \
            token (`POST /api/v1/tokens`) as `Authorization: Bearer hth_...`. \
            Every error is `{\"error\":{\"code\",\"message\",\"field\"?}}`."
    ),
    paths(
        serve,
        api::health::get,
        api::box_info::get,
        api::timezones::list,
        api::status::get,
        api::events::get,
        api::metrics::history,
        api::metrics::prometheus,
        api::setup::state,
        api::setup::claim,
        api::setup::admin,
        api::setup::host,
        api::setup::domain,
        api::setup::finish,
        api::session::login,
        api::session::whoami,
        api::session::logout,
        api::password::change,
        api::session::list,
        api::session::revoke,
        api::two_factor::begin,
        api::two_factor::confirm,
        api::two_factor::disable,
        api::users::list,
        api::users::create,
        api::users::update,
        api::users::delete,
        api::tokens::list,
        api::tokens::create,
        api::tokens::revoke,
        api::audit::list,
        api::settings::get,
        api::settings::patch,
        api::firewall::get,
        api::firewall::put,
        api::firewall::confirm,
        api::domains::list,
        api::domains::create,
        api::domains::get,
        api::domains::replace,
        api::domains::remove,
        api::services::list,
        api::services::act,
        api::process::get,
        api::power::reboot,
        api::power::power_off,
        api::servers::list,
        api::servers::create,
        api::servers::get,
        api::servers::delete,
        api::servers::power,
        api::server_logs::get,
        api::servers::get_quota,
        api::servers::put_quota,
        api::server_certs::list,
        api::server_certs::issue,
        api::server_certs::revoke,
    ),
    components(schemas(
        super::error::Body,
        // Path parameters, which utoipa does not collect by itself.
        crate::system::units::Verb,
        crate::servers::service::Power,
    )),
    modifiers(&Security, &Errors),
    security(("bearer" = []), ("session" = [])),
)]
struct ApiDoc;

/// The two ways to be someone: an API token, or the pages' session
/// cookie (and, during setup, the setup cookie of the wizard's steps).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("An API token (`hth_...`), from POST /api/v1/tokens.".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                super::guard::SESSION_COOKIE,
                "The session cookie POST /api/v1/session sets.",
            ))),
        );
        components.add_security_scheme(
            "setup",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                api::setup::SETUP_COOKIE,
                "The setup cookie POST /api/v1/setup/claim sets (setup mode only).",
            ))),
        );
    }
}

/// Every operation's errors: any status it does not list is the error
/// body, whose `code` says what went wrong. And each its own id (the
/// handlers' names repeat: `get`, `list`), from its method and path:
/// `delete_users_name` for `DELETE /api/v1/users/{name}`.
struct Errors;

fn operation_id(method: &str, path: &str) -> String {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let mut id = method.to_string();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        id.push('_');
        id.extend(
            segment
                .chars()
                .filter(|c| !matches!(c, '{' | '}'))
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }),
        );
    }
    id
}

impl Modify for Errors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = ApiResponse::builder()
            .description(
                "An error: the status and `error.code` say which (see the ErrorBody schema).",
            )
            .content(
                "application/json",
                Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "ErrorBody",
                )))),
            )
            .build();
        for (path, item) in openapi.paths.paths.iter_mut() {
            for (method, operation) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(operation) = operation else { continue };
                operation.operation_id = Some(operation_id(method, path));
                operation
                    .responses
                    .responses
                    .entry("default".into())
                    .or_insert_with(|| error.clone().into());
            }
        }
    }
}

/// The document, as served: built once.
pub fn document() -> &'static Bytes {
    static DOCUMENT: OnceLock<Bytes> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").into();
        Bytes::from(doc.to_json().expect("the OpenAPI document serializes"))
    })
}

/// This description of the API (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "This document.", content_type = "application/json", body = Object)),
)]
pub fn serve() -> Response {
    let mut r = http::Response::new(full(document().clone()));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

impl Route {
    /// Where the description documents this route: its row's path and
    /// method (HEAD is GET's, as HTTP has it). `None` for the pages,
    /// which are HTML, not the API.
    pub fn documented(&self) -> Option<(&'static str, Method)> {
        match self {
            Route::Api { row, .. } => Some((row.path, row.method.clone())),
            Route::Page(_) | Route::SetupPage(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::http::router::{METHODS, resolve};

    fn doc() -> serde_json::Value {
        serde_json::from_slice(document()).unwrap()
    }

    /// Every operation of the document, as (path template, METHOD).
    fn operations() -> BTreeSet<(String, String)> {
        let doc = doc();
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if METHODS
                    .iter()
                    .any(|m| m.as_str().eq_ignore_ascii_case(method))
                {
                    ops.insert((path.clone(), method.to_ascii_uppercase()));
                }
            }
        }
        ops
    }

    /// A path of the template with sample values: what a client sends.
    fn sample(template: &str) -> String {
        template
            .replace("{verb}", "start")
            .replace("{unit}", "caddy.service")
            .replace("{id}", "x1")
            .replace("{name}", "ann")
            .replace("{user}", "ann")
    }

    #[test]
    fn the_document_is_openapi_3_1_with_the_error_body_and_both_credentials() {
        let doc = doc();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.1"),
            "{}",
            doc["openapi"]
        );
        assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["session"]["in"], "cookie");
        assert_eq!(schemes["session"]["name"], "__Host-hearth_session");
        assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
        // Every operation says what its errors look like.
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                assert!(op["responses"]["default"].is_object(), "{method} {path}");
            }
        }
    }

    /// Every `$ref` names a schema the document has (utoipa collects the
    /// bodies' schemas, not the parameters').
    #[test]
    fn every_reference_resolves() {
        fn walk(v: &serde_json::Value, doc: &serde_json::Value) {
            match v {
                serde_json::Value::Object(map) => {
                    if let Some(r) = map.get("$ref").and_then(|r| r.as_str()) {
                        let pointer = r.strip_prefix('#').unwrap_or(r);
                        assert!(doc.pointer(pointer).is_some(), "{r} is not in the document");
                    }
                    map.values().for_each(|v| walk(v, doc));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, doc)),
                _ => {}
            }
        }
        let doc = doc();
        walk(&doc, &doc);
    }

    /// Every documented operation is answered by the route that says it
    /// is documented there: neither 404 nor 405.
    #[test]
    fn every_documented_operation_resolves_to_its_route() {
        let ops = operations();
        assert!(ops.len() >= 57, "{}", ops.len());
        for (template, method) in &ops {
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let path = sample(template);
            let route = match resolve(&m, &path) {
                Ok(route) => route,
                Err(e) => panic!("{method} {path} (documented as {template}): {}", e.code()),
            };
            assert_eq!(
                route.documented(),
                Some((template.as_str(), m.clone())),
                "{method} {path}"
            );
        }
    }

    /// Every request the router takes, on every documented path and on
    /// every path a route names, is documented (HEAD as GET).
    #[test]
    fn every_route_is_documented() {
        let ops = operations();
        let mut templates: BTreeSet<String> = ops.iter().map(|(p, _)| p.clone()).collect();
        templates.extend(
            every_route()
                .iter()
                .filter_map(|r| r.documented())
                .map(|(p, _)| p.to_string()),
        );
        let mut reached = BTreeSet::new();
        for template in &templates {
            for method in &METHODS {
                let Ok(route) = resolve(method, &sample(template)) else {
                    continue;
                };
                let (path, m) = route
                    .documented()
                    .unwrap_or_else(|| panic!("{method} {template} is a page, not the API"));
                let expected = if *method == Method::HEAD {
                    Method::GET
                } else {
                    method.clone()
                };
                assert_eq!(
                    (path, &m),
                    (template.as_str(), &expected),
                    "{method} {template}"
                );
                reached.insert((path.to_string(), m.to_string()));
            }
        }
        for route in every_route() {
            let (path, m) = route.documented().unwrap();
            assert!(
                ops.contains(&(path.to_string(), m.to_string())),
                "{m} {path} is a route but not in the document"
            );
        }
        assert_eq!(reached, ops);
    }

    /// One route of each row of the table, with sample parameters.
    fn every_route() -> Vec<Route> {
        let all: Vec<Route> = crate::http::routes::TABLE
            .iter()
            .map(|row| {
                let m = if row.method == Method::GET {
                    Method::HEAD
                } else {
                    row.method.clone()
                };
                let route = resolve(&m, &sample(row.path))
                    .unwrap_or_else(|e| panic!("{} {}: {}", row.method, row.path, e.code()));
                assert_eq!(
                    route.documented(),
                    Some((row.path, row.method.clone())),
                    "{m} {}",
                    row.path
                );
                route
            })
            .collect();
        // Each row once, and as many as the document has operations.
        let distinct: BTreeSet<_> = all
            .iter()
            .map(|r| r.documented().map(|(p, m)| (p, m.to_string())))
            .collect();
        assert_eq!(distinct.len(), all.len());
        all
    }

    #[test]
    fn every_route_is_listed_once() {
        assert_eq!(every_route().len(), operations().len());
    }
}
