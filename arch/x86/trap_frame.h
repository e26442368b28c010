/*
 * The register image that isr.S saves on an interrupt or exception in root
 * mode, lowest address first.
 */
#ifndef TESSERA_ARCH_X86_TRAP_FRAME_H
#define TESSERA_ARCH_X86_TRAP_FRAME_H

#ifndef __ASSEMBLER__
#include "hv/types.h"

/** Registers at the time of the trap, as isr.S pushed them. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector;
	uint64_t error_code;
	/* Pushed by the CPU. */
	uint64_t rip, cs, rflags, rsp, ss;
};

/** Called by isr.S for every interrupt and exception in root mode. */
void x86_trap(struct trap_frame *frame);
#endif

#endif /* TESSERA_ARCH_X86_TRAP_FRAME_H */
