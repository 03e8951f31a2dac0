//! Members reach their servers with the standard tools: a member is
//! issued a client certificate through the API (the key shown once), makes
//! a `docker context` of it with the one command the answer gives, and
//! the real `docker` CLI lists and runs containers on their own server
//! through hearth's TLS front. Another member's certificate, a revoked
//! one, or none at all gets nothing.

mod common;

use std::process::Command;

use common::docker_cli::{docker, write_context};
use common::servers_box::{ServersBox, call};
use common::servers_lab::build_busybox_image;
use hearth::servers::engine::Engine;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn a_member_drives_their_server_with_docker_and_no_one_elses() {
    let sb = ServersBox::start();
    let ann = sb.daemon.signed_in("ann", "member").await;
    let bob = sb.daemon.signed_in("bob", "member").await;
    let (web, _web) = sb.running_server(&ann, "web").await;
    let id = web["id"].as_str().unwrap();
    let port = web["engine_port"].as_u64().expect("an engine port");
    // An image to run, built in the engine from the host side.
    let engine = Engine::connect(&sb.lab.layout.socket(&id.try_into().unwrap())).unwrap();
    build_busybox_image(&engine, "base:test").await;

    let (status, issued) = call(&ann, "POST", "/api/v1/server-certificates", Value::Null).await;
    assert_eq!(status, 201, "{issued}");
    let dir = tempfile::tempdir().unwrap();
    let ann_dir = dir.path().join("ann");
    write_context(&ann_dir, &issued);

    // The real docker CLI, through the front, on Ann's own server.
    let ps = docker(&ann_dir, port, &["ps", "--format", "{{.Names}}"]);
    assert!(ps.is_ok(), "{ps:?}");
    let hello = docker(
        &ann_dir,
        port,
        &["run", "--rm", "base:test", "echo", "hello from web"],
    );
    assert_eq!(hello.as_deref().map(str::trim), Ok("hello from web"));
    let version = docker(
        &ann_dir,
        port,
        &["version", "--format", "{{.Server.APIVersion}}"],
    );
    assert_eq!(version.as_deref().map(str::trim), Ok("1.41"));

    // The certificate is listed without its key; Bob does not see it.
    let (_, listed) = call(&ann, "GET", "/api/v1/server-certificates", Value::Null).await;
    assert_eq!(listed["certificates"][0]["id"], issued["id"]);
    assert!(!listed.to_string().contains("PRIVATE KEY"));
    let (_, bobs) = call(&bob, "GET", "/api/v1/server-certificates", Value::Null).await;
    assert_eq!(bobs["certificates"], json!([]));

    // Bob's own certificate gets him nothing on Ann's server.
    let (status, bob_issued) = call(&bob, "POST", "/api/v1/server-certificates", Value::Null).await;
    assert_eq!(status, 201);
    let bob_dir = dir.path().join("bob");
    write_context(&bob_dir, &bob_issued);
    let refused = docker(&bob_dir, port, &["ps"]);
    assert!(refused.is_err(), "Bob reached Ann's engine: {refused:?}");
    // Nor can he revoke Ann's.
    let cert_path = format!(
        "/api/v1/server-certificates/{}",
        issued["id"].as_str().unwrap()
    );
    let (status, _) = call(&bob, "DELETE", &cert_path, Value::Null).await;
    assert_eq!(status, 404);

    // Revoked, Ann's certificate opens nothing any more.
    let (status, revoked) = call(&ann, "DELETE", &cert_path, Value::Null).await;
    assert_eq!(status, 200, "{revoked}");
    let refused = docker(&ann_dir, port, &["ps"]);
    assert!(
        refused.is_err(),
        "a revoked certificate still works: {refused:?}"
    );

    // No certificate at all: the handshake fails.
    let out = Command::new(common::require("docker", "docker.io"))
        .arg("--config")
        .arg(dir.path().join("nocert"))
        .args(["-H", &format!("tcp://127.0.0.1:{port}"), "--tls", "ps"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    let audit = sb
        .daemon
        .admin_client()
        .get("/api/v1/audit?limit=100")
        .await
        .json()
        .to_string();
    for action in ["server.cert_issue", "server.cert_revoke"] {
        assert!(audit.contains(action), "{action} not audited");
    }
}
