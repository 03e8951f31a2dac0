//! The API's error type and its one exhaustive mapping to HTTP status,
//! and the one place where the other modules' errors become it (the
//! `From` impls below), so that handlers only say `?`.
//!
//! Every error leaves as `{"error":{"code":...,"message":...,"field":...}}`.
//! Internal errors are logged here and answered with a generic message, so
//! no internal detail (paths, store errors) reaches a client.

use std::convert::Infallible;

use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

use super::response::{Response, json};
use crate::accounts::{
    LoginError, PasswordChangeError, SetupError, TokenError, TwoFactorError, UserError,
};
use crate::events::TopicsError;
use crate::firewall::error::{FirewallError, NftError};
use crate::proxy::error::ProxyError;
use crate::servers::error::ServersError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no such resource")]
    NotFound,
    #[error("method not allowed; allowed: {allow}")]
    MethodNotAllowed { allow: &'static str },
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
    /// A bad field deep in a body, named by its path (`allow[2].ports`).
    #[error("{field} {message}")]
    InvalidField { field: String, message: String },
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
            ApiError::BadRequest { .. } | ApiError::InvalidField { .. } => StatusCode::BAD_REQUEST,
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
            ApiError::BadRequest { .. } | ApiError::InvalidField { .. } => "bad_request",
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
            ApiError::InvalidField { field, .. } => Some(field),
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

impl From<crate::accounts::Busy> for ApiError {
    fn from(e: crate::accounts::Busy) -> ApiError {
        ApiError::Busy {
            message: e.to_string(),
            retry_after: e.retry_after,
        }
    }
}

/// A full disk is the owner's to fix, and says so (507); a store that
/// has not recovered from a failed write is unavailable for now (503);
/// anything else is internal, logged with its causes.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NoSpace { .. } | StoreError::LowSpace { .. } => {
                ApiError::InsufficientStorage
            }
            StoreError::Failed { .. } => {
                tracing::warn!(cause = %crate::logging::chain(&e), "state store unavailable");
                ApiError::Unavailable {
                    message: "the state store is recovering from a failed write; try again shortly"
                        .into(),
                }
            }
            e => ApiError::Internal(crate::logging::chain(&e)),
        }
    }
}

/// For work that cannot fail (see [`super::blocking()`]).
impl From<Infallible> for ApiError {
    fn from(e: Infallible) -> ApiError {
        match e {}
    }
}

impl From<crate::invalid::Invalid> for ApiError {
    fn from(e: crate::invalid::Invalid) -> ApiError {
        ApiError::InvalidField {
            field: e.field,
            message: e.message,
        }
    }
}

impl From<FirewallError> for ApiError {
    fn from(e: FirewallError) -> ApiError {
        match e {
            FirewallError::Invalid(e) => e.into(),
            FirewallError::Nft(NftError::Refused { message }) => ApiError::Unprocessable {
                code: "ruleset_refused",
                message: format!("the kernel refused the ruleset, so nothing changed: {message}"),
            },
            FirewallError::Nft(e) => ApiError::Unavailable {
                message: format!("cannot drive the firewall: {e}"),
            },
            FirewallError::Store(e) => e.into(),
            FirewallError::CannotConfirm(message) => ApiError::Conflict {
                message: message.into(),
            },
            e @ FirewallError::ApplyTimedOut => ApiError::Unavailable {
                message: e.to_string(),
            },
            e @ FirewallError::NotManaged(_) => ApiError::Conflict {
                message: e.to_string(),
            },
        }
    }
}

impl From<ProxyError> for ApiError {
    fn from(e: ProxyError) -> ApiError {
        match e {
            ProxyError::Invalid(e) => e.into(),
            ProxyError::NotFound => ApiError::NotFound,
            e @ ProxyError::Exists(_) => ApiError::Conflict {
                message: e.to_string(),
            },
            ProxyError::Forbidden(message) => ApiError::Forbidden {
                code: "forbidden",
                message: message.into(),
            },
            ProxyError::Store(e) => e.into(),
        }
    }
}

