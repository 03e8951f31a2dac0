//! The factory reset: hearth's state and every server's data erased, the
//! box back in setup mode. Only with the daemon stopped (the caller stops
//! it; [`erase`] refuses while redb's lock says the store is held), and
//! only as root (the servers' users and storage are root's to remove).
//!
//! Order, so that a crash half-way is finished by running it again:
//! the servers first (each unit already stopped by the caller: storage
//! unmounted and erased, then the user), then the kept storage, then the
//! state dir's contents, then the setup code file. Last, a new store with
//! one record, `console.factory_reset`, so the next admin sees what
//! happened to the box.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::servers::helper::execute::execute;
use crate::servers::helper::host::Host;
use crate::servers::helper::protocol::Request;
use crate::servers::helper::{HelperError, Layout};
use crate::servers::model::ServerId;
use crate::store::{AuditAction, AuditEntry, Outcome, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FactoryError {
    #[error("hearth still holds its store ({0}): stop it first")]
    DaemonRunning(PathBuf),
    #[error("cannot open the store to check that hearth is stopped")]
    Check(#[source] StoreError),
    #[error("cannot erase server {id}")]
    Server {
        id: String,
        #[source]
        source: HelperError,
    },
    #[error("cannot erase {path}")]
    Erase {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the new store")]
    NewStore(#[source] StoreError),
}

/// What was erased, for the console to say.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Erased {
    /// The servers whose user or storage was found and removed.
    pub servers: Vec<String>,
}

/// The servers found on the host: a storage folder, kept storage, or an
/// `hs-` user in `passwd`.
pub fn servers_on_host(layout: &Layout, passwd: &str) -> Vec<ServerId> {
    let mut ids: Vec<ServerId> = Vec::new();
    let mut add = |name: &str| {
        if let Ok(id) = ServerId::try_from(name)
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    };
    for dir in [layout.storage.clone(), layout.storage.join(".kept")] {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                add(&e.file_name().to_string_lossy());
            }
        }
    }
    for line in passwd.lines() {
        if let Some(name) = line.split(':').next().and_then(|n| n.strip_prefix("hs-")) {
            add(name);
        }
    }
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids
}

/// Erases everything; the caller has stopped hearth and the servers'
/// units. `passwd` is the host's `/etc/passwd` (where the servers' users
/// are found); `terminal` is the audit record's source.
pub fn erase(
    config: &Config,
    host: &dyn Host,
    layout: &Layout,
    passwd: &str,
    terminal: &str,
) -> Result<Erased, FactoryError> {
    ensure_stopped(&config.state_dir)?;
    let mut erased = Erased::default();
    for id in servers_on_host(layout, passwd) {
        for request in [
            Request::RemoveStorage {
                id: id.clone(),
                erase: true,
            },
            Request::RemoveUser { id: id.clone() },
        ] {
            // hearth's uid only matters when granting a socket.
            execute(&request, host, layout, 0).map_err(|source| FactoryError::Server {
                id: id.to_string(),
                source,
            })?;
        }
        let kept = layout.kept(&id);
        remove_tree(&kept)?;
        erased.servers.push(id.to_string());
    }
    empty_folder(&config.state_dir)?;
    remove_file(
        &config
            .runtime_dir
            .join(crate::config::paths::SETUP_CODE_FILE),
    )?;
    let recorded = Store::open(&config.state_dir).and_then(|store| {
        store.audit(AuditEntry {
            actor: super::ACTOR.into(),
            action: AuditAction::ConsoleFactoryReset,
            target: format!("{} servers erased", erased.servers.len()),
            source: terminal.into(),
            outcome: Outcome::Success,
        })
    });
    // Whatever became of the record: a store file root made must be
    // hearth's, or hearth could never open it.
    give_contents_to_owner(&config.state_dir)?;
    recorded.map_err(FactoryError::NewStore)?;
    Ok(erased)
}

/// Refuses while another process holds the store. A store that is not
/// there is fine: there is nothing of hearth's to wait for.
fn ensure_stopped(state_dir: &Path) -> Result<(), FactoryError> {
    let file = state_dir.join(crate::store::STORE_FILE);
    if !file.exists() {
        return Ok(());
    }
    match Store::open(state_dir) {
        Ok(store) => {
            drop(store);
            Ok(())
        }
        Err(StoreError::Locked { .. }) => Err(FactoryError::DaemonRunning(file)),
        // An unreadable or lost store is exactly what a factory reset
        // may be for.
        Err(StoreError::Unreadable { .. } | StoreError::SetUpStateMissing { .. }) => Ok(()),
        Err(e) => Err(FactoryError::Check(e)),
    }
}

/// Removes what `dir` holds, keeping the folder (its owner and mode are
/// the unit's: `StateDirectory=`).
fn empty_folder(dir: &Path) -> Result<(), FactoryError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(FactoryError::Erase {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    for entry in entries {
        let entry = entry.map_err(|source| FactoryError::Erase {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_tree(&path)?;
        } else {
            remove_file(&path)?;
        }
    }
    Ok(())
}

fn remove_tree(path: &Path) -> Result<(), FactoryError> {
    unless_gone(path, std::fs::remove_dir_all(path))
}

fn remove_file(path: &Path) -> Result<(), FactoryError> {
    unless_gone(path, std::fs::remove_file(path))
}

/// The outcome of removing `path`: one that was not there is removed.
fn unless_gone(path: &Path, removal: std::io::Result<()>) -> Result<(), FactoryError> {
    match removal {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        other => other.map_err(|source| FactoryError::Erase {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The new store was written by root: it must be hearth's, like the
/// folder it is in.
fn give_contents_to_owner(dir: &Path) -> Result<(), FactoryError> {
    let err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FactoryError::Erase { path, source }
    };
    let owner = std::fs::metadata(dir).map_err(err(dir))?;
    for entry in std::fs::read_dir(dir).map_err(err(dir))? {
        let path = entry.map_err(err(dir))?.path();
        let meta = std::fs::symlink_metadata(&path).map_err(err(&path))?;
        if (meta.uid(), meta.gid()) != (owner.uid(), owner.gid()) {
            // Never following a link.
            std::os::unix::fs::lchown(&path, Some(owner.uid()), Some(owner.gid()))
                .map_err(err(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_found_by_storage_kept_storage_and_user() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::new(&dir.path().join("storage"), &dir.path().join("run"));
        std::fs::create_dir_all(layout.storage.join("0000000a")).unwrap();
        std::fs::create_dir_all(layout.storage.join(".kept/0000000b")).unwrap();
        std::fs::create_dir_all(layout.storage.join("not-a-server")).unwrap();
        let passwd = "root:x:0:0::/root:/bin/bash\nhs-0000000c:x:59000:59000::/h:/bin/false\nhs-0000000a:x:59001:59001::/h:/bin/false\nhs-nope:x:1:1::/:/\n";
        let ids: Vec<String> = servers_on_host(&layout, passwd)
            .into_iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(ids, ["0000000a", "0000000b", "0000000c"]);
    }

    #[test]
    fn a_held_store_is_never_erased() {
        let dir = tempfile::tempdir().unwrap();
        let held = Store::open(dir.path()).unwrap();
        // redb's lock is per file description: a second open in this
        // process is refused like another process's.
        match ensure_stopped(dir.path()) {
            Err(FactoryError::DaemonRunning(path)) => {
                assert!(path.ends_with("state.redb"))
            }
            other => panic!("{other:?}"),
        }
        drop(held);
        ensure_stopped(dir.path()).unwrap();
    }

    #[test]
    fn a_set_up_box_whose_store_was_lost_may_start_over() {
        let dir = tempfile::tempdir().unwrap();
        Store::open(dir.path()).unwrap().mark_set_up().unwrap();
        std::fs::write(dir.path().join(crate::store::STORE_FILE), b"").unwrap();
        assert!(Store::open(dir.path()).is_err(), "hearth refuses it");
        ensure_stopped(dir.path()).expect("the factory reset does not");
    }
}
