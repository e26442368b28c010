/*
 * Guest FPU/SSE/AVX state. Tessera itself never touches it (it is built with
 * -mgeneral-regs-only), so a vCPU's registers stay live in the CPU until
 * another vCPU comes to run there; only then are they saved and the other's
 * restored (XSAVE/XRSTOR, or FXSAVE/FXRSTOR without XSAVE). Without this,
 * partitions sharing a CPU would see each other's vector registers.
 */
#ifndef TESSERA_ARCH_X86_FPU_H
#define TESSERA_ARCH_X86_FPU_H

#include "hv/types.h"

struct vcpu;

/** Sets up this CPU for saving guest state (CR4.OSXSAVE where XSAVE exists). */
void fpu_cpu_init(void);

/** Bytes a vCPU's save area needs (a multiple of 64). */
size_t fpu_state_size(void);

/** Fills a save area with the state of a CPU after RESET (FCW 0x37f, MXCSR 0x1f80). */
void fpu_state_init(void *area);

/** Saves @prev's registers (if any) and loads @next's. */
void fpu_switch(const struct vcpu *prev, const struct vcpu *next);

/** True when a guest may write @value to XCR0 (SDM 13.3: XSETBV's checks). */
bool fpu_xcr0_valid(uint64_t value);

/** Makes @value the current XCR0 (the running vCPU's, checked). */
void fpu_load_xcr0(uint64_t value);

#endif /* TESSERA_ARCH_X86_FPU_H */
