//! Response helpers and the headers every response carries.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde::Serialize;

/// The body type of every response: boxed, so a later stream (SSE) and a
/// plain JSON body share one type.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;
pub type Response = http::Response<Body>;

/// The strict policy the embedded pages are written for: nothing but our
/// own origin, no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// 204 No Content.
pub fn no_content() -> Response {
    let mut r = http::Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// 303 See Other: the browser goes to `location` with a GET.
pub fn see_other(location: &'static str) -> Response {
    let mut r = http::Response::new(full(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    r.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    r
}

/// A JSON response; our types always serialize.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    let body = serde_json::to_vec(value).expect("API types always serialize");
    let mut r = http::Response::new(full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// 200 with a Server-Sent Events body: each item of `frames` is sent as
/// it comes; no caching, and no buffering by a reverse proxy (nginx).
pub fn event_stream<S>(frames: S) -> Response
where
    S: futures_util::Stream<Item = Bytes> + Send + 'static,
{
    use futures_util::StreamExt;
    let body = frames.map(|frame| Ok::<_, Infallible>(hyper::body::Frame::data(frame)));
    let mut r = http::Response::new(http_body_util::StreamBody::new(body).boxed_unsync());
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// Adds the security headers every response carries.
pub fn add_security_headers(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
}
