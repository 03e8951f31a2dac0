#!/bin/bash
# Writes the image's kernel module policy, /etc/modprobe.d/hearth-servers.conf:
# which modules the kernel may load by itself when a process asks for
# something it lacks (issue 27).
#
# Why: root in a `--privileged` container of a member's server is root of
# a user namespace, and that is enough for the kernel to load a module on
# its behalf: `ip link add x type dummy` asks for "rtnl-link-dummy",
# `mount -t hfs` for "fs-hfs", a socket of an odd family for "net-pf-N",
# a line discipline for "tty-ldisc-N", `tc qdisc add ... qfq` for
# "sch_qfq". Each module loaded that way is kernel code no box needs,
# reachable by every member; most kernel privilege escalations of recent
# years went through one (n_gsm, cls_route, sch_qfq, nft in user
# namespaces...).
#
# The policy: every module behind those five requests is refused, but the
# few the box and the Docker engines in its servers use (MODULES_ALLOWED
# below). Refused by alias (`blacklist`): the kernel asks by alias for the
# first four, so root can still `modprobe` such a module by name. Refused
# by name (`install M /bin/false`) for traffic control, which the kernel
# asks for by module name. Not restricted: netfilter (nft_*, xt_*, nf_*),
# which hearth's firewall and every engine's iptables need and whose set
# depends on the rules a member writes; block devices and hardware, which
# a user namespace cannot reach.
#
# The figures (modules refused of each class) go to the build's output.
#
# usage: module-policy.sh ROOT
set -euo pipefail
root=$1

# What the box and the engines in its servers load this way:
#   bridge, veth          a Docker network in a server (docker0, each
#                         container's link)
#   ext4, erofs, vfat,    the box's own file systems (/var, /, the EFI
#   msdos                 system partition)
#   overlay, fuse         a server's image layers (overlay2, or
#                         fuse-overlayfs where overlay is refused)
#   autofs4, configfs,    what systemd mounts at boot
#   efivarfs, binfmt_misc
#   nfnetlink             nftables: hearth's firewall, the engines'
#                         iptables-nft
#   sch_fq_codel          the default queueing discipline (systemd's
#                         net.core.default_qdisc)
MODULES_ALLOWED="bridge veth ext4 erofs vfat msdos overlay fuse autofs4 configfs efivarfs binfmt_misc nfnetlink sch_fq_codel"

kernels=("$root"/lib/modules/*/modules.alias)
[ -e "${kernels[0]}" ] || {
    echo "module-policy: no modules.alias under $root/lib/modules" >&2
    exit 1
}
[ "${#kernels[@]}" -eq 1 ] || {
    echo "module-policy: more than one kernel in the image: ${kernels[*]}" >&2
    exit 1
}
modules_dir=$(dirname "${kernels[0]}")

allowed() {
    case " $MODULES_ALLOWED " in *" $1 "*) return 0 ;; esac
    return 1
}

# The modules behind the aliases of CLASS (a prefix), sorted, unique.
by_alias() {
    awk -v prefix="$1" 'index($2, prefix) == 1 { print $3 }' "$modules_dir/modules.alias" | sort -u
}

# The traffic control modules (qdiscs, classifiers, actions, ematches).
by_folder() {
    (cd "$modules_dir" && find kernel/net/sched -name '*.ko*') |
        sed -e 's|.*/||' -e 's|\.ko.*||' | sort -u
}

out="$root/etc/modprobe.d/hearth-servers.conf"
mkdir -p "$(dirname "$out")"
{
    echo "# Written by hearth's image/module-policy.sh: modules the kernel may not"
    echo "# load by itself, because a member's server could make it (see that"
    echo "# script). Root may still load a blacklisted one with \`modprobe NAME\`."
} >"$out"

total_refused=0
for class in rtnl-link- fs- net-pf- tty-ldisc- sched; do
    if [ "$class" = sched ]; then
        modules=$(by_folder)
    else
        modules=$(by_alias "$class")
    fi
    offered=0
    refused=0
    echo "# $class" >>"$out"
    for module in $modules; do
        offered=$((offered + 1))
        allowed "$module" && continue
        refused=$((refused + 1))
        if [ "$class" = sched ]; then
            echo "install $module /bin/false" >>"$out"
        else
            echo "blacklist $module" >>"$out"
        fi
    done
    total_refused=$((total_refused + refused))
    echo "module-policy: $class: $refused of $offered modules refused"
done
echo "module-policy: $total_refused modules refused in all, written to /etc/modprobe.d/hearth-servers.conf"
