/*
 * Host tests of hv/x86_emulate.c: the instruction emulator of the MMIO
 * interpreter.
 *
 * Instructions are decoded from real encodings with hv/x86_decode.c and run
 * on a register file and a fake memory that logs every access and can
 * fault on demand. Results and RFLAGS are checked two ways: against values
 * worked out by hand from the SDM, and against the host CPU itself, which
 * runs the same operation (inline asm between POPFQ and PUSHFQ) on the
 * same inputs, for every operation, every size and a spread of edge and
 * pseudo-random operands. The host comparison covers the defined flags
 * only; what the emulator picks for undefined ones (hv/x86_emulate.h) is
 * checked by the hand-computed tests.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/x86_decode.h"
#include "hv/x86_emulate.h"

#define CF X86_RFLAGS_CF
#define PF X86_RFLAGS_PF
#define AF X86_RFLAGS_AF
#define ZF X86_RFLAGS_ZF
#define SF X86_RFLAGS_SF
#define OF X86_RFLAGS_OF
#define DF X86_RFLAGS_DF
#define STATUS X86_RFLAGS_STATUS
#define RFLAGS_FIXED 0x202ULL /* bit 1 (always set) and IF */

#define MEM_LIMIT 0x10000ULL /* the fake memory: offsets 0 to 64 KiB */
#define MEM_BASE 0x1000ULL   /* where most tests put their operands */
#define MEM_SIZE 0x1000ULL
#define LOG_MAX 64

/** One access the emulator made through the callbacks. */
struct access {
	bool write;
	enum x86_segment seg;
	uint64_t offset;
	unsigned int size;
	uint64_t value;
};

/** The fake guest memory: offsets below MEM_LIMIT in every segment; above, a fault. */
struct fake_memory {
	uint8_t bytes[MEM_LIMIT];
	struct access log[LOG_MAX];
	unsigned int count;   /* accesses made, logged or not */
	int fail_at;          /* index of the access that faults; -1: none */
};

static struct fake_memory mem;
static struct x86_regs regs;

/** Logs an access; false if it is the one set to fault or goes past MEM_LIMIT. */
static bool fake_access(bool write, enum x86_segment seg, uint64_t offset, unsigned int size,
			uint64_t value)
{
	unsigned int index = mem.count++;

	if (index < LOG_MAX) {
		mem.log[index] = (struct access){ write, seg, offset, size, value };
	}
	if ((int)index == mem.fail_at) {
		return false;
	}
	return offset < MEM_LIMIT && offset + size <= MEM_LIMIT;
}

/** The read callback of the fake memory. */
static bool fake_read(void *ctx, enum x86_segment seg, uint64_t offset, void *buf,
		      unsigned int size)
{
	uint64_t value = 0;

	assert_ptr_equal(ctx, &mem);
	if (!fake_access(false, seg, offset, size, 0)) {
		return false;
	}
	memcpy(buf, &mem.bytes[offset], size);
	memcpy(&value, buf, size);
	if (mem.count <= LOG_MAX) {
		mem.log[mem.count - 1].value = value;
	}
	return true;
}

/** The write callback of the fake memory. */
static bool fake_write(void *ctx, enum x86_segment seg, uint64_t offset, const void *buf,
		       unsigned int size)
{
	uint64_t value = 0;

	assert_ptr_equal(ctx, &mem);
	memcpy(&value, buf, size);
	if (!fake_access(true, seg, offset, size, value)) {
		return false;
	}
	memcpy(&mem.bytes[offset], buf, size);
	return true;
}

static const struct x86_emulate_ops fake_ops = { fake_read, fake_write };

/** Fresh registers (recognisable garbage), memory with a byte pattern, no fault. */
static int setup(void **state)
{
	for (unsigned int i = 0; i < 16; i++) {
		regs.gpr[i] = 0x1111111111111111ULL * (i + 1);
	}
	regs.rip = 0x400000;
	regs.rflags = RFLAGS_FIXED;
	for (size_t i = 0; i < MEM_LIMIT; i++) {
		mem.bytes[i] = (uint8_t)(i * 7 + 3);
	}
	mem.count = 0;
	mem.fail_at = -1;
	return 0;
}

/** Decodes bytes in mode (which must succeed) and emulates them on regs and mem. */
static enum x86_emulate_status emulate_bytes(enum x86_mode mode, const uint8_t *bytes, size_t n,
					     struct x86_insn *insn)
{
	enum x86_decode_status status = x86_decode(bytes, n, mode, insn);

	if (status != X86_DECODE_OK) {
		fail_msg("decode failed: %s", insn->reason);
	}
	return x86_emulate(insn, &regs, &fake_ops, &mem);
}

/* Emulates the instruction given as bytes; insn holds the decoded form afterwards. */
#define EMULATE(mode, ...) \
	emulate_bytes((mode), (const uint8_t[]){ __VA_ARGS__ }, \
		      sizeof((const uint8_t[]){ __VA_ARGS__ }), &insn)

/** Reads size bytes of the fake memory at offset. */
static uint64_t mem_get(uint64_t offset, unsigned int size)
{
	uint64_t value = 0;

	memcpy(&value, &mem.bytes[offset], size);
	return value;
}

/** Writes size bytes of the fake memory at offset. */
static void mem_set(uint64_t offset, uint64_t value, unsigned int size)
{
	memcpy(&mem.bytes[offset], &value, size);
}

/** Checks one logged access. */
static void assert_access(unsigned int index, bool write, enum x86_segment seg, uint64_t offset,
			  unsigned int size)
{
	assert_true(index < mem.count);
	assert_int_equal(mem.log[index].write, write);
	assert_int_equal(mem.log[index].seg, seg);
	assert_int_equal(mem.log[index].offset, offset);
	assert_int_equal(mem.log[index].size, size);
}

/* ------------------------------------------------------------------------
 * The host CPU as oracle
 * ------------------------------------------------------------------------ */

/**
 * One host function per operation and size: loads RFLAGS, runs
 * "insn src, dst" on registers, stores RFLAGS. The stack pointer steps
 * over the red zone first, since PUSHFQ writes below it.
 */
#define HOST_OP(name, insn, type, constraint) \
	static uint64_t host_##name(uint64_t a, uint64_t b, uint64_t flags_in, uint64_t *flags_out) \
	{ \
		type x = (type)a, y = (type)b; \
		uint64_t flags; \
		__asm__ volatile("sub $128, %%rsp\n\tpush %[in]\n\tpopfq\n\t" insn " %[y], %[x]\n\t" \
				 "pushfq\n\tpop %[out]\n\tadd $128, %%rsp" \
				 : [x] "+" constraint(x), [out] "=&r"(flags) \
				 : [y] constraint(y), [in] "r"(flags_in) \
				 : "cc", "memory"); \
		*flags_out = flags; \
		return (uint64_t)x; \
	}

