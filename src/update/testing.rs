//! Fixtures the update module's unit tests share: an admin's word and
//! the helper's answer to the install it leads to.

use super::model::{Asked, Underway, Written};
use super::slots::protocol::{Installed, Slot};

/// Ann asks for hearth 0.2.0, bundle `0123456789abcdef`.
pub fn asked() -> Asked {
    Asked {
        bundle: "0123456789abcdef".into(),
        version: "0.2.0".into(),
        by: "ann".into(),
        at_ms: 1,
    }
}

/// The helper wrote hearth 0.2.0 into slot b, generation 2.
pub fn installed() -> Installed {
    Installed {
        slot: Slot::B,
        generation: 2,
        entry: "hearth-0002-b+3.conf".into(),
        version: "0.2.0".into(),
        root_sha256: "ab".repeat(32),
    }
}

/// Ann's install of 0.2.0 into slot b; `written` once the helper wrote
/// it (generation 2), `reboot_asked` once she said "reboot now".
pub fn underway(written: bool, reboot_asked: bool) -> Underway {
    Underway {
        bundle: "0123456789abcdef".into(),
        version: "0.2.0".into(),
        from_version: "0.1.0".into(),
        target: Slot::B,
        by: "ann".into(),
        started_ms: 2,
        written: written.then(|| Written {
            generation: 2,
            entry: "hearth-0002-b+3.conf".into(),
            at_ms: 3,
        }),
        reboot_asked,
    }
}
