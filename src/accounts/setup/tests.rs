use super::*;
use crate::refusal::{Refusal, assert_refuses, is_internal};
use std::os::unix::fs::PermissionsExt;

const T0: u64 = 1_800_000_000_000;
const GOOD_PASSWORD: &str = "correct horse battery staple";

fn ip(last: u8) -> IpAddr {
    IpAddr::from([192, 168, 1, last])
}

struct Fixture {
    dir: tempfile::TempDir,
    store: Store,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        Fixture { dir, store }
    }
    fn code_path(&self) -> PathBuf {
        self.dir.path().join("run/setup-code")
    }
    fn open(&self) -> Setup {
        Setup::open(self.store.clone(), self.code_path()).unwrap()
    }
    fn has_user(&self, username: &str) -> bool {
        let user = self.store.record::<UserRecord>(Records::Users, username);
        user.unwrap().is_some()
    }
    /// The secret of a claim of `setup` with the right code, at `T0`.
    fn claim(&self, setup: &Setup) -> Secret {
        setup.claim(&self.code_in_file(), ip(2), T0).unwrap()
    }
    /// A setup just claimed, and the claim's secret.
    fn claimed(&self) -> (Setup, Secret) {
        let setup = self.open();
        let secret = self.claim(&setup);
        (setup, secret)
    }
    fn code_in_file(&self) -> String {
        std::fs::read_to_string(self.code_path())
            .unwrap()
            .trim()
            .to_string()
    }
}

#[test]
fn code_file_is_private_and_reused_across_restarts() {
    let f = Fixture::new();
    let setup = f.open();
    let mode = std::fs::metadata(f.code_path())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let code = f.code_in_file();
    assert_eq!(setup.code_for_console().unwrap(), code);
    drop(setup);
    assert_eq!(
        f.open().code_for_console().unwrap(),
        code,
        "a restart keeps the code"
    );
}

