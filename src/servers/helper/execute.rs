//! What each request does, step by step, on a [`Host`]. Every request is
//! idempotent (asked again after a crash or a lost answer, it finishes
//! the job or finds it done), and ordered so that a crash between two
//! steps leaves a state the same request repairs: an image is formatted
//! under a temporary name and renamed into place, the subordinate ID
//! files are replaced in one rename.

use std::collections::{BTreeMap, BTreeSet};

use super::bind_guard::Rule;
use super::error::HelperError;
use super::host::Host;
use super::layout::Layout;
use super::protocol::Request;
use crate::servers::model::{
    ENGINE_PORTS, FIRST_PUBLISHED_PORT, MAX_PORTS, PublishedPort, SERVER_UIDS, ServerId,
};
use crate::servers::subids;

/// Carries out `request`. `hearth_uid` is granted the engine's socket.
pub fn execute(
    request: &Request,
    host: &dyn Host,
    layout: &Layout,
    hearth_uid: u32,
) -> Result<(), HelperError> {
    match request {
        Request::CreateUser { id } => create_user(id, host, layout),
        Request::PrepareStorage { id, disk_mib } => {
            prepare_storage(id, *disk_mib, host, layout, hearth_uid)
        }
        Request::RemoveStorage { id, erase } => remove_storage(id, *erase, host, layout),
        Request::RemoveUser { id } => remove_user(id, host, layout),
        Request::GuardPorts { id, ports } => guard_ports(id, ports, host, layout),
    }
}

fn create_user(id: &ServerId, host: &dyn Host, layout: &Layout) -> Result<(), HelperError> {
    let name = id.user();
    if host.user(&name)?.is_none() {
        host.add_user(&name, &layout.home(id))?;
    }
    // A user that got (or had) ids elsewhere is refused before it gets a
    // range, storage or a start: its sockets would escape the firewall.
    let account = host
        .user(&name)?
        .ok_or_else(|| HelperError::NoSuchUser(name.clone()))?;
    if !SERVER_UIDS.contains(&account.uid) || !SERVER_UIDS.contains(&account.gid) {
        return Err(HelperError::OutsideRange {
            user: name,
            uid: account.uid,
            gid: account.gid,
            first: *SERVER_UIDS.start(),
            last: *SERVER_UIDS.end(),
        });
    }
    for file in [&layout.subuid, &layout.subgid] {
        let mut entries = read_subids(host, file)?;
        let before = entries.clone();
        subids::ensure(&mut entries, &name).map_err(|source| HelperError::SubIds {
            path: file.clone(),
            source,
        })?;
        if entries != before {
            host.replace(file, &subids::render(&entries))?;
        }
    }
    Ok(())
}

fn prepare_storage(
    id: &ServerId,
    disk_mib: u32,
    host: &dyn Host,
    layout: &Layout,
    hearth_uid: u32,
) -> Result<(), HelperError> {
    let name = id.user();
    let account = host.user(&name)?.ok_or(HelperError::NoSuchUser(name))?;
    host.folder(&layout.storage, 0o711, None)?;
    host.folder(&layout.server_dir(id), 0o711, None)?;
    let image = layout.image(id);
    if host.exists(&image) {
        // Made sparse by an older hearth, or its blocks given back: a
        // server's disk holds its blocks before it runs (see room.rs).
        host.allocate(&image, disk_mib)?;
    } else {
        let new = layout.image_new(id);
        host.make_image(&new, disk_mib, account)?;
        host.rename(&new, &image)?;
    }
    let data = layout.data(id);
    host.folder(&data, 0o700, None)?;
    if !host.is_mounted(&data)? {
        host.mount_image(&image, &data)?;
    }
    // The mounted file system's root, and what the engine expects in it.
    for folder in [data.clone(), layout.docker_root(id), layout.home(id)] {
        host.folder(&folder, 0o700, Some(account))?;
    }
    host.folder(&layout.run, 0o711, None)?;
    let run = layout.run_dir(id);
    host.folder(&run, 0o700, Some(account))?;
    host.grant_socket_access(&run, hearth_uid)?;
    // Last: the engine starts next. A box without udev (or whose rule
    // did not run) has it root's only, and every first engine would fail
    // at `setting up tap tap0: open: Permission denied`.
    host.open_tun()
}

