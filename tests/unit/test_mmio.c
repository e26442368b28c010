/*
 * Host tests of MMIO emulation: the glue of hv/mmio.c (fetch through the
 * guest's paging, decode, emulate, write back) and the test device of
 * hv/vdev_test.c, driven the way the run loop drives them: an EPT_VIOLATION
 * exit on a guest-physical address inside the device's range, through
 * exit_dispatch(), with the fake VMCS of tests/unit/support/fake_vmcs.c and
 * the instruction's bytes in the partition's RAM at the guest RIP.
 *
 * The effect is judged from the outside: the device's bytes and access
 * counter, the vCPU's registers, RFLAGS and RIP, the event the next entry
 * would inject, CR2, and the partition's state and stop line. Expected
 * values (instruction encodings, flags, #PF error codes, page-table
 * entries, access-rights bytes) are written out here from the SDM, not taken
 * from the code under test.
 *
 * The exit's VM-exit instruction-length field is set to a wrong value on
 * purpose: it is undefined for EPT violations (SDM 28.2.5), so RIP must
 * advance by the length the decoder found.
 *
 * The tests named test_mmio_bug_* describe what the SDM asks where the code
 * does otherwise at the time of writing; each says what it expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/alloc.h"
#include "hv/console.h"
#include "hv/exit.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/vcpu_regs.h"
#include "hv/vdev_test.h"
#include "tests/unit/support/fake_phys.h"
#include "tests/unit/support/console_capture.h"
#include "tests/unit/support/test_vcpu.h"
#include "tests/unit/support/fake_vmcs.h"

/* The partition every test runs in: RAM at 0-640K and 1M-3M. */
#define PART_NAME   "mmio-a"
#define PART_ID     3
#define PART_MEMORY MiB(3)
#define ARENA_SIZE  MiB(8)

/* Where the instruction under test is, unless a test says otherwise. */
#define TEST_RIP 0x7c00ULL

/* The device, and a bogus VM-exit instruction length (see the top). */
#define DEV              0xf0000000ULL
#define BOGUS_EXIT_INSN_LENGTH 9

/* EPT-violation exit qualifications (SDM Table 28-7): access, readable..., linear valid. */
#define Q_READ  0x181ULL
#define Q_WRITE 0x182ULL
#define Q_FETCH 0x184ULL

/* VM-entry interruption information (SDM 24.8.3), written out by hand. */
#define T_INJECT_UD    0x80000306U /* valid, hardware exception, vector 6 */
#define T_INJECT_GP_EC 0x80000b0dU /* valid, deliver error code, hw exception, 13 */
#define T_INJECT_PF_EC 0x80000b0eU /* valid, deliver error code, hw exception, 14 */

/* Segment access rights (SDM 24.4.1), control-register and EFER bits. */
#define T_AR_CODE32_DPL0 0xc09bU
#define T_AR_CODE32_DPL3 0xc0fbU
#define T_AR_CODE64_DPL0 0xa09bU
#define T_AR_DATA_DPL0   0xc093U
#define T_AR_DATA_DPL3   0xc0f3U
#define T_CR0_PE   0x1ULL
#define T_CR0_PG   0x80000000ULL
#define T_CR4_PAE  (1ULL << 5)
#define T_CR4_SMAP (1ULL << 21)
#define T_EFER_LME_LMA 0x500ULL

/* RFLAGS bits (SDM Vol. 1, 3.4.3). */
#define T_RF_RESERVED 0x2ULL
#define T_RF_CF 0x1ULL
#define T_RF_PF 0x4ULL
#define T_RF_AF 0x10ULL
#define T_RF_ZF 0x40ULL
#define T_RF_SF 0x80ULL
#define T_RF_IF 0x200ULL
#define T_RF_OF 0x800ULL

/* Page-table entry bits (SDM 4.3, 4.5) and #PF error-code bits (SDM 4.7). */
#define T_PTE_P  0x1ULL
#define T_PTE_RW 0x2ULL
#define T_PTE_US 0x4ULL
#define T_PTE_PS 0x80ULL
#define T_PF_P 0x1U
#define T_PF_W 0x2U
#define T_PF_U 0x4U

/* Guest RAM the tests use for page tables and data (all inside the 3 MiB). */
#define PT_POOL   0x10000ULL  /* 32-bit paging: tables from here up */
#define PML4_GPA  0x30000ULL
#define PDPT_GPA  0x31000ULL
#define DATA_GPA  0x200000ULL

/* What every register holds before an instruction: register i is SENTINEL * (i + 1). */
#define SENTINEL 0x0101010101010101ULL

static struct partition_config test_config;
static struct partition test_partition;
static uint64_t next_page_table;

/** Gives the partition its RAM (two regions), zeroed. */
static void give_partition_ram(void)
{
	assert_int_equal(test_give_partition_ram(&test_partition, PART_ID, PART_MEMORY), 2);
}

/** A running one-vCPU partition with RAM, a UART and the test device. */
static void reset_partition(void)
{
	struct partition *p = &test_partition;

	memset(&test_config, 0, sizeof(test_config));
	snprintf(test_config.name, sizeof(test_config.name), "%s", PART_NAME);
	test_config.memory_bytes = PART_MEMORY;
	test_config.vcpus = 1;
	test_config.test_device = true;
	memset(p, 0, sizeof(*p));
	p->id = PART_ID;
	p->config = &test_config;
	p->state = PARTITION_RUNNING;
	p->vcpu_count = 1;
	p->vcpus[0].partition = p;
	p->vcpus[0].state = VCPU_RUNNABLE;
	vuart_init(&p->uart, test_config.name, NULL);
	give_partition_ram();
	assert_true(mmio_map_add(&p->mmio, gpa_init(VDEV_TEST_BASE), VDEV_TEST_SIZE,
				 &vdev_test_ops, &p->test_device));
}

/** Guest state of a flat 32-bit protected-mode guest at CPL 0, paging off. */
static void guest_mode_32bit(void)
{
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	vmcs_writel(VMCS_GUEST_CR0, T_CR0_PE);
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE32_DPL0);
	vmcs_write32(VMCS_GUEST_SS_ACCESS_RIGHTS, T_AR_DATA_DPL0);
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RF_RESERVED);
}

/** Every general-purpose register (RSP in the VMCS) holds its sentinel. */
static void set_sentinels(struct vcpu *vcpu)
{
	for (unsigned int i = 0; i < 16; i++) {
		vcpu_write_gpr(vcpu, i, SENTINEL * (i + 1));
	}
}

