/*
 * The handlers for all 256 vectors of the irq and pcplat guests, each of
 * which builds its IDT from interrupt_stubs (guests/common/interrupt_stubs.h).
 * Every stub is 16 bytes long, so the handler of vector V is at
 * interrupt_stubs + 16 * V and no table of addresses is needed.
 *
 * Each stub brings the frame into one shape (the CPU pushes an error code
 * for exceptions 8, 10-14, 17, 21, 29 and 30 only; the others push a 0 in
 * its place), pushes its vector and joins interrupt_common, which saves the
 * general registers and calls interrupt_dispatch (C) with a pointer to
 * struct interrupt_frame. The dispatcher may change the saved EIP (that is
 * how a probed instruction that faulted is skipped) and may enable
 * interrupts itself, so handlers nest on the one stack.
 */
	.code32

#include "guests/common/interrupt_stubs.h"

	.text
	.balign INTERRUPT_STUB_SIZE
	.globl interrupt_stubs
interrupt_stubs:
	.set vector, 0
	.rept INTERRUPT_VECTORS
0:
	.if !((vector == 8) || (vector >= 10 && vector <= 14) || (vector == 17) || \
	      (vector == 21) || (vector == 29) || (vector == 30))
	pushl	$0
	.endif
	pushl	$vector
	jmp	interrupt_common
	/* Pads the stub to its slot; a stub that outgrew it fails to assemble here. */
	.org	0b + INTERRUPT_STUB_SIZE, 0xcc
	.set vector, vector + 1
	.endr

/*
 * Saves EAX..EDI (PUSHAL, 32 bytes) and calls the dispatcher on a
 * 16-byte-aligned stack, as the i386 ABI wants, with a pointer to what lies
 * above them: vector, error code, EIP (struct interrupt_frame). EBX,
 * callee-saved, keeps the stack pointer across the call.
 */
	.type interrupt_common, @function
interrupt_common:
	pushal
	cld
	movl	%esp, %ebx
	andl	$-16, %esp
	subl	$12, %esp
	leal	32(%ebx), %eax
	pushl	%eax
	call	interrupt_dispatch
	movl	%ebx, %esp
	popal
	/* Drop the vector and the error code. */
	addl	$8, %esp
	iret
	.size interrupt_common, . - interrupt_common

	/* The stack needs no execute permission. */
	.section .note.GNU-stack, "", @progbits
