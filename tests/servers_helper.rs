//! The servers' privileged helper, for real, as root: the users it makes
//! are in the host's `/etc/passwd` and `/etc/subuid`, the storage is an
//! ext4 image mounted through a loop device whose size is a real limit,
//! and only the configured user may ask. Each test's users and mounts are
//! removed when it ends, whatever happens.

use hearth_testkit as common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;

use common::servers_lab::{CLIENT_UID, Lab, OTHER_UID, mounted, run_as, subid_line, user};
use hearth::servers::helper::client::{ClientError, HelperClient};
use hearth::servers::helper::protocol::Request;
use hearth::servers::model::ServerId;

/// The helper's answer to a request it carried out.
const DONE: &str = r#"{"outcome":"done"}"#;

/// A new server's user and its storage of `disk_mib`, made through the
/// helper.
fn prepared(lab: &mut Lab, disk_mib: u32) -> ServerId {
    let id = lab.new_id();
    assert_eq!(lab.ask(&Request::CreateUser { id: id.clone() }), DONE);
    assert_eq!(
        lab.ask(&Request::PrepareStorage {
            id: id.clone(),
            disk_mib,
        }),
        DONE
    );
    id
}

#[test]
fn a_server_gets_a_user_ranges_and_storage_of_its_size_then_all_goes() {
    let mut lab = Lab::start(CLIENT_UID);
    let id = lab.new_id();
    let name = id.user();

    // The user and its ranges.
    assert_eq!(lab.ask(&Request::CreateUser { id: id.clone() }), DONE);
    let account = user(&name).expect("the user exists");
    assert_eq!(account.shell, Path::new("/usr/sbin/nologin"));
    assert_eq!(account.dir, lab.layout.home(&id));
    assert_ne!(account.uid.as_raw(), 0);
    // In the servers' range, which the firewall confines as a whole.
    let range = hearth::servers::model::SERVER_UIDS;
    assert!(range.contains(&account.uid.as_raw()), "{account:?}");
    assert!(range.contains(&account.gid.as_raw()), "{account:?}");
    for file in ["/etc/subuid", "/etc/subgid"] {
        let (start, count) = subid_line(file, &name).expect("a range in {file}");
        assert!(start >= 1 << 30, "{file}: {start}");
        assert_eq!(count, 65536);
    }
    // Asked again: the same user, the same range.
    let range = subid_line("/etc/subuid", &name);
    assert_eq!(lab.ask(&Request::CreateUser { id: id.clone() }), DONE);
    assert_eq!(user(&name).unwrap().uid, account.uid);
    assert_eq!(subid_line("/etc/subuid", &name), range);

    // The storage: an ext4 image on a loop device, the user's, 0700.
    let prepare = Request::PrepareStorage {
        id: id.clone(),
        disk_mib: 512,
    };
    assert_eq!(lab.ask(&prepare), DONE);
    let data = lab.layout.data(&id);
    let (source, fstype) = mounted(&data).expect("the storage is mounted");
    assert_eq!(fstype, "ext4");
    assert!(source.starts_with("/dev/loop"), "{source}");
    for folder in [
        data.clone(),
        lab.layout.docker_root(&id),
        lab.layout.home(&id),
    ] {
        let meta = std::fs::metadata(&folder).unwrap();
        assert_eq!(meta.uid(), account.uid.as_raw(), "{}", folder.display());
        assert_eq!(meta.mode() & 0o777, 0o700, "{}", folder.display());
    }
    let image = std::fs::metadata(lab.layout.image(&id)).unwrap();
    assert_eq!(image.len(), 512 << 20);
    assert_eq!(image.mode() & 0o777, 0o600);
    // Every block of it held on the host, none left to be found later.
    assert!(
        image.blocks() * 512 >= 512 << 20,
        "the image holds {} of its {} bytes: a sparse disk can fail its writes when the host fills",
        image.blocks() * 512,
        image.len()
    );
    // Asked again (after a restart of hearth): nothing changes.
    std::fs::write(data.join("home/kept"), "still here").unwrap();
    assert_eq!(lab.ask(&prepare), DONE);
    assert_eq!(
        std::fs::read_to_string(data.join("home/kept")).unwrap(),
        "still here"
    );

    // The size is a limit: the user cannot write past it.
    let fill = data.join("home/fill");
    let written = run_as(
        account.uid.as_raw(),
        &[
            "dd",
            "if=/dev/zero",
            &format!("of={}", fill.display()),
            "bs=1M",
            "count=600",
        ],
    );
    let err = written.expect_err("600 MiB do not fit in 512");
    assert!(err.contains("No space left on device"), "{err}");
    std::fs::remove_file(&fill).unwrap();
    // Nobody else may even look in.
    let peek = run_as(OTHER_UID, &["ls", data.to_str().unwrap()]);
    assert!(peek.is_err());

    // Deleted, keeping the data: unmounted, moved aside whole, the user
    // and its ranges gone.
    assert_eq!(
        lab.ask(&Request::RemoveStorage {
            id: id.clone(),
            erase: false
        }),
        DONE
    );
    assert!(mounted(&data).is_none());
    assert!(!lab.layout.run_dir(&id).exists());
    assert!(lab.layout.kept(&id).join("disk.img").exists());
    assert_eq!(lab.ask(&Request::RemoveUser { id: id.clone() }), DONE);
    assert!(user(&name).is_none());
    assert!(subid_line("/etc/subuid", &name).is_none());
    assert!(subid_line("/etc/subgid", &name).is_none());
}

