/*
 * VM entry and exit. vmx_enter() saves the host's callee-saved registers,
 * points HOST_RSP at its own frame (a VMWRITE only when the frame moved),
 * loads the guest's registers and enters the guest. CR2 is not switched
 * here: Tessera never page-faults, so the guest's CR2 stays in the CPU until
 * another vCPU runs (arch/x86/vmx.c switches it then). A VM exit lands in vmx_exit_stub (HOST_RIP) on that same frame,
 * saves the guest's registers and returns from vmx_enter() as if the entry
 * instruction had returned 0 — so the scheduler sees a plain function call.
 */
#include "arch/x86/guest_regs.h"
#include "arch/x86/vmcs_fields.h"

	.text
	.code64

/* int vmx_enter(struct guest_regs *regs (rdi), bool launched (esi)) */
	.globl vmx_enter
vmx_enter:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi /* the exit stub finds regs here */

	cmpq %rsp, GUEST_REGS_HOST_RSP(%rdi)
	je 2f
	movq $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	jbe .Lfail
	movq %rsp, GUEST_REGS_HOST_RSP(%rdi)
2:
	testl %esi, %esi
	movq GUEST_REGS_RAX(%rdi), %rax
	movq GUEST_REGS_RBX(%rdi), %rbx
	movq GUEST_REGS_RCX(%rdi), %rcx
	movq GUEST_REGS_RDX(%rdi), %rdx
	movq GUEST_REGS_RSI(%rdi), %rsi
	movq GUEST_REGS_RBP(%rdi), %rbp
	movq GUEST_REGS_R8(%rdi), %r8
	movq GUEST_REGS_R9(%rdi), %r9
	movq GUEST_REGS_R10(%rdi), %r10
	movq GUEST_REGS_R11(%rdi), %r11
	movq GUEST_REGS_R12(%rdi), %r12
	movq GUEST_REGS_R13(%rdi), %r13
	movq GUEST_REGS_R14(%rdi), %r14
	movq GUEST_REGS_R15(%rdi), %r15
	movq GUEST_REGS_RDI(%rdi), %rdi /* last: it held the pointer */
	/* MOVs leave the flags of "testl" intact. */
	jnz .Lresume
	vmlaunch
	jmp .Lfail
.Lresume:
	vmresume
.Lfail:
	/* VMfailInvalid sets CF, VMfailValid sets ZF (SDM 31.2). */
	movl $VMX_ENTER_FAIL_VALID_ASM, %eax
	jnc 1f
	movl $VMX_ENTER_FAIL_INVALID_ASM, %eax
1:
	jmp .Lreturn

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi
	movq 8(%rsp), %rdi
	movq %rax, GUEST_REGS_RAX(%rdi)
	movq %rbx, GUEST_REGS_RBX(%rdi)
	movq %rcx, GUEST_REGS_RCX(%rdi)
	movq %rdx, GUEST_REGS_RDX(%rdi)
	movq %rsi, GUEST_REGS_RSI(%rdi)
	movq %rbp, GUEST_REGS_RBP(%rdi)
	movq %r8, GUEST_REGS_R8(%rdi)
	movq %r9, GUEST_REGS_R9(%rdi)
	movq %r10, GUEST_REGS_R10(%rdi)
	movq %r11, GUEST_REGS_R11(%rdi)
	movq %r12, GUEST_REGS_R12(%rdi)
	movq %r13, GUEST_REGS_R13(%rdi)
	movq %r14, GUEST_REGS_R14(%rdi)
	movq %r15, GUEST_REGS_R15(%rdi)
	popq GUEST_REGS_RDI(%rdi)
	xorl %eax, %eax /* VMX_ENTER_EXITED */
.Lreturn:
	addq $8, %rsp /* regs */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .note.GNU-stack, "", @progbits
