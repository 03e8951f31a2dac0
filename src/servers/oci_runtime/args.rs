//! The runc command line the runtime is given (by containerd's shim,
//! through go-runc): which command, which bundle, which container, and
//! where runc's log goes. Parsed without I/O; the arguments themselves
//! are passed on to runc untouched.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// runc's global options that take a value (`--root DIR` or `--root=DIR`).
const GLOBAL_WITH_VALUE: [&str; 5] = ["root", "log", "log-format", "criu", "rootless"];

/// What the runtime needs of one invocation.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command runc is asked to carry out (`create`, `start`,
    /// `state`...), if any (`--version` has none).
    pub command: Option<String>,
    /// For `create` and `run`: the container to make.
    pub create: Option<Create>,
    /// `--log`: the file runc reports errors in (containerd's shim reads
    /// the last one from it and shows it to the user).
    pub log: Option<PathBuf>,
    /// `--log-format json` (go-runc's) rather than text.
    pub log_json: bool,
}

/// A container about to be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    /// `--bundle`/`-b`; runc's default is the working folder.
    pub bundle: PathBuf,
    /// The container id: the last argument.
    pub id: String,
}

/// Reads the arguments as runc would (the program name not included).
pub fn parse(args: &[OsString]) -> Invocation {
    let mut invocation = Invocation::default();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let Some(text) = arg.to_str() else {
            break;
        };
        let Some(flag) = text.strip_prefix("--").or_else(|| text.strip_prefix('-')) else {
            invocation.command = Some(text.to_owned());
            break;
        };
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(OsString::from(value))),
            None => (flag, None),
        };
        if !GLOBAL_WITH_VALUE.contains(&name) {
            continue;
        }
        let value = inline.or_else(|| rest.next().cloned());
        match (name, value) {
            ("log", Some(path)) => invocation.log = Some(PathBuf::from(path)),
            ("log-format", Some(format)) => invocation.log_json = format == "json",
            _ => {}
        }
    }
    if matches!(invocation.command.as_deref(), Some("create" | "run")) {
        let command_args: Vec<&OsString> = rest.collect();
        invocation.create = create(&command_args);
    }
    invocation
}

/// The bundle and id of `create`/`run`'s own arguments.
fn create(args: &[&OsString]) -> Option<Create> {
    let id = args.last()?.to_str()?.to_owned();
    if id.starts_with('-') {
        return None;
    }
    let mut bundle = PathBuf::from(".");
    let mut iter = args[..args.len() - 1].iter();
    while let Some(arg) = iter.next() {
        let arg: &OsStr = arg.as_os_str();
        match arg.to_str() {
            Some("--bundle" | "-bundle" | "-b" | "--b") => {
                if let Some(value) = iter.next() {
                    bundle = PathBuf::from(value);
                }
            }
            Some(text) => {
                if let Some(value) = text
                    .strip_prefix("--bundle=")
                    .or_else(|| text.strip_prefix("-bundle="))
                    .or_else(|| text.strip_prefix("-b="))
                {
                    bundle = PathBuf::from(value);
                }
            }
            None => {}
        }
    }
    Some(Create { bundle, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn the_shims_create_names_bundle_id_and_log() {
        // As containerd 1.6's runc shim (go-runc) calls it.
        let parsed = parse(&args(
            "--root /run/user/0/docker/runtime-runc/moby --log /run/b/log.json --log-format json \
             create --bundle /run/b --pid-file /run/b/init.pid --console-socket /tmp/pty.sock abc123",
        ));
        assert_eq!(parsed.command.as_deref(), Some("create"));
        assert_eq!(
            parsed.create,
            Some(Create {
                bundle: PathBuf::from("/run/b"),
                id: "abc123".into()
            })
        );
        assert_eq!(parsed.log, Some(PathBuf::from("/run/b/log.json")));
        assert!(parsed.log_json);
    }

    #[test]
    fn options_with_equals_signs_and_short_names_are_read() {
        let parsed = parse(&args(
            "--root=/r --log=/l --log-format=text --systemd-cgroup run -d -b=/bundle --no-pivot c1",
        ));
        assert_eq!(parsed.command.as_deref(), Some("run"));
        assert_eq!(parsed.log, Some(PathBuf::from("/l")));
        assert!(!parsed.log_json);
        assert_eq!(parsed.create.unwrap().bundle, PathBuf::from("/bundle"));
        let parsed = parse(&args("create -b /x c2"));
        assert_eq!(
            parsed.create,
            Some(Create {
                bundle: PathBuf::from("/x"),
                id: "c2".into()
            })
        );
    }

    #[test]
    fn without_a_bundle_option_the_bundle_is_the_working_folder() {
        let parsed = parse(&args("create c3"));
        assert_eq!(parsed.create.unwrap().bundle, PathBuf::from("."));
    }

    #[test]
    fn other_commands_make_no_container() {
        for line in [
            "--root /r start abc",
            "--root /r --log /l delete --force abc",
            "--version",
            "",
        ] {
            let parsed = parse(&args(line));
            assert_eq!(parsed.create, None, "{line}");
        }
        assert_eq!(parse(&args("--version")).command, None);
        assert_eq!(
            parse(&args("--root /r state abc")).command.as_deref(),
            Some("state")
        );
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the shim passes, the runtime reads it without a panic,
        /// and a `create` it finds names the last argument.
        #[test]
        fn any_arguments_parse(args in proptest::collection::vec("[a-z=/.-]{0,12}|--bundle|create|run|--log", 0..12)) {
            let args: Vec<OsString> = args.into_iter().map(OsString::from).collect();
            let parsed = parse(&args);
            if let Some(create) = parsed.create {
                prop_assert_eq!(Some(create.id.as_str()), args.last().and_then(|a| a.to_str()));
            }
        }
    }
}
