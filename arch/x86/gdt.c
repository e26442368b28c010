/*
 * GDT and TSS: flat 64-bit code and data, and a TSS whose interrupt stack
 * table gives NMI, #DF and #MC a known-good stack (SDM Vol. 3, 6.14.5).
 */
#include "arch/x86/segments.h"
#include "hv/string.h"

#define GDT_CODE64 0x00af9b000000ffffULL /* present, DPL0, exec/read, L=1 */
#define GDT_DATA   0x00cf93000000ffffULL /* present, DPL0, read/write */
#define TSS_TYPE_AVAILABLE 0x9ULL



/** Encodes the low half of a 64-bit TSS descriptor. */
static uint64_t tss_descriptor_low(uint64_t base, uint32_t limit)
{
	return (limit & 0xffffULL) | ((base & 0xffffffULL) << 16) |
	       (TSS_TYPE_AVAILABLE << 40) | (1ULL << 47) |
	       ((uint64_t)(limit >> 16) << 48) | (((base >> 24) & 0xff) << 56);
}

/** Builds and loads this CPU's GDT, TSS and the shared IDT. */
void cpu_tables_load(struct cpu_tables *t)
{
	struct descriptor_table_register gdtr = {
		.limit = sizeof(t->gdt) - 1,
		.base = (uint64_t)t->gdt,
	};
	uint64_t tss = (uint64_t)&t->tss;

	memset(&t->tss, 0, sizeof(t->tss));
	for (int i = 0; i < IST_COUNT; i++) {
		t->tss.ist[i] = (uint64_t)&t->ist_stacks[i][IST_STACK_SIZE];
	}
	t->tss.iomap_base = sizeof(t->tss); /* no I/O permission bitmap */
	t->gdt[0] = 0;
	t->gdt[1] = GDT_CODE64;
	t->gdt[2] = GDT_DATA;
	t->gdt[3] = tss_descriptor_low(tss, sizeof(t->tss) - 1);
	t->gdt[4] = tss >> 32;
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "movw %w3, %%fs\n\t"
			 "movw %w3, %%gs\n\t"
			 "ltr %w4"
			 :
			 : "m"(gdtr), "i"(GDT_SEL_CODE), "r"(GDT_SEL_DATA), "r"(0),
			   "r"(GDT_SEL_TSS)
			 : "rax", "memory");
	idt_load();
}
