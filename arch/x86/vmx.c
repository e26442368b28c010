/*
 * Probing for VT-x and entering VMX operation on a CPU (SDM Vol. 3, 24.6-24.8
 * "Discovering Support for VMX", "Enabling and Entering VMX Operation").
 */
#include "arch/x86/vmx.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx_defs.h"
#include "arch/x86/vmx_ops.h"
#include "hv/alloc.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"

static struct vmx_cap_msrs vmx_caps;
static struct vmx_config vmx_cfg;

/** Reads every capability MSR of this CPU. */
void vmx_read_cap_msrs(struct vmx_cap_msrs *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->basic = cpu_rdmsr(MSR_IA32_VMX_BASIC);
	caps->pinbased = cpu_rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	caps->procbased = cpu_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	caps->exit = cpu_rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	caps->entry = cpu_rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	caps->misc = cpu_rdmsr(MSR_IA32_VMX_MISC);
	caps->cr0_fixed0 = cpu_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	caps->cr0_fixed1 = cpu_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	caps->cr4_fixed0 = cpu_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	caps->cr4_fixed1 = cpu_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* These exist only when the controls that announce them allow 1. */
	if ((caps->procbased >> 32) & CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) {
		caps->procbased2 = cpu_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if ((caps->procbased2 >> 32) & (SECONDARY_ENABLE_EPT | SECONDARY_ENABLE_VPID)) {
			caps->ept_vpid_cap = cpu_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		}
	}
	if (caps->basic & VMX_BASIC_TRUE_CONTROLS) {
		caps->true_pinbased = cpu_rdmsr(MSR_IA32_VMX_TRUE_PINBASED);
		caps->true_procbased = cpu_rdmsr(MSR_IA32_VMX_TRUE_PROCBASED);
		caps->true_exit = cpu_rdmsr(MSR_IA32_VMX_TRUE_EXIT);
		caps->true_entry = cpu_rdmsr(MSR_IA32_VMX_TRUE_ENTRY);
	}
}

/** NULL when this CPU can run Tessera; otherwise the reason, for the refusal line. */
const char *vmx_probe(void)
{
	const char *missing = NULL;
	uint64_t feature_control;

	if ((cpu_cpuid(1, 0).ecx & CPUID_1_ECX_VMX) == 0) {
		return "the CPU does not report VMX (CPUID.1:ECX.VMX = 0); enable "
		       "VT-x in the firmware setup, or nested VT-x in the host hypervisor";
	}
	feature_control = cpu_rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((feature_control & FEATURE_CONTROL_LOCK) != 0 &&
	    (feature_control & FEATURE_CONTROL_VMX_OUTSIDE_SMX) == 0) {
		return "the firmware disabled VMX and locked IA32_FEATURE_CONTROL; "
		       "enable VT-x in the firmware setup";
	}
	vmx_read_cap_msrs(&vmx_caps);
	if (!vmx_compute_config(&vmx_caps, &vmx_cfg, &missing)) {
		static char reason[160];

		format_snprintf(reason, sizeof(reason), "the CPU lacks a required VMX feature: %s",
				missing);
		return reason;
	}
	return NULL;
}

/** The configuration every VMCS is built with (valid after vmx_cpu_enable). */
const struct vmx_config *vmx_get_config(void)
{
	return &vmx_cfg;
}

/** Sets and locks IA32_FEATURE_CONTROL when the firmware left it unlocked. */
static bool vmx_enable_feature_control(void)
{
	uint64_t value = cpu_rdmsr(MSR_IA32_FEATURE_CONTROL);

	if ((value & FEATURE_CONTROL_LOCK) == 0) {
		value |= FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
		cpu_wrmsr(MSR_IA32_FEATURE_CONTROL, value);
	}
	return (value & FEATURE_CONTROL_VMX_OUTSIDE_SMX) != 0;
}

