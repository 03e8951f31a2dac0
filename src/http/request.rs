//! Request helpers for handlers: cookies, JSON bodies, the CSRF check, and
//! the cookie attributes every session cookie gets.

use bytes::Bytes;
use http::{HeaderValue, Request, header};
use serde::Deserializer;
use serde::de::{DeserializeOwned, Visitor};

use super::error::ApiError;
use super::origin::{OwnHost, is_own};

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
/// `x`", "unknown field `x`") that is one of `T`'s own (see
/// [`fields_of`]), the error carries it.
///
/// A body must say it is JSON (`Content-Type: application/json`, any
/// parameters): anything else is a 415, never guessed at.
pub fn json_body<T: DeserializeOwned>(req: &Request<Bytes>) -> Result<T, ApiError> {
    if !req.body().is_empty() && !is_json(req.headers().get(header::CONTENT_TYPE)) {
        return Err(ApiError::UnsupportedMediaType {
            expected: "application/json",
        });
    }
    serde_json::from_slice(req.body()).map_err(|e| {
        let message = e.to_string();
        let named = message.split('`').nth(1).unwrap_or("");
        let field = fields_of::<T>().iter().copied().find(|f| *f == named);
        ApiError::BadRequest {
            field,
            message: format!("invalid JSON body: {message}"),
        }
    })
}

/// The names of a body type's fields, as its JSON spells them: what
/// serde's derive hands to `deserialize_struct`, read by asking the type
/// to deserialize itself from `FieldNames`. None for a type that is no
/// plain struct (a map, a flattened struct, a list).
pub fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // It always fails: it only listens for the fields.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

/// A deserializer that holds no value: it keeps the field names of the
/// struct asked of it, and refuses everything.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom("no value here"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(serde::de::Error::custom("no value here"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// Whether a `Content-Type` value is `application/json` (parameters such
/// as `charset=utf-8` allowed).
fn is_json(value: Option<&HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// A state-changing request from a browser must come from the box's own
/// pages: `Origin`, if present, must name one of the box's own hosts
/// (`own_hosts`, asked only then; see `origin`), and `Sec-Fetch-Site`
/// (sent by every current browser), if present, must be `same-origin` or
/// `none` (typed in the address bar). `none` never excuses a foreign
/// `Origin`. Scripts send neither and are not checked: they carry a
/// token, not the browser's cookie.
pub fn same_origin(
    req: &Request<Bytes>,
    own_hosts: impl FnOnce() -> Vec<OwnHost>,
) -> Result<(), ApiError> {
    let refuse = || ApiError::Forbidden {
        code: "cross_origin",
        message: "cross-site request refused".into(),
    };
    if let Some(site) = req.headers().get("sec-fetch-site")
        && !matches!(site.to_str().unwrap_or(""), "same-origin" | "none")
    {
        return Err(refuse());
    }
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().map_err(|_| refuse())?;
        if !is_own(origin, &own_hosts()) {
            return Err(refuse());
        }
    }
    Ok(())
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
            assert!(json_body::<Named>(&req(&[("content-type", ok)], body)).is_ok());
        }
        for refused in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let headers: Vec<_> = refused.map(|v| ("content-type", v)).into_iter().collect();
            let e = json_body::<Named>(&req(&headers, body)).unwrap_err();
            assert!(
                matches!(e, ApiError::UnsupportedMediaType { .. }),
                "{refused:?}: {e:?}"
            );
            assert_eq!(e.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
        // No body at all: the JSON error, naming what is missing.
        let e = json_body::<Named>(&req(&[], "")).unwrap_err();
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
        let json = |body: &str| json_body::<B>(&req(&[("content-type", "application/json")], body));
        match json("{}") {
            Err(ApiError::BadRequest {
                field: Some("code"),
                ..
            }) => {}
            other => panic!("{other:?}"),
        }
        match json("{\"code\":\"x\",\"extra\":1}") {
            Err(ApiError::BadRequest {
                field: None,
                message,
            }) => {
                assert!(message.contains("extra"))
            }
            other => panic!("{other:?}"),
        }
        assert!(json("not json").is_err());
    }

    #[test]
    fn a_body_types_fields_are_its_jsons() {
        #[derive(serde::Deserialize)]
        #[allow(dead_code)]
        struct Inner {
            port: u16,
        }
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Outer {
            name: String,
            #[serde(rename = "expires_at")]
            expires: Option<u64>,
            #[serde(default)]
            inner: Option<Inner>,
        }
        // As the JSON spells them; a nested struct's are not the body's.
        assert_eq!(fields_of::<Outer>(), ["name", "expires_at", "inner"]);
        assert_eq!(fields_of::<Inner>(), ["port"]);
        // Nothing to name in what is no struct.
        assert!(fields_of::<serde_json::Value>().is_empty());
        assert!(fields_of::<Vec<Inner>>().is_empty());
        assert!(fields_of::<String>().is_empty());
    }

    #[test]
    fn cross_origin_refused() {
        let own = || vec![OwnHost::name("box")];
        let check = |headers: &[(&str, &str)]| same_origin(&req(headers, ""), own);
        assert!(check(&[("sec-fetch-site", "same-origin")]).is_ok());
        assert!(check(&[("sec-fetch-site", "none")]).is_ok());
        assert!(check(&[("sec-fetch-site", "cross-site")]).is_err());
        assert!(check(&[("sec-fetch-site", "same-site")]).is_err());
        assert!(check(&[("origin", "https://box:8443"), ("host", "box:8443")]).is_ok());
        assert!(check(&[("origin", "https://evil.example"), ("host", "box")]).is_err());
        // The Host a page sends proves nothing: a name rebound to the
        // box's address sends its own in both.
        assert!(
            check(&[
                ("origin", "https://rebound.example:8443"),
                ("host", "rebound.example:8443"),
                ("sec-fetch-site", "same-origin"),
            ])
            .is_err()
        );
        // `none` does not excuse a foreign Origin.
        assert!(
            check(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "none")
            ])
            .is_err()
        );
        assert!(check(&[("origin", "null")]).is_err());
        assert!(check(&[]).is_ok(), "no browser, no check");
        // The box's hosts are asked for only when there is an Origin.
        assert!(same_origin(&req(&[], ""), || unreachable!()).is_ok());
    }
}
