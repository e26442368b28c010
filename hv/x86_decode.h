/*
 * x86 instruction decoder for MMIO emulation.
 *
 * When a partition touches a guest-physical address that a virtual device
 * claims, the EPT violation hands the faulting instruction to the
 * interpreter: x86_decode() turns its bytes into a struct x86_insn and
 * x86_emulate() (hv/x86_emulate.h) carries it out against the device.
 *
 * Only the instructions a driver uses on memory-mapped registers are
 * decoded: MOV (88-8B, C6/C7 /0, A0-A3), MOVZX/MOVSX, MOVSXD, MOVS, STOS,
 * ADD/OR/ADC/SBB/AND/SUB/XOR/CMP (00-3D and group 1), TEST (84/85, A8/A9,
 * F6/F7 /0), XCHG (86/87), BT/BTS/BTR/BTC (0F A3/AB/B3/BB, 0F BA /4-/7).
 * Everything else is refused with a status and a reason; nothing is ever
 * read past the buffer or past the 15-byte architectural limit.
 *
 * Names follow the Intel SDM Vol. 2, chapter 2 ("Instruction Format").
 */
#ifndef TESSERA_HV_X86_DECODE_H
#define TESSERA_HV_X86_DECODE_H

#include "hv/types.h"

/* The architectural instruction length limit (SDM Vol. 2, 2.3.11). */
#define X86_MAX_INSN_LENGTH 15

/*
 * The processor mode the instruction executes in, with CS.L and CS.D
 * folded in: 64-bit mode (CS.L=1), 32-bit protected/compatibility mode
 * (CS.D=1) or 16-bit code (real mode, virtual-8086, CS.D=0).
 */
enum x86_mode {
	X86_MODE_16,
	X86_MODE_32,
	X86_MODE_64,
};

/* Segment registers, numbered as the Sreg field encodes them (SDM Vol. 2, B.1.4.3). */
enum x86_segment {
	X86_SEG_ES = 0,
	X86_SEG_CS = 1,
	X86_SEG_SS = 2,
	X86_SEG_DS = 3,
	X86_SEG_FS = 4,
	X86_SEG_GS = 5,
};

/*
 * General-purpose registers by their encoding (REX extension bit included),
 * plus the four legacy high-byte registers, which only 8-bit operands
 * without a REX prefix can name (SDM Vol. 2, 2.2.1.2 and Table 3-1).
 */
enum x86_reg {
	X86_REG_RAX = 0,
	X86_REG_RCX,
	X86_REG_RDX,
	X86_REG_RBX,
	X86_REG_RSP,
	X86_REG_RBP,
	X86_REG_RSI,
	X86_REG_RDI,
	X86_REG_R8,
	X86_REG_R9,
	X86_REG_R10,
	X86_REG_R11,
	X86_REG_R12,
	X86_REG_R13,
	X86_REG_R14,
	X86_REG_R15,
	X86_REG_AH = 16, /* bits 15:8 of RAX; CH, DH, BH likewise of RCX, RDX, RBX */
	X86_REG_CH,
	X86_REG_DH,
	X86_REG_BH,
	X86_REG_NONE = 0xff,
};

/* The operations the decoder recognises. */
enum x86_op {
	X86_OP_NONE = 0,
	X86_OP_MOV,
	X86_OP_MOVZX,
	X86_OP_MOVSX,
	X86_OP_MOVSXD,
	X86_OP_MOVS,
	X86_OP_STOS,
	X86_OP_ADD,
	X86_OP_OR,
	X86_OP_ADC,
	X86_OP_SBB,
	X86_OP_AND,
	X86_OP_SUB,
	X86_OP_XOR,
	X86_OP_CMP,
	X86_OP_TEST,
	X86_OP_XCHG,
	X86_OP_BT,
	X86_OP_BTS,
	X86_OP_BTR,
	X86_OP_BTC,
	X86_OP_COUNT,
};

/* The repeat prefix in effect (the last of F2/F3 wins). */
enum x86_rep {
	X86_REP_NONE = 0,
	X86_REP_REPE,  /* F3: REP / REPE / REPZ */
	X86_REP_REPNE, /* F2: REPNE / REPNZ */
};

/* What the ModRM r/m field (or its implicit stand-in) names. */
enum x86_operand_kind {
	X86_OPERAND_NONE = 0,
	X86_OPERAND_REG,
	X86_OPERAND_MEM,
};

/* REX prefix bits (SDM Vol. 2, 2.2.1.2). */
#define X86_REX_B 0x01
#define X86_REX_X 0x02
#define X86_REX_R 0x04
#define X86_REX_W 0x08

