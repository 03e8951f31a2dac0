#!/bin/bash
# Builds the hearth appliance image: a raw GPT disk with
#   1. hearth-esp     EFI system partition: systemd-boot, and each root
#                     slot's kernel and initramfs (/hearth/a, /hearth/b)
#   2. hearth-root-a  the OS, erofs, read-only: root slot A
#   3. hearth-var     all state; empty in the image, formatted and grown on
#                     first boot (see rootfs/etc/initramfs-tools/scripts/local-bottom)
#   4. hearth-root-b  root slot B, where an update goes: not in the image
#                     (it would add its size of zeros to every flash); the
#                     first boot makes it in front of hearth-var
#
# Beside the image it leaves OUT_DIR/<name>.parts/: the root file system,
# kernel and initramfs that make up an update bundle of this same build
# (see image/bundle.sh).
#
# usage: image/build.sh OUT_DIR HEARTH_BINARY VERSION
# SOURCE_DATE_EPOCH must be set (make image sets it to the last commit's
# time). Every timestamp, UUID and seed comes from it or from the constants
# below, and every package from the package lock (image/packages.lock, or
# the file HEARTH_IMAGE_LOCK names), so two builds of one commit are the
# same bytes. The lock is copied beside the image as OUT_DIR/<name>.lock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/common.sh"

