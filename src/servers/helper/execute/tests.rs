//! The helper's steps on a recording host: order, idempotence, and what a
//! crash between two steps leaves.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::servers::helper::bind_guard::Rule;
use crate::servers::helper::host::Account;

/// A model of the host: users, files, folders, mounts; every change is
/// logged as one line.
#[derive(Default)]
struct Recording {
    users: RefCell<BTreeMap<String, Account>>,
    files: RefCell<BTreeMap<PathBuf, String>>,
    folders: RefCell<BTreeMap<PathBuf, (u32, Option<Account>)>>,
    mounts: RefCell<BTreeSet<PathBuf>>,
    log: RefCell<Vec<String>>,
    /// A step that fails once, to stand for a crash there.
    fail_at: RefCell<Option<&'static str>>,
}

impl Recording {
    fn step(&self, what: &'static str, line: String) -> Result<(), HelperError> {
        if self.fail_at.borrow().as_deref() == Some(what) {
            *self.fail_at.borrow_mut() = None;
            return Err(HelperError::Command {
                command: what.to_string(),
                detail: "crashed".into(),
            });
        }
        self.log.borrow_mut().push(line);
        Ok(())
    }
    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.log.borrow_mut())
    }
}

impl Host for Recording {
    fn user(&self, name: &str) -> Result<Option<Account>, HelperError> {
        Ok(self.users.borrow().get(name).copied())
    }
    fn add_user(&self, name: &str, home: &Path) -> Result<(), HelperError> {
        self.step("add_user", format!("useradd {name} {}", home.display()))?;
        let n = self.users.borrow().len() as u32;
        self.users.borrow_mut().insert(
            name.to_string(),
            Account {
                uid: 59_000 + n,
                gid: 59_000 + n,
            },
        );
        Ok(())
    }
    fn remove_user(&self, name: &str) -> Result<(), HelperError> {
        self.step("remove_user", format!("userdel {name}"))?;
        self.users.borrow_mut().remove(name);
        Ok(())
    }
    fn read(&self, path: &Path) -> Result<String, HelperError> {
        Ok(self.files.borrow().get(path).cloned().unwrap_or_default())
    }
    fn replace(&self, path: &Path, text: &str) -> Result<(), HelperError> {
        self.step("replace", format!("write {}", path.display()))?;
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), text.to_string());
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        self.files.borrow().contains_key(path) || self.folders.borrow().contains_key(path)
    }
    fn folder(&self, path: &Path, mode: u32, owner: Option<Account>) -> Result<(), HelperError> {
        self.folders
            .borrow_mut()
            .insert(path.to_path_buf(), (mode, owner));
        Ok(())
    }
    fn make_image(&self, path: &Path, mib: u32, owner: Account) -> Result<(), HelperError> {
        self.step(
            "make_image",
            format!("mkfs {} {mib} MiB uid {}", path.display(), owner.uid),
        )?;
        self.files
            .borrow_mut()
            .insert(path.to_path_buf(), "ext4".into());
        Ok(())
    }
    fn allocate(&self, path: &Path, mib: u32) -> Result<(), HelperError> {
        self.step("allocate", format!("allocate {} {mib} MiB", path.display()))
    }
    fn open_tun(&self) -> Result<(), HelperError> {
        self.step("open_tun", "chmod 0666 /dev/net/tun".into())
    }
    fn guard_binds(
        &self,
        scope: &Path,
        servers: Vec<Rule>,
        defaults: Vec<Rule>,
    ) -> Result<(), HelperError> {
        let show = |rules: &[Rule]| {
            rules
                .iter()
                .map(|r| {
                    let ports: Vec<String> = r.ports.iter().map(|p| p.label()).collect();
                    format!("{}-{}:[{}]", r.uids.start(), r.uids.end(), ports.join(","))
                })
                .collect::<Vec<_>>()
                .join(" ")
        };
        self.step(
            "guard_binds",
            format!(
                "guard {} {} then {}",
                scope.display(),
                show(&servers),
                show(&defaults)
            ),
        )
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<(), HelperError> {
        self.step("rename", format!("mv {} {}", from.display(), to.display()))?;
        fn move_under<V>(map: &mut BTreeMap<PathBuf, V>, from: &Path, to: &Path) {
            let moved: Vec<PathBuf> = map
                .keys()
                .filter(|p| p.starts_with(from))
                .cloned()
                .collect();
            for p in moved {
                let v = map.remove(&p).unwrap();
                map.insert(to.join(p.strip_prefix(from).unwrap()), v);
            }
        }
        move_under(&mut self.files.borrow_mut(), from, to);
        move_under(&mut self.folders.borrow_mut(), from, to);
        Ok(())
    }
    fn is_mounted(&self, at: &Path) -> Result<bool, HelperError> {
        Ok(self.mounts.borrow().contains(at))
    }
    fn mount_image(&self, image: &Path, at: &Path) -> Result<(), HelperError> {
        self.step(
            "mount",
            format!("mount {} {}", image.display(), at.display()),
        )?;
        self.mounts.borrow_mut().insert(at.to_path_buf());
        Ok(())
    }
    fn unmount(&self, at: &Path) -> Result<(), HelperError> {
        self.step("unmount", format!("umount {}", at.display()))?;
        self.mounts.borrow_mut().remove(at);
        Ok(())
    }
    fn remove_tree(&self, path: &Path) -> Result<(), HelperError> {
        self.step("remove_tree", format!("rm -r {}", path.display()))?;
        self.files.borrow_mut().retain(|p, _| !p.starts_with(path));
        self.folders
            .borrow_mut()
            .retain(|p, _| !p.starts_with(path));
        Ok(())
    }
    fn grant_socket_access(&self, dir: &Path, uid: u32) -> Result<(), HelperError> {
        self.step("acl", format!("acl {} u:{uid}", dir.display()))
    }
}

