//! `/proc/pressure/{cpu,memory,io}`: pressure stall information.

use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct PsiLine {
    pub avg10: f64,
    pub avg60: f64,
    pub avg300: f64,
    /// Total stall time in microseconds.
    pub total_us: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Psi {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub some: Option<PsiLine>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<PsiLine>,
}

pub fn parse_pressure(text: &str) -> Option<Psi> {
    let mut psi = Psi::default();
    for line in text.lines() {
        let mut parts = line.split_ascii_whitespace();
        let kind = parts.next();
        let mut l = PsiLine::default();
        let mut fields = 0;
        for kv in parts {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            match k {
                "avg10" => l.avg10 = v.parse().unwrap_or(0.0),
                "avg60" => l.avg60 = v.parse().unwrap_or(0.0),
                "avg300" => l.avg300 = v.parse().unwrap_or(0.0),
                "total" => l.total_us = v.parse().unwrap_or(0),
                _ => continue,
            }
            fields += 1;
        }
        if fields == 0 {
            continue;
        }
        match kind {
            Some("some") => psi.some = Some(l),
            Some("full") => psi.full = Some(l),
            _ => {}
        }
    }
    (psi.some.is_some() || psi.full.is_some()).then_some(psi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::parse::fixture;

    #[test]
    fn cpu_and_memory() {
        let p = parse_pressure(&fixture("pressure_cpu.txt")).unwrap();
        assert!(p.some.is_some());
        let m = parse_pressure(&fixture("pressure_memory.txt")).unwrap();
        assert!(m.full.is_some());
    }

    #[test]
    fn only_some_line() {
        let p = parse_pressure(&fixture("pressure_io_missing_full.txt")).unwrap();
        assert_eq!(p.some.unwrap().avg10, 1.5);
        assert_eq!(p.some.unwrap().total_us, 123456);
        assert!(p.full.is_none());
        assert!(parse_pressure("").is_none());
        assert!(parse_pressure("some nothing here").is_none());
    }
}
