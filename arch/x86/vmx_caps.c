/*
 * Tessera's VMX policy: which controls it requires, which it uses when the
 * processor offers them, and which it refuses to run with. Pure computation
 * over the raw capability MSRs (see vmx_caps.h); no hardware access.
 *
 * The rule for every control word (SDM Vol. 3C, A.3-A.5): bits 31:0 of its
 * capability MSR are the allowed 0-settings (a 1 there: the control must be
 * 1), bits 63:32 the allowed 1-settings (a 0 there: the control must be 0).
 * When IA32_VMX_BASIC bit 55 is set the TRUE_* MSRs replace the plain ones
 * for the pin-based, primary processor-based, VM-exit and VM-entry words;
 * otherwise every control of the default1 class (A.2) must be 1.
 */
#include "arch/x86/vmx_caps.h"

#include "arch/x86/cpu.h"
#include "arch/x86/vmx_defs.h"

/** The names of one control bit, used to tell the operator what is wrong. */
struct vmx_ctl_name {
	const char *name;         /* the control, as an operator knows it */
	const char *zero_setting; /* "the 0-setting of <name>" */
};

/* Both strings from one literal, so that they can never disagree. */
#define CTL(n) { .name = (n), .zero_setting = "the 0-setting of " n }

/** Tessera's policy for one control word and the names of its bits. */
struct vmx_ctl_policy {
	uint32_t required;  /* must be 1, else the processor is refused */
	uint32_t optional;  /* set whenever the allowed 1-settings permit */
	uint32_t tolerated; /* may be forced to 1 by the allowed 0-settings */
	uint32_t default1;  /* forced to 1 when the plain MSR is in use */
	const struct vmx_ctl_name *names;  /* 32 entries, indexed by bit */
	const struct vmx_ctl_name *unnamed; /* for bits the SDM reserves */
};

static const struct vmx_ctl_name pin_names[32] = {
	[0] = CTL("external-interrupt exiting"),
	[3] = CTL("NMI exiting"),
	[5] = CTL("virtual NMIs"),
	[6] = CTL("VMX-preemption timer"),
	[7] = CTL("posted-interrupt processing"),
};

static const struct vmx_ctl_name cpu_names[32] = {
	[2] = CTL("interrupt-window exiting"),
	[3] = CTL("TSC offsetting"),
	[7] = CTL("HLT exiting"),
	[9] = CTL("INVLPG exiting"),
	[10] = CTL("MWAIT exiting"),
	[11] = CTL("RDPMC exiting"),
	[12] = CTL("RDTSC exiting"),
	[15] = CTL("CR3-load exiting"),
	[16] = CTL("CR3-store exiting"),
	[17] = CTL("tertiary processor-based controls"),
	[19] = CTL("CR8-load exiting"),
	[20] = CTL("CR8-store exiting"),
	[21] = CTL("TPR shadow"),
	[22] = CTL("NMI-window exiting"),
	[23] = CTL("MOV-DR exiting"),
	[24] = CTL("unconditional I/O exiting"),
	[25] = CTL("I/O bitmaps"),
	[27] = CTL("monitor trap flag"),
	[28] = CTL("MSR bitmaps"),
	[29] = CTL("MONITOR exiting"),
	[30] = CTL("PAUSE exiting"),
	[31] = CTL("secondary processor-based controls"),
};

