//! The embedded pages and their assets (from `src/web/`, compiled into
//! the binary: no build step, no CDN, nothing fetched from elsewhere).

use http::{HeaderValue, StatusCode, header};

use super::response::{Response, full};

pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

pub const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/index.html"),
    },
    Asset {
        path: "/assets/status.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/status.js"),
    },
    Asset {
        path: "/assets/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../web/style.css"),
    },
    Asset {
        path: "/setup",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/setup.html"),
    },
    Asset {
        path: "/assets/setup.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/setup.js"),
    },
    Asset {
        path: "/login",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/login.html"),
    },
    Asset {
        path: "/assets/login.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/login.js"),
    },
    Asset {
        path: "/account",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/account.html"),
    },
    Asset {
        path: "/admin",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../web/admin.html"),
    },
    Asset {
        path: "/assets/shell.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/shell.js"),
    },
    Asset {
        path: "/assets/history.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/history.js"),
    },
    Asset {
        path: "/assets/status.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../web/status.css"),
    },
    Asset {
        path: "/assets/account.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/account.js"),
    },
    Asset {
        path: "/assets/admin.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../web/admin.js"),
    },
    Asset {
        path: "/favicon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../web/favicon.svg"),
    },
];

pub fn find(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

pub fn serve(asset: &'static Asset) -> Response {
    let mut r = http::Response::new(full(asset.body));
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

/// The page a browser gets for a path that is none of the above: plain
/// HTML under the same CSP as the others (no script, no inline style).
const NOT_FOUND_PAGE: &[u8] = include_bytes!("../web/notfound.html");

/// 404 with the "page not found" page.
pub fn not_found() -> Response {
    let mut r = http::Response::new(full(NOT_FOUND_PAGE));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}
