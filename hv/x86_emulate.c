/*
 * x86 instruction emulator for MMIO (see hv/x86_emulate.h).
 *
 * One handler per kind of operation. Every handler reads its operands,
 * computes, and only then writes: a register is written only once no
 * memory access of the instruction can fail any more, so a fault leaves
 * the guest state as it was (REP string iterations excepted, as on
 * hardware). RFLAGS and RIP are committed by x86_emulate() on success.
 */
#include "hv/x86_emulate.h"

/** Everything one emulation needs; rflags collects the new flags until commit. */
struct emulation {
	const struct x86_insn *insn;
	struct x86_regs *regs;
	const struct x86_emulate_ops *ops;
	void *ctx;
	uint64_t ea;     /* effective address of the memory operand, before any write-back */
	uint64_t rflags; /* RFLAGS as the instruction leaves them */
	bool complete;   /* false: a REP ran out of budget, RIP stays */
};

/** The sign bit of a size-byte value. */
static uint64_t sign_bit(unsigned int size)
{
	return BIT(8 * size - 1);
}

/** Sign-extends a size-byte value to 64 bits. */
static uint64_t sign_extend(uint64_t value, unsigned int size)
{
	value &= bytes_mask(size);
	return (value & sign_bit(size)) != 0 ? value | ~bytes_mask(size) : value;
}

