/*
 * mmio: checks Tessera's MMIO interpreter (hv/mmio.c, hv/x86_decode.c,
 * hv/x86_emulate.c) against the test device (hv/vdev_test.h), one
 * instruction form at a time, with inline assembly so that the form under
 * test is exactly the encoding named in its check.
 *
 * Every access to the device is an EPT violation that Tessera emulates. The
 * reference for what an instruction must do is the CPU itself: each form in
 * the table runs once on a RAM copy of the device's bytes (no exit, the CPU
 * executes it) and once on the device, from the same registers and EFLAGS,
 * and memory, EAX, ECX and the defined flags must come out the same. The
 * device's access counter must moreover grow by exactly the reads and writes
 * the instruction makes. The ID register, the moffs forms (A0-A3) and the
 * string instructions are checked against fixed values.
 *
 * Each check prints "ok: <form>" or "FAILED: <form>: ..."; the partition
 * stops with 0 only when every check passed. The device's scratch bytes
 * are used as follows (offsets from VDEV_TEST_BASE):
 *   0x00-0x0b  moffs forms          0x18-0x1b  MOVS device to device
 *   0x10-0x17  the form window      0x20-0x2f  MOVS
 *                                   0x30-0x3f  STOS
 */
#include "guests/common/guest.h"
#include "hv/vdev_test.h"

#define DEVICE_BASE ((uint32_t)VDEV_TEST_BASE)

/* Where each group of checks works inside the scratch bytes (see the top). */
#define MOFFS_DWORD_LOAD  0x00
#define MOFFS_DWORD_STORE 0x04
#define MOFFS_SMALL       0x08 /* a dword: the moffs8 byte is its byte 1, moffs16 its top half */
#define MOFFS_BYTE        (MOFFS_SMALL + 1)
#define MOFFS_WORD        (MOFFS_SMALL + 2)
#define FORM_WINDOW       0x10
#define MOVS_PAIR_DEST    0x18
#define MOVS_AREA         0x20
#define STOS_AREA         0x30

/* The status flags (SDM Vol. 1, 3.4.3.1) and the subsets instructions define. */
#define FL_CF 0x0001U
#define FL_PF 0x0004U
#define FL_AF 0x0010U
#define FL_ZF 0x0040U
#define FL_SF 0x0080U
#define FL_OF 0x0800U
#define FLAGS_ALL   (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
/* AND, OR, XOR, TEST leave AF undefined. */
#define FLAGS_LOGIC (FLAGS_ALL & ~FL_AF)
/* BT, BTS, BTR, BTC: CF is the bit, ZF unaffected, the rest undefined. */
#define FLAGS_BIT   (FL_CF | FL_ZF)

/* What the other dword of the form window holds: every nibble different. */
#define WINDOW_NEIGHBOUR 0xa5c3e10fU

/** The device address at offset (a pointer: paging is off, linear = physical). */
static volatile void *device_at(uint32_t offset)
{
	return (volatile void *)(uintptr_t)(DEVICE_BASE + offset);
}

/** Reads a device dword with MOV r32, r/m32 (8B). */
static uint32_t mmio_read32(uint32_t offset)
{
	uint32_t value;

	__asm__ volatile("movl (%1), %0" : "=r"(value) : "r"(device_at(offset)) : "memory");
	return value;
}

/** Writes a device dword with MOV r/m32, r32 (89). */
static void mmio_write32(uint32_t offset, uint32_t value)
{
	__asm__ volatile("movl %1, (%0)" : : "r"(device_at(offset)), "r"(value) : "memory");
}

/** The device's access counter (reading it is not counted). */
static uint32_t device_accesses(void)
{
	return mmio_read32(VDEV_TEST_COUNT);
}

/** Says whether got is expected; if not, prints both. */
static bool expect_u32(const char *form, const char *what, uint32_t expected, uint32_t got)
{
	if (got == expected) {
		return true;
	}
	guest_printf("FAILED: %s: %s: expected 0x%08x, got 0x%08x\n", form, what, expected, got);
	return false;
}

/** Prints the verdict line of a check that passed; returns passed. */
static bool report(const char *form, bool passed)
{
	if (passed) {
		guest_printf("ok: %s\n", form);
	}
	return passed;
}

/* ------------------------------------------------------------------------
 * The instruction forms: one instruction each, against the memory EBX
 * points at, with EAX and ECX as register operands.
 * ------------------------------------------------------------------------ */

/** The register operands of a form, before and after it runs. */
struct form_regs {
	uint32_t eax;
	uint32_t ecx;
};

/** Runs one form on target from regs and EFLAGS = flags_in; returns EFLAGS after. */
typedef uint32_t (*form_fn)(volatile void *target, struct form_regs *regs, uint32_t flags_in);

/**
 * Defines a form_fn that runs the one instruction @text. EFLAGS is loaded
 * just before it (POPF) and captured just after it (PUSHF), so nothing the
 * compiler emits comes between the flags and the instruction.
 */
