//! The API against its own OpenAPI description, by schemathesis (PyPI,
//! installed by `make deps` into target/schemathesis-venv): a set-up box,
//! an admin's API token, a bounded number of generated requests per
//! operation (valid and invalid ones), and the links between operations
//! followed where the description has them. It must find no server error
//! (a 5xx is a bug: bad input is a 4xx that says why) and no reply that
//! does not match the description.

use hearth_testkit as common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use common::{Daemon, Options, on_own_runtime};

/// Where `make deps` puts schemathesis.
fn schemathesis() -> PathBuf {
    let st = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis-venv/bin/st");
    assert!(
        st.exists(),
        "{} is missing: run `make deps` (it makes the venv with Debian's python3-venv and installs schemathesis from PyPI)",
        st.display()
    );
    st
}

/// Operations left out of the run, each with why.
/// (Each by its operation id: its method and path, `/api/v1` left out.)
const EXCLUDED: &[&str] = &[
    // Endless Server-Sent Events streams: a request never ends, so every
    // case would only wait for the timeout. tests/events.rs and
    // tests/servers_logs.rs test them.
    "get_events",
    "get_servers_id_logs",
    // Would take the box down where hearth manages the machine (here,
    // unmanaged, they answer 409; tests/systemd.rs tests them).
    "post_system_reboot",
    "post_system_power_off",
    // Deleting or demoting users can remove the admin whose token the run
    // uses, after which every request is a 401 and nothing is tested.
    "delete_users_name",
    "patch_users_name",
];

#[test]
fn the_api_matches_its_description_and_never_fails_on_any_input() {
    let st = schemathesis();
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let token = on_own_runtime(admin.new_token("schemathesis"));
    let base = format!("https://{}", d.addr());
    let examples = std::env::var("HEARTH_FUZZ_EXAMPLES").unwrap_or_else(|_| "50".into());
    let seed = std::env::var("HEARTH_FUZZ_SEED").unwrap_or_else(|_| "28".into());
    // schemathesis keeps a cache of what it found in `.schemathesis/` of
    // its working folder: a folder of this run's, not the checkout.
    let scratch = tempfile::tempdir().expect("a scratch folder");
    let mut cmd = Command::new(&st);
    cmd.current_dir(scratch.path())
        .arg("run")
        .arg(format!("{base}/api/v1/openapi.json"))
        .args(["--url", &base])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--tls-verify", d.cert_path().to_str().unwrap()])
        .args([
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance",
        ])
        .args(["--max-examples", &examples])
        .args(["--seed", &seed])
        .args(["--workers", "2"])
        .args(["--request-timeout", "30"])
        .args(["--max-failures", "100"])
        .arg("--no-color")
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1");
    for id in EXCLUDED {
        cmd.args(["--exclude-operation-id", id]);
    }
    let started = Instant::now();
    let out = cmd.output().expect("schemathesis runs");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("schemathesis took {took:?}\n{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "schemathesis found problems ({}):\n{stdout}\n{stderr}\n--- the daemon's log:\n{}",
        out.status,
        common::last_lines(&d.stderr(), 80)
    );
    assert!(
        !d.stderr().contains("panicked"),
        "the daemon panicked:\n{}",
        d.stderr()
    );
}

/// The description is open to everyone, in setup mode too (it holds
/// nothing of the box), and the account page offers it for download.
#[tokio::test]
async fn the_description_is_public_and_offered_by_the_pages() {
    let d = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    let c = d.client();
    let r = c.get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["paths"]["/api/v1/users"]["post"].is_object());
    let page = c.get("/account").await;
    let html = String::from_utf8_lossy(&page.body);
    assert!(
        html.contains("href=\"/api/v1/openapi.json\" download="),
        "{html}"
    );
}
