//! One invocation of the runtime: for `create` (and `run`) the
//! container's limits and cgroup go into its spec, then the process
//! becomes runc with the very same arguments. Any failure stops the
//! container from being made, with the reason where runc would give it
//! (its `--log`, which containerd's shim shows the user, and stderr):
//! a container silently without the limits asked for is what this
//! module exists to end.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use super::args::{self, Create, Invocation};
use super::cgroup;
use super::error::OciRuntimeError;
use super::limits::HostLimits;
use super::spec;

/// The runtime this one stands in front of, found on the engine's PATH.
pub const RUNC: &str = "runc";

/// The engine's `--data-root`, set by the server's unit.
pub const DATA_ROOT_ENV: &str = "HEARTH_ENGINE_DATA_ROOT";

/// The longest container id taken (Docker's are 64 characters).
const MAX_ID_LEN: usize = 128;

/// Where the runtime reads what it needs: the running system's files,
/// or a test's.
#[derive(Debug, Clone)]
pub struct Host {
    /// Present only on the unified (v2) cgroup hierarchy.
    pub unified_marker: PathBuf,
    /// This process's cgroups.
    pub proc_self_cgroup: PathBuf,
    /// The engine's data root, if known.
    pub data_root: Option<PathBuf>,
}

impl Host {
    pub fn current() -> Host {
        Host {
            unified_marker: PathBuf::from("/sys/fs/cgroup/cgroup.controllers"),
            proc_self_cgroup: PathBuf::from("/proc/self/cgroup"),
            data_root: std::env::var_os(DATA_ROOT_ENV).map(PathBuf::from),
        }
    }
}

/// `hearth oci-runtime ARGS...`: what the engine runs for runc.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let invocation = args::parse(&args);
    if let Some(create) = &invocation.create
        && let Err(error) = prepare(&Host::current(), create)
    {
        report(&invocation, &error);
        return ExitCode::FAILURE;
    }
    let source = Command::new(RUNC).args(&args).exec();
    report(
        &invocation,
        &OciRuntimeError::Exec {
            program: RUNC,
            source,
        },
    );
    ExitCode::FAILURE
}

/// Puts the container's limits and cgroup into its spec. `Ok(false)`
/// where a rootless engine cannot have cgroups of its own (cgroup v1):
/// the spec is left alone.
pub fn prepare(host: &Host, create: &Create) -> Result<bool, OciRuntimeError> {
    if !host.unified_marker.exists() {
        return Ok(false);
    }
    if !is_plain_id(&create.id) {
        return Err(OciRuntimeError::ContainerId(create.id.clone()));
    }
    let data_root = host
        .data_root
        .as_deref()
        .ok_or(OciRuntimeError::DataRootUnset(DATA_ROOT_ENV))?;
    let resources = read_limits(
        &data_root
            .join("containers")
            .join(&create.id)
            .join("hostconfig.json"),
    )?;
    let own = std::fs::read_to_string(&host.proc_self_cgroup).map_err(|source| {
        OciRuntimeError::ReadCgroup {
            path: host.proc_self_cgroup.clone(),
            source,
        }
    })?;
    let root = cgroup::delegated_root(&own).map_err(|found| OciRuntimeError::EngineCgroup {
        path: host.proc_self_cgroup.clone(),
        found,
        expected: cgroup::ENGINE_CGROUP,
    })?;
    let spec_path = create.bundle.join("config.json");
    let mut spec_json = read_spec(&spec_path)?;
    spec::confine(
        &mut spec_json,
        &resources,
        &cgroup::container_path(&root, &create.id),
    )
    .map_err(|spec::NotLinux| OciRuntimeError::SpecNotLinux {
        path: spec_path.clone(),
    })?;
    write_spec(&spec_path, &spec_json)?;
    Ok(true)
}

fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn read_limits(path: &Path) -> Result<super::limits::Resources, OciRuntimeError> {
    let bytes = std::fs::read(path).map_err(|source| OciRuntimeError::ReadLimits {
        path: path.to_owned(),
        source,
    })?;
    let limits = HostLimits::parse(&bytes).map_err(|source| OciRuntimeError::ParseLimits {
        path: path.to_owned(),
        source,
    })?;
    limits
        .resources()
        .map_err(|reason| OciRuntimeError::InvalidLimits {
            path: path.to_owned(),
            reason,
        })
}

fn read_spec(path: &Path) -> Result<serde_json::Value, OciRuntimeError> {
    let bytes = std::fs::read(path).map_err(|source| OciRuntimeError::ReadSpec {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| OciRuntimeError::ParseSpec {
        path: path.to_owned(),
        source,
    })
}

/// Replaces the spec whole (a new file renamed over it), so runc never
/// reads half of it.
fn write_spec(path: &Path, spec: &serde_json::Value) -> Result<(), OciRuntimeError> {
    let error = |source| OciRuntimeError::WriteSpec {
        path: path.to_owned(),
        source,
    };
    let bytes = serde_json::to_vec(spec).map_err(|e| error(std::io::Error::other(e)))?;
    let mut staged = path.as_os_str().to_owned();
    staged.push(".hearth-new");
    let staged = PathBuf::from(staged);
    std::fs::write(&staged, bytes).map_err(error)?;
    std::fs::rename(&staged, path).map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        error(e)
    })
}

