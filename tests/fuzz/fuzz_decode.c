/*
 * Differential fuzzer of hv/x86_decode.c against Zydis 4 (libFuzzer).
 *
 * Every input is decoded in 16-, 32- and 64-bit mode, by the decoder and by
 * Zydis. For an instruction the decoder accepts, Zydis must decode it too,
 * to the same length, operation, operand and address size, LOCK/REP, and
 * the same operands: registers (with their size), the memory operand
 * (segment, base, index, scale, displacement, RIP-relative) and the
 * immediate. For one it refuses, Zydis must refuse it as well unless it is
 * outside the supported set (must_support() below). The decoder must also
 * never read outside the buffer (libFuzzer hands over an exactly-sized heap
 * buffer, so ASan sees an over-read), refuse a buffer cut one byte short,
 * and decide the same on the instruction's own bytes alone.
 *
 * Each accepted instruction is then run through x86_emulate() against a
 * made-up memory that sometimes faults, to catch undefined behaviour
 * (UBSan) and to check the RIP and fault invariants.
 *
 * A mismatch prints the bytes, the mode and what differs, then aborts, so
 * that libFuzzer keeps the input.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <Zydis/Zydis.h>

#include "hv/x86_decode.h"
#include "hv/x86_emulate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/** One mode as the decoder and as Zydis know it. */
struct fuzz_mode {
	enum x86_mode mode;
	ZydisMachineMode machine_mode;
	ZydisStackWidth stack_width;
	const char *name;
	ZydisDecoder zydis;
};

static struct fuzz_mode modes[] = {
	{ X86_MODE_16, ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_STACK_WIDTH_16, "16-bit", { 0 } },
	{ X86_MODE_32, ZYDIS_MACHINE_MODE_LEGACY_32, ZYDIS_STACK_WIDTH_32, "32-bit", { 0 } },
	{ X86_MODE_64, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64, "64-bit", { 0 } },
};

/** The input being checked, for the mismatch report. */
static const uint8_t *current_data;
static size_t current_size;
static const struct fuzz_mode *current_mode;

/** Reports a mismatch and aborts (libFuzzer saves the input as a crash). */
static void mismatch(const char *what, int64_t ours, int64_t theirs)
{
	fprintf(stderr, "fuzz_decode: %s mismatch in %s mode: ours %" PRId64 " (0x%" PRIx64
		"), Zydis %" PRId64 " (0x%" PRIx64 ")\n  bytes:",
		what, current_mode->name, ours, (uint64_t)ours, theirs, (uint64_t)theirs);
	for (size_t i = 0; i < current_size && i < 16; i++) {
		fprintf(stderr, " %02x", current_data[i]);
	}
	fprintf(stderr, "\n");
	abort();
}

/** Checks one property; reports what with both values when it does not hold. */
static void expect_equal(const char *what, int64_t ours, int64_t theirs)
{
	if (ours != theirs) {
		mismatch(what, ours, theirs);
	}
}