/** Fresh fake VMCS, arena, console, partition with the device; *state is vCPU 0. */
static int setup(void **state)
{
	fake_vmcs_reset();
	fake_phys_init_with_allocator(ARENA_SIZE);
	console_capture_start();
	log_set_level(LOG_INFO);
	reset_partition();
	guest_mode_32bit();
	next_page_table = PT_POOL;
	set_sentinels(&test_partition.vcpus[0]);
	*state = &test_partition.vcpus[0];
	return 0;
}

/** Removes the sink and the arena. */
static int teardown(void **state)
{
	console_capture_stop();
	fake_phys_fini();
	return 0;
}

/** Guest RAM at gpa as a host pointer (size bytes must be RAM). */
static uint8_t *ram_at(uint64_t gpa, uint64_t size)
{
	uint8_t *p = partition_gpa_to_ptr(&test_partition, gpa_init(gpa), size);

	assert_non_null(p);
	return p;
}

/** Copies bytes into guest RAM at gpa. */
static void put_bytes(uint64_t gpa, const void *bytes, size_t length)
{
	memcpy(ram_at(gpa, length), bytes, length);
}

/** The device's scratch bytes from offset. */
static uint8_t *scratch(uint64_t offset)
{
	return test_partition.test_device.scratch + offset;
}

/** The device's access counter. */
static uint64_t device_accesses(void)
{
	return test_partition.test_device.accesses;
}

/** Makes an EPT violation at gpa with the guest at rip, and dispatches it. */
static enum exit_result ept_violation_at(struct vcpu *vcpu, uint64_t rip, uint64_t gpa,
					 uint64_t qualification)
{
	vmcs_write32(VMCS_EXIT_REASON, EXIT_REASON_EPT_VIOLATION);
	vmcs_writel(VMCS_EXIT_QUALIFICATION, qualification);
	vmcs_write64(VMCS_GUEST_PHYSICAL_ADDRESS, gpa);
	vmcs_writel(VMCS_GUEST_RIP, rip);
	vmcs_write32(VMCS_EXIT_INSTRUCTION_LENGTH, BOGUS_EXIT_INSN_LENGTH);
	return exit_dispatch(vcpu);
}

/** Puts the instruction at TEST_RIP (paging off: RIP = GPA) and exits on gpa. */
static enum exit_result run_insn(struct vcpu *vcpu, const void *insn, size_t length, uint64_t gpa,
				 uint64_t qualification)
{
	put_bytes(TEST_RIP, insn, length);
	return ept_violation_at(vcpu, TEST_RIP, gpa, qualification);
}

/** The guest RIP in the fake VMCS. */
static uint64_t guest_rip(void)
{
	return vmcs_readl(VMCS_GUEST_RIP);
}

/** The event the next VM entry would inject (0: none). */
static uint32_t injected_event(void)
{
	return vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO);
}

/** Asserts the instruction was emulated: resumed at rip, nothing injected, running. */
static void assert_emulated(enum exit_result result, uint64_t rip)
{
	assert_int_equal(result, EXIT_RESUME);
	assert_int_equal(injected_event(), 0);
	assert_int_equal(guest_rip(), rip);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** Asserts an exception was injected with RIP left on the instruction. */
static void assert_injected(enum exit_result result, uint32_t event, uint64_t rip)
{
	assert_int_equal(result, EXIT_RESUME);
	assert_int_equal(injected_event(), event);
	assert_int_equal(guest_rip(), rip);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** Asserts #PF(error_code) with CR2 = linear was injected at rip. */
static void assert_page_fault(enum exit_result result, uint32_t error_code, uint64_t linear,
			      uint64_t rip)
{
	assert_injected(result, T_INJECT_PF_EC, rip);
	assert_int_equal(vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR), error_code);
	assert_int_equal(test_partition.vcpus[0].regs.cr2, linear);
}

/** Asserts the partition stopped with exactly this reason, shown on the console. */
static void assert_stopped_with(enum exit_result result, const char *reason)
{
	char line[STOP_REASON_MAX + 64];

	assert_int_equal(result, EXIT_STOPPED);
	assert_int_equal(test_partition.state, PARTITION_STOPPED);
	assert_string_equal(test_partition.stop_reason, reason);
	snprintf(line, sizeof(line), "tessera: partition %s stopped: %s\n", PART_NAME, reason);
	assert_non_null(strstr(captured.text, line));
}

/** Asserts every register whose bit is not in changed still holds its sentinel. */
static void assert_other_gprs_unchanged(struct vcpu *vcpu, unsigned int changed)
{
	for (unsigned int i = 0; i < 16; i++) {
		if ((changed & BIT(i)) == 0 && vcpu_read_gpr(vcpu, i) != SENTINEL * (i + 1)) {
			fail_msg("register %u changed to %#llx", i,
				 (unsigned long long)vcpu_read_gpr(vcpu, i));
		}
	}
}

/* Register numbers (SDM Vol. 2, Table 2-2) as bits for assert_other_gprs_unchanged(). */
#define R_RAX BIT(0)
#define R_RCX BIT(1)
#define R_RDX BIT(2)
#define R_RBX BIT(3)
#define R_RSI BIT(6)
#define R_RDI BIT(7)
#define R_R8  BIT(8)

/* ------------------------------------------------------------------------
 * Guest page tables
 * ------------------------------------------------------------------------ */

/** Takes a zeroed 4 KiB page of guest RAM for a page table. */
static uint64_t take_page_table(void)
{
	uint64_t gpa = next_page_table;

	next_page_table += PAGE_SIZE;
	memset(ram_at(gpa, PAGE_SIZE), 0, PAGE_SIZE);
	return gpa;
}

/** Reads a 32-bit paging entry from guest RAM. */
static uint32_t read_entry32(uint64_t gpa)
{
	uint32_t entry;

	memcpy(&entry, ram_at(gpa, 4), 4);
	return entry;
}

/** Writes a 32-bit paging entry to guest RAM. */
static void write_entry32(uint64_t gpa, uint32_t entry)
{
	memcpy(ram_at(gpa, 4), &entry, 4);
}

/** Turns on 32-bit paging (SDM 4.3) with an empty page directory. */
static void paging_32bit_on(void)
{
	uint64_t pd = take_page_table();

	vmcs_writel(VMCS_GUEST_CR3, pd);
	vmcs_writel(VMCS_GUEST_CR0, T_CR0_PE | T_CR0_PG);
}

/** Maps the 4 KiB page at linear to gpa with pte_flags (P, R/W, U/S) under 32-bit paging. */
static void map_page_32bit(uint64_t linear, uint64_t gpa, uint64_t pte_flags)
{
	uint64_t pde_gpa = vmcs_readl(VMCS_GUEST_CR3) + 4 * ((linear >> 22) & 0x3ff);
	uint32_t pde = read_entry32(pde_gpa);

	if ((pde & T_PTE_P) == 0) {
		/* Everything allowed at the directory: the PTE alone decides. */
		pde = (uint32_t)(take_page_table() | T_PTE_P | T_PTE_RW | T_PTE_US);
		write_entry32(pde_gpa, pde);
	}
	write_entry32((pde & ~0xfffU) + 4 * ((linear >> 12) & 0x3ff), (uint32_t)(gpa | pte_flags));
}

/**
 * IA-32e mode, CS.L = 1, 4-level paging (SDM 4.5): linear 0-1G maps GPA
 * 0-1G and linear 1G-2G maps GPA 3G-4G, both as 1-GByte pages. The device
 * is then at linear 0x70000000: not its GPA, and within a RIP-relative
 * displacement of code at 1 MiB.
 */
static void guest_mode_64bit(void)
{
	uint64_t pml4e = PDPT_GPA | T_PTE_P | T_PTE_RW;
	uint64_t low = T_PTE_PS | T_PTE_P | T_PTE_RW; /* GPA 0 */
	uint64_t high = 0xc0000000ULL | T_PTE_PS | T_PTE_P | T_PTE_RW;

	memset(ram_at(PML4_GPA, 2 * PAGE_SIZE), 0, 2 * PAGE_SIZE);
	memcpy(ram_at(PML4_GPA, 8), &pml4e, 8);
	memcpy(ram_at(PDPT_GPA, 8), &low, 8);
	memcpy(ram_at(PDPT_GPA + 8, 8), &high, 8);
	vmcs_writel(VMCS_GUEST_CR3, PML4_GPA);
	vmcs_writel(VMCS_GUEST_CR4, T_CR4_PAE);
	vmcs_writel(VMCS_GUEST_CR0, T_CR0_PE | T_CR0_PG);
	vmcs_write64(VMCS_GUEST_IA32_EFER, T_EFER_LME_LMA);
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE64_DPL0);
}

