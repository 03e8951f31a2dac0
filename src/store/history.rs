//! The metrics history table: one row per series and minute. It is
//! telemetry rather than a change someone made, so it is written without
//! an audit record (the audit log would otherwise grow every minute).

use redb::{ReadableDatabase, ReadableTable};

use super::schema::HISTORY;
use super::{Store, StoreError};

/// One minute of one series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MinutePoint {
    /// Minutes since the Unix epoch.
    pub minute: u32,
    pub min: f32,
    pub avg: f32,
    pub max: f32,
}

impl MinutePoint {
    fn encode(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[0..4].copy_from_slice(&self.min.to_le_bytes());
        b[4..8].copy_from_slice(&self.avg.to_le_bytes());
        b[8..12].copy_from_slice(&self.max.to_le_bytes());
        b
    }

    fn decode(minute: u32, b: &[u8]) -> Option<MinutePoint> {
        let f = |i: usize| Some(f32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?));
        Some(MinutePoint {
            minute,
            min: f(0)?,
            avg: f(4)?,
            max: f(8)?,
        })
    }
}

impl Store {
    /// Adds minute points and drops every point older than `keep_from`.
    pub fn append_history(
        &self,
        points: &[(String, MinutePoint)],
        keep_from: u32,
    ) -> Result<(), StoreError> {
        let err = |e: redb::Error| self.write_err("metrics history", e);
        let db = self.writable()?;
        let txn = db.begin_write().map_err(|e| err(e.into()))?;
        {
            let mut table = txn.open_table(HISTORY).map_err(|e| err(e.into()))?;
            for (series, p) in points {
                table
                    .insert((series.as_str(), p.minute), p.encode().as_slice())
                    .map_err(|e| err(e.into()))?;
            }
            let mut names: Vec<&str> = points.iter().map(|(s, _)| s.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                table
                    .retain_in((name, 0)..(name, keep_from), |_, _| false)
                    .map_err(|e| err(e.into()))?;
            }
        }
        self.commit(txn, "metrics history")?;
        Ok(())
    }

    /// Every stored point from minute `from` on, by series, oldest first.
    pub fn load_history(&self, from: u32) -> Result<Vec<(String, MinutePoint)>, StoreError> {
        let err = |e: redb::Error| self.read_err("metrics history", e);
        let db = self.inner.db.get()?;
        let txn = db.begin_read().map_err(|e| err(e.into()))?;
        let table = txn.open_table(HISTORY).map_err(|e| err(e.into()))?;
        let mut out = Vec::new();
        for row in table.iter().map_err(|e| err(e.into()))? {
            let (key, value) = row.map_err(|e| err(e.into()))?;
            let (series, minute) = key.value();
            if minute < from {
                continue;
            }
            if let Some(p) = MinutePoint::decode(minute, value.value()) {
                out.push((series.to_string(), p));
            }
        }
        Ok(out)
    }
}
