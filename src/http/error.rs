//! The API's error type and its one exhaustive mapping to HTTP status.
//! The domains' errors reach it as a [`Refusal`] (each domain says which
//! kind its errors are, beside them), mapped here once, so that handlers
//! only say `?`.
//!
//! Every error leaves as `{"error":{"code":...,"message":...,"field":...}}`.
//! Internal errors are logged here and answered with a generic message, so
//! no internal detail (paths, store errors) reaches a client.

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::response::{Response, json};
use crate::refusal::Refusal;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("the request body must be {expected} (say so in Content-Type)")]
    UnsupportedMediaType { expected: &'static str },
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
    /// The file system of the state store is full: nothing was changed.
    #[error(
        "the box's storage is full, so nothing was changed; free some space (writes resume by themselves)"
    )]
    InsufficientStorage,
    /// Too much of a bounded resource in use (password hashes): come back
    /// after `Retry-After`.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: std::time::Duration,
    },
    #[error("{message}")]
    BadRequest {
        field: Option<&'static str>,
        message: String,
    },
    /// A bad value a domain refused: the field, when one is at fault
    /// (a path into the body: `allow[2].ports`), and the whole sentence.
    #[error("{message}")]
    Invalid {
        field: Option<String>,
        message: String,
    },
    /// Well-formed, but the component refused it (the kernel a ruleset);
    /// nothing was changed.
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    /// The cause is logged, never sent.
    #[error("internal error")]
    Internal(String),
}