/* Where guest_mode_64bit() puts the device in linear memory. */
#define DEV_LINEAR_64 0x70000000ULL

/* ------------------------------------------------------------------------
 * Loads and stores of each size
 * ------------------------------------------------------------------------ */

/** MOV EAX, [EBX+0x10] (8B 43 10): 4 bytes read, EAX zero-extended, nothing else changed. */
static void test_mmio_load32(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x43, 0x10 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0x10), "\x44\x33\x22\x11", 4);
	vcpu->regs.rbx = DEV;
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RF_RESERVED | T_RF_IF | T_RF_CF | T_RF_ZF);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 0x10, Q_READ), TEST_RIP + 3);
	assert_int_equal(vcpu->regs.rax, 0x11223344);
	assert_int_equal(vcpu->regs.rbx, DEV);
	assert_other_gprs_unchanged(vcpu, R_RAX | R_RBX);
	assert_int_equal(vmcs_readl(VMCS_GUEST_RFLAGS),
			 T_RF_RESERVED | T_RF_IF | T_RF_CF | T_RF_ZF);
	assert_int_equal(device_accesses(), 1);
}

/** MOV CL, [EBX] (8A 0B) and MOV AH, [EBX+1] (8A 63 01) replace one byte only. */
static void test_mmio_load8(void **state)
{
	static const uint8_t mov_cl[] = { 0x8a, 0x0b };
	static const uint8_t mov_ah[] = { 0x8a, 0x63, 0x01 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\x9c\xe7", 2);
	vcpu->regs.rbx = DEV;
	assert_emulated(run_insn(vcpu, mov_cl, sizeof(mov_cl), DEV, Q_READ), TEST_RIP + 2);
	assert_int_equal(vcpu->regs.rcx, (SENTINEL * 2 & ~0xffULL) | 0x9c);
	assert_emulated(run_insn(vcpu, mov_ah, sizeof(mov_ah), DEV + 1, Q_READ), TEST_RIP + 3);
	assert_int_equal(vcpu->regs.rax, (SENTINEL & ~0xff00ULL) | 0xe700);
	assert_other_gprs_unchanged(vcpu, R_RAX | R_RCX | R_RBX);
	assert_int_equal(device_accesses(), 2);
}

/** MOV DX, [EBX+2] (66 8B 53 02) replaces DX only. */
static void test_mmio_load16(void **state)
{
	static const uint8_t insn[] = { 0x66, 0x8b, 0x53, 0x02 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(2), "\x0f\xf0", 2);
	vcpu->regs.rbx = DEV;
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 2, Q_READ), TEST_RIP + 4);
	assert_int_equal(vcpu->regs.rdx, (SENTINEL * 3 & ~0xffffULL) | 0xf00f);
	assert_other_gprs_unchanged(vcpu, R_RDX | R_RBX);
	assert_int_equal(device_accesses(), 1);
}

/** MOV [EBX], CL (88 0B), MOV [EBX+2], CX (66 89 4B 02), MOV [EBX+4], ECX (89 4B 04). */
static void test_mmio_stores_of_each_size(void **state)
{
	static const uint8_t store8[] = { 0x88, 0x0b };
	static const uint8_t store16[] = { 0x66, 0x89, 0x4b, 0x02 };
	static const uint8_t store32[] = { 0x89, 0x4b, 0x04 };
	struct vcpu *vcpu = *state;

	memset(scratch(0), 0xee, 12);
	vcpu->regs.rbx = DEV;
	vcpu->regs.rcx = 0xaabbccdd11223344ULL;
	assert_emulated(run_insn(vcpu, store8, sizeof(store8), DEV, Q_WRITE), TEST_RIP + 2);
	assert_emulated(run_insn(vcpu, store16, sizeof(store16), DEV + 2, Q_WRITE), TEST_RIP + 4);
	assert_emulated(run_insn(vcpu, store32, sizeof(store32), DEV + 4, Q_WRITE), TEST_RIP + 3);
	assert_memory_equal(scratch(0), "\x44\xee\x44\x33\x44\x33\x22\x11\xee\xee\xee\xee", 12);
	assert_int_equal(vcpu->regs.rcx, 0xaabbccdd11223344ULL);
	assert_other_gprs_unchanged(vcpu, R_RBX | R_RCX);
	assert_int_equal(device_accesses(), 3);
}