#define FORM(name, text)                                                                        \
	static uint32_t name(volatile void *target, struct form_regs *regs, uint32_t flags_in) \
	{                                                                                       \
		uint32_t flags_out;                                                             \
                                                                                                \
		__asm__ volatile("pushl %[in]\n\tpopfl\n\t" text "\n\tpushfl\n\tpopl %[out]"     \
				 : [out] "=&r"(flags_out), "+a"(regs->eax), "+c"(regs->ecx)     \
				 : "b"(target), [in] "r"(flags_in)                              \
				 : "memory", "cc");                                             \
		return flags_out;                                                               \
	}

/* MOV: stores and loads of 1, 2 and 4 bytes, immediates, AH, SIB and disp8. */
FORM(form_mov_store8, "movb %%cl, (%%ebx)")
FORM(form_mov_store8_ah, "movb %%ah, 1(%%ebx)")
FORM(form_mov_store16, "movw %%cx, 2(%%ebx)")
FORM(form_mov_store32, "movl %%ecx, (%%ebx)")
FORM(form_mov_store32_sib, "movl %%ecx, (%%ebx,%%eax,4)")
FORM(form_mov_load8, "movb 3(%%ebx), %%cl")
FORM(form_mov_load8_ah, "movb 2(%%ebx), %%ah")
FORM(form_mov_load16, "movw (%%ebx), %%cx")
FORM(form_mov_load32, "movl (%%ebx), %%ecx")
FORM(form_mov_load32_disp8, "movl 4(%%ebx), %%ecx")
FORM(form_mov_imm8, "movb $0x5a, 3(%%ebx)")
FORM(form_mov_imm16, "movw $0xbeef, 2(%%ebx)")
FORM(form_mov_imm32, "movl $0x89abcdef, (%%ebx)")

/* MOVZX and MOVSX of bytes and words. */
FORM(form_movzx8, "movzbl 1(%%ebx), %%ecx")
FORM(form_movzx16, "movzwl 2(%%ebx), %%ecx")
FORM(form_movsx8, "movsbl 3(%%ebx), %%ecx")
FORM(form_movsx16, "movswl (%%ebx), %%ecx")
FORM(form_movzx8_to16, "movzbw 1(%%ebx), %%cx")

/* The ALU with the memory operand as destination (r/m OP= reg). */
FORM(form_add_rm32, "addl %%ecx, (%%ebx)")
FORM(form_or_rm32, "orl %%ecx, (%%ebx)")
FORM(form_and_rm32, "andl %%ecx, (%%ebx)")
FORM(form_sub_rm32, "subl %%ecx, (%%ebx)")
FORM(form_xor_rm32, "xorl %%ecx, (%%ebx)")
FORM(form_cmp_rm32, "cmpl %%ecx, (%%ebx)")
FORM(form_adc_rm32, "adcl %%ecx, (%%ebx)")
FORM(form_add_rm8, "addb %%cl, 1(%%ebx)")
FORM(form_add_rm16, "addw %%cx, 2(%%ebx)")

/* The ALU with the register as destination (reg OP= r/m). */
FORM(form_add_r32, "addl (%%ebx), %%ecx")
FORM(form_or_r32, "orl (%%ebx), %%ecx")
FORM(form_and_r32, "andl (%%ebx), %%ecx")
FORM(form_sub_r32, "subl (%%ebx), %%ecx")
FORM(form_xor_r32, "xorl (%%ebx), %%ecx")
FORM(form_cmp_r32, "cmpl (%%ebx), %%ecx")
FORM(form_sub_r8, "subb 2(%%ebx), %%cl")
FORM(form_cmp_r16, "cmpw (%%ebx), %%cx")

/* Group 1, 81: imm32 (values that do not fit a signed byte). */
FORM(form_add_imm32, "addl $0x7f000001, (%%ebx)")
FORM(form_or_imm32, "orl $0x10000000, (%%ebx)")
FORM(form_and_imm32, "andl $0xff00ff00, (%%ebx)")
FORM(form_sub_imm32, "subl $0x80000000, (%%ebx)")
FORM(form_xor_imm32, "xorl $0x0f0f0f0f, (%%ebx)")
FORM(form_cmp_imm32, "cmpl $0x12345678, (%%ebx)")
FORM(form_and_imm16, "andw $0x00f0, 2(%%ebx)")

/* Group 1, 83: imm8 sign-extended to 32 (and 16) bits. */
FORM(form_add_simm8, "addl $-1, (%%ebx)")
FORM(form_or_simm8, "orl $0x40, (%%ebx)")
FORM(form_and_simm8, "andl $-16, (%%ebx)")
FORM(form_sub_simm8, "subl $1, (%%ebx)")
FORM(form_xor_simm8, "xorl $-1, (%%ebx)")
FORM(form_cmp_simm8, "cmpl $-128, (%%ebx)")
FORM(form_sbb_simm8, "sbbl $5, (%%ebx)")
FORM(form_sub_simm8_16, "subw $1, (%%ebx)")

/* Group 1, 80: byte operand, imm8. */
FORM(form_add_imm8, "addb $0x80, 1(%%ebx)")
FORM(form_or_imm8, "orb $0x81, (%%ebx)")
FORM(form_and_imm8, "andb $0x0f, 2(%%ebx)")
FORM(form_sub_imm8, "subb $0x7f, 3(%%ebx)")
FORM(form_xor_imm8, "xorb $0xff, (%%ebx)")
FORM(form_cmp_imm8, "cmpb $0xa1, (%%ebx)")

