//! `X-Forwarded-For` is believed only on a loopback connection from a
//! socket of Caddy's Linux user (`proxy.caddy_user`): anyone else who
//! sends it is counted at their own address by the per-address limits.
//! Seen through the sign-in throttle, which allows three failures per
//! address (and per name): four failures under four names and four
//! forwarded addresses are throttled when the header is ignored, and are
//! not when it is believed.

use hearth_testkit as common;

use common::{Daemon, Options};

/// Four failed sign-ins, each under its own name and forwarded address;
/// then a fifth: answers its status.
async fn fifth_attempt(d: &Daemon) -> u16 {
    let client = d.client();
    let mut last = 0;
    for i in 1..=5 {
        let body = format!(r#"{{"username":"nobody{i}","password":"not the password"}}"#);
        let xff = format!("203.0.113.{i}");
        last = client
            .send(
                "POST",
                "/api/v1/session",
                &body,
                &[],
                &[("x-forwarded-for", &xff)],
            )
            .await
            .status;
    }
    last
}

/// Caddy itself is not needed: only who is believed.
fn proxy_config(user: &str) -> String {
    format!(
        "[proxy]\nmanage = true\ncaddy_user = \"{user}\"\nadmin_socket = \"/nonexistent/admin.sock\"\nask_listen = \"127.0.0.1:0\"\n"
    )
}

fn hearth_with_caddy_user(user: &str) -> Daemon {
    Daemon::start(Options {
        config: proxy_config(user),
        ..Options::default()
    })
}

/// The test runs as root, and Caddy's user here is root too: a request
/// from the LAN (another namespace, through a veth) is still not Caddy's.
#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_from_a_non_loopback_peer_is_ignored() {
    let lab = common::fw_lab::Lab::from_lan(&format!("xff{}", std::process::id() % 100000));
    let d = Daemon::start(Options {
        config: format!(
            "listen = \"{}:8443\"\n{}",
            common::fw_lab::BOX_LAN,
            proxy_config("root")
        ),
        netns: Some(lab.boxns.name().to_string()),
        ..Options::default()
    });
    assert_eq!(
        fifth_attempt(&d).await,
        429,
        "all five came from the LAN client"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_from_another_user_is_ignored() {
    // The test runs as root; Caddy's user is someone else here.
    let d = hearth_with_caddy_user("nobody");
    assert_eq!(fifth_attempt(&d).await, 429, "all five came from 127.0.0.1");
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_from_caddys_user_on_loopback_is_believed() {
    let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
        .unwrap()
        .expect("the test's user has a name");
    let d = hearth_with_caddy_user(&me.name);
    assert_eq!(
        fifth_attempt(&d).await,
        401,
        "five addresses, one failure each: none is throttled"
    );
}
