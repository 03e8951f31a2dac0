#!/bin/bash
# `make image`: builds the image unless the one in OUT_DIR was built from
# exactly the same inputs (the package lock, this folder, the boot configs,
# the hearth binary, the version and SOURCE_DATE_EPOCH). The build is
# reproducible, so reusing it gives the same bytes a rebuild would.
#
# usage: image/make-image.sh OUT_DIR HEARTH_BINARY VERSION
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
out=$1
binary=$2
version=$3
name="hearth-$version-x86_64"

key=$(
    {
        echo "version=$version epoch=${SOURCE_DATE_EPOCH:-} commit=${HEARTH_COMMIT:-}"
        cd "$top"
        find image systemd nftables caddy README.md -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        sha256sum <"$binary"
        rustc --version
        dpkg-query -W -f '${Package}=${Version}\n' mmdebstrap apt erofs-utils dosfstools mtools fdisk
    } | sha256sum | cut -d' ' -f1
)
if [ -f "$out/$name.img" ] && [ -f "$out/$name.img.sha256" ] && [ -f "$out/$name.img.zst" ] &&
    [ "$(cat "$out/.$name.key" 2>/dev/null)" = "$key" ] &&
    (cd "$out" && sha256sum --check --status "$name.img.sha256"); then
    echo "image: $out/$name.img is up to date ($(cut -d' ' -f1 "$out/$name.img.sha256"))"
    exit 0
fi
rm -f "$out/.$name.key"
"$here/build.sh" "$out" "$binary" "$version"
echo "$key" >"$out/.$name.key"
