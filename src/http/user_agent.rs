//! A short label for the browser behind a sign-in, made from its
//! `User-Agent` header: "Firefox 128 on Windows", "Safari on iPhone",
//! "curl 7.88", else "unknown". The session list shows it so that a
//! person can tell their sessions apart. The header itself is never kept:
//! it is long, it is whatever the client chose to send, and it tells more
//! about a machine than the list needs. The label is built only from
//! fixed names and the digits of a version, so it is always short and
//! safe to show.

/// The longest label made; a bound for the store and the page.
pub const MAX_LEN: usize = 64;

const UNKNOWN: &str = "unknown";

/// Browsers by the product token that names them, most specific first:
/// Edge and Opera also say `Chrome/`, Chrome also says `Safari/`.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    // Headless, it is Chromium's shell that answers (kiosk displays, the
    // browser tests); "Chromium" is what a person would call it.
    ("HeadlessChrome/", "Chromium"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
];

/// Platforms by a word of the header, most specific first: iOS says
/// "like Mac OS X", Android and ChromeOS say "Linux".
const PLATFORMS: &[(&str, &str)] = &[
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
    ("FreeBSD", "FreeBSD"),
];

/// Command-line clients, named by the token they start with; their
/// version has two parts ("curl 7.88") and no platform is shown.
const TOOLS: &[(&str, &str)] = &[("curl/", "curl"), ("Wget/", "Wget")];

/// The label for a `User-Agent` header (`None` when there was none).
pub fn label(header: Option<&str>) -> String {
    let Some(ua) = header.map(str::trim).filter(|h| !h.is_empty()) else {
        return UNKNOWN.into();
    };
    if let Some((token, name)) = TOOLS.iter().find(|(t, _)| ua.starts_with(t)) {
        return with_version(name, version(&ua[token.len()..], 2));
    }
    let browser = BROWSERS
        .iter()
        .find_map(|(token, name)| {
            ua.find(token)
                .map(|at| with_version(name, version(&ua[at + token.len()..], 1)))
        })
        // Safari says only `Version/` and `Safari/`; its number is of
        // little help, the device says more.
        .or_else(|| (ua.contains("Safari/") && ua.contains("Version/")).then(|| "Safari".into()));
    let Some(browser) = browser else {
        return UNKNOWN.into();
    };
    let label = match PLATFORMS.iter().find(|(word, _)| ua.contains(word)) {
        Some((_, platform)) => format!("{browser} on {platform}"),
        None => browser,
    };
    // Cannot happen with the names above; a bound all the same.
    if label.len() > MAX_LEN {
        return UNKNOWN.into();
    }
    label
}

fn with_version(name: &str, version: Option<String>) -> String {
    match version {
        Some(v) => format!("{name} {v}"),
        None => name.to_string(),
    }
}

/// The first `parts` numbers of the version at the start of `rest`
/// ("128.0" of "128.0 Safari/..."), or `None` if it does not start with a
/// plausible one.
fn version(rest: &str, parts: usize) -> Option<String> {
    let numbers: Vec<&str> = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?
        .split('.')
        .take(parts)
        .collect();
    let plausible = |n: &&str| !n.is_empty() && n.len() <= 5;
    numbers
        .iter()
        .all(plausible)
        .then(|| numbers.join("."))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real headers, and what the session list shows for each.
    const FIXTURES: &[(&str, &str)] = &[
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/90.0.4430.93 Chrome/90.0.4430.93 Safari/537.36",
            "Chromium 90 on Linux",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Chrome 124 on Linux",
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36",
            "Chromium 156 on Linux",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0",
            "Firefox 128 on Windows",
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.67",
            "Edge 125 on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1",
            "Chrome 126 on iPad",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.71 Mobile Safari/537.36",
            "Chrome 126 on Android",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            "Samsung Internet 25 on Android",
        ),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0",
            "Opera 111 on ChromeOS",
        ),
        (
            "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
            "Firefox 127 on Linux",
        ),
        ("curl/7.88.1", "curl 7.88"),
        ("Wget/1.21.3", "Wget 1.21"),
        ("python-requests/2.31.0", "unknown"),
        ("Mozilla/5.0", "unknown"),
        ("", "unknown"),
        ("   ", "unknown"),
    ];

    #[test]
    fn real_headers_get_readable_labels() {
        for (header, expected) in FIXTURES {
            assert_eq!(label(Some(header)), *expected, "{header}");
        }
        assert_eq!(label(None), "unknown");
    }

    #[test]
    fn odd_versions_are_left_out_and_nothing_is_echoed() {
        assert_eq!(label(Some("Mozilla/5.0 Firefox/")), "Firefox");
        assert_eq!(label(Some("Mozilla/5.0 Firefox/abc")), "Firefox");
        let long = format!("Mozilla/5.0 (Windows) Firefox/{}", "9".repeat(500));
        assert_eq!(label(Some(&long)), "Firefox on Windows");
        assert_eq!(label(Some("curl/")), "curl");
        // Text around the tokens never reaches the label.
        let tricky = "<script>alert(1)</script> Chrome/1<b>.2 (Linux; evil)";
        assert_eq!(label(Some(tricky)), "Chrome 1 on Linux");
        for (header, _) in FIXTURES {
            assert!(label(Some(header)).len() <= MAX_LEN);
        }
    }
}