/** MOV DWORD [EBX+8], 0xdeadbeef (C7 43 08 imm32) and MOV BYTE [EBX], 0x5a (C6 03 5A). */
static void test_mmio_store_immediate(void **state)
{
	static const uint8_t imm32[] = { 0xc7, 0x43, 0x08, 0xef, 0xbe, 0xad, 0xde };
	static const uint8_t imm8[] = { 0xc6, 0x03, 0x5a };
	struct vcpu *vcpu = *state;

	vcpu->regs.rbx = DEV;
	assert_emulated(run_insn(vcpu, imm32, sizeof(imm32), DEV + 8, Q_WRITE), TEST_RIP + 7);
	assert_emulated(run_insn(vcpu, imm8, sizeof(imm8), DEV, Q_WRITE), TEST_RIP + 3);
	assert_memory_equal(scratch(8), "\xef\xbe\xad\xde", 4);
	assert_int_equal(*scratch(0), 0x5a);
	assert_int_equal(*scratch(1), 0);
	assert_other_gprs_unchanged(vcpu, R_RBX);
	assert_int_equal(device_accesses(), 2);
}

/** MOV EAX, [moffs32] (A1) and MOV [moffs32], EAX (A3): the address is in the instruction. */
static void test_mmio_moffs(void **state)
{
	static const uint8_t load[] = { 0xa1, 0x00, 0x00, 0x00, 0xf0 };
	static const uint8_t store[] = { 0xa3, 0x04, 0x00, 0x00, 0xf0 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\x01\x02\x03\x04", 4);
	assert_emulated(run_insn(vcpu, load, sizeof(load), DEV, Q_READ), TEST_RIP + 5);
	assert_int_equal(vcpu->regs.rax, 0x04030201);
	assert_emulated(run_insn(vcpu, store, sizeof(store), DEV + 4, Q_WRITE), TEST_RIP + 5);
	assert_memory_equal(scratch(4), "\x01\x02\x03\x04", 4);
	assert_other_gprs_unchanged(vcpu, R_RAX);
}

/** MOVZX ECX, BYTE [EBX] (0F B6 0B) and MOVSX EDX, WORD [EBX+2] (0F BF 53 02). */
static void test_mmio_movzx_movsx(void **state)
{
	static const uint8_t movzx[] = { 0x0f, 0xb6, 0x0b };
	static const uint8_t movsx[] = { 0x0f, 0xbf, 0x53, 0x02 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\x80\x00\x01\x80", 4);
	vcpu->regs.rbx = DEV;
	assert_emulated(run_insn(vcpu, movzx, sizeof(movzx), DEV, Q_READ), TEST_RIP + 3);
	assert_int_equal(vcpu->regs.rcx, 0x80);
	assert_emulated(run_insn(vcpu, movsx, sizeof(movsx), DEV + 2, Q_READ), TEST_RIP + 4);
	assert_int_equal(vcpu->regs.rdx, 0xffff8001ULL);
	assert_other_gprs_unchanged(vcpu, R_RCX | R_RDX | R_RBX);
	assert_int_equal(device_accesses(), 2);
}

/* ------------------------------------------------------------------------
 * Arithmetic and flags, string instructions
 * ------------------------------------------------------------------------ */

/**
 * ADD [EBX], ECX (01 0B): 0x7fffffff + 1 = 0x80000000 sets OF, SF, AF and
 * PF and clears CF and ZF (SDM Vol. 2, ADD); the other RFLAGS bits stay.
 * A read and a write of the device.
 */
static void test_mmio_add_writes_flags_back(void **state)
{
	static const uint8_t insn[] = { 0x01, 0x0b };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\xff\xff\xff\x7f", 4);
	vcpu->regs.rbx = DEV;
	vcpu->regs.rcx = 1;
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RF_RESERVED | T_RF_IF | T_RF_CF | T_RF_ZF);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV, Q_WRITE), TEST_RIP + 2);
	assert_memory_equal(scratch(0), "\x00\x00\x00\x80", 4);
	assert_int_equal(vmcs_readl(VMCS_GUEST_RFLAGS),
			 T_RF_RESERVED | T_RF_IF | T_RF_OF | T_RF_SF | T_RF_AF | T_RF_PF);
	assert_int_equal(vcpu->regs.rcx, 1);
	assert_other_gprs_unchanged(vcpu, R_RBX | R_RCX);
	assert_int_equal(device_accesses(), 2);
}

/** CMP ECX, [EBX] (3B 0B) of equal values: ZF and PF, one read, nothing written. */
static void test_mmio_cmp_reads_once(void **state)
{
	static const uint8_t insn[] = { 0x3b, 0x0b };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\x78\x56\x34\x12", 4);
	vcpu->regs.rbx = DEV;
	vcpu->regs.rcx = 0x12345678;
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RF_RESERVED | T_RF_CF | T_RF_SF | T_RF_OF);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ), TEST_RIP + 2);
	assert_int_equal(vmcs_readl(VMCS_GUEST_RFLAGS), T_RF_RESERVED | T_RF_ZF | T_RF_PF);
	assert_memory_equal(scratch(0), "\x78\x56\x34\x12", 4);
	assert_int_equal(vcpu->regs.rcx, 0x12345678);
	assert_int_equal(device_accesses(), 1);
}

/** REP MOVSD (F3 A5) of 4 dwords from RAM to the device: one exit, four writes. */
static void test_mmio_rep_movs_ram_to_device(void **state)
{
	static const uint8_t insn[] = { 0xf3, 0xa5 };
	static const char source[] = "0123456789abcdef";
	struct vcpu *vcpu = *state;

	put_bytes(DATA_GPA, source, 16);
	vcpu->regs.rsi = DATA_GPA;
	vcpu->regs.rdi = DEV + 0x20;
	vcpu->regs.rcx = 4;
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 0x20, Q_WRITE), TEST_RIP + 2);
	assert_memory_equal(scratch(0x20), source, 16);
	assert_int_equal(vcpu->regs.rcx, 0);
	assert_int_equal(vcpu->regs.rsi, DATA_GPA + 16);
	assert_int_equal(vcpu->regs.rdi, DEV + 0x30);
	assert_other_gprs_unchanged(vcpu, R_RCX | R_RSI | R_RDI);
	assert_int_equal(device_accesses(), 4);
}

/** REP MOVSB (F3 A4) of 8 bytes from the device to RAM: eight reads. */
static void test_mmio_rep_movs_device_to_ram(void **state)
{
	static const uint8_t insn[] = { 0xf3, 0xa4 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0x30), "ABCDEFGH", 8);
	vcpu->regs.rsi = DEV + 0x30;
	vcpu->regs.rdi = DATA_GPA;
	vcpu->regs.rcx = 8;
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 0x30, Q_READ), TEST_RIP + 2);
	assert_memory_equal(ram_at(DATA_GPA, 9), "ABCDEFGH\0", 9);
	assert_int_equal(vcpu->regs.rcx, 0);
	assert_int_equal(vcpu->regs.rsi, DEV + 0x38);
	assert_int_equal(vcpu->regs.rdi, DATA_GPA + 8);
	assert_int_equal(device_accesses(), 8);
}

