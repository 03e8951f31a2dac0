//! What the console draws, as pure functions of what it knows: the banner
//! (who the box is, where to reach it, its certificate, the setup code
//! while it is not set up, the daemon's health) and the menu.
//!
//! The drawing works on a plain serial terminal: VT100's "cursor home"
//! and "erase display" only, no colour, lines of at most 80 columns and a
//! page of at most 24 lines, `\r\n` line ends (the terminal is in raw
//! mode, which does not turn `\n` into `\r\n`).

/// Columns and lines of the smallest terminal drawn for.
pub const COLUMNS: usize = 80;
pub const LINES: usize = 24;

/// Cursor home, erase the display.
const CLEAR: &str = "\x1b[H\x1b[2J";
/// Erase the screen, then the scrollback (xterm and the Linux console; a
/// VT100 ignores the second): after a password was on the screen. In this
/// order: some terminals push what an erase takes off into the scrollback.
pub const ERASE_ALL: &str = "\x1b[H\x1b[2J\x1b[3J";

/// What the banner shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    pub hostname: String,
    pub version: String,
    pub terminal: String,
    pub daemon: Daemon,
    /// The admin URLs, one per address.
    pub urls: Vec<String>,
    /// `AB:CD:...`, 32 bytes.
    pub fingerprint: Option<String>,
    pub setup_code: Option<String>,
    /// What is wrong with the console's own setup, if anything.
    pub problem: Option<String>,
}

/// What the console knows of the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Daemon {
    /// It answered: each component's name and state, those not ok with
    /// their detail.
    Ready {
        health: Vec<(String, String)>,
    },
    NotRunning,
    /// Not running, and it will not start: its store was lost on a box
    /// that was set up (the reason, which says what to do).
    StoreLost(String),
    /// It did not answer as it should (the reason).
    Unclear(String),
}

/// The banner's lines.
pub fn banner(b: &Banner) -> Vec<String> {
    let mut lines = vec![format!(
        "hearth {} on {} - recovery console ({})",
        b.version, b.hostname, b.terminal
    )];
    match &b.daemon {
        Daemon::Ready { .. } => lines.push("hearth is ready.".into()),
        Daemon::NotRunning => {
            lines.push("hearth is not running (the resets below still work).".into())
        }
        Daemon::StoreLost(why) => lines.extend(wrap(&format!(
            "hearth will not start: {why} (Factory reset is below)."
        ))),
        Daemon::Unclear(why) => lines.push(format!("hearth does not answer: {why}")),
    }
    if b.urls.is_empty() {
        lines.push("  (no network address yet)".into());
    }
    for url in b.urls.iter().take(SHOWN_URLS) {
        lines.push(format!("  {url}"));
    }
    if b.urls.len() > SHOWN_URLS {
        lines.push(format!(
            "  (and {} more addresses)",
            b.urls.len() - SHOWN_URLS
        ));
    }
    match &b.fingerprint {
        Some(fp) => {
            lines.push("TLS certificate SHA-256 (compare with the browser's):".into());
            lines.extend(fingerprint_lines(fp));
        }
        None => lines.push("TLS certificate: none yet (hearth makes one at its start)".into()),
    }
    if let Some(code) = &b.setup_code {
        lines.push(format!("hearth setup code: {code}"));
    }
    if let Daemon::Ready { health } = &b.daemon {
        lines.extend(health_lines(health));
    }
    if let Some(problem) = &b.problem {
        lines.push(format!("Note: {problem}"));
    }
    lines
}

/// How many admin URLs the banner lists (the page has 24 lines).
const SHOWN_URLS: usize = 4;

/// A SHA-256 fingerprint (95 characters) as two indented lines of 16
/// bytes each.
pub fn fingerprint_lines(fp: &str) -> Vec<String> {
    let chars: Vec<char> = fp.chars().collect();
    chars
        .chunks(48)
        .map(|half| {
            format!(
                "  {}",
                half.iter().collect::<String>().trim_end_matches(':')
            )
        })
        .collect()
}

/// `line` cut into pieces that fit the width.
pub fn wrap(line: &str) -> Vec<String> {
    let chars: Vec<char> = fit_chars(line);
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(COLUMNS - 1)
        .map(|c| c.iter().collect())
        .collect()
}

