//! `GET /api/v1/box` and `GET /api/v1/timezones` against the binary: what
//! each kind of caller learns about the box, in setup mode too.

use hearth_testkit as common;

use common::{ADMIN_PASSWORD, Daemon, Options, TlsClient};

/// The reply's field names, sorted.
fn fields(v: &serde_json::Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

async fn box_info(client: &TlsClient) -> serde_json::Value {
    let r = client.get("/api/v1/box").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.json()
}

#[tokio::test]
async fn each_caller_learns_what_it_may() {
    let d = Daemon::start(Options::default());
    let anon = d.client();
    let admin = d.admin_client();

    // Signed out, status not public: the name only.
    let v = box_info(&anon).await;
    assert_eq!(fields(&v), ["name", "setup_complete"], "{v}");
    assert_eq!(v["name"], "testbox");
    assert_eq!(v["setup_complete"], true);

    // Signed out, status public: what the status strip shows, but not
    // where on the network the box is.
    d.set_public_status(true).await;
    let v = box_info(&anon).await;
    assert_eq!(
        fields(&v),
        ["name", "setup_complete", "timezone", "version"],
        "{v}"
    );
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["timezone"], "UTC");

    // Signed in: also the addresses and the port.
    let v = box_info(&admin).await;
    assert_eq!(
        fields(&v),
        [
            "addresses",
            "name",
            "port",
            "setup_complete",
            "timezone",
            "version"
        ],
        "{v}"
    );
    assert_eq!(v["port"], d.addr().port());
    for a in v["addresses"].as_array().unwrap() {
        let ip: std::net::IpAddr = a.as_str().unwrap().parse().unwrap();
        assert!(!ip.is_loopback(), "{v}");
        assert!(
            !matches!(ip, std::net::IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80),
            "{v}"
        );
    }
    // A signed-in user sees the same while the status is not public.
    d.set_public_status(false).await;
    assert_eq!(box_info(&admin).await["port"], d.addr().port());
    assert_eq!(fields(&box_info(&anon).await), ["name", "setup_complete"]);
}

#[tokio::test]
async fn in_setup_mode_the_box_says_its_name_and_offers_the_time_zones() {
    let d = Daemon::start(Options {
        pending_setup: true,
        ..Options::default()
    });
    let client = d.client();
    let v = box_info(&client).await;
    assert_eq!(fields(&v), ["name", "setup_complete"], "{v}");
    assert_eq!(v["setup_complete"], false);
    // No name chosen yet: the OS's.
    let os = nix::unistd::gethostname().unwrap().into_string().unwrap();
    assert_eq!(v["name"], os.trim());

    let r = client.get("/api/v1/timezones").await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let zones: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z.as_str().unwrap().to_string())
        .collect();
    assert!(zones.windows(2).all(|w| w[0] < w[1]), "sorted, each once");
    for zone in ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires"] {
        assert!(zones.iter().any(|z| z == zone), "{zone} in {zones:?}");
    }
    assert!(!zones.iter().any(|z| z == "Factory"));
    for zone in &zones {
        assert!(
            hearth::names::TimeZone::try_from(zone.as_str()).is_ok(),
            "{zone}"
        );
    }

    // Through setup with a time zone and a domain: the box shows them.
    let r = client.claim_setup(&d.setup_code()).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let cookie = r.set_cookie("__Host-hearth_setup").unwrap();
    for (path, body) in [
        (
            "/api/v1/setup/admin",
            format!("{{\"username\":\"admin\",\"password\":\"{ADMIN_PASSWORD}\"}}"),
        ),
        (
            "/api/v1/setup/host",
            "{\"hostname\":\"kitchen\",\"timezone\":\"Europe/Berlin\"}".to_string(),
        ),
        (
            "/api/v1/setup/domain",
            "{\"domain\":\"home.example.org\",\"email\":\"me@example.org\"}".to_string(),
        ),
    ] {
        let r = client.post_json(path, &body, Some(&cookie)).await;
        assert_eq!(r.status, 200, "{path}: {:?}", r.body);
    }
    // Named, but not yet set up.
    let v = box_info(&client).await;
    assert_eq!(
        (&v["name"], &v["setup_complete"]),
        (&"kitchen".into(), &false.into())
    );
    let r = client
        .post_json("/api/v1/setup/finish", "{}", Some(&cookie))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(client.get("/api/v1/timezones").await.status, 200);

    let mut admin = d.client();
    admin.session = Some(admin.login("admin", ADMIN_PASSWORD).await);
    let v = box_info(&admin).await;
    assert_eq!(v["name"], "kitchen");
    assert_eq!(v["setup_complete"], true);
    assert_eq!(v["timezone"], "Europe/Berlin");
    assert_eq!(v["domain"], "home.example.org");
    assert_eq!(v["port"], d.addr().port());
}
