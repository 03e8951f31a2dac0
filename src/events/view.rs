//! Who sees what on the stream: each subscriber has a [`View`]; each
//! topic says who its readers are ([`Topic::readers`]), and this is the
//! table of which views those are, and of the topics whose records are
//! cut per member. What a view sees of an event is the
//! event's type's to say ([`super::Visible`]); the hub encodes it once per
//! view. Admins see everything; other roles lose fields only admins may
//! see; anonymous visitors (only when the owner turned `public_status` on)
//! see less still.

use super::topic::{Readers, Topic, TopicSet};

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
    match (topic.readers(), view) {
        (Readers::Everyone, _) => true,
        (Readers::SignedIn, View::Admin | View::Member | View::Viewer) => true,
        (Readers::Owners, View::Admin | View::Member) => true,
        (Readers::Admins, View::Admin) => true,
        (Readers::SignedIn, View::Public)
        | (Readers::Owners, View::Viewer | View::Public)
        | (Readers::Admins, View::Member | View::Viewer | View::Public) => false,
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
    topic.readers() == Readers::Owners && view == View::Member
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
