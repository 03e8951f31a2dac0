//! The bind guard's program, made from its rules without any I/O: one
//! eBPF program of type `CGROUP_SOCK_ADDR` serves both bind hooks (the
//! port and protocol sit at the same place for IPv4 and IPv6).
//!
//! ```text
//! uid   = bpf_get_current_uid_gid() as u32   (the id on the host)
//! port  = ntohs(ctx->user_port)
//! proto = ctx->protocol
//! if port == 0: allow                         (any free port: no one's)
//! for rule in rules:                          (the first whose ids hold uid)
//!     if rule.first <= uid <= rule.last:
//!         if (port, proto) in rule.ports: allow
//!         goto deny
//! allow
//! deny: if the socket's network namespace is not the host's: allow
//!       else refuse (bind fails with EPERM)
//! ```
//!
//! The namespace is asked last, on the way to a refusal only: what a
//! server runs in its own namespaces (its engine's network, its
//! containers) binds what it likes there.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use super::insn::{self, Insn};
use crate::plane::Protocol;
use crate::servers::model::PublishedPort;

/// `struct bpf_sock_addr`: `user_port` after `user_family`, `user_ip4`
/// and `user_ip6[4]`; `protocol` after `family` and `type`.
const USER_PORT: i16 = 24;
const PROTOCOL: i16 = 36;
/// `enum bpf_func_id`.
pub const GET_CURRENT_UID_GID: i32 = 15;
pub const GET_NETNS_COOKIE: i32 = 122;
/// `IPPROTO_TCP`, `IPPROTO_UDP`.
const TCP: i32 = 6;
const UDP: i32 = 17;

/// Who the rule is for, and the ports they may bind on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub uids: RangeInclusive<u32>,
    pub ports: BTreeSet<PublishedPort>,
}