fn remove_storage(
    id: &ServerId,
    erase: bool,
    host: &dyn Host,
    layout: &Layout,
) -> Result<(), HelperError> {
    let data = layout.data(id);
    if host.is_mounted(&data)? {
        host.unmount(&data)?;
    }
    host.remove_tree(&layout.run_dir(id))?;
    let dir = layout.server_dir(id);
    if !host.exists(&dir) {
        return Ok(());
    }
    if erase {
        return host.remove_tree(&dir);
    }
    let kept = layout.kept(id);
    if host.exists(&kept) {
        return Err(HelperError::KeptExists { path: kept });
    }
    if let Some(parent) = kept.parent() {
        host.folder(parent, 0o700, None)?;
    }
    host.rename(&dir, &kept)
}

fn remove_user(id: &ServerId, host: &dyn Host, layout: &Layout) -> Result<(), HelperError> {
    // Its ports first: a crash after this leaves a user that binds none.
    let mut guarded = read_guarded(host, layout)?;
    if guarded.remove(id).is_some() {
        write_guarded(host, layout, &guarded)?;
        restore_guard(host, layout)?;
    }
    let name = id.user();
    if host.user(&name)?.is_some() {
        host.remove_user(&name)?;
    }
    for file in [&layout.subuid, &layout.subgid] {
        let mut entries = read_subids(host, file)?;
        if subids::remove(&mut entries, &name) {
            host.replace(file, &subids::render(&entries))?;
        }
    }
    Ok(())
}

/// What a server's user may bind on the host, as the bind guard keeps it.
type Guarded = BTreeMap<ServerId, BTreeSet<PublishedPort>>;

fn guard_ports(
    id: &ServerId,
    ports: &[PublishedPort],
    host: &dyn Host,
    layout: &Layout,
) -> Result<(), HelperError> {
    // hearth checked them when the server was made; the helper holds to
    // the same rules whoever asks (never an engine front's port).
    let refuse = |port: &PublishedPort, why: String| HelperError::PortNotPublishable {
        id: id.to_string(),
        port: port.label(),
        why,
    };
    if ports.len() > MAX_PORTS {
        return Err(HelperError::PortNotPublishable {
            id: id.to_string(),
            port: format!("{} ports", ports.len()),
            why: format!("a server publishes at most {MAX_PORTS}"),
        });
    }
    for port in ports {
        if port.port < FIRST_PUBLISHED_PORT {
            return Err(refuse(port, format!("below {FIRST_PUBLISHED_PORT}")));
        }
        if ENGINE_PORTS.contains(&port.port) {
            return Err(refuse(port, "one of the engine fronts' ports".into()));
        }
    }
    let mut guarded = read_guarded(host, layout)?;
    let wanted: BTreeSet<PublishedPort> = ports.iter().copied().collect();
    if guarded.get(id) != Some(&wanted) {
        guarded.insert(id.clone(), wanted);
        write_guarded(host, layout, &guarded)?;
    }
    restore_guard(host, layout)
}

/// Puts the kept ports in force: each server's user its own, every other
/// id of the servers' range and of their subordinate ranges none (a
/// server whose ports are not known binds nothing on the host). Done when
/// the helper starts, and after every change.
pub fn restore_guard(host: &dyn Host, layout: &Layout) -> Result<(), HelperError> {
    let guarded = read_guarded(host, layout)?;
    let mut servers = Vec::new();
    for (id, ports) in guarded {
        // A server whose user is gone (removed by hand) has no rule: the
        // catch-all holds for its uid.
        if let Some(account) = host.user(&id.user())? {
            servers.push(Rule {
                uids: account.uid..=account.uid,
                ports,
            });
        }
    }
    let defaults = vec![
        Rule {
            uids: SERVER_UIDS,
            ports: BTreeSet::new(),
        },
        Rule {
            uids: subids::FIRST as u32..=subids::LAST as u32,
            ports: BTreeSet::new(),
        },
    ];
    host.guard_binds(&layout.storage, servers, defaults)
}

fn read_guarded(host: &dyn Host, layout: &Layout) -> Result<Guarded, HelperError> {
    let path = layout.guarded_ports();
    let text = host.read(&path)?;
    if text.trim().is_empty() {
        return Ok(Guarded::new());
    }
    serde_json::from_str(&text).map_err(|e| HelperError::GuardedPorts {
        path,
        detail: e.to_string(),
    })
}

fn write_guarded(host: &dyn Host, layout: &Layout, guarded: &Guarded) -> Result<(), HelperError> {
    host.folder(&layout.storage, 0o711, None)?;
    let text = serde_json::to_string_pretty(guarded).expect("ports serialise");
    host.replace(&layout.guarded_ports(), &text)
}

fn read_subids(host: &dyn Host, file: &std::path::Path) -> Result<Vec<subids::SubId>, HelperError> {
    subids::parse(&host.read(file)?).map_err(|source| HelperError::SubIds {
        path: file.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests;
