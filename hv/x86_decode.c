/*
 * x86 instruction decoder for MMIO emulation (see hv/x86_decode.h).
 *
 * The layout of an instruction (SDM Vol. 2, 2.1): legacy prefixes, REX
 * (64-bit mode), one or two opcode bytes, ModRM, SIB, displacement,
 * immediate. Each step below consumes its part through fetch_byte(), the
 * only place that touches the buffer, so the bounds and the 15-byte limit
 * are checked in one spot. Opcodes are described by tables: what a byte
 * means (operation, operand form, immediate) is data, not code.
 */
#include "hv/x86_decode.h"
#include "hv/string.h"

/* Operand-form flags of an opcode table entry. */
#define F_MODRM    0x0001 /* a ModRM byte follows the opcode */
#define F_BYTE     0x0002 /* 8-bit operand size, whatever the prefixes */
#define F_REG_DEST 0x0004 /* reg <- r/m rather than r/m <- reg */
#define F_IMM8     0x0008 /* imm8, sign-extended to the operand size */
#define F_IMMZ     0x0010 /* imm16 or imm32 (imm32 sign-extended for 64-bit operands) */
#define F_IMM8U    0x0020 /* imm8, zero-extended (a bit offset) */
#define F_ACC      0x0040 /* implicit accumulator operand with an immediate (04, A8 ...) */
#define F_MOFFS    0x0080 /* accumulator and a moffs of the address size (A0-A3) */
#define F_STRING   0x0100 /* string instruction: implicit rSI/rDI operands */
#define F_SRC8     0x0200 /* r/m operand is 8 bits (MOVZX/MOVSX) */
#define F_SRC16    0x0400 /* r/m operand is 16 bits (MOVZX/MOVSX) */
#define F_SRC32    0x0800 /* r/m operand is at most 32 bits (MOVSXD) */
#define F_ONLY64   0x1000 /* exists only in 64-bit mode (63 is ARPL elsewhere) */

/* ModRM.reg opcode-extension groups (SDM Vol. 2, Table A-6). */
enum opcode_group {
	GROUP_NONE = 0,
	GROUP_1,  /* 80, 81, 83: ALU r/m, imm */
	GROUP_3,  /* F6, F7: only /0 TEST is supported */
	GROUP_8,  /* 0F BA: BT/BTS/BTR/BTC r/m, imm8 */
	GROUP_11, /* C6, C7: only /0 MOV */
	GROUP_COUNT,
};

/** What one opcode byte means: an operation (or a group) and its form. */
struct opcode_desc {
	uint8_t op;    /* enum x86_op; X86_OP_NONE and no group: unsupported */
	uint8_t group; /* enum opcode_group */
	uint16_t flags;
};

/*
 * The six forms of each classic ALU opcode row 00-3D (SDM Vol. 2, Table
 * Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz.
 */
#define ALU_ROW(base, operation) \
	[(base) + 0] = { operation, GROUP_NONE, F_MODRM | F_BYTE }, \
	[(base) + 1] = { operation, GROUP_NONE, F_MODRM }, \
	[(base) + 2] = { operation, GROUP_NONE, F_MODRM | F_BYTE | F_REG_DEST }, \
	[(base) + 3] = { operation, GROUP_NONE, F_MODRM | F_REG_DEST }, \
	[(base) + 4] = { operation, GROUP_NONE, F_ACC | F_BYTE | F_IMM8 }, \
	[(base) + 5] = { operation, GROUP_NONE, F_ACC | F_IMMZ }

