//! What can fail in a pass of the host manager, named after the step.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot read the box profile")]
    ReadProfile(#[source] StoreError),
    #[error("the read of the box profile did not finish")]
    ReadProfileTask(#[source] tokio::task::JoinError),
    #[error("cannot connect to the bus")]
    Connect(#[source] zbus::Error),
    #[error("cannot read the machine's settings from hostnamed and timedated")]
    Read(#[source] zbus::Error),
    #[error("hostnamed refused the host name {name}")]
    SetHostname {
        name: String,
        #[source]
        source: zbus::Error,
    },
    #[error("timedated refused the time zone {zone}")]
    SetTimezone {
        zone: String,
        #[source]
        source: zbus::Error,
    },
    #[error("timedated refused to turn NTP {}", if *on { "on" } else { "off" })]
    SetNtp {
        on: bool,
        #[source]
        source: zbus::Error,
    },
}
