//! `/proc/net/dev`: per-interface traffic counters.

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetCounters {
    pub iface: String,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub rx_errors: u64,
    pub rx_drops: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub tx_drops: u64,
}

pub fn parse_net_dev(text: &str) -> Vec<NetCounters> {
    let mut out = Vec::new();
    // The first two lines are headers.
    for line in text.lines().skip(2) {
        let Some((iface, rest)) = line.split_once(':') else {
            continue;
        };
        let f: Vec<u64> = rest
            .split_ascii_whitespace()
            .map_while(|v| v.parse().ok())
            .collect();
        if f.len() < 12 {
            continue;
        }
        out.push(NetCounters {
            iface: iface.trim().to_string(),
            rx_bytes: f[0],
            rx_packets: f[1],
            rx_errors: f[2],
            rx_drops: f[3],
            tx_bytes: f[8],
            tx_packets: f[9],
            tx_errors: f[10],
            tx_drops: f[11],
        });
    }
    out
}

/// `/sys/class/net/<iface>/speed`: Mbit/s; `-1` or an error means unknown.
pub fn parse_speed(text: &str) -> Option<u64> {
    super::parse_i64(text).filter(|v| *v > 0).map(|v| v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn this_machine() {
        let n = parse_net_dev(&fixture("net_dev.txt"));
        let names: Vec<&str> = n.iter().map(|n| n.iface.as_str()).collect();
        assert_eq!(names, vec!["lo", "ifb0", "ifb1", "eth0"]);
        let eth0 = &n[3];
        assert_eq!(eth0.rx_bytes, 149872878);
        assert_eq!(eth0.tx_packets, 5515);
    }

    #[test]
    fn errors_drops_and_garbage() {
        let n = parse_net_dev(&fixture("net_dev_wlan.txt"));
        assert_eq!(n[1].rx_errors, 2);
        assert_eq!(n[1].rx_drops, 1);
        assert_eq!(n[1].tx_drops, 3);
        assert!(parse_net_dev("h\nh\neth0: 1 2 3\nbroken line\n").is_empty());
    }

    #[test]
    fn speed() {
        assert_eq!(parse_speed("1000\n"), Some(1000));
        assert_eq!(parse_speed("-1\n"), None);
        assert_eq!(parse_speed(""), None);
    }
}
