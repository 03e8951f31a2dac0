//! What must be set for the machine to have what the owner chose: pure.

use super::model::{Desired, HostStatus};
use crate::reconcile::Plan;

#[derive(Debug, PartialEq, Eq)]
pub struct HostPlan {
    /// The static name to set, when it differs; or the running one alone,
    /// when only that differs (it was set by hand, or by DHCP).
    pub hostname: Option<String>,
    pub timezone: Option<String>,
    pub ntp: Option<bool>,
    pub now: HostStatus,
}

impl Plan for HostPlan {
    fn is_noop(&self) -> bool {
        self.hostname.is_none() && self.timezone.is_none() && self.ntp.is_none()
    }
}

/// Each setting the owner chose that the machine does not have.
pub fn plan(desired: &Desired, observed: &HostStatus) -> HostPlan {
    let differs =
        |want: &Option<String>, have: &str| want.as_ref().filter(|w| w.as_str() != have).cloned();
    HostPlan {
        hostname: differs(&desired.hostname, &observed.hostname)
            .or_else(|| differs(&desired.hostname, &observed.running_hostname)),
        timezone: differs(&desired.timezone, &observed.timezone),
        ntp: desired.ntp.filter(|on| *on != observed.ntp),
        now: observed.clone(),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub fn machine() -> HostStatus {
        HostStatus {
            hostname: "attic".into(),
            running_hostname: "attic".into(),
            timezone: "UTC".into(),
            ntp: true,
            ntp_synchronized: false,
            applied_since_start: 0,
        }
    }

    pub fn want(hostname: Option<&str>, timezone: Option<&str>, ntp: Option<bool>) -> Desired {
        Desired {
            hostname: hostname.map(String::from),
            timezone: timezone.map(String::from),
            ntp,
        }
    }

    #[test]
    fn nothing_chosen_or_all_equal_is_nothing_to_do() {
        assert!(plan(&want(None, None, None), &machine()).is_noop());
        let same = want(Some("attic"), Some("UTC"), Some(true));
        assert!(plan(&same, &machine()).is_noop());
    }

    #[test]
    fn each_setting_that_differs_is_set_alone() {
        let plan = plan(&want(None, Some("Europe/Vienna"), Some(false)), &machine());
        assert_eq!(plan.hostname, None);
        assert_eq!(plan.timezone.as_deref(), Some("Europe/Vienna"));
        assert_eq!(plan.ntp, Some(false));
    }

    #[test]
    fn the_hosts_settings_are_for_admins_only() {
        use crate::events::{Reader, Visible};
        let ann = crate::auth::Username::try_from("ann").unwrap();
        assert!(machine().for_member(Reader::Member(&ann)).is_none());
        assert!(machine().for_member(Reader::Anyone).is_none());
        assert!(machine().for_public().is_none());
    }

    #[test]
    fn a_running_name_changed_behind_hearths_back_is_set_again() {
        let mut m = machine();
        m.running_hostname = "dhcp-name".into();
        let plan = plan(&want(Some("attic"), None, None), &m);
        assert_eq!(plan.hostname.as_deref(), Some("attic"));
    }
}