/* TEST: 85, 84, F7 /0, F6 /0. */
FORM(form_test_rm32, "testl %%ecx, (%%ebx)")
FORM(form_test_rm8, "testb %%cl, 1(%%ebx)")
FORM(form_test_imm32, "testl $0x80000000, (%%ebx)")
FORM(form_test_imm8, "testb $0x01, 3(%%ebx)")

/* XCHG: 87, 86 (with AH), 66 87. */
FORM(form_xchg32, "xchgl %%ecx, (%%ebx)")
FORM(form_xchg8_ah, "xchgb %%ah, 1(%%ebx)")
FORM(form_xchg16, "xchgw %%cx, 2(%%ebx)")

/* BT, BTS, BTR, BTC with the bit offset in a register: a bit string. */
FORM(form_bt_reg, "btl %%ecx, (%%ebx)")
FORM(form_bts_reg, "btsl %%ecx, (%%ebx)")
FORM(form_btr_reg, "btrl %%ecx, (%%ebx)")
FORM(form_btc_reg, "btcl %%ecx, (%%ebx)")
FORM(form_bt_reg16, "btw %%cx, (%%ebx)")

/* BT, BTS, BTR, BTC with an immediate bit offset (0F BA /4-/7). */
FORM(form_bt_imm, "btl $31, (%%ebx)")
FORM(form_bts_imm, "btsl $0, (%%ebx)")
FORM(form_btr_imm, "btrl $7, (%%ebx)")
FORM(form_btc_imm, "btcl $40, (%%ebx)")

/* LOCK on every kind of read-modify-write the interpreter allows it on. */
FORM(form_lock_add, "lock addl %%ecx, (%%ebx)")
FORM(form_lock_or_imm32, "lock orl $0x00100100, (%%ebx)")
FORM(form_lock_and_imm8, "lock andb $0x0f, 1(%%ebx)")
FORM(form_lock_sub_simm8, "lock subl $3, (%%ebx)")
FORM(form_lock_xchg, "lock xchgl %%ecx, (%%ebx)")
FORM(form_lock_bts_reg, "lock btsl %%ecx, (%%ebx)")
FORM(form_lock_btr_imm, "lock btrl $3, (%%ebx)")

/** One form with its inputs, what to compare and how many device accesses it makes. */
struct form_check {
	const char *name;
	form_fn run;
	uint32_t target;        /* 0 or 4: which dword of the window EBX points at */
	uint32_t value;         /* that dword's initial value; the other is WINDOW_NEIGHBOUR */
	uint32_t eax;
	uint32_t ecx;
	uint32_t flags_in;
	uint32_t flags_checked; /* the flags the instruction defines or leaves alone */
	uint32_t accesses;      /* device reads plus writes */
};

/*
 * Each entry: name, form; then target, value, EAX, ECX, flags in, flags
 * checked, accesses (struct form_check). Operands are chosen so that the
 * flags come out set in some checks and clear in others; MOV-like forms
 * start from all flags set or all clear, to show they leave them alone.
 */
