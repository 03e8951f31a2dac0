//! Temperatures from hwmon (`tempN_input`, millidegrees) and thermal zones.

/// Millidegrees Celsius to degrees; absurd values (a sensor reporting
/// garbage) are `None`.
pub fn parse_millidegrees(text: &str) -> Option<f64> {
    let v = super::parse_i64(text)?;
    let c = v as f64 / 1000.0;
    (-60.0..=250.0).contains(&c).then_some(c)
}

/// The label people see: the chip name and the sensor's own label, e.g.
/// `coretemp Package id 0`, or `nvme temp1` when it has none.
pub fn hwmon_label(chip: &str, sensor: &str, label: Option<&str>) -> String {
    match label.map(str::trim).filter(|l| !l.is_empty()) {
        Some(l) => format!("{chip} {l}"),
        None => format!("{chip} {sensor}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millidegrees() {
        assert_eq!(parse_millidegrees("45000\n"), Some(45.0));
        assert_eq!(parse_millidegrees("-5000"), Some(-5.0));
        assert_eq!(parse_millidegrees("garbage"), None);
        assert_eq!(parse_millidegrees("999999999"), None);
    }

    #[test]
    fn labels() {
        assert_eq!(
            hwmon_label("coretemp", "temp1", Some("Package id 0\n")),
            "coretemp Package id 0"
        );
        assert_eq!(hwmon_label("nvme", "temp1", None), "nvme temp1");
        assert_eq!(hwmon_label("nvme", "temp1", Some("  ")), "nvme temp1");
    }
}
