//! The checks every page gets, on [`Browser`]: no accessibility violation
//! that axe-core finds, no sideways scrolling, at a desktop and a phone
//! width, with a screenshot of each in `target/screenshots/`.
//!
//! axe-core comes from the npm registry into `tests/browser/node_modules`
//! (`make browser-deps`) and is injected through WebDriver, never served
//! by the daemon. WebDriver runs scripts through the DevTools protocol,
//! which the pages' Content-Security-Policy does not apply to.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use super::webdriver::Browser;

/// The widths `check_page` looks at: a desktop and a phone.
pub const WIDTHS: [u32; 2] = [1280, 390];
const HEIGHT: u32 = 900;

const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/browser/node_modules/axe-core/axe.min.js"
);

fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        std::fs::read_to_string(AXE).unwrap_or_else(|e| {
            panic!(
                "axe-core is missing: run `make browser-deps` (npm ci --prefix tests/browser)\n({AXE}: {e})"
            )
        })
    })
}

/// Where `check_page` saves its screenshots: `target/screenshots`.
pub fn screenshot_dir() -> PathBuf {
    super::target_tmpdir()
        .parent()
        .expect("the target dir")
        .join("screenshots")
}

/// The elements past the right edge of the viewport where the overflow
/// starts (their parent is not past it), outside anything that clips
/// them: widest first, at most ten, each with the element it spills out of.
const OVERFLOWING: &str = r#"
const d = document.documentElement, limit = d.clientWidth;
const past = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > limit + 0.5; };
const clipped = e => {
  for (let p = e.parentElement; p && p !== document.body && p !== d; p = p.parentElement)
    if (getComputedStyle(p).overflowX !== 'visible') return true;
  return false;
};
const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
  + Array.from(e.classList, c => '.' + c).join('');
const wide = [];
for (const e of document.querySelectorAll('body, body *')) {
  if (!past(e) || clipped(e) || (e !== document.body && past(e.parentElement))) continue;
  const r = e.getBoundingClientRect();
  wide.push({name: name(e), in: name(e.parentElement), width: Math.round(r.width),
    right: Math.round(r.right)});
}
wide.sort((a, b) => b.width - a.width);
return {viewport: limit, html: d.scrollWidth, body: document.body.scrollWidth,
  elements: wide.slice(0, 10), more: Math.max(0, wide.length - 10)};
"#;

impl Browser {
    /// Waits for the fonts and two animation frames: what was laid out
    /// is on the screen.
    pub async fn next_frames(&self) {
        self.eval_async(
            "const done = arguments[arguments.length - 1]; document.fonts.ready.then(() => requestAnimationFrame(() => requestAnimationFrame(() => done(true))));",
        )
        .await;
    }

    /// Whether the page fits its window's width (neither the document
    /// nor its body scrolls sideways).
    pub async fn no_sideways_scroll(&self) -> bool {
        let v = self
            .eval(
                "const d = document.documentElement, b = document.body; return d.scrollWidth <= d.clientWidth && (!b || b.scrollWidth <= b.clientWidth);",
            )
            .await;
        v == true
    }

    async fn sideways_scroll_report(&self, what: &str) -> Option<String> {
        if self.no_sideways_scroll().await {
            return None;
        }
        let v = self.eval(OVERFLOWING).await;
        let mut report = format!(
            "{what} scrolls sideways: the viewport is {} px wide, the document {} px, the body {} px; where it starts, widest first:",
            v["viewport"], v["html"], v["body"]
        );
        for e in v["elements"].as_array().into_iter().flatten() {
            report.push_str(&format!(
                "\n  {} (in {}): {} px wide, right edge at {} px",
                e["name"].as_str().unwrap_or("?"),
                e["in"].as_str().unwrap_or("?"),
                e["width"],
                e["right"]
            ));
        }
        if v["more"].as_u64().unwrap_or(0) > 0 {
            report.push_str(&format!("\n  ... and {} more", v["more"]));
        }
        Some(report)
    }

