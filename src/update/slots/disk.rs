//! Which partitions are the slots, and which of them runs: the
//! partitions named `hearth-root-a` and `hearth-root-b` on the disk `/`
//! is mounted from (never another disk's: every hearth image has the
//! same names), the running one being the one `/` is mounted from.

use super::error::SlotError;
use super::host::{Host, Partition};
use super::layout::{Layout, RootDisk};
use super::protocol::Slot;

#[derive(Debug, Clone)]
pub struct Slots {
    pub running: Slot,
    pub a: Partition,
    pub b: Partition,
}

impl Slots {
    pub fn find(host: &dyn Host, layout: &Layout) -> Result<Slots, SlotError> {
        let (disk, running) = match &layout.root {
            RootDisk::Mounted => host.root_partition()?,
            RootDisk::Given { disk, running } => (disk.clone(), running.clone()),
        };
        let partitions = host.partitions(&disk, &layout.dev)?;
        let named = |slot: Slot| {
            let name = slot.partition_name();
            let mut matching = partitions.iter().filter(|p| p.name == name);
            match (matching.next(), matching.next()) {
                (Some(p), None) => Ok(p.clone()),
                _ => Err(SlotError::NoSlot {
                    name,
                    disk: disk.clone(),
                }),
            }
        };
        let (a, b) = (named(Slot::A)?, named(Slot::B)?);
        let running = if a.device == running {
            Slot::A
        } else if b.device == running {
            Slot::B
        } else {
            return Err(SlotError::RunningNotASlot { partition: running });
        };
        Ok(Slots { running, a, b })
    }

    pub fn partition(&self, slot: Slot) -> &Partition {
        match slot {
            Slot::A => &self.a,
            Slot::B => &self.b,
        }
    }
}