/* The one-byte opcode map, supported entries only (SDM Vol. 2, Table A-2). */
static const struct opcode_desc one_byte_map[256] = {
	ALU_ROW(0x00, X86_OP_ADD),
	ALU_ROW(0x08, X86_OP_OR),
	ALU_ROW(0x10, X86_OP_ADC),
	ALU_ROW(0x18, X86_OP_SBB),
	ALU_ROW(0x20, X86_OP_AND),
	ALU_ROW(0x28, X86_OP_SUB),
	ALU_ROW(0x30, X86_OP_XOR),
	ALU_ROW(0x38, X86_OP_CMP),
	[0x63] = { X86_OP_MOVSXD, GROUP_NONE, F_MODRM | F_REG_DEST | F_SRC32 | F_ONLY64 },
	[0x80] = { X86_OP_NONE, GROUP_1, F_MODRM | F_BYTE | F_IMM8 },
	[0x81] = { X86_OP_NONE, GROUP_1, F_MODRM | F_IMMZ },
	[0x83] = { X86_OP_NONE, GROUP_1, F_MODRM | F_IMM8 },
	[0x84] = { X86_OP_TEST, GROUP_NONE, F_MODRM | F_BYTE },
	[0x85] = { X86_OP_TEST, GROUP_NONE, F_MODRM },
	[0x86] = { X86_OP_XCHG, GROUP_NONE, F_MODRM | F_BYTE },
	[0x87] = { X86_OP_XCHG, GROUP_NONE, F_MODRM },
	[0x88] = { X86_OP_MOV, GROUP_NONE, F_MODRM | F_BYTE },
	[0x89] = { X86_OP_MOV, GROUP_NONE, F_MODRM },
	[0x8a] = { X86_OP_MOV, GROUP_NONE, F_MODRM | F_BYTE | F_REG_DEST },
	[0x8b] = { X86_OP_MOV, GROUP_NONE, F_MODRM | F_REG_DEST },
	[0xa0] = { X86_OP_MOV, GROUP_NONE, F_MOFFS | F_BYTE | F_REG_DEST },
	[0xa1] = { X86_OP_MOV, GROUP_NONE, F_MOFFS | F_REG_DEST },
	[0xa2] = { X86_OP_MOV, GROUP_NONE, F_MOFFS | F_BYTE },
	[0xa3] = { X86_OP_MOV, GROUP_NONE, F_MOFFS },
	[0xa4] = { X86_OP_MOVS, GROUP_NONE, F_STRING | F_BYTE },
	[0xa5] = { X86_OP_MOVS, GROUP_NONE, F_STRING },
	[0xa8] = { X86_OP_TEST, GROUP_NONE, F_ACC | F_BYTE | F_IMM8 },
	[0xa9] = { X86_OP_TEST, GROUP_NONE, F_ACC | F_IMMZ },
	[0xaa] = { X86_OP_STOS, GROUP_NONE, F_STRING | F_BYTE },
	[0xab] = { X86_OP_STOS, GROUP_NONE, F_STRING },
	[0xc6] = { X86_OP_NONE, GROUP_11, F_MODRM | F_BYTE | F_IMM8 },
	[0xc7] = { X86_OP_NONE, GROUP_11, F_MODRM | F_IMMZ },
	[0xf6] = { X86_OP_NONE, GROUP_3, F_MODRM | F_BYTE | F_IMM8 },
	[0xf7] = { X86_OP_NONE, GROUP_3, F_MODRM | F_IMMZ },
};

/* The two-byte (0F) opcode map, supported entries only (SDM Vol. 2, Table A-3). */
static const struct opcode_desc two_byte_map[256] = {
	[0xa3] = { X86_OP_BT, GROUP_NONE, F_MODRM },
	[0xab] = { X86_OP_BTS, GROUP_NONE, F_MODRM },
	[0xb3] = { X86_OP_BTR, GROUP_NONE, F_MODRM },
	[0xb6] = { X86_OP_MOVZX, GROUP_NONE, F_MODRM | F_REG_DEST | F_SRC8 },
	[0xb7] = { X86_OP_MOVZX, GROUP_NONE, F_MODRM | F_REG_DEST | F_SRC16 },
	[0xba] = { X86_OP_NONE, GROUP_8, F_MODRM | F_IMM8U },
	[0xbb] = { X86_OP_BTC, GROUP_NONE, F_MODRM },
	[0xbe] = { X86_OP_MOVSX, GROUP_NONE, F_MODRM | F_REG_DEST | F_SRC8 },
	[0xbf] = { X86_OP_MOVSX, GROUP_NONE, F_MODRM | F_REG_DEST | F_SRC16 },
};

/*
 * The operation each ModRM.reg value selects within a group; X86_OP_NONE
 * is unsupported. 0F BA /0-/3 are undefined encodings (#UD), told apart by
 * group_invalid below.
 */
