/*
 * Host tests of arch/x86/vcpu_dump.c: a vCPU's registers for "regs", from its
 * guest_regs and the (fake) VMCS, with CR0/CR4 as the guest sees them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/vcpu_dump.h"
#include "tests/unit/support/fake_vmcs.h"

static struct vcpu vcpu;

/** A vCPU whose every general register holds a distinct value; a clean VMCS. */
static int setup(void **state)
{
	uint64_t *regs = (uint64_t *)&vcpu.regs;

	memset(&vcpu, 0, sizeof(vcpu));
	for (unsigned int i = 0; i < 15; i++) {
		regs[i] = 0x1100 + i; /* rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 .. r15 */
	}
	fake_vmcs_reset();
	return 0;
}

/** General registers come from guest_regs, RSP/RIP/RFLAGS/CR3/EFER and selectors from the VMCS. */
static void test_dump_registers(void **state)
{
	struct vcpu_dump dump;

	vmcs_writel(VMCS_GUEST_RSP, 0x7ff0);
	vmcs_writel(VMCS_GUEST_RIP, 0x100123);
	vmcs_writel(VMCS_GUEST_RFLAGS, 0x246);
	vmcs_writel(VMCS_GUEST_CR3, 0x5000);
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0xd01);
	vmcs_write16(VMCS_GUEST_CS_SELECTOR, 0x08);
	vmcs_write16(VMCS_GUEST_DS_SELECTOR, 0x10);
	vmcs_write16(VMCS_GUEST_ES_SELECTOR, 0x11);
	vmcs_write16(VMCS_GUEST_FS_SELECTOR, 0x12);
	vmcs_write16(VMCS_GUEST_GS_SELECTOR, 0x13);
	vmcs_write16(VMCS_GUEST_SS_SELECTOR, 0x18);
	vmcs_write16(VMCS_GUEST_TR_SELECTOR, 0x28);
	vmcs_write16(VMCS_GUEST_LDTR_SELECTOR, 0x30);
	vcpu_dump_current_vmcs(&vcpu, 0xcafe, &dump);
	assert_int_equal(dump.rax, 0x1100);
	assert_int_equal(dump.rbx, 0x1101);
	assert_int_equal(dump.rcx, 0x1102);
	assert_int_equal(dump.rdx, 0x1103);
	assert_int_equal(dump.rsi, 0x1104);
	assert_int_equal(dump.rdi, 0x1105);
	assert_int_equal(dump.rbp, 0x1106);
	assert_int_equal(dump.r8, 0x1107);
	assert_int_equal(dump.r15, 0x110e);
	assert_int_equal(dump.rsp, 0x7ff0);
	assert_int_equal(dump.rip, 0x100123);
	assert_int_equal(dump.rflags, 0x246);
	assert_int_equal(dump.cr2, 0xcafe);
	assert_int_equal(dump.cr3, 0x5000);
	assert_int_equal(dump.efer, 0xd01);
	assert_int_equal(dump.cs, 0x08);
	assert_int_equal(dump.ds, 0x10);
	assert_int_equal(dump.es, 0x11);
	assert_int_equal(dump.fs, 0x12);
	assert_int_equal(dump.gs, 0x13);
	assert_int_equal(dump.ss, 0x18);
	assert_int_equal(dump.tr, 0x28);
	assert_int_equal(dump.ldtr, 0x30);
}

/**
 * CR0/CR4: bits the guest/host mask gives the host read from the shadow,
 * the others from the real register (SDM 25.3). CR0: NE (bit 5) forced on
 * by VMX and masked, the guest wrote it 0; PG|PE from the guest. CR4: VMXE
 * (bit 13) forced on and masked; PAE (bit 5) the guest's.
 */
static void test_dump_control_registers_as_guest_sees_them(void **state)
{
	struct vcpu_dump dump;

	vmcs_writel(VMCS_GUEST_CR0, 0x80000031);
	vmcs_writel(VMCS_CR0_GUEST_HOST_MASK, 0x20);
	vmcs_writel(VMCS_CR0_READ_SHADOW, 0x80000011);
	vmcs_writel(VMCS_GUEST_CR4, 0x2020);
	vmcs_writel(VMCS_CR4_GUEST_HOST_MASK, 0x2000);
	vmcs_writel(VMCS_CR4_READ_SHADOW, 0x0020);
	vcpu_dump_current_vmcs(&vcpu, 0, &dump);
	assert_int_equal(dump.cr0, 0x80000011);
	assert_int_equal(dump.cr4, 0x20);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, NULL)

/** Runs the vCPU dump tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_dump_registers),
		TEST(test_dump_control_registers_as_guest_sees_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
