//! Carries out one request: the install ([`super::install`]) and the
//! small ones, each refusing what would touch the running slot or boot
//! a bad one.

use super::disk::Slots;
use super::entry::{self, EntryName, Kind};
use super::error::{Failure, SlotError};
use super::esp;
use super::host::Host;
use super::install::{self, Reporter};
use super::layout::Layout;
use super::next_key;
use super::protocol::{Answer, OneShot, Progress, Request, Slot, Status};
use super::status;

pub fn execute(
    request: &Request,
    host: &dyn Host,
    layout: &Layout,
    report: &mut dyn FnMut(Progress) -> std::io::Result<()>,
) -> Result<Answer, Failure> {
    Ok(match request {
        Request::Status {} => Answer::Status(read_status(host, layout)?),
        Request::Install { bundle } => Answer::Installed(install::install(
            bundle,
            host,
            layout,
            &mut Reporter::new(report),
        )?),
        Request::MarkBad { slot } => {
            mark_bad(host, layout, *slot)?;
            Answer::Status(read_status(host, layout)?)
        }
        Request::BootOnce { slot } => Answer::BootOnce(boot_once(host, layout, *slot)?),
        Request::TrustNextKey {} => {
            let slots = Slots::find(host, layout)?;
            let entries = esp::read_entries(&layout.entries())?;
            Answer::KeyTrusted(next_key::trust(layout, &entries, slots.running)?)
        }
    })
}

pub fn read_status(host: &dyn Host, layout: &Layout) -> Result<Status, SlotError> {
    let slots = Slots::find(host, layout)?;
    let entries = esp::read_entries(&layout.entries())?;
    let pending = next_key::pending(layout)?;
    Ok(status::compute(
        slots.running,
        &entries,
        pending.last().copied(),
    ))
}

/// Renames the slot's counted entries `….conf.bad`: the boot loader
/// never boots them again by itself, even as the only match of its
/// `default` glob (which does not skip an entry with no tries left).
fn mark_bad(host: &dyn Host, layout: &Layout, slot: Slot) -> Result<(), SlotError> {
    let slots = Slots::find(host, layout)?;
    if slot == slots.running {
        return Err(SlotError::Running {
            slot,
            what: "marked bad",
        });
    }
    let dir = layout.entries();
    let entries = esp::read_entries(&dir)?;
    let live: Vec<&EntryName> = entries
        .iter()
        .map(|e| &e.name)
        .filter(|n| n.slot == slot && n.kind == Kind::Live)
        .collect();
    if let Some(good) = live.iter().find(|n| n.tries.is_none()) {
        return Err(SlotError::GoodEntry {
            slot,
            file: good.file_name(),
        });
    }
    for name in &live {
        let bad = EntryName {
            kind: Kind::Bad,
            ..(*name).clone()
        };
        esp::rename(&dir.join(name.file_name()), &dir.join(bad.file_name()))?;
    }
    esp::durable(host, &dir)
}

/// Sets the next boot, once, to the slot's current entry, by a glob on
/// what stays through the boot loader's renames.
fn boot_once(host: &dyn Host, layout: &Layout, slot: Slot) -> Result<OneShot, SlotError> {
    // The slots must be there, as for every request.
    Slots::find(host, layout)?;
    let entries = esp::read_entries(&layout.entries())?;
    let current = entry::current(&entries, slot).ok_or(SlotError::NoEntry { slot })?;
    if current.name.is_bad() {
        return Err(SlotError::BadEntry {
            slot,
            file: current.name.file_name(),
        });
    }
    let glob = format!("{}*", current.name.prefix());
    super::efivar::set(host, &layout.one_shot(), &glob)?;
    Ok(OneShot { slot, entry: glob })
}

#[cfg(test)]
mod tests;