#[test]
fn erasing_leaves_nothing() {
    let mut lab = Lab::start(CLIENT_UID);
    let id = prepared(&mut lab, 512);
    assert_eq!(
        lab.ask(&Request::RemoveStorage {
            id: id.clone(),
            erase: true
        }),
        DONE
    );
    assert!(!lab.layout.server_dir(&id).exists());
    assert!(!lab.layout.kept(&id).exists());
    assert_eq!(lab.ask(&Request::RemoveUser { id }), DONE);
}

#[test]
fn the_engine_socket_is_hearths_and_the_servers_user_only() {
    let mut lab = Lab::start(CLIENT_UID);
    let id = lab.new_id();
    lab.ask(&Request::CreateUser { id: id.clone() });
    lab.ask(&Request::PrepareStorage {
        id: id.clone(),
        disk_mib: 512,
    });
    let uid = user(&id.user()).unwrap().uid.as_raw();
    // The engine (the server's user) makes its socket 0660, as dockerd.
    let socket = lab.layout.socket(&id);
    let listen = "import socket,os,sys,time\n\
         s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1],0o660); s.listen(4)\n\
         print('up', flush=True); time.sleep(30)";
    let mut engine = {
        use std::os::unix::process::CommandExt;
        Command::new("python3")
            .args(["-c", listen, socket.to_str().unwrap()])
            .uid(uid)
            .gid(uid)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(engine.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "up");
    let connect = "import socket,sys\ns=socket.socket(socket.AF_UNIX)\ns.connect(sys.argv[1])\nprint('connected')";
    let path = socket.to_str().unwrap();
    assert_eq!(
        run_as(CLIENT_UID, &["python3", "-c", connect, path]).as_deref(),
        Ok("connected"),
        "hearth's user reaches the engine"
    );
    let other = run_as(OTHER_UID, &["python3", "-c", connect, path]).unwrap_err();
    assert!(other.contains("PermissionError"), "{other}");
    engine.kill().unwrap();
    engine.wait().unwrap();
    lab.ask(&Request::RemoveStorage {
        id: id.clone(),
        erase: true,
    });
    lab.ask(&Request::RemoveUser { id });
}

#[test]
fn only_the_client_user_is_served_and_only_requests_of_the_set() {
    let mut lab = Lab::start(CLIENT_UID);
    let id = lab.new_id();
    let line = serde_json::to_string(&Request::CreateUser { id: id.clone() }).unwrap();
    for uid in [OTHER_UID, 0] {
        let answer = lab.ask_as(uid, &line);
        assert!(answer.contains("refused a connection from uid"), "{answer}");
    }
    assert!(user(&id.user()).is_none(), "a refused request did nothing");
    for bad in [
        r#"{"op":"run","command":"sh"}"#,
        r#"{"op":"create_user","id":"../../etc"}"#,
        r#"{"op":"create_user","id":"root"}"#,
    ] {
        let answer = lab.ask_as(CLIENT_UID, bad);
        assert!(answer.contains("not a request"), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn hearths_client_gets_the_answer_and_the_helpers_own_words() {
    // hearth's client, in this (root) process: a helper serving root.
    let mut lab = Lab::start(0);
    let id = lab.new_id();
    let client = HelperClient::new(&lab.socket);
    let err = client
        .ask(&Request::PrepareStorage {
            id: id.clone(),
            disk_mib: 512,
        })
        .await
        .unwrap_err();
    match err {
        ClientError::Failed { what, error } => {
            assert!(what.contains(id.as_str()), "{what}");
            assert!(error.contains("does not exist"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    client
        .ask(&Request::CreateUser { id: id.clone() })
        .await
        .unwrap();
    client
        .ask(&Request::RemoveUser { id: id.clone() })
        .await
        .unwrap();
    assert!(user(&id.user()).is_none());
    let gone = HelperClient::new(&lab.dir.path().join("nothing.sock"));
    assert!(matches!(
        gone.ask(&Request::RemoveUser { id }).await,
        Err(ClientError::Connect { .. })
    ));
}

/// The console's factory reset erases a real server: its mounted storage,
/// its user and ranges, and hearth's state, leaving a new store with the
/// reset's record (the console stops hearth and the units first).
#[test]
fn the_factory_reset_erases_a_server_and_the_state() {
    let mut lab = Lab::start(CLIENT_UID);
    let id = prepared(&mut lab, 64);
    assert!(mounted(&lab.layout.data(&id)).is_some());
    let state = tempfile::tempdir().unwrap();
    let mut config = hearth::config::Config::defaults(hearth::config::Mode::Dev);
    config.state_dir = state.path().join("state");
    config.runtime_dir = state.path().join("run");
    drop(hearth::store::Store::open(&config.state_dir).unwrap());
    std::fs::create_dir_all(&config.runtime_dir).unwrap();
    std::fs::write(config.runtime_dir.join("setup-code"), "OLD0-CODE-0000\n").unwrap();
    // Only this test's server: other tests' users are in the same passwd.
    let passwd: String = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("hs-") || l.starts_with(&format!("{}:", id.user())))
        .map(|l| format!("{l}\n"))
        .collect();
    let erased = hearth::recovery::factory::erase(
        &config,
        &hearth::servers::helper::host::RealHost,
        &lab.layout,
        &passwd,
        "ttyS0",
    )
    .unwrap();
    assert_eq!(erased.servers, [id.to_string()]);
    assert!(user(&id.user()).is_none(), "the user is gone");
    assert!(subid_line("/etc/subuid", &id.user()).is_none());
    assert!(mounted(&lab.layout.data(&id)).is_none(), "unmounted");
    assert!(!lab.layout.server_dir(&id).exists(), "the storage is gone");
    assert!(!config.runtime_dir.join("setup-code").exists());
    let store = hearth::store::Store::open(&config.state_dir).unwrap();
    let records = store.audit_records(0, 10).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0].action, "console.factory_reset");
    assert_eq!(records[0].source, "ttyS0");
}

/// A file system of `mib` MiB mounted at `at` (made here), unmounted
/// when dropped: the servers' storage on a small disk of its own.
struct SmallDisk {
    at: std::path::PathBuf,
    _image_dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(at: &Path, mib: u64) -> SmallDisk {
        let image_dir = tempfile::tempdir().unwrap();
        let image = image_dir.path().join("host.img");
        std::fs::File::create(&image)
            .unwrap()
            .set_len(mib << 20)
            .unwrap();
        let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
        ok(Command::new("mkfs.ext4")
            .args(["-q", "-m", "0"])
            .arg(&image));
        std::fs::create_dir_all(at).unwrap();
        ok(Command::new("mount")
            .args(["-o", "loop"])
            .arg(&image)
            .arg(at));
        SmallDisk {
            at: at.to_path_buf(),
            _image_dir: image_dir,
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

#[test]
fn a_full_host_leaves_every_servers_disk_writable_and_a_disk_that_does_not_fit_is_refused() {
    // Dropped after the lab (which unmounts the servers' disks first).
    let _disk: SmallDisk;
    let mut lab = Lab::start(CLIENT_UID);
    _disk = SmallDisk::mount(&lab.layout.storage, 1600);
    let mut server = |disk_mib: u32| {
        let id = lab.new_id();
        assert_eq!(lab.ask(&Request::CreateUser { id: id.clone() }), DONE);
        let answer = lab.ask(&Request::PrepareStorage {
            id: id.clone(),
            disk_mib,
        });
        (id, answer)
    };
    let (a, answer) = server(700);
    assert_eq!(answer, DONE);
    let (b, answer) = server(400);
    assert_eq!(answer, DONE);
    // 400 MiB more would leave the box less than it keeps: refused with
    // the sizes, and no image left behind.
    let (c, answer) = server(400);
    assert!(
        answer.contains("a 400 MiB disk does not fit") && answer.contains("MiB free"),
        "{answer}"
    );
    assert!(!lab.layout.image(&c).exists());

    // The host's file system filled to the last block by someone else
    // (here root; on a box, whatever writes to /var).
    let hog = lab.layout.storage.join("hog");
    let filled = Command::new("dd")
        .args(["if=/dev/zero", "bs=1M", "conv=fsync"])
        .arg(format!("of={}", hog.display()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&filled.stderr).contains("No space left"),
        "{filled:?}"
    );
    // Both servers still write all their disks hold, to the disk.
    for (id, mib) in [(&a, 600), (&b, 300)] {
        let uid = user(&id.user()).unwrap().uid.as_raw();
        let file = lab.layout.data(id).join("home/written");
        let wrote = run_as(
            uid,
            &[
                "dd",
                "if=/dev/zero",
                &format!("of={}", file.display()),
                "bs=1M",
                &format!("count={mib}"),
                "conv=fsync",
            ],
        );
        assert!(wrote.is_ok(), "server {id}: {wrote:?}");
        assert_eq!(std::fs::metadata(&file).unwrap().len(), mib << 20);
    }
}
