//! The container's OCI spec (`config.json` in its bundle), given its
//! limits and its cgroup; everything else in it is kept as the engine
//! wrote it.

use serde_json::{Map, Value};

use super::limits::Resources;

/// The spec has no `linux` object: not a Linux container's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotLinux;

/// Sets `linux.cgroupsPath` and the limits in `linux.resources` (keeping
/// any other resource the spec has). `Err` if the spec has no `linux`
/// object to put them in.
pub fn confine(
    spec: &mut Value,
    resources: &Resources,
    cgroups_path: &str,
) -> Result<(), NotLinux> {
    let linux = spec
        .get_mut("linux")
        .and_then(Value::as_object_mut)
        .ok_or(NotLinux)?;
    linux.insert("cgroupsPath".into(), Value::String(cgroups_path.to_owned()));
    let wanted = match serde_json::to_value(resources) {
        Ok(Value::Object(wanted)) => wanted,
        _ => Map::new(),
    };
    let existing = linux
        .entry("resources")
        .or_insert_with(|| Value::Object(Map::new()));
    if !existing.is_object() {
        *existing = Value::Object(Map::new());
    }
    if let Some(existing) = existing.as_object_mut() {
        existing.extend(wanted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::servers::oci_runtime::limits::{Memory, Pids};

    fn limits() -> Resources {
        Resources {
            memory: Some(Memory {
                limit: Some(64 << 20),
                ..Memory::default()
            }),
            cpu: None,
            pids: Some(Pids { limit: 50 }),
        }
    }

    #[test]
    fn a_spec_without_resources_gets_the_limits_and_the_cgroup() {
        // What a rootless Docker 20.10 hands over: no resources, no path.
        let mut spec = json!({
            "ociVersion": "1.0.2-dev",
            "process": {"args": ["sh"]},
            "linux": {"namespaces": [{"type": "cgroup"}], "maskedPaths": ["/proc/kcore"]}
        });
        confine(&mut spec, &limits(), "/containers/abc").unwrap();
        assert_eq!(
            spec,
            json!({
                "ociVersion": "1.0.2-dev",
                "process": {"args": ["sh"]},
                "linux": {
                    "namespaces": [{"type": "cgroup"}],
                    "maskedPaths": ["/proc/kcore"],
                    "cgroupsPath": "/containers/abc",
                    "resources": {"memory": {"limit": 67108864}, "pids": {"limit": 50}}
                }
            })
        );
    }

    #[test]
    fn other_resources_stay_and_the_limits_win() {
        let mut spec = json!({"linux": {
            "cgroupsPath": "/docker/abc",
            "resources": {"devices": [{"allow": false, "access": "rwm"}], "memory": {"limit": 1}}
        }});
        confine(&mut spec, &limits(), "/containers/abc").unwrap();
        assert_eq!(spec["linux"]["cgroupsPath"], "/containers/abc");
        assert_eq!(
            spec["linux"]["resources"],
            json!({
                "devices": [{"allow": false, "access": "rwm"}],
                "memory": {"limit": 67108864},
                "pids": {"limit": 50}
            })
        );
    }

    #[test]
    fn no_limits_still_give_the_container_its_cgroup() {
        let mut spec = json!({"linux": {}});
        confine(&mut spec, &Resources::default(), "/containers/abc").unwrap();
        assert_eq!(
            spec,
            json!({"linux": {"cgroupsPath": "/containers/abc", "resources": {}}})
        );
    }

    #[test]
    fn a_spec_that_is_not_for_linux_is_refused() {
        assert!(confine(&mut json!({"process": {}}), &limits(), "/c").is_err());
        assert!(confine(&mut json!({"linux": 3}), &limits(), "/c").is_err());
    }
}
