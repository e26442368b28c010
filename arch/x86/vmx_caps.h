/*
 * From the raw VMX capability MSRs to the control words Tessera programs.
 *
 * Everything here is pure: the caller reads the MSRs (arch/x86/msr.h) and
 * passes their values in, so the policy can be unit-tested on the host with
 * the values of real and emulated CPUs.
 *
 * Which MSRs exist (SDM Vol. 3C, Appendix A): the TRUE_* MSRs only when
 * IA32_VMX_BASIC bit 55 is set; IA32_VMX_PROCBASED_CTLS2 only when the
 * "activate secondary controls" bit may be 1; IA32_VMX_EPT_VPID_CAP only when
 * "enable EPT" or "enable VPID" may be 1. The caller leaves a missing MSR 0:
 * every check here treats 0 as "nothing supported".
 */
#ifndef TESSERA_ARCH_X86_VMX_CAPS_H
#define TESSERA_ARCH_X86_VMX_CAPS_H

#include "hv/types.h"

/** Raw values of the VMX capability MSRs of one logical processor. */
struct vmx_cap_msrs {
	uint64_t basic;          /* IA32_VMX_BASIC */
	uint64_t pinbased;       /* IA32_VMX_PINBASED_CTLS */
	uint64_t procbased;      /* IA32_VMX_PROCBASED_CTLS */
	uint64_t procbased2;     /* IA32_VMX_PROCBASED_CTLS2 */
	uint64_t exit;           /* IA32_VMX_EXIT_CTLS */
	uint64_t entry;          /* IA32_VMX_ENTRY_CTLS */
	uint64_t misc;           /* IA32_VMX_MISC */
	uint64_t cr0_fixed0;     /* IA32_VMX_CR0_FIXED0 */
	uint64_t cr0_fixed1;     /* IA32_VMX_CR0_FIXED1 */
	uint64_t cr4_fixed0;     /* IA32_VMX_CR4_FIXED0 */
	uint64_t cr4_fixed1;     /* IA32_VMX_CR4_FIXED1 */
	uint64_t ept_vpid_cap;   /* IA32_VMX_EPT_VPID_CAP */
	uint64_t true_pinbased;  /* IA32_VMX_TRUE_PINBASED_CTLS */
	uint64_t true_procbased; /* IA32_VMX_TRUE_PROCBASED_CTLS */
	uint64_t true_exit;      /* IA32_VMX_TRUE_EXIT_CTLS */
	uint64_t true_entry;     /* IA32_VMX_TRUE_ENTRY_CTLS */
};

/**
 * The VMX configuration Tessera runs with on one processor: the control words
 * to write into every VMCS (before per-guest additions such as "IA-32e mode
 * guest") and the optional features it may use.
 */
struct vmx_config {
	/* Control words, valid against the capability MSRs as they stand. */
	uint32_t pinbased;
	uint32_t procbased;
	uint32_t procbased2;
	uint32_t exit;
	uint32_t entry;

	/* From IA32_VMX_BASIC. */
	uint32_t revision_id; /* for the first word of VMXON region and VMCS */
	uint32_t vmcs_size;   /* bytes to allocate for each, at most 4096 */
	bool uses_true_msrs;  /* bit 55: default1 controls may be cleared */

	/* Optional features, true only when enabled in the words above. */
	bool has_vpid;             /* enable VPID; implies has_invvpid */
	bool has_preemption_timer; /* pin: activate VMX-preemption timer */
	bool has_virtual_nmis;     /* pin: virtual NMIs */
	bool has_ack_interrupt_on_exit; /* exit: vector is in exit info */
	bool has_rdtscp;           /* secondary: enable RDTSCP */
	bool has_invpcid;          /* secondary: enable INVPCID */
	bool has_tpr_shadow;       /* primary: use TPR shadow (else CR8 exits) */
	bool has_pause_loop_exiting; /* secondary: PAUSE-loop exiting */
	bool has_save_preemption_timer; /* exit: the timer keeps counting across exits */
	bool has_interrupt_window; /* interrupt-window exiting may be turned on */
	bool has_nmi_window;       /* NMI-window exiting may be (needs virtual NMIs) */

	/* EPT and VPID capabilities (IA32_VMX_EPT_VPID_CAP). */
	bool has_ept_2m;
	bool has_ept_1g;
	bool has_ept_ad;
	bool has_ept_execute_only;
	bool has_invept_single;
	bool has_invept_all; /* at least one of the two INVEPT types is true */
	bool has_invvpid;    /* INVVPID with a single- or all-context type */
	bool has_invvpid_single;
	bool has_invvpid_all;

	/* From IA32_VMX_MISC. */
	uint8_t preemption_timer_rate; /* timer ticks every 2^rate TSC ticks */
	bool has_activity_hlt;
	bool has_activity_shutdown;
	bool has_activity_wait_for_sipi;
	uint16_t cr3_target_count;
	uint32_t max_msr_list_entries; /* recommended MSR-list limit */
};

/**
 * Computes every VMX control Tessera uses from the raw capability MSRs.
 *
 * Returns true when the processor is usable and fills *out; otherwise returns
 * false, leaves *out unspecified and points *missing at a static string naming
 * the first missing required feature in words an operator understands (e.g.
 * "EPT", "unrestricted guest", "secondary processor-based controls", "VMCS
 * write-back memory type"). A control the processor insists on but Tessera
 * cannot run with is named as "the 0-setting of <control>".
 */
bool vmx_compute_config(const struct vmx_cap_msrs *caps, struct vmx_config *out,
			const char **missing);

/**
 * Returns cr0 adjusted for VMX operation (VMXON and guest CR0): the bits set
 * in IA32_VMX_CR0_FIXED0 forced to 1 and the bits clear in
 * IA32_VMX_CR0_FIXED1 forced to 0. With unrestricted_guest, PE and PG keep
 * their value in cr0 (SDM A.7).
 */
uint64_t vmx_fix_cr0(const struct vmx_cap_msrs *caps, uint64_t cr0,
		     bool unrestricted_guest);

/** Returns cr4 with IA32_VMX_CR4_FIXED0 bits set and ~FIXED1 bits clear. */
uint64_t vmx_fix_cr4(const struct vmx_cap_msrs *caps, uint64_t cr4);

#endif /* TESSERA_ARCH_X86_VMX_CAPS_H */
