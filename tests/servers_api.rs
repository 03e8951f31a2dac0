//! The servers' API against a running daemon: a member creates, stops,
//! starts and deletes their own servers; another member's server is 404
//! to every endpoint; a viewer may not have servers; an admin sees all
//! and sets quotas, which refuse a create with a clear 409; bad input
//! is a 400 naming the field; everything is audited. (The engines
//! themselves come with the servers' manager.)

use hearth_testkit as common;

use common::servers_box::call;
use common::{Daemon, Options};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread")]
async fn members_manage_their_own_servers_and_no_one_elses() {
    let d = Daemon::start(Options::default());
    let admin = d.admin_client();
    let ann = d.signed_in("ann", "member").await;
    let bob = d.signed_in("bob", "member").await;
    let vic = d.signed_in("vic", "viewer").await;

    let (status, web) = call(
        &ann,
        "POST",
        "/api/v1/servers",
        json!({"name": "web", "limits": {"memory_mib": 512}, "ports": [{"port": 8080}]}),
    )
    .await;
    assert_eq!(status, 201, "{web}");
    assert_eq!(web["owner"], "ann");
    assert_eq!(web["desired"], "running");
    assert_eq!(web["limits"]["memory_mib"], 512);
    let id = web["id"].as_str().unwrap().to_string();
    let item = format!("/api/v1/servers/{id}");

    let (_, listed) = call(&ann, "GET", "/api/v1/servers", Value::Null).await;
    assert_eq!(listed["servers"].as_array().unwrap().len(), 1);
    let (_, listed) = call(&bob, "GET", "/api/v1/servers", Value::Null).await;
    assert_eq!(listed["servers"], json!([]));
    let (_, listed) = call(&admin, "GET", "/api/v1/servers", Value::Null).await;
    assert_eq!(listed["servers"][0]["id"], id.as_str());

    // Bob: not found, whatever he asks.
    for (method, path) in [
        ("GET", item.clone()),
        ("POST", format!("{item}/stop")),
        ("POST", format!("{item}/start")),
        ("POST", format!("{item}/restart")),
        ("DELETE", item.clone()),
    ] {
        let (status, body) = call(&bob, method, &path, Value::Null).await;
        assert_eq!(status, 404, "bob {method} {path}: {body}");
    }
    // A viewer has no servers at all.
    let (status, _) = call(&vic, "GET", "/api/v1/servers", Value::Null).await;
    assert_eq!(status, 403);

    let (status, s) = call(&ann, "POST", &format!("{item}/stop"), Value::Null).await;
    assert_eq!((status, s["desired"].clone()), (200, json!("stopped")));
    let (status, s) = call(&ann, "POST", &format!("{item}/start"), Value::Null).await;
    assert_eq!((status, s["desired"].clone()), (200, json!("running")));
    let (status, _) = call(&ann, "POST", &format!("{item}/explode"), Value::Null).await;
    assert_eq!(status, 404);

    // Bad input names the field; nothing is made.
    for (body, field) in [
        (json!({"name": "Web!"}), "name"),
        (json!({"name": "db", "limits": {"pids": 1}}), "limits.pids"),
        (
            json!({"name": "db", "ports": [{"port": 0}]}),
            "ports[0].port",
        ),
    ] {
        let (status, e) = call(&ann, "POST", "/api/v1/servers", body.clone()).await;
        assert_eq!(status, 400, "{body}: {e}");
        assert_eq!(e["error"]["field"], field, "{body}: {e}");
    }
    let (status, e) = call(
        &ann,
        "POST",
        "/api/v1/servers",
        json!({"name": "x", "owner": "bob"}),
    )
    .await;
    assert_eq!(status, 403, "{e}");

    // The admin's quota: one server for ann, refused with a clear 409.
    let (status, _) = call(&ann, "PUT", "/api/v1/quotas/ann", json!({"max_servers": 9})).await;
    assert_eq!(status, 403, "members do not set quotas");
    let (status, q) = call(
        &admin,
        "PUT",
        "/api/v1/quotas/ann",
        json!({"max_servers": 1}),
    )
    .await;
    assert_eq!(status, 200, "{q}");
    let (status, q) = call(&admin, "GET", "/api/v1/quotas/ann", Value::Null).await;
    assert_eq!((status, q["max_servers"].clone()), (200, json!(1)));
    let (status, e) = call(&ann, "POST", "/api/v1/servers", json!({"name": "db"})).await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(
        e["error"]["message"],
        "ann may have at most 1 servers, and has 1"
    );

    let (status, e) = call(&ann, "DELETE", &format!("{item}?erase=maybe"), Value::Null).await;
    assert_eq!((status, e["error"]["field"].clone()), (400, json!("erase")));
    let (status, s) = call(&ann, "DELETE", &format!("{item}?erase=true"), Value::Null).await;
    assert_eq!(status, 202, "{s}");
    assert_eq!(s["deleting"]["erase"], true);
    let (status, _) = call(&ann, "POST", &format!("{item}/start"), Value::Null).await;
    assert_eq!(status, 409, "a server being deleted is not started");

    let (_, audit) = call(&admin, "GET", "/api/v1/audit", Value::Null).await;
    let audit = audit.to_string();
    for action in [
        "server.create",
        "server.stop",
        "server.start",
        "server.quota",
        "server.delete",
    ] {
        assert!(audit.contains(action), "{action} in {audit}");
    }
}
