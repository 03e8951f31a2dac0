//! Topics: what a subscriber can ask for.

use std::fmt;

use crate::refusal::Refusal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// One metrics sample per interval.
    System,
    /// Component health, on change.
    Health,
    /// Each audit record as it is written (admins only).
    Audit,
    /// The firewall manager's report after each pass: the policy version
    /// in force, a pending change, the last apply and why, and per-rule
    /// counters (admins only).
    Firewall,
    /// The proxy manager's report: Caddy's state, the last load, and each
    /// domain with its health (admins: all; members: their own).
    Proxy,
    /// The services the box depends on, as systemd reports them.
    Services,
    /// The host manager's report: the host name, time zone and NTP as
    /// hostnamed and timedated have them (admins only).
    Host,
    /// The servers' manager's report: each virtual server's phase, limits
    /// and crashes (admins: all; members: their own).
    Servers,
    /// The update manager's report: the slots, an available update, an
    /// install's progress, the last update's end (admins only).
    Update,
}

impl Topic {
    pub const ALL: [Topic; 9] = [
        Topic::System,
        Topic::Health,
        Topic::Audit,
        Topic::Firewall,
        Topic::Proxy,
        Topic::Services,
        Topic::Host,
        Topic::Servers,
        Topic::Update,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topic::System => "system",
            Topic::Health => "health",
            Topic::Audit => "audit",
            Topic::Firewall => "firewall",
            Topic::Proxy => "proxy",
            Topic::Services => "services",
            Topic::Host => "host",
            Topic::Servers => "servers",
            Topic::Update => "update",
        }
    }

    /// Who may follow the topic (see [`super::view`]).
    pub fn readers(self) -> Readers {
        match self {
            Topic::System => Readers::Everyone,
            Topic::Health | Topic::Services => Readers::SignedIn,
            Topic::Audit | Topic::Firewall | Topic::Host | Topic::Update => Readers::Admins,
            Topic::Proxy | Topic::Servers => Readers::Owners,
        }
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// Who may follow a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readers {
    /// Signed-out visitors too, when the owner turned `public_status`
    /// on: the machine's figures.
    Everyone,
    /// Every signed-in user.
    SignedIn,
    /// Admins whole; members each their own records, never a cut shared
    /// between members; viewers nothing.
    Owners,
    /// Admins only.
    Admins,
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<&str> for Topic {
    type Error = TopicsError;

    fn try_from(s: &str) -> Result<Topic, TopicsError> {
        Topic::ALL
            .into_iter()
            .find(|t| t.name() == s)
            .ok_or_else(|| TopicsError(s.chars().take(64).collect()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown topic {:?}; known topics: {}", .0, TopicSet::all())]
pub struct TopicsError(String);

/// `?topics=` named a topic there is none of.
impl From<TopicsError> for Refusal {
    fn from(e: TopicsError) -> Refusal {
        Refusal::invalid("topics", e.to_string())
    }
}

/// A set of topics, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TopicSet(u32);

impl TopicSet {
    pub fn all() -> TopicSet {
        TopicSet(Topic::ALL.iter().map(|t| t.bit()).fold(0, |a, b| a | b))
    }

    pub fn contains(self, t: Topic) -> bool {
        self.0 & t.bit() != 0
    }

    pub fn insert(&mut self, t: Topic) {
        self.0 |= t.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Topic> {
        Topic::ALL.into_iter().filter(move |t| self.contains(*t))
    }

    /// Parses `?topics=a,b`; missing or empty means all topics.
    pub fn parse(list: Option<&str>) -> Result<TopicSet, TopicsError> {
        let Some(list) = list.filter(|l| !l.is_empty()) else {
            return Ok(TopicSet::all());
        };
        let mut set = TopicSet::default();
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            set.insert(Topic::try_from(name)?);
        }
        if set == TopicSet::default() {
            return Ok(TopicSet::all());
        }
        Ok(set)
    }
}

impl FromIterator<Topic> for TopicSet {
    fn from_iter<I: IntoIterator<Item = Topic>>(topics: I) -> TopicSet {
        let mut set = TopicSet::default();
        for t in topics {
            set.insert(t);
        }
        set
    }
}

/// The names, comma-separated, in the order of [`Topic::ALL`].
impl fmt::Display for TopicSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(t.name())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_topic_lists() {
        assert_eq!(TopicSet::parse(None).unwrap(), TopicSet::all());
        assert_eq!(TopicSet::parse(Some("")).unwrap(), TopicSet::all());
        let s = TopicSet::parse(Some("health")).unwrap();
        assert!(s.contains(Topic::Health) && !s.contains(Topic::System));
        let s = TopicSet::parse(Some("system, health,")).unwrap();
        assert!(s.contains(Topic::System) && s.contains(Topic::Health));
        assert!(!s.contains(Topic::Audit));
        let e = TopicSet::parse(Some("system,bogus")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown topic \"bogus\"; known topics: system, health, audit, firewall, proxy, services, host, servers, update"
        );
    }

    #[test]
    fn an_unknown_topic_is_refused_naming_the_field() {
        let e = TopicSet::parse(Some("nope")).unwrap_err();
        let message = e.to_string();
        assert_eq!(Refusal::from(e), Refusal::invalid("topics", message));
    }

    #[test]
    fn sets_collect_and_print_their_names() {
        let s: TopicSet = [Topic::Audit, Topic::System].into_iter().collect();
        assert_eq!(s.to_string(), "system, audit");
        assert!(!s.is_empty());
        assert!(TopicSet::default().is_empty());
        assert_eq!(TopicSet::default().to_string(), "");
        assert_eq!(
            Topic::ALL.into_iter().collect::<TopicSet>(),
            TopicSet::all()
        );
    }
}
