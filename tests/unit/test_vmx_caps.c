/*
 * Host tests of arch/x86/vmx_caps.c: the VMX control words Tessera computes
 * from the capability MSRs of emulated and real processors, the features it
 * refuses to run without, and the CR0/CR4 fixed-bit rules.
 *
 * The invariants are checked as identities over whole control words against
 * the MSR values, not only on chosen bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/vmx_caps.h"
#include "arch/x86/vmx_defs.h"

/*
 * Tessera's policy as the tests state it, independently of vmx_caps.c: bits
 * that must be set, and bits that are set exactly when allowed.
 */
#define PIN_REQUIRED \
	(PIN_BASED_EXTERNAL_INTERRUPT_EXITING | PIN_BASED_NMI_EXITING)
#define PIN_OPTIONAL (PIN_BASED_VIRTUAL_NMIS | PIN_BASED_VMX_PREEMPTION_TIMER)
#define CPU_REQUIRED                                                   \
	(CPU_BASED_HLT_EXITING | CPU_BASED_USE_IO_BITMAPS |            \
	 CPU_BASED_USE_MSR_BITMAPS | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS)
#define CPU_OPTIONAL                                                   \
	(CPU_BASED_USE_TSC_OFFSETTING | CPU_BASED_MWAIT_EXITING |      \
	 CPU_BASED_MONITOR_EXITING | CPU_BASED_USE_TPR_SHADOW)
/* Taken instead of the TPR shadow when the processor has none. */
#define CPU_CR8_EXITS (CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING)
#define SEC_REQUIRED (SECONDARY_ENABLE_EPT | SECONDARY_UNRESTRICTED_GUEST)
#define SEC_OPTIONAL                                                   \
	(SECONDARY_ENABLE_VPID | SECONDARY_ENABLE_RDTSCP |             \
	 SECONDARY_ENABLE_INVPCID | SECONDARY_PAUSE_LOOP_EXITING)
#define EXIT_REQUIRED                                                  \
	(VM_EXIT_HOST_ADDRESS_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER |    \
	 VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_IA32_PAT |              \
	 VM_EXIT_LOAD_IA32_PAT)
#define EXIT_OPTIONAL                                                  \
	(VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT | VM_EXIT_SAVE_DEBUG_CONTROLS | \
	 VM_EXIT_SAVE_VMX_PREEMPTION_TIMER)
#define ENTRY_REQUIRED (VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT)
#define ENTRY_OPTIONAL VM_ENTRY_LOAD_DEBUG_CONTROLS

/* Controls that must end up 0 whenever the allowed 0-settings permit it. */
#define CPU_UNWANTED                                                   \
	(CPU_BASED_INTERRUPT_WINDOW_EXITING | CPU_BASED_INVLPG_EXITING | \
	 CPU_BASED_RDPMC_EXITING | CPU_BASED_RDTSC_EXITING |           \
	 CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |    \
	 CPU_BASED_CR8_LOAD_EXITING | CPU_BASED_CR8_STORE_EXITING |    \
	 CPU_BASED_NMI_WINDOW_EXITING |                                \
	 CPU_BASED_MOV_DR_EXITING | CPU_BASED_UNCONDITIONAL_IO_EXITING | \
	 CPU_BASED_MONITOR_TRAP_FLAG | CPU_BASED_PAUSE_EXITING |       \
	 CPU_BASED_ACTIVATE_TERTIARY_CONTROLS)
#define ENTRY_UNWANTED                                                 \
	(VM_ENTRY_IA32E_MODE_GUEST | VM_ENTRY_ENTRY_TO_SMM |           \
	 VM_ENTRY_DEACTIVATE_DUAL_MONITOR)

#define HI(msr) ((uint32_t)((msr) >> 32))
#define LO(msr) ((uint32_t)(msr))

/**
 * Bochs 2.7 corei7_haswell_4770, as read on the test rig
 * (/work/shared/testrig.md). The rig notes only that the TRUE MSRs exist;
 * their values come from Bochs' cpu/vmx.h: allowed 1-settings as the plain
 * MSRs, allowed 0-settings without CR3-load/store exiting (procbased) and
 * without save/load debug controls (exit/entry).
 */
