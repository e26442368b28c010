/*
 * Building a vCPU's VMCS (SDM Vol. 3, Ch. 24 and 26): controls from the
 * computed vmx_config, host state from this CPU, and a guest state that
 * starts the partition like a multiboot loader would: 32-bit protected mode,
 * flat segments, paging off, interrupts off.
 */
#include "arch/x86/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx_defs.h"
#include "hv/alloc.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"

#define AR_CODE32   0xc09b   /* present, S, DPL0, execute/read accessed, D, G */
#define AR_DATA32   0xc093   /* present, S, DPL0, read/write accessed, D/B, G */
#define AR_TSS32_BUSY 0x008b
#define AR_UNUSABLE (1U << 16)
#define GUEST_SEL_CODE 0x08
#define GUEST_SEL_DATA 0x10
#define GUEST_PAT_DEFAULT 0x0007040600070406ULL /* the power-on PAT */
#define DR7_RESERVED_ONE 0x400

/*
 * PAUSE-loop exiting (SDM 25.1.3): PAUSEs at most PLE_GAP TSC ticks apart
 * form one spin loop, and a loop longer than PLE_WINDOW ticks exits, so a
 * vCPU spinning on a lock whose holder is not running gives the CPU away.
 * These are the gap between two PAUSEs of one tight loop and a few
 * microseconds of spinning on current processors.
 */
#define VMX_PLE_GAP    128
#define VMX_PLE_WINDOW 4096

extern const char vmx_exit_stub[];

