//! The HTTPS listener's limits and its error replies, against the binary.

use hearth_testkit as common;

use std::time::Duration;

use bytes::Bytes;
use common::{Daemon, Options, Protocol, eventually, read_until_closed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn unknown_path_404_and_wrong_method_405_with_json_errors() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let r = client.get("/api/v1/nothing-here").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");

    let r = client
        .request(Protocol::Http2, "DELETE", "/api/v1/health", None)
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "GET, HEAD");
    assert_eq!(r.json()["error"]["code"], "method_not_allowed");
}

/// What a browser sends when it loads a page.
const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

#[tokio::test]
async fn browsers_get_a_404_page_and_api_clients_json() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let html = [("accept", BROWSER_ACCEPT)];
    let r = client.send("GET", "/no/such/page", "", &[], &html).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8(r.body.to_vec()).unwrap();
    assert!(page.contains("<h1>Page not found</h1>"), "{page}");
    assert!(page.contains("<a href=\"/\">"), "{page}");
    assert!(page.contains("href=\"/assets/style.css\""), "{page}");
    assert!(!page.contains("<script") && !page.contains("<style"));
    let csp = r.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    // The stylesheet it names is there.
    let css = client.call("GET", "/assets/style.css", "").await;
    assert_eq!(css.status, 200);

    // Under /api/, and for every client that does not ask for HTML: JSON.
    let r = client
        .send("GET", "/api/v1/nothing-here", "", &[], &html)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"]["code"], "not_found");
    for accept in ["application/json", "*/*"] {
        let r = client
            .send("GET", "/no/such/page", "", &[], &[("accept", accept)])
            .await;
        assert_eq!(r.status, 404, "{accept}");
        assert_eq!(r.json()["error"]["code"], "not_found", "{accept}");
    }
    let r = client.get("/no/such/page").await;
    assert_eq!(r.json()["error"]["code"], "not_found");
    // Known pages are still pages.
    let r = client.send("GET", "/", "", &[], &html).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    for path in ["/api/v1/health", "/nope"] {
        let r = client.get(path).await;
        let h = &r.headers;
        assert!(
            h["strict-transport-security"]
                .to_str()
                .unwrap()
                .starts_with("max-age=")
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "no-referrer");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }
}

