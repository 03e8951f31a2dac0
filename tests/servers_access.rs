//! Members reach their servers with the standard tools: a member is
//! issued a client certificate through the API (the key shown once), makes
//! a `docker context` of it with the one command the answer gives, and
//! the real `docker` CLI lists and runs containers on their own server
//! through hearth's TLS front. Another member's certificate, a revoked
//! one, or none at all gets nothing. A certificate is only as good as its
//! member's standing: disabled, made a viewer or deleted, their
//! certificates are revoked for good, and a connection already open is
//! closed at once when its access goes.

use hearth_testkit as common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::TlsClient;
use common::docker_cli::{EngineConnection, docker, write_context};
use common::servers_box::{Cleanup, ServersBox, call, follow, server};
use common::servers_lab::build_busybox_image;
use hearth::servers::engine::Engine;
use serde_json::{Value, json};
use tokio::sync::MutexGuard;

/// Held by each test for its whole run: every box gives its first server
/// the first engine port, and its front listens on it on loopback, so two
/// boxes at once would take each other's port (`docker` would reach the
/// other box's front, and its authority).
static ONE_BOX_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The password of the members these tests make.
const PASSWORD: &str = "a long enough password 2";

/// How long the front may take to close a connection whose access went:
/// "at once", with room for a loaded machine.
const CLOSED: Duration = Duration::from_secs(10);

/// A member `name` made through the API as the admin.
async fn member(sb: &ServersBox, name: &str) -> TlsClient {
    sb.daemon.add_user(name, PASSWORD, "member").await;
    sign_in(sb, name).await
}

/// The servers' box, started once no other test here has one.
async fn one_box() -> (MutexGuard<'static, ()>, ServersBox) {
    let one = ONE_BOX_AT_A_TIME.lock().await;
    (one, ServersBox::start())
}

/// `member`'s running server "web": what removes it at the end, its id
/// and its engine's port.
async fn web_of(sb: &ServersBox, member: &TlsClient) -> (Cleanup, String, u64) {
    let (web, cleanup) = sb.running_server(member, "web").await;
    let id = web["id"].as_str().unwrap().to_string();
    let port = web["engine_port"].as_u64().expect("an engine port");
    (cleanup, id, port)
}

/// A member's running server "web", and a folder for the files of their
/// certificates.
struct Web {
    id: String,
    port: u64,
    dir: tempfile::TempDir,
    _cleanup: Cleanup,
}

/// A new member `name`, signed in, with a running server "web".
async fn member_with_web(sb: &ServersBox, name: &str) -> (TlsClient, Web) {
    let client = member(sb, name).await;
    let (_cleanup, id, port) = web_of(sb, &client).await;
    let dir = tempfile::tempdir().unwrap();
    (
        client,
        Web {
            id,
            port,
            dir,
            _cleanup,
        },
    )
}

/// `name` signed in afresh.
async fn sign_in(sb: &ServersBox, name: &str) -> TlsClient {
    let mut client = sb.daemon.client();
    client.session = Some(client.login(name, PASSWORD).await);
    client
}

/// A new certificate for `member`: the API's answer, and the folder its
/// context files were written to (`dir/label`).
async fn certificate(member: &TlsClient, dir: &Path, label: &str) -> (Value, PathBuf) {
    let (status, issued) = call(member, "POST", "/api/v1/server-certificates", Value::Null).await;
    assert_eq!(status, 201, "{issued}");
    let files = dir.join(label);
    write_context(&files, &issued);
    (issued, files)
}

/// The admin changes user `name`.
async fn patch_user(admin: &TlsClient, name: &str, change: Value) {
    let (status, answer) = call(admin, "PATCH", &format!("/api/v1/users/{name}"), change).await;
    assert_eq!(status, 200, "{answer}");
}