/** Writes the execution, exit and entry controls and their structures. */
static bool vmcs_write_controls(struct vcpu *vcpu)
{
	const struct vmx_config *cfg = vmx_get_config();
	const struct partition *p = vcpu->partition;
	bool ok = true;

	ok &= vmcs_write32(VMCS_PIN_BASED_CONTROLS, cfg->pinbased);
	ok &= vmcs_write32(VMCS_PROC_BASED_CONTROLS, cfg->procbased);
	vcpu->procbased_controls = cfg->procbased;
	ok &= vmcs_write32(VMCS_PROC_BASED_CONTROLS2, cfg->procbased2);
	ok &= vmcs_write32(VMCS_EXIT_CONTROLS, cfg->exit);
	ok &= vmcs_write32(VMCS_ENTRY_CONTROLS, cfg->entry);
	ok &= vmcs_write32(VMCS_EXCEPTION_BITMAP, 0);
	ok &= vmcs_write32(VMCS_CR3_TARGET_COUNT, 0);
	ok &= vmcs_write32(VMCS_EXIT_MSR_STORE_COUNT, 0);
	ok &= vmcs_write32(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write32(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	ok &= vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	ok &= vmcs_write64(VMCS_IO_BITMAP_A, hpa_addr(p->io_bitmaps));
	ok &= vmcs_write64(VMCS_IO_BITMAP_B, hpa_addr(p->io_bitmaps) + PAGE_SIZE);
	ok &= vmcs_write64(VMCS_MSR_BITMAP, hpa_addr(p->msr_bitmap));
	ok &= vmcs_write64(VMCS_EPT_POINTER, ept_pointer(&p->ept, false));
	ok &= vmcs_write64(VMCS_LINK_POINTER, ~0ULL);
	if (cfg->procbased & CPU_BASED_USE_TSC_OFFSETTING) {
		ok &= vmcs_write64(VMCS_TSC_OFFSET, 0);
	}
	if (cfg->has_vpid) {
		ok &= vmcs_write16(VMCS_VPID, vcpu->vpid);
	}
	/* With the TPR shadow, CR8 is the TPR in the APIC's own register page. */
	if (cfg->has_tpr_shadow) {
		ok &= vmcs_write64(VMCS_VIRTUAL_APIC_PAGE_ADDR, hpa_addr(ptr_to_hpa(vcpu->apic_page)));
		ok &= vmcs_write32(VMCS_TPR_THRESHOLD, 0);
	}
	/* hv/sched.c arms the preemption timer before every first entry. */
	if (cfg->has_pause_loop_exiting) {
		ok &= vmcs_write32(VMCS_PLE_GAP, VMX_PLE_GAP);
		ok &= vmcs_write32(VMCS_PLE_WINDOW, VMX_PLE_WINDOW);
	}
	return ok;
}

/** Reads a descriptor-table register with SGDT or SIDT. */
static uint64_t read_table_base(bool idt)
{
	struct descriptor_table_register r;

	if (idt) {
		__asm__ volatile("sidt %0" : "=m"(r));
	} else {
		__asm__ volatile("sgdt %0" : "=m"(r));
	}
	return r.base;
}

/** Host state: this CPU as it is now, resuming at vmx_exit_stub. */
static bool vmcs_write_host_state(void)
{
	struct percpu *cpu = this_cpu();
	bool ok = true;

	ok &= vmcs_writel(VMCS_HOST_CR0, cpu_read_cr0());
	ok &= vmcs_writel(VMCS_HOST_CR3, cpu_read_cr3());
	ok &= vmcs_writel(VMCS_HOST_CR4, cpu_read_cr4());
	ok &= vmcs_write16(VMCS_HOST_CS_SELECTOR, GDT_SEL_CODE);
	ok &= vmcs_write16(VMCS_HOST_SS_SELECTOR, GDT_SEL_DATA);
	ok &= vmcs_write16(VMCS_HOST_DS_SELECTOR, GDT_SEL_DATA);
	ok &= vmcs_write16(VMCS_HOST_ES_SELECTOR, GDT_SEL_DATA);
	ok &= vmcs_write16(VMCS_HOST_FS_SELECTOR, 0);
	ok &= vmcs_write16(VMCS_HOST_GS_SELECTOR, 0);
	ok &= vmcs_write16(VMCS_HOST_TR_SELECTOR, GDT_SEL_TSS);
	ok &= vmcs_writel(VMCS_HOST_FS_BASE, 0);
	ok &= vmcs_writel(VMCS_HOST_GS_BASE, (uint64_t)cpu);
	ok &= vmcs_writel(VMCS_HOST_TR_BASE, (uint64_t)&cpu->tables.tss);
	ok &= vmcs_writel(VMCS_HOST_GDTR_BASE, read_table_base(false));
	ok &= vmcs_writel(VMCS_HOST_IDTR_BASE, read_table_base(true));
	ok &= vmcs_write32(VMCS_HOST_IA32_SYSENTER_CS, 0);
	ok &= vmcs_writel(VMCS_HOST_IA32_SYSENTER_ESP, 0);
	ok &= vmcs_writel(VMCS_HOST_IA32_SYSENTER_EIP, 0);
	ok &= vmcs_write64(VMCS_HOST_IA32_EFER, cpu_rdmsr(MSR_IA32_EFER));
	ok &= vmcs_write64(VMCS_HOST_IA32_PAT, cpu_rdmsr(MSR_IA32_PAT));
	ok &= vmcs_writel(VMCS_HOST_RIP, (uint64_t)vmx_exit_stub);
	return ok;
}

/** One guest segment register: selector, base 0, limit, access rights. */
static bool vmcs_write_guest_segment(uint32_t selector_field, uint16_t selector, uint32_t limit,
				     uint32_t access_rights)
{
	/* Selector, limit, AR and base fields sit at fixed strides (SDM B.1-B.4). */
	uint32_t index = selector_field - VMCS_GUEST_ES_SELECTOR;
	bool ok = true;

	ok &= vmx_vmwrite(selector_field, selector);
	ok &= vmx_vmwrite(VMCS_GUEST_ES_LIMIT + index, limit);
	ok &= vmx_vmwrite(VMCS_GUEST_ES_ACCESS_RIGHTS + index, access_rights);
	ok &= vmx_vmwrite(VMCS_GUEST_ES_BASE + index, 0);
	return ok;
}

/** Segments of a flat 32-bit protected-mode machine. */
static bool vmcs_write_guest_segments(void)
{
	bool ok = true;

	ok &= vmcs_write_guest_segment(VMCS_GUEST_CS_SELECTOR, GUEST_SEL_CODE, 0xffffffff, AR_CODE32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_DS_SELECTOR, GUEST_SEL_DATA, 0xffffffff, AR_DATA32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_ES_SELECTOR, GUEST_SEL_DATA, 0xffffffff, AR_DATA32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_SS_SELECTOR, GUEST_SEL_DATA, 0xffffffff, AR_DATA32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_FS_SELECTOR, GUEST_SEL_DATA, 0xffffffff, AR_DATA32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_GS_SELECTOR, GUEST_SEL_DATA, 0xffffffff, AR_DATA32);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_TR_SELECTOR, 0, 0xff, AR_TSS32_BUSY);
	ok &= vmcs_write_guest_segment(VMCS_GUEST_LDTR_SELECTOR, 0, 0, AR_UNUSABLE);
	ok &= vmcs_writel(VMCS_GUEST_GDTR_BASE, 0);
	ok &= vmcs_write32(VMCS_GUEST_GDTR_LIMIT, 0xffff);
	ok &= vmcs_writel(VMCS_GUEST_IDTR_BASE, 0);
	ok &= vmcs_write32(VMCS_GUEST_IDTR_LIMIT, 0xffff);
	return ok;
}

/** Control registers: what the hardware needs, shown to the guest as it wrote them. */
static bool vmcs_write_guest_control_registers(const struct vmx_cap_msrs *caps)
{
	uint64_t cr0_visible = CR0_PE | CR0_ET;
	uint64_t cr0 = vmx_fix_cr0(caps, cr0_visible, true);
	uint64_t cr4 = vmx_fix_cr4(caps, 0);
	/* Owned by the host: every bit VMX fixes, so a guest write to one exits. */
	uint64_t cr0_mask = (caps->cr0_fixed0 & ~(CR0_PE | CR0_PG)) | ~caps->cr0_fixed1;
	/*
	 * ... and OSXSAVE, which CPUID.1:ECX reports back: its writes must exit
	 * so that the CPUID answers the fast path caches are forgotten.
	 */
	uint64_t cr4_mask = caps->cr4_fixed0 | ~caps->cr4_fixed1 | CR4_OSXSAVE;
	bool ok = true;

	ok &= vmcs_writel(VMCS_GUEST_CR0, cr0);
	ok &= vmcs_writel(VMCS_CR0_READ_SHADOW, cr0_visible);
	ok &= vmcs_writel(VMCS_CR0_GUEST_HOST_MASK, cr0_mask);
	ok &= vmcs_writel(VMCS_GUEST_CR4, cr4);
	ok &= vmcs_writel(VMCS_CR4_READ_SHADOW, 0);
	ok &= vmcs_writel(VMCS_CR4_GUEST_HOST_MASK, cr4_mask);
	ok &= vmcs_writel(VMCS_GUEST_CR3, 0);
	return ok;
}

/** The rest of the guest state for the first instruction at @entry. */
static bool vmcs_write_guest_state(uint64_t entry)
{
	struct vmx_cap_msrs caps;
	bool ok = true;

	vmx_read_cap_msrs(&caps);
	ok &= vmcs_write_guest_control_registers(&caps);
	ok &= vmcs_write_guest_segments();
	ok &= vmcs_writel(VMCS_GUEST_RIP, entry);
	ok &= vmcs_writel(VMCS_GUEST_RSP, 0);
	ok &= vmcs_writel(VMCS_GUEST_RFLAGS, RFLAGS_RESERVED);
	ok &= vmcs_writel(VMCS_GUEST_DR7, DR7_RESERVED_ONE);
	ok &= vmcs_writel(VMCS_GUEST_PENDING_DEBUG, 0);
	ok &= vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	ok &= vmcs_write32(VMCS_GUEST_ACTIVITY_STATE, VMCS_ACTIVITY_ACTIVE);
	ok &= vmcs_write32(VMCS_GUEST_IA32_SYSENTER_CS, 0);
	ok &= vmcs_writel(VMCS_GUEST_IA32_SYSENTER_ESP, 0);
	ok &= vmcs_writel(VMCS_GUEST_IA32_SYSENTER_EIP, 0);
	ok &= vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, 0);
	ok &= vmcs_write64(VMCS_GUEST_IA32_PAT, GUEST_PAT_DEFAULT);
	ok &= vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	return ok;
}

