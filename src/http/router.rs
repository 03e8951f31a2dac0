//! The router: one `match` from (method, path) to a [`Route`], then one
//! dispatch from a route to its handler. A known path with the wrong method
//! is a 405 that lists the allowed ones.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};

use super::api;
use super::context::AppContext;
use super::error::ApiError;
use super::pages::{self, Asset};
use super::response::Response;

/// Everything the server can be asked to do.
#[derive(Clone, Copy)]
pub enum Route {
    Page(&'static Asset),
    Health,
    Status,
    Events,
    MetricsHistory,
    Prometheus,
}

const GET: &str = "GET, HEAD";

/// Parses a request line into a route.
pub fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let route = match path {
        "/api/v1/health" => Route::Health,
        "/api/v1/status" => Route::Status,
        "/api/v1/events" => Route::Events,
        "/api/v1/metrics/history" => Route::MetricsHistory,
        "/metrics" => Route::Prometheus,
        other => Route::Page(pages::find(other).ok_or(ApiError::NotFound)?),
    };
    // Every route so far only reads.
    if matches!(*method, Method::GET | Method::HEAD) {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed { allow: GET })
    }
}

/// Runs the handler of an already resolved route.
pub async fn dispatch(
    ctx: &AppContext,
    route: Route,
    peer: SocketAddr,
    req: Request<Bytes>,
) -> Response {
    let result = match route {
        Route::Page(asset) => Ok(pages::serve(asset)),
        Route::Health => Ok(api::health::get(ctx)),
        Route::Status => Ok(api::status::get(ctx)),
        Route::Events => api::events::get(ctx, peer, &req),
        Route::MetricsHistory => api::metrics::history(ctx, &req),
        Route::Prometheus => api::metrics::prometheus(ctx),
    };
    result.unwrap_or_else(ApiError::into_response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(r: Result<Route, ApiError>) -> String {
        match r {
            Ok(Route::Page(a)) => format!("page {}", a.path),
            Ok(Route::Health) => "health".into(),
            Ok(Route::Status) => "status".into(),
            Ok(Route::Events) => "events".into(),
            Ok(Route::MetricsHistory) => "history".into(),
            Ok(Route::Prometheus) => "prometheus".into(),
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
        assert_eq!(
            name(resolve(&Method::GET, "/assets/status.js")),
            "page /assets/status.js"
        );
        assert_eq!(
            name(resolve(&Method::POST, "/api/v1/health")),
            "method_not_allowed"
        );
        assert_eq!(name(resolve(&Method::GET, "/api/v1/nope")), "not_found");
        assert_eq!(name(resolve(&Method::GET, "/api/v1/health/")), "not_found");
        assert_eq!(name(resolve(&Method::DELETE, "/nope")), "not_found");
    }
}