static const struct vmx_ctl_name secondary_names[32] = {
	[0] = CTL("APIC-access virtualization"),
	[1] = CTL("EPT"),
	[2] = CTL("descriptor-table exiting"),
	[3] = CTL("RDTSCP"),
	[4] = CTL("x2APIC-mode virtualization"),
	[5] = CTL("VPID"),
	[6] = CTL("WBINVD exiting"),
	[7] = CTL("unrestricted guest"),
	[8] = CTL("APIC-register virtualization"),
	[9] = CTL("virtual-interrupt delivery"),
	[10] = CTL("PAUSE-loop exiting"),
	[11] = CTL("RDRAND exiting"),
	[12] = CTL("INVPCID"),
	[13] = CTL("VM functions"),
	[14] = CTL("VMCS shadowing"),
	[15] = CTL("ENCLS exiting"),
	[16] = CTL("RDSEED exiting"),
	[17] = CTL("page-modification logging"),
	[18] = CTL("EPT-violation #VE"),
	[19] = CTL("concealing VMX from Intel PT"),
	[20] = CTL("XSAVES/XRSTORS"),
	[21] = CTL("PASID translation"),
	[22] = CTL("mode-based execute control for EPT"),
	[23] = CTL("sub-page write permissions for EPT"),
	[24] = CTL("Intel PT with guest-physical addresses"),
	[25] = CTL("TSC scaling"),
	[26] = CTL("user wait and pause"),
	[27] = CTL("PCONFIG"),
	[28] = CTL("ENCLV exiting"),
	[30] = CTL("VMM bus-lock detection"),
	[31] = CTL("instruction timeout"),
};

static const struct vmx_ctl_name exit_names[32] = {
	[2] = CTL("saving debug controls on VM exit"),
	[9] = CTL("a 64-bit host (host address-space size)"),
	[12] = CTL("loading IA32_PERF_GLOBAL_CTRL on VM exit"),
	[15] = CTL("acknowledging interrupts on VM exit"),
	[18] = CTL("saving IA32_PAT on VM exit"),
	[19] = CTL("loading IA32_PAT on VM exit"),
	[20] = CTL("saving IA32_EFER on VM exit"),
	[21] = CTL("loading IA32_EFER on VM exit"),
	[22] = CTL("saving the VMX-preemption timer value"),
	[23] = CTL("clearing IA32_BNDCFGS on VM exit"),
	[24] = CTL("concealing VMX from Intel PT"),
	[25] = CTL("clearing IA32_RTIT_CTL on VM exit"),
	[26] = CTL("clearing IA32_LBR_CTL on VM exit"),
	[27] = CTL("clearing UINV on VM exit"),
	[28] = CTL("loading CET state on VM exit"),
	[29] = CTL("loading PKRS on VM exit"),
	[30] = CTL("saving IA32_PERF_GLOBAL_CTL on VM exit"),
	[31] = CTL("secondary VM-exit controls"),
};

static const struct vmx_ctl_name entry_names[32] = {
	[2] = CTL("loading debug controls on VM entry"),
	[9] = CTL("IA-32e mode guest"),
	[10] = CTL("entry to SMM"),
	[11] = CTL("deactivating dual-monitor treatment"),
	[13] = CTL("loading IA32_PERF_GLOBAL_CTRL on VM entry"),
	[14] = CTL("loading IA32_PAT on VM entry"),
	[15] = CTL("loading IA32_EFER on VM entry"),
	[16] = CTL("loading IA32_BNDCFGS on VM entry"),
	[17] = CTL("concealing VMX from Intel PT"),
	[18] = CTL("loading IA32_RTIT_CTL on VM entry"),
	[19] = CTL("loading UINV on VM entry"),
	[20] = CTL("loading CET state on VM entry"),
	[21] = CTL("loading guest IA32_LBR_CTL on VM entry"),
	[22] = CTL("loading PKRS on VM entry"),
};

static const struct vmx_ctl_name pin_unnamed =
	CTL("a reserved pin-based control");
static const struct vmx_ctl_name cpu_unnamed =
	CTL("a reserved processor-based control");
static const struct vmx_ctl_name secondary_unnamed =
	CTL("a reserved secondary processor-based control");
static const struct vmx_ctl_name exit_unnamed =
	CTL("a reserved VM-exit control");
static const struct vmx_ctl_name entry_unnamed =
	CTL("a reserved VM-entry control");

/*
 * Tolerated bits are those Tessera accepts when the processor will not let
 * them be 0. Each word lists its reasons; any other forced bit is refused,
 * because Tessera would program fields it never fills or take exits it does
 * not handle (e.g. interrupt-window exiting forced on would exit forever).
 */
