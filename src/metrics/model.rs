//! The `system` object: what one sample says about the machine, as the
//! API, the SSE stream and the status page see it. Absent fields are
//! left out of the JSON (a missing file means "not present"); rates are
//! absent on the first sample, never made up.

use serde::Serialize;

use super::parse::pressure::Psi;
use crate::events::{Event, Reader, Topic, Visible};

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SystemSample {
    /// Wall-clock time of the sample, milliseconds since the Unix epoch.
    pub ts_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uptime_s: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load: Option<[f64; 3]>,
    pub cpu: Cpu,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    pub filesystems: Vec<Filesystem>,
    pub disks: Vec<Disk>,
    pub net: Vec<NetIface>,
    pub temperatures: Vec<Temperature>,
    pub power: Power,
    #[serde(skip_serializing_if = "Pressure::is_empty")]
    pub pressure: Pressure,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processes: Option<Processes>,
}

/// Members and viewers see the machine but no hardware address (it
/// identifies devices); visitors of the public status page see its load,
/// not what runs on it (the processes) or where (the devices behind the
/// mounts). The hidden fields are named here, so renaming one does not
/// compile until its fate is decided again.
impl Visible for SystemSample {
    type Member = SystemSample;
    fn for_member(&self, _: Reader<'_>) -> Option<SystemSample> {
        Some(SystemSample {
            net: self.net.iter().map(NetIface::without_mac).collect(),
            ..self.clone()
        })
    }

    type Public = SystemSample;
    fn for_public(&self) -> Option<SystemSample> {
        let member = self.for_member(Reader::Anyone)?;
        Some(SystemSample {
            processes: None,
            filesystems: member
                .filesystems
                .iter()
                .map(|f| Filesystem {
                    device: None,
                    ..f.clone()
                })
                .collect(),
            ..member
        })
    }
}

impl Event for SystemSample {
    const TOPIC: Topic = Topic::System;
}

impl NetIface {
    fn without_mac(&self) -> NetIface {
        NetIface {
            mac: None,
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Cpu {
    /// Online cores.
    pub count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iowait_pct: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steal_pct: Option<f64>,
    pub cores: Vec<Core>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Core {
    pub id: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy_pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Memory {
    pub total_bytes: u64,
    pub available_bytes: u64,
    pub used_bytes: u64,
    pub free_bytes: u64,
    pub cached_bytes: u64,
    pub buffers_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Filesystem {
    pub mount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fstype: Option<String>,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub avail_bytes: u64,
    pub inodes_total: u64,
    pub inodes_free: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Disk {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_bps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_bps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_iops: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_iops: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub busy_pct: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NetIface {
    pub iface: String,
    /// A container's, a VM's or the loopback (see
    /// [`crate::host::interfaces`]): not in the totals.
    #[serde(rename = "virtual")]
    pub is_virtual: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx_bps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_bps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rx_pps: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_pps: Option<f64>,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_drops: u64,
    pub tx_drops: u64,
    /// `up`, `down`, `unknown`, ... as the kernel says (operstate).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed_mbps: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Temperature {
    pub label: String,
    pub celsius: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub critical_celsius: Option<f64>,
    /// Where it was read, for node_exporter-style metric labels.
    #[serde(skip)]
    pub source: Option<TempSource>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TempSource {
    /// `/sys/class/hwmon/<chip dir>/<sensor>_input`
    Hwmon { chip: String, sensor: String },
    /// `/sys/class/thermal/thermal_zone<zone>`
    Thermal { zone: String, kind: String },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Power {
    /// RAPL zones (package, core, dram, ...) in watts.
    pub rapl: Vec<RaplZone>,
    /// Batteries, mains adapters, UPSes.
    pub supplies: Vec<PowerSupply>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RaplZone {
    pub zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watts: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PowerSupply {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_pct: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watts: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Pressure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Psi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Psi>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub io: Option<Psi>,
}

impl Pressure {
    pub fn is_empty(&self) -> bool {
        self.cpu.is_none() && self.memory.is_none() && self.io.is_none()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Processes {
    pub total: u64,
    pub running: u64,
    /// Refreshed every few seconds, not every sample (see the sampler).
    pub top_cpu: Vec<Process>,
    pub top_memory: Vec<Process>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_pct: Option<f64>,
    pub rss_bytes: u64,
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    fn sample() -> SystemSample {
        SystemSample {
            hostname: Some("box".into()),
            net: vec![NetIface {
                iface: "eth0".into(),
                mac: Some("52:54:00:12:34:56".into()),
                rx_bps: Some(1),
                ..NetIface::default()
            }],
            processes: Some(Processes {
                total: 3,
                ..Processes::default()
            }),
            filesystems: vec![Filesystem {
                mount: "/".into(),
                device: Some("/dev/sda1".into()),
                ..Filesystem::default()
            }],
            ..SystemSample::default()
        }
    }

    fn json(v: &impl Serialize) -> Value {
        serde_json::to_value(v).unwrap()
    }

    #[test]
    fn admins_see_everything_others_less() {
        let admin = json(&sample());
        assert_eq!(admin["net"][0]["mac"], "52:54:00:12:34:56");
        assert_eq!(admin["filesystems"][0]["device"], "/dev/sda1");
        let member = json(&sample().for_member(Reader::Anyone).unwrap());
        assert!(member["net"][0].get("mac").is_none());
        assert_eq!(member["net"][0]["rx_bps"], 1);
        assert_eq!(member["processes"]["total"], 3);
        assert_eq!(member["filesystems"][0]["device"], "/dev/sda1");
        let public = json(&sample().for_public().unwrap());
        assert!(public["net"][0].get("mac").is_none());
        assert!(public.get("processes").is_none());
        assert!(public["filesystems"][0].get("device").is_none());
        assert_eq!(public["filesystems"][0]["mount"], "/");
        assert_eq!(public["hostname"], "box");
        // Only those fields: everything else is the admins' sample.
        let mut cut = admin.clone();
        cut["net"][0].as_object_mut().unwrap().remove("mac");
        assert_eq!(member, cut);
        cut.as_object_mut().unwrap().remove("processes");
        cut["filesystems"][0]
            .as_object_mut()
            .unwrap()
            .remove("device");
        assert_eq!(public, cut);
    }
}