fn fit_chars(line: &str) -> Vec<char> {
    line.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `Health: store ok, https ok, firewall degraded, ...`, wrapped.
fn health_lines(health: &[(String, String)]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::from("Health:");
    for (name, state) in health {
        let item = format!(" {name} {state},");
        if line.len() + item.len() > COLUMNS - 1 {
            lines.push(line.trim_end_matches(',').to_string());
            line = String::from("       ");
        }
        line.push_str(&item);
    }
    lines.push(line.trim_end_matches(',').to_string());
    lines
}

/// The main menu's lines; the shell only when an admin allowed it
/// (`None`: not known while hearth is down; checked when chosen).
pub fn menu(shell: Option<bool>) -> Vec<String> {
    let mut lines = vec![
        " p  reset a password      t  turn off two-factor    f  reset the firewall".into(),
        " c  new TLS certificate   l  hearth's log           r  restart hearth".into(),
        " b  reboot                o  power off              x  factory reset".into(),
    ];
    match shell {
        Some(true) => lines.push(" s  root shell".into()),
        None => lines.push(" s  root shell (if an admin allowed it)".into()),
        Some(false) => {}
    }
    lines
}

/// A whole page: cleared, each line cut to the width, at most [`LINES`]
/// lines, the cursor left after `prompt`.
pub fn page(lines: &[String], prompt: &str) -> String {
    let mut out = String::from(CLEAR);
    for line in lines.iter().take(LINES - 1) {
        out.push_str(&fit(line));
        out.push_str("\r\n");
    }
    out.push_str(&fit(prompt));
    out
}

/// `line` without control characters, at most [`COLUMNS`] - 1 wide (the
/// last column of a VT100 wraps).
pub fn fit(line: &str) -> String {
    fit_chars(line).into_iter().take(COLUMNS - 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(daemon: Daemon) -> Banner {
        Banner {
            hostname: "attic".into(),
            version: "0.1.0".into(),
            terminal: "ttyS0".into(),
            daemon,
            urls: vec!["https://192.168.1.20:8443/setup".into()],
            fingerprint: Some(
                (0..32)
                    .map(|i| format!("{i:02X}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            ),
            setup_code: Some("K7QX-M2PD-9WTR".into()),
            problem: None,
        }
    }

    #[test]
    fn the_banner_says_where_the_box_is_and_its_certificate_and_code() {
        let health = vec![
            ("store".to_string(), "ok".to_string()),
            ("firewall".to_string(), "degraded".to_string()),
        ];
        let lines = banner(&sample(Daemon::Ready { health }));
        let text = lines.join("\n");
        assert!(text.contains("hearth 0.1.0 on attic"), "{text}");
        assert!(text.contains("hearth is ready."), "{text}");
        assert!(text.contains("  https://192.168.1.20:8443/setup"), "{text}");
        assert!(text.contains("hearth setup code: K7QX-M2PD-9WTR"), "{text}");
        assert!(
            text.contains("Health: store ok, firewall degraded"),
            "{text}"
        );
        // The fingerprint, whole, over two lines.
        let fp: String = lines
            .iter()
            .filter(|l| l.starts_with("  ") && l.contains(':') && !l.contains("https"))
            .map(|l| l.trim())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(fp, sample(Daemon::NotRunning).fingerprint.unwrap());
    }

    #[test]
    fn a_lost_store_says_why_hearth_will_not_start_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        crate::store::Store::open(dir.path())
            .unwrap()
            .mark_set_up()
            .unwrap();
        std::fs::remove_file(dir.path().join(crate::store::STORE_FILE)).unwrap();
        let why = crate::store::check_set_up_state(dir.path())
            .unwrap_err()
            .to_string();
        // Wrapped at the screen's width, mid-word where it must.
        let text = banner(&sample(Daemon::StoreLost(why))).join("");
        for said in [
            "hearth will not start",
            "is missing, but this box was set up",
            "Restore the store from a backup",
            "Factory reset is below",
        ] {
            assert!(text.contains(said), "{said}: {text}");
        }
    }

    #[test]
    fn long_lines_wrap_and_many_addresses_are_counted() {
        let pieces = wrap(&"x".repeat(200));
        assert_eq!(pieces.len(), 3);
        assert!(pieces.iter().all(|p| p.chars().count() < COLUMNS));
        let mut b = sample(Daemon::NotRunning);
        b.urls = (1..=6)
            .map(|i| format!("https://10.0.0.{i}:8443/"))
            .collect();
        let text = banner(&b).join("\n");
        assert!(text.contains("10.0.0.4"), "{text}");
        assert!(!text.contains("10.0.0.5"), "{text}");
        assert!(text.contains("(and 2 more addresses)"), "{text}");
    }

    #[test]
    fn a_problem_of_the_console_itself_is_said() {
        let mut b = sample(Daemon::NotRunning);
        b.problem = Some("the config file is refused (x); using the defaults".into());
        let text = banner(&b).join("\n");
        assert!(text.contains("Note: the config file is refused"), "{text}");
    }

    #[test]
    fn not_running_says_so_and_shows_no_health() {
        let text = banner(&sample(Daemon::NotRunning)).join("\n");
        assert!(text.contains("hearth is not running"), "{text}");
        assert!(!text.contains("Health:"), "{text}");
    }

    #[test]
    fn a_page_fits_a_vt100() {
        let mut lines = banner(&sample(Daemon::Ready {
            health: (0..12)
                .map(|i| (format!("component{i}"), "ok".into()))
                .collect(),
        }));
        lines.extend(menu(Some(true)));
        lines.push("x".repeat(200));
        lines.push("a\x1b[31mred".into());
        let drawn = page(&lines, "Choice: ");
        let body = drawn.strip_prefix(CLEAR).unwrap();
        let rows: Vec<&str> = body.split("\r\n").collect();
        assert!(rows.len() <= LINES, "{} rows", rows.len());
        for row in &rows {
            assert!(row.chars().count() < COLUMNS, "{row:?}");
            assert!(!row.contains('\x1b'), "{row:?}");
        }
        assert_eq!(*rows.last().unwrap(), "Choice: ");
    }

    #[test]
    fn the_shell_is_offered_only_when_allowed() {
        assert!(!menu(Some(false)).join("\n").contains("root shell"));
        assert!(menu(Some(true)).join("\n").contains(" s  root shell"));
        assert!(menu(None).join("\n").contains("(if an admin allowed it)"));
    }
}
