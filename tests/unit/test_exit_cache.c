/*
 * Host tests of the exit fast path's answers (hv/exit_cache.c) and of what
 * the full-path handlers store and forget: the assembly serves exactly these
 * entries, so an entry that outlives what it depends on is a wrong answer in
 * the guest.
 *
 * Exit reasons, MSR and port numbers are written out from the SDM and the
 * 16550 data sheet, not taken from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/exit.h"
#include "hv/exit_cache.h"
#include "hv/hypercall_abi.h"
#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

#define T_CPUID  10
#define T_VMCALL 18
#define T_IO     30
#define T_RDMSR  31
#define T_WRMSR  32
#define T_CR     28

#define GUEST_RIP   0x1000
#define INSN_LENGTH 2
#define T_MTRRCAP   0xfe
#define T_TSC       0x10
#define T_TSC_ADJ   0x3b
/* IN AL, DX from the UART's line status (0x3fd), and its receive buffer (0x3f8). */
#define T_QUAL_IN_LSR 0x03fd0008ULL
#define T_QUAL_IN_RBR 0x03f80008ULL
#define T_QUAL_OUT_SCR 0x03ff0000ULL
#define T_AR_DATA_DPL0 0xc093U

static struct vcpu *vcpu;

/** A fresh vCPU and VMCS in flat 32-bit mode at CPL 0. */
static int setup(void **state)
{
	vcpu = test_vcpu_setup("cache");
	vcpu_msrs_reset(vcpu);
	vuart_init(&test_vcpu_partition.uart, "cache", NULL);
	vmx_vmwrite(VMCS_GUEST_SS_ACCESS_RIGHTS, T_AR_DATA_DPL0);
	return 0;
}

