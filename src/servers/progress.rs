//! How far a server being made or started has come, for people: the
//! stages of the long operations (its user, its storage, its engine's
//! start, the engine answering), which one it is at, and what is being
//! done. Pure: from what the host showed and the steps a pass took, so
//! each report on the `servers` topic is a progress event.

use serde::Serialize;

use super::plan::{Activity, Phase, Seen, Step, Storage};

/// The stages, in order (the last where hearth has a base image).
const STAGES: [&str; 5] = [
    "making its user",
    "preparing its storage",
    "starting its engine",
    "waiting for its engine to answer",
    "loading its base image",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The stage under way, from 1.
    pub stage: usize,
    pub stages: usize,
    pub doing: &'static str,
}

/// The progress of a server in `phase`, as `seen` before a pass that
/// took `taken` (its steps, all done), while it is being prepared or
/// started, or its base image is still to load (`base_pending`); `None`
/// otherwise.
pub fn progress(
    phase: Phase,
    seen: &Seen,
    taken: &[&Step],
    base_pending: bool,
) -> Option<Progress> {
    let loading = base_pending && phase == Phase::Running;
    if !matches!(phase, Phase::Preparing | Phase::Starting) && !loading {
        return None;
    }
    let took = |f: fn(&Step) -> bool| taken.iter().any(|s| f(s));
    let done = [
        seen.user || took(|s| matches!(s, Step::CreateUser(_))),
        seen.storage == Storage::Mounted || took(|s| matches!(s, Step::PrepareStorage { .. })),
        matches!(seen.unit, Activity::Active | Activity::Reloading)
            || took(|s| matches!(s, Step::Start { .. } | Step::Restart { .. })),
        seen.answering == Some(true),
        // The import runs in the background: done once recorded.
        !base_pending,
    ];
    let stages = if base_pending { 5 } else { 4 };
    let at = done[..stages].iter().position(|d| !d)?;
    Some(Progress {
        stage: at + 1,
        stages,
        doing: STAGES[at],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::servers::model::{Limits, ServerId};

    fn id() -> ServerId {
        ServerId::try_from("0a1b2c3d").unwrap()
    }

    #[test]
    fn each_stage_follows_what_the_host_shows_and_the_steps_just_taken() {
        let mut seen = Seen::NOTHING;
        let at = |seen: &Seen, taken: &[&Step]| {
            progress(Phase::Preparing, seen, taken, false).map(|p| (p.stage, p.doing))
        };
        assert_eq!(at(&seen, &[]), Some((1, "making its user")));
        let user = Step::CreateUser(id());
        assert_eq!(at(&seen, &[&user]), Some((2, "preparing its storage")));
        seen.user = true;
        let storage = Step::PrepareStorage {
            id: id(),
            disk_mib: 1024,
            ports: Vec::new(),
        };
        assert_eq!(at(&seen, &[&storage]), Some((3, "starting its engine")));
        seen.storage = Storage::Mounted;
        let start = Step::Start {
            id: id(),
            limits: Limits::DEFAULT,
        };
        assert_eq!(
            at(&seen, &[&start]),
            Some((4, "waiting for its engine to answer"))
        );
        seen.unit = Activity::Active;
        seen.answering = Some(true);
        assert_eq!(at(&seen, &[]), None, "all done");
        assert_eq!(progress(Phase::Running, &Seen::NOTHING, &[], false), None);
        assert_eq!(
            progress(Phase::Starting, &seen, &[], false),
            None,
            "a server up and answering has nothing under way"
        );
        // With a base image to load: a fifth stage, while running.
        let at5 = progress(Phase::Running, &seen, &[], true).unwrap();
        assert_eq!(
            (at5.stage, at5.stages, at5.doing),
            (5, 5, "loading its base image")
        );
        let load = Step::LoadBase(id());
        assert_eq!(
            progress(Phase::Running, &seen, &[&load], true).map(|p| p.stage),
            Some(5),
            "started, not done"
        );
    }
}
