/*
 * The guest registers the VMCS does not hold, saved and restored by
 * arch/x86/vmx_entry.S around every VM entry and exit. The offsets are
 * shared with the assembly, hence the defines.
 */
#ifndef TESSERA_ARCH_X86_GUEST_REGS_H
#define TESSERA_ARCH_X86_GUEST_REGS_H

#define GUEST_REGS_RAX 0
#define GUEST_REGS_RBX 8
#define GUEST_REGS_RCX 16
#define GUEST_REGS_RDX 24
#define GUEST_REGS_RSI 32
#define GUEST_REGS_RDI 40
#define GUEST_REGS_RBP 48
#define GUEST_REGS_R8  56
#define GUEST_REGS_R9  64
#define GUEST_REGS_R10 72
#define GUEST_REGS_R11 80
#define GUEST_REGS_R12 88
#define GUEST_REGS_R13 96
#define GUEST_REGS_R14 104
#define GUEST_REGS_R15 112
#define GUEST_REGS_CR2 120
#define GUEST_REGS_HOST_RSP 128
#define GUEST_REGS_SIZE 136

/* vmx_enter() results. */
#define VMX_ENTER_EXITED_ASM       0
#define VMX_ENTER_FAIL_VALID_ASM   1 /* see the VM-instruction error field */
#define VMX_ENTER_FAIL_INVALID_ASM 2 /* no valid current VMCS */

#ifndef __ASSEMBLER__
#include "hv/types.h"

/** General-purpose registers (RSP and RIP live in the VMCS) and CR2. */
struct guest_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;      /* saved and loaded only when another vCPU runs */
	uint64_t host_rsp; /* the HOST_RSP last written to this VMCS: skips a VMWRITE */
};

_Static_assert(sizeof(struct guest_regs) == GUEST_REGS_SIZE, "guest_regs layout");
_Static_assert(__builtin_offsetof(struct guest_regs, r15) == GUEST_REGS_R15, "guest_regs layout");
_Static_assert(__builtin_offsetof(struct guest_regs, cr2) == GUEST_REGS_CR2, "guest_regs layout");
_Static_assert(__builtin_offsetof(struct guest_regs, host_rsp) == GUEST_REGS_HOST_RSP,
	       "guest_regs layout");

/** Enters the guest of the current VMCS; 0 after a VM exit, else VMfail. */
int vmx_enter(struct guest_regs *regs, bool launched);

/** What vmx_enter() reports. */
enum vmx_enter_result {
	VMX_ENTER_EXITED = VMX_ENTER_EXITED_ASM,
	VMX_ENTER_FAIL_VALID = VMX_ENTER_FAIL_VALID_ASM,
	VMX_ENTER_FAIL_INVALID = VMX_ENTER_FAIL_INVALID_ASM,
};
#endif

#endif /* TESSERA_ARCH_X86_GUEST_REGS_H */