/** The mask of a size-byte value. */
static uint64_t mask_of(unsigned int size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

/** A Zydis general-purpose register as the decoder numbers it, with its size; false if none. */
static bool zydis_gpr(ZydisRegister r, int *num, unsigned int *size)
{
	static const struct {
		ZydisRegister first, last;
		int base;
		unsigned int size;
	} ranges[] = {
		{ ZYDIS_REGISTER_AL, ZYDIS_REGISTER_BL, X86_REG_RAX, 1 },
		{ ZYDIS_REGISTER_AH, ZYDIS_REGISTER_BH, X86_REG_AH, 1 },
		{ ZYDIS_REGISTER_SPL, ZYDIS_REGISTER_R15B, X86_REG_RSP, 1 },
		{ ZYDIS_REGISTER_AX, ZYDIS_REGISTER_R15W, X86_REG_RAX, 2 },
		{ ZYDIS_REGISTER_EAX, ZYDIS_REGISTER_R15D, X86_REG_RAX, 4 },
		{ ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_R15, X86_REG_RAX, 8 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		if (r >= ranges[i].first && r <= ranges[i].last) {
			*num = ranges[i].base + (int)(r - ranges[i].first);
			*size = ranges[i].size;
			return true;
		}
	}
	return false;
}

/** A Zydis segment register as an enum x86_segment; -1 if none. */
static int zydis_segment(ZydisRegister r)
{
	if (r >= ZYDIS_REGISTER_ES && r <= ZYDIS_REGISTER_GS) {
		return (int)(r - ZYDIS_REGISTER_ES);
	}
	return -1;
}

/** The Zydis mnemonic the decoder's operation must come out as. */
static ZydisMnemonic expected_mnemonic(const struct x86_insn *insn)
{
	static const ZydisMnemonic movs[] = { ZYDIS_MNEMONIC_MOVSB, ZYDIS_MNEMONIC_MOVSW, 0,
					      ZYDIS_MNEMONIC_MOVSD, 0, 0, 0, ZYDIS_MNEMONIC_MOVSQ };
	static const ZydisMnemonic stos[] = { ZYDIS_MNEMONIC_STOSB, ZYDIS_MNEMONIC_STOSW, 0,
					      ZYDIS_MNEMONIC_STOSD, 0, 0, 0, ZYDIS_MNEMONIC_STOSQ };
	static const ZydisMnemonic ops[X86_OP_COUNT] = {
		[X86_OP_MOV] = ZYDIS_MNEMONIC_MOV, [X86_OP_MOVZX] = ZYDIS_MNEMONIC_MOVZX,
		[X86_OP_MOVSX] = ZYDIS_MNEMONIC_MOVSX, [X86_OP_MOVSXD] = ZYDIS_MNEMONIC_MOVSXD,
		[X86_OP_ADD] = ZYDIS_MNEMONIC_ADD, [X86_OP_OR] = ZYDIS_MNEMONIC_OR,
		[X86_OP_ADC] = ZYDIS_MNEMONIC_ADC, [X86_OP_SBB] = ZYDIS_MNEMONIC_SBB,
		[X86_OP_AND] = ZYDIS_MNEMONIC_AND, [X86_OP_SUB] = ZYDIS_MNEMONIC_SUB,
		[X86_OP_XOR] = ZYDIS_MNEMONIC_XOR, [X86_OP_CMP] = ZYDIS_MNEMONIC_CMP,
		[X86_OP_TEST] = ZYDIS_MNEMONIC_TEST, [X86_OP_XCHG] = ZYDIS_MNEMONIC_XCHG,
		[X86_OP_BT] = ZYDIS_MNEMONIC_BT, [X86_OP_BTS] = ZYDIS_MNEMONIC_BTS,
		[X86_OP_BTR] = ZYDIS_MNEMONIC_BTR, [X86_OP_BTC] = ZYDIS_MNEMONIC_BTC,
	};

	if (insn->op == X86_OP_MOVS) {
		return movs[insn->op_size - 1];
	}
	if (insn->op == X86_OP_STOS) {
		return stos[insn->op_size - 1];
	}
	return ops[insn->op];
}

/**
 * Whether Zydis's instruction belongs to the set the decoder claims to
 * support, so that refusing it is a bug. Left out on purpose: 82 (an alias
 * of 80 outside 64-bit mode), F6/F7 /1 (an undocumented TEST alias), C6/C7
 * with other than /0 (XABORT, XBEGIN), the register-only MOV/XCHG forms and
 * MOVSXD with a 16-bit operand size.
 */
static bool must_support(const ZydisDecodedInstruction *zi, enum x86_mode mode)
{
	uint8_t op = zi->opcode;

	if (zi->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
		return false;
	}
	if (zi->opcode_map == ZYDIS_OPCODE_MAP_0F) {
		if (op == 0xba) {
			return zi->raw.modrm.reg >= 4;
		}
		return op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb || op == 0xb6 ||
		       op == 0xb7 || op == 0xbe || op == 0xbf;
	}
	if (zi->opcode_map != ZYDIS_OPCODE_MAP_DEFAULT) {
		return false;
	}
	if ((op < 0x40 && (op & 7) < 6) || op == 0x80 || op == 0x81 || op == 0x83 ||
	    (op >= 0x84 && op <= 0x8b) || (op >= 0xa0 && op <= 0xa5) || (op >= 0xa8 && op <= 0xab)) {
		return true;
	}
	if (op == 0xc6 || op == 0xc7 || op == 0xf6 || op == 0xf7) {
		return zi->raw.modrm.reg == 0;
	}
	/* 16-bit MOVSXD is refused: the SDM and Zydis disagree on its source width. */
	return op == 0x63 && mode == X86_MODE_64 && zi->operand_width != 16;
}

/**
 * Zydis 4.0 bug zyantific/zydis#592 (fixed after 4.0 by #593): with a 32-bit
 * address size in 64-bit mode, REX.B and SIB.base 101 under mod 00, it
 * reports [r13d] without the displacement instead of [disp32] (REX.B is not
 * decoded there: SDM Vol. 2, Table 2-5). Base and displacement are then not
 * comparable.
 */
static bool zydis_bug_592(const struct x86_insn *insn)
{
	return insn->mode == X86_MODE_64 && insn->addr_size == 4 && insn->has_sib &&
	       (insn->rex & X86_REX_B) != 0 && (insn->modrm >> 6) == 0 && (insn->sib & 7) == 5;
}

/** The memory operand against Zydis's: segment, base, index, scale, displacement. */
static void compare_memory(const struct x86_insn *insn, const ZydisDecodedOperand *zop)
{
	const struct x86_mem *mem = &insn->rm.mem;
	int base = X86_REG_NONE, index = X86_REG_NONE;
	unsigned int size = 0;

	expect_equal("memory operand present", insn->rm.kind, X86_OPERAND_MEM);
	expect_equal("memory segment", mem->seg, zydis_segment(zop->mem.segment));
	expect_equal("segment field", insn->seg, mem->seg);
	expect_equal("memory operand size", insn->rm_size * 8, zop->size);
	if (zydis_bug_592(insn)) {
		expect_equal("base", mem->base, X86_REG_NONE);
	} else if (zop->mem.base == ZYDIS_REGISTER_RIP || zop->mem.base == ZYDIS_REGISTER_EIP) {
		expect_equal("rip-relative", mem->rip_relative, true);
		expect_equal("rip-relative base", mem->base, X86_REG_NONE);
	} else {
		expect_equal("rip-relative", mem->rip_relative, false);
		if (zop->mem.base != ZYDIS_REGISTER_NONE && !zydis_gpr(zop->mem.base, &base, &size)) {
			mismatch("base register kind", mem->base, zop->mem.base);
		}
		expect_equal("base", mem->base, base);
	}
	if (zop->mem.index != ZYDIS_REGISTER_NONE && !zydis_gpr(zop->mem.index, &index, &size)) {
		mismatch("index register kind", mem->index, zop->mem.index);
	}
	expect_equal("index", mem->index, index);
	if (index != X86_REG_NONE) {
		expect_equal("scale", mem->scale, zop->mem.scale);
	}
	if (!zydis_bug_592(insn)) {
		expect_equal("displacement",
			     (int64_t)((uint64_t)mem->disp & mask_of(insn->addr_size)),
			     (int64_t)((uint64_t)zop->mem.disp.value & mask_of(insn->addr_size)));
	}
}

/** The registers the decoder names, as (number, size) pairs, at most two. */
static int expected_registers(const struct x86_insn *insn, int nums[2], unsigned int sizes[2])
{
	int n = 0;

	if (insn->reg != X86_REG_NONE) {
		nums[n] = insn->reg;
		sizes[n++] = insn->op_size;
	}
	if (insn->rm.kind == X86_OPERAND_REG) {
		nums[n] = insn->rm.reg;
		sizes[n++] = insn->rm_size;
	}
	return n;
}

/** Finds (num, size) among the decoder's registers not matched yet; marks it used. */
static bool take_register(int nums[2], const unsigned int sizes[2], int count, int num,
			  unsigned int size)
{
	for (int i = 0; i < count; i++) {
		if (nums[i] == num && sizes[i] == size) {
			nums[i] = -1;
			return true;
		}
	}
	return false;
}

/** The explicit (and visible implicit) operands against Zydis's. */
static void compare_operands(const struct x86_insn *insn, const ZydisDecodedInstruction *zi,
			     const ZydisDecodedOperand *zops)
{
	int nums[2];
	unsigned int sizes[2];
	int count = expected_registers(insn, nums, sizes), matched = 0;
	bool memory = false, immediate = false;

	for (int i = 0; i < zi->operand_count; i++) {
		const ZydisDecodedOperand *zop = &zops[i];
		int num;
		unsigned int size;

		if (zop->visibility == ZYDIS_OPERAND_VISIBILITY_HIDDEN) {
			continue;
		}
		if (zop->type == ZYDIS_OPERAND_TYPE_REGISTER) {
			if (!zydis_gpr(zop->reg.value, &num, &size) ||
			    !take_register(nums, sizes, count, num, size)) {
				mismatch("register operand", count, zop->reg.value);
			}
			matched++;
		} else if (zop->type == ZYDIS_OPERAND_TYPE_MEMORY) {
			compare_memory(insn, zop);
			memory = true;
		} else if (zop->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			expect_equal("immediate present", insn->has_imm, true);
			expect_equal("immediate", (int64_t)((uint64_t)insn->imm & mask_of(insn->op_size)),
				     (int64_t)(zop->imm.value.u & mask_of(insn->op_size)));
			immediate = true;
		}
	}
	expect_equal("register operand count", count, matched);
	expect_equal("memory operand", insn->rm.kind == X86_OPERAND_MEM, memory);
	expect_equal("immediate operand", insn->has_imm, immediate);
}

/** MOVS/STOS: the source segment (DS or the override) and ES for the destination. */
static void compare_string(const struct x86_insn *insn, const ZydisDecodedInstruction *zi,
			   const ZydisDecodedOperand *zops)
{
	for (int i = 0; i < zi->operand_count; i++) {
		const ZydisDecodedOperand *zop = &zops[i];
		int base;
		unsigned int size;

		if (zop->type != ZYDIS_OPERAND_TYPE_MEMORY || !zydis_gpr(zop->mem.base, &base, &size)) {
			continue;
		}
		expect_equal("string address size", insn->addr_size, size);
		if (base == X86_REG_RSI) {
			expect_equal("string source segment", insn->seg, zydis_segment(zop->mem.segment));
		} else {
			expect_equal("string destination segment", X86_SEG_ES,
				     zydis_segment(zop->mem.segment));
		}
	}
	expect_equal("rep", insn->rep != X86_REP_NONE,
		     (zi->attributes & (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE |
					ZYDIS_ATTRIB_HAS_REPNE)) != 0);
	expect_equal("string operands", insn->rm.kind, X86_OPERAND_NONE);
}

/** An instruction both decoders accepted: everything must agree. */
static void compare_accepted(const struct x86_insn *insn, const ZydisDecodedInstruction *zi,
			     const ZydisDecodedOperand *zops)
{
	expect_equal("length", insn->length, zi->length);
	expect_equal("mnemonic", expected_mnemonic(insn), zi->mnemonic);
	expect_equal("operand size", insn->op_size * 8, zi->operand_width);
	expect_equal("address size", insn->addr_size * 8, zi->address_width);
	expect_equal("lock", insn->lock, (zi->attributes & ZYDIS_ATTRIB_HAS_LOCK) != 0);
	expect_equal("rex", insn->rex != 0, (zi->attributes & ZYDIS_ATTRIB_HAS_REX) != 0);
	if (insn->op == X86_OP_MOVS || insn->op == X86_OP_STOS) {
		compare_string(insn, zi, zops);
	} else {
		compare_operands(insn, zi, zops);
	}
}

/** Decoder invariants that need no reference: lengths, reasons, re-decoding. */
static void check_self(const struct x86_insn *insn, enum x86_decode_status status)
{
	struct x86_insn again;

	if (status != X86_DECODE_OK) {
		if (insn->reason == NULL || insn->reason[0] == '\0') {
			mismatch("missing reason", status, 0);
		}
		return;
	}
	expect_equal("reason on success", insn->reason != NULL, false);
	if (insn->length == 0 || insn->length > X86_MAX_INSN_LENGTH || insn->length > current_size) {
		mismatch("length bounds", insn->length, (int64_t)current_size);
	}
	/* A moffs (memory operand without ModRM) is an offset, zero-extended. */
	if (insn->rm.kind == X86_OPERAND_MEM && !insn->has_modrm &&
	    (uint64_t)insn->rm.mem.disp > mask_of(insn->addr_size)) {
		mismatch("moffs zero-extension", insn->rm.mem.disp, (int64_t)mask_of(insn->addr_size));
	}
	/* The instruction's own bytes decide: the same result from exactly them... */
	expect_equal("re-decode status", x86_decode(current_data, insn->length, insn->mode, &again), 0);
	expect_equal("re-decode identical", memcmp(&again, insn, sizeof(again)), 0);
	/* ...and one byte fewer is a truncated instruction. */
	expect_equal("truncated by one", x86_decode(current_data, insn->length - 1u, insn->mode, &again),
		     X86_DECODE_TRUNCATED);
}

/** Memory of the emulation smoke test: made-up bytes, faults at offsets ending in 0xff. */
static bool fuzz_read(void *ctx, enum x86_segment seg, uint64_t offset, void *buf,
		      unsigned int size)
{
	if (seg > X86_SEG_GS || size == 0 || size > 8) {
		abort();
	}
	if ((offset & 0xff) == 0xff) {
		return false;
	}
	for (unsigned int i = 0; i < size; i++) {
		((uint8_t *)buf)[i] = (uint8_t)(offset * 0x9d + i * 0x3b);
	}
	return true;
}

/**
 * Writes of the emulation smoke test: accepted unless the offset ends in
 * 0xfe; each is folded into the hash at ctx, so two runs can be compared.
 */
static bool fuzz_write(void *ctx, enum x86_segment seg, uint64_t offset, const void *buf,
		       unsigned int size)
{
	uint64_t *hash = ctx;

	if (seg > X86_SEG_GS || size == 0 || size > 8) {
		abort();
	}
	*hash = (*hash ^ offset ^ ((uint64_t)seg << 56)) * 0x100000001b3ULL;
	for (unsigned int i = 0; i < size; i++) {
		*hash = (*hash ^ ((const uint8_t *)buf)[i]) * 0x100000001b3ULL;
	}
	return (offset & 0xff) != 0xfe;
}

/**
 * x86_insn_gprs_used() names every register the emulator touches: a second
 * run with every other register changed must end the same way, with the same
 * writes, and leave those registers alone.
 */
static void check_gprs_used(const struct x86_insn *insn, const struct x86_regs *start,
			    const struct x86_regs *end, enum x86_emulate_status status,
			    uint64_t writes)
{
	static const struct x86_emulate_ops ops = { fuzz_read, fuzz_write };
	uint16_t used = x86_insn_gprs_used(insn);
	struct x86_regs regs = *start;
	uint64_t writes_again = 0;

	for (unsigned int i = 0; i < 16; i++) {
		if ((used & (1U << i)) == 0) {
			regs.gpr[i] = ~regs.gpr[i] ^ 0x5a5a5a5a5a5a5a5aULL;
		}
	}
	expect_equal("status with unused registers changed",
		     x86_emulate(insn, &regs, &ops, &writes_again), status);
	expect_equal("writes with unused registers changed", (int64_t)writes_again,
		     (int64_t)writes);
	expect_equal("RIP with unused registers changed", (int64_t)regs.rip, (int64_t)end->rip);
	expect_equal("RFLAGS with unused registers changed", (int64_t)regs.rflags,
		     (int64_t)end->rflags);
	for (unsigned int i = 0; i < 16; i++) {
		bool is_used = (used & (1U << i)) != 0;

		if (is_used && regs.gpr[i] != end->gpr[i]) {
			mismatch("used register differs when unused ones change", (int64_t)i, insn->op);
		}
		if (!is_used && (regs.written & (1U << i)) != 0) {
			mismatch("unused register written", (int64_t)i, insn->op);
		}
	}
}

/** Runs an accepted instruction through the emulator: no UB, RIP moves only on success. */
static void emulate_smoke(const struct x86_insn *insn)
{
	static const struct x86_emulate_ops ops = { fuzz_read, fuzz_write };
	struct x86_regs regs;
	struct x86_regs start;
	uint64_t gpr_before[16];
	uint64_t writes = 0;
	enum x86_emulate_status status;
	uint64_t rip;

	for (unsigned int i = 0; i < 16; i++) {
		uint8_t seed = current_data[i % current_size];

		regs.gpr[i] = (uint64_t)seed * 0x0101010101010101ULL ^ ((uint64_t)i << 60);
	}
	regs.gpr[X86_REG_RCX] &= 0x3f; /* keep REP runs short */
	regs.rip = 0x1000;
	regs.rflags = 0x202 | (current_data[0] & 1 ? X86_RFLAGS_DF | X86_RFLAGS_CF : 0);
	regs.written = 0;
	rip = regs.rip;
	memcpy(gpr_before, regs.gpr, sizeof(gpr_before));
	if (!x86_emulate_supported(insn)) {
		mismatch("x86_emulate_supported refused a decoded instruction", insn->op, 0);
	}
	start = regs;
	status = x86_emulate(insn, &regs, &ops, &writes);
	if (status == X86_EMULATE_UNSUPPORTED) {
		mismatch("emulator refused a decoded instruction", insn->op, 0);
	}
	check_gprs_used(insn, &start, &regs, status, writes);
	/* A caller writes back only the registers marked written (hv/mmio.c). */
	for (unsigned int i = 0; i < 16; i++) {
		if (regs.gpr[i] != gpr_before[i] && (regs.written & (1U << i)) == 0) {
			mismatch("register changed but not marked written", (int64_t)i, insn->op);
		}
	}
	if (status == X86_EMULATE_FAULT && regs.rip != rip) {
		mismatch("RIP moved on a fault", (int64_t)regs.rip, (int64_t)rip);
	}
	if (status == X86_EMULATE_OK && regs.rip != rip + insn->length) {
		mismatch("RIP advance", (int64_t)regs.rip, (int64_t)(rip + insn->length));
	}
}

/** One input in one mode. */
static void check_mode(struct fuzz_mode *m)
{
	ZydisDecodedInstruction zi;
	ZydisDecodedOperand zops[ZYDIS_MAX_OPERAND_COUNT];
	struct x86_insn insn;
	enum x86_decode_status status;
	bool zydis_ok;

	current_mode = m;
	status = x86_decode(current_data, current_size, m->mode, &insn);
	check_self(&insn, status);
	zydis_ok = ZYAN_SUCCESS(ZydisDecoderDecodeFull(&m->zydis, current_data, current_size, &zi, zops));
	if (status == X86_DECODE_OK) {
		if (!zydis_ok) {
			mismatch("accepted what Zydis refuses", insn.op, 0);
		}
		compare_accepted(&insn, &zi, zops);
		emulate_smoke(&insn);
	} else if (zydis_ok && (status != X86_DECODE_UNSUPPORTED || must_support(&zi, m->mode))) {
		fprintf(stderr, "fuzz_decode: refused (%s: %s)\n", x86_decode_status_name(status),
			insn.reason);
		mismatch("refused what Zydis decodes", status, zi.mnemonic);
	}
}

/** libFuzzer's entry point: the input in every mode. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialized;

	if (!initialized) {
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			if (!ZYAN_SUCCESS(ZydisDecoderInit(&modes[i].zydis, modes[i].machine_mode,
							   modes[i].stack_width))) {
				abort();
			}
		}
		initialized = true;
	}
	current_data = data;
	current_size = size;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		check_mode(&modes[i]);
	}
	return 0;
}
