#!/bin/bash
# Turns the freshly installed Debian tree into the hearth appliance: hearth
# and its boot configs, the units it needs enabled, a read-only-friendly
# /etc, and an initramfs that prepares /var. Run by build.sh as an
# mmdebstrap customize hook (the tree's /proc, /sys and /dev are mounted).
#
# usage: customize.sh ROOT HEARTH_BINARY VERSION
set -euo pipefail
root=$1
binary=$2
version=$3
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

install_file() { # MODE SOURCE DEST
    install -D -m "$1" "$2" "$root$3"
}

# The files of this repository that make up the appliance, with standard
# modes whatever the checkout's umask was (folders 0755, files 0644, or
# 0755 where the repository marks them executable).
overlay=$(mktemp -d)
cp -r "$here/rootfs/." "$overlay/"
find "$overlay" -type d -exec chmod 0755 {} +
find "$overlay" -type f -perm /111 -exec chmod 0755 {} +
find "$overlay" -type f ! -perm /111 -exec chmod 0644 {} +
cp -r --preserve=mode "$overlay/." "$root/"
rm -rf "$overlay"
install_file 0755 "$binary" /usr/bin/hearth
install_file 0644 "$top/systemd/hearth.service" /usr/lib/systemd/system/hearth.service
install_file 0644 "$top/systemd/hearth-console@.service" /usr/lib/systemd/system/hearth-console@.service
install_file 0644 "$top/systemd/hearth-console@ttyS0.service.d/serial-port.conf" /usr/lib/systemd/system/hearth-console@ttyS0.service.d/serial-port.conf
install_file 0644 "$top/systemd/hearth-helper.service" /usr/lib/systemd/system/hearth-helper.service
install_file 0644 "$top/systemd/hearth-server@.service" /usr/lib/systemd/system/hearth-server@.service
install_file 0644 "$top/systemd/hearth-update-helper.service" /usr/lib/systemd/system/hearth-update-helper.service
install_file 0644 "$top/systemd/hearth-boot-check.service" /usr/lib/systemd/system/hearth-boot-check.service
install_file 0644 "$top/systemd/hearth-end-try.service" /usr/lib/systemd/system/hearth-end-try.service
install_file 0644 "$top/systemd/sysusers.d/hearth.conf" /usr/lib/sysusers.d/hearth.conf
install_file 0644 "$top/systemd/tmpfiles.d/hearth.conf" /usr/lib/tmpfiles.d/hearth.conf
install_file 0644 "$top/README.md" /usr/share/doc/hearth/README.md
install_file 0755 "$top/nftables/hearth-base.nft" /etc/nftables.conf
install_file 0644 "$top/caddy/Caddyfile" /etc/caddy/Caddyfile
install_file 0644 "$top/caddy/caddy.service.d/hearth.conf" /etc/systemd/system/caddy.service.d/hearth.conf
install_file 0644 "$top/nftables/nftables.service.d/hearth.conf" /etc/systemd/system/nftables.service.d/hearth.conf
install_file 0644 "$top/systemd/polkit-1/rules.d/50-hearth.rules" /etc/polkit-1/rules.d/50-hearth.rules
install -d -m 0755 "$root/usr/lib/hearth"
echo "$version" >"$root/usr/lib/hearth/version"
# The key updates must be signed with (see src/update/keys.rs).
install_file 0644 "${HEARTH_UPDATE_KEY:-$here/keys/hearth-TEST-ONLY.pub}" /usr/lib/hearth/update-keys/hearth.pub

chroot "$root" systemd-sysusers
chroot "$root" systemd-tmpfiles --create /usr/lib/tmpfiles.d/hearth.conf

# /tmp is a tmpfs: the OS partition is read-only.
cp "$root/usr/share/systemd/tmp.mount" "$root/etc/systemd/system/tmp.mount"
systemctl --root="$root" enable --quiet tmp.mount hearth.service hearth-helper.service \
    systemd-networkd.service systemd-resolved.service nftables.service
# Judging a trial boot of a new root slot (see the units).
systemctl --root="$root" enable --quiet hearth-boot-check.service hearth-end-try.service \
    hearth-update-helper.service
# The recovery console on the screen and on the serial port, in place of
# the login prompts there (there is no password to log in with anyway):
# nothing else may read the keys typed at it. autovt@tty1 is the prompt
# logind would start on tty1 while the console is between two runs.
systemctl --root="$root" enable --quiet hearth-console@tty1.service hearth-console@ttyS0.service
systemctl --root="$root" mask --quiet getty@tty1.service autovt@tty1.service serial-getty@ttyS0.service
# Nothing on an appliance may wait for someone to type at the console on
# first boot, nor update packages on a read-only OS.
systemctl --root="$root" mask --quiet systemd-firstboot.service apt-daily.timer \
    apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service

# Machine-specific files live on /var and are made at first boot (the
# initramfs writes the machine-id; hearth its key and setup code).
# (build.sh links /etc/machine-id and /etc/resolv.conf once mmdebstrap is
# done.)
rm -f "$root/var/lib/dbus/machine-id"
# dockerd writes its key to /etc/docker; that folder lives on /var.
mkdir -p "$root/var/lib/docker-etc"
rm -rf "$root/etc/docker"
ln -s /var/lib/docker-etc "$root/etc/docker"

# What the kernel may load by itself: not what a member's server asks for
# (before the initramfs, which carries /etc/modprobe.d too).
"$here/module-policy.sh" "$root"

# The initramfs, with the hook and script from rootfs/ (mkinitramfs takes
# its timestamps from SOURCE_DATE_EPOCH).
chroot "$root" update-initramfs -u -k all >/dev/null
