//! The steps the page tests take again and again, as a person would:
//! signing in, opening a page and waiting for what it shows, answering
//! the shell's confirmation dialog. Each wait is a [`Browser::wait_for`]
//! on a script built here, so that a failure names the page and what was
//! awaited.

use serde_json::json;

use super::webdriver::Browser;

/// The script `return <condition>` with `css` quoted as a JavaScript
/// string in place of every `{css}` (no escaping by hand in the tests).
fn about(css: &str, condition: &str) -> String {
    format!(
        "return {}",
        condition.replace("{css}", &json!(css).to_string())
    )
}

impl Browser {
    /// Fills in the sign-in form (`#username`, `#password`) and submits
    /// it: what happens next is the caller's to wait for.
    pub async fn submit_sign_in(&self, username: &str, password: &str) {
        self.submit_form(
            "#login",
            &[("#username", username), ("#password", password)],
        )
        .await;
    }

    /// Sets fields, each `(css, value)`, in order, as
    /// [`Browser::set_value`] does.
    pub async fn fill(&self, fields: &[(&str, &str)]) {
        for (css, value) in fields {
            self.set_value(css, value).await;
        }
    }

    /// Sets the fields of the form matching `form`, each `(css, value)`,
    /// and clicks its submit button.
    pub async fn submit_form(&self, form: &str, fields: &[(&str, &str)]) {
        self.fill(fields).await;
        self.click(&format!("{form} button[type=submit]")).await;
    }

    /// Opens the sign-in page at `login_url` (one with `?next=` the page
    /// wanted), signs in as `username`, and waits until `landed` (a
    /// script as for [`Browser::wait_for`]) holds on the page it leads to.
    pub async fn sign_in_at(
        &self,
        login_url: &str,
        (username, password): (&str, &str),
        landed: &str,
        what: &str,
    ) {
        self.goto(login_url).await;
        self.wait_path("/login", "the sign-in page").await;
        self.submit_sign_in(username, password).await;
        self.wait_for(landed, what).await;
    }

    /// Waits until the page has loaded completely, scripts included (a
    /// click before that would submit a form natively).
    pub async fn wait_loaded(&self, what: &str) {
        self.wait_for("return document.readyState === 'complete'", what)
            .await;
    }

    /// Waits until the page at `path` has loaded completely.
    pub async fn wait_path(&self, path: &str, what: &str) {
        let script = format!(
            "return location.pathname === {} && document.readyState === 'complete'",
            json!(path)
        );
        self.wait_for(&script, what).await;
    }

    /// Waits until the element matching `css` is shown (its `hidden`
    /// attribute off).
    pub async fn wait_shown(&self, css: &str, what: &str) {
        let script = about(css, "!document.querySelector({css}).hidden");
        self.wait_for(&script, what).await;
    }

    /// Waits until the `textContent` of the element matching `css` is
    /// exactly `text`.
    pub async fn wait_text(&self, css: &str, text: &str, what: &str) {
        let script =
            about(css, "document.querySelector({css}).textContent === ") + &json!(text).to_string();
        self.wait_for(&script, what).await;
    }

    /// Waits until the `textContent` of the element matching `css` starts
    /// with `prefix`.
    pub async fn wait_text_starts(&self, css: &str, prefix: &str, what: &str) {
        let script = about(css, "document.querySelector({css}).textContent.startsWith(")
            + &json!(prefix).to_string()
            + ")";
        self.wait_for(&script, what).await;
    }

    /// Waits until an element matches `css`.
    pub async fn wait_present(&self, css: &str, what: &str) {
        let script = about(css, "document.querySelector({css}) !== null");
        self.wait_for(&script, what).await;
    }

    /// Waits until exactly `n` elements match `css`.
    pub async fn wait_count(&self, css: &str, n: usize, what: &str) {
        let script = about(css, "document.querySelectorAll({css}).length === ") + &n.to_string();
        self.wait_for(&script, what).await;
    }

    /// Waits until the field matching `css` is marked invalid
    /// (`aria-invalid="true"`).
    pub async fn wait_invalid(&self, css: &str, what: &str) {
        let script = about(
            css,
            "document.querySelector({css}).getAttribute('aria-invalid') === 'true'",
        );
        self.wait_for(&script, what).await;
    }

    /// Waits until the page's `#message` says it worked (class `ok`) in
    /// words that include `words`.
    pub async fn wait_ok_message(&self, words: &str, what: &str) {
        let script = format!(
            "const m = document.getElementById('message'); return m.classList.contains('ok') && m.textContent.includes({})",
            json!(words)
        );
        self.wait_for(&script, what).await;
    }

    /// Waits until the shell's confirmation dialog is open.
    pub async fn wait_dialog(&self) {
        self.wait_for(
            "return document.querySelector('dialog.confirm').open",
            "the confirmation",
        )
        .await;
    }

    /// Answers the shell's confirmation dialog (which must open) with its
    /// confirming button or Cancel, and waits until it has closed.
    pub async fn answer_dialog(&self, confirm: bool) {
        self.wait_dialog().await;
        self.click(if confirm {
            "#confirm-ok"
        } else {
            "dialog.confirm button[value=cancel]"
        })
        .await;
        self.wait_for(
            "return !document.querySelector('dialog.confirm').open",
            "the dialog closed",
        )
        .await;
    }
}
