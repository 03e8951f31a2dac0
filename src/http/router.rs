//! The router: one `match` from (method, path) to a [`Route`], then one
//! dispatch from a route to its handler. A known path with the wrong method
//! is a 405 that lists the allowed ones.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request};

use super::api;
use super::context::AppContext;
use super::error::ApiError;
use super::response::Response;

/// Everything the API can be asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
}

const GET: &str = "GET, HEAD";

/// Parses a request line into a route.
pub fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    match path {
        "/api/v1/health" if read => Ok(Route::Health),
        "/api/v1/health" => Err(ApiError::MethodNotAllowed { allow: GET }),
        _ => Err(ApiError::NotFound),
    }
}

/// Runs the handler of an already resolved route.
pub async fn dispatch(
    ctx: &AppContext,
    route: Route,
    _peer: SocketAddr,
    _req: Request<Bytes>,
) -> Response {
    match route {
        Route::Health => api::health::get(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_routes_and_refuses_the_rest() {
        assert_eq!(
            resolve(&Method::GET, "/api/v1/health").unwrap(),
            Route::Health
        );
        assert_eq!(
            resolve(&Method::HEAD, "/api/v1/health").unwrap(),
            Route::Health
        );
        assert!(matches!(
            resolve(&Method::POST, "/api/v1/health"),
            Err(ApiError::MethodNotAllowed { allow: "GET, HEAD" })
        ));
        assert!(matches!(
            resolve(&Method::GET, "/api/v1/nope"),
            Err(ApiError::NotFound)
        ));
        assert!(matches!(
            resolve(&Method::GET, "/api/v1/health/"),
            Err(ApiError::NotFound)
        ));
    }
}
