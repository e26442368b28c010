/*
 * Host tests of arch/x86/exit_reasons.c: the names logs and statistics print
 * for basic exit reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/exit_reasons.h"

/* Every enumerator of enum exit_reason, written out independently. */
static const uint32_t all_reasons[] = {
	EXIT_REASON_EXCEPTION_NMI, EXIT_REASON_EXTERNAL_INTERRUPT,
	EXIT_REASON_TRIPLE_FAULT, EXIT_REASON_INIT_SIGNAL, EXIT_REASON_SIPI,
	EXIT_REASON_IO_SMI, EXIT_REASON_OTHER_SMI,
	EXIT_REASON_INTERRUPT_WINDOW, EXIT_REASON_NMI_WINDOW,
	EXIT_REASON_TASK_SWITCH, EXIT_REASON_CPUID, EXIT_REASON_GETSEC,
	EXIT_REASON_HLT, EXIT_REASON_INVD, EXIT_REASON_INVLPG,
	EXIT_REASON_RDPMC, EXIT_REASON_RDTSC, EXIT_REASON_RSM,
	EXIT_REASON_VMCALL, EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH,
	EXIT_REASON_VMPTRLD, EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD,
	EXIT_REASON_VMRESUME, EXIT_REASON_VMWRITE, EXIT_REASON_VMXOFF,
	EXIT_REASON_VMXON, EXIT_REASON_CR_ACCESS, EXIT_REASON_MOV_DR,
	EXIT_REASON_IO_INSTRUCTION, EXIT_REASON_RDMSR, EXIT_REASON_WRMSR,
	EXIT_REASON_ENTRY_FAIL_GUEST_STATE, EXIT_REASON_ENTRY_FAIL_MSR_LOADING,
	EXIT_REASON_MWAIT, EXIT_REASON_MONITOR_TRAP_FLAG, EXIT_REASON_MONITOR,
	EXIT_REASON_PAUSE, EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK,
	EXIT_REASON_TPR_BELOW_THRESHOLD, EXIT_REASON_APIC_ACCESS,
	EXIT_REASON_VIRTUALIZED_EOI, EXIT_REASON_GDTR_IDTR_ACCESS,
	EXIT_REASON_LDTR_TR_ACCESS, EXIT_REASON_EPT_VIOLATION,
	EXIT_REASON_EPT_MISCONFIG, EXIT_REASON_INVEPT, EXIT_REASON_RDTSCP,
	EXIT_REASON_PREEMPTION_TIMER, EXIT_REASON_INVVPID, EXIT_REASON_WBINVD,
	EXIT_REASON_XSETBV, EXIT_REASON_APIC_WRITE, EXIT_REASON_RDRAND,
	EXIT_REASON_INVPCID, EXIT_REASON_VMFUNC, EXIT_REASON_ENCLS,
	EXIT_REASON_RDSEED, EXIT_REASON_PML_FULL, EXIT_REASON_XSAVES,
	EXIT_REASON_XRSTORS, EXIT_REASON_PCONFIG, EXIT_REASON_SPP_EVENT,
	EXIT_REASON_UMWAIT, EXIT_REASON_TPAUSE, EXIT_REASON_LOADIWKEY,
	EXIT_REASON_ENCLV, EXIT_REASON_ENQCMD_PASID_FAIL,
	EXIT_REASON_ENQCMDS_PASID_FAIL, EXIT_REASON_BUS_LOCK,
	EXIT_REASON_NOTIFY, EXIT_REASON_SEAMCALL, EXIT_REASON_TDCALL,
	EXIT_REASON_RDMSRLIST, EXIT_REASON_WRMSRLIST, EXIT_REASON_URDMSR,
	EXIT_REASON_UWRMSR, EXIT_REASON_RDMSR_IMM, EXIT_REASON_WRMSRNS_IMM,
};

/* The values Table C-1 leaves unassigned below EXIT_REASON_COUNT. */
static const uint32_t gaps[] = { 35, 38, 42, 71, 82, 83 };

