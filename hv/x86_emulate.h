/*
 * x86 instruction emulator for MMIO: carries out one instruction decoded by
 * x86_decode() (hv/x86_decode.h) on a register file, with every memory
 * access going through the caller's callbacks.
 *
 * What the emulator does: operand values, the arithmetic and its RFLAGS,
 * register write-back with x86 sizing rules, string iteration (REP, DF)
 * and the RIP advance. What the caller does: everything about addresses
 * beyond the effective address. A callback receives the segment and the
 * offset within it (the effective address, already truncated to the
 * address size); the caller adds the segment base, checks the limit or
 * canonical form, walks the guest page tables, and sends the access to
 * RAM or to the device that claims it.
 *
 * Flags the SDM leaves undefined get a fixed value, the one current Intel
 * cores produce: AF is cleared by AND, OR, XOR and TEST; BT, BTS, BTR and
 * BTC leave OF, SF, AF and PF (and ZF, which they define as unaffected)
 * unchanged.
 *
 * Not atomic: a LOCKed or XCHG read-modify-write is a read callback
 * followed by a write callback. For device registers the caller serialises
 * accesses to the device; for RAM that other vCPUs share, it must not hand
 * such an instruction to the emulator unless it holds them off.
 */
#ifndef TESSERA_HV_X86_EMULATE_H
#define TESSERA_HV_X86_EMULATE_H

#include "hv/types.h"
#include "hv/x86_decode.h"

/* RFLAGS bits (SDM Vol. 1, 3.4.3). */
#define X86_RFLAGS_CF BIT(0)
#define X86_RFLAGS_PF BIT(2)
#define X86_RFLAGS_AF BIT(4)
#define X86_RFLAGS_ZF BIT(6)
#define X86_RFLAGS_SF BIT(7)
#define X86_RFLAGS_DF BIT(10)
#define X86_RFLAGS_OF BIT(11)
#define X86_RFLAGS_STATUS (X86_RFLAGS_CF | X86_RFLAGS_PF | X86_RFLAGS_AF | \
			   X86_RFLAGS_ZF | X86_RFLAGS_SF | X86_RFLAGS_OF)

/*
 * At most this many iterations of a REP string instruction per call. When
 * rCX is not exhausted by then, x86_emulate() returns X86_EMULATE_OK with
 * rCX, rSI and rDI updated but RIP unchanged: the guest re-executes the
 * instruction, which continues where it stopped (the same as hardware does
 * when it takes an interrupt between iterations). A guest cannot make the
 * hypervisor loop 2^64 times.
 */
#define X86_EMULATE_REP_BUDGET 4096

/**
 * The guest state the emulator reads and writes: the general-purpose
 * registers in encoding order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
 * R8-R15), RIP and RFLAGS. Outside 64-bit mode only the low halves mean
 * anything. x86_emulate() sets bit n of written for every write to gpr[n]
 * (a high-byte register counts as its full register) and never clears it, so
 * a caller that clears it first learns which registers to write back.
 */
struct x86_regs {
	uint64_t gpr[16];
	uint64_t rip;
	uint64_t rflags;
	uint16_t written;
};

/**
 * The caller's memory access. Each call moves size (1, 2, 4 or 8) bytes,
 * little-endian, between buf and offset within segment seg. A callback
 * returns false when the access faults (page fault, #GP, #SS, a device
 * error); it records in ctx what to inject, and the emulator stops at
 * once. Both callbacks are required.
 */
struct x86_emulate_ops {
	bool (*read_mem)(void *ctx, enum x86_segment seg, uint64_t offset, void *buf,
			 unsigned int size);
	bool (*write_mem)(void *ctx, enum x86_segment seg, uint64_t offset, const void *buf,
			  unsigned int size);
};

/* The outcome of x86_emulate(). */
enum x86_emulate_status {
	/* Done: registers, RFLAGS, memory and RIP updated (see REP_BUDGET). */
	X86_EMULATE_OK = 0,
	/*
	 * A memory callback failed. Nothing of the instruction is committed
	 * and RIP is unchanged, except for the iterations a REP string
	 * instruction completed before the fault, which are (rCX, rSI, rDI),
	 * as on hardware: after the fault is handled, the instruction resumes.
	 */
	X86_EMULATE_FAULT,
	/* Not an instruction the emulator can carry out (a malformed insn). */
	X86_EMULATE_UNSUPPORTED,
};

/**
 * Emulates insn (decoded by x86_decode() at regs->rip) on regs, with
 * memory through ops and ctx.
 */
enum x86_emulate_status x86_emulate(const struct x86_insn *insn, struct x86_regs *regs,
				    const struct x86_emulate_ops *ops, void *ctx);

/**
 * Whether x86_emulate() can carry insn out at all (its operation, sizes and
 * registers make sense): a pure function of insn, true for whatever
 * x86_decode() accepts. A caller that keeps decoded instructions can ask
 * once and then call x86_emulate_checked().
 */
bool x86_emulate_supported(const struct x86_insn *insn);

/**
 * x86_emulate() without its checks of the arguments: for an insn that
 * x86_emulate_supported() accepted and ops with both callbacks.
 */
enum x86_emulate_status x86_emulate_checked(const struct x86_insn *insn, struct x86_regs *regs,
					    const struct x86_emulate_ops *ops, void *ctx);

/**
 * The general-purpose registers x86_emulate() may read or write for insn
 * (bit n: gpr[n]; a high-byte register counts as its full register): the
 * registers its operands name, and for MOVS and STOS rAX, rCX, rSI and rDI.
 * It touches no other gpr[] entry, so a caller may load only these.
 */
uint16_t x86_insn_gprs_used(const struct x86_insn *insn);

/**
 * The offset (effective address) of insn's memory operand with regs, as
 * the emulator passes it to the callbacks: truncated to the address size.
 * 0 when the r/m operand is not memory. The caller can check it against
 * the guest-physical address of the EPT violation.
 */
uint64_t x86_effective_address(const struct x86_insn *insn, const struct x86_regs *regs);

/** A fixed name for an emulation status ("ok", "fault", "unsupported"). */
const char *x86_emulate_status_name(enum x86_emulate_status status);

#endif /* TESSERA_HV_X86_EMULATE_H */