/** Runs one exit through the dispatcher (the full path). */
static void run_exit(uint32_t reason, uint64_t qualification)
{
	vmx_vmwrite(VMCS_EXIT_REASON, reason);
	vmx_vmwrite(VMCS_EXIT_QUALIFICATION, qualification);
	vmx_vmwrite(VMCS_GUEST_RIP, GUEST_RIP);
	vmx_vmwrite(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	assert_int_equal(exit_dispatch(vcpu), EXIT_RESUME);
}

/** The entry the fast path would look at, if it holds this key. */
static const struct exit_cache_entry *cached(uint32_t reason, uint32_t key, uint32_t subkey)
{
	const struct exit_cache_entry *e = &vcpu->fast.cache[exit_cache_slot(reason, key, subkey)];

	return e->reason == reason && e->key == key && e->subkey == subkey ? e : NULL;
}

/** A CPUID answer is stored with all four registers, keyed on leaf and sub-leaf. */
static void test_cpuid_answer_stored(void **state)
{
	const struct exit_cache_entry *e;

	vcpu->regs.rax = TESSERA_CPUID_LEAF_BASE;
	vcpu->regs.rcx = 7;
	run_exit(T_CPUID, 0);
	e = cached(T_CPUID, TESSERA_CPUID_LEAF_BASE, 7);
	assert_non_null(e);
	assert_int_equal(e->outputs, 0xf);
	assert_int_equal(e->eax, vcpu->regs.rax);
	assert_int_equal(e->ebx, TESSERA_CPUID_SIGNATURE_EBX);
	assert_int_equal(e->edx, TESSERA_CPUID_SIGNATURE_EDX);
	assert_null(cached(T_CPUID, TESSERA_CPUID_LEAF_BASE, 0));
}

/** A CR4 write forgets CPUID answers (OSXSAVE), and only those. */
static void test_cr4_write_forgets_cpuid(void **state)
{
	vcpu->regs.rax = 1;
	vcpu->regs.rcx = 0;
	run_exit(T_CPUID, 0);
	vcpu->regs.rcx = T_MTRRCAP;
	run_exit(T_RDMSR, 0);
	assert_non_null(cached(T_CPUID, 1, 0));
	vcpu->regs.rax = 0; /* MOV CR4, EAX (qualification: CR 4, GPR 0) */
	run_exit(T_CR, 4);
	assert_null(cached(T_CPUID, 1, 0));
	assert_non_null(cached(T_RDMSR, T_MTRRCAP, 0));
}

/** Stable MSRs are stored (EAX and EDX); the TSC is not; any WRMSR forgets them. */
static void test_rdmsr_answers_and_wrmsr(void **state)
{
	const struct exit_cache_entry *e;

	vcpu->regs.rcx = T_MTRRCAP;
	run_exit(T_RDMSR, 0);
	e = cached(T_RDMSR, T_MTRRCAP, 0);
	assert_non_null(e);
	assert_int_equal(e->outputs, 0x9);
	assert_int_equal(e->eax, 0x508);
	vcpu->regs.rcx = T_TSC;
	run_exit(T_RDMSR, 0);
	assert_null(cached(T_RDMSR, T_TSC, 0));
	vcpu->regs.rcx = T_TSC_ADJ;
	vcpu->regs.rax = 5;
	vcpu->regs.rdx = 0;
	run_exit(T_WRMSR, 0);
	assert_null(cached(T_RDMSR, T_MTRRCAP, 0));
}

/** VERSION is stored with EAX and EBX; a call with side effects is not. */
static void test_vmcall_constant_calls_only(void **state)
{
	const struct exit_cache_entry *e;

	vcpu->regs.rax = TESSERA_HC_VERSION;
	run_exit(T_VMCALL, 0);
	e = cached(T_VMCALL, TESSERA_HC_VERSION, 0);
	assert_non_null(e);
	assert_int_equal(e->outputs, 0x3);
	assert_int_equal(e->eax, 0);
	assert_int_equal(e->ebx, TESSERA_HC_ABI_VERSION);
	vcpu->regs.rax = 0x7fff; /* unknown: ENOSYS, never remembered */
	run_exit(T_VMCALL, 0);
	assert_null(cached(T_VMCALL, 0x7fff, 0));
}

/** A pure port read is stored (AL only); RBR and OUT forget every port read. */
static void test_port_reads(void **state)
{
	const struct exit_cache_entry *e;

	run_exit(T_IO, T_QUAL_IN_LSR);
	e = cached(T_IO, (uint32_t)T_QUAL_IN_LSR, 0);
	assert_non_null(e);
	assert_int_equal(e->outputs, EXIT_CACHE_OUT_AL);
	assert_int_equal(e->eax, 0x60); /* THRE | TEMT, nothing received */
	run_exit(T_IO, T_QUAL_IN_RBR);
	assert_null(cached(T_IO, (uint32_t)T_QUAL_IN_LSR, 0));
	assert_null(cached(T_IO, (uint32_t)T_QUAL_IN_RBR, 0));
	run_exit(T_IO, T_QUAL_IN_LSR);
	run_exit(T_IO, T_QUAL_OUT_SCR);
	assert_null(cached(T_IO, (uint32_t)T_QUAL_IN_LSR, 0));
}

/** Operator input changes LSR.DR: the partition's port reads are forgotten. */
static void test_devices_changed_forgets_port_reads(void **state)
{
	run_exit(T_IO, T_QUAL_IN_LSR);
	assert_non_null(cached(T_IO, (uint32_t)T_QUAL_IN_LSR, 0));
	partition_devices_changed(&test_vcpu_partition);
	assert_null(cached(T_IO, (uint32_t)T_QUAL_IN_LSR, 0));
}

/** Hits of a forgotten or evicted entry stay in the vCPU's counters. */
static void test_hits_are_counted_after_retirement(void **state)
{
	struct exit_cache_entry *e;
	uint64_t before = vcpu_exit_total(vcpu);

	vcpu->regs.rax = 0x40000001;
	vcpu->regs.rcx = 0;
	run_exit(T_CPUID, 0);
	e = &vcpu->fast.cache[exit_cache_slot(T_CPUID, 0x40000001, 0)];
	e->hits = 41; /* as if the fast path had served 41 more */
	assert_int_equal(vcpu_exits_of_reason(vcpu, T_CPUID), 42);
	assert_int_equal(vcpu_exit_total(vcpu), before + 42);
	vcpu_cpuid_changed(vcpu);
	assert_int_equal(e->reason, 0);
	assert_int_equal(vcpu_exits_of_reason(vcpu, T_CPUID), 42);
	assert_int_equal(vcpu_exit_total(vcpu), before + 42);
	/* Eviction by another key of the same slot retires the hits as well. */
	run_exit(T_CPUID, 0);
	vcpu->fast.cache[exit_cache_slot(T_CPUID, 0x40000001, 0)].hits = 8;
	vcpu->regs.rax = 0x40000001 - 1;
	vcpu->regs.rcx = 1; /* same slot: key + sub-key are equal */
	run_exit(T_CPUID, 0);
	assert_int_equal(vcpu_exits_of_reason(vcpu, T_CPUID), 42 + 1 + 8 + 1);
}

/** The fast path writes a fixed register set per reason: anything else is refused. */
static void test_store_checks_outputs(void **state)
{
	struct exit_answer wrong = { EXIT_CACHE_OUT_EAX, 1, 0, 0, 0 };

	expect_assert_failure(exit_cache_store(vcpu, T_CPUID, 0, 0, &wrong));
	expect_assert_failure(exit_cache_store(vcpu, T_RDMSR, T_MTRRCAP, 1,
					       &(struct exit_answer){ 0x9, 0, 0, 0, 0 }));
	expect_assert_failure(exit_cache_store(vcpu, T_WRMSR, 0, 0, &wrong));
}

/** The slot formula the assembly repeats: key + sub-key + reason, masked. */
static void test_slot_formula(void **state)
{
	assert_int_equal(exit_cache_slot(10, 0x40000000, 0), 10);
	assert_int_equal(exit_cache_slot(31, 0xfe, 0), (0xfe + 31) & 15);
	assert_int_equal(exit_cache_slot(10, 7, 9), (7 + 9 + 10) & 15);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cpuid_answer_stored, setup),
		cmocka_unit_test_setup(test_cr4_write_forgets_cpuid, setup),
		cmocka_unit_test_setup(test_rdmsr_answers_and_wrmsr, setup),
		cmocka_unit_test_setup(test_vmcall_constant_calls_only, setup),
		cmocka_unit_test_setup(test_port_reads, setup),
		cmocka_unit_test_setup(test_devices_changed_forgets_port_reads, setup),
		cmocka_unit_test_setup(test_hits_are_counted_after_retirement, setup),
		cmocka_unit_test_setup(test_store_checks_outputs, setup),
		cmocka_unit_test(test_slot_formula),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