    /// Runs axe-core on the current page; its violations (axe's result
    /// objects: id, impact, help, helpUrl, nodes).
    pub async fn axe(&self) -> Vec<Value> {
        let source = axe_source();
        if self.eval("return typeof window.axe").await != "object" {
            let v = self
                .eval(&format!("{source}\n;return typeof window.axe;"))
                .await;
            assert_eq!(v, "object", "injecting axe-core into the page failed");
        }
        let v = self
            .eval_async(
                "const done = arguments[arguments.length - 1]; axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations), e => done({failed: String(e && e.stack || e)}));",
            )
            .await;
        match v {
            Value::Array(violations) => violations,
            other => panic!("axe-core did not run: {other}"),
        }
    }

    async fn axe_report(&self, what: &str) -> Option<String> {
        let violations = self.axe().await;
        if violations.is_empty() {
            return None;
        }
        let mut report = format!("{what}: axe-core finds {} violations:", violations.len());
        for v in &violations {
            report.push_str(&format_violation(v));
        }
        Some(report)
    }

    /// Panics listing the SEVERE entries of the browser log since the
    /// last read, but for those whose message contains one of `allowed`
    /// (e.g. `"401 ()"`, a refusal the page learns from). A missing
    /// favicon.ico (Chromium asks for one on its own) never counts.
    pub async fn assert_no_severe_errors(&self, allowed: &[&str]) {
        let severe: Vec<Value> = self
            .severe_log()
            .await
            .into_iter()
            .filter(|e| {
                let m = e["message"].as_str().unwrap_or("");
                !m.contains("favicon.ico") && !allowed.iter().any(|a| m.contains(a))
            })
            .collect();
        assert!(severe.is_empty(), "browser errors: {severe:?}");
    }

    /// The checks of the current page at each of [`WIDTHS`] (900 px
    /// high): it does not scroll sideways and axe-core finds nothing. A
    /// screenshot of each is saved as `target/screenshots/{name}-{width}.png`
    /// first. Panics with every problem found at both widths; the window
    /// gets its size back.
    pub async fn check_page(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let (width_before, height_before) = self.window_size().await;
        let mut problems = Vec::new();
        for width in WIDTHS {
            self.set_window_size(width, HEIGHT).await;
            self.next_frames().await;
            let what = format!("{name} at {width} px");
            let shown = self
                .eval("return document.documentElement.clientWidth")
                .await;
            assert!(
                shown.as_u64().is_some_and(|w| w <= u64::from(width)),
                "{what}: the window did not get that narrow (the page is {shown} px wide)"
            );
            let shot = dir.join(format!("{name}-{width}.png"));
            self.screenshot(&shot).await;
            problems.extend(self.sideways_scroll_report(&what).await);
            problems.extend(self.axe_report(&what).await);
        }
        self.set_window_size(width_before, height_before).await;
        assert!(
            problems.is_empty(),
            "{}\n(screenshots in {})",
            problems.join("\n"),
            dir.display()
        );
    }
}

/// One violation: id, impact, help and where, with the first few elements
/// and what axe says to fix on the first.
pub fn format_violation(v: &Value) -> String {
    let nodes = v["nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut s = format!(
        "\n- {} ({}): {} [{} element(s); {}]",
        v["id"].as_str().unwrap_or("?"),
        v["impact"].as_str().unwrap_or("?"),
        v["help"].as_str().unwrap_or("?"),
        nodes.len(),
        v["helpUrl"].as_str().unwrap_or("")
    );
    for n in nodes.iter().take(3) {
        let target: Vec<String> = n["target"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t.as_str().map_or_else(|| t.to_string(), str::to_string))
            .collect();
        s.push_str(&format!("\n    {}", target.join(" >> ")));
    }
    if nodes.len() > 3 {
        s.push_str(&format!("\n    ... and {} more", nodes.len() - 3));
    }
    if let Some(fix) = nodes.first().and_then(|n| n["failureSummary"].as_str()) {
        for line in fix.lines() {
            s.push_str(&format!("\n      {}", line.trim()));
        }
    }
    s
}