static struct vmx_cap_msrs haswell_caps(void)
{
	return (struct vmx_cap_msrs){
		.basic = 0xD810000000002BULL,
		.pinbased = 0x7F00000016ULL,
		.procbased = 0xF7F9FFFE0401E172ULL,
		.procbased2 = 0x47FFF00000000ULL,
		.exit = 0x7FFFFF00036DFFULL,
		.entry = 0xFFFF000011FFULL,
		.misc = 0x200401E0ULL,
		.cr0_fixed0 = 0x80000021ULL,
		.cr0_fixed1 = 0xFFFFFFFFULL,
		.cr4_fixed0 = 0x2000ULL,
		.cr4_fixed1 = 0x1727FFULL,
		.ept_vpid_cap = 0xF0106334141ULL,
		.true_pinbased = 0x7F00000016ULL,
		.true_procbased = 0xF7F9FFFE04006172ULL,
		.true_exit = 0x7FFFFF00036DFBULL,
		.true_entry = 0xFFFF000011FBULL,
	};
}

/**
 * A real Intel Core i7-9750H (Coffee Lake, CPUID.1:EAX = 000906EA) in an MSI
 * GS65 Stealth 9SE, from the VirtualBox 6.1.16 release log posted on the
 * VirtualBox forums, thread "Vbox 6.1 Black Screen on Startup Ubuntu 20.04"
 * (2021-01-14): the HM "MSR_IA32_VMX_*" lines of that log.
 */
static struct vmx_cap_msrs coffee_lake_caps(void)
{
	return (struct vmx_cap_msrs){
		.basic = 0xDA040000000004ULL,
		.pinbased = 0x7F00000016ULL,
		.procbased = 0xFFF9FFFE0401E172ULL,
		.procbased2 = 0x5FBCFF00000000ULL,
		.exit = 0x1FFFFFF00036DFFULL,
		.entry = 0x3FFFF000011FFULL,
		.misc = 0x7004C1E7ULL,
		.cr0_fixed0 = 0x80000021ULL,
		.cr0_fixed1 = 0xFFFFFFFFULL,
		.cr4_fixed0 = 0x2000ULL,
		.cr4_fixed1 = 0x3727FFULL,
		.ept_vpid_cap = 0xF0106734141ULL,
		.true_pinbased = 0x7F00000016ULL,
		.true_procbased = 0xFFF9FFFE04006172ULL,
		.true_exit = 0x1FFFFFF00036DFBULL,
		.true_entry = 0x3FFFF000011FBULL,
	};
}

/**
 * A real Intel Ivy Bridge (CPUID.1:EAX = 000306A9, family 6 model 58), from a
 * VirtualBox 7.2.12 release log on a Linux host pasted into a public help
 * thread (found through the code-search corpus; the HM "MSR_IA32_VMX_*"
 * lines). Unlike Haswell it has no 1-GiB EPT pages, no EPT A/D bits and no
 * "enable INVPCID".
 */
static struct vmx_cap_msrs ivy_bridge_caps(void)
{
	return (struct vmx_cap_msrs){
		.basic = 0xDA040000000010ULL,
		.pinbased = 0x7F00000016ULL,
		.procbased = 0xFFF9FFFE0401E172ULL,
		.procbased2 = 0x8FF00000000ULL,
		.exit = 0x7FFFFF00036DFFULL,
		.entry = 0xFFFF000011FFULL,
		.misc = 0x100401E5ULL,
		.cr0_fixed0 = 0x80000021ULL,
		.cr0_fixed1 = 0xFFFFFFFFULL,
		.cr4_fixed0 = 0x2000ULL,
		.cr4_fixed1 = 0x1767FFULL,
		.ept_vpid_cap = 0xF0106114141ULL,
		.true_pinbased = 0x7F00000016ULL,
		.true_procbased = 0xFFF9FFFE04006172ULL,
		.true_exit = 0x7FFFFF00036DFBULL,
		.true_entry = 0xFFFF000011FBULL,
	};
}

/**
 * Asserts the identity every computed word must satisfy: exactly the bits
 * that must be 1, the required ones and the allowed optional ones; never a
 * bit outside the allowed 1-settings.
 */
