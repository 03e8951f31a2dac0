//! A container's limits as the engine recorded them (its
//! `hostconfig.json`), turned into the OCI spec's `linux.resources` the
//! way a rootful Docker 20.10 engine turns them (moby's
//! `daemon/oci_linux.go`): parsed without I/O, from bytes.

use serde::{Deserialize, Serialize};

/// The CFS period Docker gives `--cpus`: 100 ms, in microseconds.
const NANO_CPUS_PERIOD_US: u64 = 100_000;
const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The fields of the engine's `hostconfig.json` that limit a container
/// (Docker's `container.Resources`, the names it writes).
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostLimits {
    pub memory: i64,
    pub memory_reservation: i64,
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_period: i64,
    pub cpu_quota: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    pub pids_limit: Option<i64>,
}

/// The OCI runtime spec's `linux.resources`, the parts set here.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Memory {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation: Option<i64>,
    /// Memory and swap together; -1 is no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swap: Option<i64>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Cpu {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mems: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pids {
    /// -1 is no limit.
    pub limit: i64,
}

impl HostLimits {
    /// Reads the limits out of a whole `hostconfig.json`.
    pub fn parse(bytes: &[u8]) -> Result<HostLimits, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The spec's resources for these limits, as Docker makes them; a
    /// value Docker itself would refuse is an error naming the field.
    pub fn resources(&self) -> Result<Resources, String> {
        for (field, value) in [
            ("Memory", self.memory),
            ("MemoryReservation", self.memory_reservation),
            ("NanoCpus", self.nano_cpus),
            ("CpuShares", self.cpu_shares),
            ("CpuPeriod", self.cpu_period),
        ] {
            if value < 0 {
                return Err(format!("{field} is {value}, below 0"));
            }
        }
        if self.memory_swap < -1 {
            return Err(format!(
                "MemorySwap is {}, below -1 (no limit)",
                self.memory_swap
            ));
        }
        Ok(Resources {
            memory: self.memory(),
            cpu: self.cpu(),
            pids: self.pids_limit.map(|limit| Pids {
                // Docker: 0 and below unset the limit (-1 for runc).
                limit: if limit > 0 { limit } else { -1 },
            }),
        })
    }

    fn memory(&self) -> Option<Memory> {
        let memory = Memory {
            limit: positive(self.memory),
            reservation: positive(self.memory_reservation),
            swap: (self.memory_swap != 0).then_some(self.memory_swap),
        };
        (memory != Memory::default()).then_some(memory)
    }

    fn cpu(&self) -> Option<Cpu> {
        let mut cpu = Cpu {
            shares: positive(self.cpu_shares).map(|s| s as u64),
            cpus: non_empty(&self.cpuset_cpus),
            mems: non_empty(&self.cpuset_mems),
            ..Cpu::default()
        };
        if self.nano_cpus > 0 {
            cpu.period = Some(NANO_CPUS_PERIOD_US);
            // In 128 bits: any recorded value, however large, gives a quota
            // (a tenth of a thousandth of it), never an overflow.
            let quota = i128::from(self.nano_cpus) * i128::from(NANO_CPUS_PERIOD_US)
                / i128::from(NANOS_PER_SECOND);
            cpu.quota = Some(quota as i64);
        }
        // An explicit --cpu-period or --cpu-quota wins, as in Docker
        // (which refuses them together with --cpus anyway).
        if let Some(period) = positive(self.cpu_period) {
            cpu.period = Some(period as u64);
        }
        if self.cpu_quota != 0 {
            cpu.quota = Some(self.cpu_quota);
        }
        (cpu != Cpu::default()).then_some(cpu)
    }
}

