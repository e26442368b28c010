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
#include "arch/x86/exit_fast.h"
#include "arch/x86/vmcs_fields.h"

/* The counting build counts every VMREAD and VMWRITE (arch/x86/vmx_count.h). */
.macro COUNT_VMX
#ifdef TESSERA_COUNT_VMX
	incq vmx_count_pending(%rip)
#endif
.endm

/* The counting build: the counts since the exit go to the fast path's tally. */
.macro COUNT_FAST_EXIT
#ifdef TESSERA_COUNT_VMX
	pushq %rax
	pushq %rcx
	pushq %rdx
	movl EXIT_CACHE_REASON(%rsi), %eax
	movq vmx_count_pending(%rip), %rcx
	leaq vmx_count_fast_accesses(%rip), %rdx
	addq %rcx, (%rdx,%rax,8)
	leaq vmx_count_fast_exits(%rip), %rdx
	incq (%rdx,%rax,8)
	movq $0, vmx_count_pending(%rip)
	popq %rdx
	popq %rcx
	popq %rax
#endif
.endm

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
	COUNT_VMX /* before: INC would change the flags the VMWRITE sets */
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

/*
 * HOST_RIP. The fast path (arch/x86/exit_fast.h) works with RAX, RCX, RDX,
 * RSI and RDI; they are saved first, so the full path that takes over on
 * any miss saves only the rest. A hit reads the exit reason, the
 * interruptibility state (an STI or MOV SS shadow must end with the
 * instruction: the full path does that), the instruction length and RIP,
 * writes RIP, and resumes (SDM 28.2, 24.4.2). EDX holds the exit reason
 * while an answer is looked up.
 */

/* RSI <- the cache entry of \key (and \subkey) for the reason in EDX, or a miss. */
.macro FAST_LOOKUP key, subkey=
	movl \key, %esi
	addl %edx, %esi
	.ifnb \subkey
	addl \subkey, %esi
	.endif
	andl $(EXIT_CACHE_ENTRIES - 1), %esi
	shll $EXIT_CACHE_ENTRY_SHIFT, %esi
	leaq FAST_CACHE(%rdi,%rsi), %rsi
	cmpl EXIT_CACHE_REASON(%rsi), %edx
	jne .Lfull_exit
.endm

/* Moves RIP past the exiting instruction; uses RAX and RDX. */
.macro FAST_SKIP_INSTRUCTION
	movl $VMCS_GUEST_INTERRUPTIBILITY, %edx
	vmread %rdx, %rdx
	COUNT_VMX
	testl %edx, %edx
	jnz .Lfull_exit
	movl $VMCS_EXIT_INSTRUCTION_LENGTH, %eax
	vmread %rax, %rdx
	COUNT_VMX
	movl $VMCS_GUEST_RIP, %eax
	vmread %rax, %rax
	COUNT_VMX
	addq %rdx, %rax
	movl $VMCS_GUEST_RIP, %edx
	vmwrite %rax, %rdx
	COUNT_VMX
.endm

/* Counts the hit of the entry in RSI and enters the guest again. */
.macro FAST_RESUME
	COUNT_FAST_EXIT
	incq EXIT_CACHE_HITS(%rsi)
	movq GUEST_REGS_RSI(%rdi), %rsi
	popq %rdi
	vmresume
	/* VMfail: report it as vmx_enter() would, from its frame. */
	jmp .Lfail
