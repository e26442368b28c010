/*
 * Per-CPU bring-up: own descriptor tables, own stack, own page tables.
 */
#include "arch/x86/cpu_setup.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/paging.h"
#include "hv/alloc.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"

/** Allocates a zeroed per-CPU block and a stack whose lowest page is a guard. */
static struct percpu *cpu_alloc_percpu(unsigned int index)
{
	uint64_t percpu_pages = ALIGN_UP(sizeof(struct percpu), PAGE_SIZE) / PAGE_SIZE;
	hpa_t block;
	hpa_t stack;
	struct percpu *cpu;

	if (!alloc_pages(percpu_pages, 1, OWNER_HYPERVISOR, &block) ||
	    !alloc_pages(PERCPU_STACK_PAGES + 1, 1, OWNER_HYPERVISOR, &stack)) {
		log_error("cpu %u: no memory for per-CPU data and stack", index);
		return NULL;
	}
	cpu = memset(hpa_to_ptr(block), 0, percpu_pages * PAGE_SIZE);
	cpu->self = cpu;
	cpu->index = index;
	/* The guard page below the stack stays unmapped: an overflow faults. */
	if (!paging_add_guard_page(stack)) {
		log_error("cpu %u: too many guard pages", index);
		return NULL;
	}
	cpu->stack_top = hpa_addr(stack) + (PERCPU_STACK_PAGES + 1) * PAGE_SIZE;
	return cpu;
}

/** Sets up the boot CPU after hand-off (see cpu_setup.h). */
struct percpu *cpu_setup_boot_cpu(uint64_t phys_limit)
{
	struct percpu *cpu = cpu_alloc_percpu(0);

	if (cpu == NULL) {
		return NULL;
	}
	cpu_tables_load(&cpu->tables);
	/* After the selector loads, which may clear the base. */
	cpu_wrmsr(MSR_IA32_GS_BASE, (uint64_t)cpu);
	if (!paging_init(phys_limit)) {
		log_error("no memory for the hypervisor's page tables");
		return NULL;
	}
	return cpu;
}

/** Continues on @cpu's own stack in fn(arg); never returns. */
void cpu_switch_stack(struct percpu *cpu, void (*fn)(void *), void *arg)
{
	__asm__ volatile("movq %0, %%rsp\n\t"
			 "xorl %%ebp, %%ebp\n\t"
			 "callq *%1\n\t"
			 "ud2"
			 :
			 : "r"(cpu->stack_top), "r"(fn), "D"(arg)
			 : "memory");
	__builtin_unreachable();
}
