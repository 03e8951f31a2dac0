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
fn ask(cases: &[Case]) -> Vec<String> {
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
    let out = common::run_ok(Command::new(node).arg("-e").arg(&script), "node");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (user, action, unit, verb): what polkit is asked.
type Case = (&'static str, &'static str, &'static str, &'static str);

const MANAGE: &str = "org.freedesktop.systemd1.manage-units";

/// `user` asking systemd to `verb` `unit`.
fn manage(user: &'static str, unit: &'static str, verb: &'static str) -> Case {
    (user, MANAGE, unit, verb)
}

/// `user` asking for `action`, which names no unit.
fn act(user: &'static str, action: &'static str) -> Case {
    (user, action, "", "")
}

#[test]
fn hearth_gets_exactly_its_actions() {
    let granted = [
        manage("hearth", "caddy.service", "restart"),
        manage("hearth", "nftables.service", "start"),
        manage("hearth", "docker.service", "stop"),
        // The recovery console on the screen and the serial port.
        manage("hearth", "hearth-console@tty1.service", "restart"),
        manage("hearth", "hearth-console@ttyS0.service", "stop"),
        manage("hearth", "hearth-console@ttyS0.service", "start"),
        manage("hearth", "hearth-server@0a1b2c3d.service", "start"),
        manage("hearth", "hearth-server@0a1b2c3d.service", "stop"),
        manage("hearth", "hearth-server@0a1b2c3d.service", "restart"),
        manage("hearth", "hearth-server@0a1b2c3d.service", "set-property"),
        act("hearth", "org.freedesktop.hostname1.set-static-hostname"),
        act("hearth", "org.freedesktop.hostname1.set-hostname"),
        act("hearth", "org.freedesktop.timedate1.set-timezone"),
        act("hearth", "org.freedesktop.timedate1.set-ntp"),
        act("hearth", "org.freedesktop.login1.reboot"),
        act("hearth", "org.freedesktop.login1.power-off"),
    ];
    for (case, answer) in granted.iter().zip(ask(&granted)) {
        assert_eq!(answer, "yes", "{case:?}");
    }
}

#[test]
fn anything_else_is_left_to_the_default_policy() {
    let refused = [
        // Another unit, or another verb on a listed one.
        manage("hearth", "ssh.service", "restart"),
        manage("hearth", "hearth.service", "stop"),
        manage("hearth", "caddy.service", "reload-or-restart"),
        manage("hearth", "caddy.service", "enable"),
        // Only the console's two instances the image runs.
        manage("hearth", "hearth-console@tty2.service", "start"),
        manage("hearth", "hearth-console@.service", "start"),
        manage("hearth", "hearth-console@tty1.service", "set-property"),
        manage("hearth", "hearth-console@ttyS0.service", "enable"),
        // Only servers' instances named by an id, and not their files.
        manage("hearth", "caddy.service", "set-property"),
        manage("hearth", "hearth-server@../../x.service", "start"),
        manage("hearth", "hearth-server@0a1b2c3d.service.d", "start"),
        manage("hearth", "hearth-server@0A1B2C3D.service", "start"),
        manage("hearth", "hearth-server@0a1b2c3d.service", "enable"),
        manage("hearth", "hearth-server@.service", "start"),
        manage("caddy", "hearth-server@0a1b2c3d.service", "start"),
        // Other actions of the same services.
        act("hearth", "org.freedesktop.systemd1.manage-unit-files"),
        act("hearth", "org.freedesktop.systemd1.set-environment"),
        act("hearth", "org.freedesktop.login1.reboot-multiple-sessions"),
        act("hearth", "org.freedesktop.timedate1.set-time"),
        act("hearth", "org.freedesktop.hostname1.set-machine-info"),
        act("hearth", "org.freedesktop.policykit.exec"),
        // Another user asking for hearth's actions.
        manage("caddy", "caddy.service", "restart"),
        act("nobody", "org.freedesktop.login1.reboot"),
    ];
    for (case, answer) in refused.iter().zip(ask(&refused)) {
        assert_eq!(answer, "not_handled", "{case:?}");
    }
}