.endm

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi
	movq 8(%rsp), %rdi
	movq %rax, GUEST_REGS_RAX(%rdi)
	movq %rcx, GUEST_REGS_RCX(%rdi)
	movq %rdx, GUEST_REGS_RDX(%rdi)
	movq %rsi, GUEST_REGS_RSI(%rdi)
	cmpl $0, FAST_ENTRY_WORK(%rdi)
	jne .Lfull_exit
	movl $VMCS_EXIT_REASON, %edx
	vmread %rdx, %rdx
	COUNT_VMX
	cmpl $EXIT_REASON_VMCALL_ASM, %edx
	je .Lfast_vmcall
	cmpl $EXIT_REASON_CPUID_ASM, %edx
	je .Lfast_cpuid
	cmpl $EXIT_REASON_IO_ASM, %edx
	je .Lfast_io
	cmpl $EXIT_REASON_RDMSR_ASM, %edx
	jne .Lfull_exit

	/* RDMSR: the key is ECX, which stays as the guest had it. */
	FAST_LOOKUP %ecx
	cmpl EXIT_CACHE_KEY(%rsi), %ecx
	jne .Lfull_exit
	FAST_SKIP_INSTRUCTION
	movl EXIT_CACHE_EAX(%rsi), %eax
	movl EXIT_CACHE_EDX(%rsi), %edx
	FAST_RESUME

.Lfast_cpuid:
	/* CPUID: leaf and sub-leaf; all four registers are answers. */
	FAST_LOOKUP %eax, %ecx
	cmpl EXIT_CACHE_KEY(%rsi), %eax
	jne .Lfull_exit
	cmpl EXIT_CACHE_SUBKEY(%rsi), %ecx
	jne .Lfull_exit
	FAST_SKIP_INSTRUCTION
	movl EXIT_CACHE_EAX(%rsi), %eax
	movl EXIT_CACHE_EBX(%rsi), %ebx
	movl EXIT_CACHE_ECX(%rsi), %ecx
	movl EXIT_CACHE_EDX(%rsi), %edx
	FAST_RESUME

.Lfast_io:
	/* A pure port read (hv/io.c): the key is the qualification's port and form. */
	movl $VMCS_EXIT_QUALIFICATION, %eax
	vmread %rax, %rax
	COUNT_VMX
	andl $EXIT_CACHE_IO_KEY_MASK, %eax
	FAST_LOOKUP %eax
	cmpl EXIT_CACHE_KEY(%rsi), %eax
	jne .Lfull_exit
	FAST_SKIP_INSTRUCTION
	movq GUEST_REGS_RAX(%rdi), %rax
	movq GUEST_REGS_RDX(%rdi), %rdx
	/* IN merges into AL or AX, or zero-extends into RAX (SDM Vol. 2A, IN). */
	testb $EXIT_CACHE_OUT_AL, EXIT_CACHE_OUTPUTS(%rsi)
	jz 1f
	movb EXIT_CACHE_EAX(%rsi), %al
	FAST_RESUME
1:	testb $EXIT_CACHE_OUT_AX, EXIT_CACHE_OUTPUTS(%rsi)
	jz 1f
	movw EXIT_CACHE_EAX(%rsi), %ax
	FAST_RESUME
1:	movl EXIT_CACHE_EAX(%rsi), %eax
	FAST_RESUME

.Lfast_vmcall:
	/* Hypercalls from CPL 0 only (SS.DPL is the CPL). */
	movl $VMCS_GUEST_SS_ACCESS_RIGHTS, %esi
	vmread %rsi, %rsi
	COUNT_VMX
	testl $VMX_AR_DPL_MASK_ASM, %esi
	jnz .Lfull_exit
	FAST_LOOKUP %eax
	/* Key and zero sub-key as one quadword: RAX's upper half must be 0 too. */
	cmpq EXIT_CACHE_KEY(%rsi), %rax
	jne .Lfull_exit
	FAST_SKIP_INSTRUCTION
	movq GUEST_REGS_RDX(%rdi), %rdx
	movl EXIT_CACHE_EAX(%rsi), %eax
	movl EXIT_CACHE_EBX(%rsi), %ebx
	testb $(EXIT_CACHE_OUT_ECX | EXIT_CACHE_OUT_EDX), EXIT_CACHE_OUTPUTS(%rsi)
	jz 1f
	movl EXIT_CACHE_ECX(%rsi), %ecx
	movl EXIT_CACHE_EDX(%rsi), %edx
1:	FAST_RESUME

.Lfull_exit:
	movq %rbx, GUEST_REGS_RBX(%rdi)
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
