//! The command line: exit codes and messages.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hearth");

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

/// `hearth serve` with a config file holding `config`: its exit code
/// and what it wrote to stderr.
fn serve_with_config(config: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hearth.toml");
    std::fs::write(&path, config).unwrap();
    let (code, _, err) = run(&["serve", "--config", path.to_str().unwrap()]);
    (code, err)
}

#[test]
fn version_prints_the_version() {
    let (code, out, _) = run(&["--version"]);
    assert_eq!(code, Some(0));
    assert_eq!(out.trim(), format!("hearth {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn serve_with_an_unknown_key_exits_2_naming_the_key() {
    let (code, err) = serve_with_config("listen = \"127.0.0.1:0\"\nlsiten_twice = 1\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("lsiten_twice"), "{err}");
}

#[test]
fn serve_with_a_bad_value_exits_2_naming_the_key_and_why() {
    let (code, err) = serve_with_config("listen = \"localhost\"\n");
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`listen`") && err.contains("address:port"),
        "{err}"
    );
}

#[test]
fn serve_with_a_missing_explicit_config_exits_2() {
    let (code, _, err) = run(&["serve", "--config", "/nonexistent/hearth.toml"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/hearth.toml"), "{err}");
}

#[test]
fn check_config_accepts_good_and_refuses_bad() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "listen = \"[::]:8443\"\n[limits]\nmax_connections = 100\n",
    )
    .unwrap();
    let (code, out, _) = run(&["check-config", good.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert!(out.contains("ok"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[tls]\ncert = \"/etc/hearth/cert.pem\"\n").unwrap();
    let (code, _, err) = run(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("tls.key"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, _) = run(&["serve", "--no-such-flag"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = run(&[]);
    assert_eq!(code, Some(2));
}
