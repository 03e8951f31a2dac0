//! Logging through `tracing`: to the journal with structured fields when
//! systemd connected stderr to it (`JOURNAL_STREAM`), human-readable to
//! stderr otherwise. The filter can be swapped on SIGHUP.
//!
//! Nothing secret is ever passed to a log macro: callers log names,
//! addresses and fingerprints, never passwords, tokens, codes or keys.

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// Lets the daemon change the log filter at run time.
pub struct LogHandle {
    filter: Option<reload::Handle<EnvFilter, Registry>>,
}

impl LogHandle {
    /// A handle that changes nothing, for code run without a subscriber.
    pub fn detached() -> LogHandle {
        LogHandle { filter: None }
    }

    /// Swaps the filter; the directive was validated with the config.
    pub fn set_filter(&self, directive: &str) -> Result<(), String> {
        let filter = parse_filter(directive)?;
        if let Some(handle) = &self.filter {
            handle.reload(filter).map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// A log filter (`info,hearth=debug`), or why not. Only ASCII is
/// taken: tracing-subscriber 0.3 slices directives by byte and panics on
/// some other characters (a property test found ` 𞅎=`), and no target,
/// level or field it knows needs them.
pub fn parse_filter(directive: &str) -> Result<EnvFilter, String> {
    if !directive.is_ascii() {
        return Err("only ASCII characters are allowed".into());
    }
    EnvFilter::try_new(directive).map_err(|e| e.to_string())
}

/// Installs the global subscriber. Call once, before the runtime starts.
pub fn init(directive: &str) -> LogHandle {
    let filter = parse_filter(directive).unwrap_or_else(|_| EnvFilter::new("info"));
    let (filter, handle) = reload::Layer::new(filter);
    let journald = if stderr_is_journal() {
        tracing_journald::layer().ok().map(|l| {
            l.with_syslog_identifier("hearth".into())
                .with_field_prefix(None)
        })
    } else {
        None
    };
    let fmt = journald.is_none().then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(journald)
        .with(fmt)
        .try_init();
    LogHandle {
        filter: Some(handle),
    }
}

/// True when `JOURNAL_STREAM` names the device and inode of our stderr, as
/// systemd sets it when StandardError=journal.
fn stderr_is_journal() -> bool {
    let Ok(value) = std::env::var("JOURNAL_STREAM") else {
        return false;
    };
    let Ok(stat) = nix::sys::stat::fstat(std::io::stderr()) else {
        return false;
    };
    journal_stream_matches(&value, stat.st_dev, stat.st_ino)
}

fn journal_stream_matches(value: &str, dev: u64, ino: u64) -> bool {
    let mut parts = value.splitn(2, ':');
    let parsed = (
        parts.next().and_then(|d| d.parse::<u64>().ok()),
        parts.next().and_then(|i| i.parse::<u64>().ok()),
    );
    parsed == (Some(dev), Some(ino))
}

/// `e` and each of its causes on one line, joined by `: `, as logs,
/// health details and reports show an error.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_outside_ascii_is_refused_not_a_panic() {
        // tracing-subscriber 0.3.23 panics on this one.
        assert!(parse_filter(" \u{1e14e}=").is_err());
        assert!(parse_filter("info,hearth=débug").is_err());
        assert!(parse_filter("info,hearth=debug").is_ok());
    }

    #[test]
    fn journal_stream_must_match_device_and_inode() {
        assert!(journal_stream_matches("8:12345", 8, 12345));
        assert!(!journal_stream_matches("8:12345", 8, 1));
        assert!(!journal_stream_matches("garbage", 8, 12345));
        assert!(!journal_stream_matches("", 0, 0));
    }
}