static const struct vmx_ctl_policy pin_policy = {
	.required = PIN_BASED_EXTERNAL_INTERRUPT_EXITING |
		    PIN_BASED_NMI_EXITING,
	.optional = PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER,
	/* Reserved default1 bits have no effect. */
	.tolerated = PIN_BASED_DEFAULT1,
	.default1 = PIN_BASED_DEFAULT1,
	.names = pin_names,
	.unnamed = &pin_unnamed,
};

static const struct vmx_ctl_policy cpu_policy = {
	.required = CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |
		    CPU_BASED_USE_MSR_BITMAPS |
		    CPU_BASED_ACTIVATE_SECONDARY_CONTROLS,
	/*
	 * CR8 is the guest's TPR: with the TPR shadow it stays in the
	 * virtual-APIC page, otherwise every MOV CR8 must exit, or a 64-bit
	 * guest would program the physical APIC (vmx_choose_tpr_controls).
	 */
	.optional = CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_MWAIT_EXITING |
		    CPU_BASED_MONITOR_EXITING | CPU_BASED_USE_TPR_SHADOW |
		    CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING,
	/*
	 * The default1 class: reserved bits, plus CR3-load/store exiting,
	 * which every processor without the TRUE MSRs forces on. Tessera can
	 * live with those: under EPT and unrestricted guest, a MOV to or from
	 * CR3 is emulated by copying between a guest register and the guest
	 * CR3 field (the CR3-target count stays 0, so every load exits).
	 * Unconditional I/O exiting is ignored while "use I/O bitmaps" is 1.
	 */
	.tolerated = CPU_BASED_DEFAULT1 | CPU_BASED_UNCONDITIONAL_IO_EXITING,
	.default1 = CPU_BASED_DEFAULT1,
	.names = cpu_names,
	.unnamed = &cpu_unnamed,
};

static const struct vmx_ctl_policy secondary_policy = {
	.required = SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST,
	/* VPID is dropped at run time when INVVPID is unusable. */
	.optional = SECONDARY_ENABLE_VPID | SECONDARY_ENABLE_RDTSCP |
		    SECONDARY_ENABLE_INVPCID | SECONDARY_PAUSE_LOOP_EXITING,
	/* Only affects Intel PT packets, which Tessera never uses. */
	.tolerated = SECONDARY_CONCEAL_VMX_FROM_PT,
	.default1 = 0,
	.names = secondary_names,
	.unnamed = &secondary_unnamed,
};

static const struct vmx_ctl_policy exit_policy = {
	.required = VM_EXIT_HOST_ADDRESS_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |
		    VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |
		    VM_EXIT_LOAD_IA32_PAT,
	/*
	 * A VM exit sets DR7 to 400H and clears IA32_DEBUGCTL, so without
	 * "save debug controls" the guest's values are lost at every exit and
	 * its hardware breakpoints vanish: keep it (it is default1, hence
	 * always allowed) together with "load debug controls" on entry.
	 */
	.optional = VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT |
		    VM_EXIT_SAVE_DEBUG_CONTROLS | VM_EXIT_SAVE_VMX_PREEMPTION_TIMER,
	.tolerated = VM_EXIT_DEFAULT1 | VM_EXIT_CONCEAL_VMX_FROM_PT,
	.default1 = VM_EXIT_DEFAULT1,
	.names = exit_names,
	.unnamed = &exit_unnamed,
};

static const struct vmx_ctl_policy entry_policy = {
	.required = VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT,
	.optional = VM_ENTRY_LOAD_DEBUG_CONTROLS,
	/*
	 * Never IA-32e mode guest: it is chosen per guest, and a processor
	 * forcing it could not run the 32-bit guests, so it is refused.
	 */
	.tolerated = VM_ENTRY_DEFAULT1 | VM_ENTRY_CONCEAL_VMX_FROM_PT,
	.default1 = VM_ENTRY_DEFAULT1,
	.names = entry_names,
	.unnamed = &entry_unnamed,
};

