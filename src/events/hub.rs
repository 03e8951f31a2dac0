//! The hub itself: publish, snapshot, subscribe, replay.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::broadcast;

use super::event::{Event, Reader};
use super::sse::{encode_event, ping_frame, retry_frame};
use super::topic::{Topic, TopicSet};
use super::view::{View, can_see, per_owner};
use crate::auth::Username;

#[derive(Debug, Clone, Copy)]
pub struct HubConfig {
    /// Events kept for `Last-Event-ID` replay.
    pub replay: usize,
    /// Events a subscriber may fall behind before it gets a snapshot.
    pub lag: usize,
    /// The first id; ids must grow across restarts, so the daemon starts
    /// them at the wall clock (see [`Hub::with_first_id`]).
    pub first_id: u64,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            replay: 4096,
            lag: 256,
            first_id: 1,
        }
    }
}

/// A published event: the admins' frame (encoded when published: it is
/// the common case, and its JSON is what change detection compares), the
/// typed value every other view is cut from, and the frame of each other
/// view, encoded on first use and shared by every subscriber with that
/// view.
struct Published {
    id: u64,
    topic: Topic,
    admin: Bytes,
    /// Where the admins' JSON is in `admin`: the event's only copy of it.
    admin_json: Range<usize>,
    value: Box<dyn Encode>,
    frames: [OnceLock<Option<Bytes>>; View::COUNT],
}

impl Published {
    /// The JSON `view` (and, on a per-owner topic, the member `owner`)
    /// may see; `None` if nothing.
    fn json_as(&self, view: View, owner: Option<&Username>) -> Option<Cow<'_, str>> {
        if !can_see(self.topic, view) {
            return None;
        }
        let json = match view {
            View::Admin => {
                return std::str::from_utf8(self.admin_json())
                    .ok()
                    .map(Cow::Borrowed);
            }
            View::Member | View::Viewer if per_owner(self.topic, view) => {
                self.value.member(Reader::Member(owner?))
            }
            View::Member | View::Viewer => self.value.member(Reader::Anyone),
            View::Public => self.value.public(),
        };
        json.map(Cow::Owned)
    }

    fn admin_json(&self) -> &[u8] {
        &self.admin[self.admin_json.clone()]
    }

    /// The frame `view` gets, or `None` if it may not see this event.
    fn frame_for(&self, view: View) -> Option<Bytes> {
        if view == View::Admin {
            return Some(self.admin.clone());
        }
        self.frames[view.index()]
            .get_or_init(|| {
                self.json_as(view, None)
                    .map(|json| encode_event(self.id, self.topic.name(), &json))
            })
            .clone()
    }

    /// The frame a subscriber with `view` and, for a member, `owner`
    /// gets: the shared one, or for a per-owner topic one of its own.
    fn frame_as(&self, view: View, owner: Option<&Username>) -> Option<Bytes> {
        if per_owner(self.topic, view) {
            let json = self.json_as(view, owner)?;
            return Some(encode_event(self.id, self.topic.name(), &json));
        }
        self.frame_for(view)
    }
}

impl std::fmt::Debug for Published {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Published")
            .field("id", &self.id)
            .field("topic", &self.topic)
            .field("admin", &String::from_utf8_lossy(self.admin_json()))
            .finish_non_exhaustive()
    }
}

/// A typed event with its type erased: what the hub keeps of it to make
/// the views other than the admins'.
trait Encode: Send + Sync {
    fn member(&self, reader: Reader<'_>) -> Option<String>;
    fn public(&self) -> Option<String>;
}

impl<E: Event> Encode for E {
    fn member(&self, reader: Reader<'_>) -> Option<String> {
        reduced(E::TOPIC, &self.for_member(reader)?)
    }

