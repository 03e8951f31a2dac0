//! The servers' subordinate ID ranges: the lines of `/etc/subuid` and
//! `/etc/subgid` (`name:start:count`), parsed and changed without I/O,
//! so the privileged helper only reads the file, calls these, and writes
//! the result back in place (on the appliance the files are bind-mounted
//! from `/var`; `newuidmap` refuses a symbolic link, see the spike in
//! [`super`]).
//!
//! Each server's user gets [`RANGE`] IDs, at or above [`FIRST`], never
//! overlapping any other line of the file (a range shared by two users
//! would let one server's root own the other's files). Entries name the
//! user, not its uid: with a uid, rootlesskit 1.1.0 maps the range twice.

use std::fmt;

/// The IDs one server's user namespace maps: 65,536, as Docker expects.
pub const RANGE: u64 = 65_536;
/// Where the servers' ranges start: above every system and login user
/// and the ranges Debian's `useradd` hands out from 100,000.
pub const FIRST: u64 = 1 << 30;
/// The highest ID a range may reach (below `u32::MAX`, the "no ID" value).
pub const LAST: u64 = u32::MAX as u64 - 1;

/// One line of a subordinate ID file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubId {
    pub name: String,
    pub start: u64,
    pub count: u64,
}

impl SubId {
    fn end(&self) -> u64 {
        self.start + self.count
    }
}

impl fmt::Display for SubId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.name, self.start, self.count)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubIdError {
    #[error("line {line} of the subordinate ID file is not name:start:count")]
    Malformed { line: usize },
    #[error("no free range of {RANGE} IDs is left between {FIRST} and {LAST}")]
    Exhausted,
}

/// The file's entries; blank lines and `#` comments are dropped (the
/// file is written back without them: it is the helper's).
pub fn parse(text: &str) -> Result<Vec<SubId>, SubIdError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || SubIdError::Malformed { line: i + 1 };
        let mut parts = line.split(':');
        let (Some(name), Some(start), Some(count), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let start = start.parse().map_err(|_| bad())?;
        let count = count.parse().map_err(|_| bad())?;
        if name.is_empty() {
            return Err(bad());
        }
        out.push(SubId {
            name: name.to_string(),
            start,
            count,
        });
    }
    Ok(out)
}

pub fn render(entries: &[SubId]) -> String {
    entries.iter().map(|e| format!("{e}\n")).collect()
}

/// `name`'s range: the one it has, or the lowest free one at or above
/// [`FIRST`], added to `entries`.
pub fn ensure(entries: &mut Vec<SubId>, name: &str) -> Result<SubId, SubIdError> {
    if let Some(e) = entries.iter().find(|e| e.name == name) {
        return Ok(e.clone());
    }
    let mut taken: Vec<(u64, u64)> = entries.iter().map(|e| (e.start, e.end())).collect();
    taken.sort();
    let mut start = FIRST;
    for (s, e) in taken {
        if e <= start {
            continue;
        }
        if s >= start + RANGE {
            break;
        }
        // Overlaps the candidate: move past it, to a multiple of RANGE.
        start = e.div_ceil(RANGE) * RANGE;
    }
    if start + RANGE - 1 > LAST {
        return Err(SubIdError::Exhausted);
    }
    let entry = SubId {
        name: name.to_string(),
        start,
        count: RANGE,
    };
    entries.push(entry.clone());
    Ok(entry)
}

/// Drops `name`'s lines; answers whether there were any.
pub fn remove(entries: &mut Vec<SubId>, name: &str) -> bool {
    let before = entries.len();
    entries.retain(|e| e.name != name);
    entries.len() != before
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_the_files_lines() {
        let text = "# made by hand\nroot:100000:65536\n\nhs-0a1b2c3d:1073741824:65536\n";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].name, "hs-0a1b2c3d");
        assert_eq!(
            render(&entries),
            "root:100000:65536\nhs-0a1b2c3d:1073741824:65536\n"
        );
        for bad in ["root:1", "root:x:65536", ":1:2", "a:1:2:3", "a:1:-2"] {
            assert_eq!(
                parse(&format!("ok:1:1\n{bad}\n")),
                Err(SubIdError::Malformed { line: 2 }),
                "{bad}"
            );
        }
    }

    #[test]
    fn each_user_gets_a_range_of_its_own_that_overlaps_none() {
        let mut entries = parse("root:100000:65536\n").unwrap();
        let a = ensure(&mut entries, "hs-a").unwrap();
        assert_eq!((a.start, a.count), (FIRST, RANGE));
        let b = ensure(&mut entries, "hs-b").unwrap();
        assert_eq!(b.start, FIRST + RANGE);
        // Asked again: the same range, no second line.
        assert_eq!(ensure(&mut entries, "hs-a").unwrap(), a);
        assert_eq!(entries.len(), 3);
        // A freed range is used again.
        assert!(remove(&mut entries, "hs-a"));
        assert!(!remove(&mut entries, "hs-a"));
        let c = ensure(&mut entries, "hs-c").unwrap();
        assert_eq!(c.start, FIRST);
    }

    #[test]
    fn a_range_someone_else_put_in_the_way_is_stepped_over() {
        // A hand-made line in the middle of the servers' space, unaligned.
        let mut entries = parse(&format!("odd:{}:10\n", FIRST + 5)).unwrap();
        let a = ensure(&mut entries, "hs-a").unwrap();
        assert_eq!(a.start, FIRST + RANGE);
        let b = ensure(&mut entries, "hs-b").unwrap();
        assert_eq!(b.start, FIRST + 2 * RANGE);
        for (x, y) in [(&a, &b), (&a, &entries[0]), (&b, &entries[0])] {
            assert!(x.end() <= y.start || y.end() <= x.start, "{x} overlaps {y}");
        }
    }

    #[test]
    fn a_full_space_is_an_error_not_an_overlap() {
        let mut entries = vec![SubId {
            name: "all".into(),
            start: FIRST,
            count: LAST - FIRST,
        }];
        assert_eq!(ensure(&mut entries, "hs-a"), Err(SubIdError::Exhausted));
    }
}
