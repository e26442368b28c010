/*
 * Host tests of RDMSR/WRMSR emulation (hv/msr.c): the virtual MTRRs, the
 * guest PAT through the VMCS, and #GP(0) for every other MSR and for values
 * a real CPU would refuse. Expected encodings are written out from the SDM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/exit_reasons.h"
#include "arch/x86/msr.h"
#include "arch/x86/msr_bitmap.h"
#include "hv/exit.h"
#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

#define GUEST_RIP 0x1000
#define INSN_LENGTH 2
#define GP0_INFO 0x80000b0dU /* valid, deliver error code, hardware exception, vector 13 */

static struct vcpu *vcpu;

/** A fresh vCPU and VMCS. */
static int setup(void **state)
{
	vcpu = test_vcpu_setup("msr");
	vcpu_msrs_reset(vcpu);
	return 0;
}

/** Runs one RDMSR or WRMSR exit with the registers given. */
static void run_msr_exit(uint32_t reason, uint32_t msr, uint64_t value)
{
	vcpu->regs.rcx = msr;
	vcpu->regs.rax = (uint32_t)value | 0xdead000000000000ULL; /* upper half ignored */
	vcpu->regs.rdx = value >> 32;
	vmx_vmwrite(VMCS_EXIT_REASON, reason);
	vmx_vmwrite(VMCS_GUEST_RIP, GUEST_RIP);
	vmx_vmwrite(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	assert_int_equal(exit_dispatch(vcpu), EXIT_RESUME);
}

/** Reads an MSR as the guest would; fails the test on #GP. */
static uint64_t guest_rdmsr(uint32_t msr)
{
	run_msr_exit(EXIT_REASON_RDMSR, msr, 0);
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
	assert_int_equal(vmx_vmread(VMCS_GUEST_RIP), GUEST_RIP + INSN_LENGTH);
	return (vcpu->regs.rdx << 32) | vcpu->regs.rax;
}

/** True when the last exit injected #GP(0) and left RIP on the instruction. */
static bool raised_gp0(void)
{
	return vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO) == GP0_INFO &&
	       vmx_vmread(VMCS_ENTRY_EXCEPTION_ERROR) == 0 &&
	       vmx_vmread(VMCS_GUEST_RIP) == GUEST_RIP;
}

/** Writes an MSR as the guest would; returns false when it raised #GP(0). */
static bool guest_wrmsr(uint32_t msr, uint64_t value)
{
	run_msr_exit(EXIT_REASON_WRMSR, msr, value);
	if (raised_gp0()) {
		return false;
	}
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
	assert_int_equal(vmx_vmread(VMCS_GUEST_RIP), GUEST_RIP + INSN_LENGTH);
	return true;
}

/** MTRRCAP: 8 variable ranges, fixed ranges, WC; read-only. */
static void test_mtrrcap_reads_and_refuses_writes(void **state)
{
	assert_int_equal(guest_rdmsr(MSR_IA32_MTRRCAP), 0x508);
	assert_false(guest_wrmsr(MSR_IA32_MTRRCAP, 0x508));
}

/** DEF_TYPE starts enabled write-back and keeps valid writes. */
static void test_def_type_power_on_and_write(void **state)
{
	assert_int_equal(guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE), 0x806);
	assert_true(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0xc00));
	assert_int_equal(guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE), 0xc00);
	assert_true(vcpu->guest_mtrr.fixed_enabled);
	assert_int_equal(vcpu->guest_mtrr.default_type, 0);
}

/** DEF_TYPE refuses reserved types and reserved bits. */
static void test_def_type_refuses_invalid_values(void **state)
{
	assert_false(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0x802));
	assert_false(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0x807));
	assert_false(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0x1806));
	assert_false(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0x906));
	assert_int_equal(guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE), 0x806);
}

/** Every fixed-range MTRR keeps a valid value; an invalid byte is #GP. */
static void test_fixed_ranges_round_trip(void **state)
{
	static const uint32_t msrs[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a,
					 0x26b, 0x26c, 0x26d, 0x26e, 0x26f };

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		uint64_t value = 0x0605040100060504ULL + i;

		value = (value & ~0xffULL) | (i % 2 ? 0x06 : 0x05);
		assert_true(guest_wrmsr(msrs[i], value));
		assert_int_equal(guest_rdmsr(msrs[i]), value);
		assert_false(guest_wrmsr(msrs[i], 0x0606060606060602ULL));
		assert_int_equal(guest_rdmsr(msrs[i]), value);
	}
	assert_false(guest_wrmsr(0x251, 0));
}

/** Variable ranges 0-7 keep valid values; reserved bits and pair 8 are #GP. */
static void test_variable_ranges(void **state)
{
	assert_true(guest_wrmsr(0x200, 0x80000000ULL | 0));
	assert_true(guest_wrmsr(0x201, 0x3fffc0000800ULL));
	assert_int_equal(guest_rdmsr(0x200), 0x80000000ULL);
	assert_int_equal(guest_rdmsr(0x201), 0x3fffc0000800ULL);
	assert_true(guest_wrmsr(0x20e, 0x100000006ULL));
	assert_int_equal(guest_rdmsr(0x20e), 0x100000006ULL);
	assert_false(guest_wrmsr(0x200, 0x80000003ULL));     /* reserved type */
	assert_false(guest_wrmsr(0x200, 0x80000106ULL));     /* bit 8 reserved */
	assert_false(guest_wrmsr(0x201, 0x400000000800ULL)); /* beyond 46 bits */
	assert_false(guest_wrmsr(0x201, 0x3fffc0000400ULL)); /* bit 10 reserved */
	assert_false(guest_wrmsr(0x210, 0));                 /* pair 8 */
	assert_int_equal(guest_rdmsr(0x200), 0x80000000ULL);
}