    fn public(&self) -> Option<String> {
        reduced(E::TOPIC, &self.for_public()?)
    }
}

/// A reduced view's JSON. It goes through a `serde_json::Value`, so its
/// objects' keys are sorted: the bytes these views have always had.
fn reduced(topic: Topic, view: &impl Serialize) -> Option<String> {
    serde_json::to_value(view)
        .map(|v| v.to_string())
        .inspect_err(|e| tracing::error!(topic = topic.name(), error = %e, "cannot encode a view of an event"))
        .ok()
}

#[derive(Debug, Clone)]
enum Message {
    Event(Arc<Published>),
    Ping,
    Shutdown,
}

struct State {
    next_id: u64,
    ring: VecDeque<Arc<Published>>,
    /// Each topic's newest event: its current state.
    current: BTreeMap<Topic, Arc<Published>>,
    closed: bool,
}

/// Cheap to clone; all clones are the same hub.
#[derive(Clone)]
pub struct Hub {
    config: HubConfig,
    state: Arc<Mutex<State>>,
    tx: broadcast::Sender<Message>,
}

impl Hub {
    pub fn new(config: HubConfig) -> Hub {
        let (tx, _) = broadcast::channel(config.lag.max(1));
        Hub {
            state: Arc::new(Mutex::new(State {
                next_id: config.first_id.max(1),
                ring: VecDeque::with_capacity(config.replay),
                current: BTreeMap::new(),
                closed: false,
            })),
            config,
            tx,
        }
    }

    /// Ids start at the wall clock in microseconds, so an id a client
    /// kept from before a restart is never mistaken for a newer one.
    pub fn with_first_id(mut config: HubConfig) -> Hub {
        let now_us = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(1);
        config.first_id = now_us;
        Hub::new(config)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes `event` on its topic if it differs from the topic's
    /// current content; returns the new id, or `None` if unchanged (or
    /// if it cannot be encoded, which is logged).
    pub fn publish<E: Event>(&self, event: E) -> Option<u64> {
        let topic = E::TOPIC;
        let admin = match serde_json::to_string(&event) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(topic = topic.name(), error = %e, "cannot encode an event; dropped");
                return None;
            }
        };
        let mut state = self.lock();
        if state.closed
            || state.current.get(&topic).map(|c| c.admin_json()) == Some(admin.as_bytes())
        {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        // The admin frame is encoded now: it is the common case, and it
        // keeps the cost of encoding on the publisher, not on a reader.
        let frame = encode_event(id, topic.name(), &admin);
        let start = frame.len() - admin.len() - "\n\n".len();
        let event = Arc::new(Published {
            id,
            topic,
            admin_json: start..start + admin.len(),
            admin: frame,
            value: Box::new(event),
            frames: Default::default(),
        });
        state.current.insert(topic, event.clone());
        if state.ring.len() == self.config.replay {
            state.ring.pop_front();
        }
        state.ring.push_back(event.clone());
        // Sent under the lock, so a subscriber that registers under the
        // same lock sees every event after its snapshot or replay, no gap
        // and no duplicate. `send` never waits.
        let _ = self.tx.send(Message::Event(event));
        Some(id)
    }

    /// The id of the newest event (0 before any).
    pub fn last_id(&self) -> u64 {
        self.lock().next_id.saturating_sub(1)
    }

    /// The current content of `topics` as `view` sees it, as one JSON
    /// object, e.g. `{"system":{...},"health":{...}}`; topics never
    /// published, or hidden from the view, are left out.
    pub fn state_json(&self, topics: TopicSet, view: View) -> String {
        state_json(&self.lock(), topics, view, None)
    }

    /// A `snapshot` frame with the newest id.
    fn snapshot_frame(
        state: &State,
        topics: TopicSet,
        view: View,
        owner: Option<&Username>,
    ) -> Bytes {
        let id = state.next_id.saturating_sub(1);
        encode_event(id, "snapshot", &state_json(state, topics, view, owner))
    }

    /// Subscribes to `topics`. With `last_event_id`, the stream starts with
    /// exactly the missed events if the ring still holds all of them, and
    /// with a snapshot otherwise.
    pub fn subscribe(
        &self,
        topics: TopicSet,
        view: View,
        last_event_id: Option<u64>,
    ) -> Subscription {
        self.subscribe_as(topics, view, None, last_event_id)
    }