/* ------------------------------------------------------------------------
 * What the interpreter refuses, and EPT violations elsewhere
 * ------------------------------------------------------------------------ */

/**
 * UD2 (0F 0B) is not an instruction the decoder handles: the partition
 * stops naming the address, the reason, the bytes and RIP. The decoder
 * cannot tell how long an instruction it does not know is, so the line
 * names every byte fetched: the 15 the architecture allows.
 */
static void test_mmio_unsupported_stops_naming_bytes(void **state)
{
	static const uint8_t insn[] = { 0x0f, 0x0b, 0x90, 0x90 };
	struct vcpu *vcpu = *state;

	assert_stopped_with(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ),
			    "MMIO at gpa 0xf0000000: opcode not supported: instruction bytes "
			    "0f 0b 90 90 00 00 00 00 00 00 00 00 00 00 00 at guest rip 0x7c00");
	assert_int_equal(guest_rip(), TEST_RIP);
	assert_int_equal(device_accesses(), 0);
	assert_other_gprs_unchanged(vcpu, 0);
}

/** At the end of a page only the bytes up to it are fetched, and named: INC [EBX] (FF 03). */
static void test_mmio_unsupported_at_page_end_names_fetched_bytes(void **state)
{
	static const uint8_t insn[] = { 0xff, 0x03 };
	struct vcpu *vcpu = *state;

	put_bytes(0x100ffe, insn, sizeof(insn));
	vcpu->regs.rbx = DEV + 0x40;
	assert_stopped_with(ept_violation_at(vcpu, 0x100ffe, DEV + 0x40, Q_WRITE),
			    "MMIO at gpa 0xf0000040: opcode not supported: instruction bytes "
			    "ff 03 at guest rip 0x100ffe");
	assert_int_equal(device_accesses(), 0);
}

/** LOCK MOV (F0 8B 03) raises #UD on hardware: injected, RIP stays, device untouched. */
static void test_mmio_invalid_lock_injects_ud(void **state)
{
	static const uint8_t insn[] = { 0xf0, 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	vcpu->regs.rbx = DEV;
	assert_injected(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ), T_INJECT_UD, TEST_RIP);
	assert_int_equal(device_accesses(), 0);
	assert_other_gprs_unchanged(vcpu, R_RBX);
}

/** Fourteen 66 prefixes and MOV EAX, [EBX]: 16 bytes, #GP(0) (SDM Vol. 2, 2.3.11). */
static void test_mmio_too_long_injects_gp(void **state)
{
	uint8_t insn[16];
	struct vcpu *vcpu = *state;

	memset(insn, 0x66, 14);
	insn[14] = 0x8b;
	insn[15] = 0x03;
	vcpu->regs.rbx = DEV;
	vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR, 0xdead);
	assert_injected(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ), T_INJECT_GP_EC, TEST_RIP);
	assert_int_equal(vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR), 0);
	assert_int_equal(device_accesses(), 0);
}

/** Just past and just before the device's page: the usual EPT_VIOLATION stop. */
static void test_mmio_outside_device_stops_with_ept_violation(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	assert_stopped_with(run_insn(vcpu, insn, sizeof(insn), DEV + VDEV_TEST_SIZE, Q_READ),
			    "EPT_VIOLATION: read of gpa 0xf0001000 at guest rip 0x7c00");
	reset_partition();
	assert_stopped_with(run_insn(vcpu, insn, sizeof(insn), DEV - 1, Q_WRITE),
			    "EPT_VIOLATION: write of gpa 0xefffffff at guest rip 0x7c00");
	assert_int_equal(device_accesses(), 0);
}

/** A partition without the device: its GPA is as foreign as any other. */
static void test_mmio_partition_without_device_stops(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	memset(&test_partition.mmio, 0, sizeof(test_partition.mmio));
	vcpu->regs.rbx = DEV;
	assert_stopped_with(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ),
			    "EPT_VIOLATION: read of gpa 0xf0000000 at guest rip 0x7c00");
	assert_int_equal(device_accesses(), 0);
	assert_int_equal(vcpu->regs.rax, SENTINEL);
}

/* ------------------------------------------------------------------------
 * Fetching the instruction through the guest's paging
 * ------------------------------------------------------------------------ */

/**
 * The page the instruction is on is not present (the guest unmapped it
 * since): #PF with CR2 = RIP, error code 0 (not present, read, supervisor;
 * I/D is 0 without SMEP and without PAE with NXE, SDM 4.7).
 */
static void test_mmio_fetch_not_present_injects_pf(void **state)
{
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	vcpu->regs.rbx = DEV;
	assert_page_fault(ept_violation_at(vcpu, 0x500000, DEV, Q_READ), 0, 0x500000, 0x500000);
	assert_int_equal(device_accesses(), 0);
	assert_other_gprs_unchanged(vcpu, R_RBX);
}

/**
 * MOV EAX, [EBX+0x10] with a disp32 (8B 83 10 00 00 00) whose last three
 * bytes lie on a page that is not present: #PF with CR2 = that page.
 */
static void test_mmio_fetch_crossing_into_not_present_page_faults(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x83, 0x10, 0x00, 0x00, 0x00 };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW);
	put_bytes(0x100ffd, insn, sizeof(insn));
	vcpu->regs.rbx = DEV;
	assert_page_fault(ept_violation_at(vcpu, 0x400ffd, DEV + 0x10, Q_READ), 0, 0x401000,
			  0x400ffd);
	assert_int_equal(device_accesses(), 0);
}

/** An instruction ending exactly at the page end needs nothing from the next page. */
static void test_mmio_fetch_ending_at_page_end_ignores_next_page(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW);
	put_bytes(0x100ffe, insn, sizeof(insn));
	memcpy(scratch(0), "\x0d\xf0\xad\x8b", 4);
	vcpu->regs.rbx = DEV;
	map_page_32bit(DEV, DEV, T_PTE_P | T_PTE_RW);
	assert_emulated(ept_violation_at(vcpu, 0x400ffe, DEV, Q_READ), 0x401000);
	assert_int_equal(vcpu->regs.rax, 0x8badf00d);
}

/**
 * An instruction fetch from the device's own range (the guest jumped into
 * it): the bytes at RIP are not RAM, and the code injects #GP(0). Recorded
 * as it stands, not as the SDM's answer: no #PF applies (the guest's paging
 * is fine) and hardware would run the device's bytes; stopping the
 * partition, as for a fetch anywhere else outside its RAM, may be better.
 */
