/*
 * triple: makes the partition triple-fault on purpose, to test how Tessera
 * handles the VM exit that follows (it must stop and report this partition
 * and nothing else).
 *
 * With an IDT whose limit is 0 no vector can be delivered: the #UD raised by
 * ud2 finds no gate and becomes #GP, which finds none either and becomes #DF,
 * which finds none and becomes a triple fault: a shutdown on bare metal, a
 * VM exit under VT-x.
 */
#include "guests/common/guest.h"

/** The operand of LIDT in 32-bit mode: the IDT's limit and linear base. */
struct idt_pointer {
	uint16_t limit;
	uint32_t base;
} PACKED;

/** Loads the IDT described by idt. */
static void load_idt(const struct idt_pointer *idt)
{
	__asm__ volatile("lidt %0" : : "m"(*idt) : "memory");
}

/** Triple-faults; returns 1 only if the guest survived it. */
int guest_main(void)
{
	static const struct idt_pointer empty_idt = { .limit = 0, .base = 0 };

	guest_printf("empty IDT + ud2: this partition will now triple-fault\n");
	load_idt(&empty_idt);
	__asm__ volatile("ud2");
	guest_printf("FAILED: still running after the triple fault\n");
	return 1;
}
