//! A domain with `tls: "auto"` gets a real certificate over ACME, the
//! whole path without the internet: a network namespace of the test's own
//! holds a second Caddy acting as the ACME CA (its `acme_server` handler
//! on `acme.test:14000`, with its local CA) and the box's Caddy on ports
//! 80 and 443, which hearth (outside, over the admin socket) points at
//! that CA with `[proxy] acme_ca` and `acme_roots`. The CA validates the
//! name over HTTP-01 on port 80 inside the namespace, where the
//! namespace's own hosts file sends both names to 127.0.0.1.
//!
//! The domain is `app.example.com`, not a `.test` name: hearth refuses
//! `auto` under the private suffixes, as a public CA would never issue
//! for them.
//!
//! Needs root, iproute2, caddy, curl and openssl; a missing one fails the
//! test, saying what to install.

use hearth_testkit as common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::caddy_lab::{Backend, CaddyLab, WAIT};
use common::eventually_blocking;
use common::netns::NetNs;
use common::proxy_lab::{LabOptions, ProxyLab};
use common::require;

/// The ACME CA's name and HTTPS port inside the namespace.
const ACME_HOST: &str = "acme.test";
const ACME_PORT: u16 = 14000;
/// The member's domain: public-looking, so that `auto` is allowed.
const DOMAIN: &str = "app.example.com";

fn directory() -> String {
    format!("https://{ACME_HOST}:{ACME_PORT}/acme/local/directory")
}

/// Where Caddy keeps what an ACME issuer got for `name` from
/// [`directory`] (certmagic names the folder after the directory URL).
fn acme_cert_path(storage: &Path, name: &str) -> PathBuf {
    storage.join(format!(
        "certificates/{ACME_HOST}-{ACME_PORT}-acme-local-directory/{name}/{name}.crt"
    ))
}

/// Caddy as the ACME CA inside `ns`: the `acme_server` handler on
/// `acme.test:14000`, served with a certificate of its own local CA,
/// whose root the box must trust to talk ACME to it. Waits until the
/// directory answers.
fn start_acme_server(ns: &NetNs) -> CaddyLab {
    let acme = CaddyLab::start_in(Some(ns.name()));
    acme.load(json!({
        "http": {
            "http_port": 14080,
            "https_port": ACME_PORT,
            "servers": {"acme": {
                "listen": [format!(":{ACME_PORT}")],
                "automatic_https": {"disable_redirects": true},
                "routes": [{
                    "match": [{"host": [ACME_HOST]}],
                    "handle": [{"handler": "acme_server"}],
                    "terminal": true,
                }],
            }},
        },
        "tls": {"automation": {"policies": [{
            "subjects": [ACME_HOST],
            "issuers": [{"module": "internal"}],
        }]}},
    }));
    let root = acme.local_root_pem();
    eventually_blocking(WAIT, "the ACME directory to answer", || {
        let (status, body) = curl_in(ns, &root, &directory());
        if status == 200 && body.contains("newOrder") {
            Ok(())
        } else {
            Err(format!("{status} {body}\n{}", acme.log()))
        }
    });
    acme
}

