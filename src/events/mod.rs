//! The event hub: topics, one global sequence number, the replay ring for
//! `Last-Event-ID`, change detection, and the SSE encoding.
//!
//! Publishing takes a short lock, encodes the SSE frame once and hands an
//! `Arc` of it to a `tokio::sync::broadcast` channel: it never waits for a
//! subscriber. A subscriber that falls behind the channel is caught up
//! with a fresh `snapshot` instead of the events it missed, so a slow
//! client never slows the hub or anyone else.
//!
//! Typed events: a publisher hands the hub a value of its topic's type
//! ([`Event`]); the hub encodes it. Role filtering: each subscriber
//! carries a [`View`]; what a view sees of an event is the event type's
//! own typed cut ([`Visible`]), encoded once per view, lazily, and shared
//! by every subscriber with that view (see [`view`]); on the per-owner
//! topics a member's cut is their own.

mod event;
mod hub;
pub mod sse;
mod topic;
pub mod view;

pub use event::{Event, HealthEvent, Hidden, Reader, Visible, sorted};
pub(crate) use event::{admin_only, signed_in_only};
pub use hub::{Hub, HubConfig, Subscription};
pub use sse::{RETRY_MS, encode_event};
pub use topic::{Topic, TopicSet, TopicsError};
pub use view::View;
