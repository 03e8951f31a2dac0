//! `/etc/os-release`: the OS's name.

/// `PRETTY_NAME`, or `NAME VERSION` when it is missing.
pub fn parse_os_release(text: &str) -> Option<String> {
    let mut pretty = None;
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').trim_matches('\'').to_string();
        match k.trim() {
            "PRETTY_NAME" => pretty = Some(v),
            "NAME" => name = Some(v),
            "VERSION" => version = Some(v),
            _ => {}
        }
    }
    pretty.filter(|p| !p.is_empty()).or(match (name, version) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (Some(n), None) => Some(n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn debian() {
        assert_eq!(
            parse_os_release(&fixture("os-release.txt")).as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn fallbacks() {
        assert_eq!(
            parse_os_release("NAME=\"Foo\"\nVERSION='1'\n").as_deref(),
            Some("Foo 1")
        );
        assert_eq!(parse_os_release("garbage"), None);
    }
}