static void test_mmio_fetch_from_device_range_injects_gp(void **state)
{
	struct vcpu *vcpu = *state;

	assert_injected(ept_violation_at(vcpu, DEV, DEV, Q_FETCH), T_INJECT_GP_EC, DEV);
	assert_int_equal(vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR), 0);
	assert_int_equal(device_accesses(), 0);
}

/* ------------------------------------------------------------------------
 * 64-bit mode
 * ------------------------------------------------------------------------ */

/**
 * MOV [RAX], RBX (48 89 18) and MOV R8, [RBX] (4C 8B 03): 8-byte accesses
 * through the guest's 4-level paging (linear 0x70000010 is GPA 0xf0000010).
 */
static void test_mmio_64bit_rex_w(void **state)
{
	static const uint8_t store[] = { 0x48, 0x89, 0x18 };
	static const uint8_t load[] = { 0x4c, 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	guest_mode_64bit();
	vcpu->regs.rax = DEV_LINEAR_64 + 0x10;
	vcpu->regs.rbx = 0x1122334455667788ULL;
	assert_emulated(run_insn(vcpu, store, sizeof(store), DEV + 0x10, Q_WRITE), TEST_RIP + 3);
	assert_memory_equal(scratch(0x10), "\x88\x77\x66\x55\x44\x33\x22\x11", 8);
	vcpu->regs.rbx = DEV_LINEAR_64 + 0x10;
	assert_emulated(run_insn(vcpu, load, sizeof(load), DEV + 0x10, Q_READ), TEST_RIP + 3);
	assert_int_equal(vcpu->regs.r8, 0x1122334455667788ULL);
	assert_other_gprs_unchanged(vcpu, R_RAX | R_RBX | R_R8);
	assert_int_equal(device_accesses(), 2);
}

/**
 * RIP-relative operands are relative to the end of the instruction,
 * immediate included: MOV EAX, [RIP+disp32] (8B 05) and MOV QWORD
 * [RIP+disp32], imm32 (48 C7 05), the imm32 sign-extended to 64 bits.
 */
static void test_mmio_64bit_rip_relative(void **state)
{
	const uint64_t rip = 0x100000;
	uint32_t load_disp = (uint32_t)(DEV_LINEAR_64 + 0x20 - (rip + 6));
	uint32_t store_disp = (uint32_t)(DEV_LINEAR_64 + 0x28 - (rip + 11));
	uint8_t load[6] = { 0x8b, 0x05 };
	uint8_t store[11] = { 0x48, 0xc7, 0x05, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff };
	struct vcpu *vcpu = *state;

	guest_mode_64bit();
	memcpy(load + 2, &load_disp, 4);
	memcpy(store + 3, &store_disp, 4);
	memcpy(scratch(0x20), "\x21\x43\x65\x87", 4);
	put_bytes(rip, load, sizeof(load));
	assert_emulated(ept_violation_at(vcpu, rip, DEV + 0x20, Q_READ), rip + 6);
	assert_int_equal(vcpu->regs.rax, 0x87654321ULL);
	put_bytes(rip, store, sizeof(store));
	assert_emulated(ept_violation_at(vcpu, rip, DEV + 0x28, Q_WRITE), rip + 11);
	assert_memory_equal(scratch(0x28), "\xfe\xff\xff\xff\xff\xff\xff\xff", 8);
	assert_other_gprs_unchanged(vcpu, R_RAX);
}

/* ------------------------------------------------------------------------
 * Where the code and the SDM disagree (see the top)
 * ------------------------------------------------------------------------ */

/** 32-bit paging with the page at linear 0x400000 holding the code, CPL 3. */
static void user_mode_with_code_page(const void *insn, size_t length)
{
	paging_32bit_on();
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW | T_PTE_US);
	put_bytes(0x100000, insn, length);
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE32_DPL3);
	vmcs_write32(VMCS_GUEST_SS_ACCESS_RIGHTS, T_AR_DATA_DPL3);
}

/**
 * CPL 3 with CR4.SMAP = 1 reads the device through a user page (a process
 * that mapped device registers): the CPU allows it (SMAP restricts
 * supervisor accesses only, SDM 4.6.1) and so must the interpreter.
 */
static void test_mmio_bug_user_page_with_smap(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	user_mode_with_code_page(insn, sizeof(insn));
	map_page_32bit(0x404000, DEV, T_PTE_P | T_PTE_RW | T_PTE_US);
	vmcs_writel(VMCS_GUEST_CR4, T_CR4_SMAP);
	memcpy(scratch(0x10), "\x78\x56\x34\x12", 4);
	vcpu->regs.rbx = 0x404010;
	assert_emulated(ept_violation_at(vcpu, 0x400000, DEV + 0x10, Q_READ), 0x400002);
	assert_int_equal(vcpu->regs.rax, 0x12345678);
}

/**
 * REP MOVSD at CPL 3 whose destination runs from a user page of the device
 * into a supervisor-only page (linear 0x405000, the same device page): the
 * third store must raise #PF (W, U, P: error code 7, CR2 = 0x405000), as the
 * CPU would, and not reach the device.
 */
static void test_mmio_bug_user_rep_movs_into_supervisor_page(void **state)
{
	static const uint8_t insn[] = { 0xf3, 0xa5 };
	struct vcpu *vcpu = *state;

	user_mode_with_code_page(insn, sizeof(insn));
	map_page_32bit(0x402000, DATA_GPA, T_PTE_P | T_PTE_RW | T_PTE_US);
	map_page_32bit(0x404000, DEV, T_PTE_P | T_PTE_RW | T_PTE_US);
	map_page_32bit(0x405000, DEV, T_PTE_P | T_PTE_RW);
	put_bytes(DATA_GPA, "0123456789abcdef", 16);
	vcpu->regs.rsi = 0x402000;
	vcpu->regs.rdi = 0x404ff8;
	vcpu->regs.rcx = 4;
	assert_page_fault(ept_violation_at(vcpu, 0x400000, DEV + 0xff8, Q_WRITE),
			  T_PF_W | T_PF_U | T_PF_P, 0x405000, 0x400000);
	assert_memory_equal(scratch(0), "\0\0\0\0\0\0\0\0", 8);
}

/**
 * REP MOVSD from RAM to the device whose third source dword is on a page
 * that is not present: #PF with CR2 = that page, and, as on hardware (SDM
 * Vol. 2, REP: "the registers are updated for the iterations completed"),
 * ECX, ESI and EDI reflecting the two dwords already stored, so that the
 * guest resumes the copy after the fault instead of storing them again.
 */