#define HOST_ALU_SIZES(op) \
	HOST_OP(op##8, #op "b", uint8_t, "q") \
	HOST_OP(op##16, #op "w", uint16_t, "r") \
	HOST_OP(op##32, #op "l", uint32_t, "r") \
	HOST_OP(op##64, #op "q", uint64_t, "r")

#define HOST_BIT_SIZES(op) \
	HOST_OP(op##16, #op "w", uint16_t, "r") \
	HOST_OP(op##32, #op "l", uint32_t, "r") \
	HOST_OP(op##64, #op "q", uint64_t, "r")

HOST_ALU_SIZES(add)
HOST_ALU_SIZES(or)
HOST_ALU_SIZES(adc)
HOST_ALU_SIZES(sbb)
HOST_ALU_SIZES(and)
HOST_ALU_SIZES(sub)
HOST_ALU_SIZES(xor)
HOST_ALU_SIZES(cmp)
HOST_ALU_SIZES(test)
HOST_BIT_SIZES(bt)
HOST_BIT_SIZES(bts)
HOST_BIT_SIZES(btr)
HOST_BIT_SIZES(btc)

typedef uint64_t (*host_fn)(uint64_t a, uint64_t b, uint64_t flags_in, uint64_t *flags_out);

/** An operation at one size, its host function and the flags the SDM defines for it. */
struct host_case {
	enum x86_op op;
	unsigned int size;
	host_fn fn;
	uint64_t defined_flags;
};

#define LOGIC_FLAGS (CF | PF | ZF | SF | OF) /* AF undefined */
#define ALU_CASES(op, fn, flags) \
	{ op, 1, host_##fn##8, flags }, { op, 2, host_##fn##16, flags }, \
	{ op, 4, host_##fn##32, flags }, { op, 8, host_##fn##64, flags }
#define BIT_CASES(op, fn) \
	{ op, 2, host_##fn##16, CF }, { op, 4, host_##fn##32, CF }, { op, 8, host_##fn##64, CF }

static const struct host_case host_cases[] = {
	ALU_CASES(X86_OP_ADD, add, STATUS),
	ALU_CASES(X86_OP_OR, or, LOGIC_FLAGS),
	ALU_CASES(X86_OP_ADC, adc, STATUS),
	ALU_CASES(X86_OP_SBB, sbb, STATUS),
	ALU_CASES(X86_OP_AND, and, LOGIC_FLAGS),
	ALU_CASES(X86_OP_SUB, sub, STATUS),
	ALU_CASES(X86_OP_XOR, xor, LOGIC_FLAGS),
	ALU_CASES(X86_OP_CMP, cmp, STATUS),
	ALU_CASES(X86_OP_TEST, test, LOGIC_FLAGS),
	BIT_CASES(X86_OP_BT, bt),
	BIT_CASES(X86_OP_BTS, bts),
	BIT_CASES(X86_OP_BTR, btr),
	BIT_CASES(X86_OP_BTC, btc),
};

/** The register form "op rAX, rCX" (r/m = rAX, reg = rCX) of an operation at a size. */
static size_t encode_register_form(uint8_t *out, enum x86_op op, unsigned int size)
{
	static const uint8_t alu_rows[X86_OP_COUNT] = {
		[X86_OP_ADD] = 0x00, [X86_OP_OR] = 0x08, [X86_OP_ADC] = 0x10, [X86_OP_SBB] = 0x18,
		[X86_OP_AND] = 0x20, [X86_OP_SUB] = 0x28, [X86_OP_XOR] = 0x30, [X86_OP_CMP] = 0x38,
	};
	static const uint8_t bit_opcodes[X86_OP_COUNT] = {
		[X86_OP_BT] = 0xa3, [X86_OP_BTS] = 0xab, [X86_OP_BTR] = 0xb3, [X86_OP_BTC] = 0xbb,
	};
	size_t n = 0;

	if (size == 2) {
		out[n++] = 0x66;
	} else if (size == 8) {
		out[n++] = 0x48;
	}
	if (bit_opcodes[op] != 0) {
		out[n++] = 0x0f;
		out[n++] = bit_opcodes[op];
	} else if (op == X86_OP_TEST) {
		out[n++] = size == 1 ? 0x84 : 0x85;
	} else {
		out[n++] = (uint8_t)(alu_rows[op] + (size == 1 ? 0 : 1));
	}
	out[n++] = 0xc8; /* mod 11, reg rCX, r/m rAX */
	return n;
}

/** Runs one host case on (a, b, flags) in both, and compares result and defined flags. */
static void compare_with_host(const struct host_case *c, uint64_t a, uint64_t b, uint64_t flags)
{
	uint64_t mask = c->size == 8 ? ~0ULL : (1ULL << (8 * c->size)) - 1;
	uint64_t host_flags, host_result = c->fn(a, b, flags, &host_flags);
	bool writes = c->op != X86_OP_CMP && c->op != X86_OP_TEST && c->op != X86_OP_BT;
	uint8_t bytes[8];
	struct x86_insn insn;
	size_t n = encode_register_form(bytes, c->op, c->size);

	regs.gpr[X86_REG_RAX] = a;
	regs.gpr[X86_REG_RCX] = b;
	regs.rflags = flags;
	assert_int_equal(x86_decode(bytes, n, X86_MODE_64, &insn), X86_DECODE_OK);
	assert_int_equal(x86_emulate(&insn, &regs, &fake_ops, &mem), X86_EMULATE_OK);
	if (((regs.rflags ^ host_flags) & c->defined_flags) != 0 ||
	    (writes && ((regs.gpr[X86_REG_RAX] ^ host_result) & mask) != 0)) {
		fail_msg("%s/%u a=%#llx b=%#llx flags=%#llx: emulator %#llx flags %#llx, host %#llx "
			 "flags %#llx", x86_op_name(c->op), c->size * 8, (unsigned long long)a,
			 (unsigned long long)b, (unsigned long long)flags,
			 (unsigned long long)regs.gpr[X86_REG_RAX], (unsigned long long)regs.rflags,
			 (unsigned long long)host_result, (unsigned long long)host_flags);
	}
	/* Flags outside the status flags stay as they were. */
	assert_int_equal(regs.rflags & ~STATUS, flags & ~STATUS);
}

/** Operand values at the edges of every size. */
static const uint64_t edge_values[] = {
	0, 1, 2, 0x0f, 0x10, 0x1f, 0x3f, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x7fff, 0x8000,
	0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL,
	0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xfffffffffffffffeULL, ~0ULL,
	0x0123456789abcdefULL,
};

/** A deterministic pseudo-random sequence (64-bit LCG, high bits mixed down). */
static uint64_t next_random(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return *seed ^ (*seed >> 29);
}

/** Every operation and size against the host on edge operands, both carry-ins, two flag sets. */
static void test_emulate_alu_matches_host_on_edges(void **state)
{
	static const uint64_t flag_sets[] = { RFLAGS_FIXED, RFLAGS_FIXED | STATUS,
					      RFLAGS_FIXED | CF, RFLAGS_FIXED | ZF | AF };

	for (size_t c = 0; c < ARRAY_SIZE(host_cases); c++) {
		for (size_t i = 0; i < ARRAY_SIZE(edge_values); i++) {
			for (size_t j = 0; j < ARRAY_SIZE(edge_values); j++) {
				for (size_t f = 0; f < ARRAY_SIZE(flag_sets); f++) {
					compare_with_host(&host_cases[c], edge_values[i],
							  edge_values[j], flag_sets[f]);
				}
			}
		}
	}
}

/** Every operation and size against the host on 20000 pseudo-random operand pairs. */
static void test_emulate_alu_matches_host_on_random(void **state)
{
	uint64_t seed = 0x5eed;

	for (size_t c = 0; c < ARRAY_SIZE(host_cases); c++) {
		for (unsigned int i = 0; i < 20000; i++) {
			uint64_t a = next_random(&seed), b = next_random(&seed);
			uint64_t flags = RFLAGS_FIXED | (next_random(&seed) & STATUS);

			compare_with_host(&host_cases[c], a, b, flags);
		}
	}
}

/* ------------------------------------------------------------------------
 * Results and flags by hand (SDM Vol. 2, each instruction's "Flags Affected")
 * ------------------------------------------------------------------------ */

/** An ALU operation on register operands, with the result and every status flag expected. */
struct sdm_case {
	const char *name;
	uint8_t bytes[4];
	uint8_t nbytes;
	uint64_t rax, rcx, flags_in;
	uint64_t result; /* RAX afterwards */
	uint64_t flags;  /* status flags afterwards */
};

#define SDM_BYTES(...) .bytes = { __VA_ARGS__ }, .nbytes = sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct sdm_case sdm_cases[] = {
	{ "add al, cl: 0x80 + 0x80 = 0x00 (carry, overflow)", SDM_BYTES(0x00, 0xc8),
	  0x80, 0x80, 0, 0x00, CF | ZF | PF | OF },
	{ "add eax, ecx: 0x7fffffff + 1 (signed overflow, AF from bit 3)", SDM_BYTES(0x01, 0xc8),
	  0x7fffffff, 1, 0, 0x80000000, SF | OF | AF | PF },
	{ "add ax, cx: 0xfff0 + 0x0011 = 0x0001, upper bits kept", SDM_BYTES(0x66, 0x01, 0xc8),
	  0xaaaa0000fff0ULL, 0x11, 0, 0xaaaa00000001ULL, CF },
	{ "adc al, cl: 0xff + 0 + CF = 0x00", SDM_BYTES(0x10, 0xc8), 0xff, 0, CF,
	  0x00, CF | ZF | PF | AF },
	{ "adc rax, rcx: 0x7fff... + 0 + CF (overflow)", SDM_BYTES(0x48, 0x11, 0xc8),
	  0x7fffffffffffffffULL, 0, CF, 0x8000000000000000ULL, SF | OF | AF | PF },
	{ "sub eax, ecx: 0 - 1 = 0xffffffff (borrow)", SDM_BYTES(0x29, 0xc8), 0, 1, 0,
	  0xffffffff, CF | SF | AF | PF },
	{ "sub al, cl: 0x80 - 1 = 0x7f (overflow)", SDM_BYTES(0x28, 0xc8), 0x80, 1, 0,
	  0x7f, OF | AF },
	{ "sbb al, cl: 0 - 0 - CF = 0xff", SDM_BYTES(0x18, 0xc8), 0, 0, CF,
	  0xff, CF | SF | AF | PF },
	{ "sbb eax, ecx: 5 - 5 - CF = -1", SDM_BYTES(0x19, 0xc8), 5, 5, CF,
	  0xffffffff, CF | SF | AF | PF },
	{ "cmp al, cl: 0x80 vs 1 (no write)", SDM_BYTES(0x38, 0xc8), 0x80, 1, 0,
	  0x80, OF | AF },
	{ "cmp eax, ecx: equal", SDM_BYTES(0x39, 0xc8), 0x1234, 0x1234, CF | SF,
	  0x1234, ZF | PF },
	{ "and al, cl: 0xf0 & 0x0f = 0 (CF, OF, AF cleared)", SDM_BYTES(0x20, 0xc8), 0xf0, 0x0f,
	  CF | OF | AF, 0x00, ZF | PF },
	{ "or eax, ecx: sign set, parity odd", SDM_BYTES(0x09, 0xc8), 0x80000000, 0x01, CF | OF | AF,
	  0x80000001, SF },
	{ "xor rax, rcx: x ^ x = 0", SDM_BYTES(0x48, 0x31, 0xc8), 0x123456789ULL, 0x123456789ULL,
	  CF | SF | OF | AF, 0, ZF | PF },
	{ "test al, cl: no write, AF cleared", SDM_BYTES(0x84, 0xc8), 0x81, 0x80, CF | OF | AF,
	  0x81, SF },
	{ "bt eax, ecx: bit 31 set; other flags kept", SDM_BYTES(0x0f, 0xa3, 0xc8), 0x80000000, 31,
	  ZF | SF | OF | AF | PF, 0x80000000, CF | ZF | SF | OF | AF | PF },
	{ "bt eax, ecx: offset taken mod 32", SDM_BYTES(0x0f, 0xa3, 0xc8), 0x2, 33, CF,
	  0x2, CF },
	{ "bts eax, ecx: clear bit set, CF=0", SDM_BYTES(0x0f, 0xab, 0xc8), 0, 4, CF | PF,
	  0x10, PF },
	{ "btr rax, rcx: bit 63 cleared, CF=1", SDM_BYTES(0x48, 0x0f, 0xb3, 0xc8),
	  0x8000000000000001ULL, 63, 0, 0x1, CF },
	{ "btc ax, cx: bit 15 flipped, CF=0", SDM_BYTES(0x66, 0x0f, 0xbb, 0xc8), 0x0, 15, ZF,
	  0x8000, ZF },
};

/** Each hand-computed case: the result in RAX and exactly the status flags expected. */
static void test_emulate_alu_sdm_values(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(sdm_cases); i++) {
		const struct sdm_case *c = &sdm_cases[i];
		struct x86_insn insn;

		regs.gpr[X86_REG_RAX] = c->rax;
		regs.gpr[X86_REG_RCX] = c->rcx;
		regs.rflags = RFLAGS_FIXED | c->flags_in;
		assert_int_equal(emulate_bytes(X86_MODE_64, c->bytes, c->nbytes, &insn), X86_EMULATE_OK);
		if (regs.gpr[X86_REG_RAX] != c->result || regs.rflags != (RFLAGS_FIXED | c->flags)) {
			fail_msg("%s: rax %#llx flags %#llx, expected %#llx flags %#llx", c->name,
				 (unsigned long long)regs.gpr[X86_REG_RAX],
				 (unsigned long long)regs.rflags, (unsigned long long)c->result,
				 (unsigned long long)(RFLAGS_FIXED | c->flags));
		}
		assert_int_equal(regs.gpr[X86_REG_RCX], c->rcx);
	}
}

/** An immediate is sign-extended to the operand size: 83 /0 ib and REX.W 81 /0 id. */
static void test_emulate_alu_immediates(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = 0x10;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x83, 0xc0, 0xff), X86_EMULATE_OK); /* add rax, -1 */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xf);
	assert_int_equal(regs.rflags & STATUS, CF | PF);
	regs.gpr[X86_REG_RAX] = 0;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x81, 0xc8, 0x00, 0x00, 0x00, 0x80),
			 X86_EMULATE_OK); /* or rax, 0xffffffff80000000 */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffff80000000ULL);
	regs.gpr[X86_REG_RAX] = 0xffffffffffffff7fULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x04, 0x81), X86_EMULATE_OK); /* add al, 0x81 */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffffffffff00ULL);
	assert_int_equal(regs.rflags & STATUS, CF | ZF | PF | AF);
	regs.gpr[X86_REG_RAX] = 0x1234;
	assert_int_equal(EMULATE(X86_MODE_16, 0xa9, 0x00, 0x10), X86_EMULATE_OK); /* test ax, 0x1000 */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x1234);
	assert_int_equal(regs.rflags & STATUS, PF);
}

