/*
 * The hypervisor's own GDT layout, TSS and IDT (SDM Vol. 3, 3.4 and 7.7).
 */
#ifndef TESSERA_ARCH_X86_SEGMENTS_H
#define TESSERA_ARCH_X86_SEGMENTS_H

#include "hv/types.h"

#define GDT_SEL_CODE 0x08
#define GDT_SEL_DATA 0x10
#define GDT_SEL_TSS  0x18
#define GDT_ENTRIES  5 /* null, code, data, and the 16-byte TSS descriptor */

/* Interrupt stack table slots (1-based, as in the IDT gate). */
#define IST_NMI    1
#define IST_DOUBLE_FAULT 2
#define IST_MACHINE_CHECK 3
#define IST_COUNT  3
#define IST_STACK_SIZE 4096

/** The 64-bit task-state segment (SDM Vol. 3, 7.7). */
struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} PACKED;

/** A descriptor-table register image for LGDT/LIDT. */
struct descriptor_table_register {
	uint16_t limit;
	uint64_t base;
} PACKED;

/** One CPU's GDT and TSS (each CPU needs its own TSS, hence its own GDT). */
struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES] ALIGNED(16);
	struct tss64 tss ALIGNED(16);
	uint8_t ist_stacks[IST_COUNT][IST_STACK_SIZE] ALIGNED(16);
};

/** Loads the shared IDT on this CPU (building it on first use). */
void idt_load(void);

/** Builds and loads this CPU's GDT, TSS and the shared IDT. */
void cpu_tables_load(struct cpu_tables *tables);

#endif /* TESSERA_ARCH_X86_SEGMENTS_H */