/** Platform MSRs: APIC base, feature control locked with VMX off, TSC with offset. */
static void test_platform_msrs(void **state)
{
	assert_int_equal(guest_rdmsr(MSR_IA32_APIC_BASE), 0xfee00900ULL);
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfee00100ULL));
	assert_false(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfec00900ULL));
	assert_false(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfee00500ULL)); /* disabled -> x2APIC */
	assert_int_equal(guest_rdmsr(MSR_IA32_APIC_BASE), 0xfee00100ULL);
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfee00900ULL));
	assert_true(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfee00d00ULL)); /* xAPIC -> x2APIC */
	assert_int_equal(guest_rdmsr(0x803), 0x00050014ULL);         /* x2APIC version */
	assert_false(guest_wrmsr(MSR_IA32_APIC_BASE, 0xfee00900ULL)); /* x2APIC -> xAPIC */
	assert_int_equal(guest_rdmsr(MSR_IA32_FEATURE_CONTROL), 1);
	assert_false(guest_wrmsr(MSR_IA32_FEATURE_CONTROL, 5));
	assert_int_equal(guest_rdmsr(MSR_IA32_MISC_ENABLE) & 1, 1);
	assert_true(guest_wrmsr(MSR_IA32_BIOS_SIGN_ID, 0));
	assert_int_equal(guest_rdmsr(MSR_IA32_BIOS_SIGN_ID), 0);
	assert_true(guest_wrmsr(MSR_IA32_TSC_ADJUST, 1000));
	assert_int_equal((int64_t)vmx_vmread(VMCS_TSC_OFFSET), 1000);
	assert_int_equal(guest_rdmsr(MSR_IA32_TSC_ADJUST), 1000);
	assert_true(guest_rdmsr(MSR_IA32_TSC) >= 1000);
}

/** Any other MSR raises #GP(0) on read and write, and changes no register. */
static void test_unknown_msrs_raise_gp(void **state)
{
	static const uint32_t msrs[] = { 0x0, 0x17a, 0x1d9, 0xc0000090, 0xc0010000, 0x4b564d00 };

	for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		run_msr_exit(EXIT_REASON_RDMSR, msrs[i], 0);
		assert_true(raised_gp0());
		assert_int_equal(vcpu->regs.rdx, 0);
		assert_false(guest_wrmsr(msrs[i], 1));
	}
}

/** The MSR bitmap passes exactly the VMCS-switched and lazily switched MSRs. */
static void test_msr_bitmap_passes_only_switched_msrs(void **state)
{
	static uint8_t bitmap[4096];
	static const uint32_t passed[] = { 0xc0000100, 0xc0000101, 0x174, 0x175, 0x176, 0x277,
					   0xc0000080, 0xc0000102, 0xc0000081, 0xc0000082,
					   0xc0000083, 0xc0000084 };
	static const uint32_t trapped[] = { 0x0, 0x10, 0x1b, 0x3a, 0xfe, 0x200, 0x2ff, 0x1fff,
					    0xc0000000, 0xc0001fff, 0x2000, 0xbfffffff,
					    0xc0002000, 0xffffffff };

	msr_bitmap_init(bitmap, false);
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		assert_false(msr_bitmap_intercepts(bitmap, passed[i], false));
		assert_false(msr_bitmap_intercepts(bitmap, passed[i], true));
	}
	for (size_t i = 0; i < sizeof(trapped) / sizeof(trapped[0]); i++) {
		assert_true(msr_bitmap_intercepts(bitmap, trapped[i], false));
		assert_true(msr_bitmap_intercepts(bitmap, trapped[i], true));
	}
	/* TSC_AUX passes only when RDTSCP is enabled for guests. */
	assert_true(msr_bitmap_intercepts(bitmap, 0xc0000103, false));
	msr_bitmap_init(bitmap, true);
	assert_false(msr_bitmap_intercepts(bitmap, 0xc0000103, true));
	/* Raw layout (SDM 25.6.9): LSTAR's write bit is bit 2 of byte 3072 + 0x10. */
	assert_int_equal(bitmap[3072 + 0x10] & 0x04, 0);
	assert_int_equal(bitmap[3072 + 0x10] & 0x01, 0);
	assert_int_equal(bitmap[0] & 0x01, 1);
}

/** A vCPU reset restores the power-on MTRRs. */
static void test_reset_restores_power_on_state(void **state)
{
	assert_true(guest_wrmsr(MSR_IA32_MTRR_DEF_TYPE, 0));
	assert_true(guest_wrmsr(0x250, 0x0606060606060606ULL));
	vcpu_msrs_reset(vcpu);
	assert_int_equal(guest_rdmsr(MSR_IA32_MTRR_DEF_TYPE), 0x806);
	assert_int_equal(guest_rdmsr(0x250), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mtrrcap_reads_and_refuses_writes, setup),
		cmocka_unit_test_setup(test_def_type_power_on_and_write, setup),
		cmocka_unit_test_setup(test_def_type_refuses_invalid_values, setup),
		cmocka_unit_test_setup(test_fixed_ranges_round_trip, setup),
		cmocka_unit_test_setup(test_variable_ranges, setup),
		cmocka_unit_test_setup(test_platform_msrs, setup),
		cmocka_unit_test_setup(test_unknown_msrs_raise_gp, setup),
		cmocka_unit_test_setup(test_reset_restores_power_on_state, setup),
		cmocka_unit_test(test_msr_bitmap_passes_only_switched_msrs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
