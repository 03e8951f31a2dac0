//! The firewall's ruleset in the kernel, with real packets: hearth's
//! renderer and its `nft` adapter, applied in a network namespace of the
//! test's own (never the machine's), between namespaces that stand for a
//! LAN client, a private LAN host, the internet and two servers (see
//! `common::fw_lab`). Needs root, nftables and iproute2.

use hearth_testkit as common;

use common::fw_lab::{
    BOX_INTERNET, BOX_LAN, INTERNET_HOST, LAN_CLIENT, Lab, Listener, PRIVATE_HOST, SERVER_UID,
    SERVER2_UID, SRV2, reaches,
};
use common::netns::NetNs;
use common::require;
use hearth::firewall::adapter::{Nft, NftBinary};
use hearth::firewall::model::{
    AllowRule, InterfaceName, Policy, PortForward, PortRange, Protocol, ServerPort, UserPlane,
};
use hearth::firewall::render::{self, RenderInput};

const HTTPS_PORT: u16 = 8443;

fn nft_in(lab: &Lab) -> NftBinary {
    require("nft", "nftables");
    NftBinary::with_argv(vec![
        "ip".into(),
        "netns".into(),
        "exec".into(),
        lab.boxns.name().into(),
        "nft".into(),
    ])
}

async fn apply(lab: &Lab, policy: &Policy, servers: &UserPlane) {
    let script = render::ruleset(RenderInput {
        policy,
        servers,
        https_port: HTTPS_PORT,
    });
    nft_in(lab)
        .apply(&script)
        .await
        .expect("the ruleset applies");
}

fn ruleset(lab: &Lab) -> String {
    lab.boxns.run("nft", &["list", "ruleset"])
}

/// Packets the rule with this comment counted, per the adapter's read-back.
async fn counted(lab: &Lab, rule: &str) -> u64 {
    let listing = nft_in(lab).list().await.unwrap();
    listing
        .hearth
        .expect("hearth's table is loaded")
        .counters
        .iter()
        .filter(|c| c.rule == rule)
        .map(|c| c.packets)
        .sum()
}

/// From `ns` (as `uid`, if given), each target is reached or not as
/// its row says: (target, reached, what the row is).
fn assert_reaches(ns: &NetNs, uid: Option<u32>, rows: &[(String, bool, &str)]) {
    for (to, reached, what) in rows {
        assert_eq!(reaches(ns, uid, to), *reached, "{what}: {to}");
    }
}

#[tokio::test]
async fn the_lan_reaches_hearth_and_opened_ports_and_the_rest_is_dropped_and_counted() {
    let lab = Lab::new("fwin");
    for port in [HTTPS_PORT, 5000, 6000] {
        Listener::start(&lab.boxns, &format!("0.0.0.0:{port}"));
    }
    let policy = Policy {
        https_from: vec!["192.168.50.0/24".parse().unwrap()],
        web: false,
        allow: vec![AllowRule {
            protocol: Protocol::Tcp,
            ports: PortRange::one(5000),
            from: Vec::new(),
        }],
        forwards: Vec::new(),
    };
    apply(&lab, &policy, &UserPlane::default()).await;
    let to = |port: u16| format!("{BOX_LAN}:{port}");
    assert!(reaches(&lab.lan, None, &to(HTTPS_PORT)), "hearth's port");
    assert!(reaches(&lab.lan, None, &to(5000)), "the opened port");
    let dropped_before = counted(&lab, "dropped").await;
    assert!(!reaches(&lab.lan, None, &to(6000)), "any other port");
    assert!(
        counted(&lab, "dropped").await > dropped_before,
        "the drop is counted"
    );
    assert!(
        counted(&lab, "allow 0").await >= 1,
        "the allow rule counts too"
    );
    // hearth's port only from the LAN: the internet host is dropped.
    assert!(!reaches(
        &lab.internet,
        None,
        &format!("{BOX_INTERNET}:{HTTPS_PORT}")
    ));
}