static const struct form_check form_checks[] = {
	{ "mov r/m8, r8 (88)", form_mov_store8,
	  0, 0x11223344, 0, 0xffffff99, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "mov r/m8, ah (88, disp8)", form_mov_store8_ah,
	  0, 0x11223344, 0x0000c700, 0, 0, FLAGS_ALL, 1 },
	{ "mov r/m16, r16 (66 89)", form_mov_store16,
	  0, 0x11223344, 0, 0xffffabcd, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "mov r/m32, r32 (89)", form_mov_store32,
	  0, 0x11223344, 0, 0xcafef00d, 0, FLAGS_ALL, 1 },
	{ "mov r/m32, r32 (89, SIB base+index*4)", form_mov_store32_sib,
	  0, 0x11223344, 1, 0x600dd00d, 0, FLAGS_ALL, 1 },
	{ "mov r8, r/m8 (8A, disp8)", form_mov_load8,
	  0, 0x9c223344, 0, 0x12345678, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "mov ah, r/m8 (8A, disp8)", form_mov_load8_ah,
	  0, 0x11e73344, 0x12345678, 0, 0, FLAGS_ALL, 1 },
	{ "mov r16, r/m16 (66 8B)", form_mov_load16,
	  0, 0x1122f00f, 0, 0x12345678, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "mov r32, r/m32 (8B)", form_mov_load32,
	  0, 0x8badf00d, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "mov r32, r/m32 (8B, disp8)", form_mov_load32_disp8,
	  0, 0x8badf00d, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "mov r/m8, imm8 (C6 /0)", form_mov_imm8,
	  0, 0x11223344, 0, 0, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "mov r/m16, imm16 (66 C7 /0)", form_mov_imm16,
	  0, 0x11223344, 0, 0, 0, FLAGS_ALL, 1 },
	{ "mov r/m32, imm32 (C7 /0)", form_mov_imm32,
	  0, 0x11223344, 0, 0, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "movzx r32, r/m8 (0F B6)", form_movzx8,
	  0, 0x80c3f2a1, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "movzx r32, r/m16 (0F B7)", form_movzx16,
	  0, 0x80c3f2a1, 0, 0x12345678, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "movsx r32, r/m8 (0F BE)", form_movsx8,
	  0, 0x80c3f2a1, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "movsx r32, r/m16 (0F BF)", form_movsx16,
	  0, 0x80c3f2a1, 0, 0x12345678, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "movzx r16, r/m8 (66 0F B6)", form_movzx8_to16,
	  0, 0x80c3f2a1, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "add r/m32, r32 (01)", form_add_rm32,
	  0, 0x7fffffff, 0, 1, FL_CF | FL_ZF, FLAGS_ALL, 2 },
	{ "or r/m32, r32 (09)", form_or_rm32,
	  0, 0, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "and r/m32, r32 (21)", form_and_rm32,
	  0, 0xf0f0f0f0, 0, 0x8f0f0f0f, FL_CF | FL_OF, FLAGS_LOGIC, 2 },
	{ "sub r/m32, r32 (29)", form_sub_rm32,
	  0, 1, 0, 2, 0, FLAGS_ALL, 2 },
	{ "xor r/m32, r32 (31)", form_xor_rm32,
	  0, 0xffffffff, 0, 0x7fffffff, FL_ZF, FLAGS_LOGIC, 2 },
	{ "cmp r/m32, r32 (39)", form_cmp_rm32,
	  0, 0x12345678, 0, 0x12345678, 0, FLAGS_ALL, 1 },
	{ "adc r/m32, r32 (11)", form_adc_rm32,
	  0, 0xfffffffe, 0, 1, FL_CF, FLAGS_ALL, 2 },
	{ "add r/m8, r8 (00, disp8)", form_add_rm8,
	  0, 0x1122f044, 0, 0x10, 0, FLAGS_ALL, 2 },
	{ "add r/m16, r16 (66 01, disp8)", form_add_rm16,
	  0, 0x80003344, 0, 0x8000, 0, FLAGS_ALL, 2 },
	{ "add r32, r/m32 (03)", form_add_r32,
	  0, 0xffffffff, 0, 1, 0, FLAGS_ALL, 1 },
	{ "or r32, r/m32 (0B)", form_or_r32,
	  0, 0x00000080, 0, 0x00000001, FLAGS_ALL, FLAGS_LOGIC, 1 },
	{ "and r32, r/m32 (23)", form_and_r32,
	  0, 0x0f0f0f0f, 0, 0xf0f0f0f0, 0, FLAGS_LOGIC, 1 },
	{ "sub r32, r/m32 (2B)", form_sub_r32,
	  0, 0x80000000, 0, 0x7fffffff, 0, FLAGS_ALL, 1 },
	{ "xor r32, r/m32 (33)", form_xor_r32,
	  0, 0x55aa55aa, 0, 0x55aa55ab, FLAGS_ALL, FLAGS_LOGIC, 1 },
	{ "cmp r32, r/m32 (3B)", form_cmp_r32,
	  0, 0x00000010, 0, 0x00000008, 0, FLAGS_ALL, 1 },
	{ "sub r8, r/m8 (2A, disp8)", form_sub_r8,
	  0, 0x11803344, 0, 0x7f, 0, FLAGS_ALL, 1 },
	{ "cmp r16, r/m16 (66 3B)", form_cmp_r16,
	  0, 0x1122ffff, 0, 0x0000fffe, 0, FLAGS_ALL, 1 },
	{ "add r/m32, imm32 (81 /0)", form_add_imm32,
	  0, 0x00ffffff, 0, 0, 0, FLAGS_ALL, 2 },
	{ "or r/m32, imm32 (81 /1)", form_or_imm32,
	  0, 0x80000000, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "and r/m32, imm32 (81 /4)", form_and_imm32,
	  0, 0x00ff00ff, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "sub r/m32, imm32 (81 /5)", form_sub_imm32,
	  0, 0x7fffffff, 0, 0, 0, FLAGS_ALL, 2 },
	{ "xor r/m32, imm32 (81 /6)", form_xor_imm32,
	  0, 0x0f0f0f0f, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "cmp r/m32, imm32 (81 /7)", form_cmp_imm32,
	  0, 0x12345677, 0, 0, 0, FLAGS_ALL, 1 },
	{ "and r/m16, imm16 (66 81 /4, disp8)", form_and_imm16,
	  0, 0xff0fffff, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "add r/m32, imm8 (83 /0)", form_add_simm8,
	  0, 1, 0, 0, 0, FLAGS_ALL, 2 },
	{ "or r/m32, imm8 (83 /1)", form_or_simm8,
	  0, 0x01000000, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "and r/m32, imm8 (83 /4)", form_and_simm8,
	  0, 0x0000000f, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "sub r/m32, imm8 (83 /5)", form_sub_simm8,
	  0, 0, 0, 0, 0, FLAGS_ALL, 2 },
	{ "xor r/m32, imm8 (83 /6)", form_xor_simm8,
	  0, 0x7fffffff, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "cmp r/m32, imm8 (83 /7)", form_cmp_simm8,
	  0, 0xffffff80, 0, 0, FLAGS_ALL, FLAGS_ALL, 1 },
	{ "sbb r/m32, imm8 (83 /3)", form_sbb_simm8,
	  0, 5, 0, 0, FL_CF, FLAGS_ALL, 2 },
	{ "sub r/m16, imm8 (66 83 /5)", form_sub_simm8_16,
	  0, 0x11118000, 0, 0, 0, FLAGS_ALL, 2 },
	{ "add r/m8, imm8 (80 /0, disp8)", form_add_imm8,
	  0, 0x11228044, 0, 0, 0, FLAGS_ALL, 2 },
	{ "or r/m8, imm8 (80 /1)", form_or_imm8,
	  0, 0x11223300, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "and r/m8, imm8 (80 /4, disp8)", form_and_imm8,
	  0, 0x11f03344, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "sub r/m8, imm8 (80 /5, disp8)", form_sub_imm8,
	  0, 0x80223344, 0, 0, 0, FLAGS_ALL, 2 },
	{ "xor r/m8, imm8 (80 /6)", form_xor_imm8,
	  0, 0x112233ff, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "cmp r/m8, imm8 (80 /7)", form_cmp_imm8,
	  0, 0x112233a0, 0, 0, 0, FLAGS_ALL, 1 },
	{ "test r/m32, r32 (85)", form_test_rm32,
	  0, 0xf0000000, 0, 0x0fffffff, FLAGS_ALL, FLAGS_LOGIC, 1 },
	{ "test r/m8, r8 (84, disp8)", form_test_rm8,
	  0, 0x1122c344, 0, 0x80, 0, FLAGS_LOGIC, 1 },
	{ "test r/m32, imm32 (F7 /0)", form_test_imm32,
	  0, 0x80000001, 0, 0, 0, FLAGS_LOGIC, 1 },
	{ "test r/m8, imm8 (F6 /0, disp8)", form_test_imm8,
	  0, 0x10223344, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 1 },
	{ "xchg r/m32, r32 (87)", form_xchg32,
	  0, 0xdeadbeef, 0, 0x01234567, FLAGS_ALL, FLAGS_ALL, 2 },
	{ "xchg r/m8, ah (86, disp8)", form_xchg8_ah,
	  0, 0x11223344, 0x0000e100, 0, 0, FLAGS_ALL, 2 },
	{ "xchg r/m16, r16 (66 87, disp8)", form_xchg16,
	  0, 0x11223344, 0, 0xffff5566, 0, FLAGS_ALL, 2 },
	{ "bt r/m32, r32 (0F A3)", form_bt_reg,
	  0, 0x00000020, 0, 5, FL_ZF, FLAGS_BIT, 1 },
	{ "bts r/m32, r32 (0F AB, offset 37: next dword)", form_bts_reg,
	  0, 0, 0, 37, FL_CF, FLAGS_BIT, 2 },
	{ "btr r/m32, r32 (0F B3, offset -1: dword before)", form_btr_reg,
	  4, 0, 0, 0xffffffff, FL_ZF, FLAGS_BIT, 2 },
	{ "btc r/m32, r32 (0F BB)", form_btc_reg,
	  0, 0x00001000, 0, 12, 0, FLAGS_BIT, 2 },
	{ "bt r/m16, r16 (66 0F A3, offset 17: next word)", form_bt_reg16,
	  0, 0x00020000, 0, 17, 0, FLAGS_BIT, 1 },
	{ "bt r/m32, imm8 (0F BA /4)", form_bt_imm,
	  0, 0x80000000, 0, 0, 0, FLAGS_BIT, 1 },
	{ "bts r/m32, imm8 (0F BA /5)", form_bts_imm,
	  0, 0xfffffffe, 0, 0, FLAGS_ALL, FLAGS_BIT, 2 },
	{ "btr r/m32, imm8 (0F BA /6)", form_btr_imm,
	  0, 0x00000080, 0, 0, 0, FLAGS_BIT, 2 },
	{ "btc r/m32, imm8 (0F BA /7, offset 40 taken mod 32)", form_btc_imm,
	  0, 0x00000100, 0, 0, FL_ZF, FLAGS_BIT, 2 },
	{ "lock add r/m32, r32 (F0 01)", form_lock_add,
	  0, 0xffffffff, 0, 1, 0, FLAGS_ALL, 2 },
	{ "lock or r/m32, imm32 (F0 81 /1)", form_lock_or_imm32,
	  0, 0x01000001, 0, 0, FLAGS_ALL, FLAGS_LOGIC, 2 },
	{ "lock and r/m8, imm8 (F0 80 /4, disp8)", form_lock_and_imm8,
	  0, 0x1122f044, 0, 0, 0, FLAGS_LOGIC, 2 },
	{ "lock sub r/m32, imm8 (F0 83 /5)", form_lock_sub_simm8,
	  0, 2, 0, 0, 0, FLAGS_ALL, 2 },
	{ "lock xchg r/m32, r32 (F0 87)", form_lock_xchg,
	  0, 0x31415926, 0, 0x27182818, 0, FLAGS_ALL, 2 },
	{ "lock bts r/m32, r32 (F0 0F AB)", form_lock_bts_reg,
	  0, 0x00000001, 0, 0, FL_ZF, FLAGS_BIT, 2 },
	{ "lock btr r/m32, imm8 (F0 0F BA /6)", form_lock_btr_imm,
	  0, 0x00000008, 0, 0, 0, FLAGS_BIT, 2 },
};

