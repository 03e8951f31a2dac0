//! `/sys/class/power_supply/*/uevent` (batteries, mains, UPS) and the
//! RAPL energy counters' text.

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PowerSupply {
    pub name: String,
    /// `Battery`, `Mains`, `UPS`, `USB`, ...
    pub kind: Option<String>,
    /// `Charging`, `Discharging`, `Full`, ...
    pub status: Option<String>,
    pub online: Option<bool>,
    pub capacity_pct: Option<u8>,
    pub power_watts: Option<f64>,
}

/// Parses a supply's `uevent`; `name` is the folder name, used when the
/// file does not say.
pub fn parse_uevent(name: &str, text: &str) -> PowerSupply {
    let mut p = PowerSupply {
        name: name.to_string(),
        ..PowerSupply::default()
    };
    let mut voltage_uv = None;
    let mut current_ua = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let Some(key) = key.strip_prefix("POWER_SUPPLY_") else {
            continue;
        };
        let value = value.trim();
        match key {
            "NAME" if !value.is_empty() => p.name = value.to_string(),
            "TYPE" => p.kind = Some(value.to_string()),
            "STATUS" => p.status = Some(value.to_string()),
            "ONLINE" => p.online = value.parse::<u8>().ok().map(|v| v != 0),
            "CAPACITY" => p.capacity_pct = value.parse::<u8>().ok().filter(|v| *v <= 100),
            "POWER_NOW" => {
                p.power_watts = value
                    .parse::<i64>()
                    .ok()
                    .map(|uw| uw.unsigned_abs() as f64 / 1e6)
            }
            "VOLTAGE_NOW" => voltage_uv = value.parse::<i64>().ok(),
            "CURRENT_NOW" => current_ua = value.parse::<i64>().ok(),
            _ => {}
        }
    }
    // Many batteries report current and voltage instead of power.
    if p.power_watts.is_none()
        && let (Some(v), Some(i)) = (voltage_uv, current_ua)
    {
        p.power_watts = Some((v as f64 / 1e6) * (i.unsigned_abs() as f64 / 1e6));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn battery() {
        let b = parse_uevent("BAT0", &fixture("root/sys/class/power_supply/BAT0/uevent"));
        assert_eq!(b.kind.as_deref(), Some("Battery"));
        assert_eq!(b.status.as_deref(), Some("Discharging"));
        assert_eq!(b.capacity_pct, Some(87));
        assert_eq!(b.power_watts, Some(7.25));
    }

    #[test]
    fn mains_and_current_times_voltage() {
        let ac = parse_uevent("AC", &fixture("root/sys/class/power_supply/AC/uevent"));
        assert_eq!(ac.online, Some(false));
        assert_eq!(ac.kind.as_deref(), Some("Mains"));
        let b = parse_uevent(
            "BAT1",
            "POWER_SUPPLY_VOLTAGE_NOW=12000000\nPOWER_SUPPLY_CURRENT_NOW=-500000\nPOWER_SUPPLY_CAPACITY=250\n",
        );
        assert_eq!(b.power_watts, Some(6.0));
        assert_eq!(b.capacity_pct, None);
        assert_eq!(b.name, "BAT1");
    }
}