/// A stream refused by the address's or the box's limit of open streams.
impl From<crate::http::limits::Refused> for ApiError {
    fn from(_: crate::http::limits::Refused) -> ApiError {
        ApiError::TooManyRequests {
            message: "too many open event streams from this address".into(),
        }
    }
}

impl From<ServersError> for ApiError {
    fn from(e: ServersError) -> ApiError {
        match e {
            ServersError::Invalid(e) => e.into(),
            ServersError::NotFound => ApiError::NotFound,
            e @ (ServersError::Quota(_)
            | ServersError::Deleting(_)
            | ServersError::Full(_)
            | ServersError::NoRoom(_)) => ApiError::Conflict {
                message: e.to_string(),
            },
            ServersError::Forbidden(message) => ApiError::Forbidden {
                code: "forbidden",
                message: message.into(),
            },
            // rcgen failing to sign is hearth's fault, never the caller's.
            ServersError::Certificate(e) => ApiError::Internal(e),
            // The box's own storage unreadable: nothing the caller did.
            e @ ServersError::Storage { .. } => ApiError::Internal(e.to_string()),
            ServersError::Store(e) => e.into(),
        }
    }
}

impl From<crate::system::units::UnitError> for ApiError {
    fn from(e: crate::system::units::UnitError) -> ApiError {
        use crate::system::units::UnitError;
        match e {
            e @ UnitError::NotAllowed(_) => ApiError::Forbidden {
                code: "forbidden",
                message: e.to_string(),
            },
            e @ (UnitError::JobFailed { .. } | UnitError::Refused { .. }) => {
                ApiError::Unprocessable {
                    code: "job_failed",
                    message: e.to_string(),
                }
            }
            e @ (UnitError::JobTimedOut { .. } | UnitError::Bus(_)) => ApiError::Unavailable {
                message: e.to_string(),
            },
        }
    }
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> ApiError {
        match e {
            UserError::Invalid { field, message } => ApiError::BadRequest {
                field: Some(field),
                message,
            },
            e @ (UserError::Exists(_)
            | UserError::LastAdmin
            | UserError::OwnsDomains(_)
            | UserError::OwnsServers(_)) => ApiError::Conflict {
                message: e.to_string(),
            },
            UserError::NotFound => ApiError::NotFound,
            UserError::Store(e) => e.into(),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Invalid { field, message } => ApiError::BadRequest {
                field: Some(field),
                message,
            },
            TokenError::NotFound => ApiError::NotFound,
            TokenError::Store(e) => e.into(),
        }
    }
}

impl From<TwoFactorError> for ApiError {
    fn from(e: TwoFactorError) -> ApiError {
        match e {
            e @ (TwoFactorError::NotEnrolling | TwoFactorError::AlreadyOn) => ApiError::Conflict {
                message: e.to_string(),
            },
            TwoFactorError::WrongCode => ApiError::BadRequest {
                field: Some("code"),
                message: "wrong code; check the time on your phone".into(),
            },
            TwoFactorError::NoUser => ApiError::NotFound,
            TwoFactorError::Store(e) => e.into(),
        }
    }
}