fn layout() -> Layout {
    Layout::new(Path::new("/s"), Path::new("/r"))
}

fn id() -> ServerId {
    ServerId::try_from("0a1b2c3d").unwrap()
}

const HEARTH: u32 = 107;

fn ask(host: &Recording, request: Request) -> Result<(), HelperError> {
    execute(&request, host, &layout(), HEARTH)
}

#[test]
fn create_user_makes_the_user_and_both_ranges_once() {
    let host = Recording::default();
    host.files
        .borrow_mut()
        .insert("/etc/subuid".into(), "alice:100000:65536\n".into());
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    assert_eq!(
        host.take_log(),
        [
            "useradd hs-0a1b2c3d /s/0a1b2c3d/data/home",
            "write /etc/subuid",
            "write /etc/subgid",
        ]
    );
    let subuid = host.read(Path::new("/etc/subuid")).unwrap();
    assert!(subuid.starts_with("alice:100000:65536\n"), "{subuid}");
    assert!(subuid.contains("hs-0a1b2c3d:1073741824:65536"), "{subuid}");
    // Asked again (an answer lost): nothing more is done.
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    assert!(host.take_log().is_empty());
}

#[test]
fn a_user_with_ids_outside_the_servers_range_is_refused_before_it_gets_a_range() {
    let host = Recording::default();
    host.users
        .borrow_mut()
        .insert("hs-0a1b2c3d".into(), Account { uid: 998, gid: 998 });
    let err = ask(&host, Request::CreateUser { id: id() }).unwrap_err();
    assert!(
        matches!(err, HelperError::OutsideRange { uid: 998, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("59000-59999"), "{err}");
    assert!(host.take_log().is_empty(), "no range was written");
    assert!(host.read(Path::new("/etc/subuid")).unwrap().is_empty());
}

#[test]
fn prepare_storage_needs_the_user_then_makes_mounts_and_grants_once() {
    let host = Recording::default();
    let err = ask(
        &host,
        Request::PrepareStorage {
            id: id(),
            disk_mib: 1024,
        },
    )
    .unwrap_err();
    assert!(matches!(err, HelperError::NoSuchUser(ref u) if u == "hs-0a1b2c3d"));
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    host.take_log();

    let prepare = Request::PrepareStorage {
        id: id(),
        disk_mib: 1024,
    };
    ask(&host, prepare.clone()).unwrap();
    assert_eq!(
        host.take_log(),
        [
            "mkfs /s/0a1b2c3d/disk.img.new 1024 MiB uid 59000",
            "mv /s/0a1b2c3d/disk.img.new /s/0a1b2c3d/disk.img",
            "mount /s/0a1b2c3d/disk.img /s/0a1b2c3d/data",
            "acl /r/0a1b2c3d u:107",
            "chmod 0666 /dev/net/tun",
        ]
    );
    let user = Some(Account {
        uid: 59_000,
        gid: 59_000,
    });
    let folders = host.folders.borrow().clone();
    assert_eq!(folders[Path::new("/s/0a1b2c3d")], (0o711, None));
    assert_eq!(folders[Path::new("/s/0a1b2c3d/data")], (0o700, user));
    assert_eq!(folders[Path::new("/s/0a1b2c3d/data/docker")], (0o700, user));
    assert_eq!(folders[Path::new("/r/0a1b2c3d")], (0o700, user));

    // After a reboot (nothing mounted) the same request mounts again and
    // keeps the data: no new image, but its blocks made sure of (an
    // image an older hearth made sparse gets them here).
    host.mounts.borrow_mut().clear();
    ask(&host, prepare).unwrap();
    assert_eq!(
        host.take_log(),
        [
            "allocate /s/0a1b2c3d/disk.img 1024 MiB",
            "mount /s/0a1b2c3d/disk.img /s/0a1b2c3d/data",
            "acl /r/0a1b2c3d u:107",
            "chmod 0666 /dev/net/tun",
        ]
    );
}

#[test]
fn a_crash_while_formatting_leaves_no_image_in_place() {
    let host = Recording::default();
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    host.take_log();
    let prepare = Request::PrepareStorage {
        id: id(),
        disk_mib: 512,
    };
    *host.fail_at.borrow_mut() = Some("rename");
    assert!(ask(&host, prepare.clone()).is_err());
    assert!(!host.exists(&layout().image(&id())));
    // The retry formats again, under the temporary name, and goes on.
    host.take_log();
    ask(&host, prepare).unwrap();
    assert_eq!(
        host.take_log()[..2],
        [
            "mkfs /s/0a1b2c3d/disk.img.new 512 MiB uid 59000",
            "mv /s/0a1b2c3d/disk.img.new /s/0a1b2c3d/disk.img",
        ]
    );
}

#[test]
fn removing_keeps_the_storage_aside_or_erases_it_then_the_user_goes() {
    for erase in [false, true] {
        let host = Recording::default();
        ask(&host, Request::CreateUser { id: id() }).unwrap();
        ask(
            &host,
            Request::PrepareStorage {
                id: id(),
                disk_mib: 512,
            },
        )
        .unwrap();
        host.take_log();
        ask(&host, Request::RemoveStorage { id: id(), erase }).unwrap();
        let last = if erase {
            "rm -r /s/0a1b2c3d"
        } else {
            "mv /s/0a1b2c3d /s/.kept/0a1b2c3d"
        };
        assert_eq!(
            host.take_log(),
            ["umount /s/0a1b2c3d/data", "rm -r /r/0a1b2c3d", last]
        );
        assert_eq!(host.exists(Path::new("/s/.kept/0a1b2c3d/disk.img")), !erase);
        // Again: done already.
        ask(&host, Request::RemoveStorage { id: id(), erase }).unwrap();
        assert_eq!(host.take_log(), ["rm -r /r/0a1b2c3d"]);

        ask(&host, Request::RemoveUser { id: id() }).unwrap();
        assert_eq!(
            host.take_log(),
            [
                "userdel hs-0a1b2c3d",
                "write /etc/subuid",
                "write /etc/subgid"
            ]
        );
        assert_eq!(host.read(Path::new("/etc/subuid")).unwrap(), "");
        ask(&host, Request::RemoveUser { id: id() }).unwrap();
        assert!(host.take_log().is_empty());
    }
}

fn tcp(port: u16) -> PublishedPort {
    PublishedPort {
        port,
        protocol: crate::plane::Protocol::Tcp,
    }
}

const CATCH_ALL: &str = "then 59000-59999:[] 1073741824-4294967294:[]";

#[test]
fn a_servers_ports_are_kept_and_put_in_force_before_the_catch_alls_until_its_user_goes() {
    let host = Recording::default();
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    host.take_log();
    let guard = |ports: Vec<PublishedPort>| Request::GuardPorts { id: id(), ports };
    ask(&host, guard(vec![tcp(18080), tcp(8443)])).unwrap();
    assert_eq!(
        host.take_log(),
        [
            "write /s/.guarded-ports.json".to_string(),
            format!("guard /s 59000-59000:[8443/tcp,18080/tcp] {CATCH_ALL}"),
        ]
    );
    // Asked again (each first start after a boot): put in force, not
    // written again.
    ask(&host, guard(vec![tcp(8443), tcp(18080)])).unwrap();
    assert_eq!(
        host.take_log(),
        [format!(
            "guard /s 59000-59000:[8443/tcp,18080/tcp] {CATCH_ALL}"
        )]
    );
    // The helper starting again finds them.
    restore_guard(&host, &layout()).unwrap();
    assert_eq!(
        host.take_log(),
        [format!(
            "guard /s 59000-59000:[8443/tcp,18080/tcp] {CATCH_ALL}"
        )]
    );
    // The user's removal takes its ports first.
    ask(&host, Request::RemoveUser { id: id() }).unwrap();
    let log = host.take_log();
    assert_eq!(
        log[..3],
        [
            "write /s/.guarded-ports.json".to_string(),
            format!("guard /s  {CATCH_ALL}"),
            "userdel hs-0a1b2c3d".to_string(),
        ]
    );
}

#[test]
fn ports_a_server_may_not_publish_are_refused_and_nothing_changes() {
    let host = Recording::default();
    ask(&host, Request::CreateUser { id: id() }).unwrap();
    host.take_log();
    for (ports, named) in [
        (vec![tcp(80)], "80/tcp"),
        (vec![tcp(18080), tcp(23760)], "23760/tcp"),
        ((1..=33).map(|p| tcp(20_000 + p)).collect(), "33 ports"),
    ] {
        let err = ask(&host, Request::GuardPorts { id: id(), ports }).unwrap_err();
        assert!(
            matches!(&err, HelperError::PortNotPublishable { port, .. } if port == named),
            "{err}"
        );
        assert!(host.take_log().is_empty(), "{err}");
    }
}

#[test]
fn a_server_with_no_ports_kept_binds_nothing_on_the_host() {
    let host = Recording::default();
    restore_guard(&host, &layout()).unwrap();
    assert_eq!(host.take_log(), [format!("guard /s  {CATCH_ALL}")]);
}
