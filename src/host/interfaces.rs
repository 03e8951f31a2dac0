//! Which network interfaces are virtual: those that carry traffic a real
//! interface carries too (a container's packets cross its veth, then the
//! bridge, then eth0; a VM's its tap or vnet and a bridge), or none that
//! leaves the box (lo, dummy, ifb). They are left out of the network
//! totals and the history (each packet would count twice or more), of
//! the addresses shown, and hidden by default on the status page.
//! WireGuard (`wg*`) and tun VPNs are real: networks someone set up.

/// Name prefixes of virtual interfaces (`lo` is matched whole).
const VIRTUAL_PREFIXES: &[&str] = &[
    "veth", "docker", "br-", "virbr", "vnet", "tap", "ifb", "dummy",
];

pub fn is_virtual(name: &str) -> bool {
    name == "lo" || VIRTUAL_PREFIXES.iter().any(|p| name.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_bridges_and_loopback_are_virtual_vpns_are_not() {
        let virtual_ones = [
            "lo",
            "veth1a2b3c",
            "docker0",
            "br-0123456789ab",
            "virbr0",
            "vnet3",
            "tap0",
            "ifb0",
            "dummy0",
        ];
        for name in virtual_ones {
            assert!(is_virtual(name), "{name}");
        }
        for name in ["eth0", "enp3s0", "wlan0", "wg0", "tun0", "bond0", "lone"] {
            assert!(!is_virtual(name), "{name}");
        }
    }
}