/* ------------------------------------------------------------------------
 * Register write-back
 * ------------------------------------------------------------------------ */

/** 32-bit writes zero-extend, 16- and 8-bit writes merge (SDM Vol. 1, 3.4.1.1). */
static void test_emulate_register_write_sizes(void **state)
{
	struct x86_insn insn;

	mem_set(MEM_BASE, 0x8877665544332211ULL, 8);
	regs.gpr[X86_REG_RBX] = MEM_BASE;
	regs.gpr[X86_REG_RAX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x8b, 0x03), X86_EMULATE_OK); /* mov eax, [rbx] */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x44332211ULL);
	regs.gpr[X86_REG_RAX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x66, 0x8b, 0x03), X86_EMULATE_OK); /* mov ax, [rbx] */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffffffff2211ULL);
	regs.gpr[X86_REG_RAX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x8a, 0x03), X86_EMULATE_OK); /* mov al, [rbx] */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffffffffff11ULL);
	regs.gpr[X86_REG_RAX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x8b, 0x03), X86_EMULATE_OK); /* mov rax, [rbx] */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x8877665544332211ULL);
	/* Outside 64-bit mode too: the deterministic choice of hv/x86_emulate.c. */
	regs.gpr[X86_REG_RAX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_32, 0x8b, 0x03), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x44332211ULL);
}