/// Sends only the request head (the server must answer from it) and
/// returns the status line.
async fn status_for_head(d: &Daemon, head: &str) -> String {
    let mut tls = d.client().connect(&[b"http/1.1"]).await.unwrap();
    tls.write_all(head.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await;
    String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[tokio::test]
async fn a_target_naming_another_host_than_host_is_refused() {
    let d = Daemon::start(Options::default());
    let other = "GET https://elsewhere.example/api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(status_for_head(&d, other).await, "HTTP/1.1 400 Bad Request");
    let same = "GET https://localhost/api/v1/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(status_for_head(&d, same).await, "HTTP/1.1 200 OK");
}

#[tokio::test]
async fn a_json_body_sent_as_text_is_415() {
    let d = Daemon::start(Options::default());
    let body = r#"{"username":"admin","password":"x"}"#;
    let head = format!(
        "POST /api/v1/session HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    assert_eq!(
        status_for_head(&d, &head).await,
        "HTTP/1.1 415 Unsupported Media Type"
    );
}

#[tokio::test]
async fn oversized_body_gets_413_from_its_declared_length() {
    let d = Daemon::start(Options::default());
    let over = "POST /api/v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048577\r\n\r\n";
    assert_eq!(
        status_for_head(&d, over).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    // On an unknown path too: the size is checked before routing.
    let over = "PUT /nowhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999\r\n\r\n";
    assert_eq!(
        status_for_head(&d, over).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    // HTTP/2, with the body sent.
    let r = d
        .client()
        .request(
            Protocol::Http2,
            "POST",
            "/api/v1/health",
            Some(Bytes::from(vec![b'x'; 1024 * 1024 + 1])),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["error"]["code"], "payload_too_large");
    // Exactly at the limit is not too large (the route then says 405).
    // Bodies without a declared length, and slow bodies (408), are tested
    // on `read_body` in src/http/server.rs: no route takes a body yet.
    let at = "POST /api/v1/health HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1048576\r\n\r\n";
    assert_eq!(
        status_for_head(&d, at).await,
        "HTTP/1.1 405 Method Not Allowed"
    );
}

#[tokio::test]
async fn a_connection_that_sends_nothing_after_the_handshake_is_closed() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let mut h1 = client.connect(&[b"http/1.1"]).await.unwrap();
    let mut h2 = client.connect(&[b"h2"]).await.unwrap();
    // An HTTP/2 client that sends only the connection preface.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .await
        .unwrap();
    h2.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).await.unwrap(); // empty SETTINGS
    let (mut got1, mut got2) = (Vec::new(), Vec::new());
    // Still open 5 s in (the limit is 10 s)...
    let (a, b) = tokio::join!(
        read_until_closed(&mut h1, &mut got1, Duration::from_secs(5)),
        read_until_closed(&mut h2, &mut got2, Duration::from_secs(5)),
    );
    assert!(!a, "idle HTTP/1.1 connection closed before the 10 s limit");
    assert!(!b, "idle HTTP/2 connection closed before the 10 s limit");
    // ...and closed after it.
    let (a, b) = tokio::join!(
        read_until_closed(&mut h1, &mut got1, Duration::from_secs(20)),
        read_until_closed(&mut h2, &mut got2, Duration::from_secs(20)),
    );
    assert!(a, "idle HTTP/1.1 connection still open after 25 s");
    assert!(b, "idle HTTP/2 connection still open after 25 s");
}

#[tokio::test]
async fn a_client_that_sends_headers_too_slowly_is_cut_off() {
    let d = Daemon::start(Options::default());
    let client = d.client();
    let mut tls = client.connect(&[b"http/1.1"]).await.unwrap();
    tls.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    // The headers never end; the server must close at its 10 s limit:
    // not within 5 s, but within 20 s (plus slack), answering 408 or just
    // closing.
    let mut buf = Vec::new();
    assert!(
        !read_until_closed(&mut tls, &mut buf, Duration::from_secs(5)).await,
        "cut off before the header timeout: {:?}",
        String::from_utf8_lossy(&buf)
    );
    assert!(
        read_until_closed(&mut tls, &mut buf, Duration::from_secs(15)).await,
        "connection still open after 20 s"
    );
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "unexpected reply: {text}"
    );
}

#[tokio::test]
async fn a_client_that_never_finishes_the_handshake_is_cut_off() {
    let d = Daemon::start(Options::default());
    let mut tcp = tokio::net::TcpStream::connect(d.addr()).await.unwrap();
    let mut buf = Vec::new();
    assert!(
        !read_until_closed(&mut tcp, &mut buf, Duration::from_secs(5)).await,
        "closed before the 10 s handshake limit"
    );
    assert!(
        read_until_closed(&mut tcp, &mut buf, Duration::from_secs(15)).await,
        "expected the server to close within 20 s"
    );
    assert!(buf.is_empty(), "the server sent {buf:?}");
}

#[tokio::test]
async fn connections_over_the_per_address_cap_are_refused() {
    let d = Daemon::start(Options {
        config: "[limits]\nmax_connections_per_address = 2\n".into(),
        ..Options::default()
    });
    let client = d.client();
    let _a = client.connect(&[b"http/1.1"]).await.unwrap();
    let _b = client.connect(&[b"http/1.1"]).await.unwrap();
    assert!(
        client.connect(&[b"http/1.1"]).await.is_err(),
        "a third connection from the same address must be refused"
    );
    drop(_a);
    // The slot frees when a connection closes.
    eventually(
        Duration::from_secs(5),
        "a freed slot used again",
        async || client.connect(&[b"http/1.1"]).await.map(drop),
    )
    .await;
}

#[tokio::test]
async fn tls_1_2_and_1_3_are_both_served() {
    // The server is rustls, which has no code for TLS 1.1 or older; check
    // that each of the two supported versions is negotiated when forced.
    let d = Daemon::start(Options::default());
    for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
        let mut roots = rustls::RootCertStore::empty();
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_file_iter(d.cert_path()).unwrap() {
            roots.add(c.unwrap()).unwrap();
        }
        let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(d.addr()).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .unwrap();
        assert_eq!(tls.get_ref().1.protocol_version(), Some(version.version));
    }
}
