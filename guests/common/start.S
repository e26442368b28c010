/*
 * Entry of every in-tree test guest. Tessera enters the first byte of the
 * image in flat 32-bit protected mode, paging off, interrupts disabled, with
 * ESP, GDTR and IDTR undefined.
 *
 * No GDT is loaded: nothing here reloads a segment register, so the flat
 * descriptors Tessera put in the hidden segment state stay in use. A guest
 * that needs interrupts or far jumps loads its own GDT and IDT.
 */
	.section .text.entry, "ax"
	.code32
	.globl guest_entry
	.type guest_entry, @function
guest_entry:
	/*
	 * The very first instruction: the bench guest measures how long the
	 * hypervisor took to get here, so nothing may come before it. RDTSC
	 * touches only EAX and EDX, which hold nothing yet.
	 */
	rdtsc
	movl	%eax, guest_entry_tsc
	movl	%edx, guest_entry_tsc + 4

	/* The state is documented, but cheap to make certain of. */
	cli
	/* The C ABI requires the direction flag clear at every call. */
	cld

	/* guest_stack_top is 16-byte aligned, as the i386 ABI wants. */
	movl	$guest_stack_top, %esp
	xorl	%ebp, %ebp
	call	guest_main

	/* guest_main's result is the exit code; keep the stack aligned. */
	subl	$12, %esp
	pushl	%eax
	call	guest_stop

	/* guest_stop does not return; if the hypervisor let it, stay put. */
1:	cli
	hlt
	jmp	1b
	.size guest_entry, . - guest_entry

	.section .bss
	.balign 8
	.globl guest_entry_tsc
	.type guest_entry_tsc, @object
guest_entry_tsc:
	.skip	8
	.size guest_entry_tsc, 8

	/* The stack needs no execute permission. */
	.section .note.GNU-stack, "", @progbits
