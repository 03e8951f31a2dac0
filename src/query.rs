//! The query string of a request's URI, read the same by the API's
//! handlers and by the proxy's on-demand-certificate endpoint.

use http::Uri;

/// The first value of `name` in the query, percent-decoded.
pub fn param(uri: &Uri, name: &str) -> Option<String> {
    let query = uri.query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes() {
        let uri: Uri = "/x?topics=system%2Chealth&range=1h".parse().unwrap();
        assert_eq!(param(&uri, "topics").as_deref(), Some("system,health"));
        assert_eq!(param(&uri, "range").as_deref(), Some("1h"));
        assert_eq!(param(&uri, "nope"), None);
        assert_eq!(param(&"/x".parse().unwrap(), "topics"), None);
    }
}