static const uint8_t group_ops[GROUP_COUNT][8] = {
	[GROUP_1] = { X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
		      X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP },
	[GROUP_3] = { X86_OP_TEST },
	[GROUP_8] = { X86_OP_NONE, X86_OP_NONE, X86_OP_NONE, X86_OP_NONE,
		      X86_OP_BT, X86_OP_BTS, X86_OP_BTR, X86_OP_BTC },
	[GROUP_11] = { X86_OP_MOV },
};

/* Which ModRM.reg values of a group are undefined encodings (bit n: /n). */
static const uint8_t group_invalid[GROUP_COUNT] = {
	[GROUP_8] = 0x0f,
};

/*
 * LOCK is allowed only on these read-modify-write operations, and only
 * when the destination is memory; anything else raises #UD (SDM Vol. 2,
 * "LOCK—Assert LOCK# Signal Prefix").
 */
static const bool lockable_ops[X86_OP_COUNT] = {
	[X86_OP_ADD] = true, [X86_OP_OR] = true, [X86_OP_ADC] = true,
	[X86_OP_SBB] = true, [X86_OP_AND] = true, [X86_OP_SUB] = true,
	[X86_OP_XOR] = true, [X86_OP_XCHG] = true, [X86_OP_BTS] = true,
	[X86_OP_BTR] = true, [X86_OP_BTC] = true,
};

/** 16-bit addressing: base and index for each ModRM.r/m (SDM Vol. 2, Table 2-1). */
static const struct {
	uint8_t base;
	uint8_t index;
} modrm16_regs[8] = {
	{ X86_REG_RBX, X86_REG_RSI }, { X86_REG_RBX, X86_REG_RDI },
	{ X86_REG_RBP, X86_REG_RSI }, { X86_REG_RBP, X86_REG_RDI },
	{ X86_REG_RSI, X86_REG_NONE }, { X86_REG_RDI, X86_REG_NONE },
	{ X86_REG_RBP, X86_REG_NONE }, { X86_REG_RBX, X86_REG_NONE },
};

/* No segment-override prefix seen (yet). */
#define SEG_PREFIX_NONE 0xff

/** The decoder's state while it walks one instruction. */
struct decoder {
	const uint8_t *bytes;
	size_t length;              /* bytes available in the buffer */
	uint8_t pos;                /* next byte to fetch */
	uint8_t seg_prefix;         /* enum x86_segment, or SEG_PREFIX_NONE */
	enum x86_decode_status status;
	const char *reason;
	struct x86_insn *insn;
};

/** Records why decoding stops; returns false so callers can `return fail(...)`. */
static bool fail(struct decoder *d, enum x86_decode_status status, const char *reason)
{
	d->status = status;
	d->reason = reason;
	return false;
}

/**
 * Takes the next instruction byte. The 15-byte limit is checked before the
 * buffer end: a 16th byte is never needed, wherever the buffer ends.
 */
static bool fetch_byte(struct decoder *d, uint8_t *out)
{
	if (d->pos >= X86_MAX_INSN_LENGTH) {
		return fail(d, X86_DECODE_TOO_LONG, "instruction longer than 15 bytes (#GP)");
	}
	if (d->pos >= d->length) {
		return fail(d, X86_DECODE_TRUNCATED, "buffer ends inside the instruction");
	}
	*out = d->bytes[d->pos++];
	return true;
}

/** Takes size little-endian bytes and sign-extends them to 64 bits. */
static bool fetch_signed(struct decoder *d, unsigned int size, int64_t *out)
{
	uint64_t value = 0;
	uint8_t byte;

	for (unsigned int i = 0; i < size; i++) {
		if (!fetch_byte(d, &byte)) {
			return false;
		}
		value |= (uint64_t)byte << (8 * i);
	}
	if (size < 8 && (value & BIT(8 * size - 1)) != 0) {
		value |= ~0ULL << (8 * size);
	}
	*out = (int64_t)value;
	return true;
}

/**
 * Applies one legacy prefix (SDM Vol. 2, 2.1.1); false if b is not one.
 * Repeated prefixes are allowed; within a group the last one wins. In
 * 64-bit mode the ES, CS, SS and DS overrides are ignored (SDM Vol. 1,
 * 3.7.4.1), so they neither select a segment nor cancel FS/GS.
 */
