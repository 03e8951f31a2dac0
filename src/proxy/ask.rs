//! The endpoint Caddy asks before it gets an on-demand certificate
//! (`tls.automation.on_demand.ask`): `GET /ask?domain=NAME` answers 200
//! for a name hearth serves and 403 for any other, so that nobody can
//! make the box request certificates for names that are not configured
//! (a CA's rate limits are per account, and every name it issued for is
//! logged publicly). It answers from the service's memory, never the
//! store, and listens on loopback only: Caddy 2.6 takes a plain HTTP URL
//! here. Only wildcard domains use it; a configured name's certificate
//! is managed ahead of time and keeps working while hearth is down.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::service::ProxyService;

/// The path Caddy is given.
pub const PATH: &str = "/ask";

/// Serves on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    service: Arc<ProxyService>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "the on-demand ask endpoint could not accept");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let service = service.clone();
        tokio::spawn(async move {
            let answer = service_fn(move |req| {
                let service = service.clone();
                async move { Ok::<_, Infallible>(answer(&service, &req)) }
            });
            // Caddy's requests are tiny; a stuck client only holds its task.
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), answer)
                .await;
        });
    }
}

fn answer<B>(service: &ProxyService, req: &Request<B>) -> Response<Full<Bytes>> {
    let domain = (req.method() == hyper::Method::GET && req.uri().path() == PATH)
        .then(|| crate::query::param(req.uri(), "domain"))
        .flatten();
    let (status, text) = match domain {
        None => (StatusCode::NOT_FOUND, "ask with GET /ask?domain=NAME\n"),
        Some(name) if service.may_certify(&name) => (StatusCode::OK, "yes\n"),
        Some(name) => {
            tracing::info!(name = %name.chars().take(253).collect::<String>(), "refused an on-demand certificate for a name hearth does not serve");
            (StatusCode::FORBIDDEN, "not a name this box serves\n")
        }
    };
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::model::SiteName;
    use crate::proxy::testkit::lab;

    fn status(service: &ProxyService, method: &str, uri: &str) -> StatusCode {
        let req = Request::builder().method(method).uri(uri).body(()).unwrap();
        answer(service, &req).status()
    }

    #[test]
    fn answers_for_configured_names_only_and_only_to_the_question() {
        let lab = lab();
        lab.service
            .set_names(vec![SiteName::try_from("app.example.org").unwrap()]);
        let cases = [
            ("GET", "/ask?domain=app.example.org", StatusCode::OK),
            ("GET", "/ask?domain=evil.example.org", StatusCode::FORBIDDEN),
            ("GET", "/ask", StatusCode::NOT_FOUND),
            ("POST", "/ask?domain=app.example.org", StatusCode::NOT_FOUND),
            (
                "GET",
                "/other?domain=app.example.org",
                StatusCode::NOT_FOUND,
            ),
        ];
        for (method, uri, want) in cases {
            assert_eq!(status(&lab.service, method, uri), want, "{method} {uri}");
        }
    }
}
