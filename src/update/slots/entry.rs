//! The boot entries of the slots, as systemd-boot sees them in
//! `loader/entries`: `hearth-<generation>-<slot>[+LEFT[-DONE]].conf`,
//! the counter renamed by the boot loader at each try and dropped by
//! `systemd-bless-boot` once the slot is judged good; `….conf.bad` once
//! the helper took a failed one out of sight (the boot loader reads only
//! `*.conf`); `….conf.tmp` while one is written. Pure: names and texts.

use super::protocol::{EntryStatus, Slot};

/// The tries an entry starts with.
pub const TRIES: u32 = 3;

/// What the boot loader makes of a file, by its last suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.conf`: booted.
    Live,
    /// `.conf.bad`: taken out of sight.
    Bad,
    /// `.conf.tmp`: being written, or left by a crash.
    Temporary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tries {
    pub left: u32,
    pub done: u32,
}

/// A parsed entry file name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryName {
    pub generation: u32,
    pub slot: Slot,
    /// None once blessed.
    pub tries: Option<Tries>,
    pub kind: Kind,
}

impl EntryName {
    /// A new entry, with its tries.
    pub fn new(generation: u32, slot: Slot) -> EntryName {
        EntryName {
            generation,
            slot,
            tries: Some(Tries {
                left: TRIES,
                done: 0,
            }),
            kind: Kind::Live,
        }
    }

    /// `name` if it is one of the slots' entries.
    pub fn parse(name: &str) -> Option<EntryName> {
        let (stem, kind) = if let Some(s) = name.strip_suffix(".conf") {
            (s, Kind::Live)
        } else if let Some(s) = name.strip_suffix(".conf.bad") {
            (s, Kind::Bad)
        } else if let Some(s) = name.strip_suffix(".conf.tmp") {
            (s, Kind::Temporary)
        } else {
            return None;
        };
        let rest = stem.strip_prefix("hearth-")?;
        let (generation, rest) = rest.split_once('-')?;
        if generation.is_empty()
            || generation.len() > 9
            || !generation.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut chars = rest.chars();
        let slot = Slot::from_letter(chars.next()?)?;
        let counter = chars.as_str();
        let tries = if counter.is_empty() {
            None
        } else {
            let counter = counter.strip_prefix('+')?;
            let (left, done) = counter.split_once('-').unwrap_or((counter, "0"));
            Some(Tries {
                left: number(left)?,
                done: number(done)?,
            })
        };
        Some(EntryName {
            generation: generation.parse().ok()?,
            slot,
            tries,
            kind,
        })
    }

    /// The file name, as the boot loader's renames keep it.
    pub fn file_name(&self) -> String {
        let counter = match self.tries {
            None => String::new(),
            Some(Tries { left, done: 0 }) => format!("+{left}"),
            Some(Tries { left, done }) => format!("+{left}-{done}"),
        };
        let suffix = match self.kind {
            Kind::Live => ".conf",
            Kind::Bad => ".conf.bad",
            Kind::Temporary => ".conf.tmp",
        };
        format!("{}{counter}{suffix}", self.prefix())
    }

    /// `hearth-<generation>-<slot>`: what stays through the renames.
    pub fn prefix(&self) -> String {
        format!("hearth-{:04}-{}", self.generation, self.slot)
    }

    /// Out of tries, or out of sight.
    pub fn is_bad(&self) -> bool {
        self.kind == Kind::Bad || self.tries.is_some_and(|t| t.left == 0)
    }

    pub fn status(&self, version: Option<String>) -> EntryStatus {
        EntryStatus {
            file: self.file_name(),
            generation: self.generation,
            tries_left: self.tries.map(|t| t.left),
            tries_done: self.tries.map(|t| t.done),
            blessed: self.tries.is_none() && self.kind == Kind::Live,
            bad: self.is_bad(),
            version,
        }
    }
}

fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// One entry file: its name and text.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: EntryName,
    pub text: String,
}

impl Entry {
    /// The value of its `key` lines, joined by spaces (as the boot
    /// loader joins several `options` lines).
    pub fn value(&self, key: &str) -> Option<String> {
        let values: Vec<&str> = self
            .text
            .lines()
            .filter_map(|line| {
                let (k, v) = line.trim().split_once(char::is_whitespace)?;
                (k == key).then_some(v.trim())
            })
            .collect();
        (!values.is_empty()).then(|| values.join(" "))
    }
}

/// The entry that stands for `slot` among `entries`: its live entry of
/// the highest generation, else its bad one of the highest.
pub fn current(entries: &[Entry], slot: Slot) -> Option<&Entry> {
    let of = |kind: Kind| {
        entries
            .iter()
            .filter(|e| e.name.slot == slot && e.name.kind == kind)
            .max_by_key(|e| e.name.generation)
    };
    of(Kind::Live).or_else(|| of(Kind::Bad))
}

/// The next generation: above every entry's, whatever its state, so a
/// new entry sorts first.
pub fn next_generation(entries: &[Entry]) -> u32 {
    entries.iter().map(|e| e.name.generation).max().unwrap_or(0) + 1
}

/// The new slot's kernel command line: the running entry's, its root
/// naming the new slot's partition and `hearth.slot=` the slot.
pub fn options_for(running: &str, partuuid: &str, slot: Slot) -> Option<String> {
    let mut found = false;
    let mut words: Vec<String> = running
        .split_whitespace()
        .filter(|w| !w.starts_with("hearth.slot="))
        .map(|w| {
            if w.starts_with("root=PARTUUID=") {
                found = true;
                format!("root=PARTUUID={partuuid}")
            } else {
                w.to_string()
            }
        })
        .collect();
    words.push(format!("hearth.slot={slot}"));
    found.then(|| words.join(" "))
}

/// A new entry's text.
pub fn render(version: &str, slot: Slot, options: &str) -> String {
    format!(
        "title hearth {version}\nversion {version}\nlinux /hearth/{slot}/vmlinuz\ninitrd /hearth/{slot}/initrd.img\noptions {options}\n"
    )
}

#[cfg(test)]
mod tests;
