//! The first server on a new machine starts (issue 27, item 7). On a
//! fresh machine the tun device is root's alone (0600) until something
//! opens it to all, as udev's default rule does on a box: a test machine
//! has no udev, and there the first rootless engine failed at
//! `setting up tap tap0: open: Permission denied`, while later ones,
//! after a test had opened it by hand, started. The helper now opens it
//! when it prepares a server; this test puts the device back as a fresh
//! machine has it, then starts a server through hearth.
//!
//! Alone in its file: it changes the machine's device, and the tests of
//! one file run at once.

use hearth_testkit as common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::servers_box::ServersBox;

#[tokio::test(flavor = "multi_thread")]
async fn the_first_server_on_a_machine_whose_tun_device_is_roots_starts() {
    let tun = Path::new("/dev/net/tun");
    assert!(
        tun.exists(),
        "/dev/net/tun is missing: the kernel needs the tun module"
    );
    std::fs::set_permissions(tun, std::fs::Permissions::from_mode(0o600)).unwrap();

    let sb = ServersBox::start();
    let ann = sb.daemon.signed_in("ann", "member").await;
    let (web, _cleanup) = sb.running_server(&ann, "first").await;
    assert_eq!(web["name"], "first");
    let mode = std::fs::metadata(tun).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o666, "as udev's default rule leaves it");
}
