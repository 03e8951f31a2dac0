//! The polkit rules grant hearth's user exactly the actions it needs:
//! the rules file is run by Node.js with a `polkit` object as polkit 122
//! gives it (`addRule`, `Result`, an action with `id` and `lookup`, a
//! subject with `user`), and each action is asked as polkitd would.

use hearth_testkit as common;

use std::process::Command;

const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/systemd/polkit-1/rules.d/50-hearth.rules"
);

/// Asks the rules about each `(user, action, unit, verb)`; answers what
/// they return (`yes`, or `not_handled` when they leave it to the
/// default policy, which refuses hearth).
fn ask(cases: &[(&str, &str, &str, &str)]) -> Vec<String> {
    let node = common::require("node", "nodejs");
    let cases_json = serde_json::to_string(cases).unwrap();
    let script = format!(
        r#"
const fs = require("fs");
const rules = [];
const polkit = {{
  Result: {{ YES: "yes", NO: "no", AUTH_ADMIN: "auth_admin", NOT_HANDLED: "not_handled" }},
  addRule: (f) => rules.push(f),
}};
new Function("polkit", fs.readFileSync({rules:?}, "utf8"))(polkit);
const out = [];
for (const [user, id, unit, verb] of {cases_json}) {{
  const details = {{ unit, verb }};
  const action = {{ id, lookup: (k) => details[k] }};
  const subject = {{ user }};
  let result = "not_handled";
  for (const rule of rules) {{
    const r = rule(action, subject);
    if (r !== undefined && r !== "not_handled") {{ result = r; break; }}
  }}
  out.push(result);
}}
console.log(JSON.stringify(out));
"#,
        rules = RULES,
    );
    let out = Command::new(node).arg("-e").arg(&script).output().unwrap();
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const MANAGE: &str = "org.freedesktop.systemd1.manage-units";

#[test]
fn hearth_gets_exactly_its_actions() {
    let granted = [
        ("hearth", MANAGE, "caddy.service", "restart"),
        ("hearth", MANAGE, "nftables.service", "start"),
        ("hearth", MANAGE, "docker.service", "stop"),
        // The recovery console on the screen and the serial port.
        ("hearth", MANAGE, "hearth-console@tty1.service", "restart"),
        ("hearth", MANAGE, "hearth-console@ttyS0.service", "stop"),
        ("hearth", MANAGE, "hearth-console@ttyS0.service", "start"),
        ("hearth", MANAGE, "hearth-server@0a1b2c3d.service", "start"),
        ("hearth", MANAGE, "hearth-server@0a1b2c3d.service", "stop"),
        (
            "hearth",
            MANAGE,
            "hearth-server@0a1b2c3d.service",
            "restart",
        ),
        (
            "hearth",
            MANAGE,
            "hearth-server@0a1b2c3d.service",
            "set-property",
        ),
        (
            "hearth",
            "org.freedesktop.hostname1.set-static-hostname",
            "",
            "",
        ),
        ("hearth", "org.freedesktop.hostname1.set-hostname", "", ""),
        ("hearth", "org.freedesktop.timedate1.set-timezone", "", ""),
        ("hearth", "org.freedesktop.timedate1.set-ntp", "", ""),
        ("hearth", "org.freedesktop.login1.reboot", "", ""),
        ("hearth", "org.freedesktop.login1.power-off", "", ""),
    ];
    for (case, answer) in granted.iter().zip(ask(&granted)) {
        assert_eq!(answer, "yes", "{case:?}");
    }
}

#[test]
fn anything_else_is_left_to_the_default_policy() {
    let refused = [
        // Another unit, or another verb on a listed one.
        ("hearth", MANAGE, "ssh.service", "restart"),
        ("hearth", MANAGE, "hearth.service", "stop"),
        ("hearth", MANAGE, "caddy.service", "reload-or-restart"),
        ("hearth", MANAGE, "caddy.service", "enable"),
        // Only the console's two instances the image runs.
        ("hearth", MANAGE, "hearth-console@tty2.service", "start"),
        ("hearth", MANAGE, "hearth-console@.service", "start"),
        (
            "hearth",
            MANAGE,
            "hearth-console@tty1.service",
            "set-property",
        ),
        ("hearth", MANAGE, "hearth-console@ttyS0.service", "enable"),
        // Only servers' instances named by an id, and not their files.
        ("hearth", MANAGE, "caddy.service", "set-property"),
        ("hearth", MANAGE, "hearth-server@../../x.service", "start"),
        (
            "hearth",
            MANAGE,
            "hearth-server@0a1b2c3d.service.d",
            "start",
        ),
        ("hearth", MANAGE, "hearth-server@0A1B2C3D.service", "start"),
        ("hearth", MANAGE, "hearth-server@0a1b2c3d.service", "enable"),
        ("hearth", MANAGE, "hearth-server@.service", "start"),
        ("caddy", MANAGE, "hearth-server@0a1b2c3d.service", "start"),
        // Other actions of the same services.
        (
            "hearth",
            "org.freedesktop.systemd1.manage-unit-files",
            "",
            "",
        ),
        ("hearth", "org.freedesktop.systemd1.set-environment", "", ""),
        (
            "hearth",
            "org.freedesktop.login1.reboot-multiple-sessions",
            "",
            "",
        ),
        ("hearth", "org.freedesktop.timedate1.set-time", "", ""),
        (
            "hearth",
            "org.freedesktop.hostname1.set-machine-info",
            "",
            "",
        ),
        ("hearth", "org.freedesktop.policykit.exec", "", ""),
        // Another user asking for hearth's actions.
        ("caddy", MANAGE, "caddy.service", "restart"),
        ("nobody", "org.freedesktop.login1.reboot", "", ""),
    ];
    for (case, answer) in refused.iter().zip(ask(&refused)) {
        assert_eq!(answer, "not_handled", "{case:?}");
    }
}