static void assert_word(uint32_t value, uint64_t msr, uint32_t required,
			uint32_t optional)
{
	uint32_t allowed0 = LO(msr);
	uint32_t allowed1 = HI(msr);

	assert_int_equal(value & allowed0, allowed0);
	assert_int_equal(value & ~allowed1, 0);
	assert_int_equal(value & required, required);
	assert_int_equal(value, allowed0 | required | (optional & allowed1));
}

/**
 * Computes the configuration of caps, which must be accepted, and checks
 * every word against the MSRs that apply (TRUE ones when BASIC bit 55 is
 * set, with the default1 class forced otherwise).
 */
static struct vmx_config assert_accepted(const struct vmx_cap_msrs *caps)
{
	struct vmx_config cfg;
	const char *missing = NULL;
	bool t = (caps->basic & VMX_BASIC_TRUE_CONTROLS) != 0;
	uint64_t d1 = t ? 0 : 1;
	uint64_t sec_opt = SEC_OPTIONAL;
	uint64_t procbased_msr = t ? caps->true_procbased : caps->procbased;
	uint32_t cpu_opt = CPU_OPTIONAL;

	if ((HI(procbased_msr) & CPU_BASED_USE_TPR_SHADOW) == 0) {
		cpu_opt |= CPU_CR8_EXITS;
	}
	assert_true(vmx_compute_config(caps, &cfg, &missing));
	if (!cfg.has_invvpid) {
		sec_opt &= ~(uint64_t)SECONDARY_ENABLE_VPID;
	}
	assert_word(cfg.pinbased,
		    (t ? caps->true_pinbased : caps->pinbased) |
			    (d1 * PIN_BASED_DEFAULT1),
		    PIN_REQUIRED, PIN_OPTIONAL);
	assert_word(cfg.procbased,
		    (t ? caps->true_procbased : caps->procbased) |
			    (d1 * CPU_BASED_DEFAULT1),
		    CPU_REQUIRED, cpu_opt);
	assert_word(cfg.procbased2, caps->procbased2, SEC_REQUIRED,
		    (uint32_t)sec_opt);
	assert_word(cfg.exit,
		    (t ? caps->true_exit : caps->exit) |
			    (d1 * VM_EXIT_DEFAULT1),
		    EXIT_REQUIRED, EXIT_OPTIONAL);
	assert_word(cfg.entry,
		    (t ? caps->true_entry : caps->entry) |
			    (d1 * VM_ENTRY_DEFAULT1),
		    ENTRY_REQUIRED, ENTRY_OPTIONAL);
	assert_int_equal(cfg.entry & VM_ENTRY_IA32E_MODE_GUEST, 0);
	return cfg;
}

/** Computes the configuration of caps, which must be refused for `want`. */
static void assert_refused(const struct vmx_cap_msrs *caps, const char *want)
{
	struct vmx_config cfg;
	const char *missing = NULL;

	assert_false(vmx_compute_config(caps, &cfg, &missing));
	assert_non_null(missing);
	assert_string_equal(missing, want);
}

/** The rig's Haswell: the exact words and features Tessera runs with. */
static void test_haswell_words(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_int_equal(cfg.pinbased, 0x7F);
	assert_int_equal(cfg.procbased, 0xB62065FA);
	assert_int_equal(cfg.procbased2, 0x14AA);
	assert_int_equal(cfg.exit, 0x7FEFFF);
	assert_int_equal(cfg.entry, 0xD1FF);
	assert_int_equal(cfg.revision_id, 0x2B);
	assert_int_equal(cfg.vmcs_size, 4096);
	assert_true(cfg.uses_true_msrs);
}

/** The rig's Haswell: the unwanted exits are off, since TRUE MSRs allow it. */
static void test_haswell_unwanted_clear(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_int_equal(LO(caps.true_procbased) & CPU_UNWANTED, 0);
	assert_int_equal(cfg.procbased & CPU_UNWANTED, 0);
	assert_int_equal(cfg.entry & ENTRY_UNWANTED, 0);
	/* Nothing beyond what was asked for or forced. */
	assert_int_equal(cfg.pinbased & ~(PIN_REQUIRED | PIN_OPTIONAL |
					  LO(caps.true_pinbased)), 0);
	assert_int_equal(cfg.procbased2 & ~(SEC_REQUIRED | SEC_OPTIONAL), 0);
	assert_int_equal(cfg.exit & ~(EXIT_REQUIRED | EXIT_OPTIONAL |
				      LO(caps.true_exit)), 0);
}