static bool legacy_prefix(struct decoder *d, uint8_t b)
{
	struct x86_insn *insn = d->insn;

	switch (b) {
	case 0x66:
		insn->opsize_prefix = true;
		return true;
	case 0x67:
		insn->addrsize_prefix = true;
		return true;
	case 0xf0:
		insn->lock = true;
		return true;
	case 0xf2:
		insn->rep = X86_REP_REPNE;
		return true;
	case 0xf3:
		insn->rep = X86_REP_REPE;
		return true;
	case 0x26: case 0x2e: case 0x36: case 0x3e:
		if (insn->mode != X86_MODE_64) {
			d->seg_prefix = (uint8_t)((b >> 3) & 3); /* 26 ES, 2E CS, 36 SS, 3E DS */
		}
		return true;
	case 0x64: case 0x65:
		d->seg_prefix = (uint8_t)(X86_SEG_FS + (b & 1));
		return true;
	default:
		return false;
	}
}

/**
 * Consumes the prefixes and returns the first opcode byte. A REX prefix
 * counts only when it immediately precedes the opcode (SDM Vol. 2,
 * 2.2.1): a legacy prefix after it cancels it, a later REX replaces it.
 */
static bool decode_prefixes(struct decoder *d, uint8_t *opcode)
{
	uint8_t b;

	for (;;) {
		if (!fetch_byte(d, &b)) {
			return false;
		}
		if (legacy_prefix(d, b)) {
			d->insn->rex = 0;
		} else if (d->insn->mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
			d->insn->rex = b;
		} else {
			*opcode = b;
			return true;
		}
	}
}

/** The operand size in bytes (SDM Vol. 1, 3.6 and 3.6.1). */
static uint8_t operand_size(const struct x86_insn *insn, uint16_t flags)
{
	if ((flags & F_BYTE) != 0) {
		return 1;
	}
	if (insn->mode == X86_MODE_64 && (insn->rex & X86_REX_W) != 0) {
		return 8; /* REX.W takes precedence over 66 */
	}
	if (insn->mode == X86_MODE_16) {
		return insn->opsize_prefix ? 4 : 2;
	}
	return insn->opsize_prefix ? 2 : 4;
}

/** The address size in bytes (SDM Vol. 1, 3.6 and 3.6.1). */
static uint8_t address_size(const struct x86_insn *insn)
{
	switch (insn->mode) {
	case X86_MODE_64:
		return insn->addrsize_prefix ? 4 : 8;
	case X86_MODE_32:
		return insn->addrsize_prefix ? 2 : 4;
	default:
		return insn->addrsize_prefix ? 4 : 2;
	}
}

/** The size of the r/m operand: the operand size except for MOVZX/MOVSX/MOVSXD. */
static uint8_t rm_operand_size(const struct x86_insn *insn, uint16_t flags)
{
	if ((flags & F_SRC8) != 0) {
		return 1;
	}
	if ((flags & F_SRC16) != 0) {
		return 2;
	}
	if ((flags & F_SRC32) != 0) {
		return MIN(insn->op_size, 4);
	}
	return insn->op_size;
}

/** For a group opcode, the operation ModRM.reg selects (SDM Vol. 2, Table A-6). */
static bool resolve_group(struct decoder *d, struct opcode_desc *desc)
{
	unsigned int ext = (d->insn->modrm >> 3) & 7;

	if (desc->group == GROUP_NONE) {
		return true;
	}
	if ((group_invalid[desc->group] & BIT(ext)) != 0) {
		return fail(d, X86_DECODE_INVALID, "undefined ModRM.reg extension (#UD)");
	}
	desc->op = group_ops[desc->group][ext];
	return true;
}

/** Sets the operation and the operand, r/m and address sizes. */
static bool decode_sizes(struct decoder *d, const struct opcode_desc *desc)
{
	struct x86_insn *insn = d->insn;

	if (desc->op == X86_OP_NONE) {
		return fail(d, X86_DECODE_UNSUPPORTED, "opcode not supported");
	}
	insn->op = (enum x86_op)desc->op;
	insn->op_size = operand_size(insn, desc->flags);
	insn->rm_size = rm_operand_size(insn, desc->flags);
	insn->addr_size = address_size(insn);
	if (insn->op == X86_OP_MOVSXD && insn->op_size == 2) {
		/*
		 * The SDM reads a 16-bit source here, other references (Zydis)
		 * a 32-bit one: for a device register the access width matters,
		 * so this discouraged form is not guessed at.
		 */
		return fail(d, X86_DECODE_UNSUPPORTED, "MOVSXD with a 16-bit operand size");
	}
	return true;
}

