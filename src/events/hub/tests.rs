use serde_json::Value;

use super::*;
use crate::events::event::Hidden;
use crate::events::{View, Visible};

/// Test events: any JSON on a topic. On `system` members and visitors
/// lose `net.*.mac`; `health` is whole for members and not public;
/// `servers` shows a member the records (`{"owner":..}`) of theirs.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
struct System(Value);

#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
struct Health(Value);

#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
struct Servers(Value);

impl Visible for System {
    type Member = Value;
    fn for_member(&self, _: Reader<'_>) -> Option<Value> {
        let mut v = self.0.clone();
        if let Some(Value::Array(net)) = v.get_mut("net") {
            for iface in net {
                iface.as_object_mut()?.remove("mac");
            }
        }
        Some(v)
    }
    type Public = Value;
    fn for_public(&self) -> Option<Value> {
        self.for_member(Reader::Anyone)
    }
}

impl Visible for Health {
    type Member = Value;
    fn for_member(&self, _: Reader<'_>) -> Option<Value> {
        Some(self.0.clone())
    }
    type Public = Hidden;
    fn for_public(&self) -> Option<Hidden> {
        None
    }
}

impl Visible for Servers {
    type Member = Vec<Value>;
    fn for_member(&self, reader: Reader<'_>) -> Option<Vec<Value>> {
        let Reader::Member(who) = reader else {
            return None;
        };
        let mine = self
            .0
            .as_array()?
            .iter()
            .filter(|r| r["owner"] == who.as_str());
        Some(mine.cloned().collect())
    }
    type Public = Hidden;
    fn for_public(&self) -> Option<Hidden> {
        None
    }
}

impl Event for System {
    const TOPIC: Topic = Topic::System;
}

impl Event for Health {
    const TOPIC: Topic = Topic::Health;
}

impl Event for Servers {
    const TOPIC: Topic = Topic::Servers;
}

fn system(json: &str) -> System {
    System(serde_json::from_str(json).unwrap())
}

fn health(json: &str) -> Health {
    Health(serde_json::from_str(json).unwrap())
}

fn text(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).unwrap()
}

/// The next event `sub` is sent, as text.
async fn next_text(sub: &mut Subscription) -> String {
    text(&sub.next().await.unwrap())
}

fn hub(replay: usize, lag: usize) -> Hub {
    Hub::new(HubConfig {
        replay,
        lag,
        first_id: 1,
    })
}