/** The rig's Haswell: feature flags and IA32_VMX_MISC fields. */
static void test_haswell_features(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_true(cfg.has_vpid);
	assert_true(cfg.has_invvpid);
	assert_true(cfg.has_invvpid_single);
	assert_true(cfg.has_invvpid_all);
	assert_true(cfg.has_ept_2m);
	assert_true(cfg.has_ept_1g);
	assert_true(cfg.has_ept_ad);
	assert_true(cfg.has_ept_execute_only);
	assert_true(cfg.has_invept_single);
	assert_true(cfg.has_invept_all);
	assert_true(cfg.has_preemption_timer);
	assert_true(cfg.has_virtual_nmis);
	assert_true(cfg.has_ack_interrupt_on_exit);
	assert_true(cfg.has_rdtscp);
	assert_true(cfg.has_invpcid);
	assert_int_equal(cfg.preemption_timer_rate, 0);
	assert_true(cfg.has_activity_hlt);
	assert_true(cfg.has_activity_shutdown);
	assert_true(cfg.has_activity_wait_for_sipi);
	assert_int_equal(cfg.cr3_target_count, 4);
	assert_int_equal(cfg.max_msr_list_entries, 512);
}

/** A real Coffee Lake: same words as the rig, timer rate 7. */
static void test_coffee_lake(void **state)
{
	struct vmx_cap_msrs caps = coffee_lake_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_int_equal(cfg.pinbased, 0x7F);
	assert_int_equal(cfg.procbased, 0xB62065FA);
	assert_int_equal(cfg.procbased2, 0x14AA);
	assert_int_equal(cfg.exit, 0x7FEFFF);
	assert_int_equal(cfg.entry, 0xD1FF);
	assert_int_equal(cfg.revision_id, 4);
	assert_int_equal(cfg.vmcs_size, 1024);
	assert_int_equal(cfg.preemption_timer_rate, 7);
	assert_true(cfg.has_ept_1g);
	assert_true(cfg.has_ept_ad);
	assert_true(cfg.has_vpid);
	assert_int_equal(cfg.procbased & CPU_UNWANTED, 0);
}

/** A real Ivy Bridge: no INVPCID, no 1-GiB pages, no EPT A/D bits. */
static void test_ivy_bridge(void **state)
{
	struct vmx_cap_msrs caps = ivy_bridge_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_int_equal(cfg.procbased2, 0xAA);
	assert_false(cfg.has_invpcid);
	assert_true(cfg.has_ept_2m);
	assert_false(cfg.has_ept_1g);
	assert_false(cfg.has_ept_ad);
	assert_true(cfg.has_vpid);
	assert_int_equal(cfg.preemption_timer_rate, 5);
	assert_int_equal(cfg.revision_id, 0x10);
}

/** Without "enable EPT" in the allowed 1-settings Tessera refuses to run. */
static void test_no_ept(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.procbased2 &= ~((uint64_t)SECONDARY_ENABLE_EPT << 32);
	assert_refused(&caps, "EPT");
}

/** Without unrestricted guest Tessera refuses to run. */
static void test_no_unrestricted_guest(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.procbased2 &= ~((uint64_t)SECONDARY_UNRESTRICTED_GUEST << 32);
	assert_refused(&caps, "unrestricted guest");
}

/** Without secondary controls neither PROCBASED_CTLS2 nor EPT caps exist. */
static void test_no_secondary_controls(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	uint64_t bit = (uint64_t)CPU_BASED_ACTIVATE_SECONDARY_CONTROLS << 32;

	caps.procbased &= ~bit;
	caps.true_procbased &= ~bit;
	caps.procbased2 = 0;
	caps.ept_vpid_cap = 0;
	assert_refused(&caps, "secondary processor-based controls");
}

/**
 * Without the TRUE MSRs (bit 55 clear) the plain ones apply: CR3-load/store
 * exiting and the debug controls are forced on, TRUE values are ignored.
 */