/** The names of the lowest set bit of bits (which must not be 0). */
static const struct vmx_ctl_name *vmx_ctl_lowest(
	const struct vmx_ctl_policy *pol, uint32_t bits)
{
	const struct vmx_ctl_name *n = &pol->names[__builtin_ctz(bits)];

	return n->name != NULL ? n : pol->unnamed;
}

/**
 * Computes one control word from its capability MSR: required bits plus the
 * optional ones allowed to be 1, plus whatever must be 1. Fails when a
 * required bit may not be 1, when a bit Tessera cannot tolerate must be 1,
 * or when the MSR contradicts itself (a bit that must be both 1 and 0).
 */
static bool vmx_ctl_adjust(const struct vmx_ctl_policy *pol, uint64_t msr,
			   bool true_msr, uint32_t *out, const char **missing)
{
	uint32_t allowed0 = (uint32_t)msr;
	uint32_t allowed1 = (uint32_t)(msr >> 32);
	uint32_t acceptable = pol->required | pol->optional | pol->tolerated;
	uint32_t value;

	if (!true_msr) {
		/* SDM A.2: these may be 0 only when a TRUE MSR says so. */
		allowed0 |= pol->default1;
	}
	if ((pol->required & ~allowed1) != 0) {
		*missing = vmx_ctl_lowest(pol, pol->required & ~allowed1)->name;
		return false;
	}
	if ((allowed0 & ~acceptable) != 0) {
		*missing = vmx_ctl_lowest(pol, allowed0 & ~acceptable)
				   ->zero_setting;
		return false;
	}
	value = pol->required | (pol->optional & allowed1) | allowed0;
	if ((value & ~allowed1) != 0) {
		*missing = "consistent VMX capability MSRs";
		return false;
	}
	*out = value;
	return true;
}

/**
 * Checks IA32_VMX_BASIC (SDM A.1) and takes the VMCS revision and size. The
 * VMCS must be accessed write-back (Tessera maps its memory WB) and may live
 * anywhere in physical memory (bit 48 clear).
 */
static bool vmx_check_basic(uint64_t basic, struct vmx_config *out,
			    const char **missing)
{
	uint64_t size = (basic >> VMX_BASIC_VMCS_SIZE_SHIFT) &
			VMX_BASIC_VMCS_SIZE_MASK;
	uint64_t type = (basic >> VMX_BASIC_MEMORY_TYPE_SHIFT) &
			VMX_BASIC_MEMORY_TYPE_MASK;

	if (size == 0 || size > VMX_BASIC_VMCS_SIZE_MAX) {
		*missing = "a VMCS size of 1 to 4096 bytes";
		return false;
	}
	if (type != VMX_MEMORY_TYPE_WB) {
		*missing = "VMCS write-back memory type";
		return false;
	}
	if ((basic & VMX_BASIC_PHYS_ADDR_32BIT) != 0) {
		*missing = "64-bit VMCS physical addresses";
		return false;
	}
	out->revision_id = (uint32_t)(basic & VMX_BASIC_REVISION_MASK);
	out->vmcs_size = (uint32_t)size;
	out->uses_true_msrs = (basic & VMX_BASIC_TRUE_CONTROLS) != 0;
	return true;
}

/**
 * Whether VPID can be used: Tessera flushes a VPID's translations with
 * INVVPID, single-context or all-context (SDM A.10).
 */
static bool vmx_invvpid_usable(uint64_t cap)
{
	return (cap & VMX_VPID_INVVPID) != 0 &&
	       (cap & (VMX_VPID_INVVPID_SINGLE_CONTEXT |
		       VMX_VPID_INVVPID_ALL_CONTEXT)) != 0;
}

/**
 * With the TPR shadow, MOV CR8 needs no exit (SDM 29.3); without it both
 * CR8 exits are indispensable, since CR8 would otherwise be the physical
 * APIC's TPR.
 */
