//! What hearth may ask of the privileged helper: a closed set of typed
//! requests, one JSON object per line, each naming a server only by its
//! [`ServerId`] (which the box chose, never a member), so no request can
//! name a path, a user or a command of the caller's choosing.

use serde::{Deserialize, Serialize};

use crate::servers::model::{PublishedPort, ServerId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Makes the server's user (`hs-<id>`) and its subordinate ID ranges;
    /// done already is success.
    CreateUser { id: ServerId },
    /// Makes the server's storage of `disk_mib` MiB, every block of it
    /// allocated (refused when that would leave the box too little: see
    /// [`crate::servers::room`]), owned by its user, mode 0700; and opens
    /// the tun device its engine's network needs.
    PrepareStorage { id: ServerId, disk_mib: u32 },
    /// Moves the storage aside (kept for an admin) or erases it.
    RemoveStorage { id: ServerId, erase: bool },
    /// Removes the user and its ranges, once its unit is stopped (and the
    /// ports it may bind with them).
    RemoveUser { id: ServerId },
    /// The ports the server's user may bind on the host: those its
    /// server publishes (see [`super::bind_guard`]). Kept, and in force
    /// until the next such request or its user's removal.
    GuardPorts {
        id: ServerId,
        ports: Vec<PublishedPort>,
    },
}

impl Request {
    /// The audit target: what the request did to which server.
    pub fn describe(&self) -> String {
        match self {
            Request::CreateUser { id } => format!("create user {}", id.user()),
            Request::PrepareStorage { id, disk_mib } => {
                format!("prepare {disk_mib} MiB of storage for {id}")
            }
            Request::RemoveStorage { id, erase: true } => format!("erase the storage of {id}"),
            Request::RemoveStorage { id, erase: false } => {
                format!("keep aside the storage of {id}")
            }
            Request::RemoveUser { id } => format!("remove user {}", id.user()),
            Request::GuardPorts { id, ports } if ports.is_empty() => {
                format!("let {} bind no port on the host", id.user())
            }
            Request::GuardPorts { id, ports } => {
                let ports: Vec<String> = ports.iter().map(PublishedPort::label).collect();
                format!("let {} bind {} on the host", id.user(), ports.join(", "))
            }
        }
    }
}

/// The helper's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    Done,
    Failed { error: String },
}

/// At most this long a request line may be: anything longer is not one
/// (the longest, a server's 32 published ports, takes about 1,200).
pub const MAX_LINE: usize = 2048;

/// Parses one request line; anything outside the set is an error.
pub fn parse(line: &str) -> Result<Request, String> {
    if line.len() > MAX_LINE {
        return Err(format!("a request is at most {MAX_LINE} bytes"));
    }
    serde_json::from_str(line).map_err(|e| format!("not a request: {e}"))
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_as_one_line_of_json() {
        let id = ServerId::try_from("0a1b2c3d").unwrap();
        for r in [
            Request::CreateUser { id: id.clone() },
            Request::PrepareStorage {
                id: id.clone(),
                disk_mib: 4096,
            },
            Request::RemoveStorage {
                id: id.clone(),
                erase: true,
            },
            Request::RemoveUser { id: id.clone() },
            Request::GuardPorts {
                id: id.clone(),
                ports: vec![PublishedPort {
                    port: 18080,
                    protocol: crate::plane::Protocol::Udp,
                }],
            },
        ] {
            let line = serde_json::to_string(&r).unwrap();
            assert!(!line.contains('\n'));
            assert_eq!(parse(&line), Ok(r));
        }
        assert_eq!(
            serde_json::to_string(&Request::CreateUser { id }).unwrap(),
            r#"{"op":"create_user","id":"0a1b2c3d"}"#
        );
    }

    #[test]
    fn nothing_outside_the_set_is_a_request() {
        for bad in [
            r#"{"op":"run","command":"sh"}"#,
            r#"{"op":"create_user","id":"../../etc"}"#,
            r#"{"op":"create_user","id":"0a1b2c3d","user":"root"}"#,
            r#"{"op":"prepare_storage","id":"0a1b2c3d","disk_mib":-1}"#,
            r#"{"op":"prepare_storage","id":"0a1b2c3d"}"#,
            r#"{"op":"guard_ports","id":"0a1b2c3d","ports":[{"port":70000,"protocol":"tcp"}]}"#,
            r#"{"op":"guard_ports","id":"0a1b2c3d","ports":[{"port":80,"protocol":"sctp"}]}"#,
            "not json",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse(&"x".repeat(MAX_LINE + 1)).is_err());
    }
}
