/*
 * The 256 interrupt and exception handlers of guests/irq/vectors.S, which
 * the guests that link it (irq, pcplat) share: each stub brings the CPU's
 * frame into one shape and calls the guest's interrupt_dispatch(). Here
 * rather than beside vectors.S so that every guest build depends on it.
 */
#ifndef TESSERA_GUESTS_COMMON_INTERRUPT_STUBS_H
#define TESSERA_GUESTS_COMMON_INTERRUPT_STUBS_H

/* The handlers: vector V's stub is at interrupt_stubs + V * INTERRUPT_STUB_SIZE. */
#define INTERRUPT_VECTORS   256
#define INTERRUPT_STUB_SIZE 16
#define FIRST_EXTERNAL      32 /* vectors below are exceptions (SDM Vol. 3A, 6.3) */

#ifndef __ASSEMBLER__

#include "guests/common/guest.h"

/**
 * The part of the stack interrupt_common passes: what the stub pushed, then
 * the CPU's frame (CS and EFLAGS follow EIP; no check needs them). A change
 * of eip is where the IRET resumes.
 */
struct interrupt_frame {
	uint32_t vector;
	uint32_t error_code;
	uint32_t eip;
};

/* The first stub (guests/irq/vectors.S). */
extern const uint8_t interrupt_stubs[];

/** Each guest's handler of every vector, called with interrupts off. */
void interrupt_dispatch(struct interrupt_frame *frame);

#endif /* __ASSEMBLER__ */

#endif /* TESSERA_GUESTS_COMMON_INTERRUPT_STUBS_H */
