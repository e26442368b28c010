/*
 * A vCPU's registers from its guest_regs and the current VMCS (see
 * vcpu_dump.h). Only VMREADs: builds on the host against the fake VMCS.
 */
#include "arch/x86/vcpu_dump.h"
#include "arch/x86/vmcs.h"

/** Fills *out from @vcpu's guest_regs, @cr2 and the current VMCS, which must be @vcpu's. */
void vcpu_dump_current_vmcs(const struct vcpu *vcpu, uint64_t cr2, struct vcpu_dump *out)
{
	const struct guest_regs *r = &vcpu->regs;

	*out = (struct vcpu_dump){
		.rax = r->rax, .rbx = r->rbx, .rcx = r->rcx, .rdx = r->rdx,
		.rsi = r->rsi, .rdi = r->rdi, .rbp = r->rbp,
		.r8 = r->r8, .r9 = r->r9, .r10 = r->r10, .r11 = r->r11,
		.r12 = r->r12, .r13 = r->r13, .r14 = r->r14, .r15 = r->r15,
		.cr2 = cr2,
	};
	out->rsp = vmcs_readl(VMCS_GUEST_RSP);
	out->rip = vmcs_readl(VMCS_GUEST_RIP);
	out->rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	out->cr0 = vmcs_guest_visible_cr0();
	out->cr3 = vmcs_readl(VMCS_GUEST_CR3);
	out->cr4 = vmcs_guest_visible_cr4();
	out->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	out->cs = vmcs_read16(VMCS_GUEST_CS_SELECTOR);
	out->ds = vmcs_read16(VMCS_GUEST_DS_SELECTOR);
	out->es = vmcs_read16(VMCS_GUEST_ES_SELECTOR);
	out->fs = vmcs_read16(VMCS_GUEST_FS_SELECTOR);
	out->gs = vmcs_read16(VMCS_GUEST_GS_SELECTOR);
	out->ss = vmcs_read16(VMCS_GUEST_SS_SELECTOR);
	out->tr = vmcs_read16(VMCS_GUEST_TR_SELECTOR);
	out->ldtr = vmcs_read16(VMCS_GUEST_LDTR_SELECTOR);
}