static void test_mmio_bug_rep_movs_fault_keeps_progress(void **state)
{
	static const uint8_t insn[] = { 0xf3, 0xa5 };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(TEST_RIP, TEST_RIP, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x402000, DATA_GPA, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x404000, DEV, T_PTE_P | T_PTE_RW);
	put_bytes(DATA_GPA + 0xff8, "01234567", 8);
	vcpu->regs.rsi = 0x402ff8;
	vcpu->regs.rdi = 0x404000;
	vcpu->regs.rcx = 4;
	assert_page_fault(run_insn(vcpu, insn, sizeof(insn), DEV, Q_WRITE), 0, 0x403000, TEST_RIP);
	assert_memory_equal(scratch(0), "01234567", 8);
	assert_int_equal(device_accesses(), 2);
	assert_int_equal(vcpu->regs.rcx, 2);
	assert_int_equal(vcpu->regs.rsi, 0x403000);
	assert_int_equal(vcpu->regs.rdi, 0x404008);
}

/**
 * Blocking by STI ends with the instruction after STI (SDM 24.4.2): once
 * the interpreter has completed that instruction, the blocking is over, as
 * vcpu_advance_rip() makes it for every other emulated instruction.
 */
static void test_mmio_bug_completed_instruction_ends_sti_blocking(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	vcpu->regs.rbx = DEV;
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RF_RESERVED | T_RF_IF);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, VMCS_INTERRUPTIBILITY_STI);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV, Q_READ), TEST_RIP + 2);
	assert_int_equal(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY), 0);
}

/* ------------------------------------------------------------------------
 * The decode cache: a decoded instruction is reused only for the same bytes
 * in the same mode, fetched through the guest's paging as it is now
 * ------------------------------------------------------------------------ */

/** A 16-bit code segment (CS.D = 0) in protected mode, DPL 0 (SDM 24.4.1). */
#define T_AR_CODE16_DPL0 0x809bU

/**
 * The guest rewrites the instruction in place between two exits at the same
 * RIP (no exit tells the hypervisor): MOV EAX, [EBX] (8B 03), then MOV [EBX],
 * ECX (89 0B), then MOV EAX, [EBX] again; each exit does what its bytes say.
 */
static void test_mmio_decode_cache_sees_rewritten_code(void **state)
{
	static const uint8_t load[] = { 0x8b, 0x03 };
	static const uint8_t store[] = { 0x89, 0x0b };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0), "\x11\x22\x33\x44", 4);
	vcpu->regs.rbx = DEV;
	assert_emulated(run_insn(vcpu, load, sizeof(load), DEV, Q_READ), TEST_RIP + 2);
	assert_int_equal(vcpu->regs.rax, 0x44332211);
	vcpu->regs.rcx = 0xa1b2c3d4;
	assert_emulated(run_insn(vcpu, store, sizeof(store), DEV, Q_WRITE), TEST_RIP + 2);
	assert_memory_equal(scratch(0), "\xd4\xc3\xb2\xa1", 4);
	assert_int_equal(vcpu->regs.rax, 0x44332211);
	vcpu->regs.rax = 0;
	assert_emulated(run_insn(vcpu, load, sizeof(load), DEV, Q_READ), TEST_RIP + 2);
	assert_int_equal(vcpu->regs.rax, 0xa1b2c3d4);
	assert_int_equal(device_accesses(), 3);
}

/**
 * Rewrites that change one byte of an instruction, the last or another: MOV DWORD
 * [EBX+0x10], imm32 (C7 43 10 + imm32, 7 bytes) and MOV DWORD [EBX+0x20],
 * imm32 with a disp32 (C7 83 20 00 00 00 + imm32, 10 bytes), each run with
 * two immediates, the long one then with another displacement: the device
 * gets what the bytes say at the time.
 */
static void test_mmio_decode_cache_sees_one_byte_change(void **state)
{
	uint8_t short_form[] = { 0xc7, 0x43, 0x10, 0x11, 0x22, 0x33, 0x44 };
	uint8_t long_form[] = { 0xc7, 0x83, 0x20, 0x00, 0x00, 0x00, 0x55, 0x66, 0x77, 0x88 };
	struct vcpu *vcpu = *state;

	vcpu->regs.rbx = DEV;
	for (uint8_t last = 0x44; last <= 0x45; last++) {
		short_form[6] = last;
		assert_emulated(run_insn(vcpu, short_form, sizeof(short_form), DEV + 0x10, Q_WRITE),
				TEST_RIP + 7);
		assert_int_equal(scratch(0x10)[3], last);
	}
	for (uint8_t last = 0x88; last <= 0x89; last++) {
		long_form[9] = last;
		assert_emulated(run_insn(vcpu, long_form, sizeof(long_form), DEV + 0x20, Q_WRITE),
				TEST_RIP + 10);
		assert_int_equal(scratch(0x20)[3], last);
	}
	long_form[2] = 0x28; /* inside the first 8 bytes: the displacement */
	assert_emulated(run_insn(vcpu, long_form, sizeof(long_form), DEV + 0x28, Q_WRITE),
			TEST_RIP + 10);
	assert_memory_equal(scratch(0x28), "\x55\x66\x77\x89", 4);
	assert_int_equal(device_accesses(), 5);
}

/**
 * The same bytes in two modes: A1 10 00 00 F0 is MOV EAX, [0xF0000010] with
 * a 32-bit CS (5 bytes) but MOV AX, [0x0010] with a 16-bit one (3 bytes;
 * DS.base = DEV puts that on the device too). The second exit must not reuse
 * the first's decode.
 */
static void test_mmio_decode_cache_keyed_on_mode(void **state)
{
	static const uint8_t insn[] = { 0xa1, 0x10, 0x00, 0x00, 0xf0 };
	struct vcpu *vcpu = *state;

	memcpy(scratch(0x10), "\x01\x02\x03\x04", 4);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 0x10, Q_READ), TEST_RIP + 5);
	assert_int_equal(vcpu->regs.rax, 0x04030201);
	vcpu->regs.rax = SENTINEL;
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE16_DPL0);
	vmcs_writel(VMCS_GUEST_DS_BASE, DEV);
	assert_emulated(run_insn(vcpu, insn, sizeof(insn), DEV + 0x10, Q_READ), TEST_RIP + 3);
	assert_int_equal(vcpu->regs.rax, (SENTINEL & ~0xffffULL) | 0x0201);
	assert_int_equal(device_accesses(), 2);
}