static void test_no_true_msrs(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.basic &= ~VMX_BASIC_TRUE_CONTROLS;
	caps.true_pinbased = 0;
	caps.true_procbased = 0;
	caps.true_exit = 0;
	caps.true_entry = 0;
	cfg = assert_accepted(&caps);
	assert_false(cfg.uses_true_msrs);
	assert_int_equal(cfg.procbased, 0xB621E5FA);
	assert_int_equal(cfg.procbased & CPU_BASED_DEFAULT1,
			 CPU_BASED_DEFAULT1);
	assert_int_equal(cfg.exit & VM_EXIT_DEFAULT1, VM_EXIT_DEFAULT1);
	assert_int_equal(cfg.entry & VM_ENTRY_DEFAULT1, VM_ENTRY_DEFAULT1);
}

/**
 * Without the TRUE MSRs the default1 class is forced even if a plain MSR
 * fails to report it (SDM A.2 says it always does).
 */
static void test_no_true_msrs_forces_default1(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.basic &= ~VMX_BASIC_TRUE_CONTROLS;
	caps.procbased &= ~(uint64_t)UINT32_MAX;
	caps.pinbased &= ~(uint64_t)UINT32_MAX;
	cfg = assert_accepted(&caps);
	assert_int_equal(cfg.procbased & CPU_BASED_DEFAULT1,
			 CPU_BASED_DEFAULT1);
	assert_int_equal(cfg.pinbased & PIN_BASED_DEFAULT1, PIN_BASED_DEFAULT1);
}

/** With bit 55 set the plain MSRs are not consulted at all. */
static void test_true_msrs_replace_plain(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.pinbased = 0;
	caps.procbased = 0;
	caps.exit = 0;
	caps.entry = 0;
	cfg = assert_accepted(&caps);
	assert_int_equal(cfg.procbased, 0xB62065FA);
}

/** No "enable VPID": VPID stays off, everything else works. */
static void test_no_vpid(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.procbased2 &= ~((uint64_t)SECONDARY_ENABLE_VPID << 32);
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_vpid);
	assert_int_equal(cfg.procbased2 & SECONDARY_ENABLE_VPID, 0);
}

/** "Enable VPID" without INVVPID: Tessera could not flush, so no VPID. */
static void test_no_invvpid(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.ept_vpid_cap &= ~VMX_VPID_INVVPID;
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_vpid);
	assert_false(cfg.has_invvpid);
	assert_false(cfg.has_invvpid_single);
	assert_false(cfg.has_invvpid_all);
	assert_int_equal(cfg.procbased2 & SECONDARY_ENABLE_VPID, 0);
}

/** INVVPID with only the individual-address type is not enough either. */
static void test_invvpid_individual_only(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.ept_vpid_cap &= ~(VMX_VPID_INVVPID_SINGLE_CONTEXT |
			       VMX_VPID_INVVPID_ALL_CONTEXT);
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_vpid);
}

/** A processor that forces VPID on but offers no usable INVVPID. */
static void test_forced_vpid_without_invvpid(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.procbased2 |= SECONDARY_ENABLE_VPID;
	caps.ept_vpid_cap &= ~VMX_VPID_INVVPID;
	assert_refused(&caps, "the 0-setting of VPID");
}

/** No VMX-preemption timer: the pin-based word goes without it. */
static void test_no_preemption_timer(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;
	uint64_t bit = (uint64_t)PIN_BASED_VMX_PREEMPTION_TIMER << 32;

	caps.true_pinbased &= ~bit;
	caps.pinbased &= ~bit;
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_preemption_timer);
	assert_int_equal(cfg.pinbased, 0x3F);
}

/** Optional features absent: each is simply left off. */
static void test_optional_absent(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.true_procbased &= ~((uint64_t)(CPU_OPTIONAL) << 32);
	caps.true_pinbased &= ~((uint64_t)PIN_BASED_VIRTUAL_NMIS << 32);
	caps.true_exit &= ~((uint64_t)VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT
			    << 32);
	caps.procbased2 &= ~((uint64_t)(SECONDARY_ENABLE_RDTSCP |
					SECONDARY_ENABLE_INVPCID) << 32);
	cfg = assert_accepted(&caps);
	assert_int_equal(cfg.procbased & CPU_OPTIONAL, 0);
	assert_false(cfg.has_virtual_nmis);
	assert_false(cfg.has_ack_interrupt_on_exit);
	assert_false(cfg.has_rdtscp);
	assert_false(cfg.has_invpcid);
}

