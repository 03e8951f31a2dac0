//! The recovery console (`hearth console`), which systemd runs on tty1 and
//! the serial port in place of a login prompt: for the owner who cannot
//! reach the web interface (a forgotten password, a lost second factor, a
//! firewall mistake, an unknown address), with no network, even with the
//! daemon down.
//!
//! - [`screen`]: the banner and menu, drawn for a VT100 (pure);
//! - [`term`]: the terminal in raw mode, its keys and signals;
//! - [`backend`]: the daemon over its control socket, or the store itself
//!   when the daemon is down;
//! - [`machine`]: systemd, the journal, the shell, the factory reset's
//!   erasing;
//! - [`menu`]: the pages and keys.

pub mod backend;
pub mod machine;
pub mod menu;
pub mod screen;
pub mod term;

use crate::config::Config;

/// The box's host name as the kernel has it.
pub fn hostname() -> String {
    crate::host::os_hostname().unwrap_or_else(|| "localhost".into())
}

/// The terminal's name for the audit records: `terminal` if given, else
/// standard input's device name (`/dev/ttyS0` → `ttyS0`).
pub fn terminal_name(terminal: Option<&str>) -> String {
    if let Some(t) = terminal {
        return t.trim_start_matches("/dev/").to_string();
    }
    std::fs::read_link("/proc/self/fd/0")
        .ok()
        .and_then(|p| {
            p.to_str()
                .filter(|s| s.starts_with("/dev/"))
                .map(|s| s.trim_start_matches("/dev/").to_string())
        })
        .unwrap_or_else(|| "console".into())
}

/// Runs the console on this process's terminal until the terminal goes
/// away or SIGTERM comes; systemd starts it again.
pub fn run(config: Config, terminal: &str, problem: Option<String>) {
    let mut box_ = backend::OnThisBox::new(config.clone(), terminal);
    box_.problem = problem;
    let machine = machine::Real { config };
    let mut tty = term::Tty::open();
    menu::Console::new(&mut tty, &box_, &machine).run();
}
