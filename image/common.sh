# Shared by build.sh and lock.sh: where packages come from, what is left
# out of the image, and the package cache. Sourced, not run.

# Debian 12 from the Debian mirror; security updates are part of the set.
SUITE=bookworm
MIRRORS="deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main"
# What the mirror's indexes are signed with.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Downloaded .deb files are kept here between builds. apt checks every one
# against the signed indexes before it is used, so a stale or damaged file
# is fetched again, never installed.
DEB_CACHE=${HEARTH_DEB_CACHE:-/var/cache/hearth-image/debs}

# Documentation, manuals and translations are not shipped (copyright files
# are); nor is anything else the appliance never reads.
MMDEBSTRAP_COMMON="--architectures=amd64
--aptopt=APT::Install-Recommends \"false\"
--aptopt=Acquire::Languages \"none\"
--dpkgopt=path-exclude=/usr/share/man/*
--dpkgopt=path-exclude=/usr/share/info/*
--dpkgopt=path-exclude=/usr/share/doc/*
--dpkgopt=path-include=/usr/share/doc/*/copyright
--dpkgopt=path-exclude=/usr/share/locale/*
--dpkgopt=path-include=/usr/share/locale/locale.alias
--dpkgopt=path-exclude=/usr/share/lintian/*
--skip=essential/unlink
--setup-hook=mkdir -p \"\$1\"/var/cache/apt/archives
--setup-hook=sync-in $DEB_CACHE /var/cache/apt/archives/
--customize-hook=sync-out /var/cache/apt/archives $DEB_CACHE"

die() {
    echo "image: $*" >&2
    exit 1
}

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing: apt-get install $2 (make image-deps installs everything)"
}
