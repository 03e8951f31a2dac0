//! The I/O side of sampling: reads the kernel's files into a [`Raw`]
//! snapshot of counters and values, with no arithmetic across time.
//!
//! Hot files stay open (see `Pinned`); the sets that change rarely
//! (block devices, interfaces, sensors, power zones) are rediscovered on
//! housekeeping samples, which also scan the process table; the sampler
//! asks for one every few seconds, so the ordinary sample stays cheap.
//! Paths hang off [`Roots`], so tests point the collector at a fixture tree.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::model::{Filesystem, Pressure, TempSource, Temperature};
use super::parse::cpu::{CpuStat, LoadAvg, parse_loadavg, parse_stat, parse_uptime};
use super::parse::disk::{DiskCounters, looks_whole, parse_diskstats};
use super::parse::memory::{MemInfo, parse_meminfo};
use super::parse::mounts::{Mount, default_mounts, parse_mountinfo};
use super::parse::net::{NetCounters, parse_net_dev, parse_speed};
use super::parse::power::{PowerSupply, parse_uevent};
use super::parse::pressure::parse_pressure;
use super::parse::process::{ProcStat, parse_pid_stat};
use super::parse::system::parse_os_release;
use super::parse::thermal::{hwmon_label, parse_millidegrees};
use super::parse::{parse_line, parse_u64};
use super::pinned::{Pinned, read_once};

/// Where the kernel's files are: `/proc`, `/sys` and `/etc` on a host.
#[derive(Debug, Clone)]
pub struct Roots {
    pub proc: PathBuf,
    pub sys: PathBuf,
    pub etc: PathBuf,
}

impl Roots {
    pub fn host() -> Roots {
        Roots {
            proc: "/proc".into(),
            sys: "/sys".into(),
            etc: "/etc".into(),
        }
    }

    /// A fixture tree with `proc/`, `sys/` and `etc/` folders.
    pub fn under(dir: &Path) -> Roots {
        Roots {
            proc: dir.join("proc"),
            sys: dir.join("sys"),
            etc: dir.join("etc"),
        }
    }
}

/// One interface's counters and link facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetRaw {
    pub counters: NetCounters,
    pub link: Option<String>,
    pub speed_mbps: Option<u64>,
    pub mac: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RaplRaw {
    /// What people see: `package-0`, or `intel-rapl:0:0 core` for a sub-zone.
    pub zone: String,
    /// The zone's own name (`package-0`, `core`, `dram`).
    pub name: String,
    /// The zone's index from its folder (`0`, `0:0`).
    pub index: String,
    pub energy_uj: u64,
    /// The counter wraps to zero after this.
    pub max_range_uj: Option<u64>,
}

/// Everything one sample read, before rates.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    /// Monotonic time of the sample.
    pub at: Duration,
    pub ts_ms: u64,
    pub hostname: Option<String>,
    pub kernel: Option<String>,
    pub os: Option<String>,
    pub uptime_s: Option<f64>,
    pub load: Option<LoadAvg>,
    pub cpu: Option<CpuStat>,
    pub memory: Option<MemInfo>,
    pub filesystems: Vec<Filesystem>,
    pub disks: Vec<DiskCounters>,
    pub net: Vec<NetRaw>,
    pub temperatures: Vec<Temperature>,
    pub rapl: Vec<RaplRaw>,
    pub supplies: Vec<PowerSupply>,
    pub pressure: Pressure,
    /// Only on the samples that scan processes.
    pub processes: Option<Vec<ProcStat>>,
}

struct Sensor {
    label: String,
    input: Pinned,
    critical: Option<f64>,
    source: TempSource,
}

struct Link {
    iface: String,
    operstate: Pinned,
    speed_mbps: Option<u64>,
    mac: Option<String>,
}

struct RaplFiles {
    zone: String,
    name: String,
    index: String,
    energy: Pinned,
    max_range_uj: Option<u64>,
}

struct MountPoint {
    path: String,
    device: Option<String>,
    fstype: Option<String>,
}

