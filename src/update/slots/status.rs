//! The slots' status, from the entries on the boot partition: pure.

use super::entry::{self, Entry};
use super::protocol::{Slot, SlotStatus, Status};

pub fn compute(running: Slot, entries: &[Entry], pending_key: Option<u32>) -> Status {
    let slot = |slot: Slot| SlotStatus {
        entry: entry::current(entries, slot).map(|e| e.name.status(e.value("version"))),
    };
    Status {
        running,
        a: slot(Slot::A),
        b: slot(Slot::B),
        pending_key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::slots::entry::EntryName;

    fn entry(file: &str, version: &str) -> Entry {
        Entry {
            name: EntryName::parse(file).unwrap(),
            text: format!("title hearth {version}\nversion {version}\n"),
        }
    }

    #[test]
    fn each_slot_shows_its_entry_tries_and_version() {
        let entries = [
            entry("hearth-0001-a.conf", "0.1.0"),
            entry("hearth-0002-b+2-1.conf", "0.2.0"),
        ];
        let s = compute(Slot::A, &entries, Some(2));
        assert_eq!(s.running, Slot::A);
        assert_eq!(s.pending_key, Some(2));
        let a = s.a.entry.unwrap();
        assert_eq!(
            (a.generation, a.blessed, a.bad, a.tries_left),
            (1, true, false, None)
        );
        assert_eq!(a.version.as_deref(), Some("0.1.0"));
        let b = s.b.entry.unwrap();
        assert_eq!(b.file, "hearth-0002-b+2-1.conf");
        assert_eq!(
            (b.generation, b.blessed, b.bad, b.tries_left, b.tries_done),
            (2, false, false, Some(2), Some(1))
        );

        let failed = [
            entry("hearth-0001-a.conf", "0.1.0"),
            entry("hearth-0002-b+0-3.conf", "0.2.0"),
        ];
        let b = compute(Slot::A, &failed, None).b.entry.unwrap();
        assert!(b.bad && !b.blessed);
        let marked = [entry("hearth-0002-b+0-3.conf.bad", "0.2.0")];
        let s = compute(Slot::A, &marked, None);
        assert!(s.b.entry.unwrap().bad);
        assert_eq!(s.a.entry, None);
    }
}
