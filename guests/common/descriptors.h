/*
 * The descriptor tables of the test guests that take exceptions or
 * interrupts: a flat GDT like the segments Tessera enters a guest with, and
 * an IDT of 32-bit interrupt gates (SDM Vol. 3A, 6.11) to the guest's own
 * handlers.
 */
#ifndef TESSERA_GUESTS_COMMON_DESCRIPTORS_H
#define TESSERA_GUESTS_COMMON_DESCRIPTORS_H

#include "guests/common/guest.h"

/* The GDT's entries: null, flat 4 GiB ring-0 code, flat 4 GiB ring-0 data. */
#define SELECTOR_CODE     0x08
#define SELECTOR_DATA     0x10
#define GDT_ENTRIES       3
#define SELECTOR_PAST_GDT (GDT_ENTRIES * 8) /* loading it is #GP(selector) */

/** One 32-bit IDT gate (SDM Vol. 3A, 6.11); a guest keeps its IDT 8-byte aligned. */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type_attributes;
	uint16_t offset_high;
} PACKED;

/** Loads the flat GDT and reloads every segment register from it. */
void load_flat_gdt(void);

/**
 * Points the @count gates of @idt at @handlers (addresses, in vector order)
 * and loads the IDT: a vector beyond them raises #GP.
 */
void load_idt_from_table(struct idt_gate *idt, const uint32_t *handlers, uint32_t count);

/**
 * Points the @count gates of @idt at handlers laid out @stride bytes apart
 * from @first (vector V's at @first + V * @stride) and loads the IDT.
 */
void load_idt_from_stubs(struct idt_gate *idt, const uint8_t *first, uint32_t stride,
			 uint32_t count);

#endif /* TESSERA_GUESTS_COMMON_DESCRIPTORS_H */
