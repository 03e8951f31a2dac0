//! The machine's health, read straight from /proc and /sys.
//!
//! - `parse`: one parser per kernel file format, pure and fixture-tested;
//! - `collect`: the I/O: reads those files (kept open, re-read with
//!   `pread`) into a [`collect::Raw`] snapshot of counters;
//! - `rates`: turns two raw snapshots into a [`model::SystemSample`]
//!   (percentages, bytes per second), pure and clock-injected;
//! - `history`: the rings of the last hour and the last week;
//! - `prometheus`: the text exposition of the raw counters;
//! - `sampler`: the task that ticks, publishes and keeps the history.
//!
//! A missing file means "not present": the field is absent, never an error.

pub mod collect;
pub mod history;
pub mod model;
pub mod parse;
mod pinned;
pub mod prometheus;
pub mod rates;
pub mod sampler;
pub mod start;
