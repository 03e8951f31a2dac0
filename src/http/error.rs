//! The API's error type and its one exhaustive mapping to HTTP status.
//!
//! Every error leaves as `{"error":{"code":...,"message":...,"field":...}}`.
//! Internal errors are logged here and answered with a generic message, so
//! no internal detail (paths, store errors) reaches a client.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::response::{Response, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: &'static str },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("{message}")]
    TooManyRequests { message: String },
    /// Too many failed attempts: answered with `Retry-After`, so that a
    /// client knows how long to wait.
    #[error("{message}")]
    Throttled {
        message: String,
        retry_after: std::time::Duration,
    },
    /// Refused for a reason the client can act on; `code` says which.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Not signed in, or the sign-in failed; `code` says how, when a
    /// client can act on the difference (e.g. `totp_wrong`).
    #[error("{message}")]
    Unauthorized { code: &'static str, message: String },
    #[error("{message}")]
    Conflict { message: String },
    #[error("gone: {message}")]
    Gone { message: String },
    #[error("{message}")]
    Unavailable { message: String },
    #[error("{message}")]
    BadRequest {
        field: Option<&'static str>,
        message: String,
    },
    /// The cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } | ApiError::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::TooManyRequests { .. } | ApiError::Throttled { .. } => "too_many_requests",
            ApiError::Forbidden { code, .. } => code,
            ApiError::Unauthorized { code, .. } => code,
            ApiError::Conflict { .. } => "conflict",
            ApiError::Gone { .. } => "gone",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            ApiError::BadRequest { field, .. } => *field,
            _ => None,
        }
    }

    pub fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error answering a request");
        }
        let body = Body {
            error: Detail {
                code: self.code(),
                message: self.to_string(),
                field: self.field(),
            },
        };
        let mut response = json(self.status(), &body);
        match self {
            ApiError::MethodNotAllowed { allow } => {
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static(allow));
            }
            ApiError::Throttled { retry_after, .. } => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after.as_secs().max(1)),
                );
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_json(r: Response) -> serde_json::Value {
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn method_not_allowed_has_allow_header_and_body() {
        let r = ApiError::MethodNotAllowed { allow: "GET, HEAD" }.into_response();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
        let v = body_json(r).await;
        assert_eq!(v["error"]["code"], "method_not_allowed");
        assert!(v["error"].get("field").is_none());
    }

    #[tokio::test]
    async fn bad_request_names_the_field() {
        let r = ApiError::BadRequest {
            field: Some("hostname"),
            message: "too long".into(),
        }
        .into_response();
        assert_eq!(r.status(), 400);
        let v = body_json(r).await;
        assert_eq!(v["error"]["field"], "hostname");
        assert_eq!(v["error"]["message"], "too long");
    }

    #[tokio::test]
    async fn unauthorized_carries_its_code() {
        let r = ApiError::Unauthorized {
            code: "totp_wrong",
            message: "that code is not right".into(),
        }
        .into_response();
        assert_eq!(r.status(), 401);
        let v = body_json(r).await;
        assert_eq!(v["error"]["code"], "totp_wrong");
        assert_eq!(v["error"]["message"], "that code is not right");
    }

    #[tokio::test]
    async fn internal_detail_is_not_sent() {
        let r = ApiError::Internal("/var/lib/hearth/state.redb: io error".into()).into_response();
        assert_eq!(r.status(), 500);
        let v = body_json(r).await;
        assert_eq!(v["error"]["message"], "internal error");
    }
}