fn servers(lab: &Lab) -> UserPlane {
    UserPlane {
        interfaces: lab
            .server_ifaces
            .iter()
            .map(|i| InterfaceName::try_from(i.clone()).unwrap())
            .collect(),
        offered: vec![(Protocol::Tcp, 53)],
        ..UserPlane::default()
    }
}

#[tokio::test]
async fn a_servers_published_port_is_answered_by_that_server_only_and_its_engine_front_is_open() {
    let lab = Lab::new("fwpub");
    // Server 1 publishes 8080; it also listens on 8081, which it did not
    // publish; server 2 listens on 9090, which server 1 published.
    Listener::start_as(&lab.boxns, Some(SERVER_UID), "0.0.0.0:8080");
    Listener::start_as(&lab.boxns, Some(SERVER_UID), "0.0.0.0:8081");
    Listener::start_as(&lab.boxns, Some(SERVER2_UID), "0.0.0.0:9090");
    // hearth's front to server 1's engine, and a port of the fronts'
    // range that is no server's.
    Listener::start(&lab.boxns, "0.0.0.0:23760");
    Listener::start(&lab.boxns, "0.0.0.0:23761");
    let published = |port| ServerPort {
        uid: SERVER_UID,
        protocol: Protocol::Tcp,
        port,
    };
    let plane = UserPlane {
        published: vec![published(8080), published(9090)],
        fronts: vec![23760],
        ..UserPlane::default()
    };
    let policy = Policy {
        https_from: vec!["192.168.50.0/24".parse().unwrap()],
        ..Policy::default()
    };
    apply(&lab, &policy, &plane).await;
    let lan = |port: u16| format!("{BOX_LAN}:{port}");
    assert!(reaches(&lab.lan, None, &lan(8080)), "the published port");
    assert!(
        reaches(&lab.boxns, None, "127.0.0.1:8080"),
        "the published port from the box (Caddy)"
    );
    let before = counted(&lab, "server port not published").await;
    assert!(!reaches(&lab.lan, None, &lan(8081)), "a port not published");
    assert!(
        !reaches(&lab.boxns, None, "127.0.0.1:8081"),
        "not even from the box itself"
    );
    assert!(
        counted(&lab, "server port not published").await > before,
        "the refused answers are counted"
    );
    assert!(
        !reaches(&lab.lan, None, &lan(9090)),
        "another server on a port server 1 published"
    );
    assert!(reaches(&lab.lan, None, &lan(23760)), "the engine's front");
    assert!(
        !reaches(&lab.lan, None, &lan(23761)),
        "a port of the fronts' range that is no server's"
    );
    assert!(
        !reaches(&lab.internet, None, &format!("{BOX_INTERNET}:23760")),
        "the front only from the sources of hearth's port"
    );
}

#[tokio::test]
async fn the_boot_time_table_holds_every_server_user_until_hearths_is_in_force() {
    let lab = Lab::new("fwhold");
    Listener::start(&lab.internet, &format!("{INTERNET_HOST}:80"));
    Listener::start(&lab.private, &format!("{PRIVATE_HOST}:80"));
    lab.boxns.sh(
        "nft -f \"$1\"",
        &[&format!(
            "{}/nftables/hearth-base.nft",
            env!("CARGO_MANIFEST_DIR")
        )],
    );
    let web = format!("{INTERNET_HOST}:80");
    assert!(reaches(&lab.boxns, None, &web), "the box itself goes out");
    assert!(
        !reaches(&lab.boxns, Some(59_999), &web),
        "a server's user (one hearth has never heard of) does not"
    );
    apply(&lab, &Policy::default(), &UserPlane::default()).await;
    assert!(
        reaches(&lab.boxns, Some(59_999), &web),
        "under hearth's table it reaches the internet"
    );
    let private = format!("{PRIVATE_HOST}:80");
    assert!(
        reaches(&lab.boxns, None, &private),
        "the box reaches the LAN"
    );
    assert!(
        !reaches(&lab.boxns, Some(59_999), &private),
        "a server nothing private, though hearth never heard of it"
    );
}