/**
 * The guest points the code page's PTE at another page without an exit:
 * the next exit at the same RIP runs the bytes of the new page (a store)
 * rather than the decode of the old one (a load).
 */
static void test_mmio_decode_cache_follows_remapped_code(void **state)
{
	static const uint8_t load[] = { 0x8b, 0x03 };
	static const uint8_t store[] = { 0x89, 0x0b };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(DEV, DEV, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW);
	put_bytes(0x100010, load, sizeof(load));
	put_bytes(0x101010, store, sizeof(store));
	memcpy(scratch(0), "\x11\x22\x33\x44", 4);
	vcpu->regs.rbx = DEV;
	assert_emulated(ept_violation_at(vcpu, 0x400010, DEV, Q_READ), 0x400012);
	assert_int_equal(vcpu->regs.rax, 0x44332211);
	map_page_32bit(0x400000, 0x101000, T_PTE_P | T_PTE_RW);
	vcpu->regs.rcx = 0x55667788;
	assert_emulated(ept_violation_at(vcpu, 0x400010, DEV, Q_WRITE), 0x400012);
	assert_memory_equal(scratch(0), "\x88\x77\x66\x55", 4);
	assert_int_equal(vcpu->regs.rax, 0x44332211);
}

/**
 * The guest unmaps the code page after an instruction there was emulated:
 * the next exit at the same RIP is a #PF on the fetch (CR2 = RIP, error
 * code 0, SDM 4.7), and the device is not touched.
 */
static void test_mmio_decode_cache_unmapped_code_faults(void **state)
{
	static const uint8_t load[] = { 0x8b, 0x03 };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(DEV, DEV, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW);
	put_bytes(0x100010, load, sizeof(load));
	vcpu->regs.rbx = DEV;
	assert_emulated(ept_violation_at(vcpu, 0x400010, DEV, Q_READ), 0x400012);
	map_page_32bit(0x400000, 0x100000, 0);
	assert_page_fault(ept_violation_at(vcpu, 0x400010, DEV, Q_READ), 0, 0x400010, 0x400010);
	assert_int_equal(device_accesses(), 1);
}

/**
 * MOV EAX, [EBX+0x10] (8B 83 10 00 00 00) across a page boundary, twice: both
 * pages are read each time; once the second page is gone, the fetch faults
 * there (CR2 = its start) as it would the first time.
 */
static void test_mmio_decode_cache_page_crossing(void **state)
{
	static const uint8_t insn[] = { 0x8b, 0x83, 0x10, 0x00, 0x00, 0x00 };
	struct vcpu *vcpu = *state;

	paging_32bit_on();
	map_page_32bit(DEV, DEV, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x400000, 0x100000, T_PTE_P | T_PTE_RW);
	map_page_32bit(0x401000, 0x101000, T_PTE_P | T_PTE_RW);
	put_bytes(0x100ffd, insn, sizeof(insn));
	memcpy(scratch(0x10), "\x0d\xf0\xad\x8b", 4);
	vcpu->regs.rbx = DEV;
	for (int i = 0; i < 2; i++) {
		vcpu->regs.rax = 0;
		assert_emulated(ept_violation_at(vcpu, 0x400ffd, DEV + 0x10, Q_READ), 0x401003);
		assert_int_equal(vcpu->regs.rax, 0x8badf00d);
	}
	map_page_32bit(0x401000, 0x101000, 0);
	assert_page_fault(ept_violation_at(vcpu, 0x400ffd, DEV + 0x10, Q_READ), 0, 0x401000,
			  0x400ffd);
	assert_int_equal(device_accesses(), 2);
}

/**
 * More instructions than the cache holds, at neighbouring addresses, run in
 * turn twice over: a load of byte i at RIP 0x7c00 + 8 i (MOV AL, [EBX+i],
 * 8A 43 i) and each one reads its own byte.
 */
static void test_mmio_decode_cache_many_instructions(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rbx = DEV;
	for (uint8_t i = 0; i < 24; i++) {
		const uint8_t insn[] = { 0x8a, 0x43, i };

		*scratch(i) = (uint8_t)(0x80 + i);
		put_bytes(TEST_RIP + 8ULL * i, insn, sizeof(insn));
	}
	for (int round = 0; round < 2; round++) {
		for (uint8_t i = 0; i < 24; i++) {
			assert_emulated(ept_violation_at(vcpu, TEST_RIP + 8ULL * i, DEV + i, Q_READ),
					TEST_RIP + 8ULL * i + 3);
			assert_int_equal(vcpu->regs.rax & 0xff, 0x80 + i);
		}
	}
	assert_int_equal(device_accesses(), 48);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the MMIO tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_mmio_load32),
		TEST(test_mmio_load8),
		TEST(test_mmio_load16),
		TEST(test_mmio_stores_of_each_size),
		TEST(test_mmio_store_immediate),
		TEST(test_mmio_moffs),
		TEST(test_mmio_movzx_movsx),
		TEST(test_mmio_add_writes_flags_back),
		TEST(test_mmio_cmp_reads_once),
		TEST(test_mmio_rep_movs_ram_to_device),
		TEST(test_mmio_rep_movs_device_to_ram),
		TEST(test_mmio_unsupported_stops_naming_bytes),
		TEST(test_mmio_unsupported_at_page_end_names_fetched_bytes),
		TEST(test_mmio_invalid_lock_injects_ud),
		TEST(test_mmio_too_long_injects_gp),
		TEST(test_mmio_outside_device_stops_with_ept_violation),
		TEST(test_mmio_partition_without_device_stops),
		TEST(test_mmio_fetch_not_present_injects_pf),
		TEST(test_mmio_fetch_crossing_into_not_present_page_faults),
		TEST(test_mmio_fetch_ending_at_page_end_ignores_next_page),
		TEST(test_mmio_fetch_from_device_range_injects_gp),
		TEST(test_mmio_64bit_rex_w),
		TEST(test_mmio_64bit_rip_relative),
		TEST(test_mmio_bug_user_page_with_smap),
		TEST(test_mmio_bug_user_rep_movs_into_supervisor_page),
		TEST(test_mmio_bug_rep_movs_fault_keeps_progress),
		TEST(test_mmio_bug_completed_instruction_ends_sti_blocking),
		TEST(test_mmio_decode_cache_sees_rewritten_code),
		TEST(test_mmio_decode_cache_sees_one_byte_change),
		TEST(test_mmio_decode_cache_keyed_on_mode),
		TEST(test_mmio_decode_cache_follows_remapped_code),
		TEST(test_mmio_decode_cache_unmapped_code_faults),
		TEST(test_mmio_decode_cache_page_crossing),
		TEST(test_mmio_decode_cache_many_instructions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
