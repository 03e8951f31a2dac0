use super::*;
use crate::events::View;

fn text(b: &Bytes) -> String {
    String::from_utf8(b.to_vec()).unwrap()
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
    hub.publish(Topic::System, r#"{"cpu":1}"#.into());
    hub.publish(Topic::Health, r#"{"store":"ok"}"#.into());
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, None);
    assert_eq!(text(&sub.next().await.unwrap()), "retry: 2000\n\n");
    let snap = text(&sub.next().await.unwrap());
    assert_eq!(
        snap,
        "id: 2\nevent: snapshot\ndata: {\"system\":{\"cpu\":1},\"health\":{\"store\":\"ok\"}}\n\n"
    );
    hub.publish(Topic::System, r#"{"cpu":2}"#.into());
    hub.publish(Topic::System, r#"{"cpu":3}"#.into());
    let a = text(&sub.next().await.unwrap());
    let b = text(&sub.next().await.unwrap());
    assert_eq!(a, "id: 3\nevent: system\ndata: {\"cpu\":2}\n\n");
    assert_eq!(id_of(&b), 4);
}

#[tokio::test]
async fn unchanged_content_is_not_published() {
    let hub = hub(16, 16);
    assert_eq!(hub.publish(Topic::Health, "{\"a\":1}".into()), Some(1));
    assert_eq!(hub.publish(Topic::Health, "{\"a\":1}".into()), None);
    assert_eq!(hub.publish(Topic::System, "{\"a\":1}".into()), Some(2));
    assert_eq!(hub.publish(Topic::Health, "{\"a\":2}".into()), Some(3));
    assert_eq!(hub.last_id(), 3);
}

#[tokio::test]
async fn topics_filter_what_a_subscriber_sees() {
    let hub = hub(16, 16);
    let mut sub = hub.subscribe(TopicSet::parse(Some("health")).unwrap(), View::Admin, None);
    sub.next().await;
    assert_eq!(
        text(&sub.next().await.unwrap()),
        "id: 0\nevent: snapshot\ndata: {}\n\n"
    );
    hub.publish(Topic::System, "{\"s\":1}".into());
    hub.publish(Topic::Health, "{\"h\":1}".into());
    let f = text(&sub.next().await.unwrap());
    assert!(f.contains("event: health"), "{f}");
}

#[tokio::test]
async fn reconnect_replays_exactly_the_missed_events() {
    let hub = hub(16, 16);
    for i in 0..10 {
        let topic = if i % 3 == 0 {
            Topic::Health
        } else {
            Topic::System
        };
        hub.publish(topic, format!("{{\"n\":{i}}}"));
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
    let a = id_of(&text(&sub.next().await.unwrap()));
    let b = id_of(&text(&sub.next().await.unwrap()));
    assert_eq!((a, b), (8, 9));
    // Up to date: nothing to replay, then live events.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(10));
    sub.next().await;
    hub.publish(Topic::System, "{\"n\":99}".into());
    assert_eq!(id_of(&text(&sub.next().await.unwrap())), 11);
}

#[tokio::test]
async fn reconnect_after_the_ring_moved_on_gets_a_snapshot() {
    let hub = hub(4, 16);
    for i in 0..10 {
        hub.publish(Topic::System, format!("{{\"n\":{i}}}"));
    }
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(3));
    sub.next().await;
    let f = text(&sub.next().await.unwrap());
    assert!(f.starts_with("id: 10\nevent: snapshot\n"), "{f}");
    // An id from the future (another daemon's) gets a snapshot too.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(1_000));
    sub.next().await;
    assert!(text(&sub.next().await.unwrap()).contains("event: snapshot"));
    // The oldest id still in the ring is 7: from 6 the replay is complete.
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, Some(6));
    sub.next().await;
    assert_eq!(id_of(&text(&sub.next().await.unwrap())), 7);
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
        hub.publish(Topic::System, format!("{{\"n\":{i}}}"));
        let f = text(&fast.next().await.unwrap());
        assert!(f.contains(&format!("{{\"n\":{i}}}")));
    }
    slow.next().await; // retry
    slow.next().await; // the snapshot of its connect time
    let caught_up = text(&slow.next().await.unwrap());
    assert!(
        caught_up.starts_with("id: 20\nevent: snapshot\n") && caught_up.contains("{\"n\":19}"),
        "{caught_up}"
    );
    hub.publish(Topic::System, "{\"n\":20}".into());
    assert_eq!(id_of(&text(&slow.next().await.unwrap())), 21);
}

#[tokio::test]
async fn ping_and_shutdown() {
    let hub = hub(16, 16);
    let mut sub = hub.subscribe(TopicSet::all(), View::Admin, None);
    sub.next().await;
    sub.next().await;
    hub.ping();
    assert_eq!(text(&sub.next().await.unwrap()), ": ping\n\n");
    hub.shutdown();
    assert!(sub.next().await.is_none());
    assert_eq!(hub.publish(Topic::System, "{}".into()), None);
    let mut late = hub.subscribe(TopicSet::all(), View::Admin, None);
    late.next().await;
    late.next().await;
    assert!(late.next().await.is_none(), "no stream after shutdown");
}

#[test]
fn state_json_joins_topics() {
    let hub = hub(16, 16);
    assert_eq!(hub.state_json(TopicSet::all(), View::Admin), "{}");
    hub.publish(Topic::Health, "{\"h\":1}".into());
    hub.publish(Topic::System, "{\"s\":1}".into());
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
    hub.publish(
        Topic::System,
        r#"{"net":[{"iface":"eth0","mac":"aa:bb"}]}"#.into(),
    );
    let mut admin = hub.subscribe(TopicSet::all(), View::Admin, None);
    let mut viewer = hub.subscribe(TopicSet::all(), View::Viewer, None);
    admin.next().await;
    viewer.next().await;
    assert!(text(&admin.next().await.unwrap()).contains("aa:bb"));
    assert!(!text(&viewer.next().await.unwrap()).contains("aa:bb"));
    hub.publish(
        Topic::System,
        r#"{"net":[{"iface":"eth0","mac":"cc:dd"}]}"#.into(),
    );
    assert!(text(&admin.next().await.unwrap()).contains("cc:dd"));
    let v = text(&viewer.next().await.unwrap());
    assert!(v.contains("eth0") && !v.contains("cc:dd"), "{v}");
    assert!(
        !hub.state_json(TopicSet::all(), View::Public)
            .contains("cc:dd")
    );
}
