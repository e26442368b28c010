/*
 * Per-CPU data. Every CPU reaches its own through the GS base, so nothing
 * that is per CPU is ever a global, even while only the boot CPU runs.
 */
#ifndef TESSERA_HV_PERCPU_H
#define TESSERA_HV_PERCPU_H

#include "arch/x86/segments.h"
#include "hv/types.h"

#define PERCPU_STACK_PAGES 8
#define MAX_CPUS 64

struct vcpu;

/** Everything that belongs to one physical CPU. */
struct percpu {
	struct percpu *self;          /* at offset 0: read through %gs:0 */
	unsigned int index;
	uint64_t stack_top;
	hpa_t vmxon_region;
	hpa_t current_vmcs;           /* the VMCS loaded by VMPTRLD, or 0 */
	struct vcpu *current_vcpu;
	struct vcpu *guest_context_owner; /* whose MSRs and FPU state this CPU holds */
	unsigned int sched_cursor;    /* round-robin position */
	uint64_t next_console_tick;   /* TSC when the console is served next (CPU 0) */
	struct cpu_tables tables;
};

/** This CPU's data. */
static inline struct percpu *this_cpu(void)
{
	struct percpu *cpu;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(cpu));
	return cpu;
}

#endif /* TESSERA_HV_PERCPU_H */