/// Every error's body (`ErrorBody` in the OpenAPI description).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorBody)]
pub(crate) struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ErrorDetail)]
struct Detail<'a> {
    /// What went wrong, for programs: `bad_request`, `unauthorized`,
    /// `forbidden`, `not_found`, `method_not_allowed`, `conflict`, `gone`,
    /// `payload_too_large`, `unsupported_media_type`, `request_timeout`,
    /// `too_many_requests`, `unavailable`, `busy`, `insufficient_storage`,
    /// `internal`, or a more
    /// precise one (`setup_required`, `cross_origin`, `totp_required`,
    /// `totp_wrong`, `wrong_setup_code`, `ruleset_refused`, `job_failed`).
    code: &'a str,
    /// What went wrong, for people.
    message: String,
    /// The field of the request at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    /// 401 for a request that needs a caller and has none.
    pub fn sign_in_first() -> ApiError {
        ApiError::Unauthorized {
            code: "unauthorized",
            message: "sign in first".into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::BadRequest { .. } | ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooManyRequests { .. } | ApiError::Throttled { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Gone { .. } => StatusCode::GONE,
            ApiError::Unavailable { .. } | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::InsufficientStorage => StatusCode::INSUFFICIENT_STORAGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType { .. } => "unsupported_media_type",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::BadRequest { .. } | ApiError::Invalid { .. } => "bad_request",
            ApiError::Unprocessable { code, .. } => code,
            ApiError::TooManyRequests { .. } | ApiError::Throttled { .. } => "too_many_requests",
            ApiError::Forbidden { code, .. } => code,
            ApiError::Unauthorized { code, .. } => code,
            ApiError::Conflict { .. } => "conflict",
            ApiError::Gone { .. } => "gone",
            ApiError::Unavailable { .. } => "unavailable",
            ApiError::Busy { .. } => "busy",
            ApiError::InsufficientStorage => "insufficient_storage",
            ApiError::Internal(_) => "internal",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::BadRequest { field, .. } => *field,
            ApiError::Invalid { field, .. } => field.as_deref(),
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
                if let Ok(allow) = HeaderValue::try_from(allow) {
                    response.headers_mut().insert(header::ALLOW, allow);
                }
            }
            ApiError::Throttled { retry_after, .. } | ApiError::Busy { retry_after, .. } => {
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

/// What a domain refused becomes: every domain error converts into a
/// [`Refusal`] beside its own definition, so that handlers only say `?`.
impl<E: Into<Refusal>> From<E> for ApiError {
    fn from(e: E) -> ApiError {
        match e.into() {
            Refusal::NotFound => ApiError::NotFound,
            Refusal::Invalid { field, message } => ApiError::Invalid { field, message },
            Refusal::Unauthorized { code, message } => ApiError::Unauthorized { code, message },
            Refusal::Forbidden { code, message } => ApiError::Forbidden { code, message },
            Refusal::Conflict(message) => ApiError::Conflict { message },
            Refusal::Gone(message) => ApiError::Gone { message },
            Refusal::TooMany {
                message,
                retry_after: None,
            } => ApiError::TooManyRequests { message },
            Refusal::TooMany {
                message,
                retry_after: Some(retry_after),
            } => ApiError::Throttled {
                message,
                retry_after,
            },
            Refusal::Rejected { code, message } => ApiError::Unprocessable { code, message },
            Refusal::Unavailable(message) => ApiError::Unavailable { message },
            Refusal::Busy {
                message,
                retry_after,
            } => ApiError::Busy {
                message,
                retry_after,
            },
            Refusal::StorageFull => ApiError::InsufficientStorage,
            Refusal::Internal(cause) => ApiError::Internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use http_body_util::BodyExt;

    async fn body_json(r: Response) -> serde_json::Value {
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn method_not_allowed_has_allow_header_and_body() {
        let r = ApiError::MethodNotAllowed {
            allow: "GET, HEAD".into(),
        }
        .into_response();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()[header::ALLOW], "GET, HEAD");
        let v = body_json(r).await;
        assert_eq!(v["error"]["code"], "method_not_allowed");
        assert!(v["error"].get("field").is_none());
    }

    /// Each error leaves as the error body: its status, its code, its
    /// message, and the field when one is at fault.
    #[tokio::test]
    async fn errors_leave_as_the_error_body() {
        let cases = [
            (
                ApiError::BadRequest {
                    field: Some("hostname"),
                    message: "too long".into(),
                },
                (400, "bad_request", "too long", Some("hostname")),
            ),
            (
                ApiError::Unauthorized {
                    code: "totp_wrong",
                    message: "that code is not right".into(),
                },
                (401, "totp_wrong", "that code is not right", None),
            ),
            // No internal detail reaches a client.
            (
                ApiError::Internal("/var/lib/hearth/state.redb: io error".into()),
                (500, "internal", "internal error", None),
            ),
        ];
        for (e, (status, code, message, field)) in cases {
            let r = e.into_response();
            assert_eq!(r.status(), status, "{code}");
            let v = body_json(r).await;
            assert_eq!(v["error"]["code"], code);
            assert_eq!(v["error"]["message"], message);
            assert_eq!(v["error"]["field"].as_str(), field, "{code}");
        }
    }

    /// Status, code, field and message of what `e` becomes.
    fn mapped(e: impl Into<ApiError>) -> (u16, &'static str, Option<String>, String) {
        let e = e.into();
        let field = e.field().map(str::to_owned);
        (e.status().as_u16(), e.code(), field, e.to_string())
    }

    fn store_error() -> StoreError {
        StoreError::Locked {
            path: "/var/lib/hearth/state.redb".into(),
        }
    }

    fn internal() -> (u16, &'static str, Option<String>, String) {
        (500, "internal", None, "internal error".into())
    }

    /// Each kind of refusal, as a client sees it (what each domain's
    /// errors refuse as is tested beside them).
    #[test]
    fn every_refusal_maps_as_the_api_promises() {
        use std::time::Duration;
        let minute = Duration::from_secs(60);
        let text = |m: &str| m.to_string();
        let too_many = |retry_after| Refusal::TooMany {
            message: text("wait"),
            retry_after,
        };
        let unnamed = Refusal::Invalid {
            field: None,
            message: text("bad"),
        };
        let wrong_code = Refusal::Unauthorized {
            code: "totp_wrong",
            message: text("no"),
        };
        let job_failed = Refusal::Rejected {
            code: "job_failed",
            message: text("failed"),
        };
        let busy = Refusal::Busy {
            message: text("busy"),
            retry_after: minute,
        };
        let cases = [
            (
                Refusal::NotFound,
                (404, "not_found", None, "no such resource"),
            ),
            (
                Refusal::invalid("code", "wrong"),
                (400, "bad_request", Some("code"), "wrong"),
            ),
            (unnamed, (400, "bad_request", None, "bad")),
            (wrong_code, (401, "totp_wrong", None, "no")),
            (
                Refusal::forbidden("not yours"),
                (403, "forbidden", None, "not yours"),
            ),
            (
                Refusal::Conflict(text("exists")),
                (409, "conflict", None, "exists"),
            ),
            (
                Refusal::Gone(text("over")),
                (410, "gone", None, "gone: over"),
            ),
            (too_many(None), (429, "too_many_requests", None, "wait")),
            (
                too_many(Some(minute)),
                (429, "too_many_requests", None, "wait"),
            ),
            (job_failed, (422, "job_failed", None, "failed")),
            (
                Refusal::Unavailable(text("later")),
                (503, "unavailable", None, "later"),
            ),
            (busy.clone(), (503, "busy", None, "busy")),
            (
                Refusal::Internal(text("/var/lib/hearth: io")),
                (500, "internal", None, "internal error"),
            ),
        ];
        for (refusal, (status, code, field, message)) in cases {
            let expected = (status, code, field.map(str::to_owned), message.to_string());
            assert_eq!(mapped(refusal.clone()), expected, "{refusal:?}");
        }
        let (status, code, _, message) = mapped(Refusal::StorageFull);
        assert_eq!((status, code), (507, "insufficient_storage"));
        assert!(message.contains("storage is full"), "{message}");
        // How long to wait goes along (as `Retry-After`).
        assert!(matches!(
            ApiError::from(too_many(Some(minute))),
            ApiError::Throttled { retry_after, .. } if retry_after == minute
        ));
        assert!(matches!(
            ApiError::from(busy),
            ApiError::Busy { retry_after, .. } if retry_after == minute
        ));
        let topics = crate::events::TopicSet::parse(Some("nope")).unwrap_err();
        let message = topics.to_string();
        assert_eq!(
            mapped(topics),
            (400, "bad_request", Some("topics".into()), message)
        );
        assert_eq!(mapped(store_error()), internal());
    }

    #[test]
    fn an_internal_error_keeps_its_cause_for_the_log() {
        let ApiError::Internal(cause) = ApiError::from(store_error()) else {
            panic!("not internal")
        };
        assert_eq!(cause, store_error().to_string());

        // With its causes: the log used to drop them.
        let write = StoreError::Write {
            path: "/var/lib/hearth/state.redb".into(),
            what: "transaction",
            source: Box::new(redb::Error::Io(std::io::Error::other("disk on fire"))),
        };
        let ApiError::Internal(cause) = ApiError::from(write) else {
            panic!("not internal")
        };
        assert!(cause.ends_with(": disk on fire"), "{cause}");
    }

    #[test]
    fn a_full_disk_is_507_and_a_store_recovering_503() {
        let full = StoreError::NoSpace {
            path: "/var/lib/hearth/state.redb".into(),
            what: "transaction",
        };
        let (status, code, _, message) = mapped(full);
        assert_eq!((status, code), (507, "insufficient_storage"));
        assert!(message.contains("storage is full"), "{message}");
        assert!(!message.contains("/var"), "no path to clients: {message}");
        let failed = StoreError::Failed {
            path: "/var/lib/hearth/state.redb".into(),
            what: "transaction",
            cause: "Input/output error".into(),
        };
        let (status, code, _, message) = mapped(failed);
        assert_eq!((status, code), (503, "unavailable"));
        assert!(!message.contains("Input/output"), "{message}");
    }
}