/** Enables VMX on this CPU (feature control, CR0/CR4, VMXON). */
bool vmx_cpu_enable(struct percpu *cpu)
{
	if (!vmx_enable_feature_control()) {
		log_error("cpu %u: VMX is disabled in IA32_FEATURE_CONTROL", cpu->index);
		return false;
	}
	/* Every CPU must satisfy the same fixed bits (SDM A.7, A.8). */
	cpu_write_cr0(vmx_fix_cr0(&vmx_caps, cpu_read_cr0(), false));
	cpu_write_cr4(vmx_fix_cr4(&vmx_caps, cpu_read_cr4() | CR4_VMXE));
	if (!alloc_pages(1, 1, OWNER_HV_VMX, &cpu->vmxon_region)) {
		log_error("cpu %u: no memory for the VMXON region", cpu->index);
		return false;
	}
	memset(hpa_to_ptr(cpu->vmxon_region), 0, PAGE_SIZE);
	*(uint32_t *)hpa_to_ptr(cpu->vmxon_region) = vmx_cfg.revision_id;
	if (!vmx_vmxon(cpu->vmxon_region)) {
		log_error("cpu %u: VMXON failed", cpu->index);
		return false;
	}
	cpu->current_vmcs = hpa_init(0);
	log_info("cpu %u: in VMX root operation (VMCS revision %#x)", cpu->index,
		 vmx_cfg.revision_id);
	return true;
}

/** Drops every translation the CPUs may have cached for this EPT. */
void ept_flush_cached(const struct ept *ept)
{
	/* Only this CPU runs vCPUs yet; others will get an IPI to do the same. */
	if (vmx_cfg.has_invept_single) {
		vmx_invept(INVEPT_SINGLE_CONTEXT, ept_pointer(ept, false));
	} else {
		vmx_invept(INVEPT_ALL_CONTEXTS, 0);
	}
}

/** The CR0 the CPU runs a guest with that sees @visible. */
uint64_t vmx_guest_cr0(uint64_t visible)
{
	return vmx_fix_cr0(&vmx_caps, visible, true);
}

/** The CR4 the CPU runs a guest with that sees @visible. */
uint64_t vmx_guest_cr4(uint64_t visible)
{
	return vmx_fix_cr4(&vmx_caps, visible);
}

/** CR4 bits a guest may set: what the CPU allows in VMX operation, less VMX/SMX. */
uint64_t vmx_guest_cr4_allowed(void)
{
	return vmx_caps.cr4_fixed1 & ~(CR4_VMXE | CR4_SMXE);
}

/**
 * Makes this CPU hold @next's guest context that the VMCS does not switch:
 * the lazily switched MSRs (arch/x86/msr_bitmap.h), CR2 and the FPU/SSE/AVX
 * state. Tessera itself uses neither, so they change only when another vCPU
 * comes to run here; the previous owner's values are saved first.
 */
void vmx_switch_guest_context(struct percpu *cpu, struct vcpu *next)
{
	struct vcpu *prev = cpu->guest_context_owner;

	if (prev == next) {
		return;
	}
	for (size_t i = 0; i < LAZY_MSR_COUNT; i++) {
		if (lazy_msrs[i] == MSR_IA32_TSC_AUX && !vmx_cfg.has_rdtscp) {
			continue; /* the MSR exists only with RDTSCP */
		}
		if (prev != NULL) {
			prev->lazy_msr_values[i] = cpu_rdmsr(lazy_msrs[i]);
		}
		cpu_wrmsr(lazy_msrs[i], next->lazy_msr_values[i]);
	}
	if (prev != NULL) {
		prev->regs.cr2 = cpu_read_cr2();
	}
	cpu_write_cr2(next->regs.cr2);
	fpu_switch(prev, next);
	cpu->guest_context_owner = next;
}

/** Arms the VMX-preemption timer to expire @tsc_ticks from the next entry. */
void vmx_arm_preemption_timer(uint64_t tsc_ticks)
{
	uint64_t value = tsc_ticks >> vmx_cfg.preemption_timer_rate;

	if (vmx_cfg.has_preemption_timer) {
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, (uint32_t)MIN(value, (uint64_t)UINT32_MAX));
	}
}

/** Takes host time off the saved VMX-preemption timer value (SDM Vol. 3C, "VMX-Preemption Timer"). */
void vmx_preemption_timer_stood_still(uint64_t tsc_ticks)
{
	uint64_t passed = tsc_ticks >> vmx_cfg.preemption_timer_rate;
	uint32_t value;

	if (!vmx_cfg.has_preemption_timer || !vmx_cfg.has_save_preemption_timer) {
		return;
	}
	value = vmcs_read32(VMCS_PREEMPTION_TIMER_VALUE);
	vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE, passed < value ? value - (uint32_t)passed : 0);
}

/** Sets the guest CR2 of @vcpu (live in the CPU when its context is loaded). */
void vmx_set_guest_cr2(struct vcpu *vcpu, uint64_t value)
{
	if (this_cpu()->guest_context_owner == vcpu) {
		cpu_write_cr2(value);
	} else {
		vcpu->regs.cr2 = value;
	}
}