pub struct Collector {
    roots: Roots,
    buf: Vec<u8>,
    stat: Pinned,
    meminfo: Pinned,
    loadavg: Pinned,
    uptime: Pinned,
    diskstats: Pinned,
    net_dev: Pinned,
    psi: [Pinned; 3],
    hostname: Pinned,
    kernel: Option<String>,
    os: Option<String>,
    /// Configured mount points; `None` means the default list.
    wanted_mounts: Option<Vec<String>>,
    mounts: Vec<MountPoint>,
    whole_disks: Option<HashSet<String>>,
    links: Vec<Link>,
    sensors: Vec<Sensor>,
    rapl: Vec<RaplFiles>,
    supplies: Vec<(String, Pinned)>,
    samples: u64,
}

impl Collector {
    pub fn new(roots: Roots, wanted_mounts: Option<Vec<String>>) -> Collector {
        let p = |rel: &str| Pinned::new(roots.proc.join(rel));
        let mut c = Collector {
            stat: p("stat"),
            meminfo: p("meminfo"),
            loadavg: p("loadavg"),
            uptime: p("uptime"),
            diskstats: p("diskstats"),
            net_dev: p("net/dev"),
            psi: [p("pressure/cpu"), p("pressure/memory"), p("pressure/io")],
            hostname: p("sys/kernel/hostname"),
            kernel: read_once(&roots.proc.join("sys/kernel/osrelease"))
                .and_then(|t| parse_line(&t)),
            os: read_once(&roots.etc.join("os-release")).and_then(|t| parse_os_release(&t)),
            roots,
            buf: Vec::with_capacity(16 * 1024),
            wanted_mounts,
            mounts: Vec::new(),
            whole_disks: None,
            links: Vec::new(),
            sensors: Vec::new(),
            rapl: Vec::new(),
            supplies: Vec::new(),
            samples: 0,
        };
        c.rescan();
        c
    }

    /// Reads one sample. A `housekeeping` sample first rediscovers
    /// devices, interfaces and sensors, and adds the per-process table
    /// (a walk of /proc).
    pub fn collect(&mut self, at: Duration, ts_ms: u64, housekeeping: bool) -> Raw {
        if housekeeping && self.samples > 0 {
            self.rescan();
        }
        self.samples += 1;
        let buf = &mut self.buf;
        let mut raw = Raw {
            at,
            ts_ms,
            kernel: self.kernel.clone(),
            os: self.os.clone(),
            hostname: self.hostname.read(buf).and_then(parse_line),
            uptime_s: self.uptime.read(buf).and_then(parse_uptime),
            load: self.loadavg.read(buf).and_then(parse_loadavg),
            cpu: self.stat.read(buf).and_then(parse_stat),
            memory: self.meminfo.read(buf).and_then(parse_meminfo),
            ..Raw::default()
        };
        if let Some(text) = self.diskstats.read(buf) {
            raw.disks = match &self.whole_disks {
                Some(set) => parse_diskstats(text, |n| set.contains(n)),
                None => parse_diskstats(text, looks_whole),
            };
        }
        if let Some(text) = self.net_dev.read(buf) {
            raw.net = parse_net_dev(text)
                .into_iter()
                .map(|counters| {
                    let link = self.links.iter_mut().find(|l| l.iface == counters.iface);
                    match link {
                        Some(l) => NetRaw {
                            link: l.operstate.read(buf).and_then(parse_line),
                            speed_mbps: l.speed_mbps,
                            mac: l.mac.clone(),
                            counters,
                        },
                        None => NetRaw {
                            counters,
                            ..NetRaw::default()
                        },
                    }
                })
                .collect();
        }
        let [cpu, memory, io] = &mut self.psi;
        raw.pressure = Pressure {
            cpu: cpu.read(buf).and_then(parse_pressure),
            memory: memory.read(buf).and_then(parse_pressure),
            io: io.read(buf).and_then(parse_pressure),
        };
        raw.filesystems = self.mounts.iter().filter_map(statvfs).collect();
        raw.temperatures = self
            .sensors
            .iter_mut()
            .filter_map(|s| {
                let celsius = s.input.read(buf).and_then(parse_millidegrees)?;
                Some(Temperature {
                    label: s.label.clone(),
                    celsius,
                    critical_celsius: s.critical,
                    source: Some(s.source.clone()),
                })
            })
            .collect();
        raw.rapl = self
            .rapl
            .iter_mut()
            .filter_map(|r| {
                Some(RaplRaw {
                    zone: r.zone.clone(),
                    name: r.name.clone(),
                    index: r.index.clone(),
                    energy_uj: r.energy.read(buf).and_then(parse_u64)?,
                    max_range_uj: r.max_range_uj,
                })
            })
            .collect();
        raw.supplies = self
            .supplies
            .iter_mut()
            .filter_map(|(name, uevent)| uevent.read(buf).map(|t| parse_uevent(name, t)))
            .collect();
        if housekeeping {
            raw.processes = Some(scan_processes_in(&self.roots.proc));
        }
        raw
    }

