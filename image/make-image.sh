#!/bin/bash
# `make image`: builds the image unless the one in OUT_DIR was built from
# exactly the same inputs (the package lock, this folder, the boot configs,
# the hearth binary, the version and SOURCE_DATE_EPOCH). The build is
# reproducible, so reusing it gives the same bytes a rebuild would.
#
# usage: image/make-image.sh OUT_DIR HEARTH_BINARY VERSION
#
# HEARTH_IMAGE_STALE_LOCK says what to do when image/packages.lock cannot be
# built from: the mirror no longer serves a version it pins (Debian replaces
# a package's version at every point release and security update), or
# image/packages.list changed since it was resolved:
#   fail     (the default) stop and say which: a release is built from the
#            committed lock or not at all
#   refresh  resolve image/packages.list again into OUT_DIR/packages.lock
#            and build from that, saying so loudly (make test does this, so
#            that the image tests do not break whenever Debian publishes an
#            update); the image's manifest and .lock name what it holds
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/common.sh"
out=$1
binary=$2
version=$3
name="hearth-$version-x86_64"
mkdir -p "$out"

# The cache key: everything the image is built from.
key_for() {
    {
        echo "version=$version epoch=${SOURCE_DATE_EPOCH:-} commit=${HEARTH_COMMIT:-}"
        sha256sum <"$1"
        cd "$top"
        find image systemd nftables caddy README.md -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        sha256sum <"$binary"
        sha256sum <"${HEARTH_UPDATE_KEY:-$here/keys/hearth-TEST-ONLY.pub}"
        rustc --version
        dpkg-query -W -f '${Package}=${Version}\n' mmdebstrap apt erofs-utils dosfstools mtools fdisk
    } | sha256sum | cut -d' ' -f1
}

up_to_date() {
    local file
    for file in img img.sha256 img.zst manifest lock; do
        [ -f "$out/$name.$file" ] || return 1
    done
    for file in root.erofs vmlinuz initrd.img; do
        [ -f "$out/$name.parts/$file" ] || return 1
    done
    [ "$(cat "$out/.$name.key" 2>/dev/null)" = "$1" ] &&
        (cd "$out" && sha256sum --check --status "$name.img.sha256")
}

# Whether the committed lock can be built from: resolved from packages.list
# as it is now, and every pinned version still on the mirror.
committed_lock_usable() {
    local rc=0
    "$here/lock.sh" listed "$lock" || rc=$?
    [ "$rc" -eq 0 ] && { "$here/lock.sh" check "$lock" || rc=$?; }
    case $rc in
    0) return 0 ;;
    1) return 1 ;;
    *) die "could not tell whether image/packages.lock can be built from (above)" ;;
    esac
}

mode=${HEARTH_IMAGE_STALE_LOCK:-fail}
case $mode in
fail | refresh) ;;
*) die "HEARTH_IMAGE_STALE_LOCK is '$mode': it must be fail or refresh" ;;
esac

lock=$here/packages.lock
key=$(key_for "$lock")
# A release build reuses its image without asking the mirror: the image was
# built from this very lock. In refresh mode the mirror is always asked, so
# that the .lock beside a reused image can still be rebuilt from (the
# reproducibility test does that).
if [ "$mode" = refresh ] || ! up_to_date "$key"; then
    if ! committed_lock_usable; then
        case $mode in
        refresh)
            echo "image: WARNING: image/packages.lock cannot be built from (above): building from a fresh resolution of image/packages.list instead; make image-lock refreshes the committed lock" >&2
            lock=$out/packages.lock
            rc=0
            "$here/lock.sh" current "$lock" || rc=$?
            case $rc in
            0) echo "image: reusing $lock, resolved earlier and still served" ;;
            1) "$here/lock.sh" resolve "$lock" ;;
            *) die "could not check $lock against the mirror" ;;
            esac
            key=$(key_for "$lock")
            ;;
        fail) die "image/packages.lock cannot be built from: make image-lock refreshes it (then commit it)" ;;
        esac
    fi
fi
if up_to_date "$key"; then
    echo "image: $out/$name.img is up to date ($(cut -d' ' -f1 "$out/$name.img.sha256"))"
    exit 0
fi
rm -f "$out/.$name.key"
HEARTH_IMAGE_LOCK=$lock "$here/build.sh" "$out" "$binary" "$version"
echo "$key" >"$out/.$name.key"
