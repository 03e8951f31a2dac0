//! Who sees what on the stream: each subscriber has a [`View`]; this is
//! the table of which topics a view may follow, and of those whose
//! records are cut per member. What a view sees of an event is the
//! event's type's to say ([`super::Visible`]); the hub encodes it once per
//! view. Admins see everything; other roles lose fields only admins may
//! see; anonymous visitors (only when the owner turned `public_status` on)
//! see less still.

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
        // Members see their own domains and servers (see [`per_owner`]).
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

/// Whether `topic`'s records belong to users, so that a member's view
/// is made for that member alone (a [`super::Reader::Member`]) and never
/// shared.
pub fn per_owner(topic: Topic, view: View) -> bool {
    matches!(topic, Topic::Proxy | Topic::Servers) && view == View::Member
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_members_get_cuts_of_their_own() {
        for topic in Topic::ALL {
            let owned = matches!(topic, Topic::Proxy | Topic::Servers);
            assert_eq!(per_owner(topic, View::Member), owned, "{topic}");
            for view in [View::Admin, View::Viewer, View::Public] {
                assert!(!per_owner(topic, view), "{topic}");
            }
        }
        assert!(!can_see(Topic::Proxy, View::Viewer));
        assert!(!can_see(Topic::Servers, View::Public));
    }
}