    /// Rediscovers what may come and go: mounts, disks, links, sensors.
    fn rescan(&mut self) {
        for pinned in [
            &mut self.stat,
            &mut self.meminfo,
            &mut self.loadavg,
            &mut self.uptime,
            &mut self.diskstats,
            &mut self.net_dev,
            &mut self.hostname,
        ] {
            pinned.retry();
        }
        for p in &mut self.psi {
            p.retry();
        }
        let mountinfo = read_once(&self.roots.proc.join("self/mountinfo"))
            .map(|t| parse_mountinfo(&t))
            .unwrap_or_default();
        self.mounts = mount_points(&mountinfo, self.wanted_mounts.as_deref());
        self.whole_disks =
            list_names(&self.roots.sys.join("block")).map(|v| v.into_iter().collect());
        self.links = self.discover_links();
        self.sensors = self.discover_sensors();
        self.rapl = self.discover_rapl();
        self.supplies = list_names(&self.roots.sys.join("class/power_supply"))
            .unwrap_or_default()
            .into_iter()
            .map(|name| {
                let p = Pinned::new(
                    self.roots
                        .sys
                        .join("class/power_supply")
                        .join(&name)
                        .join("uevent"),
                );
                (name, p)
            })
            .collect();
    }

    fn discover_links(&self) -> Vec<Link> {
        let base = self.roots.sys.join("class/net");
        list_names(&base)
            .unwrap_or_default()
            .into_iter()
            .map(|iface| {
                let dir = base.join(&iface);
                Link {
                    operstate: Pinned::new(dir.join("operstate")),
                    speed_mbps: read_once(&dir.join("speed")).and_then(|t| parse_speed(&t)),
                    mac: read_once(&dir.join("address"))
                        .and_then(|t| parse_line(&t))
                        .filter(|m| m != "00:00:00:00:00:00"),
                    iface,
                }
            })
            .collect()
    }