/** AH-BH are bits 15:8 without REX; with REX, the same encodings are SPL-DIL. */
static void test_emulate_high_byte_registers(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = 0x1111111111111111ULL;
	regs.gpr[X86_REG_RSP] = 0x4444444444444444ULL;
	regs.gpr[X86_REG_RBX] = 0x000000000000ab00ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x88, 0xfc), X86_EMULATE_OK); /* mov ah, bh */
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x111111111111ab11ULL);
	assert_int_equal(regs.gpr[X86_REG_RSP], 0x4444444444444444ULL);
	assert_int_equal(EMULATE(X86_MODE_64, 0x40, 0x88, 0xdc), X86_EMULATE_OK); /* mov spl, bl */
	assert_int_equal(regs.gpr[X86_REG_RSP], 0x4444444444444400ULL);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x111111111111ab11ULL);
	regs.gpr[X86_REG_RDX] = 0x00000000000080ffULL;
	regs.gpr[X86_REG_RCX] = ~0ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xbe, 0xce), X86_EMULATE_OK); /* movsx ecx, dh */
	assert_int_equal(regs.gpr[X86_REG_RCX], 0xffffff80ULL);
	regs.gpr[X86_REG_RCX] = 0x0102;
	assert_int_equal(EMULATE(X86_MODE_32, 0x86, 0xe9), X86_EMULATE_OK); /* xchg cl, ch */
	assert_int_equal(regs.gpr[X86_REG_RCX], 0x0201);
}

/** MOVZX, MOVSX and MOVSXD extend from the r/m size to the operand size. */
static void test_emulate_movzx_movsx(void **state)
{
	struct x86_insn insn;

	mem_set(MEM_BASE, 0x80000000fff0ff80ULL, 8);
	regs.gpr[X86_REG_RSI] = MEM_BASE;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x0f, 0xb6, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x80); /* movzx rax, byte */
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xb7, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xff80); /* movzx eax, word */
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x0f, 0xbe, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffffffffff80ULL); /* movsx rax, byte */
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xbf, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffff80ULL); /* movsx eax, word: zero-extended */
	regs.gpr[X86_REG_RAX] = 0x1111111111111111ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x66, 0x0f, 0xbe, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x111111111111ff80ULL); /* movsx ax, byte: merge */
	regs.gpr[X86_REG_RSI] = MEM_BASE + 4;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x63, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0xffffffff80000000ULL); /* movsxd rax, dword */
	assert_access(mem.count - 1, false, X86_SEG_DS, MEM_BASE + 4, 4);
	assert_int_equal(EMULATE(X86_MODE_64, 0x63, 0x06), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RAX], 0x80000000ULL); /* movsxd eax, dword */
}

/* ------------------------------------------------------------------------
 * Memory operands
 * ------------------------------------------------------------------------ */

/** MOV to and from memory: one access of the operand size at the effective address. */
static void test_emulate_mov_memory(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE + 0x10;
	regs.gpr[X86_REG_RCX] = 0xdeadbeefcafef00dULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x89, 0x08), X86_EMULATE_OK); /* mov [rax], ecx */
	assert_int_equal(mem.count, 1);
	assert_access(0, true, X86_SEG_DS, MEM_BASE + 0x10, 4);
	assert_int_equal(mem_get(MEM_BASE + 0x10, 4), 0xcafef00d);
	assert_int_equal(regs.rip, 0x400002);
	assert_int_equal(EMULATE(X86_MODE_64, 0x66, 0xc7, 0x40, 0x08, 0x34, 0x12), X86_EMULATE_OK);
	assert_access(1, true, X86_SEG_DS, MEM_BASE + 0x18, 2); /* mov word [rax+8], 0x1234 */
	assert_int_equal(mem_get(MEM_BASE + 0x18, 2), 0x1234);
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0xc7, 0x00, 0xfe, 0xff, 0xff, 0xff),
			 X86_EMULATE_OK); /* mov qword [rax], -2 */
	assert_int_equal(mem_get(MEM_BASE + 0x10, 8), 0xfffffffffffffffeULL);
	assert_int_equal(EMULATE(X86_MODE_64, 0x8a, 0x60, 0x08), X86_EMULATE_OK); /* mov ah, [rax+8] */
	assert_int_equal(regs.gpr[X86_REG_RAX], ((MEM_BASE + 0x10) & ~0xff00ULL) | 0x3400);
	assert_int_equal(regs.rflags, RFLAGS_FIXED); /* MOV touches no flag */
}

