/*
 * A vCPU's general-purpose registers by their architectural number (the
 * encoding ModRM, the exit qualifications and the instruction-information
 * fields use: SDM Vol. 2A, Table 2-2): 0 RAX, 1 RCX, 2 RDX, 3 RBX, 4 RSP,
 * 5 RBP, 6 RSI, 7 RDI, 8-15 R8-R15. RSP lives in the VMCS, the rest in
 * struct guest_regs.
 */
#include "hv/vcpu_regs.h"
#include "arch/x86/vmcs.h"

#define GPR_RSP 4

/* Where each register is kept in struct guest_regs (RSP is not). */
static const uint8_t gpr_offsets[16] = {
	offsetof(struct guest_regs, rax), offsetof(struct guest_regs, rcx),
	offsetof(struct guest_regs, rdx), offsetof(struct guest_regs, rbx),
	0, offsetof(struct guest_regs, rbp),
	offsetof(struct guest_regs, rsi), offsetof(struct guest_regs, rdi),
	offsetof(struct guest_regs, r8), offsetof(struct guest_regs, r9),
	offsetof(struct guest_regs, r10), offsetof(struct guest_regs, r11),
	offsetof(struct guest_regs, r12), offsetof(struct guest_regs, r13),
	offsetof(struct guest_regs, r14), offsetof(struct guest_regs, r15),
};

/** Where register @index is kept in guest_regs (RSP excluded). */
static uint64_t *vcpu_gpr_slot(struct vcpu *vcpu, unsigned int index)
{
	return (uint64_t *)((uint8_t *)&vcpu->regs + gpr_offsets[index & 15]);
}

/** Reads general-purpose register @index (0-15) in full. */
uint64_t vcpu_read_gpr(struct vcpu *vcpu, unsigned int index)
{
	if ((index & 15) == GPR_RSP) {
		return vmcs_readl(VMCS_GUEST_RSP);
	}
	return *vcpu_gpr_slot(vcpu, index);
}

/** Writes general-purpose register @index (0-15) in full. */
void vcpu_write_gpr(struct vcpu *vcpu, unsigned int index, uint64_t value)
{
	if ((index & 15) == GPR_RSP) {
		vmcs_writel(VMCS_GUEST_RSP, value);
		return;
	}
	*vcpu_gpr_slot(vcpu, index) = value;
}

/** Copies all sixteen registers, by number, into @gpr (one VMREAD, for RSP). */
void vcpu_read_gprs(struct vcpu *vcpu, uint64_t gpr[16])
{
	for (unsigned int i = 0; i < 16; i++) {
		gpr[i] = *vcpu_gpr_slot(vcpu, i);
	}
	gpr[GPR_RSP] = vmcs_readl(VMCS_GUEST_RSP);
}

/** Writes back the registers whose value in @gpr differs from @before. */
void vcpu_write_changed_gprs(struct vcpu *vcpu, const uint64_t before[16], const uint64_t gpr[16])
{
	for (unsigned int i = 0; i < 16; i++) {
		if (gpr[i] != before[i]) {
			vcpu_write_gpr(vcpu, i, gpr[i]);
		}
	}
}

/** The guest's current privilege level: SS.DPL (SDM 24.4.1). */
unsigned int vcpu_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_ACCESS_RIGHTS) >> 5) & 3;
}