/** Without the TPR shadow, MOV CR8 must exit, or the guest owns the real TPR. */
static void test_no_tpr_shadow_takes_cr8_exits(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.true_procbased &= ~((uint64_t)CPU_BASED_USE_TPR_SHADOW << 32);
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_tpr_shadow);
	assert_int_equal(cfg.procbased & CPU_CR8_EXITS, CPU_CR8_EXITS);
}

/** Neither the TPR shadow nor CR8 exits: refused, naming both. */
static void test_no_tpr_shadow_no_cr8_exits(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.true_procbased &= ~((uint64_t)(CPU_BASED_USE_TPR_SHADOW |
					    CPU_BASED_CR8_STORE_EXITING) << 32);
	assert_refused(&caps, "CR8-load and CR8-store exiting, or the TPR shadow");
}

/** With the TPR shadow, CR8 exits stay off; window exits are available. */
static void test_tpr_shadow_and_windows(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg = assert_accepted(&caps);

	assert_true(cfg.has_tpr_shadow);
	assert_int_equal(cfg.procbased & CPU_CR8_EXITS, 0);
	assert_true(cfg.has_interrupt_window);
	assert_true(cfg.has_nmi_window);
	assert_true(cfg.has_save_preemption_timer);
	/* The window exits are per vCPU: never in the base word. */
	assert_int_equal(cfg.procbased & (CPU_BASED_INTERRUPT_WINDOW_EXITING |
					  CPU_BASED_NMI_WINDOW_EXITING), 0);
}

/** One required control per case and the words that name it. */
struct required_case {
	size_t offset; /* of the MSR in struct vmx_cap_msrs */
	uint32_t bit;
	const char *name;
};

static const struct required_case required_cases[] = {
	{ offsetof(struct vmx_cap_msrs, true_pinbased),
	  PIN_BASED_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting" },
	{ offsetof(struct vmx_cap_msrs, true_pinbased), PIN_BASED_NMI_EXITING,
	  "NMI exiting" },
	{ offsetof(struct vmx_cap_msrs, true_procbased), CPU_BASED_HLT_EXITING,
	  "HLT exiting" },
	{ offsetof(struct vmx_cap_msrs, true_procbased),
	  CPU_BASED_USE_IO_BITMAPS, "I/O bitmaps" },
	{ offsetof(struct vmx_cap_msrs, true_procbased),
	  CPU_BASED_USE_MSR_BITMAPS, "MSR bitmaps" },
	{ offsetof(struct vmx_cap_msrs, true_exit),
	  VM_EXIT_HOST_ADDRESS_SPACE_SIZE,
	  "a 64-bit host (host address-space size)" },
	{ offsetof(struct vmx_cap_msrs, true_exit), VM_EXIT_SAVE_IA32_PAT,
	  "saving IA32_PAT on VM exit" },
	{ offsetof(struct vmx_cap_msrs, true_exit), VM_EXIT_LOAD_IA32_PAT,
	  "loading IA32_PAT on VM exit" },
	{ offsetof(struct vmx_cap_msrs, true_exit), VM_EXIT_SAVE_IA32_EFER,
	  "saving IA32_EFER on VM exit" },
	{ offsetof(struct vmx_cap_msrs, true_exit), VM_EXIT_LOAD_IA32_EFER,
	  "loading IA32_EFER on VM exit" },
	{ offsetof(struct vmx_cap_msrs, true_entry), VM_ENTRY_LOAD_IA32_PAT,
	  "loading IA32_PAT on VM entry" },
	{ offsetof(struct vmx_cap_msrs, true_entry), VM_ENTRY_LOAD_IA32_EFER,
	  "loading IA32_EFER on VM entry" },
};

/** Each required control, taken away alone, is named as what is missing. */
static void test_each_required_control(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(required_cases); i++) {
		const struct required_case *c = &required_cases[i];
		struct vmx_cap_msrs caps = haswell_caps();
		uint64_t *msr = (uint64_t *)((char *)&caps + c->offset);

		*msr &= ~((uint64_t)c->bit << 32);
		assert_refused(&caps, c->name);
	}
}

