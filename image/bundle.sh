#!/bin/bash
# Builds an update bundle from the parts of an image build (build.sh leaves
# them in OUT_DIR/<name>.parts/): an uncompressed tar holding, in this
# order,
#   manifest.json          version, commit, min_version, created, and each
#                          part's size and SHA-256 (src/update/manifest.rs)
#   manifest.json.minisig  its minisign signature, trusted comment
#                          "hearth VERSION COMMIT"
#   root.erofs vmlinuz initrd.img
# and beside it BUNDLE.minisig, a signature of the whole file, so that a
# person can check it: minisign -V -p KEY.pub -m BUNDLE
#
# usage: image/bundle.sh PARTS_DIR VERSION MIN_VERSION BUNDLE
#
# HEARTH_SIGNING_KEY   the minisign secret key to sign with (a path). The
#                      repository's test key is refused, and so is no key,
#                      unless HEARTH_ALLOW_TEST_KEY=1: then the test key
#                      signs (the tests' bundles, for an image built to
#                      trust it).
# HEARTH_NEXT_PUBLIC_KEY  optional: a .pub file whose key later bundles may
#                      be signed with (key rotation), carried in the signed
#                      manifest.
# SOURCE_DATE_EPOCH, HEARTH_COMMIT  as for build.sh: the same inputs give
#                      the same bytes (minisign's Ed25519 is deterministic
#                      and the comments are fixed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

[ $# -eq 4 ] || die "usage: bundle.sh PARTS_DIR VERSION MIN_VERSION BUNDLE"
parts=$1
version=$2
min_version=$3
bundle=$4
[ -n "${SOURCE_DATE_EPOCH:-}" ] || die "SOURCE_DATE_EPOCH is not set (make bundle sets it)"
[ -n "${HEARTH_COMMIT:-}" ] || die "HEARTH_COMMIT is not set (make bundle sets it)"
need minisign minisign
need tar tar
for part in root.erofs vmlinuz initrd.img; do
    [ -f "$parts/$part" ] || die "no $part in $parts: make image builds the parts"
done

test_key=$here/keys/hearth-TEST-ONLY.key
key=${HEARTH_SIGNING_KEY:-}
if [ -z "$key" ] || cmp -s "$key" "$test_key"; then
    [ "${HEARTH_ALLOW_TEST_KEY:-}" = 1 ] ||
        die "no signing key: set HEARTH_SIGNING_KEY to your minisign secret key (the repository's test key signs only with HEARTH_ALLOW_TEST_KEY=1, for test images)"
    key=$test_key
    echo "bundle: signing with the TEST key ($test_key): only a test image trusts it" >&2
fi
[ -r "$key" ] || die "cannot read the signing key $key"

next=null
if [ -n "${HEARTH_NEXT_PUBLIC_KEY:-}" ]; then
    next_line=$(sed -n 2p "$HEARTH_NEXT_PUBLIC_KEY")
    [ -n "$next_line" ] || die "$HEARTH_NEXT_PUBLIC_KEY is not a minisign public key file"
    next="\"$next_line\""
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
part_json() { # NAME FILE
    printf '    { "name": "%s", "size": %s, "sha256": "%s" }' "$1" \
        "$(stat -c %s "$2")" "$(sha256sum <"$2" | cut -d' ' -f1)"
}
{
    printf '{\n  "format": 1,\n  "version": "%s",\n  "commit": "%s",\n' "$version" "$HEARTH_COMMIT"
    printf '  "min_version": "%s",\n  "created": %s,\n' "$min_version" "$SOURCE_DATE_EPOCH"
    [ "$next" = null ] || printf '  "next_public_key": %s,\n' "$next"
    printf '  "parts": [\n'
    part_json root "$parts/root.erofs"
    printf ',\n'
    part_json kernel "$parts/vmlinuz"
    printf ',\n'
    part_json initrd "$parts/initrd.img"
    printf '\n  ]\n}\n'
} >"$work/manifest.json"
sign() { # FILE SIGNATURE TRUSTED_COMMENT
    minisign -S -s "$key" -m "$1" -x "$2" -t "$3" -c "hearth update bundle" </dev/null >/dev/null ||
        die "minisign could not sign $1 with $key"
}
sign "$work/manifest.json" "$work/manifest.json.minisig" "hearth $version $HEARTH_COMMIT"
for part in root.erofs vmlinuz initrd.img; do
    ln -s "$(cd "$parts" && pwd)/$part" "$work/$part"
done
# The members in the order the box reads them, with fixed owners, modes
# and times: the same parts give the same bytes.
tar --create --file="$bundle.tmp" --format=gnu --dereference --directory="$work" \
    --owner=0 --group=0 --numeric-owner --mode=0644 --mtime="@$SOURCE_DATE_EPOCH" \
    manifest.json manifest.json.minisig root.erofs vmlinuz initrd.img
sign "$bundle.tmp" "$bundle.minisig.tmp" "hearth $version $HEARTH_COMMIT bundle"
mv "$bundle.tmp" "$bundle"
mv "$bundle.minisig.tmp" "$bundle.minisig"
echo "bundle: $bundle ($(du -m --apparent-size "$bundle" | cut -f1) MiB), hearth $version over $min_version or newer"
