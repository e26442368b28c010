/*
 * The exits guest's exception handlers, vectors 0-31 (exits.c builds the
 * IDT from exception_stubs). Each handler records the vector, the error code
 * (0 for vectors without one) and the faulting EIP, then resumes at the
 * recovery label the test armed (exception_resume_eip) instead of retrying
 * the instruction. That is how a check sees which exception Tessera injected,
 * with which error code, and at which instruction.
 *
 * A fault with no recovery armed is a surprise: exception_unexpected (C)
 * reports it and stops the partition with a failure.
 */
	.code32

	.section .bss
	.balign 4
	.globl exception_count, exception_vector, exception_error_code
	.globl exception_eip, exception_resume_eip, exception_expected_eip
/* Exceptions since the test armed its recovery: more than one is a failure. */
exception_count:
	.skip	4
exception_vector:
	.skip	4
exception_error_code:
	.skip	4
/* Where the exception was raised: the EIP the CPU pushed. */
exception_eip:
	.skip	4
/* Where the handler resumes; 0 when no test expects an exception. */
exception_resume_eip:
	.skip	4
/* The address of the instruction under test, for comparison with exception_eip. */
exception_expected_eip:
	.skip	4

	.text

/*
 * One stub per vector: the CPU pushes an error code for 8, 10-14, 17, 21,
 * 29 and 30 only, so the others push a 0 in its place and every handler
 * then sees the same frame: vector, error code, EIP, CS, EFLAGS.
 */
.macro EXCEPTION_STUB vector
exception_stub_\vector:
	.if !((\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || \
	      (\vector == 21) || (\vector == 29) || (\vector == 30))
	pushl	$0
	.endif
	pushl	$\vector
	jmp	exception_common
.endm

	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	EXCEPTION_STUB \vector
	.endr

/*
 * Records the exception and resumes at the armed recovery label. Only EAX is
 * used, and restored: the code under test may keep anything in registers.
 */
	.type exception_common, @function
exception_common:
	pushl	%eax
	movl	4(%esp), %eax
	movl	%eax, exception_vector
	movl	8(%esp), %eax
	movl	%eax, exception_error_code
	movl	12(%esp), %eax
	movl	%eax, exception_eip
	incl	exception_count
	movl	exception_resume_eip, %eax
	testl	%eax, %eax
	jz	1f
	/* Return to the recovery label instead of the faulting instruction. */
	movl	%eax, 12(%esp)
	popl	%eax
	addl	$8, %esp
	iret

	/* Nothing to resume to: report from C, which never returns. */
1:	cld
	andl	$-16, %esp
	call	exception_unexpected
2:	cli
	hlt
	jmp	2b
	.size exception_common, . - exception_common

	.section .rodata
	.balign 4
	.globl exception_stubs
/* The handler of each vector, in vector order, for the IDT. */
exception_stubs:
	.irp vector, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.long	exception_stub_\vector
	.endr

	/* The stack needs no execute permission. */
	.section .note.GNU-stack, "", @progbits
