//! Who the client is when Caddy proxies hearth's pages (a domain with
//! the target `hearth`): Caddy's connection comes from loopback, and the
//! client's address is in `X-Forwarded-For`, which Caddy 2.6 sets to the
//! address it saw (it drops what the client sent). hearth believes the
//! header only on a connection from a loopback socket owned by Caddy's
//! Linux user, found in the kernel's socket table (`/proc/net/tcp*`):
//! anyone else, on the LAN or another local user, sending the header is
//! taken at its peer address, so the per-address limits (sign-in
//! throttle, streams per address) see the real client.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::HeaderMap;

/// Whether the connection `peer` → `local` comes from a socket of the
/// user `uid` on this machine's loopback.
pub fn from_trusted_proxy(peer: SocketAddr, local: SocketAddr, uid: Option<u32>) -> bool {
    let Some(uid) = uid else {
        return false;
    };
    if !peer.ip().to_canonical().is_loopback() {
        return false;
    }
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|path| {
        std::fs::read_to_string(path)
            .is_ok_and(|table| socket_owner(&table, canonical(peer), canonical(local)) == Some(uid))
    })
}

/// The client's address: the peer's, or on a trusted proxy's connection
/// the last address of `X-Forwarded-For` (the one the proxy added).
pub fn client_address(peer: SocketAddr, trusted: bool, headers: &HeaderMap) -> SocketAddr {
    if !trusted {
        return peer;
    }
    let last = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse::<IpAddr>().ok())
        .next_back();
    match last {
        Some(ip) => SocketAddr::new(ip, 0),
        None => peer,
    }
}

fn canonical(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// The owner of the socket whose own address is `local` and whose remote
/// address is `remote`, in a `/proc/net/tcp` or `tcp6` table.
fn socket_owner(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (l, r, uid) = (f.get(1)?, f.get(2)?, f.get(7)?);
        (address(l)? == local && address(r)? == remote).then(|| uid.parse().ok())?
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): the
/// kernel prints each 32-bit word of the address as a native integer.
fn address(field: &str) -> Option<SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |i: usize| -> Option<[u8; 4]> {
        Some(
            u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16)
                .ok()?
                .to_le_bytes(),
        )
    };
    let ip = match ip.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(0)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip.to_canonical(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A Caddy (uid 998) connected from 127.0.0.1:41000 to hearth on
    // 8443, and hearth's own end of it in the tcp6 table (v4-mapped).
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:A028 0100007F:20FB 01 00000000:00000000 00:00000000 00000000   998        0 1 1 0 20 4 30 10 -1
   1: 0100007F:A029 0100007F:20FB 01 00000000:00000000 00:00000000 00000000  1000        0 2 1 0 20 4 30 10 -1
";
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00000100007F:20FB 0000000000000000FFFF00000100007F:A028 01 00000000:00000000 00:00000000 00000000   107        0 3 1 0 20 4 30 10 -1
   1: 00000000000000000000000001000000:1F90 00000000000000000000000001000000:A02A 01 00000000:00000000 00:00000000 00000000   998        0 4 1 0 20 4 30 10 -1
";

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_socket_table_names_the_owner_of_each_end() {
        let cases = [
            (TCP, "127.0.0.1:41000", "127.0.0.1:8443", Some(998)),
            (TCP, "127.0.0.1:41001", "127.0.0.1:8443", Some(1000)),
            (TCP, "127.0.0.1:41002", "127.0.0.1:8443", None),
            // hearth's end, v4-mapped in tcp6, compared canonically.
            (TCP6, "127.0.0.1:8443", "127.0.0.1:41000", Some(107)),
            (TCP6, "[::1]:8080", "[::1]:41002", Some(998)),
        ];
        for (table, local, remote, owner) in cases {
            assert_eq!(
                socket_owner(table, at(local), at(remote)),
                owner,
                "{local} to {remote}"
            );
        }
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            "203.0.113.7, 198.51.100.2".parse().unwrap(),
        );
        let peer = at("127.0.0.1:41000");
        assert_eq!(client_address(peer, false, &h), peer);
        assert_eq!(
            client_address(peer, true, &h).ip(),
            at("198.51.100.2:0").ip()
        );
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_address(peer, true, &h), peer);
    }

    #[test]
    fn no_one_off_loopback_is_a_trusted_proxy() {
        let local = at("192.168.1.2:8443");
        assert!(!from_trusted_proxy(at("192.168.1.9:41000"), local, Some(0)));
        assert!(!from_trusted_proxy(at("127.0.0.1:41000"), local, None));
    }

    #[test]
    fn a_real_loopback_connection_is_found_by_its_owner() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let (_server, peer) = listener.accept().unwrap();
        assert_eq!(peer, client.local_addr().unwrap());
        let me = nix::unistd::geteuid().as_raw();
        assert!(from_trusted_proxy(peer, local, Some(me)));
        assert!(!from_trusted_proxy(peer, local, Some(me + 1)));
    }
}
