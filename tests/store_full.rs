//! The state store on a full file system (issue 28, item 2): a write
//! that finds no space answers 507 saying so, the health report turns the
//! store degraded with the cause, the log keeps the cause, and writes
//! work again once space is freed, without a restart and without losing
//! what was saved before.
//!
//! The state folder is a small tmpfs the test mounts (it runs as root, as
//! `make test` does), filled up by a file the test then removes.

use hearth_testkit as common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Daemon, Options, require};
use common::{eventually, when};

/// A tmpfs mounted for the test, unmounted when dropped.
struct SmallFs {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SmallFs {
    fn mount(size: &str) -> SmallFs {
        assert!(
            nix::unistd::geteuid().is_root(),
            "this test mounts a small file system: run it as root (make test does)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state");
        std::fs::create_dir(&path).unwrap();
        let status = Command::new(require("mount", "mount"))
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700")])
            .arg("tmpfs")
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "mount a tmpfs on {}", path.display());
        SmallFs { _dir: dir, path }
    }

    /// Fills the file system with `filler` until it is full.
    fn fill(&self, filler: &Path) {
        let mut f = std::fs::File::create(filler).unwrap();
        let chunk = vec![0xa5u8; 64 * 1024];
        loop {
            if let Err(e) = f.write_all(&chunk) {
                assert_eq!(e.raw_os_error(), Some(nix::libc::ENOSPC), "{e}");
                break;
            }
        }
        // The last partial chunk too, byte by byte is too slow: 4 KiB.
        while f.write_all(&chunk[..4096]).is_ok() {}
        let _ = f.sync_all();
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

#[tokio::test]
async fn a_full_disk_answers_507_turns_the_store_degraded_and_writes_resume_once_space_is_freed() {
    let fs = SmallFs::mount("16m");
    let mut d = Daemon::start(Options {
        state_dir: Some(fs.path.clone()),
        ..Options::default()
    });
    let c = d.admin_client();
    let create = |n: usize| {
        let c = &c;
        async move {
            let body = format!("{{\"name\":\"token {n:05}\"}}");
            c.call("POST", "/api/v1/tokens", &body).await
        }
    };
    let r = create(0).await;
    assert_eq!(r.status, 201, "{:?}", r.body);

    let filler = fs.path.join("filler");
    fs.fill(&filler);

    // Writes until the store needs space it cannot have (redb has some
    // room inside its file: the first few may still fit).
    let mut saved = vec![0usize];
    let mut refused = None;
    for n in 1..5000 {
        let r = create(n).await;
        match r.status {
            201 => saved.push(n),
            _ => {
                refused = Some(r);
                break;
            }
        }
    }
    let refused = refused.expect("a write on a full disk is refused");
    assert_eq!(refused.status, 507, "{:?}", refused.body);
    let v = refused.json();
    assert_eq!(v["error"]["code"], "insufficient_storage", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("storage is full"),
        "{v}"
    );

    // The health report says so, with the cause, within a probe period.
    eventually(
        Duration::from_secs(30),
        "the store degraded on a full disk",
        async || {
            let v = d.client().get("/api/v1/health").await.json();
            when(v, |v| v["components"]["store"]["state"] == "degraded")
        },
    )
    .await;
    // Its cause, in the log (the health report names only the failed
    // step to anyone; the admins' event topic and the log carry why).
    let log = d.stderr();
    assert!(
        log.contains("the file system of state store") && log.contains("is full"),
        "{log}"
    );

    // A second write on the still-full disk is refused the same way.
    assert_eq!(create(9000).await.status, 507);

    // The log has the cause (the kernel's words), not only "cannot write".
    let log = d.stderr();
    assert!(log.contains("No space left on device"), "{log}");

    // Space back: the next write works, no restart.
    std::fs::remove_file(&filler).unwrap();
    let r = create(9001).await;
    assert_eq!(
        r.status, 201,
        "writes resume once there is space: {:?}",
        r.body
    );
    eventually(Duration::from_secs(30), "the store ok again", async || {
        let v = d.client().get("/api/v1/health").await.json();
        when(v, |v| v["components"]["store"]["state"] == "ok")
    })
    .await;

    // Nothing saved before was lost.
    let list = c.call("GET", "/api/v1/tokens", "").await.json();
    let names = common::texts(&list, "name");
    for n in saved.iter().chain([&9001]) {
        let name = format!("token {n:05}");
        assert!(names.contains(&name.as_str()), "{name} lost");
    }
    assert!(
        !names.contains(&"token 09000"),
        "a refused write left a token"
    );
    d.stop();
}