/// `curl URL` inside `ns` (so with its hosts file), trusting `cacert`
/// only: (status, body), status 0 and curl's message when no HTTP answer
/// came.
fn curl_in(ns: &NetNs, cacert: &Path, url: &str) -> (u16, String) {
    let out = ns.output(
        "curl",
        &[
            "-sS",
            "--max-time",
            "10",
            "--cacert",
            cacert.to_str().unwrap(),
            "-w",
            "\n%{http_code}",
            url,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    match code.trim().parse() {
        Ok(status) if status != 0 => (status, body.to_string()),
        _ => (0, String::from_utf8_lossy(&out.stderr).into_owned()),
    }
}

/// `openssl ARGS` on the test's side; its stdout, trimmed.
fn openssl(args: &[&str]) -> String {
    let mut openssl = std::process::Command::new(require("openssl", "openssl"));
    let out = common::run_ok(openssl.args(args), &format!("openssl {args:?}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The seconds between Caddy's last `POST /load` before the certificate
/// for `name` and the certificate, from Caddy's JSON log; and the
/// challenge types it tried on the way, in order.
fn load_to_certificate(log: &str, name: &str) -> (Option<f64>, Vec<String>) {
    let mut last_load = None;
    let mut challenges = Vec::new();
    for line in log.lines() {
        let Ok(entry) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let ts = entry["ts"].as_f64();
        let msg = entry["msg"].as_str().unwrap_or_default();
        if entry["logger"] == "admin.api" && entry["uri"] == "/load" {
            last_load = ts;
        }
        if msg == "trying to solve challenge" && entry["identifier"] == name {
            challenges.push(entry["challenge_type"].as_str().unwrap_or("?").to_string());
        }
        if msg == "certificate obtained successfully" && entry["identifier"] == name {
            return (ts.zip(last_load).map(|(c, l)| c - l), challenges);
        }
    }
    (None, challenges)
}

#[test]
fn auto_tls_obtains_a_certificate_from_a_local_acme_server() {
    require("curl", "curl");
    require("openssl", "openssl");
    let ns = NetNs::new("acme");
    ns.set_hosts(&[ACME_HOST, DOMAIN]);
    let acme = start_acme_server(&ns);
    let acme_root = acme.local_root_pem();
    let acme_intermediate = acme.wait_for_file(
        &acme
            .storage_dir()
            .join("pki/authorities/local/intermediate.crt"),
    );

    let extra = format!(
        "acme_ca = {:?}\nacme_roots = {:?}\n",
        directory(),
        acme_root.to_str().unwrap()
    );
    let lab = ProxyLab::start_opts(LabOptions {
        extra: &extra,
        caddy_netns: Some(ns.name()),
        http_port: Some(80),
        https_port: Some(443),
        ..LabOptions::default()
    });
    let backend = Backend::start_in(ns.name(), "hello over acme");

    let posted = Instant::now();
    let r = lab.add(DOMAIN, backend.addr(), "auto");
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.json()["tls"], "auto", "{}", r.json());
    lab.wait_for_hosts(&[DOMAIN]);

    caddy_is_told_the_acme_ca_and_its_root(&lab, &acme_root);

    let cert = lab
        .caddy
        .wait_for_file(&acme_cert_path(&lab.caddy.storage_dir(), DOMAIN));
    let to_file = posted.elapsed();

    // Served, to a client inside the namespace that trusts the ACME CA's
    // root and nothing else, from the member's backend.
    eventually_blocking(
        WAIT,
        &format!("https://{DOMAIN}/ inside the namespace served by the backend"),
        || {
            let got = curl_in(&ns, &acme_root, &format!("https://{DOMAIN}/"));
            if got == (200, "hello over acme".to_string()) {
                Ok(())
            } else {
                Err(format!("{got:?}\n{}", lab.caddy.log()))
            }
        },
    );
    assert!(!backend.seen().is_empty(), "the backend saw the request");

    the_certificate_is_the_acme_cas(&lab, &ns, &cert, &acme_root, &acme_intermediate);
    the_record_is_applied(&lab);
    the_challenges_are_reported(&lab, to_file);
}

/// Caddy was told to use the local CA with its root, and nothing about
/// challenges: both HTTP-01 and TLS-ALPN-01 stay allowed.
fn caddy_is_told_the_acme_ca_and_its_root(lab: &ProxyLab, acme_root: &Path) {
    let policies = lab.caddy.running_config()["apps"]["tls"]["automation"]["policies"].clone();
    let issuer = &policies[0]["issuers"][0];
    assert_eq!(policies[0]["subjects"], json!([DOMAIN]), "{policies}");
    assert_eq!(issuer["module"], "acme", "{policies}");
    assert_eq!(issuer["ca"], directory(), "{policies}");
    assert_eq!(
        issuer["trusted_roots_pem_files"],
        json!([acme_root.to_str().unwrap()]),
        "{policies}"
    );
    assert!(issuer.get("challenges").is_none(), "{policies}");
}

/// The certificate is the ACME CA's: it chains to that CA's root (not
/// to the box's own local CA, which did not issue it), names the
/// domain, and is the one Caddy presents.
fn the_certificate_is_the_acme_cas(
    lab: &ProxyLab,
    ns: &NetNs,
    cert: &Path,
    acme_root: &Path,
    acme_intermediate: &Path,
) {
    assert_eq!(
        openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-issuer"])
            .trim_start_matches("issuer="),
        openssl(&[
            "x509",
            "-in",
            acme_intermediate.to_str().unwrap(),
            "-noout",
            "-subject"
        ])
        .trim_start_matches("subject="),
    );
    let verified = openssl(&[
        "verify",
        "-CAfile",
        acme_root.to_str().unwrap(),
        "-untrusted",
        acme_intermediate.to_str().unwrap(),
        cert.to_str().unwrap(),
    ]);
    assert!(verified.ends_with(": OK"), "{verified}");
    let box_root = lab
        .caddy
        .storage_dir()
        .join("pki/authorities/local/root.crt");
    if box_root.exists() {
        let out = std::process::Command::new("openssl")
            .args(["verify", "-CAfile"])
            .arg(&box_root)
            .arg(cert)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "the box's own local CA must not have issued it"
        );
    }
    assert!(
        !lab.caddy
            .storage_dir()
            .join(format!("certificates/local/{DOMAIN}"))
            .exists(),
        "the internal issuer must not have been used"
    );
    let san = openssl(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-noout",
        "-ext",
        "subjectAltName",
    ]);
    assert!(san.contains(&format!("DNS:{DOMAIN}")), "{san}");
    let fingerprint = |pem: &str| {
        let path = lab.caddy.dir().join("presented.pem");
        std::fs::write(&path, pem).unwrap();
        openssl(&[
            "x509",
            "-in",
            path.to_str().unwrap(),
            "-noout",
            "-fingerprint",
            "-sha256",
        ])
    };
    let presented = ns.sh(
        "openssl s_client -connect 127.0.0.1:443 -servername \"$1\" </dev/null 2>/dev/null \
         | openssl x509",
        &[DOMAIN],
    );
    assert_eq!(
        fingerprint(&presented),
        openssl(&[
            "x509",
            "-in",
            cert.to_str().unwrap(),
            "-noout",
            "-fingerprint",
            "-sha256"
        ]),
        "Caddy presents the stored ACME certificate"
    );
}

/// hearth's record says it is in force.
fn the_record_is_applied(lab: &ProxyLab) {
    eventually_blocking(Duration::from_secs(10), "the record applied", || {
        let record = lab.api("GET", &format!("/api/v1/domains/{DOMAIN}"), "");
        assert_eq!(record.status, 200, "{:?}", record.body);
        if record.json()["apply"]["state"] == "applied" {
            Ok(())
        } else {
            Err(format!("{}\n{}", record.json(), lab.hearth.stderr()))
        }
    });
}

/// How long the certificate took, and which challenges Caddy tried: one
/// it obtained the certificate with, of the two that work here.
fn the_challenges_are_reported(lab: &ProxyLab, to_file: Duration) {
    let (load_to_cert, challenges) = load_to_certificate(&lab.caddy.log(), DOMAIN);
    eprintln!(
        "POST /api/v1/domains to the certificate file: {to_file:?}; \
         Caddy's load to `certificate obtained`: {load_to_cert:?} s; challenges tried: {challenges:?}"
    );
    assert!(
        load_to_cert.is_some(),
        "no `certificate obtained successfully` for {DOMAIN} after a load in Caddy's log\n{}",
        lab.caddy.log()
    );
    // Caddy picks HTTP-01 or TLS-ALPN-01 at random; both work here.
    for challenge in &challenges {
        assert!(
            ["http-01", "tls-alpn-01"].contains(&challenge.as_str()),
            "{challenges:?}"
        );
    }
    assert!(!challenges.is_empty(), "{}", lab.caddy.log());
}
