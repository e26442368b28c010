/*
 * A vCPU's registers for the operator ("regs NAME"): the general registers
 * Tessera keeps in struct guest_regs and the rest from the vCPU's VMCS, which
 * need not be the current one on this CPU.
 */
#ifndef TESSERA_ARCH_X86_VCPU_DUMP_H
#define TESSERA_ARCH_X86_VCPU_DUMP_H

#include "hv/partition.h"

/** Every register "regs" shows, as the guest sees it. */
struct vcpu_dump {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint16_t cs, ds, es, fs, gs, ss, tr, ldtr;
};

/**
 * Fills *out from @vcpu's guest_regs, @cr2 and the current VMCS, which must
 * be @vcpu's. CR0 and CR4 are the guest's view: the read shadow for the bits
 * the guest/host mask owns, the real register for the others (SDM 25.3).
 */
void vcpu_dump_current_vmcs(const struct vcpu *vcpu, uint64_t cr2, struct vcpu_dump *out);

/**
 * Fills *out for any vCPU of this CPU's partitions that is not running in
 * the guest: its VMCS is made current for the reads, then the VMCS of the
 * vCPU this CPU is running (if any) is made current again. False when the
 * vCPU has no VMCS (its partition failed to build).
 */
bool vcpu_dump_read(struct vcpu *vcpu, struct vcpu_dump *out);

/**
 * Makes the VMCS of the vCPU this CPU is running current again, after a
 * console command loaded another (an inspection, a partition's rebuild).
 */
void vcpu_dump_restore_current_vmcs(void);

#endif /* TESSERA_ARCH_X86_VCPU_DUMP_H */
