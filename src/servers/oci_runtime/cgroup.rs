//! Where a container's cgroup goes: below the cgroup the server's unit
//! delegates to its user, beside the engine's own. Parsed without I/O
//! from `/proc/self/cgroup` as the runtime (a child of the engine's
//! containerd shim) sees it.

/// The cgroup rootlesskit moves the engine into, below the unit's
/// (`--evacuate-cgroup2=engine` in `systemd/hearth-server@.service`).
pub const ENGINE_CGROUP: &str = "engine";

/// The cgroup below the unit's that holds one cgroup per container.
pub const CONTAINERS_CGROUP: &str = "containers";

/// The unit's cgroup, from the cgroup v2 line of `/proc/self/cgroup`
/// (`0::/…/engine`), as a path runc resolves against `/sys/fs/cgroup`.
/// `Err` carries what was found instead of a process in `engine`.
pub fn delegated_root(proc_self_cgroup: &str) -> Result<String, String> {
    let own = proc_self_cgroup
        .lines()
        .find_map(|line| line.strip_prefix("0::"))
        .ok_or_else(|| proc_self_cgroup.trim().to_owned())?;
    match own.rsplit_once('/') {
        Some((parent, ENGINE_CGROUP)) if own.starts_with('/') => Ok(if parent.is_empty() {
            "/".to_owned()
        } else {
            parent.to_owned()
        }),
        _ => Err(own.to_owned()),
    }
}

/// The cgroup of container `id` below the unit's cgroup `root`.
pub fn container_path(root: &str, id: &str) -> String {
    format!("{}/{CONTAINERS_CGROUP}/{id}", root.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_the_engines_cgroup_namespace_the_unit_is_the_root() {
        assert_eq!(delegated_root("0::/engine\n").unwrap(), "/");
        assert_eq!(container_path("/", "abc"), "/containers/abc");
    }

    #[test]
    fn without_a_cgroup_namespace_the_units_path_is_kept() {
        let cgroup =
            "0::/system.slice/system-hearth\\x2dserver.slice/hearth-server@s1.service/engine\n";
        let root = delegated_root(cgroup).unwrap();
        assert_eq!(
            root,
            "/system.slice/system-hearth\\x2dserver.slice/hearth-server@s1.service"
        );
        assert_eq!(
            container_path(&root, "abc"),
            "/system.slice/system-hearth\\x2dserver.slice/hearth-server@s1.service/containers/abc"
        );
    }

    #[test]
    fn a_process_outside_the_engines_cgroup_is_refused() {
        assert_eq!(delegated_root("0::/\n").unwrap_err(), "/");
        assert_eq!(
            delegated_root("0::/containers/abc\n").unwrap_err(),
            "/containers/abc"
        );
        assert_eq!(
            delegated_root("0::/x/engine-not\n").unwrap_err(),
            "/x/engine-not"
        );
        // cgroup v1 lines only: no unified hierarchy line.
        assert!(delegated_root("4:memory:/a\n3:pids:/a\n").is_err());
    }
}