/** What one run of a form left behind. */
struct form_outcome {
	uint32_t window[2];
	struct form_regs regs;
	uint32_t flags;
	uint32_t accesses;
};

/* The RAM copy of the form window: where the CPU itself runs each form. */
static uint32_t ram_window[2];

/** The initial value of window dword @index for check @c. */
static uint32_t window_initial(const struct form_check *c, uint32_t index)
{
	return index * 4 == c->target ? c->value : WINDOW_NEIGHBOUR;
}

/** Runs @c on the RAM window: the CPU's own result, the reference. */
static struct form_outcome form_run_on_ram(const struct form_check *c)
{
	struct form_outcome out = { .regs = { c->eax, c->ecx }, .accesses = c->accesses };

	for (uint32_t i = 0; i < 2; i++) {
		ram_window[i] = window_initial(c, i);
	}
	out.flags = c->run((volatile uint8_t *)ram_window + c->target, &out.regs, c->flags_in);
	for (uint32_t i = 0; i < 2; i++) {
		out.window[i] = ram_window[i];
	}
	return out;
}

/** Runs @c on the device window, counting the accesses the form alone makes. */
static struct form_outcome form_run_on_device(const struct form_check *c)
{
	struct form_outcome out = { .regs = { c->eax, c->ecx } };
	uint32_t before;