[ $# -eq 3 ] || die "usage: build.sh OUT_DIR HEARTH_BINARY VERSION"
out=$1
binary=$2
version=$3
[ -n "${SOURCE_DATE_EPOCH:-}" ] || die "SOURCE_DATE_EPOCH is not set (make image sets it)"
[ -x "$binary" ] || die "no hearth binary at $binary"
[ "$(id -u)" -eq 0 ] || die "make image must run as root (mmdebstrap builds a chroot)"
for tool in mmdebstrap:mmdebstrap mkfs.erofs:erofs-utils mkfs.vfat:dosfstools \
    mcopy:mtools sfdisk:fdisk zstd:zstd; do
    need "${tool%%:*}" "${tool#*:}"
done
export SOURCE_DATE_EPOCH LC_ALL=C TZ=UTC
# Modes of the files this script creates do not depend on the caller.
umask 022

# Fixed identities: the same in every image, so builds are reproducible.
# None of them is a secret or identifies a machine.
DISK_GUID=6c1d0d1e-8a4f-4b52-9d2e-686561727468
ESP_PARTUUID=6c1d0d1e-8a4f-4b52-9d2e-000000000001
ROOT_PARTUUID=6c1d0d1e-8a4f-4b52-9d2e-000000000002
VAR_PARTUUID=6c1d0d1e-8a4f-4b52-9d2e-000000000003
# Slot B's, given by the first boot (the hearth-var script has it too).
ROOT_B_PARTUUID=6c1d0d1e-8a4f-4b52-9d2e-000000000004
ROOT_FS_UUID=6c1d0d1e-8a4f-4b52-9d2e-0000000000f2
ESP_VOLUME_ID=4845415a
# GPT partition types (the Discoverable Partitions Specification).
TYPE_ESP=C12A7328-F81F-11D2-BA4B-00A0C93EC93B
TYPE_ROOT_X86_64=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709
TYPE_VAR=4D21B016-B534-45C2-A9FB-5C16E091FD2D
# What hearth-var has in the image: "not set up yet". The initramfs sets
# the partition up and only then gives it TYPE_VAR (see
# rootfs/etc/initramfs-tools/scripts/local-bottom/hearth-var).
TYPE_VAR_UNSET=6C1D0D1E-8A4F-4B52-9D2E-5641522D4E45
# Sizes in MiB. The root slots are fixed so that an update can replace the
# OS of the other slot in place; /var starts small and is grown to the
# disk on first boot. The ESP holds two kernel and initramfs sets (about
# 40 MB each today) with room for them to grow.
ESP_MIB=256
ROOT_MIB=1024
VAR_MIB=64

name="hearth-$version-x86_64"
mkdir -p "$out" "$DEB_CACHE"
out=$(cd "$out" && pwd)
work=$(mktemp -d /var/tmp/hearth-image.XXXXXX)
cleanup() {
    # mmdebstrap unmounts what it mounted; a failed run may leave the tree.
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
root=$work/root

step() { echo "image: $*"; }

# --- 1. The OS tree, from the locked package set ----------------------------
lock_file=${HEARTH_IMAGE_LOCK:-$here/packages.lock}
[ -f "$lock_file" ] || die "no package lock at $lock_file"
cp "$lock_file" "$work/lock.used"
grep -v '^#' "$lock_file" | grep -v '^$' >"$work/lock"
[ -s "$work/lock" ] || die "the package lock $lock_file is empty: run make image-lock"
awk -F= '{ printf "Package: %s\nPin: version %s\nPin-Priority: 1001\n\n", $1, $2 }' \
    "$work/lock" >"$work/preferences"
packages=$(cut -d= -f1 "$work/lock" | paste -sd, -)

step "installing $(wc -l <"$work/lock") packages ($lock_file)"
mapfile -t common <<<"$MMDEBSTRAP_COMMON"
# The hooks are shell commands mmdebstrap runs with this environment: the
# paths reach them as variables, so no quoting can break.
export HEARTH_IMAGE_WORK=$work HEARTH_IMAGE_HERE=$here HEARTH_IMAGE_BINARY=$binary HEARTH_IMAGE_VERSION=$version
# shellcheck disable=SC2016 # expanded by the hooks' shell, not this one
mmdebstrap --quiet --variant=custom --include="$packages" "${common[@]}" \
    --setup-hook='mkdir -p "$1"/etc/apt/preferences.d && cp "$HEARTH_IMAGE_WORK"/preferences "$1"/etc/apt/preferences.d/hearth-lock' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}=\${Version}\n" | sort >"$HEARTH_IMAGE_WORK"/installed' \
    --customize-hook='"$HEARTH_IMAGE_HERE"/customize.sh "$1" "$HEARTH_IMAGE_BINARY" "$HEARTH_IMAGE_VERSION"' \
    "$SUITE" "$root" "$MIRRORS"

if ! diff -u "$work/lock" "$work/installed" >"$work/lock.diff"; then
    cat "$work/lock.diff" >&2
    die "the installed packages differ from the lock $lock_file (above); is a pinned version gone from the mirror? make image-lock refreshes the lock"
fi

# --- 1b. The servers' base image, from the same pinned packages -------------
# A root file system tar (for the engines' import), Debian's Essential set
# and apt, every version from the lock: nothing outside it may come in.
step "building the servers' base image ($here/server-base.list)"
base_list=$(grep -v '^#' "$here/server-base.list" | grep -v '^$')
for p in $base_list; do
    grep -q "^$p=" "$work/lock" || die "server-base.list names $p, which the package lock does not pin"
done
# shellcheck disable=SC2016 # expanded by the hooks' shell, not this one
mmdebstrap --quiet --variant=custom --include="$(paste -sd, <<<"$base_list")" "${common[@]}" \
    --setup-hook='mkdir -p "$1"/etc/apt/preferences.d && cp "$HEARTH_IMAGE_WORK"/preferences "$1"/etc/apt/preferences.d/hearth-lock' \
    --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}=\${Version}\n" | sort >"$HEARTH_IMAGE_WORK"/base-installed' \
    --customize-hook='rm -f "$1"/etc/apt/preferences.d/hearth-lock "$1"/etc/machine-id && rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*' \
    --format=tar "$SUITE" "$work/server-base.tar" "$MIRRORS"
outside=$(comm -13 "$work/lock" "$work/base-installed")
[ -z "$outside" ] || die "the servers' base image would hold packages the lock does not pin: $outside"
install -D -m 0644 "$work/server-base.tar" "$root/usr/share/hearth/server-base.tar"