/// The field an input was refused for.
fn invalid_field(result: Result<(), SetupError>) -> &'static str {
    match result {
        Err(SetupError::Invalid { field, .. }) => field,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_whole_flow() {
    let f = Fixture::new();
    let setup = f.open();
    let status = setup.status(None, T0).unwrap();
    assert_eq!((status.complete, status.step), (false, SetupStep::Claim));
    assert!(matches!(
        setup.create_admin(None, "alice", GOOD_PASSWORD, ip(2), T0),
        Err(SetupError::NotClaimed)
    ));
    let secret = f.claim(&setup);
    let s = Some(secret.expose());
    assert_eq!(setup.status(s, T0).unwrap().step, SetupStep::Admin);

    assert_eq!(
        invalid_field(setup.create_admin(s, "alice", "password1234", ip(2), T0)),
        "password"
    );
    assert_eq!(
        invalid_field(setup.create_admin(s, "Alice!", GOOD_PASSWORD, ip(2), T0)),
        "username"
    );
    match setup.finish(s, ip(2), T0) {
        Err(SetupError::Incomplete { missing }) => assert!(missing.contains("admin")),
        other => panic!("{other:?}"),
    }
    setup
        .create_admin(s, "alice", GOOD_PASSWORD, ip(2), T0)
        .unwrap();
    let user: UserRecord = f.store.record(Records::Users, "alice").unwrap().unwrap();
    assert_eq!(user.role, Role::Admin);
    assert!(user.password.verify(GOOD_PASSWORD));
    assert_eq!(setup.status(s, T0).unwrap().step, SetupStep::Host);

    assert_eq!(
        invalid_field(setup.set_host(s, "mybox", "Mars/Olympus", ip(2), T0)),
        "timezone"
    );
    setup.set_host(s, "mybox", "UTC", ip(2), T0).unwrap();
    assert_eq!(setup.status(s, T0).unwrap().step, SetupStep::Domain);
    assert_eq!(
        invalid_field(setup.set_domain(s, Some("cloud.example.org"), None, ip(2), T0)),
        "email"
    );
    setup
        .set_domain(
            s,
            Some("cloud.example.org"),
            Some("me@example.org"),
            ip(2),
            T0,
        )
        .unwrap();
    setup.finish(s, ip(2), T0).unwrap();

    assert!(setup.is_complete());
    assert!(!f.code_path().exists(), "the code file is removed");
    assert!(matches!(
        setup.claim("anything", ip(2), T0),
        Err(SetupError::Complete)
    ));
    assert!(matches!(
        setup.finish(s, ip(2), T0),
        Err(SetupError::Complete)
    ));
    drop(setup);
    let again = f.open();
    assert!(again.is_complete(), "setup mode is kept in the store");
    assert!(again.code_for_console().is_none());
    let actions: Vec<String> = f.store.audit_actions(100).unwrap();
    assert_eq!(
        actions,
        vec![
            "setup.claim",
            "setup.admin",
            "setup.host",
            "setup.domain",
            "setup.finish"
        ]
    );
}

#[test]
fn admin_can_be_replaced_before_finishing() {
    let f = Fixture::new();
    let (setup, secret) = f.claimed();
    let s = Some(secret.expose());
    setup
        .create_admin(s, "alice", GOOD_PASSWORD, ip(2), T0)
        .unwrap();
    setup
        .create_admin(s, "bob", GOOD_PASSWORD, ip(2), T0)
        .unwrap();
    assert!(!f.has_user("alice"));
    assert!(f.has_user("bob"));
}

#[test]
fn wrong_codes_are_counted_audited_and_rotate_the_code_after_ten() {
    let f = Fixture::new();
    let setup = f.open();
    let first = f.code_in_file();
    for i in 0..9 {
        assert!(matches!(
            setup.claim("AAAA-AAAA-AAAA", ip(10 + i), T0),
            Err(SetupError::WrongCode)
        ));
    }
    assert_eq!(f.code_in_file(), first);
    assert!(matches!(
        setup.claim("AAAA-AAAA-AAAA", ip(30), T0),
        Err(SetupError::WrongCode)
    ));
    let second = f.code_in_file();
    assert_ne!(second, first, "the tenth wrong code replaces the code");
    assert!(matches!(
        setup.claim(&first, ip(31), T0),
        Err(SetupError::WrongCode)
    ));
    assert!(setup.claim(&second, ip(32), T0).is_ok());
    let failures = f
        .store
        .audit_records(0, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "setup.claim" && r.outcome == Outcome::Failure)
        .count();
    assert_eq!(failures, 11);
}

#[test]
fn attempts_are_rate_limited_per_source_address() {
    let f = Fixture::new();
    let setup = f.open();
    let code = f.code_in_file();
    for _ in 0..MAX_ATTEMPTS {
        assert!(matches!(
            setup.claim("nope", ip(5), T0),
            Err(SetupError::WrongCode)
        ));
    }
    // Even the right code is refused while the address is limited...
    assert!(matches!(
        setup.claim(&code, ip(5), T0 + 1000),
        Err(SetupError::RateLimited)
    ));
    // ...another address is not...
    assert!(setup.claim(&code, ip(6), T0 + 1000).is_ok());
    // ...and after the window the first one may try again.
    let later = T0 + ATTEMPT_WINDOW.as_millis() as u64 + 1;
    assert!(setup.claim(&code, ip(5), later).is_ok());
}

#[test]
fn setup_sessions_expire() {
    let f = Fixture::new();
    let (setup, secret) = f.claimed();
    let s = Some(secret.expose());
    assert!(setup.is_claimed(s, T0 + 1000));
    let after = T0 + SESSION_LIFETIME.as_millis() as u64;
    assert!(!setup.is_claimed(s, after));
    assert!(matches!(
        setup.create_admin(s, "alice", GOOD_PASSWORD, ip(2), after),
        Err(SetupError::NotClaimed)
    ));
}

#[test]
fn setup_errors_refuse_as_the_api_promises() {
    let invalid = SetupError::Invalid {
        field: "hostname",
        message: "hostname too long".into(),
    };
    let incomplete = SetupError::Incomplete {
        missing: "the host name",
    };
    assert_refuses([
        (
            SetupError::Complete,
            Refusal::Gone("setup is complete; sign in instead".into()),
        ),
        (
            SetupError::WrongCode,
            Refusal::Forbidden {
                code: "wrong_setup_code",
                message: "wrong setup code".into(),
            },
        ),
        (
            SetupError::RateLimited,
            Refusal::TooMany {
                message: "too many attempts; wait a minute".into(),
                retry_after: None,
            },
        ),
        (
            SetupError::NotClaimed,
            Refusal::Unauthorized {
                code: "unauthorized",
                message: "claim the box with the setup code first".into(),
            },
        ),
        (invalid, Refusal::invalid("hostname", "hostname too long")),
        (
            incomplete,
            Refusal::Conflict("not ready to finish: the host name is not set yet".into()),
        ),
    ]);
    assert!(is_internal(SetupError::Store(StoreError::for_tests())));
    let code_file = SetupError::CodeFile {
        path: "/run/hearth/setup-code".into(),
        source: std::io::ErrorKind::PermissionDenied.into(),
    };
    assert!(is_internal(code_file));
}