/** Makes the vCPU's VMCS the current one on this CPU. */
bool vmx_vcpu_load(struct vcpu *vcpu)
{
	struct percpu *cpu = this_cpu();

	if (hpa_addr(cpu->current_vmcs) == hpa_addr(vcpu->vmcs)) {
		return true;
	}
	if (!vmx_vmptrld(vcpu->vmcs)) {
		return false;
	}
	cpu->current_vmcs = vcpu->vmcs;
	return true;
}

/** Gives the vCPU a save area for its FPU/SSE/AVX state, in RESET state. */
static bool vmx_vcpu_create_fpu(struct vcpu *vcpu)
{
	hpa_t area;

	if (!alloc_pages(ALIGN_UP(fpu_state_size(), PAGE_SIZE) / PAGE_SIZE, 1, OWNER_HYPERVISOR,
			 &area)) {
		return false;
	}
	vcpu->fpu_area = hpa_to_ptr(area);
	fpu_state_init(vcpu->fpu_area);
	vcpu->xcr0 = 1; /* x87 only, as after RESET */
	/* The local APIC's registers; with the TPR shadow also the virtual-APIC page. */
	if (!alloc_pages(1, 1, OWNER_HV_VMX, &area)) {
		return false;
	}
	vcpu->apic_page = memset(hpa_to_ptr(area), 0, PAGE_SIZE);
	return true;
}

