/*
 * Host tests of what the dispatcher does around every handler: re-injection
 * of an event whose delivery a VM exit interrupted (IDT-vectoring
 * information, SDM 28.2.4 and 27.6) and the ring of recent exits that
 * diagnoses print.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/exit_reasons.h"
#include "hv/exit.h"
#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

#define GUEST_RIP 0x3000
#define INSN_LENGTH 2
#define PF_WITH_ERROR 0x80000b0eU   /* valid, error code, hardware exception, #PF */
#define INT_0X80      0x80000480U   /* valid, software interrupt, vector 0x80 */
#define NMI_UNBLOCKING (1U << 12)

static struct vcpu *vcpu;

/** A running one-vCPU partition and a clean VMCS. */
static int setup(void **state)
{
	vcpu = test_vcpu_setup("ev");
	return 0;
}

/** Sets up one exit and dispatches it. */
static enum exit_result dispatch(uint32_t reason, uint64_t qualification, uint64_t rip)
{
	vmx_vmwrite(VMCS_EXIT_REASON, reason);
	vmx_vmwrite(VMCS_EXIT_QUALIFICATION, qualification);
	vmx_vmwrite(VMCS_GUEST_RIP, rip);
	vmx_vmwrite(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	return exit_dispatch(vcpu);
}

/** A #PF interrupted by the exit goes in again with its error code. */
static void test_interrupted_exception_is_reinjected(void **state)
{
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, PF_WITH_ERROR | NMI_UNBLOCKING);
	vmx_vmwrite(VMCS_IDT_VECTORING_ERROR, 0x6);
	assert_int_equal(dispatch(EXIT_REASON_EXTERNAL_INTERRUPT, 0, GUEST_RIP), EXIT_RESCHEDULE);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), PF_WITH_ERROR);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_EXCEPTION_ERROR), 0x6);
}

/** A software interrupt goes in again with its instruction length. */
static void test_interrupted_software_interrupt_keeps_length(void **state)
{
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, INT_0X80);
	vmx_vmwrite(VMCS_ENTRY_INSTRUCTION_LENGTH, 0);
	assert_int_equal(dispatch(EXIT_REASON_EXTERNAL_INTERRUPT, 0, GUEST_RIP), EXIT_RESCHEDULE);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), INT_0X80);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INSTRUCTION_LENGTH), INSN_LENGTH);
}

/** Exits caused by an instruction never interrupt a delivery: nothing to re-inject. */
static void test_instruction_exits_do_not_reinject(void **state)
{
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, PF_WITH_ERROR);
	vcpu->regs.rax = 0;
	assert_int_equal(dispatch(EXIT_REASON_CPUID, 0, GUEST_RIP), EXIT_RESUME);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
}

/** An event the handler injects itself is not overwritten. */
static void test_handler_injection_wins(void **state)
{
	/* An NMI exit during delivery of a #PF; the NMI goes to the host. */
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, PF_WITH_ERROR);
	vmx_vmwrite(VMCS_EXIT_INTERRUPTION_INFO, 0x80000202U);
	vmx_vmwrite(VMCS_EXIT_REASON, EXIT_REASON_EXCEPTION_NMI);
	vmx_vmwrite(VMCS_GUEST_RIP, GUEST_RIP);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0x80000306U); /* as if a handler set #UD */
	assert_int_equal(exit_dispatch(vcpu), EXIT_RESUME);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0x80000306U);
}

/** Nothing is injected when no event was being delivered or the partition stopped. */
static void test_no_reinjection_without_event_or_after_stop(void **state)
{
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, 0);
	assert_int_equal(dispatch(EXIT_REASON_WBINVD, 0, GUEST_RIP), EXIT_RESUME);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
	vmx_vmwrite(VMCS_IDT_VECTORING_INFO, PF_WITH_ERROR);
	assert_int_equal(dispatch(EXIT_REASON_TRIPLE_FAULT, 0, GUEST_RIP), EXIT_STOPPED);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
}

/** The ring keeps the last VCPU_RECENT_EXITS exits; the GPA only for EPT exits. */
static void test_recent_exits_ring(void **state)
{
	vmx_vmwrite(VMCS_GUEST_PHYSICAL_ADDRESS, 0xfee00000);
	/* OUT of one byte to port i: an exit whose qualification matters. */
	for (uint64_t i = 0; i < VCPU_RECENT_EXITS + 3; i++) {
		assert_int_equal(dispatch(EXIT_REASON_IO_INSTRUCTION, i << 16, GUEST_RIP + i),
				 EXIT_RESUME);
	}
	assert_int_equal(vcpu->exit_count, VCPU_RECENT_EXITS + 3);
	for (uint64_t i = 3; i < VCPU_RECENT_EXITS + 3; i++) {
		const struct exit_record *r = &vcpu->recent_exits[i % VCPU_RECENT_EXITS];

		assert_int_equal(r->reason, EXIT_REASON_IO_INSTRUCTION);
		assert_int_equal(r->qualification, i << 16);
		assert_int_equal(r->guest_rip, GUEST_RIP + i);
		assert_int_equal(r->gpa, 0);
	}
	assert_int_equal(dispatch(EXIT_REASON_EPT_VIOLATION, 1, GUEST_RIP), EXIT_STOPPED);
	assert_int_equal(vcpu->recent_exits[(VCPU_RECENT_EXITS + 3) % VCPU_RECENT_EXITS].gpa,
			 0xfee00000);
}

/** A triple fault restarts the partition when its configuration says so. */
static void test_triple_fault_restarts_when_configured(void **state)
{
	unsigned int before = fake_restart_count;

	test_vcpu_config.on_crash = CRASH_RESTART;
	assert_int_equal(dispatch(EXIT_REASON_TRIPLE_FAULT, 0, GUEST_RIP), EXIT_RESCHEDULE);
	test_vcpu_config.on_crash = CRASH_STOP;
	assert_int_equal(fake_restart_count, before + 1);
	assert_int_equal(test_vcpu_partition.state, PARTITION_RUNNING);
	assert_non_null(strstr(test_vcpu_partition.stop_reason, "TRIPLE_FAULT"));
	/* Without the setting, a triple fault only stops it. */
	test_vcpu_partition.state = PARTITION_RUNNING;
	assert_int_equal(dispatch(EXIT_REASON_TRIPLE_FAULT, 0, GUEST_RIP), EXIT_STOPPED);
	assert_int_equal(fake_restart_count, before + 1);
	assert_int_equal(test_vcpu_partition.state, PARTITION_STOPPED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_interrupted_exception_is_reinjected, setup),
		cmocka_unit_test_setup(test_interrupted_software_interrupt_keeps_length, setup),
		cmocka_unit_test_setup(test_instruction_exits_do_not_reinject, setup),
		cmocka_unit_test_setup(test_handler_injection_wins, setup),
		cmocka_unit_test_setup(test_no_reinjection_without_event_or_after_stop, setup),
		cmocka_unit_test_setup(test_recent_exits_ring, setup),
		cmocka_unit_test_setup(test_triple_fault_restarts_when_configured, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