	for (uint32_t i = 0; i < 2; i++) {
		mmio_write32(FORM_WINDOW + 4 * i, window_initial(c, i));
	}
	before = device_accesses();
	out.flags = c->run(device_at(FORM_WINDOW + c->target), &out.regs, c->flags_in);
	out.accesses = device_accesses() - before;
	for (uint32_t i = 0; i < 2; i++) {
		out.window[i] = mmio_read32(FORM_WINDOW + 4 * i);
	}
	return out;
}

/** Compares the device run with the RAM run, printing every difference. */
static bool form_outcomes_match(const struct form_check *c, const struct form_outcome *ram,
				const struct form_outcome *dev)
{
	bool ok = true;

	ok = expect_u32(c->name, "dword 0", ram->window[0], dev->window[0]) && ok;
	ok = expect_u32(c->name, "dword 1", ram->window[1], dev->window[1]) && ok;
	ok = expect_u32(c->name, "EAX", ram->regs.eax, dev->regs.eax) && ok;
	ok = expect_u32(c->name, "ECX", ram->regs.ecx, dev->regs.ecx) && ok;
	ok = expect_u32(c->name, "EFLAGS", ram->flags & c->flags_checked,
			dev->flags & c->flags_checked) && ok;
	ok = expect_u32(c->name, "device accesses", ram->accesses, dev->accesses) && ok;
	return ok;
}

/** Runs every form of the table; returns how many failed. */
static unsigned int run_form_checks(void)
{
	unsigned int failures = 0;

	for (size_t i = 0; i < ARRAY_SIZE(form_checks); i++) {
		const struct form_check *c = &form_checks[i];
		struct form_outcome ram = form_run_on_ram(c);
		struct form_outcome dev = form_run_on_device(c);

		if (!report(c->name, form_outcomes_match(c, &ram, &dev))) {
			failures++;
		}
	}
	return failures;
}

/* ------------------------------------------------------------------------
 * Registers, moffs forms and string instructions, against fixed values
 * ------------------------------------------------------------------------ */

/** The ID register reads VDEV_TEST_ID, and the read counts as one access. */
static bool id_register_passes(void)
{
	static const char form[] = "ID register reads VDEV_TEST_ID (8B)";
	uint32_t before = device_accesses();
	uint32_t id = mmio_read32(VDEV_TEST_ID_REG);
	uint32_t counted = device_accesses() - before;
	bool ok = expect_u32(form, "ID", VDEV_TEST_ID, id);

	ok = expect_u32(form, "device accesses", 1, counted) && ok;
	return report(form, ok);
}

/** Reading the access counter is not itself counted. */
static bool counter_read_not_counted_passes(void)
{
	static const char form[] = "access counter: reading it is not counted";
	uint32_t first = device_accesses();

	return report(form, expect_u32(form, "counter", first, device_accesses()));
}

/** MOV EAX, moffs32 (A1) and MOV moffs32, EAX (A3) at fixed device addresses. */
static bool moffs32_passes(void)
{
	static const char form[] = "mov eax, [0xf0000000] (A1) / mov [0xf0000004], eax (A3)";
	uint32_t loaded;
	bool ok;

	mmio_write32(MOFFS_DWORD_LOAD, 0x2468ace0);
	__asm__ volatile("movl %c1, %0" : "=a"(loaded) : "i"(DEVICE_BASE + MOFFS_DWORD_LOAD)
			 : "memory");
	ok = expect_u32(form, "EAX loaded", 0x2468ace0, loaded);
	__asm__ volatile("movl %0, %c1" : : "a"(0x13579bdfU), "i"(DEVICE_BASE + MOFFS_DWORD_STORE)
			 : "memory");
	ok = expect_u32(form, "dword stored", 0x13579bdf, mmio_read32(MOFFS_DWORD_STORE)) && ok;
	return report(form, ok);
}

