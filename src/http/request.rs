//! Request helpers for handlers: cookies, JSON bodies, the CSRF check, and
//! the cookie attributes every session cookie gets.

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// The value of cookie `name`, if sent.
pub fn cookie<'a>(req: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Whether the client takes HTML (`Accept` names `text/html`): a browser
/// loading a page, not a script or the pages' own `fetch` calls.
pub fn accepts_html<B>(req: &Request<B>) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|media| {
            media
                .split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("text/html"))
        })
}

/// `__Host-` cookie: Secure, Path=/, no Domain; HttpOnly and
/// SameSite=Strict so scripts and other sites cannot use it.
pub fn session_cookie(name: &str, value: &str, max_age_s: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age_s}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .expect("cookie names and base64url values are valid header text")
}

/// A cookie that deletes `name`.
pub fn expired_cookie(name: &str) -> HeaderValue {
    session_cookie(name, "", 0)
}

/// Parses a JSON body into `T`. When serde names a field ("missing field
/// `x`", "unknown field `x`") that is one of `fields` (the body's known
/// fields), the error carries it.
///
/// A body must say it is JSON (`Content-Type: application/json`, any
/// parameters): anything else is a 415, never guessed at.
pub fn json_body<T: DeserializeOwned>(
    req: &Request<Bytes>,
    fields: &[&'static str],
) -> Result<T, ApiError> {
    if !req.body().is_empty() && !is_json(req.headers().get(header::CONTENT_TYPE)) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    serde_json::from_slice(req.body()).map_err(|e| {
        let message = e.to_string();
        let named = message.split('`').nth(1).unwrap_or("");
        let field = fields.iter().copied().find(|f| *f == named);
        ApiError::BadRequest {
            field,
            message: format!("invalid JSON body: {message}"),
        }
    })
}

/// Whether a `Content-Type` value is `application/json` (parameters such
/// as `charset=utf-8` allowed).
fn is_json(value: Option<&HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A state-changing request that carries a cookie must come from our own
/// pages: `Sec-Fetch-Site` (sent by every current browser) must be
/// `same-origin` or `none`, and otherwise `Origin`, if present, must be
/// this host. Scripts without a cookie (API tokens) are not browsers and
/// are not checked.
pub fn same_origin(req: &Request<Bytes>) -> Result<(), ApiError> {
    let refuse = || ApiError::Forbidden {
        code: "cross_origin",
        message: "cross-site request refused".into(),
    };
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return match site.to_str().unwrap_or("") {
            "same-origin" | "none" => Ok(()),
            _ => Err(refuse()),
        };
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    match (origin.to_str().ok(), host) {
        (Some(o), Some(h)) if o == format!("https://{h}") => Ok(()),
        _ => Err(refuse()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], body: &str) -> Request<Bytes> {
        let mut b = Request::builder().uri("/x");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Bytes::from(body.to_string())).unwrap()
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Named {
        name: String,
    }

    #[test]
    fn a_body_is_json_only_when_it_says_so() {
        let body = r#"{"name":"x"}"#;
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
        ] {
            assert!(json_body::<Named>(&req(&[("content-type", ok)], body), &["name"]).is_ok());
        }
        for refused in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let headers: Vec<_> = refused.map(|v| ("content-type", v)).into_iter().collect();
            let e = json_body::<Named>(&req(&headers, body), &["name"]).unwrap_err();
            assert!(
                matches!(e, ApiError::UnsupportedMediaType { .. }),
                "{refused:?}: {e:?}"
            );
            assert_eq!(e.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        // No body at all: the JSON error, naming what is missing.
        let e = json_body::<Named>(&req(&[], ""), &["name"]).unwrap_err();
        assert!(matches!(e, ApiError::BadRequest { .. }), "{e:?}");
    }

    #[test]
    fn html_is_what_browsers_loading_a_page_accept() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(accepts_html(&req(&[("accept", browser)], "")));
        assert!(accepts_html(&req(&[("accept", "Text/HTML; q=0.5")], "")));
        assert!(!accepts_html(&req(&[("accept", "*/*")], "")));
        assert!(!accepts_html(&req(&[("accept", "application/json")], "")));
        assert!(!accepts_html(&req(&[("accept", "text/htmlx")], "")));
        assert!(!accepts_html(&req(&[], "")));
    }

    #[test]
    fn cookies() {
        let r = req(&[("cookie", "a=1; __Host-hearth_setup=xyz; b=2")], "");
        assert_eq!(cookie(&r, "__Host-hearth_setup"), Some("xyz"));
        assert_eq!(cookie(&r, "c"), None);
        let c = session_cookie("__Host-hearth_setup", "v", 60);
        let c = c.to_str().unwrap();
        for attr in [
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=60",
        ] {
            assert!(c.contains(attr), "{c}");
        }
        assert!(!c.contains("Domain"));
    }

    #[test]
    fn json_errors_name_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            code: String,
        }
        match json_body::<B>(
            &req(&[("content-type", "application/json")], "{}"),
            &["code"],
        ) {
            Err(ApiError::BadRequest {
                field: Some("code"),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        match json_body::<B>(
            &req(
                &[("content-type", "application/json")],
                "{\"code\":\"x\",\"extra\":1}",
            ),
            &["code"],
        ) {
            Err(ApiError::BadRequest {
                field: None,
                message,
            }) => {
                assert!(message.contains("extra"))
            }
            other => panic!("{other:?}"),
        }
        assert!(
            json_body::<B>(
                &req(&[("content-type", "application/json")], "not json"),
                &["code"]
            )
            .is_err()
        );
    }

    #[test]
    fn cross_origin_refused() {
        assert!(same_origin(&req(&[("sec-fetch-site", "same-origin")], "")).is_ok());
        assert!(same_origin(&req(&[("sec-fetch-site", "cross-site")], "")).is_err());
        assert!(same_origin(&req(&[("sec-fetch-site", "same-site")], "")).is_err());
        assert!(
            same_origin(&req(
                &[("origin", "https://box:8443"), ("host", "box:8443")],
                ""
            ))
            .is_ok()
        );
        assert!(
            same_origin(&req(
                &[("origin", "https://evil.example"), ("host", "box")],
                ""
            ))
            .is_err()
        );
        assert!(same_origin(&req(&[], "")).is_ok(), "no browser, no check");
    }
}
