/*
 * Host tests of control-register exits (hv/cr.c): MOV to CR0/CR3/CR4/CR8,
 * MOV from CR3, CLTS, LMSW; the #GP(0) cases of the SDM; IA-32e mode
 * activation and deactivation through CR0.PG with EFER.LME.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/exit_reasons.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx_defs.h"
#include "hv/exit.h"
#include "hv/vcpu_regs.h"
#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

#define GUEST_RIP 0x2000
#define INSN_LENGTH 3
#define GP0_INFO 0x80000b0dU
#define QUAL(cr, type, gpr) ((uint64_t)(cr) | ((uint64_t)(type) << 4) | ((uint64_t)(gpr) << 8))
#define MOV_TO 0
#define MOV_FROM 1
#define CLTS 2
#define LMSW 3
#define RBX 3
#define RSP 4

static struct vcpu *vcpu;

/**
 * A vCPU in 32-bit protected mode without paging, as Tessera starts one: the
 * host owns the bits VMX fixes (NE, VMXE) and OSXSAVE; the guest owns the rest.
 */
static int setup(void **state)
{
	vcpu = test_vcpu_setup("cr");
	vmx_vmwrite(VMCS_CR0_GUEST_HOST_MASK, CR0_NE);
	vmx_vmwrite(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE | CR4_OSXSAVE);
	vmx_vmwrite(VMCS_CR0_READ_SHADOW, CR0_PE | CR0_ET);
	vmx_vmwrite(VMCS_GUEST_CR0, CR0_PE | CR0_ET | CR0_NE);
	vmx_vmwrite(VMCS_CR4_READ_SHADOW, 0);
	vmx_vmwrite(VMCS_GUEST_CR4, CR4_VMXE);
	vmx_vmwrite(VMCS_GUEST_CS_ACCESS_RIGHTS, 0xc09b);
	return 0;
}

/** Runs one CR-access exit; true when it completed, false when it raised #GP(0). */
static bool run_cr_exit(uint64_t qualification)
{
	vmx_vmwrite(VMCS_EXIT_REASON, EXIT_REASON_CR_ACCESS);
	vmx_vmwrite(VMCS_EXIT_QUALIFICATION, qualification);
	vmx_vmwrite(VMCS_GUEST_RIP, GUEST_RIP);
	vmx_vmwrite(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	assert_int_equal(exit_dispatch(vcpu), EXIT_RESUME);
	if (vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO) == GP0_INFO) {
		assert_int_equal(vmx_vmread(VMCS_GUEST_RIP), GUEST_RIP);
		return false;
	}
	assert_int_equal(vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO), 0);
	assert_int_equal(vmx_vmread(VMCS_GUEST_RIP), GUEST_RIP + INSN_LENGTH);
	return true;
}

/** MOV CRn, RBX with the given value. */
static bool mov_to_cr(unsigned int cr, uint64_t value)
{
	vcpu_write_gpr(vcpu, RBX, value);
	return run_cr_exit(QUAL(cr, MOV_TO, RBX));
}