/** MOV moffs16, AX (66 A3) and MOV AX, moffs16 (66 A1): only AX changes. */
static bool moffs16_passes(void)
{
	static const char form[] = "mov [moffs], ax (66 A3) / mov ax, [moffs] (66 A1)";
	uint32_t eax = 0xffff1234;
	bool ok;

	mmio_write32(MOFFS_SMALL, 0x99999999);
	__asm__ volatile("movw %%ax, %c1" : : "a"(0xaaaa4321U), "i"(DEVICE_BASE + MOFFS_WORD)
			 : "memory");
	ok = expect_u32(form, "dword stored", 0x43219999, mmio_read32(MOFFS_SMALL));
	__asm__ volatile("movw %c1, %%ax" : "+a"(eax) : "i"(DEVICE_BASE + MOFFS_WORD) : "memory");
	ok = expect_u32(form, "EAX loaded", 0xffff4321, eax) && ok;
	return report(form, ok);
}

/** MOV moffs8, AL (A2) and MOV AL, moffs8 (A0): only AL changes. */
static bool moffs8_passes(void)
{
	static const char form[] = "mov [moffs], al (A2) / mov al, [moffs] (A0)";
	uint32_t eax = 0x12345678;
	bool ok;

	mmio_write32(MOFFS_SMALL, 0x11111111);
	__asm__ volatile("movb %%al, %c1" : : "a"(0xeeeeee9cU), "i"(DEVICE_BASE + MOFFS_BYTE)
			 : "memory");
	ok = expect_u32(form, "dword stored", 0x11119c11, mmio_read32(MOFFS_SMALL));
	__asm__ volatile("movb %c1, %%al" : "+a"(eax) : "i"(DEVICE_BASE + MOFFS_BYTE) : "memory");
	ok = expect_u32(form, "EAX loaded", 0x1234569c, eax) && ok;
	return report(form, ok);
}

/* What MOVS copies to the device and back: four dwords, every byte different. */
static const uint32_t string_source[4] = { 0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff01 };
static uint32_t string_copy[4];

/** The registers of a string instruction, before and after. */
struct string_regs {
	uint32_t esi;
	uint32_t edi;
	uint32_t ecx;
};

/** Checks ESI, EDI, ECX and the device accesses after a string instruction. */
static bool string_regs_match(const char *form, const struct string_regs *expected,
			      const struct string_regs *got, uint32_t accesses_expected,
			      uint32_t accesses)
{
	bool ok = expect_u32(form, "ESI", expected->esi, got->esi);

	ok = expect_u32(form, "EDI", expected->edi, got->edi) && ok;
	ok = expect_u32(form, "ECX", expected->ecx, got->ecx) && ok;
	return expect_u32(form, "device accesses", accesses_expected, accesses) && ok;
}

/** Checks that dwords at device offset hold string_source. */
static bool device_holds_source(const char *form, uint32_t offset)
{
	bool ok = true;

	for (uint32_t i = 0; i < ARRAY_SIZE(string_source); i++) {
		uint32_t got = mmio_read32(offset + 4 * i);

		ok = expect_u32(form, "device dword", string_source[i], got) && ok;
	}
	return ok;
}

/** Checks that string_copy holds string_source. */
static bool copy_holds_source(const char *form)
{
	bool ok = true;

	for (uint32_t i = 0; i < ARRAY_SIZE(string_source); i++) {
		ok = expect_u32(form, "RAM dword", string_source[i], string_copy[i]) && ok;
	}
	return ok;
}

/** REP MOVSD from RAM to the device: four dwords in one exit. */
static bool rep_movsd_ram_to_device_passes(void)
{
	static const char form[] = "rep movs m32, m32 RAM to device (F3 A5)";
	uint32_t src = (uint32_t)(uintptr_t)string_source, dst = DEVICE_BASE + MOVS_AREA;
	struct string_regs r = { src, dst, 4 };
	const struct string_regs expected = { src + 16, dst + 16, 0 };
	uint32_t before = device_accesses();
	bool ok;

	__asm__ volatile("rep movsl" : "+S"(r.esi), "+D"(r.edi), "+c"(r.ecx) : : "memory");
	ok = string_regs_match(form, &expected, &r, 4, device_accesses() - before);
	return report(form, device_holds_source(form, MOVS_AREA) && ok);
}

/** REP MOVSB from the device to RAM: sixteen byte reads in one exit. */
static bool rep_movsb_device_to_ram_passes(void)
{
	static const char form[] = "rep movs m8, m8 device to RAM (F3 A4)";
	uint32_t src = DEVICE_BASE + MOVS_AREA, dst = (uint32_t)(uintptr_t)string_copy;
	struct string_regs r = { src, dst, 16 };
	const struct string_regs expected = { src + 16, dst + 16, 0 };
	uint32_t before;
	bool ok;

	memset(string_copy, 0, sizeof(string_copy));
	before = device_accesses();
	__asm__ volatile("rep movsb" : "+S"(r.esi), "+D"(r.edi), "+c"(r.ecx) : : "memory");
	ok = string_regs_match(form, &expected, &r, 16, device_accesses() - before);
	return report(form, copy_holds_source(form) && ok);
}