static bool vmx_choose_tpr_controls(uint64_t procbased_msr, uint32_t *procbased,
				    const char **missing)
{
	const uint32_t cr8_exits = CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING;

	if (*procbased & CPU_BASED_USE_TPR_SHADOW) {
		/* Keep only what the processor will not let be 0. */
		*procbased &= ~cr8_exits | (uint32_t)procbased_msr;
		return true;
	}
	if ((*procbased & cr8_exits) != cr8_exits) {
		*missing = "CR8-load and CR8-store exiting, or the TPR shadow";
		return false;
	}
	return true;
}

/** Computes the five control words, in the order VM entry depends on them. */
static bool vmx_compute_controls(const struct vmx_cap_msrs *caps,
				 struct vmx_config *out, const char **missing)
{
	bool t = out->uses_true_msrs;
	struct vmx_ctl_policy secondary = secondary_policy;

	if (!vmx_invvpid_usable(caps->ept_vpid_cap)) {
		secondary.optional &= ~SECONDARY_ENABLE_VPID;
	}
	return vmx_ctl_adjust(&pin_policy,
			      t ? caps->true_pinbased : caps->pinbased, t,
			      &out->pinbased, missing) &&
	       vmx_ctl_adjust(&cpu_policy,
			      t ? caps->true_procbased : caps->procbased, t,
			      &out->procbased, missing) &&
	       vmx_choose_tpr_controls(t ? caps->true_procbased : caps->procbased,
				       &out->procbased, missing) &&
	       /* There is no TRUE MSR for the secondary controls. */
	       vmx_ctl_adjust(&secondary, caps->procbased2, true,
			      &out->procbased2, missing) &&
	       vmx_ctl_adjust(&exit_policy, t ? caps->true_exit : caps->exit,
			      t, &out->exit, missing) &&
	       vmx_ctl_adjust(&entry_policy,
			      t ? caps->true_entry : caps->entry, t,
			      &out->entry, missing);
}

/**
 * Checks the EPT capabilities Tessera's page tables rely on (SDM A.10):
 * 4-level walks, write-back paging structures and an INVEPT type that can
 * flush a guest's translations.
 */
static bool vmx_check_ept(uint64_t cap, const char **missing)
{
	if ((cap & VMX_EPT_PAGE_WALK_4) == 0) {
		*missing = "4-level EPT page walks";
		return false;
	}
	if ((cap & VMX_EPT_MEMORY_TYPE_WB) == 0) {
		*missing = "write-back EPT paging structures";
		return false;
	}
	if ((cap & VMX_EPT_INVEPT) == 0) {
		*missing = "INVEPT";
		return false;
	}
	if ((cap & (VMX_EPT_INVEPT_SINGLE_CONTEXT |
		    VMX_EPT_INVEPT_ALL_CONTEXT)) == 0) {
		*missing = "single-context or all-context INVEPT";
		return false;
	}
	return true;
}

/** Fills the feature flags from the control words and capability MSRs. */
static void vmx_fill_features(const struct vmx_cap_msrs *caps,
			      struct vmx_config *out)
{
	uint64_t cap = caps->ept_vpid_cap;
	uint32_t procbased_allowed1 =
		(uint32_t)((out->uses_true_msrs ? caps->true_procbased : caps->procbased) >> 32);