/**
 * A memory operand: offset = base + index * scale + disp (+ the address of
 * the next instruction when rip_relative), truncated to the address size,
 * within segment seg. base and index are read at the address size.
 */
struct x86_mem {
	enum x86_segment seg; /* effective segment: override or default */
	enum x86_reg base;    /* X86_REG_NONE when absent */
	enum x86_reg index;   /* X86_REG_NONE when absent */
	uint8_t scale;        /* 1, 2, 4 or 8 (1 when there is no index) */
	bool rip_relative;    /* 64-bit mode, ModRM.mod=00 r/m=101: RIP (EIP with 67) */
	int64_t disp;         /* sign-extended displacement; a moffs zero-extended */
};

/** The r/m operand: a register or a memory location (or none, for MOVS/STOS). */
struct x86_operand {
	enum x86_operand_kind kind;
	enum x86_reg reg;   /* kind == X86_OPERAND_REG */
	struct x86_mem mem; /* kind == X86_OPERAND_MEM */
};

/**
 * One decoded instruction.
 *
 * Operands: the two-operand forms are "rm OP= source" where the source is
 * the immediate if has_imm, else reg; with reg_is_dest they are
 * "reg OP= rm" instead (8A, 8B, 02, 0F B6, A0 ...). Implicit accumulator
 * forms are expressed the same way: 04/05/A8/A9 as rm = register RAX with
 * an immediate, A0-A3 as reg = RAX with rm the moffs memory operand. MOVS
 * and STOS have no explicit operand (rm.kind NONE, reg NONE): MOVS copies
 * seg:rSI to ES:rDI, STOS stores the accumulator at ES:rDI.
 */
struct x86_insn {
	uint8_t length;       /* bytes, prefixes included */
	enum x86_mode mode;
	enum x86_op op;
	uint8_t opcode;       /* the opcode byte (after 0F for two-byte opcodes) */
	bool two_byte;        /* opcode in the 0F map */
	uint8_t op_size;      /* operand size in bytes: 1, 2, 4 or 8 */
	uint8_t rm_size;      /* r/m operand size; differs only for MOVZX/MOVSX/MOVSXD */
	uint8_t addr_size;    /* address size in bytes: 2, 4 or 8 */
	enum x86_segment seg; /* segment of the memory operand (MOVS: of the source) */
	bool seg_override;    /* seg comes from an effective segment-override prefix */
	bool opsize_prefix;   /* 66 present */
	bool addrsize_prefix; /* 67 present */
	enum x86_rep rep;     /* recorded for every opcode; only MOVS/STOS repeat */
	bool lock;
	uint8_t rex;          /* the effective REX byte (0x40-0x4f), 0 when none */
	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	uint8_t disp_size;    /* bytes of displacement or moffs in the encoding */
	struct x86_operand rm;
	enum x86_reg reg;     /* ModRM.reg or the implicit accumulator; or X86_REG_NONE */
	bool reg_is_dest;
	bool has_imm;
	uint8_t imm_size;     /* bytes of immediate in the encoding */
	int64_t imm;          /* sign-extended from imm_size; 0F BA's bit offset zero-extended */
	const char *reason;   /* why decoding failed; NULL on success */
};

/* Why x86_decode() refused; the reason string in the struct says more. */
enum x86_decode_status {
	X86_DECODE_OK = 0,
	X86_DECODE_TRUNCATED,   /* the buffer ends inside the instruction: fetch more */
	X86_DECODE_TOO_LONG,    /* longer than 15 bytes: #GP(0) on hardware */
	X86_DECODE_INVALID,     /* raises #UD on hardware (e.g. a LOCK it does not allow) */
	X86_DECODE_UNSUPPORTED, /* not an instruction this decoder handles */
};

/**
 * Decodes the one instruction at the start of bytes[0..length) in mode.
 * Reads at most MIN(length, 15) bytes. On success fills *insn and returns
 * X86_DECODE_OK; otherwise returns why and sets insn->reason (the other
 * fields are then unspecified).
 */
enum x86_decode_status x86_decode(const uint8_t *bytes, size_t length, enum x86_mode mode,
				  struct x86_insn *insn);

/** A fixed name for a decode status ("ok", "truncated", ...). */
const char *x86_decode_status_name(enum x86_decode_status status);

/** A fixed lower-case mnemonic for an operation ("mov", "bts", ...). */
const char *x86_op_name(enum x86_op op);

#endif /* TESSERA_HV_X86_DECODE_H */
