/*
 * The test guests' GDT and IDT (see descriptors.h).
 */
#include "guests/common/descriptors.h"

#define GDT_FLAT_CODE     0x00cf9a000000ffffULL
#define GDT_FLAT_DATA     0x00cf92000000ffffULL
#define GATE_INTERRUPT_32 0x8e /* present, DPL 0, 32-bit interrupt gate: IF=0 in handlers */

/** The operand of LGDT and LIDT in 32-bit mode. */
struct descriptor_table_register {
	uint16_t limit;
	uint32_t base;
} PACKED;

/* Not const: the CPU sets the accessed bits when a segment is loaded. */
static uint64_t gdt[GDT_ENTRIES] ALIGNED(8) = { 0, GDT_FLAT_CODE, GDT_FLAT_DATA };

/** Loads the flat GDT and reloads every segment register from it. */
void load_flat_gdt(void)
{
	struct descriptor_table_register gdtr = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };

	/* CS changes only through a far jump; the data selectors through AX. */
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:\tmovw %2, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "movw %%ax, %%ss"
			 : : "m"(gdtr), "i"(SELECTOR_CODE), "i"(SELECTOR_DATA) : "eax", "memory");
}

/** Points @gate at @handler, in the code segment. */
static void idt_set_gate(struct idt_gate *gate, uint32_t handler)
{
	*gate = (struct idt_gate){ (uint16_t)handler, SELECTOR_CODE, 0, GATE_INTERRUPT_32,
				   (uint16_t)(handler >> 16) };
}

/** Loads IDTR with the first @count gates of @idt. */
static void idt_load(const struct idt_gate *idt, uint32_t count)
{
	struct descriptor_table_register idtr = {
		(uint16_t)(count * sizeof(*idt) - 1),
		(uint32_t)(uintptr_t)idt,
	};

	__asm__ volatile("lidt %0" : : "m"(idtr) : "memory");
}

/** Fills the @count gates of @idt from a table of handler addresses and loads them. */
void load_idt_from_table(struct idt_gate *idt, const uint32_t *handlers, uint32_t count)
{
	for (uint32_t vector = 0; vector < count; vector++) {
		idt_set_gate(&idt[vector], handlers[vector]);
	}
	idt_load(idt, count);
}

/** Fills the @count gates of @idt with evenly spaced handlers and loads them. */
void load_idt_from_stubs(struct idt_gate *idt, const uint8_t *first, uint32_t stride,
			 uint32_t count)
{
	for (uint32_t vector = 0; vector < count; vector++) {
		idt_set_gate(&idt[vector], (uint32_t)(uintptr_t)&first[(size_t)vector * stride]);
	}
	idt_load(idt, count);
}