fn positive(value: i64) -> Option<i64> {
    (value > 0).then_some(value)
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = include_str!("../../../tests/fixtures/docker-20.10/hostconfig-plain.json");
    const LIMITED: &str =
        include_str!("../../../tests/fixtures/docker-20.10/hostconfig-limited.json");
    const DETAILED: &str =
        include_str!("../../../tests/fixtures/docker-20.10/hostconfig-detailed.json");

    fn resources(json: &str) -> Resources {
        HostLimits::parse(json.as_bytes())
            .unwrap()
            .resources()
            .unwrap()
    }

    #[test]
    fn a_container_without_options_has_no_limit() {
        assert_eq!(resources(PLAIN), Resources::default());
        assert_eq!(serde_json::to_string(&resources(PLAIN)).unwrap(), "{}");
    }

    #[test]
    fn memory_cpus_and_pids_become_what_docker_gives_runc() {
        // --memory 64m --pids-limit 50 --cpus 0.5; Docker recorded the
        // swap as twice the memory.
        let r = resources(LIMITED);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({
                "memory": {"limit": 67108864, "swap": 134217728},
                "cpu": {"quota": 50000, "period": 100000},
                "pids": {"limit": 50}
            })
        );
    }

    #[test]
    fn every_memory_and_cpu_option_is_carried() {
        // --memory 96m --memory-reservation 32m --memory-swap 200m
        // --cpu-shares 512 --cpu-period 50000 --cpu-quota 20000
        // --cpuset-cpus 0 --cpuset-mems 0 --pids-limit -1
        let r = resources(DETAILED);
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({
                "memory": {"limit": 100663296, "reservation": 33554432, "swap": 209715200},
                "cpu": {"shares": 512, "quota": 20000, "period": 50000, "cpus": "0", "mems": "0"}
            })
        );
    }

    #[test]
    fn unlimited_swap_and_an_unset_pids_limit_are_minus_one() {
        let limits = HostLimits {
            memory: 1 << 20,
            memory_swap: -1,
            pids_limit: Some(0),
            ..HostLimits::default()
        };
        let r = limits.resources().unwrap();
        assert_eq!(r.memory.unwrap().swap, Some(-1));
        assert_eq!(r.pids, Some(Pids { limit: -1 }));
    }

    #[test]
    fn fractions_of_a_cpu_keep_docker_rounding() {
        let limits = HostLimits {
            nano_cpus: 1_500_000_001,
            ..HostLimits::default()
        };
        let cpu = limits.resources().unwrap().cpu.unwrap();
        assert_eq!((cpu.quota, cpu.period), (Some(150_000), Some(100_000)));
    }

    #[test]
    fn values_docker_refuses_are_errors_naming_the_field() {
        for (limits, field) in [
            (
                HostLimits {
                    memory: -5,
                    ..HostLimits::default()
                },
                "Memory",
            ),
            (
                HostLimits {
                    cpu_shares: -1,
                    ..HostLimits::default()
                },
                "CpuShares",
            ),
            (
                HostLimits {
                    memory_swap: -2,
                    ..HostLimits::default()
                },
                "MemorySwap",
            ),
        ] {
            let error = limits.resources().unwrap_err();
            assert!(error.starts_with(field), "{error}");
        }
    }

    #[test]
    fn a_record_that_is_not_a_host_config_is_an_error() {
        assert!(HostLimits::parse(b"{\"Memory\": \"lots\"}").is_err());
        assert!(HostLimits::parse(b"not json").is_err());
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any record, valid or not, gives limits or an error, never a
        /// panic (an overflowing `--cpus` included).
        #[test]
        fn any_record_is_read_without_panic(
            memory in any::<i64>(),
            swap in any::<i64>(),
            nano_cpus in any::<i64>(),
            quota in any::<i64>(),
            pids in proptest::option::of(any::<i64>()),
        ) {
            let record = serde_json::json!({
                "Memory": memory, "MemorySwap": swap, "NanoCpus": nano_cpus,
                "CpuQuota": quota, "PidsLimit": pids,
            });
            if let Ok(limits) = HostLimits::parse(record.to_string().as_bytes()) {
                let _ = limits.resources();
            }
        }

        #[test]
        fn any_bytes_are_read_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = HostLimits::parse(&bytes).map(|l| l.resources());
        }
    }
}