/** RIP-relative offsets count from the next instruction; with 67 they are EIP-relative. */
static void test_emulate_rip_relative(void **state)
{
	struct x86_insn insn;

	regs.rip = MEM_BASE + 0x100;
	mem_set(MEM_BASE + 0x100 + 6 + 0x20, 0x55aa, 2);
	assert_int_equal(EMULATE(X86_MODE_64, 0x8b, 0x05, 0x20, 0x00, 0x00, 0x00), X86_EMULATE_OK);
	assert_access(0, false, X86_SEG_DS, MEM_BASE + 0x100 + 6 + 0x20, 4);
	assert_int_equal(regs.gpr[X86_REG_RAX] & 0xffff, 0x55aa);
	assert_int_equal(regs.rip, MEM_BASE + 0x106);
	regs.rip = 0x100000000ULL + MEM_BASE; /* EIP wraps the upper half away */
	assert_int_equal(EMULATE(X86_MODE_64, 0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00),
			 X86_EMULATE_OK);
	assert_access(1, false, X86_SEG_DS, MEM_BASE + 7 + 0x10, 4);
}

/** Effective addresses wrap at the address size: 16 bits, or 32 bits with 67. */
static void test_emulate_address_size_wraps(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RBX] = 0xffffffffffff0ff0ULL; /* BX = 0x0ff0 */
	regs.gpr[X86_REG_RSI] = 0x0000000000000020ULL;
	assert_int_equal(EMULATE(X86_MODE_16, 0x8b, 0x00), X86_EMULATE_OK); /* mov ax, [bx+si] */
	assert_access(0, false, X86_SEG_DS, 0x1010, 2);
	regs.gpr[X86_REG_RBX] = 0xffff;
	regs.gpr[X86_REG_RSI] = MEM_BASE + 1;
	assert_int_equal(EMULATE(X86_MODE_16, 0x8b, 0x00), X86_EMULATE_OK); /* wraps to 0x1000 */
	assert_access(1, false, X86_SEG_DS, MEM_BASE, 2);
	regs.gpr[X86_REG_RBP] = MEM_BASE + 2;
	assert_int_equal(EMULATE(X86_MODE_16, 0x8b, 0x46, 0xfe), X86_EMULATE_OK); /* [bp-2] */
	assert_access(2, false, X86_SEG_SS, MEM_BASE, 2);
	regs.gpr[X86_REG_RAX] = 0x500000000ULL + MEM_BASE + 0x40;
	assert_int_equal(EMULATE(X86_MODE_64, 0x67, 0x8b, 0x00), X86_EMULATE_OK); /* [eax] */
	assert_access(3, false, X86_SEG_DS, MEM_BASE + 0x40, 4);
	regs.gpr[X86_REG_RCX] = 0x10;
	regs.gpr[X86_REG_R12] = 0x8;
	assert_int_equal(EMULATE(X86_MODE_64, 0x42, 0x8b, 0x84, 0xa1, 0x00, 0x10, 0x00, 0x00),
			 X86_EMULATE_OK); /* mov eax, [rcx+r12*4+0x1000] */
	assert_access(4, false, X86_SEG_DS, 0x1000 + 0x10 + 0x20, 4);
	assert_int_equal(x86_effective_address(&insn, &regs), 0x1030);
}

/** The callbacks get the effective segment: an override, SS for rBP/rSP, ES for STOS. */
static void test_emulate_segments_reach_callbacks(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE;
	regs.gpr[X86_REG_RSP] = MEM_BASE + 8;
	regs.gpr[X86_REG_RDI] = MEM_BASE + 16;
	assert_int_equal(EMULATE(X86_MODE_64, 0x64, 0x8b, 0x08), X86_EMULATE_OK); /* fs: [rax] */
	assert_int_equal(mem.log[0].seg, X86_SEG_FS);
	assert_int_equal(EMULATE(X86_MODE_64, 0x8b, 0x0c, 0x24), X86_EMULATE_OK); /* [rsp] */
	assert_int_equal(mem.log[1].seg, X86_SEG_SS);
	assert_int_equal(EMULATE(X86_MODE_32, 0x26, 0x8b, 0x08), X86_EMULATE_OK); /* es: [eax] */
	assert_int_equal(mem.log[2].seg, X86_SEG_ES);
	assert_int_equal(EMULATE(X86_MODE_64, 0x65, 0xaa), X86_EMULATE_OK);
	assert_int_equal(mem.log[3].seg, X86_SEG_ES);
}

/** Read-modify-write: one read, one write of the result; CMP and TEST only read. */
static void test_emulate_alu_memory(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE;
	regs.gpr[X86_REG_RCX] = 0x1;
	mem_set(MEM_BASE, 0xffffffff, 4);
	assert_int_equal(EMULATE(X86_MODE_64, 0xf0, 0x01, 0x08), X86_EMULATE_OK); /* lock add */
	assert_int_equal(mem.count, 2);
	assert_access(0, false, X86_SEG_DS, MEM_BASE, 4);
	assert_access(1, true, X86_SEG_DS, MEM_BASE, 4);
	assert_int_equal(mem_get(MEM_BASE, 4), 0);
	assert_int_equal(regs.rflags & STATUS, CF | ZF | PF | AF);
	assert_int_equal(EMULATE(X86_MODE_64, 0x83, 0x38, 0x00), X86_EMULATE_OK); /* cmp [rax], 0 */
	assert_int_equal(mem.count, 3);
	assert_int_equal(regs.rflags & STATUS, ZF | PF);
	assert_int_equal(EMULATE(X86_MODE_64, 0xf6, 0x00, 0x01), X86_EMULATE_OK); /* test [rax], 1 */
	assert_int_equal(mem.count, 4);
	mem_set(MEM_BASE, 5, 4);
	regs.gpr[X86_REG_RCX] = 0x1111111100000007ULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x2b, 0x08), X86_EMULATE_OK); /* sub ecx, [rax] */
	assert_int_equal(regs.gpr[X86_REG_RCX], 2);
	assert_int_equal(mem.count, 5);
}

/** XCHG with memory: read, write the register, then the register gets the old value. */
static void test_emulate_xchg_memory(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE;
	regs.gpr[X86_REG_RDX] = 0xaaaaaaaa12345678ULL;
	mem_set(MEM_BASE, 0x9abcdef0, 4);
	assert_int_equal(EMULATE(X86_MODE_64, 0x87, 0x10), X86_EMULATE_OK); /* xchg [rax], edx */
	assert_int_equal(regs.gpr[X86_REG_RDX], 0x9abcdef0ULL);
	assert_int_equal(mem_get(MEM_BASE, 4), 0x12345678);
	assert_access(0, false, X86_SEG_DS, MEM_BASE, 4);
	assert_access(1, true, X86_SEG_DS, MEM_BASE, 4);
}

