//! Who sees what on the stream: each subscriber has a [`View`], and an
//! event's JSON is cut down per view before it is encoded (once per view,
//! see `Event::frame_for`). Admins see everything; other roles lose
//! fields only admins may see; anonymous visitors (only when the owner
//! turned `public_status` on) see less still.

use std::borrow::Cow;

use serde_json::Value;

use super::topic::{Topic, TopicSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Admin,
    Member,
    Viewer,
    /// Signed-out visitors, when `public_status` is on.
    Public,
}

impl View {
    pub const COUNT: usize = 4;

    pub fn index(self) -> usize {
        match self {
            View::Admin => 0,
            View::Member => 1,
            View::Viewer => 2,
            View::Public => 3,
        }
    }
}

/// Whether `view` may see `topic` at all.
pub fn can_see(topic: Topic, view: View) -> bool {
    match (topic, view) {
        (Topic::System, _) => true,
        // Visitors get the machine's figures only: a reduced topic set.
        (Topic::Health, View::Admin | View::Member | View::Viewer) => true,
        (Topic::Health, View::Public) => false,
        (Topic::Audit | Topic::Firewall | Topic::Host, View::Admin) => true,
        (
            Topic::Audit | Topic::Firewall | Topic::Host,
            View::Member | View::Viewer | View::Public,
        ) => false,
        // Members see their own domains and servers (see [`owned_json`]).
        (Topic::Proxy | Topic::Servers, View::Admin | View::Member) => true,
        (Topic::Proxy | Topic::Servers, View::Viewer | View::Public) => false,
        // What runs on the box: for those signed in.
        (Topic::Services, View::Admin | View::Member | View::Viewer) => true,
        (Topic::Services, View::Public) => false,
    }
}

/// The topics of `asked` that `view` may see: what a stream asking for
/// `asked` follows.
pub fn visible(asked: TopicSet, view: View) -> TopicSet {
    asked.iter().filter(|t| can_see(*t, view)).collect()
}

/// The JSON of `topic` as `view` may see it; `None` if it may not.
pub fn view_json(topic: Topic, view: View, json: &str) -> Option<Cow<'_, str>> {
    if !can_see(topic, view) {
        return None;
    }
    let strip: &[&[&str]] = match (topic, view) {
        (_, View::Admin) | (Topic::Health | Topic::Services, _) => {
            return Some(Cow::Borrowed(json));
        }
        (Topic::Audit | Topic::Firewall | Topic::Host, _) => return None,
        // Per member, not per view: see [`owned_json`].
        (Topic::Proxy | Topic::Servers, _) => return None,
        // Hardware addresses identify devices: admins only.
        (Topic::System, View::Member | View::Viewer) => &[&["net", "*", "mac"]],
        // Visitors see the machine's load, not what runs on it or where.
        (Topic::System, View::Public) => &[
            &["net", "*", "mac"],
            &["processes"],
            &["filesystems", "*", "device"],
        ],
    };
    let Ok(mut value) = serde_json::from_str::<Value>(json) else {
        return None;
    };
    for path in strip {
        remove(&mut value, path);
    }
    Some(Cow::Owned(value.to_string()))
}

/// Whether `topic`'s records belong to users, so that a member's view
/// is made for that member alone ([`owned_json`]) and never shared.
pub fn per_owner(topic: Topic, view: View) -> bool {
    matches!(topic, Topic::Proxy | Topic::Servers) && view == View::Member
}

/// The JSON of a per-owner topic (a manager's report) as the member
/// `owner` sees it: the status's records (`domains`, `servers`) cut down
/// to those whose `owner` is theirs, and no `cause` (a failure's full
/// text may name others' records) nor anything that names no owner (the
/// servers' unknown users and units); the rest as it is.
pub fn owned_json(json: &str, owner: &str) -> Option<String> {
    let mut value = serde_json::from_str::<Value>(json).ok()?;
    for list in ["/status/domains", "/status/servers"] {
        if let Some(Value::Array(items)) = value.pointer_mut(list) {
            items.retain(|d| d.get("owner").and_then(Value::as_str) == Some(owner));
        }
    }
    remove(&mut value, &["cause"]);
    remove(&mut value, &["status", "unknown_users"]);
    remove(&mut value, &["status", "unknown_units"]);
    Some(value.to_string())
}