# --- 2. Boot files out, state in /usr/share/factory ---------------------------
step "moving /var to /usr/share/factory/var"
mkdir -p "$work/esp/EFI/BOOT" "$work/esp/EFI/systemd" "$work/esp/loader/entries" "$work/esp/hearth/a"
cp "$root"/boot/vmlinuz-* "$work/esp/hearth/a/vmlinuz"
cp "$root"/boot/initrd.img-* "$work/esp/hearth/a/initrd.img"
rm -f "$root"/boot/initrd.img-*
# Where the initramfs mounts the ESP (the root is read-only: the mount
# point must be in the image).
mkdir -m 0700 "$root/efi"
cp "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$work/esp/EFI/BOOT/BOOTX64.EFI"
cp "$root/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$work/esp/EFI/systemd/systemd-bootx64.efi"
# Boot counting (see src/update/mod.rs, checked in the VM): one glob over
# every entry, named hearth-<generation>-<slot>[+LEFT[-DONE]].conf; the
# highest generation with tries left boots, a failed one sorts last.
cat >"$work/esp/loader/loader.conf" <<EOF
default hearth-*
timeout 0
editor no
console-mode keep
EOF
# loglevel=4: only the kernel's errors (and worse) reach the console, its
# chatter does not; it would tear the console's lines (hearth's banner, the
# setup code) when both write at once. dmesg and the journal keep it all.
# hearth.slot names the slot to hearth; an update's entry for the other
# slot is this line with root= and hearth.slot= replaced.
cat >"$work/esp/loader/entries/hearth-0001-a.conf" <<EOF
title hearth $version
version $version
linux /hearth/a/vmlinuz
initrd /hearth/a/initrd.img
options root=PARTUUID=$ROOT_PARTUUID rootfstype=erofs ro console=tty0 console=ttyS0,115200 loglevel=4 systemd.gpt_auto=0 panic=30 hearth.slot=a
EOF

# Links into /var, made here rather than in customize.sh: mmdebstrap's
# clean-up after the hooks tests /etc/machine-id with -e, which follows an
# absolute link to the build host's own /var.
rm -f "$root/etc/machine-id" "$root/etc/resolv.conf"
ln -s /var/lib/machine-id "$root/etc/machine-id"
ln -s /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"

# What packages left in /var becomes the factory state the first boot
# copies to the new /var; the OS itself keeps an empty mount point.
rm -rf "$root"/var/log/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
mkdir -p "$root/usr/share/factory"
mv "$root/var" "$root/usr/share/factory/var"
mkdir -m 0755 "$root/var"

# Package manifests beside the image and inside it.
{
    echo "# hearth $version ($name.img): every package in the image"
    echo "hearth=$version"
    cat "$work/installed"
    echo "# commit: ${HEARTH_COMMIT:-unknown}"
    # The pins decide, not the comments above them.
    if cmp -s "$work/lock" <(grep -v '^#' "$here/packages.lock" | grep -v '^$'); then
        echo "# packages: as image/packages.lock pins them"
    else
        resolved=$(sed -n 's/^# Resolved/resolved/p' "$work/lock.used" | head -n 1)
        echo "# packages: NOT image/packages.lock but ${resolved:-$lock_file} (beside the image as $name.lock)"
    fi
    echo "# built with: $(rustc --version 2>/dev/null || echo "rustc unknown")"
    echo "# and: $(dpkg-query -W -f '${Package}=${Version} ' mmdebstrap apt erofs-utils dosfstools mtools fdisk)"
} >"$work/manifest"
cp "$work/manifest" "$root/usr/share/hearth-manifest"

# ConditionNeedsUpdate=/etc and /var compare against /usr's time, which is
# SOURCE_DATE_EPOCH like every file here: nothing needs an update.
touch -d "@$SOURCE_DATE_EPOCH" "$root/etc/.updated" "$root/usr/share/factory/var/.updated"