/// Tells why the container was not made: on stderr, and in runc's log in
/// its format, whose last error containerd's shim passes on to `docker`.
fn report(invocation: &Invocation, error: &OciRuntimeError) {
    let message = format!("hearth oci-runtime: {error}");
    eprintln!("{message}");
    let Some(log) = &invocation.log else {
        return;
    };
    let time = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let line = if invocation.log_json {
        serde_json::json!({"level": "error", "msg": message, "time": time}).to_string()
    } else {
        format!("time={time:?} level=error msg={message:?}")
    };
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
    {
        let _ = writeln!(file, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITED: &str =
        include_str!("../../../tests/fixtures/docker-20.10/hostconfig-limited.json");
    const ID: &str = "3e2062fab802b3d393b7cf4e5e136abea104b44760945b96b1101cb85f49070e";

    /// A unified hierarchy, an engine in its `engine` cgroup, a data root
    /// with the container's record, and a bundle with a rootless spec.
    struct Scene {
        dir: tempfile::TempDir,
        host: Host,
        create: Create,
    }

    fn scene() -> Scene {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(root.join("self-cgroup"), "0::/engine\n").unwrap();
        let record = root.join("data/containers").join(ID);
        std::fs::create_dir_all(&record).unwrap();
        std::fs::write(record.join("hostconfig.json"), LIMITED).unwrap();
        let bundle = root.join("bundle");
        std::fs::create_dir_all(&bundle).unwrap();
        std::fs::write(
            bundle.join("config.json"),
            r#"{"ociVersion":"1.0.2-dev","linux":{"namespaces":[{"type":"cgroup"}]}}"#,
        )
        .unwrap();
        Scene {
            host: Host {
                unified_marker: root.join("cgroup.controllers"),
                proc_self_cgroup: root.join("self-cgroup"),
                data_root: Some(root.join("data")),
            },
            create: Create {
                bundle,
                id: ID.to_owned(),
            },
            dir,
        }
    }

    fn spec(scene: &Scene) -> serde_json::Value {
        let bytes = std::fs::read(scene.create.bundle.join("config.json")).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn the_containers_limits_and_cgroup_reach_its_spec() {
        let scene = scene();
        assert!(prepare(&scene.host, &scene.create).unwrap());
        let spec = spec(&scene);
        assert_eq!(
            spec["linux"]["cgroupsPath"],
            format!("/containers/{ID}").as_str()
        );
        assert_eq!(spec["linux"]["resources"]["memory"]["limit"], 67108864);
        assert_eq!(spec["linux"]["resources"]["pids"]["limit"], 50);
        assert_eq!(spec["linux"]["resources"]["cpu"]["quota"], 50000);
        assert_eq!(spec["linux"]["namespaces"][0]["type"], "cgroup");
        let left: Vec<_> = std::fs::read_dir(&scene.create.bundle)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["config.json"], "no staging file is left behind");
    }

    #[test]
    fn on_cgroup_v1_the_spec_is_left_alone() {
        let scene = scene();
        std::fs::remove_file(&scene.host.unified_marker).unwrap();
        let before = spec(&scene);
        assert!(!prepare(&scene.host, &scene.create).unwrap());
        assert_eq!(spec(&scene), before);
    }

    #[test]
    fn a_missing_record_or_engine_cgroup_stops_the_container_unchanged() {
        let scene = scene();
        let before = spec(&scene);

        let mut other = scene.create.clone();
        other.id = "not-a-container".into();
        let error = prepare(&scene.host, &other).unwrap_err();
        assert!(
            matches!(&error, OciRuntimeError::ReadLimits { path, .. } if path.ends_with("not-a-container/hostconfig.json")),
            "{error}"
        );

        std::fs::write(&scene.host.proc_self_cgroup, "0::/containers/x\n").unwrap();
        let error = prepare(&scene.host, &scene.create).unwrap_err();
        assert!(error.to_string().contains("\"/containers/x\""), "{error}");

        let mut host = scene.host.clone();
        host.data_root = None;
        let error = prepare(&host, &scene.create).unwrap_err();
        assert!(error.to_string().contains(DATA_ROOT_ENV), "{error}");

        assert_eq!(spec(&scene), before);
        drop(scene.dir);
    }

    #[test]
    fn an_id_that_is_a_path_is_refused() {
        let scene = scene();
        for id in ["../escape", "a/b", "", "..", "x y"] {
            let create = Create {
                bundle: scene.create.bundle.clone(),
                id: id.into(),
            };
            assert!(
                matches!(
                    prepare(&scene.host, &create),
                    Err(OciRuntimeError::ContainerId(_))
                ),
                "{id:?}"
            );
        }
    }

    #[test]
    fn a_failure_is_reported_in_runcs_json_log() {
        let scene = scene();
        let log = scene.dir.path().join("log.json");
        let invocation = Invocation {
            command: Some("create".into()),
            create: Some(scene.create.clone()),
            log: Some(log.clone()),
            log_json: true,
        };
        report(&invocation, &OciRuntimeError::DataRootUnset(DATA_ROOT_ENV));
        let line: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
        assert_eq!(line["level"], "error");
        assert!(
            line["msg"]
                .as_str()
                .unwrap()
                .starts_with("hearth oci-runtime: the engine's data root is unknown")
        );
    }
}