impl From<SetupError> for ApiError {
    fn from(e: SetupError) -> ApiError {
        match e {
            SetupError::Complete => ApiError::Gone {
                message: "setup is complete; sign in instead".into(),
            },
            SetupError::WrongCode => ApiError::Forbidden {
                code: "wrong_setup_code",
                message: "wrong setup code".into(),
            },
            SetupError::RateLimited => ApiError::TooManyRequests {
                message: "too many attempts; wait a minute".into(),
            },
            SetupError::NotClaimed => ApiError::Unauthorized {
                code: "unauthorized",
                message: "claim the box with the setup code first".into(),
            },
            SetupError::Invalid { field, message } => ApiError::BadRequest {
                field: Some(field),
                message,
            },
            e @ SetupError::Incomplete { .. } => ApiError::Conflict {
                message: e.to_string(),
            },
            e @ (SetupError::Store(_) | SetupError::CodeFile { .. }) => {
                ApiError::Internal(e.to_string())
            }
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(e: LoginError) -> ApiError {
        match e {
            LoginError::WrongCredentials => ApiError::Unauthorized {
                code: "unauthorized",
                message: "wrong username or password".into(),
            },
            e @ LoginError::SecondFactorRequired => ApiError::Forbidden {
                code: "totp_required",
                message: e.to_string(),
            },
            e @ LoginError::WrongSecondFactor => ApiError::Unauthorized {
                code: "totp_wrong",
                message: e.to_string(),
            },
            e @ LoginError::Throttled { retry_after } => ApiError::Throttled {
                message: e.to_string(),
                retry_after,
            },
            e @ LoginError::UsernameTooLong => ApiError::BadRequest {
                field: Some("username"),
                message: e.to_string(),
            },
            LoginError::Store(e) => e.into(),
        }
    }
}

impl From<PasswordChangeError> for ApiError {
    fn from(e: PasswordChangeError) -> ApiError {
        match e {
            e @ PasswordChangeError::WrongCurrent => ApiError::BadRequest {
                field: Some("current_password"),
                message: e.to_string(),
            },
            e @ PasswordChangeError::Refused(_) => ApiError::BadRequest {
                field: Some("new_password"),
                message: e.to_string(),
            },
            e @ PasswordChangeError::Throttled { retry_after } => ApiError::Throttled {
                message: e.to_string(),
                retry_after,
            },
            PasswordChangeError::NoAccount => ApiError::sign_in_first(),
            PasswordChangeError::Store(e) => e.into(),
        }
    }
}

/// `?topics=` named a topic there is none of.
impl From<TopicsError> for ApiError {
    fn from(e: TopicsError) -> ApiError {
        ApiError::BadRequest {
            field: Some("topics"),
            message: e.to_string(),
        }
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

    #[test]
    fn firewall_errors_map_as_the_api_promises() {
        use crate::firewall::model::Invalid;
        let invalid = Invalid {
            field: "allow[2].ports".into(),
            message: "must be a port".into(),
        };
        assert_eq!(
            mapped(FirewallError::Invalid(invalid)),
            (
                400,
                "bad_request",
                Some("allow[2].ports".into()),
                "allow[2].ports must be a port".into()
            )
        );
        let refused = NftError::Refused {
            message: "Error: syntax error".into(),
        };
        let (status, code, field, message) = mapped(FirewallError::Nft(refused));
        assert_eq!((status, code, field), (422, "ruleset_refused", None));
        assert!(
            message.contains("nothing changed: Error: syntax error"),
            "{message}"
        );
        let (status, code, ..) = mapped(FirewallError::CannotConfirm("too early"));
        assert_eq!((status, code), (409, "conflict"));
        let (status, ..) = mapped(FirewallError::ApplyTimedOut);
        assert_eq!(status, 503);
        assert_eq!(mapped(FirewallError::Store(store_error())), internal());
    }

    #[test]
    fn every_domain_error_maps_as_the_api_promises() {
        use crate::auth::PasswordError;
        use std::time::Duration;
        let conflict = |m: &str| (409, "conflict", None, m.to_string());
        let bad = |f: &str, m: &str| (400, "bad_request", Some(f.to_string()), m.to_string());
        let minute = Duration::from_secs(60);

        assert_eq!(mapped(store_error()), internal());

        assert_eq!(
            mapped(UserError::Invalid {
                field: "username",
                message: "username too long".into()
            }),
            bad("username", "username too long")
        );
        assert_eq!(
            mapped(UserError::Exists("ann".into())),
            conflict("user ann already exists")
        );
        assert_eq!(
            mapped(UserError::NotFound),
            (404, "not_found", None, "no such resource".into())
        );
        assert_eq!(
            mapped(UserError::LastAdmin),
            conflict("the last enabled admin cannot be removed, disabled or demoted")
        );
        assert_eq!(mapped(UserError::Store(store_error())), internal());

        assert_eq!(
            mapped(TokenError::Invalid {
                field: "name",
                message: "name is empty".into()
            }),
            bad("name", "name is empty")
        );
        assert_eq!(mapped(TokenError::NotFound).0, 404);
        assert_eq!(mapped(TokenError::Store(store_error())), internal());

        assert_eq!(
            mapped(TwoFactorError::NotEnrolling),
            conflict("start the enrolment first")
        );
        assert_eq!(
            mapped(TwoFactorError::AlreadyOn),
            conflict("two-factor login is already on; turn it off first")
        );
        assert_eq!(
            mapped(TwoFactorError::WrongCode),
            bad("code", "wrong code; check the time on your phone")
        );
        assert_eq!(mapped(TwoFactorError::NoUser).0, 404);
        assert_eq!(mapped(TwoFactorError::Store(store_error())), internal());

        assert_eq!(
            mapped(SetupError::Complete),
            (
                410,
                "gone",
                None,
                "gone: setup is complete; sign in instead".into()
            )
        );
        assert_eq!(
            mapped(SetupError::WrongCode),
            (403, "wrong_setup_code", None, "wrong setup code".into())
        );
        assert_eq!(
            mapped(SetupError::RateLimited),
            (
                429,
                "too_many_requests",
                None,
                "too many attempts; wait a minute".into()
            )
        );
        assert_eq!(
            mapped(SetupError::NotClaimed),
            (
                401,
                "unauthorized",
                None,
                "claim the box with the setup code first".into()
            )
        );
        assert_eq!(
            mapped(SetupError::Invalid {
                field: "hostname",
                message: "hostname too long".into()
            }),
            bad("hostname", "hostname too long")
        );
        assert_eq!(
            mapped(SetupError::Incomplete {
                missing: "the host name"
            }),
            conflict("not ready to finish: the host name is not set yet")
        );
        assert_eq!(mapped(SetupError::Store(store_error())), internal());
        assert_eq!(
            mapped(SetupError::CodeFile {
                path: "/run/hearth/setup-code".into(),
                source: std::io::ErrorKind::PermissionDenied.into(),
            }),
            internal()
        );

        assert_eq!(
            mapped(LoginError::WrongCredentials),
            (
                401,
                "unauthorized",
                None,
                "wrong username or password".into()
            )
        );
        let (status, code, _, _) = mapped(LoginError::SecondFactorRequired);
        assert_eq!((status, code), (403, "totp_required"));
        let (status, code, _, _) = mapped(LoginError::WrongSecondFactor);
        assert_eq!((status, code), (401, "totp_wrong"));
        assert_eq!(
            mapped(LoginError::Throttled {
                retry_after: minute
            }),
            (
                429,
                "too_many_requests",
                None,
                "too many failed attempts; try again in 60 s".into()
            )
        );
        assert!(matches!(
            LoginError::Throttled {
                retry_after: minute
            }
            .into(),
            ApiError::Throttled { retry_after, .. } if retry_after == minute
        ));
        assert_eq!(mapped(LoginError::Store(store_error())), internal());

        assert_eq!(
            mapped(PasswordChangeError::WrongCurrent),
            bad("current_password", "is not your current password")
        );
        assert_eq!(
            mapped(PasswordChangeError::Refused(
                PasswordError::ContainsUsername
            )),
            bad("new_password", "must not contain the username")
        );
        assert!(matches!(
            PasswordChangeError::Throttled {
                retry_after: minute
            }
            .into(),
            ApiError::Throttled { retry_after, .. } if retry_after == minute
        ));
        assert_eq!(
            mapped(PasswordChangeError::NoAccount),
            (401, "unauthorized", None, "sign in first".into())
        );
        assert_eq!(
            mapped(PasswordChangeError::Store(store_error())),
            internal()
        );

        let topics = crate::events::TopicSet::parse(Some("nope")).unwrap_err();
        let message = topics.to_string();
        assert_eq!(mapped(topics), bad("topics", &message));
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

    #[tokio::test]
    async fn internal_detail_is_not_sent() {
        let r = ApiError::Internal("/var/lib/hearth/state.redb: io error".into()).into_response();
        assert_eq!(r.status(), 500);
        let v = body_json(r).await;
        assert_eq!(v["error"]["message"], "internal error");
    }
}