	out->has_vpid = (out->procbased2 & SECONDARY_ENABLE_VPID) != 0;
	out->has_preemption_timer =
		(out->pinbased & PIN_BASED_VMX_PREEMPTION_TIMER) != 0;
	out->has_virtual_nmis = (out->pinbased & PIN_BASED_VIRTUAL_NMIS) != 0;
	out->has_ack_interrupt_on_exit =
		(out->exit & VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT) != 0;
	out->has_rdtscp = (out->procbased2 & SECONDARY_ENABLE_RDTSCP) != 0;
	out->has_tpr_shadow = (out->procbased & CPU_BASED_USE_TPR_SHADOW) != 0;
	out->has_pause_loop_exiting = (out->procbased2 & SECONDARY_PAUSE_LOOP_EXITING) != 0;
	out->has_save_preemption_timer =
		(out->exit & VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) != 0;
	/* The window exits are turned on and off per vCPU, so only "may be 1" matters. */
	out->has_interrupt_window = (procbased_allowed1 & CPU_BASED_INTERRUPT_WINDOW_EXITING) != 0;
	out->has_nmi_window = out->has_virtual_nmis &&
			      (procbased_allowed1 & CPU_BASED_NMI_WINDOW_EXITING) != 0;
	out->has_invpcid = (out->procbased2 & SECONDARY_ENABLE_INVPCID) != 0;
	out->has_ept_2m = (cap & VMX_EPT_2MB_PAGES) != 0;
	out->has_ept_1g = (cap & VMX_EPT_1GB_PAGES) != 0;
	out->has_ept_ad = (cap & VMX_EPT_ACCESSED_DIRTY) != 0;
	out->has_ept_execute_only = (cap & VMX_EPT_EXECUTE_ONLY) != 0;
	out->has_invept_single = (cap & VMX_EPT_INVEPT_SINGLE_CONTEXT) != 0;
	out->has_invept_all = (cap & VMX_EPT_INVEPT_ALL_CONTEXT) != 0;
	out->has_invvpid = vmx_invvpid_usable(cap);
	out->has_invvpid_single = out->has_invvpid &&
				  (cap & VMX_VPID_INVVPID_SINGLE_CONTEXT) != 0;
	out->has_invvpid_all = out->has_invvpid &&
			       (cap & VMX_VPID_INVVPID_ALL_CONTEXT) != 0;
}

/** Fills the fields taken from IA32_VMX_MISC (SDM A.6). */
static void vmx_fill_misc(uint64_t misc, struct vmx_config *out)
{
	uint64_t list = (misc >> VMX_MISC_MAX_MSR_LIST_SHIFT) &
			VMX_MISC_MAX_MSR_LIST_MASK;

	out->preemption_timer_rate =
		(uint8_t)(misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK);
	out->has_activity_hlt = (misc & VMX_MISC_ACTIVITY_HLT) != 0;
	out->has_activity_shutdown = (misc & VMX_MISC_ACTIVITY_SHUTDOWN) != 0;
	out->has_activity_wait_for_sipi =
		(misc & VMX_MISC_ACTIVITY_WAIT_FOR_SIPI) != 0;
	out->cr3_target_count =
		(uint16_t)((misc >> VMX_MISC_CR3_TARGET_COUNT_SHIFT) &
			   VMX_MISC_CR3_TARGET_COUNT_MASK);
	out->max_msr_list_entries =
		VMX_MISC_MSR_LIST_UNIT * (uint32_t)(list + 1);
}

/**
 * Computes every VMX control Tessera uses; see vmx_caps.h. The checks run in
 * dependency order (BASIC, then the control words with the primary before
 * the secondary, then EPT), so the first missing feature is the most basic.
 */
bool vmx_compute_config(const struct vmx_cap_msrs *caps, struct vmx_config *out,
			const char **missing)
{
	*out = (struct vmx_config){ 0 };
	if (!vmx_check_basic(caps->basic, out, missing) ||
	    !vmx_compute_controls(caps, out, missing) ||
	    !vmx_check_ept(caps->ept_vpid_cap, missing)) {
		return false;
	}
	vmx_fill_features(caps, out);
	vmx_fill_misc(caps->misc, out);
	return true;
}

/**
 * Applies IA32_VMX_CR0_FIXED0/1 (SDM A.7). An unrestricted guest may run
 * with paging or protection off, so PE and PG are then left as given.
 */
uint64_t vmx_fix_cr0(const struct vmx_cap_msrs *caps, uint64_t cr0,
		     bool unrestricted_guest)
{
	uint64_t must_be_1 = caps->cr0_fixed0;

	if (unrestricted_guest) {
		must_be_1 &= ~(CR0_PE | CR0_PG);
	}
	return (cr0 | must_be_1) & caps->cr0_fixed1;
}

/** Applies IA32_VMX_CR4_FIXED0/1 (SDM A.8). */
uint64_t vmx_fix_cr4(const struct vmx_cap_msrs *caps, uint64_t cr4)
{
	return (cr4 | caps->cr4_fixed0) & caps->cr4_fixed1;
}