/**
 * Looks the opcode up (fetching the second byte of a 0F opcode and, for a
 * group, the ModRM byte that selects the operation) and sets the sizes.
 */
static bool decode_opcode(struct decoder *d, uint8_t opcode, struct opcode_desc *desc)
{
	struct x86_insn *insn = d->insn;

	insn->opcode = opcode;
	*desc = one_byte_map[opcode];
	if (opcode == 0x0f) {
		insn->two_byte = true;
		if (!fetch_byte(d, &insn->opcode)) {
			return false;
		}
		*desc = two_byte_map[insn->opcode];
	}
	if ((desc->flags & F_ONLY64) != 0 && insn->mode != X86_MODE_64) {
		return fail(d, X86_DECODE_UNSUPPORTED, "opcode 63 is ARPL outside 64-bit mode");
	}
	if ((desc->flags & F_MODRM) != 0) {
		insn->has_modrm = true;
		if (!fetch_byte(d, &insn->modrm)) {
			return false;
		}
	}
	return resolve_group(d, desc) && decode_sizes(d, desc);
}

/**
 * A register number as an operand of the given size: without REX, byte
 * registers 4-7 are AH, CH, DH, BH rather than SPL, BPL, SIL, DIL (SDM
 * Vol. 2, 2.2.1.2).
 */
static enum x86_reg sized_reg(const struct x86_insn *insn, unsigned int num, unsigned int size)
{
	if (size == 1 && insn->rex == 0 && num >= 4 && num <= 7) {
		return (enum x86_reg)(X86_REG_AH + (num - 4));
	}
	return (enum x86_reg)num;
}

/** Reads the displacement of size bytes into the memory operand. */
static bool decode_disp(struct decoder *d, unsigned int size)
{
	d->insn->disp_size = (uint8_t)size;
	return fetch_signed(d, size, &d->insn->rm.mem.disp);
}

/** 16-bit addressing forms (SDM Vol. 2, Table 2-1). */
static bool decode_modrm16(struct decoder *d)
{
	struct x86_insn *insn = d->insn;
	struct x86_mem *mem = &insn->rm.mem;
	unsigned int mod = insn->modrm >> 6;
	unsigned int rm = insn->modrm & 7;

	mem->base = (enum x86_reg)modrm16_regs[rm].base;
	mem->index = (enum x86_reg)modrm16_regs[rm].index;
	if (mod == 0 && rm == 6) {
		mem->base = X86_REG_NONE; /* [disp16] */
		return decode_disp(d, 2);
	}
	return mod == 0 ? true : decode_disp(d, mod == 1 ? 1 : 2);
}

/** The SIB byte (SDM Vol. 2, Table 2-3); a base of 101 with mod 00 means disp32 only. */
static bool decode_sib(struct decoder *d, unsigned int mod)
{
	struct x86_insn *insn = d->insn;
	struct x86_mem *mem = &insn->rm.mem;
	unsigned int index;

	insn->has_sib = true;
	if (!fetch_byte(d, &insn->sib)) {
		return false;
	}
	index = ((insn->sib >> 3) & 7) | ((insn->rex & X86_REX_X) != 0 ? 8 : 0);
	if (index != X86_REG_RSP) { /* 100 without REX.X: no index; R12 is one */
		mem->index = (enum x86_reg)index;
		mem->scale = (uint8_t)(1 << (insn->sib >> 6));
	}
	if ((insn->sib & 7) == 5 && mod == 0) {
		return decode_disp(d, 4); /* no base, whatever REX.B says (SDM Vol. 2, Table 2-5) */
	}
	mem->base = (enum x86_reg)((insn->sib & 7) | ((insn->rex & X86_REX_B) != 0 ? 8 : 0));
	return true;
}