/** REP MOVSB with DF = 1: the same bytes copied from the last one down. */
static bool rep_movsb_backwards_passes(void)
{
	static const char form[] = "std; rep movs m8, m8 device to RAM (F3 A4, DF = 1)";
	uint32_t src = DEVICE_BASE + MOVS_AREA + 15, dst = (uint32_t)(uintptr_t)string_copy + 15;
	struct string_regs r = { src, dst, 16 };
	const struct string_regs expected = { src - 16, dst - 16, 0 };
	uint32_t before;
	bool ok;

	memset(string_copy, 0, sizeof(string_copy));
	before = device_accesses();
	/* CLD at once after: the C ABI wants DF clear outside this statement. */
	__asm__ volatile("std\n\trep movsb\n\tcld"
			 : "+S"(r.esi), "+D"(r.edi), "+c"(r.ecx) : : "memory", "cc");
	ok = string_regs_match(form, &expected, &r, 16, device_accesses() - before);
	return report(form, copy_holds_source(form) && ok);
}

/** MOVSD without REP from the device to the device: one read, one write. */
static bool movsd_device_to_device_passes(void)
{
	static const char form[] = "movs m32, m32 device to device (A5)";
	uint32_t src = DEVICE_BASE + MOVS_AREA, dst = DEVICE_BASE + MOVS_PAIR_DEST;
	struct string_regs r = { src, dst, 0x77 };
	const struct string_regs expected = { src + 4, dst + 4, 0x77 };
	uint32_t before = device_accesses();
	bool ok;

	__asm__ volatile("movsl" : "+S"(r.esi), "+D"(r.edi), "+c"(r.ecx) : : "memory");
	ok = string_regs_match(form, &expected, &r, 2, device_accesses() - before);
	ok = expect_u32(form, "device dword", string_source[0], mmio_read32(MOVS_PAIR_DEST)) && ok;
	return report(form, ok);
}

/** REP STOSD and REP STOSB to the device, the latter ending inside a dword. */
static bool rep_stos_passes(void)
{
	static const char form[] = "rep stos m32 (F3 AB) / rep stos m8 (F3 AA)";
	uint32_t dst = DEVICE_BASE + STOS_AREA;
	struct string_regs r = { 0, dst, 2 };
	const struct string_regs expected_d = { 0, dst + 8, 0 }, expected_b = { 0, dst + 13, 0 };
	uint32_t before = device_accesses();
	bool ok;

	__asm__ volatile("rep stosl" : "+D"(r.edi), "+c"(r.ecx) : "a"(0xc0ffee11U) : "memory");
	ok = string_regs_match(form, &expected_d, &r, 2, device_accesses() - before);
	mmio_write32(STOS_AREA + 12, 0x12345678);
	r.ecx = 5;
	before = device_accesses();
	__asm__ volatile("rep stosb" : "+D"(r.edi), "+c"(r.ecx) : "a"(0xffffff7eU) : "memory");
	ok = string_regs_match(form, &expected_b, &r, 5, device_accesses() - before) && ok;
	ok = expect_u32(form, "dword 0", 0xc0ffee11, mmio_read32(STOS_AREA)) && ok;
	ok = expect_u32(form, "dword 1", 0xc0ffee11, mmio_read32(STOS_AREA + 4)) && ok;
	ok = expect_u32(form, "dword 2", 0x7e7e7e7e, mmio_read32(STOS_AREA + 8)) && ok;
	ok = expect_u32(form, "dword 3", 0x1234567e, mmio_read32(STOS_AREA + 12)) && ok;
	return report(form, ok);
}

/* The checks with fixed expectations, in order: the ID first, it says the device is there. */
static bool (*const fixed_checks[])(void) = {
	id_register_passes,
	counter_read_not_counted_passes,
	moffs32_passes,
	moffs16_passes,
	moffs8_passes,
	rep_movsd_ram_to_device_passes,
	rep_movsb_device_to_ram_passes,
	rep_movsb_backwards_passes,
	movsd_device_to_device_passes,
	rep_stos_passes,
};

/** Runs the fixed checks; returns how many failed. */
static unsigned int run_fixed_checks(void)
{
	unsigned int failures = 0;

	for (size_t i = 0; i < ARRAY_SIZE(fixed_checks); i++) {
		if (!fixed_checks[i]()) {
			failures++;
		}
	}
	return failures;
}

/** Runs every check; exit code 0 only when all passed. */
int guest_main(void)
{
	unsigned int failures;

	guest_printf("MMIO interpreter checks against the test device at 0x%08x\n", DEVICE_BASE);
	failures = run_fixed_checks();
	failures += run_form_checks();
	if (failures != 0) {
		guest_printf("%u checks FAILED\n", failures);
		return 1;
	}
	guest_printf("all checks passed\n");
	return 0;
}
