/*
 * Control-register exits (SDM Vol. 3C, 28.1.3; qualification in Table 28-3).
 *
 * The CR0/CR4 bits VMX fixes belong to the host (guest/host masks), so a
 * guest write that touches one exits here. The guest keeps seeing the value
 * it wrote (read shadow) while the CPU runs with the fixed bits applied.
 * With EPT and unrestricted guest, CR3 accesses do not exit unless a CPU
 * forces CR3-load/store exiting; they are then a plain copy.
 */
#include "hv/exit.h"
#include "hv/vcpu_events.h"
#include "hv/vcpu_regs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_defs.h"

#define CR_QUAL_NUMBER(q)   ((unsigned int)((q) & 0xf))
#define CR_QUAL_TYPE(q)     ((unsigned int)(((q) >> 4) & 3))
#define CR_QUAL_GPR(q)      ((unsigned int)(((q) >> 8) & 0xf))
#define CR_QUAL_LMSW_DATA(q) ((uint64_t)(((q) >> 16) & 0xffff))
#define CR_ACCESS_MOV_TO   0
#define CR_ACCESS_MOV_FROM 1
#define CR_ACCESS_CLTS     2
#define CR_ACCESS_LMSW     3
#define AR_CS_LONG (1U << 13)

/** Applies IA-32e mode on or off: EFER.LMA and the entry control (SDM 10.8.5). */
static void cr_set_long_mode(bool active)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint32_t entry = vmcs_read32(VMCS_ENTRY_CONTROLS);

	efer = active ? efer | EFER_LMA : efer & ~EFER_LMA;
	entry = active ? entry | VM_ENTRY_IA32E_MODE_GUEST : entry & ~VM_ENTRY_IA32E_MODE_GUEST;
	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	vmcs_write32(VMCS_ENTRY_CONTROLS, entry);
}

/** MOV to CR0: the SDM's #GP checks, long-mode activation, then the write. */
static bool cr_write_cr0(uint64_t value)
{
	uint64_t old = vmcs_guest_visible_cr0();
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	bool paging_on = (value & CR0_PG) && !(old & CR0_PG);
	bool paging_off = !(value & CR0_PG) && (old & CR0_PG);

	if ((value >> 32) != 0 || ((value & CR0_PG) && !(value & CR0_PE)) ||
	    ((value & CR0_NW) && !(value & CR0_CD))) {
		return false;
	}
	if (paging_on && (efer & EFER_LME)) {
		if (!(vmcs_guest_visible_cr4() & CR4_PAE)) {
			return false;
		}
		cr_set_long_mode(true);
	}
	if (paging_off && (efer & EFER_LMA)) {
		/* Leaving long mode from 64-bit code is #GP (SDM 10.8.5.4). */
		if (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_CS_LONG) {
			return false;
		}
		cr_set_long_mode(false);
	}
	vmcs_writel(VMCS_CR0_READ_SHADOW, value);
	vmcs_writel(VMCS_GUEST_CR0, vmx_guest_cr0(value));
	return true;
}

/** MOV to CR4: only bits this CPU offers guests; PAE stays on in long mode. */
static bool cr_write_cr4(uint64_t value)
{
	bool long_mode = (vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) != 0;

	if ((value & ~vmx_guest_cr4_allowed()) != 0 || (long_mode && !(value & CR4_PAE))) {
		return false;
	}
	vmcs_writel(VMCS_CR4_READ_SHADOW, value);
	vmcs_writel(VMCS_GUEST_CR4, vmx_guest_cr4(value));
	return true;
}

/** MOV to CRn; false raises #GP(0). */
static bool cr_mov_to(struct vcpu *vcpu, unsigned int cr, uint64_t value)
{
	switch (cr) {
	case 0:
		return cr_write_cr0(value);
	case 3:
		vmcs_writel(VMCS_GUEST_CR3, value);
		return true;
	case 4:
		vcpu_cpuid_changed(vcpu); /* CPUID.1:ECX.OSXSAVE mirrors CR4 */
		return cr_write_cr4(value);
	case 8:
		/* Exits only without the TPR shadow; bits 63:4 are reserved (SDM 2.5). */
		if ((value >> 4) != 0) {
			return false;
		}
		vlapic_set_cr8(&vcpu->lapic, value);
		vcpu_events_changed(vcpu);
		return true;
	default:
		return false;
	}
}

/** MOV from CRn (only CR3 and CR8 can exit for reads). */
static uint64_t cr_mov_from(const struct vcpu *vcpu, unsigned int cr)
{
	return cr == 3 ? vmcs_readl(VMCS_GUEST_CR3) : vlapic_get_cr8(&vcpu->lapic);
}

/** Control-register exit: emulate, then skip the instruction or raise #GP(0). */
enum exit_result exit_handle_cr_access(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint64_t q = exit->qualification;
	uint64_t cr0 = vmcs_guest_visible_cr0();
	bool ok = true;

	switch (CR_QUAL_TYPE(q)) {
	case CR_ACCESS_MOV_TO:
		ok = cr_mov_to(vcpu, CR_QUAL_NUMBER(q), vcpu_read_gpr(vcpu, CR_QUAL_GPR(q)));
		break;
	case CR_ACCESS_MOV_FROM:
		vcpu_write_gpr(vcpu, CR_QUAL_GPR(q), cr_mov_from(vcpu, CR_QUAL_NUMBER(q)));
		break;
	case CR_ACCESS_CLTS:
		ok = cr_write_cr0(cr0 & ~CR0_TS);
		break;
	default:
		/* LMSW loads CR0[3:0] but can never clear PE (SDM Vol. 2A, LMSW). */
		ok = cr_write_cr0((cr0 & ~0xeULL) | (CR_QUAL_LMSW_DATA(q) & 0xf));
		break;
	}
	if (!ok) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return EXIT_RESUME;
	}
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}

/** XSETBV: a checked XCR0 for this vCPU, live at once (SDM Vol. 2C, XSETBV). */
enum exit_result exit_handle_xsetbv(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint64_t value = ((vcpu->regs.rdx & 0xffffffffULL) << 32) | (vcpu->regs.rax & 0xffffffffULL);

	if ((uint32_t)vcpu->regs.rcx != 0 || vcpu_cpl() != 0 || !fpu_xcr0_valid(value)) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return EXIT_RESUME;
	}
	vcpu->xcr0 = value;
	fpu_load_xcr0(value);
	vcpu_cpuid_changed(vcpu); /* CPUID 0DH sizes the enabled state components */
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}