/** BT with a register offset and a memory base addresses a bit string (signed offset). */
static void test_emulate_bit_string_addressing(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE + 0x100;
	mem_set(MEM_BASE + 0x104, 0x8, 4);
	regs.gpr[X86_REG_RCX] = 35; /* dword 1, bit 3 */
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xa3, 0x08), X86_EMULATE_OK);
	assert_access(0, false, X86_SEG_DS, MEM_BASE + 0x104, 4);
	assert_true(regs.rflags & CF);
	regs.gpr[X86_REG_RCX] = 0xffffffff; /* ecx = -1: bit 31 of the dword below */
	mem_set(MEM_BASE + 0xfc, 0, 4);
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xab, 0x08), X86_EMULATE_OK); /* bts */
	assert_access(1, false, X86_SEG_DS, MEM_BASE + 0xfc, 4);
	assert_access(2, true, X86_SEG_DS, MEM_BASE + 0xfc, 4);
	assert_int_equal(mem_get(MEM_BASE + 0xfc, 4), 0x80000000);
	assert_false(regs.rflags & CF);
	regs.gpr[X86_REG_RCX] = 0xffff00ff; /* cx = 0xff: word 15, bit 15 */
	assert_int_equal(EMULATE(X86_MODE_64, 0x66, 0x0f, 0xb3, 0x08), X86_EMULATE_OK);
	assert_access(3, false, X86_SEG_DS, MEM_BASE + 0x100 + 30, 2);
	regs.gpr[X86_REG_RCX] = 0x8000; /* cx = -32768: word -2048, 4 KiB below */
	assert_int_equal(x86_emulate(&insn, &regs, &fake_ops, &mem), X86_EMULATE_OK);
	assert_access(5, false, X86_SEG_DS, MEM_BASE + 0x100 - 4096, 2);
	regs.gpr[X86_REG_RCX] = (uint64_t)-65; /* rcx = -65: qword -2, bit 63 */
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x0f, 0xbb, 0x08), X86_EMULATE_OK); /* btc */
	assert_access(7, false, X86_SEG_DS, MEM_BASE + 0xf0, 8);
	assert_access(8, true, X86_SEG_DS, MEM_BASE + 0xf0, 8);
	/* An immediate offset stays within the operand: 35 mod 32 = 3. */
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xba, 0x20, 0x23), X86_EMULATE_OK);
	assert_access(9, false, X86_SEG_DS, MEM_BASE + 0x100, 4);
	/* With a 16-bit address size the moved offset wraps at 64 KiB. */
	regs.gpr[X86_REG_RBX] = 0x0010;
	regs.gpr[X86_REG_RCX] = 0xffe0; /* cx = -32: two words below */
	assert_int_equal(EMULATE(X86_MODE_16, 0x0f, 0xa3, 0x0f), X86_EMULATE_OK); /* bt [bx], cx */
	assert_access(10, false, X86_SEG_DS, 0x000c, 2);
	regs.gpr[X86_REG_RBX] = 0x0002;
	assert_int_equal(x86_emulate(&insn, &regs, &fake_ops, &mem), X86_EMULATE_OK);
	assert_access(11, false, X86_SEG_DS, 0xfffe, 2);
}

/** BTS/BTR/BTC write back; BT does not write. */
static void test_emulate_bit_write_back(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = MEM_BASE;
	mem_set(MEM_BASE, 0xf0, 4);
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xba, 0x20, 0x04), X86_EMULATE_OK); /* bt 4 */
	assert_int_equal(mem.count, 1);
	assert_true(regs.rflags & CF);
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xba, 0x28, 0x00), X86_EMULATE_OK); /* bts 0 */
	assert_int_equal(mem_get(MEM_BASE, 4), 0xf1);
	assert_false(regs.rflags & CF);
	assert_int_equal(EMULATE(X86_MODE_64, 0x0f, 0xba, 0x30, 0x07), X86_EMULATE_OK); /* btr 7 */
	assert_int_equal(mem_get(MEM_BASE, 4), 0x71);
	assert_true(regs.rflags & CF);
	assert_int_equal(EMULATE(X86_MODE_64, 0xf0, 0x0f, 0xba, 0x38, 0x1f), X86_EMULATE_OK);
	assert_int_equal(mem_get(MEM_BASE, 4), 0x80000071); /* lock btc 31 */
	assert_int_equal(mem.count, 7);
}

/* ------------------------------------------------------------------------
 * String instructions
 * ------------------------------------------------------------------------ */

/** MOVS copies seg:rSI to ES:rDI and steps both by the size, backwards with DF. */
static void test_emulate_movs_single(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RSI] = MEM_BASE;
	regs.gpr[X86_REG_RDI] = MEM_BASE + 0x100;
	mem_set(MEM_BASE, 0x0807060504030201ULL, 8);
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0xa5), X86_EMULATE_OK); /* movsq */
	assert_access(0, false, X86_SEG_DS, MEM_BASE, 8);
	assert_access(1, true, X86_SEG_ES, MEM_BASE + 0x100, 8);
	assert_int_equal(mem_get(MEM_BASE + 0x100, 8), 0x0807060504030201ULL);
	assert_int_equal(regs.gpr[X86_REG_RSI], MEM_BASE + 8);
	assert_int_equal(regs.gpr[X86_REG_RDI], MEM_BASE + 0x108);
	regs.rflags |= DF;
	assert_int_equal(EMULATE(X86_MODE_64, 0x64, 0x66, 0xa5), X86_EMULATE_OK); /* fs: movsw */
	assert_access(2, false, X86_SEG_FS, MEM_BASE + 8, 2);
	assert_int_equal(regs.gpr[X86_REG_RSI], MEM_BASE + 6);
	assert_int_equal(regs.gpr[X86_REG_RDI], MEM_BASE + 0x106);
	assert_int_equal(regs.rflags, RFLAGS_FIXED | DF);
}

/** REP MOVS runs rCX times, then RIP moves on; rCX = 0 does nothing. */
static void test_emulate_rep_movs(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RSI] = MEM_BASE;
	regs.gpr[X86_REG_RDI] = MEM_BASE + 0x200;
	regs.gpr[X86_REG_RCX] = 3;
	assert_int_equal(EMULATE(X86_MODE_64, 0xf3, 0xa5), X86_EMULATE_OK); /* rep movsd */
	assert_int_equal(mem.count, 6);
	assert_access(4, false, X86_SEG_DS, MEM_BASE + 8, 4);
	assert_access(5, true, X86_SEG_ES, MEM_BASE + 0x208, 4);
	assert_memory_equal(&mem.bytes[MEM_BASE + 0x200], &mem.bytes[MEM_BASE], 12);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0);
	assert_int_equal(regs.gpr[X86_REG_RSI], MEM_BASE + 12);
	assert_int_equal(regs.rip, 0x400002);
	assert_int_equal(EMULATE(X86_MODE_64, 0xf2, 0xa4), X86_EMULATE_OK); /* repne movsb, rcx 0 */
	assert_int_equal(mem.count, 6);
	assert_int_equal(regs.rip, 0x400004);
}