    /// [`Hub::subscribe`] for a signed-in user: `owner` (their name) picks
    /// their own records on per-owner topics.
    pub fn subscribe_as(
        &self,
        topics: TopicSet,
        view: View,
        owner: Option<&Username>,
        last_event_id: Option<u64>,
    ) -> Subscription {
        let state = self.lock();
        let mut initial = VecDeque::new();
        initial.push_back(retry_frame());
        match last_event_id.and_then(|last| replay(&state, topics, view, owner, last)) {
            Some(missed) => initial.extend(missed),
            None => initial.push_back(Hub::snapshot_frame(&state, topics, view, owner)),
        }
        let rx = self.tx.subscribe();
        let closed = state.closed;
        drop(state);
        Subscription {
            hub: self.clone(),
            topics,
            view,
            owner: owner.cloned(),
            initial,
            rx,
            done: closed,
        }
    }

    /// Sends `: ping` to every stream.
    pub fn ping(&self) {
        let _ = self.tx.send(Message::Ping);
    }

    /// Ends every stream and refuses new events (daemon shutdown).
    pub fn shutdown(&self) {
        let mut state = self.lock();
        state.closed = true;
        let _ = self.tx.send(Message::Shutdown);
    }

    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

fn state_json(state: &State, topics: TopicSet, view: View, owner: Option<&Username>) -> String {
    let mut out = String::from("{");
    for (topic, event) in &state.current {
        if !topics.contains(*topic) {
            continue;
        }
        let Some(json) = event.json_as(view, owner) else {
            continue;
        };
        if out.len() > 1 {
            out.push(',');
        }
        out.push('"');
        out.push_str(topic.name());
        out.push_str("\":");
        out.push_str(&json);
    }
    out.push('}');
    out
}

/// The frames after `last` on `topics`, or `None` if some are gone.
fn replay(
    state: &State,
    topics: TopicSet,
    view: View,
    owner: Option<&Username>,
    last: u64,
) -> Option<Vec<Bytes>> {
    let newest = state.next_id.saturating_sub(1);
    if last > newest {
        // An id from the future: not ours (or the clock went back).
        return None;
    }
    if last == newest {
        return Some(Vec::new());
    }
    let oldest = state.ring.front()?.id;
    if last + 1 < oldest {
        return None;
    }
    Some(
        state
            .ring
            .iter()
            .filter(|e| e.id > last && topics.contains(e.topic))
            .filter_map(|e| e.frame_as(view, owner))
            .collect(),
    )
}

/// One subscriber's stream of SSE frames.
pub struct Subscription {
    hub: Hub,
    topics: TopicSet,
    view: View,
    /// The member's name, for per-owner topics.
    owner: Option<Username>,
    initial: VecDeque<Bytes>,
    rx: broadcast::Receiver<Message>,
    done: bool,
}

impl Subscription {
    /// The next frame; `None` when the stream is over (shutdown).
    pub async fn next(&mut self) -> Option<Bytes> {
        if let Some(frame) = self.initial.pop_front() {
            return Some(frame);
        }
        loop {
            if self.done {
                return None;
            }
            match self.rx.recv().await {
                Ok(Message::Event(e)) if self.topics.contains(e.topic) => {
                    match e.frame_as(self.view, self.owner.as_ref()) {
                        Some(frame) => return Some(frame),
                        None => continue,
                    }
                }
                Ok(Message::Event(_)) => continue,
                Ok(Message::Ping) => return Some(ping_frame()),
                Ok(Message::Shutdown) | Err(broadcast::error::RecvError::Closed) => {
                    self.done = true;
                    return None;
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow: skip what is queued and start again from a
                    // fresh snapshot, taken under the hub lock together with
                    // a new receiver, so nothing between them is lost.
                    tracing::debug!(missed, "SSE subscriber lagged; sending a snapshot");
                    let state = self.hub.lock();
                    if state.closed {
                        // The skipped messages held the shutdown.
                        self.done = true;
                        return None;
                    }
                    self.rx = self.hub.tx.subscribe();
                    return Some(Hub::snapshot_frame(
                        &state,
                        self.topics,
                        self.view,
                        self.owner.as_ref(),
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
