//! The plan: a pure function from the policy to one nftables script,
//! applied with `nft -f` as one transaction. Golden-file tested; no I/O.
//!
//! The script owns only the table `inet hearth`. It declares and deletes
//! it before defining it again, so the same script works on a first load
//! and on a replace, and it does the same with the boot-time table
//! `inet hearth_base` (nftables/hearth-base.nft), which must not stay
//! beside it: every base chain on a hook sees every packet, and the base
//! table's input policy would drop what hearth's own chain accepts. One
//! transaction removes the base table and installs hearth's, so there is
//! no moment with neither. [`reset_script`] does the opposite. Nothing
//! else in the ruleset is touched: no `flush ruleset`, no other table.
//!
//! No text an admin typed reaches the script: every value is a typed
//! number, address, network or validated interface name, and each rule's
//! comment names it by its place in the policy (`allow 3`), which is how
//! the counters are read back.

use std::fmt::Write;
use std::net::IpAddr;

use ipnet::IpNet;

use super::model::{Policy, Protocol, SERVER_UIDS, UserPlane, WEB_PORTS};

/// hearth's own table.
pub const TABLE: &str = "hearth";
/// The boot-time table that hearth's replaces.
pub const BASE_TABLE: &str = "hearth_base";

/// What the ruleset is made from.
#[derive(Debug, Clone, Copy)]
pub struct RenderInput<'a> {
    pub policy: &'a Policy,
    pub servers: &'a UserPlane,
    /// hearth's own HTTPS port, from its `listen` setting.
    pub https_port: u16,
}

