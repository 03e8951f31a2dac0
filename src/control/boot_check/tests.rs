use super::*;

const LIMITS: Limits = Limits {
    settle: Duration::from_secs(20),
    deadline: Duration::from_secs(120),
    max_restarts: 3,
};

fn up() -> Sample {
    Sample::Answered { down: vec![] }
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

#[test]
fn good_once_up_for_the_settle_time_without_a_break() {
    let mut judge = Judge::new(LIMITS);
    assert_eq!(
        judge.observe(s(0), &Sample::NoAnswer("no socket".into()), 0),
        Verdict::Wait
    );
    assert_eq!(judge.observe(s(10), &up(), 0), Verdict::Wait);
    assert_eq!(judge.observe(s(29), &up(), 0), Verdict::Wait);
    assert_eq!(judge.observe(s(30), &up(), 0), Verdict::Good);
}

#[test]
fn a_component_down_starts_the_settle_time_again() {
    let mut judge = Judge::new(LIMITS);
    assert_eq!(judge.observe(s(0), &up(), 0), Verdict::Wait);
    let down = Sample::Answered {
        down: vec!["firewall (nft failed)".into()],
    };
    assert_eq!(judge.observe(s(15), &down, 0), Verdict::Wait);
    assert_eq!(judge.observe(s(25), &up(), 0), Verdict::Wait);
    assert_eq!(judge.observe(s(40), &up(), 0), Verdict::Wait);
    assert_eq!(judge.observe(s(45), &up(), 0), Verdict::Good);
}

#[test]
fn bad_at_the_deadline_saying_what_was_wrong_last() {
    let mut judge = Judge::new(LIMITS);
    let down = Sample::Answered {
        down: vec!["proxy (caddy is not running)".into()],
    };
    assert_eq!(judge.observe(s(100), &down, 0), Verdict::Wait);
    match judge.observe(s(120), &down, 0) {
        Verdict::Bad(why) => assert!(why.contains("proxy (caddy is not running)"), "{why}"),
        other => panic!("{other:?}"),
    }
    let mut silent = Judge::new(LIMITS);
    match silent.observe(s(121), &Sample::NoAnswer("connection refused".into()), 0) {
        Verdict::Bad(why) => assert!(why.contains("connection refused"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_hearth_that_keeps_failing_is_bad_at_once() {
    let mut judge = Judge::new(LIMITS);
    assert_eq!(
        judge.observe(s(4), &Sample::NoAnswer("not running".into()), 2),
        Verdict::Wait
    );
    match judge.observe(s(6), &Sample::NoAnswer("not running".into()), 3) {
        Verdict::Bad(why) => assert!(why.contains("restarted 3 times"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn only_down_components_count_against_the_slot() {
    let line = |component: &str, state: &str| HealthLine {
        component: component.into(),
        state: state.into(),
        detail: "why".into(),
    };
    let sample = Sample::of_health(&[
        line("store", "ok"),
        line("proxy", "degraded"),
        line("servers", "disabled"),
        line("firewall", "down"),
    ]);
    assert_eq!(
        sample,
        Sample::Answered {
            down: vec!["firewall (why)".into()]
        }
    );
}