/** MOV to CR0: the guest sees its value, the CPU runs with NE forced. */
static void test_cr0_write_shadows_and_fixes(void **state)
{
	assert_true(mov_to_cr(0, CR0_PE | CR0_ET | CR0_MP));
	assert_int_equal(vmx_vmread(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_ET | CR0_MP);
	assert_int_equal(vmx_vmread(VMCS_GUEST_CR0), CR0_PE | CR0_ET | CR0_MP | CR0_NE);
}

/** MOV to CR0: reserved high bits, PG without PE, NW without CD are #GP. */
static void test_cr0_invalid_values_raise_gp(void **state)
{
	assert_false(mov_to_cr(0, (1ULL << 32) | CR0_PE));
	assert_false(mov_to_cr(0, CR0_PG));
	assert_false(mov_to_cr(0, CR0_PE | CR0_NW));
	assert_int_equal(vmx_vmread(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_ET);
}

/** Paging on with EFER.LME and CR4.PAE activates IA-32e mode. */
static void test_paging_with_lme_enters_long_mode(void **state)
{
	vmx_vmwrite(VMCS_GUEST_IA32_EFER, EFER_LME);
	assert_true(mov_to_cr(4, CR4_PAE));
	assert_true(mov_to_cr(0, CR0_PE | CR0_PG));
	assert_int_equal(vmx_vmread(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_true(vmx_vmread(VMCS_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE_GUEST);
	/* In long mode PAE cannot be cleared. */
	assert_false(mov_to_cr(4, 0));
	/* Paging off from compatibility mode leaves long mode. */
	assert_true(mov_to_cr(0, CR0_PE));
	assert_int_equal(vmx_vmread(VMCS_GUEST_IA32_EFER), EFER_LME);
	assert_false(vmx_vmread(VMCS_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE_GUEST);
}

/**
 * As Linux enters long mode: PAE set in CR4 without an exit (the guest owns
 * it, so only CR4 has it, not the read shadow), then CR0.PG with NE, which exits.
 */
static void test_paging_with_pae_set_without_exit(void **state)
{
	vmx_vmwrite(VMCS_GUEST_IA32_EFER, EFER_LME);
	vmx_vmwrite(VMCS_GUEST_CR4, CR4_VMXE | CR4_PAE);
	assert_true(mov_to_cr(0, CR0_PE | CR0_NE | CR0_PG));
	assert_int_equal(vmx_vmread(VMCS_GUEST_IA32_EFER), EFER_LME | EFER_LMA);
	assert_true(vmx_vmread(VMCS_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE_GUEST);
}

/** LMSW keeps the CR0 bits it does not load, PG among them, though only the CPU holds PG. */
static void test_lmsw_keeps_paging(void **state)
{
	vmx_vmwrite(VMCS_GUEST_CR0, CR0_PE | CR0_ET | CR0_NE | CR0_PG);
	assert_true(run_cr_exit(QUAL(0, LMSW, 0) | (0x3ULL << 16)));
	assert_int_equal(vmx_vmread(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_MP | CR0_ET | CR0_PG);
	assert_true(vmx_vmread(VMCS_GUEST_CR0) & CR0_PG);
}

/** Paging on with EFER.LME but without CR4.PAE is #GP; nothing changes. */
static void test_long_mode_needs_pae(void **state)
{
	vmx_vmwrite(VMCS_GUEST_IA32_EFER, EFER_LME);
	assert_false(mov_to_cr(0, CR0_PE | CR0_PG));
	assert_int_equal(vmx_vmread(VMCS_GUEST_IA32_EFER), EFER_LME);
	assert_false(vmx_vmread(VMCS_ENTRY_CONTROLS) & VM_ENTRY_IA32E_MODE_GUEST);
}

/** Paging off from 64-bit code (CS.L) is #GP. */
static void test_paging_off_in_64bit_code_raises_gp(void **state)
{
	vmx_vmwrite(VMCS_GUEST_IA32_EFER, EFER_LME);
	assert_true(mov_to_cr(4, CR4_PAE));
	assert_true(mov_to_cr(0, CR0_PE | CR0_PG));
	vmx_vmwrite(VMCS_GUEST_CS_ACCESS_RIGHTS, 0xa09b);
	assert_false(mov_to_cr(0, CR0_PE));
	assert_true(vmx_vmread(VMCS_GUEST_IA32_EFER) & EFER_LMA);
}

/** CR4: VMXE, SMXE and bits the CPU lacks are #GP; others shadow with VMXE forced. */
static void test_cr4_allowed_bits(void **state)
{
	assert_true(mov_to_cr(4, CR4_PAE | CR4_PGE));
	assert_int_equal(vmx_vmread(VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_PGE);
	assert_int_equal(vmx_vmread(VMCS_GUEST_CR4), CR4_PAE | CR4_PGE | CR4_VMXE);
	assert_false(mov_to_cr(4, CR4_VMXE));
	assert_false(mov_to_cr(4, CR4_SMXE));
	assert_false(mov_to_cr(4, 1ULL << 40));
	assert_int_equal(vmx_vmread(VMCS_CR4_READ_SHADOW), CR4_PAE | CR4_PGE);
}

/** MOV to and from CR3 (when a CPU forces those exits) copy the value; RSP works. */
static void test_cr3_moves_copy(void **state)
{
	assert_true(mov_to_cr(3, 0x123000));
	assert_int_equal(vmx_vmread(VMCS_GUEST_CR3), 0x123000);
	assert_true(run_cr_exit(QUAL(3, MOV_FROM, RSP)));
	assert_int_equal(vmx_vmread(VMCS_GUEST_RSP), 0x123000);
}

/** CLTS clears TS; LMSW sets the low bits but never clears PE. */
static void test_clts_and_lmsw(void **state)
{
	assert_true(mov_to_cr(0, CR0_PE | CR0_ET | CR0_TS));
	assert_true(run_cr_exit(QUAL(0, CLTS, 0)));
	assert_int_equal(vmx_vmread(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_ET);
	assert_true(run_cr_exit(QUAL(0, LMSW, 0) | (0xaULL << 16)));
	assert_int_equal(vmx_vmread(VMCS_CR0_READ_SHADOW), CR0_PE | CR0_ET | CR0_MP | CR0_TS);
}

/** CR8 writes of a valid priority complete; reserved bits are #GP; others are #GP. */
static void test_cr8_and_unknown_crs(void **state)
{
	assert_true(mov_to_cr(8, 0xf));
	assert_false(mov_to_cr(8, 0x10));
	assert_false(mov_to_cr(2, 0));
	assert_false(mov_to_cr(5, 0));
}

/** Runs one XSETBV exit; true when it completed, false on #GP(0). */
static bool run_xsetbv(uint32_t ecx, uint64_t value)
{
	vcpu->regs.rcx = ecx;
	vcpu->regs.rax = (uint32_t)value;
	vcpu->regs.rdx = value >> 32;
	vmx_vmwrite(VMCS_EXIT_REASON, EXIT_REASON_XSETBV);
	vmx_vmwrite(VMCS_GUEST_RIP, GUEST_RIP);
	vmx_vmwrite(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmx_vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	assert_int_equal(exit_dispatch(vcpu), EXIT_RESUME);
	return vmx_vmread(VMCS_ENTRY_INTERRUPTION_INFO) != GP0_INFO;
}

/** XSETBV: a valid XCR0 becomes the vCPU's and goes live; invalid ones are #GP. */
static void test_xsetbv(void **state)
{
	vcpu->xcr0 = 1;
	fake_xcr0 = 1;
	assert_true(run_xsetbv(0, 0x7));
	assert_int_equal(vcpu->xcr0, 0x7);
	assert_int_equal(fake_xcr0, 0x7);
	assert_int_equal(vmx_vmread(VMCS_GUEST_RIP), GUEST_RIP + INSN_LENGTH);
	assert_false(run_xsetbv(0, 0x0));   /* x87 must stay on */
	assert_false(run_xsetbv(0, 0x5));   /* AVX without SSE */
	assert_false(run_xsetbv(0, 0x8));   /* a component the CPU lacks */
	assert_false(run_xsetbv(1, 0x3));   /* only XCR0 exists */
	vmx_vmwrite(VMCS_GUEST_SS_ACCESS_RIGHTS, 0x60 | 0xc093);
	assert_false(run_xsetbv(0, 0x3));   /* CPL 3 */
	assert_int_equal(vcpu->xcr0, 0x7);
	assert_int_equal(fake_xcr0, 0x7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_cr0_write_shadows_and_fixes, setup),
		cmocka_unit_test_setup(test_cr0_invalid_values_raise_gp, setup),
		cmocka_unit_test_setup(test_paging_with_lme_enters_long_mode, setup),
		cmocka_unit_test_setup(test_long_mode_needs_pae, setup),
		cmocka_unit_test_setup(test_paging_off_in_64bit_code_raises_gp, setup),
		cmocka_unit_test_setup(test_cr4_allowed_bits, setup),
		cmocka_unit_test_setup(test_cr3_moves_copy, setup),
		cmocka_unit_test_setup(test_clts_and_lmsw, setup),
		cmocka_unit_test_setup(test_paging_with_pae_set_without_exit, setup),
		cmocka_unit_test_setup(test_lmsw_keeps_paging, setup),
		cmocka_unit_test_setup(test_cr8_and_unknown_crs, setup),
		cmocka_unit_test_setup(test_xsetbv, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
