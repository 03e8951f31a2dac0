//! The embedded pages and their assets (from `src/web/`, compiled into
//! the binary: no build step, no CDN, nothing fetched from elsewhere).
//!
//! A page's file holds only what is its own: its `<title>`, scripts and
//! style sheets, then a `<!-- body -->` line and its content. The frame
//! every page shares (the document head, the header the shell fills in)
//! is `layout.html`, put around each page once, on first use.

use std::sync::LazyLock;

use bytes::Bytes;
use http::{HeaderValue, StatusCode, header};

use super::response::{Response, full};

pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: Bytes,
}

const HTML: &str = "text/html; charset=utf-8";

/// The frame: `{head}` and `{body}` are replaced by a page's two parts.
const LAYOUT: &str = include_str!("../web/layout.html");

/// The line in a page's file between its head part and its body.
const BODY_MARK: &str = "<!-- body -->\n";

/// Path and file of each page.
const PAGES: &[(&str, &str)] = &[
    ("/", include_str!("../web/index.html")),
    ("/setup", include_str!("../web/setup.html")),
    ("/login", include_str!("../web/login.html")),
    ("/account", include_str!("../web/account.html")),
    ("/admin", include_str!("../web/admin.html")),
    ("/domains", include_str!("../web/domains.html")),
    ("/servers", include_str!("../web/servers.html")),
];

/// Path, content type and bytes of every other asset.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/assets/status.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/status.js"),
    ),
    (
        "/assets/style.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/style.css"),
    ),
    (
        "/assets/setup.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/setup.js"),
    ),
    (
        "/assets/login.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/login.js"),
    ),
    (
        "/assets/shell.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/shell.js"),
    ),
    (
        "/assets/history.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/history.js"),
    ),
    (
        "/assets/status.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/status.css"),
    ),
    (
        "/assets/account.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/account.js"),
    ),
    (
        "/assets/admin.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/admin.js"),
    ),
    (
        "/assets/domains.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/domains.js"),
    ),
    (
        "/assets/servers.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/servers.js"),
    ),
    (
        "/favicon.svg",
        "image/svg+xml",
        include_bytes!("../web/favicon.svg"),
    ),
];

/// The page a browser gets for a path that is none of the above: plain
/// HTML under the same CSP as the others (no script, no inline style).
const NOT_FOUND_PAGE: &str = include_str!("../web/notfound.html");

/// A page's file put into the layout.
fn render(page: &str) -> String {
    // The page files are ours and tested (every page is served in the
    // tests): a missing mark is a bug in the source tree, caught there.
    let (head, body) = page
        .split_once(BODY_MARK)
        .expect("every page file has a <!-- body --> line");
    LAYOUT
        .replacen("{head}", head, 1)
        .replacen("{body}", body, 1)
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    let pages = PAGES.iter().map(|(path, page)| Asset {
        path,
        content_type: HTML,
        body: Bytes::from(render(page)),
    });
    let files = FILES.iter().map(|(path, content_type, body)| Asset {
        path,
        content_type,
        body: Bytes::from_static(body),
    });
    pages.chain(files).collect()
});

static NOT_FOUND: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(render(NOT_FOUND_PAGE)));

pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

pub fn serve(asset: &'static Asset) -> Response {
    let mut r = http::Response::new(full(asset.body.clone()));
    *r.status_mut() = StatusCode::OK;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    // Small and part of the binary: revalidate, so an upgrade shows at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// 404 with the "page not found" page.
pub fn not_found() -> Response {
    let mut r = http::Response::new(full(NOT_FOUND.clone()));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(HTML));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_is_a_whole_document_with_its_own_title() {
        for (path, page) in PAGES.iter().chain([&("404", NOT_FOUND_PAGE)]) {
            let html = render(page);
            assert!(html.starts_with("<!doctype html>\n"), "{path}");
            assert!(html.ends_with("</body>\n</html>\n"), "{path}");
            assert_eq!(html.matches("<title>hearth — ").count(), 1, "{path}");
            assert!(
                !html.contains("{head}") && !html.contains("{body}"),
                "{path}"
            );
            let head = &html[..html.find("</head>").unwrap()];
            assert!(
                !head.contains("<main"),
                "{path}: its content is in the body"
            );
        }
    }

    #[test]
    fn pages_and_files_are_found_by_path() {
        assert_eq!(find("/").unwrap().content_type, HTML);
        assert!(find("/assets/shell.js").is_some());
        assert!(find("/assets/nothing.js").is_none());
    }
}