/** 32- and 64-bit addressing forms (SDM Vol. 2, Tables 2-2 and 2-3, 2.2.1.6). */
static bool decode_modrm32(struct decoder *d)
{
	struct x86_insn *insn = d->insn;
	struct x86_mem *mem = &insn->rm.mem;
	unsigned int mod = insn->modrm >> 6;
	unsigned int rm = insn->modrm & 7;

	if (rm == 4) {
		if (!decode_sib(d, mod)) {
			return false;
		}
	} else if (rm == 5 && mod == 0) {
		/* disp32 alone: RIP-relative in 64-bit mode, absolute elsewhere. */
		mem->rip_relative = insn->mode == X86_MODE_64;
		return decode_disp(d, 4);
	} else {
		mem->base = (enum x86_reg)(rm | ((insn->rex & X86_REX_B) != 0 ? 8 : 0));
	}
	if (mod == 1) {
		return decode_disp(d, 1);
	}
	return mod == 2 ? decode_disp(d, 4) : true;
}

/** The ModRM operands: the reg field and the r/m register or memory operand. */
static bool decode_modrm_operands(struct decoder *d, const struct opcode_desc *desc)
{
	struct x86_insn *insn = d->insn;
	unsigned int rex_r = (insn->rex & X86_REX_R) != 0 ? 8 : 0;
	unsigned int rex_b = (insn->rex & X86_REX_B) != 0 ? 8 : 0;

	if (desc->group == GROUP_NONE) {
		insn->reg = sized_reg(insn, ((insn->modrm >> 3) & 7) | rex_r, insn->op_size);
	}
	if (insn->modrm >> 6 == 3) {
		insn->rm.kind = X86_OPERAND_REG;
		insn->rm.reg = sized_reg(insn, (insn->modrm & 7) | rex_b, insn->rm_size);
		return true;
	}
	insn->rm.kind = X86_OPERAND_MEM;
	return insn->addr_size == 2 ? decode_modrm16(d) : decode_modrm32(d);
}

/** The moffs of A0-A3: an offset as wide as the address size, 8 bytes in 64-bit mode. */
static bool decode_moffs(struct decoder *d)
{
	struct x86_insn *insn = d->insn;
	uint64_t offset;

	insn->reg = X86_REG_RAX;
	insn->rm.kind = X86_OPERAND_MEM;
	if (!decode_disp(d, insn->addr_size)) {
		return false;
	}
	offset = (uint64_t)insn->rm.mem.disp;
	if (insn->addr_size < 8) {
		offset &= BIT(8 * insn->addr_size) - 1; /* an offset, not a displacement */
	}
	insn->rm.mem.disp = (int64_t)offset;
	return true;
}

/** The immediate, if the form has one (SDM Vol. 2, 2.1.4). */
static bool decode_imm(struct decoder *d, uint16_t flags)
{
	struct x86_insn *insn = d->insn;
	unsigned int size;

	if ((flags & (F_IMM8 | F_IMM8U)) != 0) {
		size = 1;
	} else if ((flags & F_IMMZ) != 0) {
		size = MIN(insn->op_size, 4);
	} else {
		return true;
	}
	insn->has_imm = true;
	insn->imm_size = (uint8_t)size;
	if (!fetch_signed(d, size, &insn->imm)) {
		return false;
	}
	if ((flags & F_IMM8U) != 0) {
		insn->imm &= 0xff;
	}
	return true;
}

/**
 * The segment of the memory operand: an effective override, else DS, or
 * SS when the base is rSP or rBP (SDM Vol. 1, 3.7.4 and Table 3-5). The
 * destination of a string instruction is always ES and cannot be
 * overridden; for MOVS, seg is the source's.
 */
static void decode_segment(struct decoder *d)
{
	struct x86_insn *insn = d->insn;
	enum x86_reg base = insn->rm.mem.base;

	if (insn->op == X86_OP_STOS) {
		insn->seg = X86_SEG_ES;
	} else if (d->seg_prefix != SEG_PREFIX_NONE) {
		insn->seg = (enum x86_segment)d->seg_prefix;
		insn->seg_override = true;
	} else if (insn->rm.kind == X86_OPERAND_MEM &&
		   (base == X86_REG_RSP || base == X86_REG_RBP)) {
		insn->seg = X86_SEG_SS;
	} else {
		insn->seg = X86_SEG_DS;
	}
	insn->rm.mem.seg = insn->seg;
}