/** With two features missing, the earlier word (pin-based) is named. */
static void test_first_missing_is_named(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.procbased2 &= ~((uint64_t)SECONDARY_ENABLE_EPT << 32);
	caps.true_pinbased &= ~((uint64_t)PIN_BASED_NMI_EXITING << 32);
	assert_refused(&caps, "NMI exiting");
}

/** IA32_VMX_BASIC: the VMCS must be write-back. */
static void test_vmcs_not_write_back(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	uint64_t shift = VMX_BASIC_MEMORY_TYPE_SHIFT;

	caps.basic &= ~(VMX_BASIC_MEMORY_TYPE_MASK << shift);
	caps.basic |= (uint64_t)VMX_MEMORY_TYPE_UC << shift;
	assert_refused(&caps, "VMCS write-back memory type");
}

/** IA32_VMX_BASIC: VMCS addresses limited to 32 bits are refused. */
static void test_vmcs_32bit_addresses(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.basic |= VMX_BASIC_PHYS_ADDR_32BIT;
	assert_refused(&caps, "64-bit VMCS physical addresses");
}

/** IA32_VMX_BASIC: a VMCS size of 0 (e.g. an MSR read as 0) is refused. */
static void test_vmcs_size_invalid(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.basic &= ~(VMX_BASIC_VMCS_SIZE_MASK << VMX_BASIC_VMCS_SIZE_SHIFT);
	assert_refused(&caps, "a VMCS size of 1 to 4096 bytes");
	caps.basic |= 0x1001ULL << VMX_BASIC_VMCS_SIZE_SHIFT;
	assert_refused(&caps, "a VMCS size of 1 to 4096 bytes");
}

/** IA32_VMX_EPT_VPID_CAP: each EPT requirement, taken away alone. */
static void test_ept_requirements(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.ept_vpid_cap &= ~VMX_EPT_PAGE_WALK_4;
	assert_refused(&caps, "4-level EPT page walks");
	caps = haswell_caps();
	caps.ept_vpid_cap &= ~VMX_EPT_MEMORY_TYPE_WB;
	assert_refused(&caps, "write-back EPT paging structures");
	caps = haswell_caps();
	caps.ept_vpid_cap &= ~VMX_EPT_INVEPT;
	assert_refused(&caps, "INVEPT");
	caps = haswell_caps();
	caps.ept_vpid_cap &= ~(VMX_EPT_INVEPT_SINGLE_CONTEXT |
			       VMX_EPT_INVEPT_ALL_CONTEXT);
	assert_refused(&caps, "single-context or all-context INVEPT");
}

/** All-context INVEPT alone is enough; single-context is then reported off. */
static void test_invept_all_context_only(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.ept_vpid_cap &= ~VMX_EPT_INVEPT_SINGLE_CONTEXT;
	cfg = assert_accepted(&caps);
	assert_false(cfg.has_invept_single);
	assert_true(cfg.has_invept_all);
}

/** Forced controls Tessera cannot run with are refused by name. */
static void test_forced_intolerable(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.true_procbased |= CPU_BASED_INTERRUPT_WINDOW_EXITING;
	assert_refused(&caps, "the 0-setting of interrupt-window exiting");
	caps = haswell_caps();
	caps.true_procbased |= CPU_BASED_RDTSC_EXITING;
	assert_refused(&caps, "the 0-setting of RDTSC exiting");
	caps = haswell_caps();
	caps.true_entry |= VM_ENTRY_IA32E_MODE_GUEST;
	assert_refused(&caps, "the 0-setting of IA-32e mode guest");
	caps = haswell_caps();
	caps.true_pinbased |= 1U << 8 | (1ULL << 40);
	assert_refused(&caps, "the 0-setting of a reserved pin-based control");
}

/** Forced controls Tessera can live with are accepted and kept. */
static void test_forced_tolerable(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();
	struct vmx_config cfg;

	caps.true_procbased |= CPU_BASED_CR3_LOAD_EXITING |
			       CPU_BASED_UNCONDITIONAL_IO_EXITING;
	cfg = assert_accepted(&caps);
	assert_int_equal(cfg.procbased & CPU_BASED_CR3_LOAD_EXITING,
			 CPU_BASED_CR3_LOAD_EXITING);
}

