#!/bin/bash
# The image's package lock.
#
#   lock.sh                resolve image/packages.list against the mirror
#                          today into image/packages.lock (make image-lock)
#   lock.sh resolve OUT    the same, into OUT
#   lock.sh current LOCK   exit 0 if LOCK was resolved from packages.list as
#                          it is now and the mirror serves all of it
#   lock.sh check LOCK     exit 0 if the mirror still serves every pinned
#                          version in LOCK; else name the ones it no longer
#                          has and exit 1
#   lock.sh listed LOCK    exit 0 if LOCK was resolved from packages.list as
#                          it is now; else say so and exit 1
#
# Exit status: 0 yes, 1 no (stale), 2 could not tell (the mirror did not
# answer, bad usage, a missing tool).
#
# The Debian mirror keeps only the current version of a package in each
# suite: after a point release or a security update, a lock pinning the old
# version can no longer be installed from it. `check` tells that in seconds,
# before a build would spend minutes finding out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Could not tell: exit 2, apart from 1 (stale).
fail() {
    echo "image: $*" >&2
    exit 2
}

list_sha256() {
    sha256sum <"$here/packages.list" | cut -d' ' -f1
}

# Whether LOCK was resolved from packages.list as it is now.
from_current_list() {
    [ -f "$1" ] && grep -qx "# packages.list sha256: $(list_sha256)" "$1"
}

listed() {
    local lock=$1
    [ -s "$lock" ] || fail "no package lock at $lock"
    from_current_list "$lock" && return 0
    echo "image: $lock was not resolved from image/packages.list as it is now" >&2
    return 1
}

resolve() {
    local lock=$1 out=$tmp/installed wanted
    need mmdebstrap mmdebstrap
    [ "$(id -u)" -eq 0 ] || die "resolving the package lock must run as root (mmdebstrap builds a chroot)"
    mkdir -p "$DEB_CACHE"
    wanted=$(grep -v '^#' "$here/packages.list" | grep -v '^$' | paste -sd, -)
    mapfile -t common <<<"$MMDEBSTRAP_COMMON"
    HEARTH_LOCK_OUT=$out mmdebstrap --quiet --variant=required --include="$wanted" "${common[@]}" \
        --customize-hook='chroot "$1" dpkg-query -W -f "\${Package}=\${Version}\n" >"$HEARTH_LOCK_OUT"' \
        "$SUITE" /dev/null "$MIRRORS"
    {
        echo "# Every package of the hearth image, pinned (by image/lock.sh; make image-lock refreshes image/packages.lock)."
        echo "# Resolved from image/packages.list on $(date -u +%Y-%m-%d)."
        echo "# packages.list sha256: $(list_sha256)"
        LC_ALL=C sort "$out"
    } >"$lock.tmp"
    # Only a complete resolution replaces the lock.
    mv "$lock.tmp" "$lock"
    echo "image: $(grep -vc '^#' "$lock") packages pinned in $lock"
}

check() {
    local lock=$1 apt_root=$tmp/apt pinned served missing package version now
    [ -s "$lock" ] || fail "no package lock at $lock"
    [ -f "$KEYRING" ] || fail "$KEYRING is missing: apt-get install debian-archive-keyring"
    # A private apt: the mirror's signed indexes, nothing from the host's
    # own configuration or sources.
    mkdir -p "$apt_root"/etc/apt/apt.conf.d "$apt_root"/etc/apt/preferences.d \
        "$apt_root"/etc/apt/sources.list.d "$apt_root"/var/lib/apt/lists/partial \
        "$apt_root"/var/cache/apt/archives/partial "$apt_root"/var/lib/dpkg
    touch "$apt_root/var/lib/dpkg/status"
    sed "s|^deb |deb [signed-by=$KEYRING] |" <<<"$MIRRORS" >"$apt_root/etc/apt/sources.list"
    local opts=(-o "Dir=$apt_root" -o "Dir::State::status=$apt_root/var/lib/dpkg/status"
        -o APT::Architecture=amd64 -o APT::Architectures=amd64 -o Acquire::Languages=none
        -o APT::Sandbox::User=root)
    # Dir in the file APT_CONFIG names is read before the host's
    # apt.conf.d, so none of the host's settings or hooks apply.
    echo "Dir \"$apt_root/\";" >"$tmp/apt.conf"
    # --error-on=any: a failed fetch is an error, not a silently older index.
    APT_CONFIG=$tmp/apt.conf apt-get -qq --error-on=any "${opts[@]}" update >/dev/null ||
        fail "could not read the package indexes from the mirror"
    pinned=$(grep -v '^#' "$lock" | grep -v '^$' | LC_ALL=C sort)
    # apt-cache madison prints "package | version | where" per version.
    served=$(APT_CONFIG=$tmp/apt.conf apt-cache "${opts[@]}" madison $(cut -d= -f1 <<<"$pinned") |
        awk -F' *[|] *' '{ gsub(/^ +/, "", $1); print $1 "=" $2 }' | LC_ALL=C sort -u)
    missing=$(LC_ALL=C comm -23 <(echo "$pinned") <(echo "$served"))
    if [ -n "$missing" ]; then
        echo "image: the mirror no longer serves these pinned versions of $lock:" >&2
        while IFS== read -r package version; do
            now=$(awk -F= -v p="$package" '$1 == p { print $2 }' <<<"$served" | paste -sd' ' -)
            echo "image:   $package=$version (the mirror has: ${now:-nothing})" >&2
        done <<<"$missing"
        return 1
    fi
    echo "image: the mirror serves every version pinned in $lock"
}

usage="usage: lock.sh [resolve OUT | check LOCK | current LOCK | listed LOCK]"
case "$#:${1:-}" in
0:) resolve "$here/packages.lock" ;;
2:resolve) resolve "$2" ;;
2:check) check "$2" ;;
2:listed) listed "$2" ;;
2:current) from_current_list "$2" && check "$2" ;;
*) fail "$usage" ;;
esac