/** With a 16-bit address size, CX, SI and DI count and wrap in their low 16 bits. */
static void test_emulate_rep_16bit_address_size(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RCX] = 0xabcd0000ffff0002ULL; /* CX = 2 */
	regs.gpr[X86_REG_RSI] = 0x55550000ffff1ff0ULL; /* SI = 0x1ff0 */
	regs.gpr[X86_REG_RDI] = 0x7777000000001100ULL;
	assert_int_equal(EMULATE(X86_MODE_16, 0xf3, 0xa4), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0xabcd0000ffff0000ULL);
	assert_int_equal(regs.gpr[X86_REG_RSI], 0x55550000ffff1ff2ULL);
	assert_int_equal(regs.gpr[X86_REG_RDI], 0x7777000000001102ULL);
	assert_access(0, false, X86_SEG_DS, 0x1ff0, 1);
	assert_access(1, true, X86_SEG_ES, 0x1100, 1);
	/* SI wraps from 0xffff to 0 within its 16 bits, and back with DF. */
	regs.gpr[X86_REG_RSI] = 0x12340000ULL + 0xffff;
	regs.gpr[X86_REG_RCX] = 1;
	assert_int_equal(EMULATE(X86_MODE_16, 0xf3, 0xa4), X86_EMULATE_OK);
	assert_access(4, false, X86_SEG_DS, 0xffff, 1);
	assert_int_equal(regs.gpr[X86_REG_RSI], 0x12340000ULL);
	regs.gpr[X86_REG_RCX] = 1;
	regs.rflags |= DF;
	regs.rip = 0xfffe;
	assert_int_equal(EMULATE(X86_MODE_16, 0xf3, 0xa4), X86_EMULATE_OK);
	assert_access(6, false, X86_SEG_DS, 0, 1);
	assert_int_equal(regs.gpr[X86_REG_RSI], 0x1234ffffULL);
	assert_int_equal(regs.rip, 0); /* IP wraps at 64 KiB */
}

/** With 67 in 64-bit mode, ECX counts and is zero-extended like any 32-bit write. */
static void test_emulate_rep_32bit_address_size(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RCX] = 0x100000002ULL; /* ECX = 2 */
	regs.gpr[X86_REG_RDI] = 0x200000000ULL + MEM_BASE;
	regs.gpr[X86_REG_RAX] = 0x99;
	assert_int_equal(EMULATE(X86_MODE_64, 0xf3, 0x67, 0xaa), X86_EMULATE_OK); /* rep stosb */
	assert_int_equal(mem.count, 2);
	assert_access(1, true, X86_SEG_ES, MEM_BASE + 1, 1);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0);
	assert_int_equal(regs.gpr[X86_REG_RDI], MEM_BASE + 2);
	assert_int_equal(mem_get(MEM_BASE, 2), 0x9999);
}

/** STOS stores AL/AX/EAX/RAX at ES:rDI; REPNE repeats it like REP. */
static void test_emulate_stos(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = 0x1122334455667788ULL;
	regs.gpr[X86_REG_RDI] = MEM_BASE;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0xab), X86_EMULATE_OK); /* stosq */
	assert_int_equal(mem_get(MEM_BASE, 8), 0x1122334455667788ULL);
	assert_int_equal(regs.gpr[X86_REG_RDI], MEM_BASE + 8);
	regs.gpr[X86_REG_RCX] = 2;
	assert_int_equal(EMULATE(X86_MODE_32, 0xf2, 0x66, 0xab), X86_EMULATE_OK); /* repne stosw */
	assert_int_equal(mem_get(MEM_BASE + 8, 4), 0x77887788);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0);
	assert_access(1, true, X86_SEG_ES, MEM_BASE + 8, 2);
	assert_access(2, true, X86_SEG_ES, MEM_BASE + 10, 2);
}

/** A fault in the middle of REP keeps the finished iterations and leaves RIP. */
static void test_emulate_rep_fault_midway(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RSI] = MEM_BASE;
	regs.gpr[X86_REG_RDI] = MEM_BASE + 0x100;
	regs.gpr[X86_REG_RCX] = 5;
	mem.fail_at = 5; /* the write of the third iteration */
	assert_int_equal(EMULATE(X86_MODE_64, 0xf3, 0xa4), X86_EMULATE_FAULT);
	assert_int_equal(regs.gpr[X86_REG_RCX], 3);
	assert_int_equal(regs.gpr[X86_REG_RSI], MEM_BASE + 2);
	assert_int_equal(regs.gpr[X86_REG_RDI], MEM_BASE + 0x102);
	assert_int_equal(regs.rip, 0x400000);
	mem.fail_at = -1;
	assert_int_equal(x86_emulate(&insn, &regs, &fake_ops, &mem), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0);
	assert_int_equal(regs.gpr[X86_REG_RSI], MEM_BASE + 5);
	assert_memory_equal(&mem.bytes[MEM_BASE + 0x100], &mem.bytes[MEM_BASE], 5);
	assert_int_equal(regs.rip, 0x400002);
}

/** Past X86_EMULATE_REP_BUDGET iterations, the emulator stops with RIP unchanged. */
static void test_emulate_rep_budget(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RDI] = MEM_BASE;
	regs.gpr[X86_REG_RCX] = X86_EMULATE_REP_BUDGET + 3;
	regs.rflags |= DF; /* downwards */
	regs.gpr[X86_REG_RDI] = MEM_BASE + MEM_SIZE - 1;
	assert_int_equal(EMULATE(X86_MODE_64, 0xf3, 0xaa), X86_EMULATE_OK);
	assert_int_equal(mem.count, X86_EMULATE_REP_BUDGET);
	assert_int_equal(regs.gpr[X86_REG_RCX], 3);
	assert_int_equal(regs.rip, 0x400000);
	regs.gpr[X86_REG_RDI] = MEM_BASE + 2;
	assert_int_equal(x86_emulate(&insn, &regs, &fake_ops, &mem), X86_EMULATE_OK);
	assert_int_equal(regs.gpr[X86_REG_RCX], 0);
	assert_int_equal(regs.rip, 0x400002);
}

/* ------------------------------------------------------------------------
 * Faults, RIP, refusals
 * ------------------------------------------------------------------------ */