/// Removes the field at `path`; `*` walks every element of an array.
fn remove(value: &mut Value, path: &[&str]) {
    match path {
        [] => {}
        [last] => {
            if let Value::Object(map) = value {
                map.remove(*last);
            }
        }
        ["*", rest @ ..] => {
            if let Value::Array(items) = value {
                for item in items {
                    remove(item, rest);
                }
            }
        }
        [key, rest @ ..] => {
            if let Some(inner) = value.get_mut(*key) {
                remove(inner, rest);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: &str = r#"{"hostname":"box","net":[{"iface":"eth0","mac":"52:54:00:12:34:56","rx_bps":1}],"processes":{"total":3},"filesystems":[{"mount":"/","device":"/dev/sda1"}]}"#;

    #[test]
    fn asked_topics_are_cut_down_to_the_visible_ones() {
        let asked = TopicSet::parse(Some("system,health")).unwrap();
        assert_eq!(visible(asked, View::Admin), asked);
        assert_eq!(visible(asked, View::Viewer), asked);
        assert_eq!(visible(asked, View::Public).to_string(), "system");
        let audit = TopicSet::parse(Some("audit")).unwrap();
        assert!(visible(audit, View::Member).is_empty());
        assert_eq!(visible(TopicSet::all(), View::Admin), TopicSet::all());
        assert_eq!(
            visible(TopicSet::all(), View::Viewer).to_string(),
            "system, health, services"
        );
    }

    #[test]
    fn admins_see_everything_others_less() {
        assert_eq!(
            view_json(Topic::System, View::Admin, SYSTEM).unwrap(),
            SYSTEM
        );
        let member: Value =
            serde_json::from_str(&view_json(Topic::System, View::Member, SYSTEM).unwrap()).unwrap();
        assert!(member["net"][0].get("mac").is_none());
        assert_eq!(member["net"][0]["rx_bps"], 1);
        assert_eq!(member["processes"]["total"], 3);
        let public: Value =
            serde_json::from_str(&view_json(Topic::System, View::Public, SYSTEM).unwrap()).unwrap();
        assert!(public.get("processes").is_none());
        assert!(public["filesystems"][0].get("device").is_none());
        assert_eq!(public["filesystems"][0]["mount"], "/");
        assert_eq!(public["hostname"], "box");
    }

    #[test]
    fn members_see_their_own_domains_only() {
        let proxy = r#"{"state":"ok","cause":"b.org refused","status":{"caddy":{"up":true},"domains":[{"name":"a.org","owner":"ann"},{"name":"b.org","owner":"bob"}]}}"#;
        assert_eq!(view_json(Topic::Proxy, View::Admin, proxy).unwrap(), proxy);
        assert!(per_owner(Topic::Proxy, View::Member));
        assert!(!per_owner(Topic::Proxy, View::Admin));
        assert!(view_json(Topic::Proxy, View::Member, proxy).is_none());
        assert!(!can_see(Topic::Proxy, View::Viewer));
        let ann: Value = serde_json::from_str(&owned_json(proxy, "ann").unwrap()).unwrap();
        assert_eq!(ann["status"]["domains"].as_array().unwrap().len(), 1);
        assert_eq!(ann["status"]["domains"][0]["name"], "a.org");
        assert_eq!(ann["status"]["caddy"]["up"], true);
        assert_eq!(ann["state"], "ok");
        assert!(ann.get("cause").is_none());
        let carl: Value = serde_json::from_str(&owned_json(proxy, "carl").unwrap()).unwrap();
        assert!(carl["status"]["domains"].as_array().unwrap().is_empty());
    }

    #[test]
    fn members_see_their_own_servers_and_no_strangers() {
        let servers = r#"{"state":"degraded","cause":"0000000b: no space left","status":{"servers":[{"id":"0000000a","owner":"ann","phase":"running"},{"id":"0000000b","owner":"bob","phase":"failed"}],"unknown_users":["hs-0badc0de"],"unknown_units":[]}}"#;
        assert_eq!(
            view_json(Topic::Servers, View::Admin, servers).unwrap(),
            servers
        );
        assert!(per_owner(Topic::Servers, View::Member));
        assert!(!can_see(Topic::Servers, View::Viewer));
        assert!(!can_see(Topic::Servers, View::Public));
        let ann: Value = serde_json::from_str(&owned_json(servers, "ann").unwrap()).unwrap();
        let list = ann["status"]["servers"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0]["id"], "0000000a");
        assert!(ann.get("cause").is_none());
        assert!(ann["status"].get("unknown_users").is_none());
        assert!(ann["status"].get("unknown_units").is_none());
    }
}