fn id_of(frame: &str) -> u64 {
    frame
        .lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn fresh_subscriber_gets_retry_snapshot_then_events_in_order() {
    let hub = hub(16, 16);
    hub.publish(system(r#"{"cpu":1}"#));
    hub.publish(health(r#"{"store":"ok"}"#));
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, None);
    assert_eq!(next_text(&mut sub).await, "retry: 2000\n\n");
    let snap = next_text(&mut sub).await;
    assert_eq!(
        snap,
        "id: 2\nevent: snapshot\ndata: {\"system\":{\"cpu\":1},\"health\":{\"store\":\"ok\"}}\n\n"
    );
    hub.publish(system(r#"{"cpu":2}"#));
    hub.publish(system(r#"{"cpu":3}"#));
    let a = next_text(&mut sub).await;
    let b = next_text(&mut sub).await;
    assert_eq!(a, "id: 3\nevent: system\ndata: {\"cpu\":2}\n\n");
    assert_eq!(id_of(&b), 4);
}

#[tokio::test]
async fn unchanged_content_is_not_published() {
    let hub = hub(16, 16);
    assert_eq!(hub.publish(health("{\"a\":1}")), Some(1));
    assert_eq!(hub.publish(health("{\"a\":1}")), None);
    assert_eq!(hub.publish(system("{\"a\":1}")), Some(2));
    assert_eq!(hub.publish(health("{\"a\":2}")), Some(3));
    assert_eq!(hub.last_id(), 3);
}

#[tokio::test]
async fn topics_filter_what_a_subscriber_sees() {
    let hub = hub(16, 16);
    let mut sub = hub.subscribe(TopicSet::parse(Some("health")).unwrap(), View::Admin, None);
    sub.next().await;
    assert_eq!(
        next_text(&mut sub).await,
        "id: 0\nevent: snapshot\ndata: {}\n\n"
    );
    hub.publish(system("{\"s\":1}"));
    hub.publish(health("{\"h\":1}"));
    let f = next_text(&mut sub).await;
    assert!(f.contains("event: health"), "{f}");
}

#[tokio::test]
async fn reconnect_replays_exactly_the_missed_events() {
    let hub = hub(16, 16);
    for i in 0..10 {
        let json = format!("{{\"n\":{i}}}");
        if i % 3 == 0 {
            hub.publish(health(&json));
        } else {
            hub.publish(system(&json));
        }
    }
    // Saw up to id 6; ids 7..=10 were missed.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(6));
    sub.next().await; // retry
    let ids: Vec<u64> = [
        sub.next().await.unwrap(),
        sub.next().await.unwrap(),
        sub.next().await.unwrap(),
        sub.next().await.unwrap(),
    ]
    .iter()
    .map(|f| id_of(&text(f)))
    .collect();
    assert_eq!(ids, vec![7, 8, 9, 10]);
    // Only system events requested: the health ones (ids 7 and 10) are skipped.
    let mut sub = hub.subscribe(
        TopicSet::parse(Some("system")).unwrap(),
        View::Admin,
        Some(6),
    );
    sub.next().await;
    let a = id_of(&next_text(&mut sub).await);
    let b = id_of(&next_text(&mut sub).await);
    assert_eq!((a, b), (8, 9));
    // Up to date: nothing to replay, then live events.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(10));
    sub.next().await;
    hub.publish(system("{\"n\":99}"));
    assert_eq!(id_of(&next_text(&mut sub).await), 11);
}

#[tokio::test]
async fn reconnect_after_the_ring_moved_on_gets_a_snapshot() {
    let hub = hub(4, 16);
    for i in 0..10 {
        hub.publish(system(&format!("{{\"n\":{i}}}")));
    }
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(3));
    sub.next().await;
    let f = next_text(&mut sub).await;
    assert!(f.starts_with("id: 10\nevent: snapshot\n"), "{f}");
    // An id from the future (another daemon's) gets a snapshot too.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(1_000));
    sub.next().await;
    assert!(next_text(&mut sub).await.contains("event: snapshot"));
    // The oldest id still in the ring is 7: from 6 the replay is complete.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(6));
    sub.next().await;
    assert_eq!(id_of(&next_text(&mut sub).await), 7);
}

#[tokio::test]
async fn a_lagging_subscriber_gets_a_fresh_snapshot_and_never_blocks_publishing() {
    let hub = hub(64, 4);
    let mut slow = hub.subscribe(TopicSet::all(), View::Admin, None);
    let mut fast = hub.subscribe(TopicSet::all(), View::Admin, None);
    fast.next().await;
    fast.next().await;
    for i in 0..20 {
        // Never waits, whoever is behind.
        hub.publish(system(&format!("{{\"n\":{i}}}")));
        let f = next_text(&mut fast).await;
        assert!(f.contains(&format!("{{\"n\":{i}}}")));
    }
    slow.next().await; // retry
    slow.next().await; // the snapshot of its connect time
    let caught_up = next_text(&mut slow).await;
    assert!(
        caught_up.starts_with("id: 20\nevent: snapshot\n") && caught_up.contains("{\"n\":19}"),
        "{caught_up}"
    );
    hub.publish(system("{\"n\":20}"));
    assert_eq!(id_of(&next_text(&mut slow).await), 21);
}

#[tokio::test]
async fn ping_and_shutdown() {
    let hub = hub(16, 16);
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, None);
    sub.next().await;
    sub.next().await;
    hub.ping();
    assert_eq!(next_text(&mut sub).await, ": ping\n\n");
    hub.shutdown();
    assert!(sub.next().await.is_none());
    assert_eq!(hub.publish(system("{}")), None);
    let mut late = hub.subscribe(TopicSet::all(), View::Admin, None);
    late.next().await;
    late.next().await;
    assert!(late.next().await.is_none(), "no stream after shutdown");
}

#[test]
fn state_json_joins_topics() {
    let hub = hub(16, 16);
    assert_eq!(hub.state_json(TopicSet::all(), View::Admin), "{}");
    hub.publish(health("{\"h\":1}"));
    hub.publish(system("{\"s\":1}"));
    assert_eq!(
        hub.state_json(TopicSet::all(), View::Admin),
        "{\"system\":{\"s\":1},\"health\":{\"h\":1}}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&hub.state_json(TopicSet::all(), View::Admin)).unwrap();
    assert_eq!(v["health"]["h"], 1);
}

#[tokio::test]
async fn each_view_gets_its_own_cut() {
    let hub = hub(16, 16);
    hub.publish(system(r#"{"net":[{"iface":"eth0","mac":"aa:bb"}]}"#));
    let mut admin = hub.subscribe(TopicSet::all(), View::Admin, None);
    let mut viewer = hub.subscribe(TopicSet::all(), View::Viewer, None);
    admin.next().await;
    viewer.next().await;
    assert!(next_text(&mut admin).await.contains("aa:bb"));
    assert!(!next_text(&mut viewer).await.contains("aa:bb"));
    hub.publish(system(r#"{"net":[{"iface":"eth0","mac":"cc:dd"}]}"#));
    assert!(next_text(&mut admin).await.contains("cc:dd"));
    let v = next_text(&mut viewer).await;
    assert!(v.contains("eth0") && !v.contains("cc:dd"), "{v}");
    assert!(
        !hub.state_json(TopicSet::all(), View::Public)
            .contains("cc:dd")
    );
}

#[tokio::test]
async fn a_viewers_frame_is_encoded_once_and_shared() {
    let hub = hub(16, 16);
    let mut a = hub.subscribe(TopicSet::all(), View::Viewer, None);
    let mut b = hub.subscribe(TopicSet::all(), View::Viewer, None);
    for s in [&mut a, &mut b] {
        s.next().await;
        s.next().await;
    }
    hub.publish(system(r#"{"net":[{"iface":"eth0","mac":"aa:bb"}]}"#));
    let (fa, fb) = (a.next().await.unwrap(), b.next().await.unwrap());
    assert_eq!(fa.as_ptr(), fb.as_ptr(), "one encoding for the view");
    assert_eq!(
        text(&fa),
        "id: 1\nevent: system\ndata: {\"net\":[{\"iface\":\"eth0\"}]}\n\n"
    );
}

#[tokio::test]
async fn members_get_their_own_records_live_in_snapshots_and_in_replays() {
    let hub = hub(16, 16);
    let ann = Username::try_from("ann").unwrap();
    let bob = Username::try_from("bob").unwrap();
    let records = r#"[{"id":"a","owner":"ann"},{"id":"b","owner":"bob"}]"#;
    hub.publish(Servers(serde_json::from_str(records).unwrap()));
    let mut admin = hub.subscribe(TopicSet::all(), View::Admin, None);
    let mut a = hub.subscribe_as(TopicSet::all(), View::Member, Some(&ann), None);
    let mut b = hub.subscribe_as(TopicSet::all(), View::Member, Some(&bob), Some(0));
    let mut nobody = hub.subscribe(TopicSet::all(), View::Member, None);
    let mut viewer = hub.subscribe_as(TopicSet::all(), View::Viewer, Some(&ann), None);
    for s in [&mut admin, &mut a, &mut b, &mut nobody, &mut viewer] {
        s.next().await; // retry
    }
    assert!(next_text(&mut admin).await.contains(r#""owner":"bob""#));
    assert_eq!(
        next_text(&mut a).await,
        "id: 1\nevent: snapshot\ndata: {\"servers\":[{\"id\":\"a\",\"owner\":\"ann\"}]}\n\n"
    );
    // From id 0: the replay of the one event, bob's records only.
    assert_eq!(
        next_text(&mut b).await,
        "id: 1\nevent: servers\ndata: [{\"id\":\"b\",\"owner\":\"bob\"}]\n\n"
    );
    for s in [&mut nobody, &mut viewer] {
        assert_eq!(next_text(s).await, "id: 1\nevent: snapshot\ndata: {}\n\n");
    }
    hub.publish(Servers(
        serde_json::from_str(r#"[{"id":"c","owner":"ann"}]"#).unwrap(),
    ));
    // Each member hears of their own servers only.
    for (sub, expected) in [
        (
            &mut a,
            "id: 2\nevent: servers\ndata: [{\"id\":\"c\",\"owner\":\"ann\"}]\n\n",
        ),
        (&mut b, "id: 2\nevent: servers\ndata: []\n\n"),
    ] {
        assert_eq!(next_text(sub).await, expected);
    }
    hub.publish(health("{}"));
    for s in [&mut nobody, &mut viewer] {
        assert!(next_text(s).await.contains("event: health"));
    }
}