/** A failed read or write changes nothing: registers, flags, memory and RIP stay. */
static void test_emulate_faults_change_nothing(void **state)
{
	static const uint8_t insns[][4] = {
		{ 0x8b, 0x00 },       /* mov eax, [rax]: read */
		{ 0x01, 0x08 },       /* add [rax], ecx: write of a read-modify-write */
		{ 0x87, 0x08 },       /* xchg [rax], ecx: write after the read */
		{ 0x0f, 0xab, 0x08 }, /* bts [rax], ecx */
		{ 0x03, 0x08 },       /* add ecx, [rax] */
	};
	static const uint8_t lengths[] = { 2, 2, 2, 3, 2 };

	for (size_t i = 0; i < ARRAY_SIZE(insns); i++) {
		for (int fail = 0; fail < 2; fail++) {
			struct x86_regs before;
			uint8_t bytes_before[16];
			struct x86_insn insn;

			setup(NULL);
			regs.gpr[X86_REG_RAX] = MEM_BASE;
			regs.rflags = RFLAGS_FIXED | CF | ZF;
			mem.fail_at = fail;
			before = regs;
			memcpy(bytes_before, &mem.bytes[MEM_BASE], sizeof(bytes_before));
			assert_int_equal(x86_decode(insns[i], lengths[i], X86_MODE_64, &insn),
					 X86_DECODE_OK);
			if (x86_emulate(&insn, &regs, &fake_ops, &mem) == X86_EMULATE_OK) {
				assert_int_equal(fail, 1); /* an instruction with one access */
				continue;
			}
			assert_memory_equal(&regs, &before, sizeof(regs));
			assert_memory_equal(&mem.bytes[MEM_BASE], bytes_before, sizeof(bytes_before));
		}
	}
}

/** RIP advances by the length, wrapping at the instruction pointer's width. */
static void test_emulate_rip_advance(void **state)
{
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = 1;
	regs.rip = 0xffffffffffffffffULL;
	assert_int_equal(EMULATE(X86_MODE_64, 0x48, 0x83, 0xc0, 0x01), X86_EMULATE_OK);
	assert_int_equal(regs.rip, 3);
	regs.rip = 0xfffffffe;
	assert_int_equal(EMULATE(X86_MODE_32, 0x83, 0xc0, 0x01), X86_EMULATE_OK);
	assert_int_equal(regs.rip, 1);
	regs.rip = 0xffff;
	assert_int_equal(EMULATE(X86_MODE_16, 0x04, 0x01), X86_EMULATE_OK);
	assert_int_equal(regs.rip, 1);
}

/** x86_effective_address: the memory operand's offset, 0 for a register operand. */
static void test_emulate_effective_address(void **state)
{
	static const uint8_t mov_reg[] = { 0x89, 0xc8 };
	static const uint8_t mov_moffs[] = { 0x67, 0xa1, 0x00, 0x20, 0x00, 0x00 };
	static const uint8_t mov_sib[] = { 0x8b, 0x44, 0x48, 0xf0 }; /* [rax+rcx*2-16] */
	struct x86_insn insn;

	regs.gpr[X86_REG_RAX] = 0x100;
	regs.gpr[X86_REG_RCX] = 0x8;
	assert_int_equal(x86_decode(mov_reg, sizeof(mov_reg), X86_MODE_64, &insn), X86_DECODE_OK);
	assert_int_equal(x86_effective_address(&insn, &regs), 0);
	assert_int_equal(x86_decode(mov_moffs, sizeof(mov_moffs), X86_MODE_64, &insn), X86_DECODE_OK);
	assert_int_equal(x86_effective_address(&insn, &regs), 0x2000);
	assert_int_equal(x86_decode(mov_sib, sizeof(mov_sib), X86_MODE_64, &insn), X86_DECODE_OK);
	assert_int_equal(x86_effective_address(&insn, &regs), 0x100 + 0x10 - 0x10);
	regs.gpr[X86_REG_RAX] = 0;
	assert_int_equal(x86_effective_address(&insn, &regs), 0); /* 0x10 - 0x10 */
	regs.gpr[X86_REG_RCX] = 0;
	assert_int_equal(x86_effective_address(&insn, &regs), 0xfffffffffffffff0ULL);
}

/** A malformed instruction or missing callbacks are refused, with nothing changed. */
static void test_emulate_refuses_malformed(void **state)
{
	static const uint8_t mov[] = { 0x89, 0x08 };
	static const struct x86_emulate_ops no_write = { fake_read, NULL };
	struct x86_regs before = regs;
	struct x86_insn insn, bad;

	memset(&bad, 0, sizeof(bad));
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	assert_int_equal(x86_decode(mov, sizeof(mov), X86_MODE_64, &insn), X86_DECODE_OK);
	assert_int_equal(x86_emulate(&insn, &regs, NULL, &mem), X86_EMULATE_UNSUPPORTED);
	assert_int_equal(x86_emulate(&insn, &regs, &no_write, &mem), X86_EMULATE_UNSUPPORTED);
	bad = insn;
	bad.op_size = 3;
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	bad = insn;
	bad.reg = X86_REG_AH; /* a high-byte register at 32 bits */
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	bad = insn;
	bad.rm.mem.base = (enum x86_reg)20;
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	bad = insn;
	bad.rm.kind = X86_OPERAND_NONE;
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	bad = insn;
	bad.length = 0;
	assert_int_equal(x86_emulate(&bad, &regs, &fake_ops, &mem), X86_EMULATE_UNSUPPORTED);
	assert_memory_equal(&regs, &before, sizeof(regs));
	assert_int_equal(mem.count, 0);
}

/** The status names are fixed strings. */
static void test_emulate_status_names(void **state)
{
	assert_string_equal(x86_emulate_status_name(X86_EMULATE_OK), "ok");
	assert_string_equal(x86_emulate_status_name(X86_EMULATE_FAULT), "fault");
	assert_string_equal(x86_emulate_status_name(X86_EMULATE_UNSUPPORTED), "unsupported");
	assert_string_equal(x86_emulate_status_name((enum x86_emulate_status)9), "?");
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

/** Runs the emulator tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_emulate_alu_matches_host_on_edges),
		TEST(test_emulate_alu_matches_host_on_random),
		TEST(test_emulate_alu_sdm_values),
		TEST(test_emulate_alu_immediates),
		TEST(test_emulate_register_write_sizes),
		TEST(test_emulate_high_byte_registers),
		TEST(test_emulate_movzx_movsx),
		TEST(test_emulate_mov_memory),
		TEST(test_emulate_rip_relative),
		TEST(test_emulate_address_size_wraps),
		TEST(test_emulate_segments_reach_callbacks),
		TEST(test_emulate_alu_memory),
		TEST(test_emulate_xchg_memory),
		TEST(test_emulate_bit_string_addressing),
		TEST(test_emulate_bit_write_back),
		TEST(test_emulate_movs_single),
		TEST(test_emulate_rep_movs),
		TEST(test_emulate_rep_16bit_address_size),
		TEST(test_emulate_rep_32bit_address_size),
		TEST(test_emulate_stos),
		TEST(test_emulate_rep_fault_midway),
		TEST(test_emulate_rep_budget),
		TEST(test_emulate_faults_change_nothing),
		TEST(test_emulate_rip_advance),
		TEST(test_emulate_effective_address),
		TEST(test_emulate_refuses_malformed),
		TEST(test_emulate_status_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