# --- 3. File systems --------------------------------------------------------
step "building the root file system (erofs)"
mkfs.erofs --quiet -zlz4hc -T"$SOURCE_DATE_EPOCH" -U "$ROOT_FS_UUID" "$work/root.erofs" "$root"
root_bytes=$(stat -c %s "$work/root.erofs")
[ "$root_bytes" -le $((ROOT_MIB * 1024 * 1024)) ] ||
    die "the root file system ($((root_bytes >> 20)) MiB) does not fit its $ROOT_MIB MiB slot"

step "building the EFI system partition"
# Files and folders get SOURCE_DATE_EPOCH from mtools; --invariant fixes
# what mkfs.vfat would otherwise take from the clock.
mkfs.vfat -F 32 -n HEARTH-ESP -i "$ESP_VOLUME_ID" --invariant -C "$work/esp.img" $((ESP_MIB * 1024)) >/dev/null
(cd "$work/esp" && find . -mindepth 1 -type d | sort | sed 's|^\./||') | while read -r dir; do
    mmd -i "$work/esp.img" "::/$dir"
done
(cd "$work/esp" && find . -type f | sort | sed 's|^\./||') | while read -r file; do
    mcopy -i "$work/esp.img" "$work/esp/$file" "::/$file"
done

# --- 4. The disk ------------------------------------------------------------
step "assembling the disk"
mib=$((1024 * 1024))
esp_start=1
root_start=$((esp_start + ESP_MIB))
var_start=$((root_start + ROOT_MIB))
# One more MiB at the end for the backup GPT.
total_mib=$((var_start + VAR_MIB + 1))
img="$work/$name.img"
truncate -s $((total_mib * mib)) "$img"
sfdisk --quiet --no-reread --no-tell-kernel "$img" <<EOF
label: gpt
label-id: $DISK_GUID
unit: sectors
first-lba: 2048
sector-size: 512

start=$((esp_start * 2048)), size=$((ESP_MIB * 2048)), type=$TYPE_ESP, uuid=$ESP_PARTUUID, name="hearth-esp"
start=$((root_start * 2048)), size=$((ROOT_MIB * 2048)), type=$TYPE_ROOT_X86_64, uuid=$ROOT_PARTUUID, name="hearth-root-a"
start=$((var_start * 2048)), size=$((VAR_MIB * 2048)), type=$TYPE_VAR_UNSET, uuid=$VAR_PARTUUID, name="hearth-var"
EOF
dd if="$work/esp.img" of="$img" bs=1M seek=$esp_start conv=notrunc,sparse status=none
dd if="$work/root.erofs" of="$img" bs=1M seek=$root_start conv=notrunc,sparse status=none

# --- 5. Out ----------------------------------------------------------------
rm -rf "$out/$name".*
mv "$img" "$out/$name.img"
cp "$work/manifest" "$out/$name.manifest"
cp "$work/lock.used" "$out/$name.lock"
# What an update bundle of this build is made of (image/bundle.sh).
mkdir "$out/$name.parts"
mv "$work/root.erofs" "$out/$name.parts/root.erofs"
cp "$work/esp/hearth/a/vmlinuz" "$out/$name.parts/vmlinuz"
cp "$work/esp/hearth/a/initrd.img" "$out/$name.parts/initrd.img"
(cd "$out" && sha256sum "$name.img" >"$name.img.sha256")
if [ -z "${HEARTH_IMAGE_NO_ZSTD:-}" ]; then
    # The file to publish: zstdcat hearth-...img.zst | dd of=/dev/sdX
    zstd --quiet --force -T0 -12 "$out/$name.img" -o "$out/$name.img.zst"
    step "zstd-compressed: $(du -m --apparent-size "$out/$name.img.zst" | cut -f1) MiB"
fi
step "built $out/$name.img ($(du -m --apparent-size "$out/$name.img" | cut -f1) MiB raw, $(du -m "$out/$name.img" | cut -f1) MiB used)"
step "sha256 $(cut -d' ' -f1 "$out/$name.img.sha256")"