#[tokio::test]
async fn servers_reach_the_internet_masqueraded_and_nothing_private() {
    let lab = Lab::new("fwup");
    let internet = Listener::start(&lab.internet, &format!("{INTERNET_HOST}:80"));
    Listener::start(&lab.private, &format!("{PRIVATE_HOST}:80"));
    Listener::start(&lab.srv2, &format!("{SRV2}:80"));
    Listener::start(&lab.boxns, &format!("0.0.0.0:{HTTPS_PORT}"));
    Listener::start(&lab.boxns, "0.0.0.0:53");
    apply(&lab, &Policy::default(), &servers(&lab)).await;

    // The server behind an interface.
    let web = format!("{INTERNET_HOST}:80");
    assert!(reaches(&lab.srv1, None, &web), "srv1 reaches the internet");
    assert!(
        internet
            .peers()
            .iter()
            .all(|p| p.ip().to_string() == BOX_INTERNET),
        "masqueraded behind the box: {:?}",
        internet.peers()
    );
    assert_reaches(
        &lab.srv1,
        None,
        &[
            (format!("{PRIVATE_HOST}:80"), false, "not the LAN"),
            (format!("{BOX_LAN}:{HTTPS_PORT}"), false, "not hearth"),
            (
                format!("10.88.1.1:{HTTPS_PORT}"),
                false,
                "not hearth, near side",
            ),
            (format!("{SRV2}:80"), false, "not another server"),
            ("10.88.1.1:53".into(), true, "the port offered to servers"),
        ],
    );

    // The server owned by a user, on the box itself.
    let uid = Some(SERVER_UID);
    assert!(
        reaches(&lab.boxns, uid, &web),
        "the user's server reaches the internet"
    );
    assert_reaches(
        &lab.boxns,
        uid,
        &[
            (format!("{PRIVATE_HOST}:80"), false, "not the LAN"),
            (format!("127.0.0.1:{HTTPS_PORT}"), false, "not hearth"),
            (format!("{SRV2}:80"), false, "not another server"),
            ("127.0.0.1:53".into(), true, "the offered port"),
        ],
    );
    // The box's own processes are not servers: the same targets answer.
    assert!(reaches(&lab.boxns, None, &format!("{PRIVATE_HOST}:80")));
    assert!(
        reaches(&lab.lan, None, &format!("{PRIVATE_HOST}:80")),
        "the LAN itself is fine"
    );
}

#[tokio::test]
async fn a_port_forward_reaches_its_target_from_the_lan() {
    let lab = Lab::new("fwfw");
    let target = Listener::start(&lab.private, &format!("{PRIVATE_HOST}:22"));
    let policy = Policy {
        forwards: vec![PortForward {
            protocol: Protocol::Tcp,
            port: 2222,
            to: PRIVATE_HOST.parse().unwrap(),
            to_port: 22,
            from: Vec::new(),
        }],
        ..Policy::default()
    };
    policy.check_ports(HTTPS_PORT).unwrap();
    apply(&lab, &policy, &UserPlane::default()).await;
    assert!(reaches(&lab.lan, None, &format!("{BOX_LAN}:2222")));
    assert_eq!(target.peers().len(), 1, "the target got it");
    assert_eq!(counted(&lab, "forward 0").await, 1);
    // From the internet side too (the box's other address).
    assert!(reaches(
        &lab.internet,
        None,
        &format!("{BOX_INTERNET}:2222")
    ));
    // The port itself is not open on the box.
    assert!(!reaches(&lab.lan, None, &format!("{BOX_LAN}:22")));
    let _ = LAN_CLIENT;
}

/// A table like the ones Docker's iptables-nft makes.
const DOCKER_LIKE: &str = "table ip filter {
	chain DOCKER-USER {
		counter return
	}
	chain FORWARD {
		type filter hook forward priority filter; policy accept;
		counter jump DOCKER-USER
	}
}
";

fn tables(lab: &Lab) -> Vec<String> {
    lab.boxns
        .run("nft", &["list", "tables"])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test]