    fn discover_sensors(&self) -> Vec<Sensor> {
        let mut sensors = Vec::new();
        let hwmon = self.roots.sys.join("class/hwmon");
        for chip_dir in list_names(&hwmon).unwrap_or_default() {
            let dir = hwmon.join(&chip_dir);
            let chip = read_once(&dir.join("name"))
                .and_then(|t| parse_line(&t))
                .unwrap_or(chip_dir);
            let mut inputs: Vec<String> = list_names(&dir)
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.starts_with("temp") && f.ends_with("_input"))
                .collect();
            inputs.sort_by_key(|f| sensor_number(f));
            for input in inputs {
                let sensor = input.trim_end_matches("_input").to_string();
                let label = read_once(&dir.join(format!("{sensor}_label")));
                sensors.push(Sensor {
                    label: hwmon_label(&chip, &sensor, label.as_deref()),
                    input: Pinned::new(dir.join(&input)),
                    critical: read_once(&dir.join(format!("{sensor}_crit")))
                        .and_then(|t| parse_millidegrees(&t)),
                    source: TempSource::Hwmon {
                        chip: chip.clone(),
                        sensor,
                    },
                });
            }
        }
        let thermal = self.roots.sys.join("class/thermal");
        for zone in list_names(&thermal).unwrap_or_default() {
            if !zone.starts_with("thermal_zone") {
                continue;
            }
            let dir = thermal.join(&zone);
            let kind = read_once(&dir.join("type"))
                .and_then(|t| parse_line(&t))
                .unwrap_or_else(|| zone.clone());
            sensors.push(Sensor {
                label: format!("thermal {kind}"),
                input: Pinned::new(dir.join("temp")),
                critical: None,
                source: TempSource::Thermal {
                    zone: zone.trim_start_matches("thermal_zone").to_string(),
                    kind,
                },
            });
        }
        sensors
    }

    fn discover_rapl(&self) -> Vec<RaplFiles> {
        let base = self.roots.sys.join("class/powercap");
        list_names(&base)
            .unwrap_or_default()
            .into_iter()
            .filter(|z| z.starts_with("intel-rapl:") || z.starts_with("amd-rapl:"))
            .map(|z| {
                let dir = base.join(&z);
                let name = read_once(&dir.join("name"))
                    .and_then(|t| parse_line(&t))
                    .unwrap_or_else(|| z.clone());
                let index = z
                    .split_once(':')
                    .map(|(_, i)| i.to_string())
                    .unwrap_or_default();
                RaplFiles {
                    // Sub-zones (intel-rapl:0:0) are named after their parent.
                    zone: if z.matches(':').count() > 1 {
                        format!("{} {name}", z)
                    } else {
                        name.clone()
                    },
                    name,
                    index,
                    energy: Pinned::new(dir.join("energy_uj")),
                    max_range_uj: read_once(&dir.join("max_energy_range_uj"))
                        .and_then(|t| parse_u64(&t)),
                }
            })
            .collect()
    }
}

fn sensor_number(file: &str) -> u32 {
    file.trim_start_matches("temp")
        .trim_end_matches("_input")
        .parse()
        .unwrap_or(u32::MAX)
}

/// Sorted entry names of a folder; `None` if it cannot be listed.
fn list_names(dir: &Path) -> Option<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    Some(names)
}

fn mount_points(mounts: &[Mount], wanted: Option<&[String]>) -> Vec<MountPoint> {
    let wanted = match wanted {
        Some(w) => w.to_vec(),
        None => default_mounts(mounts),
    };
    wanted
        .into_iter()
        .map(|path| {
            // The last mount on a path is the visible one.
            let m = mounts.iter().rev().find(|m| m.mount_point == path);
            MountPoint {
                device: m.map(|m| m.source.clone()).filter(|s| !s.is_empty()),
                fstype: m.map(|m| m.fstype.clone()),
                path,
            }
        })
        .collect()
}

fn statvfs(m: &MountPoint) -> Option<Filesystem> {
    let s = nix::sys::statvfs::statvfs(Path::new(&m.path)).ok()?;
    let frsize = s.fragment_size() as u64;
    let blocks = s.blocks() as u64;
    Some(Filesystem {
        mount: m.path.clone(),
        device: m.device.clone(),
        fstype: m.fstype.clone(),
        size_bytes: blocks * frsize,
        used_bytes: blocks.saturating_sub(s.blocks_free() as u64) * frsize,
        avail_bytes: s.blocks_available() as u64 * frsize,
        inodes_total: s.files() as u64,
        inodes_free: s.files_free() as u64,
    })
}

/// Reads `/proc/[pid]/stat` of every process; one that exits midway is
/// simply not listed.
fn scan_processes_in(proc: &Path) -> Vec<ProcStat> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(256);
    let mut path = proc.to_path_buf();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        path.push(name);
        path.push("stat");
        if let Some(p) = read_once(&path).and_then(|t| parse_pid_stat(&t)) {
            out.push(p);
        }
        path.pop();
        path.pop();
    }
    out
}

#[cfg(test)]
mod tests;