/// The admin deletes server `id` and waits until its record is gone.
async fn delete_server(admin: &TlsClient, id: &str) {
    let mut stream = follow(admin).await;
    let path = format!("/api/v1/servers/{id}?erase=true");
    let (status, answer) = call(admin, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 202, "{answer}");
    stream
        .until("servers", Duration::from_secs(60), |r| {
            r["status"]["servers"].is_array() && server(r, id).is_none()
        })
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_member_drives_their_server_with_docker_and_no_one_elses() {
    let (_one, sb) = one_box().await;
    let ann = sb.daemon.signed_in("ann", "member").await;
    let bob = sb.daemon.signed_in("bob", "member").await;
    let (_web, id, port) = web_of(&sb, &ann).await;
    // An image to run, built in the engine from the host side.
    let engine = Engine::connect(&sb.lab.layout.socket(&id.as_str().try_into().unwrap())).unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_works_only_while_its_member_does() {
    let (_one, sb) = one_box().await;
    let admin = sb.daemon.admin_client();
    let (cat, web) = member_with_web(&sb, "cat").await;
    let (id, port, dir) = (web.id.as_str(), web.port, web.dir.path());

    let (first, first_files) = certificate(&cat, dir, "first").await;
    let ps = docker(&first_files, port, &["ps"]);
    assert!(ps.is_ok(), "{ps:?}");

    // Disabled, Cat's certificate opens nothing; enabled again, still
    // nothing: it was revoked, and a new one is needed.
    patch_user(&admin, "cat", json!({"disabled": true})).await;
    let refused = docker(&first_files, port, &["ps"]);
    assert!(refused.is_err(), "a disabled member's certificate works");
    patch_user(&admin, "cat", json!({"disabled": false})).await;
    let refused = docker(&first_files, port, &["ps"]);
    assert!(refused.is_err(), "re-enabling brought a certificate back");

    // A new one works, until Cat is made a viewer.
    let cat = sign_in(&sb, "cat").await;
    let (second, second_files) = certificate(&cat, dir, "second").await;
    let ps = docker(&second_files, port, &["ps"]);
    assert!(ps.is_ok(), "{ps:?}");
    patch_user(&admin, "cat", json!({"role": "viewer"})).await;
    let refused = docker(&second_files, port, &["ps"]);
    assert!(refused.is_err(), "a viewer's certificate works");

    // A member again, with a third certificate: not deleted while the
    // server is theirs.
    patch_user(&admin, "cat", json!({"role": "member"})).await;
    let cat = sign_in(&sb, "cat").await;
    let (third, third_files) = certificate(&cat, dir, "third").await;
    let ps = docker(&third_files, port, &["ps"]);
    assert!(ps.is_ok(), "{ps:?}");
    let (status, refused) = call(&admin, "DELETE", "/api/v1/users/cat", Value::Null).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"]["message"],
        "the user still owns the servers web: delete them first"
    );
    let ps = docker(&third_files, port, &["ps"]);
    assert!(ps.is_ok(), "a refused deletion revoked something: {ps:?}");

    delete_server(&admin, id).await;
    let (status, answer) = call(&admin, "DELETE", "/api/v1/users/cat", Value::Null).await;
    assert_eq!(status, 204, "{answer}");

    // The records stay for the admins, every one revoked, each
    // revocation audited as the admin's.
    let (_, listed) = call(&admin, "GET", "/api/v1/server-certificates", Value::Null).await;
    let (_, audit) = call(&admin, "GET", "/api/v1/audit?limit=500", Value::Null).await;
    let records = audit["records"].as_array().expect("audit records");
    for cert in [&first, &second, &third] {
        let listed = listed["certificates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == cert["id"])
            .unwrap_or_else(|| panic!("{} not listed: {listed}", cert["id"]));
        assert!(listed["revoked_ms"].is_u64(), "not revoked: {listed}");
        assert!(
            records.iter().any(|r| r["action"] == "server.cert_revoke"
                && r["target"] == cert["id"]
                && r["actor"] == "admin"),
            "no revocation of {} audited: {audit}",
            cert["id"]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_open_engine_connection_closes_when_its_access_goes() {
    let (_one, sb) = one_box().await;
    let admin = sb.daemon.admin_client();
    let (dan, web) = member_with_web(&sb, "dan").await;
    let (id, port, dir) = (web.id.as_str(), web.port, web.dir.path());

    // Revoked by Dan while a connection made with it is open.
    let (issued, _) = certificate(&dan, dir, "revoked").await;
    let mut open = EngineConnection::open(&issued, port).await.unwrap();
    assert_eq!(open.get("/info").await.unwrap(), 200);
    // A change that takes nothing from Dan leaves it open.
    sb.daemon.add_user("eve", PASSWORD, "member").await;
    assert_eq!(open.get("/info").await.unwrap(), 200);
    let path = format!(
        "/api/v1/server-certificates/{}",
        issued["id"].as_str().unwrap()
    );
    let (status, answer) = call(&dan, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 200, "{answer}");
    let closed = open.closed_within(CLOSED).await;
    assert!(closed.is_ok(), "after the revocation: {closed:?}");
    // Logged with the reason, never the certificate.
    let log = sb.daemon.stderr();
    let revoked = format!(
        "dan's certificate {} is revoked",
        issued["id"].as_str().unwrap()
    );
    assert!(
        log.lines()
            .any(|l| l.contains("access withdrawn") && l.contains(&revoked)),
        "{}",
        common::last_lines(&log, 20)
    );
    assert!(!log.contains("BEGIN CERTIFICATE"));
    assert!(!log.contains(issued["fingerprint"].as_str().unwrap()));

    // Dan disabled.
    let (issued, _) = certificate(&dan, dir, "disabled").await;
    let mut open = EngineConnection::open(&issued, port).await.unwrap();
    assert_eq!(open.get("/info").await.unwrap(), 200);
    patch_user(&admin, "dan", json!({"disabled": true})).await;
    let closed = open.closed_within(CLOSED).await;
    assert!(closed.is_ok(), "after disabling: {closed:?}");

    // The server asked to be deleted (its engine may still be up).
    patch_user(&admin, "dan", json!({"disabled": false})).await;
    let dan = sign_in(&sb, "dan").await;
    let (issued, _) = certificate(&dan, dir, "deleted").await;
    let mut open = EngineConnection::open(&issued, port).await.unwrap();
    assert_eq!(open.get("/info").await.unwrap(), 200);
    let path = format!("/api/v1/servers/{id}?erase=true");
    let (status, answer) = call(&admin, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 202, "{answer}");
    let closed = open.closed_within(CLOSED).await;
    assert!(closed.is_ok(), "after deleting the server: {closed:?}");
}
