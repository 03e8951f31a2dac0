#!/bin/bash
# `make image`: builds the image unless the one in OUT_DIR was built from
# exactly the same inputs (the package lock, this folder, the boot configs,
# the hearth binary, the version and SOURCE_DATE_EPOCH). The build is
# reproducible, so reusing it gives the same bytes a rebuild would.
#
# usage: image/make-image.sh OUT_DIR HEARTH_BINARY VERSION
#
# HEARTH_IMAGE_STALE_LOCK says what to do when the mirror no longer serves
# a version image/packages.lock pins (Debian replaces a package's version
# at every point release and security update):
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
        rustc --version
        dpkg-query -W -f '${Package}=${Version}\n' mmdebstrap apt erofs-utils dosfstools mtools fdisk
    } | sha256sum | cut -d' ' -f1
}

up_to_date() {
    [ -f "$out/$name.img" ] && [ -f "$out/$name.img.sha256" ] && [ -f "$out/$name.img.zst" ] &&
        [ "$(cat "$out/.$name.key" 2>/dev/null)" = "$1" ] &&
        (cd "$out" && sha256sum --check --status "$name.img.sha256")
}

lock=$here/packages.lock
key=$(key_for "$lock")
if ! up_to_date "$key" && ! "$here/lock.sh" check "$lock"; then
    case ${HEARTH_IMAGE_STALE_LOCK:-fail} in
    refresh)
        echo "image: WARNING: image/packages.lock is stale (above): building from a fresh resolution of image/packages.list instead; make image-lock refreshes the committed lock" >&2
        lock=$out/packages.lock
        "$here/lock.sh" current "$lock" 2>/dev/null || "$here/lock.sh" resolve "$lock"
        key=$(key_for "$lock")
        ;;
    fail)
        die "image/packages.lock is stale: make image-lock refreshes it (then commit it)"
        ;;
    *) die "HEARTH_IMAGE_STALE_LOCK is '$HEARTH_IMAGE_STALE_LOCK': it must be fail or refresh" ;;
    esac
fi
if up_to_date "$key"; then
    echo "image: $out/$name.img is up to date ($(cut -d' ' -f1 "$out/$name.img.sha256"))"
    exit 0
fi
rm -f "$out/.$name.key"
HEARTH_IMAGE_LOCK=$lock "$here/build.sh" "$out" "$binary" "$version"
echo "$key" >"$out/.$name.key"
