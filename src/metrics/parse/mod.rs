//! Parsers: one per kernel file format, from text to typed values.
//!
//! They do no I/O and never panic: a line they cannot read is skipped, a
//! missing value is `None`, extra columns from newer kernels are ignored.
//! Each is tested on fixture files under `tests/fixtures/metrics/`.

pub mod cpu;
pub mod disk;
pub mod memory;
pub mod mounts;
pub mod net;
pub mod power;
pub mod pressure;
pub mod process;
pub mod system;
pub mod thermal;

#[cfg(test)]
mod props;

/// The fixture folder, for the parsers' tests.
#[cfg(test)]
pub(crate) fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/metrics")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A sysfs attribute holding one integer (`-1` and garbage are `None`
/// where the caller says negative values mean "unknown").
pub fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

pub fn parse_i64(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// One trimmed line of text, `None` when empty.
pub fn parse_line(text: &str) -> Option<String> {
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}