/** Allocates and fills a vCPU's VMCS for its first entry at @entry. */
bool vmx_vcpu_create(struct vcpu *vcpu, uint64_t entry)
{
	uint32_t *vmcs;

	if (!vmx_vcpu_create_fpu(vcpu)) {
		log_error("no memory for a vCPU's FPU state and APIC page");
		return false;
	}
	if (!alloc_pages(1, 1, OWNER_HV_VMX, &vcpu->vmcs)) {
		log_error("no memory for a VMCS");
		return false;
	}
	vmcs = memset(hpa_to_ptr(vcpu->vmcs), 0, PAGE_SIZE);
	vmcs[0] = vmx_get_config()->revision_id;
	vcpu->launched = false;
	if (!vmx_vmclear(vcpu->vmcs) || !vmx_vcpu_load(vcpu)) {
		log_error("VMCLEAR/VMPTRLD of a new VMCS failed");
		return false;
	}
	if (!vmcs_write_controls(vcpu) || !vmcs_write_host_state() ||
	    !vmcs_write_guest_state(entry)) {
		log_error("VMWRITE failed while building a VMCS (error: %s)",
			  vmx_instruction_error_name(vmcs_read32(VMCS_INSTRUCTION_ERROR)));
		return false;
	}
	return true;
}

/** Releases the VMCS and the FPU save area of a vCPU (whichever it has). */
void vmx_vcpu_destroy(struct vcpu *vcpu)
{
	struct percpu *cpu = this_cpu();

	/* Its registers stay in the CPU, but must never be saved to freed memory. */
	if (cpu->guest_context_owner == vcpu) {
		cpu->guest_context_owner = NULL;
	}
	if (hpa_addr(vcpu->vmcs) != 0) {
		vmx_vmclear(vcpu->vmcs);
		if (hpa_addr(cpu->current_vmcs) == hpa_addr(vcpu->vmcs)) {
			cpu->current_vmcs = hpa_init(0);
		}
		alloc_free(vcpu->vmcs, 1, OWNER_HV_VMX);
		vcpu->vmcs = hpa_init(0);
	}
	if (vcpu->apic_page != NULL) {
		alloc_free(ptr_to_hpa(vcpu->apic_page), 1, OWNER_HV_VMX);
		vcpu->apic_page = NULL;
	}
	if (vcpu->fpu_area != NULL) {
		alloc_free(ptr_to_hpa(vcpu->fpu_area), ALIGN_UP(fpu_state_size(), PAGE_SIZE) / PAGE_SIZE,
			   OWNER_HYPERVISOR);
		vcpu->fpu_area = NULL;
	}
}

/** Makes the vCPU's VMCS current on this CPU and enters the guest. */
enum vmx_enter_result vmx_vcpu_run(struct vcpu *vcpu)
{
	enum vmx_enter_result result;

	if (!vmx_vcpu_load(vcpu)) {
		return VMX_ENTER_FAIL_INVALID;
	}
	/*
	 * Blocking by SMI must be 0 outside SMM (SDM 26.3.1.5); some VMX
	 * implementations (Bochs 2.7) save it as 1 on ordinary exits. Exits
	 * that advanced RIP have already looked at this field.
	 */
	if (!vcpu->interruptibility_checked) {
		uint32_t interruptibility = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

		if (interruptibility & VMCS_INTERRUPTIBILITY_SMI) {
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
				     interruptibility & ~VMCS_INTERRUPTIBILITY_SMI);
		}
	}
	vcpu->interruptibility_checked = false;
	vmx_count_entry();
	result = (enum vmx_enter_result)vmx_enter(&vcpu->regs, vcpu->launched);
	if (result == VMX_ENTER_EXITED) {
		vcpu->launched = true;
	}
	return result;
}