/** Whether a size is an operand size: 1, 2, 4 or 8 bytes. */
static bool valid_size(unsigned int size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/** Reads a register at size; AH-BH are bits 15:8 of RAX-RBX. */
static uint64_t reg_read(const struct x86_regs *regs, enum x86_reg reg, unsigned int size)
{
	if (reg >= X86_REG_AH) {
		return (regs->gpr[reg - X86_REG_AH] >> 8) & 0xff;
	}
	return regs->gpr[reg] & bytes_mask(size);
}

/**
 * Writes a register at size. 8- and 16-bit writes leave the other bits
 * alone; 32-bit writes zero-extend to 64 bits (SDM Vol. 1, 3.4.1.1). The
 * SDM leaves the upper half undefined outside 64-bit mode; zero-extending
 * in every mode is the deterministic choice (and what hardware does).
 */
static void reg_write(struct x86_regs *regs, enum x86_reg reg, unsigned int size, uint64_t value)
{
	uint64_t *gpr;

	if (reg >= X86_REG_AH) {
		gpr = &regs->gpr[reg - X86_REG_AH];
		*gpr = (*gpr & ~0xff00ULL) | ((value & 0xff) << 8);
		regs->written |= (uint16_t)BIT(reg - X86_REG_AH);
		return;
	}
	gpr = &regs->gpr[reg];
	regs->written |= (uint16_t)BIT(reg);
	if (size >= 4) {
		*gpr = value & bytes_mask(size);
	} else {
		*gpr = (*gpr & ~bytes_mask(size)) | (value & bytes_mask(size));
	}
}

/*
 * Operand values travel as uint64_t in the x86's own byte order: their first
 * size bytes are the little-endian value the callbacks move.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "operands are little-endian");

/** Reads size bytes of guest memory through the caller (little-endian). */
static bool mem_read(const struct emulation *e, enum x86_segment seg, uint64_t offset,
		     unsigned int size, uint64_t *value)
{
	*value = 0;
	return e->ops->read_mem(e->ctx, seg, offset, value, size);
}

/** Writes size bytes of guest memory through the caller (little-endian). */
static bool mem_write(const struct emulation *e, enum x86_segment seg, uint64_t offset,
		      unsigned int size, uint64_t value)
{
	return e->ops->write_mem(e->ctx, seg, offset, &value, size);
}

/** Reads the r/m operand: its register, or memory at offset. */
static bool rm_read(const struct emulation *e, uint64_t offset, unsigned int size, uint64_t *value)
{
	if (e->insn->rm.kind == X86_OPERAND_REG) {
		*value = reg_read(e->regs, e->insn->rm.reg, size);
		return true;
	}
	return mem_read(e, e->insn->seg, offset, size, value);
}

/** Writes the r/m operand: its register, or memory at offset. */
static bool rm_write(const struct emulation *e, uint64_t offset, unsigned int size, uint64_t value)
{
	if (e->insn->rm.kind == X86_OPERAND_REG) {
		reg_write(e->regs, e->insn->rm.reg, size, value);
		return true;
	}
	return mem_write(e, e->insn->seg, offset, size, value);
}

/** The source of an "r/m <- source" form: the immediate, else the reg operand. */
static uint64_t source_value(const struct emulation *e)
{
	const struct x86_insn *insn = e->insn;

	if (insn->has_imm) {
		return (uint64_t)insn->imm & bytes_mask(insn->op_size);
	}
	return reg_read(e->regs, insn->reg, insn->op_size);
}

/** Whether the low byte of a result has an even number of set bits (PF). */
static bool parity_even(uint64_t value)
{
	uint8_t v = (uint8_t)value;

	v ^= v >> 4;
	v ^= v >> 2;
	v ^= v >> 1;
	return (v & 1) == 0;
}

/** ZF, SF and PF of a size-byte result, which every ALU operation defines alike. */
static uint64_t result_flags(uint64_t result, unsigned int size)
{
	uint64_t flags = 0;

	if ((result & bytes_mask(size)) == 0) {
		flags |= X86_RFLAGS_ZF;
	}
	if ((result & sign_bit(size)) != 0) {
		flags |= X86_RFLAGS_SF;
	}
	if (parity_even(result)) {
		flags |= X86_RFLAGS_PF;
	}
	return flags;
}

/**
 * dst + src + carry_in with its flags (SDM Vol. 2, ADD and ADC): CF is
 * the carry out of the top bit, OF set when both inputs have the same sign
 * and the result the other one, AF the carry out of bit 3.
 */
static uint64_t alu_add(unsigned int size, uint64_t dst, uint64_t src, uint64_t carry_in,
			uint64_t *flags)
{
	uint64_t result = (dst + src + carry_in) & bytes_mask(size);
	uint64_t carries = (dst & src) | ((dst | src) & ~result);

	*flags = result_flags(result, size);
	if ((carries & sign_bit(size)) != 0) {
		*flags |= X86_RFLAGS_CF;
	}
	if (((dst ^ result) & (src ^ result) & sign_bit(size)) != 0) {
		*flags |= X86_RFLAGS_OF;
	}
	if (((dst ^ src ^ result) & 0x10) != 0) {
		*flags |= X86_RFLAGS_AF;
	}
	return result;
}

/**
 * dst - src - borrow_in with its flags (SDM Vol. 2, SUB, SBB and CMP): CF
 * is the borrow into the top bit, OF set when the inputs have different
 * signs and the result has the subtrahend's, AF the borrow from bit 4.
 */
static uint64_t alu_sub(unsigned int size, uint64_t dst, uint64_t src, uint64_t borrow_in,
			uint64_t *flags)
{
	uint64_t result = (dst - src - borrow_in) & bytes_mask(size);
	uint64_t borrows = (~dst & src) | ((~dst | src) & result);

	*flags = result_flags(result, size);
	if ((borrows & sign_bit(size)) != 0) {
		*flags |= X86_RFLAGS_CF;
	}
	if (((dst ^ src) & (dst ^ result) & sign_bit(size)) != 0) {
		*flags |= X86_RFLAGS_OF;
	}
	if (((dst ^ src ^ result) & 0x10) != 0) {
		*flags |= X86_RFLAGS_AF;
	}
	return result;
}

/**
 * A two-operand ALU operation: the result, and RFLAGS with its status flags
 * replaced. AND, OR, XOR and TEST clear CF and OF and leave AF undefined,
 * which is cleared here (see hv/x86_emulate.h).
 */
static uint64_t alu(enum x86_op op, unsigned int size, uint64_t dst, uint64_t src, uint64_t *rflags)
{
	uint64_t carry = (*rflags & X86_RFLAGS_CF) != 0 ? 1 : 0;
	uint64_t flags, result;

	dst &= bytes_mask(size);
	src &= bytes_mask(size);
	switch (op) {
	case X86_OP_ADD:
	case X86_OP_ADC:
		result = alu_add(size, dst, src, op == X86_OP_ADC ? carry : 0, &flags);
		break;
	case X86_OP_SUB:
	case X86_OP_SBB:
	case X86_OP_CMP:
		result = alu_sub(size, dst, src, op == X86_OP_SBB ? carry : 0, &flags);
		break;
	case X86_OP_OR:
		result = dst | src;
		flags = result_flags(result, size);
		break;
	case X86_OP_XOR:
		result = dst ^ src;
		flags = result_flags(result, size);
		break;
	default: /* AND, TEST */
		result = dst & src;
		flags = result_flags(result, size);
		break;
	}
	*rflags = (*rflags & ~X86_RFLAGS_STATUS) | flags;
	return result;
}

/** MOV: reg <- r/m, or r/m <- reg/imm (no flags). */
static enum x86_emulate_status emulate_mov(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	uint64_t value;

	if (insn->reg_is_dest) {
		if (!rm_read(e, e->ea, insn->op_size, &value)) {
			return X86_EMULATE_FAULT;
		}
		reg_write(e->regs, insn->reg, insn->op_size, value);
		return X86_EMULATE_OK;
	}
	if (!rm_write(e, e->ea, insn->op_size, source_value(e))) {
		return X86_EMULATE_FAULT;
	}
	return X86_EMULATE_OK;
}

/** MOVZX, MOVSX, MOVSXD: reg <- the r/m operand zero- or sign-extended. */
static enum x86_emulate_status emulate_movx(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	uint64_t value;

	if (!rm_read(e, e->ea, insn->rm_size, &value)) {
		return X86_EMULATE_FAULT;
	}
	if (insn->op != X86_OP_MOVZX) {
		value = sign_extend(value, insn->rm_size);
	}
	reg_write(e->regs, insn->reg, insn->op_size, value);
	return X86_EMULATE_OK;
}

/** ADD, OR, ADC, SBB, AND, SUB, XOR, CMP, TEST in every form. */
static enum x86_emulate_status emulate_alu(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned int size = insn->op_size;
	uint64_t rm_value, other, result;

	if (!rm_read(e, e->ea, size, &rm_value)) {
		return X86_EMULATE_FAULT;
	}
	if (insn->reg_is_dest) {
		other = reg_read(e->regs, insn->reg, size);
		result = alu(insn->op, size, other, rm_value, &e->rflags);
	} else {
		other = source_value(e);
		result = alu(insn->op, size, rm_value, other, &e->rflags);
	}
	if (insn->op == X86_OP_CMP || insn->op == X86_OP_TEST) {
		return X86_EMULATE_OK;
	}
	if (insn->reg_is_dest) {
		reg_write(e->regs, insn->reg, size, result);
		return X86_EMULATE_OK;
	}
	return rm_write(e, e->ea, size, result) ? X86_EMULATE_OK : X86_EMULATE_FAULT;
}

/** XCHG r/m, reg: memory is written before the register, so a fault changes nothing. */
static enum x86_emulate_status emulate_xchg(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned int size = insn->op_size;
	uint64_t rm_value, reg_value;

	if (!rm_read(e, e->ea, size, &rm_value)) {
		return X86_EMULATE_FAULT;
	}
	reg_value = reg_read(e->regs, insn->reg, size);
	if (!rm_write(e, e->ea, size, reg_value)) {
		return X86_EMULATE_FAULT;
	}
	reg_write(e->regs, insn->reg, size, rm_value);
	return X86_EMULATE_OK;
}

/** Shifts a 64-bit two's-complement value right, replicating the sign (floor division). */
static uint64_t shift_right_signed(uint64_t value, unsigned int shift)
{
	if ((value & BIT(63)) != 0) {
		return ~(~value >> shift);
	}
	return value >> shift;
}

/**
 * The bit BT/BTS/BTR/BTC select, as an offset of the operand and a bit
 * number within it. An immediate or a register base takes the offset
 * modulo the operand width; a register offset with a memory base is a
 * signed index into a bit string that may extend beyond the operand: the
 * access moves by whole operands, to effective address + operand size *
 * (offset DIV operand width), rounding towards minus infinity (SDM Vol. 2,
 * BT, and its Bit(BitBase, BitOffset) notation in chapter 3); the bit is
 * offset MOD width.
 */
static unsigned int bit_select(const struct emulation *e, uint64_t *offset)
{
	const struct x86_insn *insn = e->insn;
	unsigned int size = insn->op_size;
	unsigned int width_log2 = size == 2 ? 4 : size == 4 ? 5 : 6;
	uint64_t bit;

	*offset = e->ea;
	if (insn->has_imm) {
		return (unsigned int)((uint64_t)insn->imm & (8 * size - 1));
	}
	bit = reg_read(e->regs, insn->reg, size);
	if (insn->rm.kind == X86_OPERAND_MEM) {
		uint64_t units = shift_right_signed(sign_extend(bit, size), width_log2);

		*offset = (e->ea + units * size) & bytes_mask(insn->addr_size);
	}
	return (unsigned int)(bit & (8 * size - 1));
}

/**
 * BT, BTS, BTR, BTC: CF <- the selected bit, which BTS sets, BTR clears and
 * BTC flips. The other status flags keep their values (see the header).
 */
static enum x86_emulate_status emulate_bit(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned int size = insn->op_size;
	uint64_t offset, value, mask;

	mask = BIT(bit_select(e, &offset));
	if (!rm_read(e, offset, size, &value)) {
		return X86_EMULATE_FAULT;
	}
	e->rflags &= ~X86_RFLAGS_CF;
	if ((value & mask) != 0) {
		e->rflags |= X86_RFLAGS_CF;
	}
	if (insn->op == X86_OP_BT) {
		return X86_EMULATE_OK;
	}
	if (insn->op == X86_OP_BTS) {
		value |= mask;
	} else if (insn->op == X86_OP_BTR) {
		value &= ~mask;
	} else {
		value ^= mask;
	}
	return rm_write(e, offset, size, value) ? X86_EMULATE_OK : X86_EMULATE_FAULT;
}

/**
 * One iteration of MOVS (seg:rSI to ES:rDI) or STOS (accumulator to
 * ES:rDI); rSI and rDI then move by step. They are as wide as the address
 * size (SDM Vol. 2, MOVS and STOS).
 */
static bool string_iteration(const struct emulation *e, uint64_t step)
{
	const struct x86_insn *insn = e->insn;
	unsigned int asize = insn->addr_size;
	uint64_t di = reg_read(e->regs, X86_REG_RDI, asize);
	uint64_t si = reg_read(e->regs, X86_REG_RSI, asize);
	uint64_t value;

	if (insn->op == X86_OP_MOVS) {
		if (!mem_read(e, insn->seg, si, insn->op_size, &value)) {
			return false;
		}
	} else {
		value = reg_read(e->regs, X86_REG_RAX, insn->op_size);
	}
	if (!mem_write(e, X86_SEG_ES, di, insn->op_size, value)) {
		return false;
	}
	if (insn->op == X86_OP_MOVS) {
		reg_write(e->regs, X86_REG_RSI, asize, si + step);
	}
	reg_write(e->regs, X86_REG_RDI, asize, di + step);
	return true;
}

/**
 * MOVS and STOS, repeated rCX times (rCX as wide as the address size) with
 * a repeat prefix: F2 repeats them as F3 does, since neither compares
 * (SDM Vol. 2, REP/REPE/REPZ/REPNE/REPNZ). DF selects the direction.
 */
static enum x86_emulate_status emulate_string(struct emulation *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned int asize = insn->addr_size;
	uint64_t step = insn->op_size;

	if ((e->rflags & X86_RFLAGS_DF) != 0) {
		step = 0 - step; /* downwards */
	}
	if (insn->rep == X86_REP_NONE) {
		return string_iteration(e, step) ? X86_EMULATE_OK : X86_EMULATE_FAULT;
	}
	for (unsigned int n = 0; n < X86_EMULATE_REP_BUDGET; n++) {
		uint64_t count = reg_read(e->regs, X86_REG_RCX, asize);

		if (count == 0) {
			return X86_EMULATE_OK;
		}
		if (!string_iteration(e, step)) {
			return X86_EMULATE_FAULT;
		}
		reg_write(e->regs, X86_REG_RCX, asize, count - 1);
	}
	e->complete = reg_read(e->regs, X86_REG_RCX, asize) == 0;
	return X86_EMULATE_OK;
}

/** The handler of each operation. */
static enum x86_emulate_status (*const handlers[X86_OP_COUNT])(struct emulation *e) = {
	[X86_OP_MOV] = emulate_mov,
	[X86_OP_MOVZX] = emulate_movx,
	[X86_OP_MOVSX] = emulate_movx,
	[X86_OP_MOVSXD] = emulate_movx,
	[X86_OP_MOVS] = emulate_string,
	[X86_OP_STOS] = emulate_string,
	[X86_OP_ADD] = emulate_alu,
	[X86_OP_OR] = emulate_alu,
	[X86_OP_ADC] = emulate_alu,
	[X86_OP_SBB] = emulate_alu,
	[X86_OP_AND] = emulate_alu,
	[X86_OP_SUB] = emulate_alu,
	[X86_OP_XOR] = emulate_alu,
	[X86_OP_CMP] = emulate_alu,
	[X86_OP_TEST] = emulate_alu,
	[X86_OP_XCHG] = emulate_xchg,
	[X86_OP_BT] = emulate_bit,
	[X86_OP_BTS] = emulate_bit,
	[X86_OP_BTR] = emulate_bit,
	[X86_OP_BTC] = emulate_bit,
};

/** Whether a register operand is a GPR, or a high-byte register used at size 1. */
static bool valid_reg(enum x86_reg reg, unsigned int size)
{
	/* AH-BH follow R15 directly. */
	return reg <= X86_REG_R15 || (reg <= X86_REG_BH && size == 1);
}

/** Whether the operands are ones the handlers can use (a decoder result always is). */
static bool valid_operands(const struct x86_insn *insn)
{
	const struct x86_mem *mem = &insn->rm.mem;

	if (insn->op == X86_OP_MOVS || insn->op == X86_OP_STOS) {
		return true;
	}
	if (insn->rm.kind == X86_OPERAND_REG) {
		if (!valid_reg(insn->rm.reg, insn->rm_size)) {
			return false;
		}
	} else if (insn->rm.kind == X86_OPERAND_MEM) {
		if ((mem->base != X86_REG_NONE && mem->base > X86_REG_R15) ||
		    (mem->index != X86_REG_NONE && mem->index > X86_REG_R15)) {
			return false;
		}
	} else {
		return false;
	}
	if (insn->reg == X86_REG_NONE) {
		return insn->has_imm && !insn->reg_is_dest && insn->op != X86_OP_XCHG;
	}
	return valid_reg(insn->reg, insn->op_size);
}

/** Whether insn is something x86_emulate() can carry out; see hv/x86_emulate.h. */
bool x86_emulate_supported(const struct x86_insn *insn)
{
	if (insn->op <= X86_OP_NONE || insn->op >= X86_OP_COUNT || handlers[insn->op] == NULL) {
		return false;
	}
	if (insn->length == 0 || insn->length > X86_MAX_INSN_LENGTH || insn->mode > X86_MODE_64) {
		return false;
	}
	if (!valid_size(insn->op_size) || !valid_size(insn->rm_size) ||
	    !valid_size(insn->addr_size) || insn->addr_size == 1 || insn->seg > X86_SEG_GS) {
		return false;
	}
	if ((insn->op == X86_OP_BT || insn->op == X86_OP_BTS || insn->op == X86_OP_BTR ||
	     insn->op == X86_OP_BTC) && insn->op_size == 1) {
		return false;
	}
	return valid_operands(insn);
}

/** RIP after the instruction: as wide as the instruction pointer of the mode. */
static uint64_t next_rip(const struct x86_insn *insn, const struct x86_regs *regs)
{
	uint64_t rip = regs->rip + insn->length;

	if (insn->mode == X86_MODE_32) {
		return rip & 0xffffffffULL;
	}
	return insn->mode == X86_MODE_16 ? rip & 0xffff : rip;
}

/** The bit of register operand reg in a mask of gpr[] entries (none for X86_REG_NONE). */
static uint16_t gpr_bit(enum x86_reg reg)
{
	if (reg == X86_REG_NONE) {
		return 0;
	}
	return (uint16_t)BIT(reg >= X86_REG_AH ? reg - X86_REG_AH : reg);
}

/** The registers x86_emulate() may touch for insn; see hv/x86_emulate.h. */
uint16_t x86_insn_gprs_used(const struct x86_insn *insn)
{
	uint16_t used = gpr_bit(insn->reg);

	if (insn->op == X86_OP_MOVS || insn->op == X86_OP_STOS) {
		used |= (uint16_t)(BIT(X86_REG_RAX) | BIT(X86_REG_RCX) | BIT(X86_REG_RSI) |
				   BIT(X86_REG_RDI));
	}
	if (insn->rm.kind == X86_OPERAND_REG) {
		used |= gpr_bit(insn->rm.reg);
	} else if (insn->rm.kind == X86_OPERAND_MEM) {
		used |= gpr_bit(insn->rm.mem.base) | gpr_bit(insn->rm.mem.index);
	}
	return used;
}

/** The offset of the memory operand; see hv/x86_emulate.h. */
uint64_t x86_effective_address(const struct x86_insn *insn, const struct x86_regs *regs)
{
	const struct x86_mem *mem = &insn->rm.mem;
	uint64_t ea = (uint64_t)mem->disp;

	if (insn->rm.kind != X86_OPERAND_MEM) {
		return 0;
	}
	if (mem->rip_relative) {
		ea += regs->rip + insn->length; /* relative to the next instruction */
	}
	if (mem->base <= X86_REG_R15) {
		ea += regs->gpr[mem->base];
	}
	if (mem->index <= X86_REG_R15) {
		ea += regs->gpr[mem->index] * mem->scale;
	}
	return ea & bytes_mask(insn->addr_size);
}

/** Emulates an instruction known to be supported; see hv/x86_emulate.h. */
enum x86_emulate_status x86_emulate_checked(const struct x86_insn *insn, struct x86_regs *regs,
					    const struct x86_emulate_ops *ops, void *ctx)
{
	struct emulation e = {
		.insn = insn,
		.regs = regs,
		.ops = ops,
		.ctx = ctx,
		.rflags = regs->rflags,
		.complete = true,
	};
	enum x86_emulate_status status;

	e.ea = x86_effective_address(insn, regs);
	status = handlers[insn->op](&e);
	if (status != X86_EMULATE_OK) {
		return status;
	}
	regs->rflags = e.rflags;
	if (e.complete) {
		regs->rip = next_rip(insn, regs);
	}
	return X86_EMULATE_OK;
}

/** Emulates one instruction; see hv/x86_emulate.h. */
enum x86_emulate_status x86_emulate(const struct x86_insn *insn, struct x86_regs *regs,
				    const struct x86_emulate_ops *ops, void *ctx)
{
	if (!x86_emulate_supported(insn) || ops == NULL || ops->read_mem == NULL ||
	    ops->write_mem == NULL) {
		return X86_EMULATE_UNSUPPORTED;
	}
	return x86_emulate_checked(insn, regs, ops, ctx);
}

/** A fixed name for an emulation status. */
const char *x86_emulate_status_name(enum x86_emulate_status status)
{
	switch (status) {
	case X86_EMULATE_OK:
		return "ok";
	case X86_EMULATE_FAULT:
		return "fault";
	case X86_EMULATE_UNSUPPORTED:
		return "unsupported";
	default:
		return "?";
	}
}