impl Rule {
    /// Instructions: the two bounds, two per port, the jump to refusal.
    fn size(&self) -> usize {
        3 + 2 * self.ports.iter().filter(|p| p.port != 0).count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the bind guard's rules need {insns} instructions, more than a program's jumps can span")]
pub struct TooLarge {
    pub insns: usize,
}

/// How many instructions [`generate`] makes of `rules`.
pub fn size(rules: &[Rule]) -> usize {
    16 + rules.iter().map(Rule::size).sum::<usize>()
}

/// Labels resolved once the program is laid out.
struct Asm {
    code: Vec<Insn>,
    jumps: Vec<(usize, usize)>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn here(&mut self, label: usize) {
        self.labels[label] = Some(self.code.len());
    }

    fn emit(&mut self, i: Insn) {
        self.code.push(i);
    }

    fn jump(&mut self, i: Insn, label: usize) {
        self.jumps.push((self.code.len(), label));
        self.code.push(i);
    }

    fn finish(mut self) -> Result<Vec<Insn>, TooLarge> {
        let insns = self.code.len();
        for (at, label) in self.jumps {
            let target = self.labels[label].expect("every label is placed");
            let off = target as isize - (at as isize + 1);
            self.code[at].off = i16::try_from(off).map_err(|_| TooLarge { insns })?;
        }
        Ok(self.code)
    }
}

/// The program for `rules`, which refuses only in the namespace whose
/// cookie is `host_netns`.
pub fn generate(rules: &[Rule], host_netns: u64) -> Result<Vec<Insn>, TooLarge> {
    use insn::*;
    let mut a = Asm {
        code: Vec::with_capacity(size(rules)),
        jumps: Vec::new(),
        labels: Vec::new(),
    };
    let (allow, deny) = (a.label(), a.label());
    a.emit(mov64_reg(Reg::R6, Reg::R1));
    a.emit(call(GET_CURRENT_UID_GID));
    a.emit(mov32_reg(Reg::R7, Reg::R0));
    a.emit(ldx_w(Reg::R8, Reg::R6, USER_PORT));
    a.emit(be16(Reg::R8));
    a.jump(jeq_imm(Reg::R8, 0, 0), allow);
    a.emit(ldx_w(Reg::R9, Reg::R6, PROTOCOL));
    for rule in rules {
        let next = a.label();
        a.jump(jlt32_imm(Reg::R7, *rule.uids.start(), 0), next);
        a.jump(jgt32_imm(Reg::R7, *rule.uids.end(), 0), next);
        for port in rule.ports.iter().filter(|p| p.port != 0) {
            let protocol = match port.protocol {
                Protocol::Tcp => TCP,
                Protocol::Udp => UDP,
            };
            // Not this port: past the protocol's test.
            a.emit(jne_imm(Reg::R8, i32::from(port.port), 1));
            a.jump(jeq_imm(Reg::R9, protocol, 0), allow);
        }
        a.jump(ja(0), deny);
        a.here(next);
    }
    a.here(allow);
    a.emit(mov64_imm(Reg::R0, 1));
    a.emit(exit());
    a.here(deny);
    a.emit(mov64_reg(Reg::R1, Reg::R6));
    a.emit(call(GET_NETNS_COOKIE));
    for i in ld_imm64(Reg::R1, host_netns) {
        a.emit(i);
    }
    a.jump(jne_reg(Reg::R0, Reg::R1, 0), allow);
    a.emit(mov64_imm(Reg::R0, 0));
    a.emit(exit());
    a.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(list: &[(u16, Protocol)]) -> BTreeSet<PublishedPort> {
        list.iter()
            .map(|&(port, protocol)| PublishedPort { port, protocol })
            .collect()
    }

    /// Runs the instructions `generate` makes, as the kernel would, for a
    /// bind by `uid` of `port` over `protocol` in namespace `netns`.
    fn run(prog: &[Insn], uid: u32, port: u16, protocol: i32, netns: u64) -> u64 {
        const CTX: u64 = 0xc7c7;
        let mut r = [0u64; 11];
        r[1] = CTX;
        let mut pc = 0usize;
        for _ in 0..100_000 {
            let i = prog[pc];
            let (d, s) = (i.dst() as usize, i.src() as usize);
            let jump = pc as isize + 1 + i.off as isize;
            pc += 1;
            let mut taken = false;
            match i.code {
                0xbf => r[d] = r[s],
                0xb7 => r[d] = i.imm as i64 as u64,
                0xbc => r[d] = u64::from(r[s] as u32),
                0x18 => {
                    r[d] = u64::from(i.imm as u32) | (u64::from(prog[pc].imm as u32) << 32);
                    pc += 1;
                }
                0x61 => {
                    assert_eq!(r[s], CTX);
                    r[d] = match i.off {
                        USER_PORT => u64::from(port.to_be()),
                        PROTOCOL => protocol as u64,
                        off => panic!("reads ctx at {off}"),
                    };
                }
                0xdc => r[d] = u64::from((r[d] as u16).swap_bytes()),
                0x85 => {
                    r[0] = match i.imm {
                        // A gid of its own, which must not leak into the uid.
                        GET_CURRENT_UID_GID => (0xdead_u64 << 32) | u64::from(uid),
                        GET_NETNS_COOKIE => {
                            assert_eq!(r[1], CTX);
                            netns
                        }
                        h => panic!("calls helper {h}"),
                    };
                    r[1..=5].fill(0xbad);
                }
                0x95 => return r[0],
                0x05 => taken = true,
                0x15 => taken = r[d] == i.imm as i64 as u64,
                0x55 => taken = r[d] != i.imm as i64 as u64,
                0x5d => taken = r[d] != r[s],
                0xa6 => taken = (r[d] as u32) < i.imm as u32,
                0x26 => taken = (r[d] as u32) > i.imm as u32,
                c => panic!("opcode {c:#x}"),
            }
            if taken {
                pc = jump as usize;
            }
        }
        panic!("the program does not end");
    }

    const HOST: u64 = 0xabcd_0000_0000_0001;
    const ELSEWHERE: u64 = 4242;

    #[test]
    fn a_servers_user_binds_its_own_ports_on_the_host_and_anything_elsewhere() {
        let rules = [
            Rule {
                uids: 59_000..=59_000,
                ports: ports(&[(18080, Protocol::Tcp), (5353, Protocol::Udp)]),
            },
            // Every other server's user, and every server's sub-IDs.
            Rule {
                uids: 59_000..=59_999,
                ports: BTreeSet::new(),
            },
            Rule {
                uids: 1 << 30..=u32::MAX - 1,
                ports: BTreeSet::new(),
            },
        ];
        let prog = generate(&rules, HOST).unwrap();
        assert_eq!(prog.len(), size(&rules));
        for (uid, port, protocol, netns, allowed) in [
            (59_000, 18080, TCP, HOST, true),
            (59_000, 5353, UDP, HOST, true),
            (59_000, 0, TCP, HOST, true),
            // Its port, the other protocol: not its own.
            (59_000, 18080, UDP, HOST, false),
            (59_000, 5353, TCP, HOST, false),
            (59_000, 18081, TCP, HOST, false),
            (59_000, 23760, TCP, HOST, false),
            (59_000, 18081, TCP, ELSEWHERE, true),
            // Another server's user: nothing on the host but port 0.
            (59_001, 18080, TCP, HOST, false),
            (59_001, 0, UDP, HOST, true),
            (59_001, 18080, TCP, ELSEWHERE, true),
            // Sub-IDs, up to the last.
            (1 << 30, 18080, TCP, HOST, false),
            (u32::MAX - 1, 18080, TCP, HOST, false),
            ((1 << 30) + 5, 80, TCP, ELSEWHERE, true),
            // Anyone else.
            (0, 18080, TCP, HOST, true),
            (1000, 23760, TCP, HOST, true),
            (58_999, 18080, TCP, HOST, true),
            (60_000, 18080, TCP, HOST, true),
            (u32::MAX, 18080, TCP, HOST, true),
        ] {
            assert_eq!(
                run(&prog, uid, port, protocol, netns) == 1,
                allowed,
                "uid {uid}, port {port}/{protocol}, netns {netns}"
            );
        }
    }

    #[test]
    fn no_rules_refuse_nothing_and_too_many_are_an_error() {
        let prog = generate(&[], HOST).unwrap();
        assert_eq!(prog.len(), 16);
        assert_eq!(run(&prog, 59_000, 18080, TCP, HOST), 1);
        let many: BTreeSet<PublishedPort> = (1..=20_000)
            .map(|port| PublishedPort {
                port,
                protocol: Protocol::Tcp,
            })
            .collect();
        let rules = [Rule {
            uids: 1..=1,
            ports: many,
        }];
        assert_eq!(
            generate(&rules, HOST),
            Err(TooLarge {
                insns: size(&rules)
            })
        );
    }
}
