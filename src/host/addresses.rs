//! The box's addresses on the network: those a person could type to reach
//! it. Loopback, IPv6 link-local (it needs a zone, and no browser takes
//! one) and the addresses of the bridges and pairs that containers and
//! VMs use are left out, as are interfaces that are down.

use std::net::IpAddr;

/// One address of one interface, as the system lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceAddress {
    pub interface: String,
    pub up: bool,
    pub loopback: bool,
    pub address: IpAddr,
}

/// The addresses to show, from everything the system lists: IPv4 first
/// (the one people type), otherwise in the system's order, each once.
pub fn shown(all: &[InterfaceAddress]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for a in all.iter().filter(|a| is_shown(a)) {
        if !out.contains(&a.address) {
            out.push(a.address);
        }
    }
    out.sort_by_key(IpAddr::is_ipv6);
    out
}

fn is_shown(a: &InterfaceAddress) -> bool {
    let virtual_interface = super::interfaces::is_virtual(&a.interface);
    let link_local_v6 = matches!(a.address, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
    a.up && !a.loopback
        && !virtual_interface
        && !link_local_v6
        && !a.address.is_loopback()
        && !a.address.is_unspecified()
}

/// The addresses of this machine to show; none if they cannot be read.
pub fn of_this_machine() -> Vec<IpAddr> {
    use nix::net::if_::InterfaceFlags;
    let all = match nix::ifaddrs::getifaddrs() {
        Ok(addrs) => addrs,
        Err(e) => {
            tracing::debug!(error = %e, "could not list the network interfaces");
            return Vec::new();
        }
    };
    let listed: Vec<InterfaceAddress> = all
        .filter_map(|a| {
            let s = a.address?;
            let address = match (s.as_sockaddr_in(), s.as_sockaddr_in6()) {
                (Some(v4), _) => IpAddr::V4(v4.ip()),
                (None, Some(v6)) => IpAddr::V6(v6.ip()),
                // Hardware (AF_PACKET) entries carry no IP address.
                (None, None) => return None,
            };
            Some(InterfaceAddress {
                up: a.flags.contains(InterfaceFlags::IFF_UP),
                loopback: a.flags.contains(InterfaceFlags::IFF_LOOPBACK),
                interface: a.interface_name,
                address,
            })
        })
        .collect();
    shown(&listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(interface: &str, up: bool, address: &str) -> InterfaceAddress {
        InterfaceAddress {
            interface: interface.into(),
            up,
            loopback: interface == "lo",
            address: address.parse().unwrap(),
        }
    }

    #[test]
    fn only_the_addresses_a_person_could_reach_the_box_at() {
        let listed = [
            at("lo", true, "127.0.0.1"),
            at("lo", true, "::1"),
            at("enp1s0", true, "2001:db8::5"),
            at("enp1s0", true, "fe80::5054:ff:fe12:3456"),
            at("enp1s0", true, "192.168.1.20"),
            at("wlp2s0", false, "192.168.1.21"),
            at("wlp2s0", true, "10.0.0.7"),
            at("docker0", true, "172.17.0.1"),
            at("br-3f2a1b", true, "172.18.0.1"),
            at("veth12ab", true, "fe80::1"),
            at("virbr0", true, "192.168.122.1"),
            at("ifb0", true, "10.9.9.9"),
            // An alias of the same address on a second interface.
            at("enp1s0.10", true, "192.168.1.20"),
        ];
        let shown: Vec<String> = shown(&listed).iter().map(|a| a.to_string()).collect();
        assert_eq!(shown, ["192.168.1.20", "10.0.0.7", "2001:db8::5"]);
    }

    #[test]
    fn a_loopback_flag_or_address_is_enough_to_leave_it_out() {
        let mut odd = at("dummy0", true, "127.0.0.2");
        assert!(shown(std::slice::from_ref(&odd)).is_empty());
        odd.address = "192.0.2.1".parse().unwrap();
        odd.loopback = true;
        assert!(shown(&[odd]).is_empty());
        assert!(shown(&[at("eth0", true, "0.0.0.0")]).is_empty());
    }

    #[test]
    fn this_machine_lists_no_loopback() {
        assert!(of_this_machine().iter().all(|a| !a.is_loopback()));
    }
}