/// Destinations a server may never reach: private, shared, link-local,
/// loopback, multicast and reserved ranges.
const DENIED_V4: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
];
const DENIED_V6: &[&str] = &[
    "::/127",
    "::ffff:0:0/96",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The ICMPv4 and ICMPv6 types networking needs (replies to the box's
/// own pings and errors for its connections are `related`).
const ICMP_V4: &str = "echo-request, destination-unreachable, time-exceeded, parameter-problem";
const ICMP_V6: &str = "echo-request, destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert, mld-listener-query";

/// The script that installs `input`'s ruleset, replacing hearth's table
/// and removing the boot-time one, in one transaction.
pub fn ruleset(input: RenderInput<'_>) -> String {
    let mut s = String::with_capacity(4096 + 200 * rule_count(input.policy));
    s.push_str(
        "# hearth's firewall, rendered from its policy: do not edit, hearth puts changes back.\n",
    );
    replace_table(&mut s, BASE_TABLE);
    replace_table(&mut s, TABLE);
    let _ = writeln!(s, "table inet {TABLE} {{");
    sets(&mut s, input);
    input_chain(&mut s, input);
    forward_chain(&mut s);
    output_chain(&mut s);
    server_chains(&mut s, input.servers);
    nat_chains(&mut s, input.policy);
    s.push_str("}\n");
    s
}

/// The safe reset: hearth's table removed and the boot-time ruleset
/// (`base`, the text of hearth-base.nft) put back, in one transaction.
pub fn reset_script(base: &str) -> String {
    let mut s = String::new();
    replace_table(&mut s, TABLE);
    s.push_str(base);
    s
}

fn rule_count(p: &Policy) -> usize {
    p.allow.len() + p.forwards.len()
}

/// Declaring a table before deleting it makes the delete valid when the
/// table does not exist yet.
fn replace_table(s: &mut String, table: &str) {
    let _ = writeln!(s, "table inet {table}\ndelete table inet {table}");
}

fn sets(s: &mut String, input: RenderInput<'_>) {
    let servers = input.servers;
    let names: Vec<String> = servers
        .interfaces
        .iter()
        .map(|i| format!("\"{}\"", i.as_str()))
        .collect();
    set(s, "server_ifaces", "ifname", "", &names);
    // Each server's interface to itself: traffic between the containers
    // of one server, bridged behind its interface, stays its own.
    let same: Vec<String> = names.iter().map(|n| format!("{n} . {n}")).collect();
    set(s, "server_self", "ifname . ifname", "", &same);
    // Every uid the servers' users may have, not only today's: a server
    // is confined from its first packet.
    let uids = [format!("{}-{}", SERVER_UIDS.start(), SERVER_UIDS.end())];
    set(s, "server_uids", "uid", "flags interval; ", &uids);
    // Never the box's own TCP ports, whatever the record says: they are
    // open to their own sources only, and answered by the box.
    let published: Vec<_> = servers
        .published
        .iter()
        .filter(|p| {
            p.protocol != Protocol::Tcp
                || !(p.port == input.https_port
                    || WEB_PORTS.contains(&p.port)
                    || servers.fronts.contains(&p.port))
        })
        .collect();
    let mut owned: Vec<String> = published
        .iter()
        .map(|p| format!("{} . {} . {}", p.uid, p.protocol.name(), p.port))
        .collect();
    owned.sort();
    owned.dedup();
    set(
        s,
        "server_ports",
        "uid . inet_proto . inet_service",
        "",
        &owned,
    );
    let mut open: Vec<String> = published
        .iter()
        .map(|p| format!("{} . {}", p.protocol.name(), p.port))
        .collect();
    open.sort();
    open.dedup();
    set(s, "published", "inet_proto . inet_service", "", &open);
    let mut fronts: Vec<String> = servers.fronts.iter().map(u16::to_string).collect();
    fronts.sort();
    fronts.dedup();
    set(s, "server_fronts", "inet_service", "", &fronts);
    let v4: Vec<String> = DENIED_V4.iter().map(|n| n.to_string()).collect();
    set(s, "denied_v4", "ipv4_addr", "flags interval; ", &v4);
    let v6: Vec<String> = DENIED_V6.iter().map(|n| n.to_string()).collect();
    set(s, "denied_v6", "ipv6_addr", "flags interval; ", &v6);
}

fn set(s: &mut String, name: &str, kind: &str, flags: &str, elements: &[String]) {
    let _ = write!(s, "\tset {name} {{ type {kind}; {flags}");
    if !elements.is_empty() {
        let _ = write!(s, "elements = {{ {} }}; ", elements.join(", "));
    }
    s.push_str("}\n");
}

fn input_chain(s: &mut String, input: RenderInput<'_>) {
    let p = input.policy;
    s.push_str("\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n");
    s.push_str("\t\tiif \"lo\" accept\n");
    s.push_str("\t\tct state invalid counter drop comment \"invalid\"\n");
    s.push_str("\t\tct state established,related accept\n");
    let _ = writeln!(s, "\t\ticmp type {{ {ICMP_V4} }} accept");
    let _ = writeln!(s, "\t\ticmpv6 type {{ {ICMP_V6} }} accept");
    s.push_str("\t\tudp sport 67 udp dport 68 accept\n");
    s.push_str("\t\tudp sport 547 udp dport 546 accept\n");
    // Before any admin rule: a server reaches only what is offered to it.
    s.push_str("\t\tiifname @server_ifaces jump server_to_box\n");
    let https = format!("tcp dport {}", input.https_port);
    sourced(s, &https, &p.https_from, "accept", "https", true);
    // The servers' engines, behind hearth's TLS fronts (client
    // certificates): hearth's interface too, from the same sources.
    let fronts = "tcp dport @server_fronts";
    sourced(s, fronts, &p.https_from, "accept", "server engines", true);
    // What the servers publish; only the owner answers (server_local_out).
    s.push_str("\t\tmeta l4proto . th dport @published counter accept comment \"server ports\"\n");
    if p.web {
        s.push_str("\t\ttcp dport { 80, 443 } counter accept comment \"web\"\n");
    }
    for (i, a) in p.allow.iter().enumerate() {
        let m = format!(
            "{} dport {}",
            a.protocol.name(),
            ports(a.ports.first, a.ports.last)
        );
        sourced(s, &m, &a.from, "accept", &format!("allow {i}"), false);
    }
    s.push_str("\t\tcounter comment \"dropped\"\n\t}\n");
}

fn forward_chain(s: &mut String) {
    s.push_str("\tchain forward {\n\t\ttype filter hook forward priority filter; policy drop;\n");
    s.push_str("\t\tct state invalid counter drop comment \"invalid\"\n");
    s.push_str("\t\tct state established,related accept\n");
    s.push_str("\t\tiifname @server_ifaces jump server_out\n");
    // Port forwards were chosen in prerouting, with their sources.
    s.push_str("\t\tct status dnat accept\n");
    s.push_str("\t\tcounter comment \"dropped\"\n\t}\n");
}

fn output_chain(s: &mut String) {
    s.push_str("\tchain output {\n\t\ttype filter hook output priority filter; policy accept;\n");
    s.push_str("\t\tmeta skuid @server_uids jump server_local_out\n\t}\n");
}

fn server_chains(s: &mut String, servers: &UserPlane) {
    // What a server may reach on the box: the offered ports only.
    s.push_str("\tchain server_to_box {\n");
    for (protocol, port) in &servers.offered {
        let _ = writeln!(s, "\t\t{} dport {port} accept", protocol.name());
    }
    s.push_str("\t\tcounter drop comment \"server to box\"\n\t}\n");
    // Out of a server behind an interface: the internet, nothing else.
    s.push_str("\tchain server_out {\n");
    s.push_str("\t\tiifname . oifname @server_self accept\n");
    s.push_str("\t\toifname @server_ifaces counter drop comment \"server to server\"\n");
    denied(s);
    s.push_str("\t\taccept\n\t}\n");
    // Out of a server owned by a user: its packets to the box go out
    // through lo, to the rest through a real interface.
    // A server answers connections only on the ports it publishes: an
    // answer is the reply direction of a connection someone else began,
    // so a server listening on any other port (or on another server's)
    // never completes a handshake.
    s.push_str("\tchain server_local_out {\n");
    s.push_str(
        "\t\tct direction reply meta skuid . meta l4proto . th sport @server_ports accept\n",
    );
    s.push_str("\t\tct direction reply counter drop comment \"server port not published\"\n");
    s.push_str("\t\tct state established,related accept\n");
    s.push_str("\t\toif \"lo\" jump server_to_box\n");
    denied(s);
    s.push_str("\t\taccept\n\t}\n");
}

fn denied(s: &mut String) {
    s.push_str("\t\tip daddr @denied_v4 counter drop comment \"server to private\"\n");
    s.push_str("\t\tip6 daddr @denied_v6 counter drop comment \"server to private\"\n");
}

fn nat_chains(s: &mut String, p: &Policy) {
    s.push_str(
        "\tchain prerouting {\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n",
    );
    for (i, f) in p.forwards.iter().enumerate() {
        let family = match f.to {
            IpAddr::V4(_) => "ip",
            IpAddr::V6(_) => "ip6",
        };
        let target = match f.to {
            IpAddr::V4(a) => format!("{a}:{}", f.to_port),
            IpAddr::V6(a) => format!("[{a}]:{}", f.to_port),
        };
        // Only what is addressed to the box itself, not traffic it routes.
        let m = format!(
            "fib daddr type local {} dport {}",
            f.protocol.name(),
            f.port
        );
        let verdict = format!("dnat {family} to {target}");
        // Sources of the target's family only: a v4 client cannot be
        // sent to a v6 address.
        let from: Vec<IpNet> = f
            .from
            .iter()
            .copied()
            .filter(|n| {
                matches!(
                    (n, f.to),
                    (IpNet::V4(_), IpAddr::V4(_)) | (IpNet::V6(_), IpAddr::V6(_))
                )
            })
            .collect();
        if f.from.is_empty() {
            let nfproto = if family == "ip" { "ipv4" } else { "ipv6" };
            let _ = writeln!(
                s,
                "\t\tmeta nfproto {nfproto} {m} counter {verdict} comment \"forward {i}\""
            );
        } else if !from.is_empty() {
            let _ = writeln!(
                s,
                "\t\t{family} saddr {} {m} counter {verdict} comment \"forward {i}\"",
                elements(&from)
            );
        }
    }
    s.push_str("\t}\n");
    s.push_str(
        "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
    );
    s.push_str("\t\tiifname @server_ifaces oifname != @server_ifaces masquerade\n");
    // A forwarded connection's replies must come back through the box,
    // even from a target whose route out does not lead through it.
    s.push_str("\t\tct status dnat masquerade\n\t}\n");
}

/// `match` once per address family of `from`, or once without a source
/// when `from` is empty (anywhere) and `empty_is_none` is false.
fn sourced(
    s: &mut String,
    matcher: &str,
    from: &[IpNet],
    verdict: &str,
    comment: &str,
    empty_is_none: bool,
) {
    if from.is_empty() {
        if !empty_is_none {
            let _ = writeln!(s, "\t\t{matcher} counter {verdict} comment \"{comment}\"");
        }
        return;
    }
    let v4: Vec<IpNet> = from
        .iter()
        .copied()
        .filter(|n| matches!(n, IpNet::V4(_)))
        .collect();
    let v6: Vec<IpNet> = from
        .iter()
        .copied()
        .filter(|n| matches!(n, IpNet::V6(_)))
        .collect();
    for (family, nets) in [("ip", v4), ("ip6", v6)] {
        if !nets.is_empty() {
            let _ = writeln!(
                s,
                "\t\t{family} saddr {} {matcher} counter {verdict} comment \"{comment}\"",
                elements(&nets)
            );
        }
    }
}

/// One network, or an anonymous set of them, merged so that no two
/// overlap (nftables refuses overlapping intervals).
fn elements(nets: &[IpNet]) -> String {
    let merged = IpNet::aggregate(&nets.to_vec());
    if merged.len() == 1 {
        return merged[0].to_string();
    }
    let list: Vec<String> = merged.iter().map(IpNet::to_string).collect();
    format!("{{ {} }}", list.join(", "))
}

fn ports(first: u16, last: u16) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}-{last}")
    }
}

#[cfg(test)]
mod tests;
