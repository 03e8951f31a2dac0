//! The host name, time zone and NTP setting the owner chose (the box
//! profile, from the setup wizard and the settings), applied to the
//! machine through hostnamed and timedated over D-Bus: a manager on
//! `reconcile::run`, woken by a change of the settings, that reads what
//! the machine has and sets what differs. The polkit rules let hearth's
//! user do exactly this.
//!
//! Its status, published on the `host` topic, is what `hostnamectl` and
//! `timedatectl` show (they read the same properties), and how many
//! changes hearth made since it started: 0 after a reboot means the
//! machine kept the settings by itself (on the appliance, in the /etc
//! overlay kept on /var; see image/rootfs/etc/fstab).
//!
//! The manager's shape: `model` (desired and observed), `plan` (pure),
//! `adapter` (the D-Bus calls behind a trait, with a recording fake),
//! `error`, `run`.

pub mod adapter;
pub mod error;
pub mod model;
pub mod plan;
pub mod run;

pub use adapter::{HostMachine, Hostnamed};
pub use error::HostError;
pub use model::{Desired, HostStatus};
pub use plan::HostPlan;
pub use run::HostManager;
