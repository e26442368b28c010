/*
 * Bringing a CPU under the hypervisor's own control structures.
 */
#ifndef TESSERA_ARCH_X86_CPU_SETUP_H
#define TESSERA_ARCH_X86_CPU_SETUP_H

#include "hv/percpu.h"

/**
 * Sets up the boot CPU after hand-off: per-CPU data, a stack with a guard
 * page, GDT/TSS/IDT, and page tables identity-mapping [0, phys_limit).
 * Returns NULL (and has logged why) when memory runs out.
 */
struct percpu *cpu_setup_boot_cpu(uint64_t phys_limit);

/** Continues on @cpu's own stack in fn(arg); never returns. */
NORETURN void cpu_switch_stack(struct percpu *cpu, void (*fn)(void *), void *arg);

#endif /* TESSERA_ARCH_X86_CPU_SETUP_H */
