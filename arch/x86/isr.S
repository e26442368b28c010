/*
 * Interrupt and exception entry stubs for root mode. Each stub makes the
 * stack look the same (an error code, real or 0, then the vector) and jumps
 * to the common path, which saves every register into a struct trap_frame
 * and calls x86_trap(frame).
 */
#include "arch/x86/trap_frame.h"

	.text
	.code64

/* Vectors for which the CPU pushes an error code (SDM Vol. 3, 6.15). */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

	.macro isr_stub vector
	.p2align 4
isr_stub_\vector:
	.if !HAS_ERROR_CODE(\vector)
	pushq $0
	.endif
	pushq $\vector
	jmp isr_common
	.endm

isr_common:
	/* Build the rest of struct trap_frame, r15 at the lowest address. */
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	/* Align the stack for the C call; the frame pointer chain stays intact. */
	movq %rsp, %rbx
	andq $-16, %rsp
	cld
	call x86_trap
	movq %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp /* vector and error code */
	iretq

/* 256 stubs: the preprocessor spells the vectors 0x00 ... 0xff. */
#define ROW(m, h) m h##0; m h##1; m h##2; m h##3; m h##4; m h##5; m h##6; m h##7; \
	m h##8; m h##9; m h##a; m h##b; m h##c; m h##d; m h##e; m h##f
#define ALL_VECTORS(m) ROW(m, 0x0); ROW(m, 0x1); ROW(m, 0x2); ROW(m, 0x3); \
	ROW(m, 0x4); ROW(m, 0x5); ROW(m, 0x6); ROW(m, 0x7); ROW(m, 0x8); \
	ROW(m, 0x9); ROW(m, 0xa); ROW(m, 0xb); ROW(m, 0xc); ROW(m, 0xd); \
	ROW(m, 0xe); ROW(m, 0xf)

	ALL_VECTORS(isr_stub)

	.section .data
	.p2align 3
	.globl isr_stub_table
isr_stub_table:
	.macro isr_table_entry vector
	.quad isr_stub_\vector
	.endm
	ALL_VECTORS(isr_table_entry)

	.section .note.GNU-stack, "", @progbits