/** Names of a few reasons the dispatcher and the statistics care about. */
static void test_known_names(void **state)
{
	assert_string_equal(exit_reason_name(0), "EXCEPTION_NMI");
	assert_string_equal(exit_reason_name(1), "EXTERNAL_INTERRUPT");
	assert_string_equal(exit_reason_name(10), "CPUID");
	assert_string_equal(exit_reason_name(12), "HLT");
	assert_string_equal(exit_reason_name(28), "CR_ACCESS");
	assert_string_equal(exit_reason_name(30), "IO_INSTRUCTION");
	assert_string_equal(exit_reason_name(31), "RDMSR");
	assert_string_equal(exit_reason_name(32), "WRMSR");
	assert_string_equal(exit_reason_name(33), "ENTRY_FAIL_GUEST_STATE");
	assert_string_equal(exit_reason_name(48), "EPT_VIOLATION");
	assert_string_equal(exit_reason_name(49), "EPT_MISCONFIG");
	assert_string_equal(exit_reason_name(52), "PREEMPTION_TIMER");
	assert_string_equal(exit_reason_name(55), "XSETBV");
	assert_string_equal(exit_reason_name(81), "UWRMSR");
	assert_string_equal(exit_reason_name(85), "WRMSRNS_IMM");
}

/** The SDM's gaps are UNKNOWN. */
static void test_gaps_unknown(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(gaps); i++) {
		assert_string_equal(exit_reason_name(gaps[i]), "UNKNOWN");
	}
}

/** Values past the table are UNKNOWN, including whole exit-reason fields. */
static void test_out_of_range_unknown(void **state)
{
	uint32_t failed = EXIT_REASON_ENTRY_FAILURE |
			  EXIT_REASON_ENTRY_FAIL_GUEST_STATE;

	assert_string_equal(exit_reason_name(EXIT_REASON_COUNT), "UNKNOWN");
	assert_string_equal(exit_reason_name(0xFFFF), "UNKNOWN");
	assert_string_equal(exit_reason_name(UINT32_MAX), "UNKNOWN");
	/* A whole field must go through exit_reason_basic() first. */
	assert_string_equal(exit_reason_name(failed), "UNKNOWN");
}

/** Every enumerator has its own, non-empty name; nothing else has one. */
static void test_every_reason_named(void **state)
{
	size_t named = 0;

	for (size_t i = 0; i < ARRAY_SIZE(all_reasons); i++) {
		const char *name = exit_reason_name(all_reasons[i]);

		assert_true(all_reasons[i] < EXIT_REASON_COUNT);
		assert_string_not_equal(name, "UNKNOWN");
		assert_true(strlen(name) > 0);
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(
				name, exit_reason_name(all_reasons[j]));
		}
	}
	for (uint32_t r = 0; r < EXIT_REASON_COUNT; r++) {
		if (strcmp(exit_reason_name(r), "UNKNOWN") != 0) {
			named++;
		}
	}
	assert_int_equal(named, ARRAY_SIZE(all_reasons));
	assert_int_equal(ARRAY_SIZE(all_reasons) + ARRAY_SIZE(gaps),
			 EXIT_REASON_COUNT);
}

/** The highest reason is named and COUNT is one past it. */
static void test_count(void **state)
{
	assert_int_equal(EXIT_REASON_COUNT, EXIT_REASON_WRMSRNS_IMM + 1);
	assert_string_not_equal(exit_reason_name(EXIT_REASON_COUNT - 1),
				"UNKNOWN");
}

/** The bits of the full exit-reason field and the basic-reason extraction. */
static void test_exit_reason_field(void **state)
{
	uint32_t failed = EXIT_REASON_ENTRY_FAILURE |
			  EXIT_REASON_ENTRY_FAIL_GUEST_STATE;

	assert_int_equal(EXIT_REASON_ENTRY_FAILURE, 0x80000000U);
	assert_int_equal(exit_reason_basic(failed),
			 EXIT_REASON_ENTRY_FAIL_GUEST_STATE);
	assert_string_equal(exit_reason_name(exit_reason_basic(failed)),
			    "ENTRY_FAIL_GUEST_STATE");
	assert_int_equal(exit_reason_basic(EXIT_REASON_ENCLAVE_MODE |
					   EXIT_REASON_PENDING_MTF |
					   EXIT_REASON_FROM_VMX_ROOT |
					   EXIT_REASON_BUS_LOCK_DETECTED |
					   EXIT_REASON_HLT),
			 EXIT_REASON_HLT);
}

/** Runs the exit-reason tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_names),
		cmocka_unit_test(test_gaps_unknown),
		cmocka_unit_test(test_out_of_range_unknown),
		cmocka_unit_test(test_every_reason_named),
		cmocka_unit_test(test_count),
		cmocka_unit_test(test_exit_reason_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