async fn hearth_replaces_the_boot_table_in_one_go_leaves_others_alone_and_the_reset_puts_it_back() {
    let lab = Lab::new("fwboot");
    lab.boxns.sh(
        "nft -f \"$1\"",
        &[&format!(
            "{}/nftables/hearth-base.nft",
            env!("CARGO_MANIFEST_DIR")
        )],
    );
    lab.boxns
        .sh("printf '%s' \"$1\" | nft -f -", &[DOCKER_LIKE]);
    let docker_before = lab.boxns.run("nft", &["list", "table", "ip", "filter"]);
    assert!(tables(&lab).contains(&"table inet hearth_base".to_string()));

    apply(&lab, &Policy::default(), &UserPlane::default()).await;
    let now = tables(&lab);
    assert!(now.contains(&"table inet hearth".to_string()), "{now:?}");
    assert!(
        !now.contains(&"table inet hearth_base".to_string()),
        "{now:?}"
    );
    assert_eq!(
        lab.boxns.run("nft", &["list", "table", "ip", "filter"]),
        docker_before,
        "the other table, byte for byte"
    );

    hearth::firewall::reset(&nft_in(&lab)).await.unwrap();
    let now = tables(&lab);
    assert!(
        now.contains(&"table inet hearth_base".to_string()),
        "{now:?}"
    );
    assert!(!now.contains(&"table inet hearth".to_string()), "{now:?}");
    assert_eq!(
        lab.boxns.run("nft", &["list", "table", "ip", "filter"]),
        docker_before
    );
    // And from the reset, hearth takes over again.
    apply(&lab, &Policy::default(), &UserPlane::default()).await;
    assert!(!tables(&lab).contains(&"table inet hearth_base".to_string()));
}

#[tokio::test]
async fn a_ruleset_the_kernel_refuses_changes_nothing() {
    let lab = Lab::new("fwbad");
    lab.boxns.sh(
        "nft -f \"$1\"",
        &[&format!(
            "{}/nftables/hearth-base.nft",
            env!("CARGO_MANIFEST_DIR")
        )],
    );
    apply(&lab, &Policy::default(), &UserPlane::default()).await;
    let before = ruleset(&lab);
    // Well-formed, so nft parses it; the kernel refuses the jump to a
    // chain that does not exist when the transaction commits.
    let mut script = render::ruleset(RenderInput {
        policy: &Policy {
            web: false,
            ..Policy::default()
        },
        servers: &UserPlane::default(),
        https_port: HTTPS_PORT,
    });
    script.push_str("add rule inet hearth input jump nowhere\n");
    let nft = nft_in(&lab);
    let checked = nft.check(&script).await;
    assert!(checked.is_err(), "the check refuses it");
    let applied = nft.apply(&script).await.unwrap_err().to_string();
    assert!(applied.contains("refused"), "{applied}");
    assert_eq!(ruleset(&lab), before, "the kernel's ruleset is unchanged");
}

#[tokio::test]
async fn the_golden_scripts_are_what_the_kernel_takes() {
    let lab = Lab::new("fwgold");
    let nft = nft_in(&lab);
    for name in ["firewall-default.nft", "firewall-sample.nft"] {
        let path = format!(
            "{}/tests/fixtures/golden/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let script = std::fs::read_to_string(&path).unwrap();
        nft.apply(&script)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[tokio::test]
async fn hearth_firewall_reset_on_the_command_line_puts_the_boot_table_back() {
    let lab = Lab::new("fwcli");
    apply(&lab, &Policy::default(), &UserPlane::default()).await;
    let said = lab
        .boxns
        .run(env!("CARGO_BIN_EXE_hearth"), &["firewall-reset"]);
    assert!(said.contains("boot-time ruleset is in force"), "{said}");
    let now = tables(&lab);
    assert!(
        now.contains(&"table inet hearth_base".to_string()),
        "{now:?}"
    );
    assert!(!now.contains(&"table inet hearth".to_string()), "{now:?}");
}
