//! eBPF instructions, typed: the few the bind guard's program is made
//! of, encoded as the kernel reads them (`struct bpf_insn`, 8 bytes).

/// `struct bpf_insn`: opcode, `dst_reg:4 src_reg:4` in one byte, a
/// 16-bit jump offset and a 32-bit immediate.
#[repr(C)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl std::fmt::Debug for Insn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{{code={:#04x} dst=r{} src=r{} off={} imm={}}}",
            self.code,
            self.dst(),
            self.src(),
            self.off,
            self.imm
        )
    }
}

/// R0 holds results, R1 to R5 a call's arguments (clobbered by it), R6
/// to R9 survive calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Reg {
    R0 = 0,
    R1 = 1,
    R6 = 6,
    R7 = 7,
    R8 = 8,
    R9 = 9,
}

const CLASS_LD: u8 = 0x00;
const CLASS_LDX: u8 = 0x01;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_JMP32: u8 = 0x06;
const CLASS_ALU64: u8 = 0x07;
const SIZE_W: u8 = 0x00;
const SIZE_DW: u8 = 0x18;
const MODE_MEM: u8 = 0x60;
/// The operand is the immediate (K) or the source register (X); for
/// `END`, X means "to big-endian".
const SRC_K: u8 = 0x00;
const SRC_X: u8 = 0x08;
const OP_MOV: u8 = 0xb0;
const OP_END: u8 = 0xd0;
const OP_JA: u8 = 0x00;
const OP_JEQ: u8 = 0x10;
const OP_JGT: u8 = 0x20;
const OP_JNE: u8 = 0x50;
const OP_JLT: u8 = 0xa0;
const OP_CALL: u8 = 0x80;
const OP_EXIT: u8 = 0x90;

impl Insn {
    const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        // The two 4-bit fields are laid out from the low bits on a
        // little-endian CPU (as C compilers do), from the high bits on a
        // big-endian one.
        #[cfg(target_endian = "little")]
        let regs = (dst as u8) | ((src as u8) << 4);
        #[cfg(target_endian = "big")]
        let regs = ((dst as u8) << 4) | (src as u8);
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    pub fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    pub fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

/// `dst = src`, 64 bits.
pub const fn mov64_reg(dst: Reg, src: Reg) -> Insn {
    Insn::new(CLASS_ALU64 | OP_MOV | SRC_X, dst, src, 0, 0)
}

/// `dst = imm`, 64 bits (the immediate sign-extended).
pub const fn mov64_imm(dst: Reg, imm: i32) -> Insn {
    Insn::new(CLASS_ALU64 | OP_MOV | SRC_K, dst, Reg::R0, 0, imm)
}

/// `dst = (u32) src`: the upper half cleared (the uid out of
/// `uid_gid`).
pub const fn mov32_reg(dst: Reg, src: Reg) -> Insn {
    Insn::new(CLASS_ALU | OP_MOV | SRC_X, dst, src, 0, 0)
}

/// `dst = imm64`, in two slots.
pub const fn ld_imm64(dst: Reg, imm: u64) -> [Insn; 2] {
    [
        Insn::new(CLASS_LD | SIZE_DW, dst, Reg::R0, 0, imm as u32 as i32),
        Insn {
            code: 0,
            regs: 0,
            off: 0,
            imm: (imm >> 32) as u32 as i32,
        },
    ]
}

/// `dst = *(u32 *)(src + off)`.
pub const fn ldx_w(dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::new(CLASS_LDX | SIZE_W | MODE_MEM, dst, src, off, 0)
}

/// `dst = htobe16(dst)`: a port in network order becomes its number.
pub const fn be16(dst: Reg) -> Insn {
    Insn::new(CLASS_ALU | OP_END | SRC_X, dst, Reg::R0, 0, 16)
}

/// Calls the kernel helper `id`: arguments in R1 to R5, result in R0.
pub const fn call(id: i32) -> Insn {
    Insn::new(CLASS_JMP | OP_CALL, Reg::R0, Reg::R0, 0, id)
}

/// Returns R0.
pub const fn exit() -> Insn {
    Insn::new(CLASS_JMP | OP_EXIT, Reg::R0, Reg::R0, 0, 0)
}

/// `goto +off`.
pub const fn ja(off: i16) -> Insn {
    Insn::new(CLASS_JMP | OP_JA, Reg::R0, Reg::R0, off, 0)
}

/// `if dst == imm goto +off`, 64 bits.
pub const fn jeq_imm(dst: Reg, imm: i32, off: i16) -> Insn {
    Insn::new(CLASS_JMP | OP_JEQ | SRC_K, dst, Reg::R0, off, imm)
}

/// `if dst != imm goto +off`, 64 bits.
pub const fn jne_imm(dst: Reg, imm: i32, off: i16) -> Insn {
    Insn::new(CLASS_JMP | OP_JNE | SRC_K, dst, Reg::R0, off, imm)
}

/// `if dst != src goto +off`, 64 bits.
pub const fn jne_reg(dst: Reg, src: Reg, off: i16) -> Insn {
    Insn::new(CLASS_JMP | OP_JNE | SRC_X, dst, src, off, 0)
}

/// `if (u32) dst < imm goto +off`: 32 bits, unsigned, so that ids of
/// 2^31 and up compare as the numbers they are.
pub const fn jlt32_imm(dst: Reg, imm: u32, off: i16) -> Insn {
    Insn::new(CLASS_JMP32 | OP_JLT | SRC_K, dst, Reg::R0, off, imm as i32)
}

/// `if (u32) dst > imm goto +off`: 32 bits, unsigned.
pub const fn jgt32_imm(dst: Reg, imm: u32, off: i16) -> Insn {
    Insn::new(CLASS_JMP32 | OP_JGT | SRC_K, dst, Reg::R0, off, imm as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_are_encoded_as_the_kernel_reads_them() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(exit().code, 0x95);
        assert_eq!((call(15).code, call(15).imm), (0x85, 15));
        let m = mov64_reg(Reg::R6, Reg::R1);
        assert_eq!((m.code, m.dst(), m.src()), (0xbf, 6, 1));
        assert_eq!(ldx_w(Reg::R8, Reg::R6, 24).code, 0x61);
        assert_eq!(be16(Reg::R8).code, 0xdc);
        assert_eq!(jlt32_imm(Reg::R7, 0xffff_fffe, 0).code, 0xa6);
        assert_eq!(jgt32_imm(Reg::R7, 0xffff_fffe, 0).code, 0x26);
        assert_eq!(jgt32_imm(Reg::R7, 0xffff_fffe, 0).imm as u32, 0xffff_fffe);
        assert_eq!(jne_imm(Reg::R9, 6, 1).code, 0x55);
        let [a, b] = ld_imm64(Reg::R1, 0x1122_3344_5566_7788);
        assert_eq!(
            (a.code, a.imm as u32, b.code, b.imm as u32),
            (0x18, 0x5566_7788, 0, 0x1122_3344)
        );
    }
}