/** An MSR that demands a bit it also forbids cannot be satisfied. */
static void test_contradictory_msr(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	caps.true_pinbased &= ~(1ULL << (32 + 1));
	assert_refused(&caps, "consistent VMX capability MSRs");
}

/** CR0 for VMXON and a restricted guest: PE, NE and PG forced on. */
static void test_fix_cr0(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	assert_int_equal(vmx_fix_cr0(&caps, 0, false), 0x80000021);
	assert_int_equal(vmx_fix_cr0(&caps, CR0_WP, false),
			 0x80000021 | CR0_WP);
	/* Bits 63:32 are clear in FIXED1, so they are forced to 0. */
	assert_int_equal(vmx_fix_cr0(&caps, UINT64_MAX, false), 0xFFFFFFFF);
	caps.cr0_fixed1 &= ~(CR0_CD | CR0_NW);
	assert_int_equal(vmx_fix_cr0(&caps, CR0_CD | CR0_NW | CR0_ET, false),
			 0x80000021 | CR0_ET);
}

/** CR0 for an unrestricted guest: PE and PG as given, NE still forced. */
static void test_fix_cr0_unrestricted(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	assert_int_equal(vmx_fix_cr0(&caps, 0, true), CR0_NE);
	assert_int_equal(vmx_fix_cr0(&caps, CR0_PE, true), CR0_PE | CR0_NE);
	assert_int_equal(vmx_fix_cr0(&caps, CR0_PE | CR0_PG, true),
			 CR0_PE | CR0_PG | CR0_NE);
}

/** CR4: VMXE forced on, bits absent from FIXED1 forced off. */
static void test_fix_cr4(void **state)
{
	struct vmx_cap_msrs caps = haswell_caps();

	assert_int_equal(vmx_fix_cr4(&caps, 0), CR4_VMXE);
	assert_int_equal(vmx_fix_cr4(&caps, CR4_PAE | CR4_PGE),
			 CR4_PAE | CR4_PGE | CR4_VMXE);
	/* Bit 22 (PKE) is not in the rig's FIXED1 (0x1727FF). */
	assert_int_equal(vmx_fix_cr4(&caps, 1ULL << 22), CR4_VMXE);
	assert_int_equal(vmx_fix_cr4(&caps, UINT64_MAX), 0x1727FF);
}

/** Runs the VMX capability tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_haswell_words),
		cmocka_unit_test(test_haswell_unwanted_clear),
		cmocka_unit_test(test_haswell_features),
		cmocka_unit_test(test_coffee_lake),
		cmocka_unit_test(test_ivy_bridge),
		cmocka_unit_test(test_no_ept),
		cmocka_unit_test(test_no_unrestricted_guest),
		cmocka_unit_test(test_no_secondary_controls),
		cmocka_unit_test(test_no_true_msrs),
		cmocka_unit_test(test_no_true_msrs_forces_default1),
		cmocka_unit_test(test_true_msrs_replace_plain),
		cmocka_unit_test(test_no_vpid),
		cmocka_unit_test(test_no_invvpid),
		cmocka_unit_test(test_invvpid_individual_only),
		cmocka_unit_test(test_forced_vpid_without_invvpid),
		cmocka_unit_test(test_no_preemption_timer),
		cmocka_unit_test(test_optional_absent),
		cmocka_unit_test(test_no_tpr_shadow_takes_cr8_exits),
		cmocka_unit_test(test_no_tpr_shadow_no_cr8_exits),
		cmocka_unit_test(test_tpr_shadow_and_windows),
		cmocka_unit_test(test_each_required_control),
		cmocka_unit_test(test_first_missing_is_named),
		cmocka_unit_test(test_vmcs_not_write_back),
		cmocka_unit_test(test_vmcs_32bit_addresses),
		cmocka_unit_test(test_vmcs_size_invalid),
		cmocka_unit_test(test_ept_requirements),
		cmocka_unit_test(test_invept_all_context_only),
		cmocka_unit_test(test_forced_intolerable),
		cmocka_unit_test(test_forced_tolerable),
		cmocka_unit_test(test_contradictory_msr),
		cmocka_unit_test(test_fix_cr0),
		cmocka_unit_test(test_fix_cr0_unrestricted),
		cmocka_unit_test(test_fix_cr4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
