#!/bin/bash
# Resolves image/packages.list against the Debian mirror today and writes
# every package of the resulting system, with its version, to
# image/packages.lock. `make image` installs exactly that set.
set -euo pipefail
cd "$(dirname "$0")"
. ./common.sh
need mmdebstrap mmdebstrap
[ "$(id -u)" -eq 0 ] || die "make image-lock must run as root (mmdebstrap builds a chroot)"
mkdir -p "$DEB_CACHE"

wanted=$(grep -v '^#' packages.list | grep -v '^$' | paste -sd, -)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mapfile -t common <<<"$MMDEBSTRAP_COMMON"
mmdebstrap --quiet --variant=required --include="$wanted" "${common[@]}" \
    --customize-hook="chroot \"\$1\" dpkg-query -W -f '\${Package}=\${Version}\n' > $out" \
    "$SUITE" /dev/null "$MIRRORS"
{
    echo "# Every package of the hearth image, pinned (make image-lock writes this)."
    echo "# Resolved from image/packages.list on $(date -u +%Y-%m-%d)."
    LC_ALL=C sort "$out"
} > packages.lock
echo "image: $(grep -vc '^#' packages.lock) packages pinned in image/packages.lock"
