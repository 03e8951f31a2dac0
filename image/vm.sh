#!/bin/bash
# `make vm`: boots the image in qemu for a person to try the appliance.
# UEFI through OVMF, TCG (nested KVM does not work here), the serial
# port on this terminal (Ctrl-A X quits; once booted, the recovery
# console runs there), hearth's interface (the guest's 8443) on
# https://127.0.0.1:PORT and Caddy (the guest's 443, the members'
# domains) on 127.0.0.1:CADDY_PORT. The VM's disk
# (build/vm/disk.img, 8 GiB) keeps its state between runs; it starts again
# from the image when the image is newer, or after `rm -r build/vm`.
#
# usage: image/vm.sh IMAGE PORT CADDY_PORT
set -euo pipefail
image=$1
port=$2
caddy_port=$3
dir=$(dirname "$image")/vm
code=/usr/share/OVMF/OVMF_CODE_4M.fd
[ -f "$code" ] || { echo "vm: $code is missing: apt-get install ovmf" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "vm: apt-get install qemu-system-x86" >&2; exit 1; }
mkdir -p "$dir"
if [ ! -f "$dir/disk.img" ] || [ "$image" -nt "$dir/disk.img" ]; then
    echo "vm: a fresh disk from $image"
    cp --sparse=always "$image" "$dir/disk.img"
    truncate -s 8G "$dir/disk.img"
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$dir/OVMF_VARS.fd"
fi
echo "vm: hearth will answer on https://127.0.0.1:$port (the recovery console below shows the setup code and the menu); Caddy's 443 is on 127.0.0.1:$caddy_port"
exec qemu-system-x86_64 -machine q35 -accel tcg -cpu max -smp 2 -m 2048 \
    -no-user-config -display none \
    -drive if=pflash,format=raw,readonly=on,file="$code" \
    -drive if=pflash,format=raw,file="$dir/OVMF_VARS.fd" \
    -drive if=virtio,format=raw,file="$dir/disk.img" \
    -netdev user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:"$port"-:8443,hostfwd=tcp:127.0.0.1:"$caddy_port"-:443 \
    -device virtio-net-pci,netdev=net0 \
    -device i6300esb -action watchdog=reset \
    -serial mon:stdio