/** Decodes every operand of the form desc describes. */
static bool decode_operands(struct decoder *d, const struct opcode_desc *desc)
{
	struct x86_insn *insn = d->insn;
	bool ok = true;

	insn->reg_is_dest = (desc->flags & F_REG_DEST) != 0;
	if ((desc->flags & F_MODRM) != 0) {
		ok = decode_modrm_operands(d, desc);
	} else if ((desc->flags & F_MOFFS) != 0) {
		ok = decode_moffs(d);
	} else if ((desc->flags & F_ACC) != 0) {
		insn->rm.kind = X86_OPERAND_REG;
		insn->rm.reg = X86_REG_RAX;
	}
	if (!ok || !decode_imm(d, desc->flags)) {
		return false;
	}
	decode_segment(d);
	return true;
}

/** Refuses a LOCK prefix where the processor raises #UD. */
static bool check_lock(struct decoder *d)
{
	const struct x86_insn *insn = d->insn;

	if (!insn->lock) {
		return true;
	}
	if (!lockable_ops[insn->op] || insn->rm.kind != X86_OPERAND_MEM || insn->reg_is_dest) {
		return fail(d, X86_DECODE_INVALID, "LOCK prefix not allowed here (#UD)");
	}
	return true;
}

/** Starts *insn empty: no operands, no registers. */
static void insn_init(struct x86_insn *insn, enum x86_mode mode)
{
	memset(insn, 0, sizeof(*insn));
	insn->mode = mode;
	insn->reg = X86_REG_NONE;
	insn->rm.reg = X86_REG_NONE;
	insn->rm.mem.base = X86_REG_NONE;
	insn->rm.mem.index = X86_REG_NONE;
	insn->rm.mem.scale = 1;
}

/** Decodes one instruction; see hv/x86_decode.h. */
enum x86_decode_status x86_decode(const uint8_t *bytes, size_t length, enum x86_mode mode,
				  struct x86_insn *insn)
{
	struct decoder d = {
		.bytes = bytes,
		.length = length,
		.seg_prefix = SEG_PREFIX_NONE,
		.status = X86_DECODE_OK,
		.insn = insn,
	};
	struct opcode_desc desc;
	uint8_t opcode;

	insn_init(insn, mode);
	if (mode != X86_MODE_16 && mode != X86_MODE_32 && mode != X86_MODE_64) {
		insn->reason = "invalid processor mode";
		return X86_DECODE_UNSUPPORTED;
	}
	if (!decode_prefixes(&d, &opcode) || !decode_opcode(&d, opcode, &desc) ||
	    !decode_operands(&d, &desc) || !check_lock(&d)) {
		insn->reason = d.reason;
		return d.status;
	}
	insn->length = d.pos;
	return X86_DECODE_OK;
}

/** A fixed name for a decode status. */
const char *x86_decode_status_name(enum x86_decode_status status)
{
	static const char *const names[] = {
		[X86_DECODE_OK] = "ok",
		[X86_DECODE_TRUNCATED] = "truncated",
		[X86_DECODE_TOO_LONG] = "too long",
		[X86_DECODE_INVALID] = "invalid",
		[X86_DECODE_UNSUPPORTED] = "unsupported",
	};

	if ((unsigned int)status >= ARRAY_SIZE(names)) {
		return "?";
	}
	return names[status];
}

/** A fixed lower-case mnemonic for an operation. */
const char *x86_op_name(enum x86_op op)
{
	static const char *const names[X86_OP_COUNT] = {
		[X86_OP_NONE] = "(none)", [X86_OP_MOV] = "mov", [X86_OP_MOVZX] = "movzx",
		[X86_OP_MOVSX] = "movsx", [X86_OP_MOVSXD] = "movsxd", [X86_OP_MOVS] = "movs",
		[X86_OP_STOS] = "stos", [X86_OP_ADD] = "add", [X86_OP_OR] = "or",
		[X86_OP_ADC] = "adc", [X86_OP_SBB] = "sbb", [X86_OP_AND] = "and",
		[X86_OP_SUB] = "sub", [X86_OP_XOR] = "xor", [X86_OP_CMP] = "cmp",
		[X86_OP_TEST] = "test", [X86_OP_XCHG] = "xchg", [X86_OP_BT] = "bt",
		[X86_OP_BTS] = "bts", [X86_OP_BTR] = "btr", [X86_OP_BTC] = "btc",
	};

	if ((unsigned int)op >= X86_OP_COUNT) {
		return "?";
	}
	return names[op];
}
