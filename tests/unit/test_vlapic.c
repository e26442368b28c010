/*
 * Host tests of hv/vlapic.c: a vCPU's virtual local APIC.
 *
 * Expected values come from the SDM (Vol. 3A, Ch. 11): the xAPIC register
 * offsets and power-up values (11.4.7.1), the x2APIC MSR map and its #GP
 * rules (11.12.1), the IA32_APIC_BASE state transitions (11.12.5), PPR and
 * priority classes (11.8.3), the timer's divide encodings and modes
 * (11.5.4), the ICR layout (11.6.1) and logical destinations (11.6.2.2,
 * 11.12.10). Time is a fake host TSC the tests move by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vlapic.h"

/* xAPIC register offsets (SDM Table 11-1). */
#define T_ID       0x020
#define T_VERSION  0x030
#define T_TPR      0x080
#define T_APR      0x090
#define T_PPR      0x0a0
#define T_EOI      0x0b0
#define T_RRD      0x0c0
#define T_LDR      0x0d0
#define T_DFR      0x0e0
#define T_SVR      0x0f0
#define T_ISR      0x100
#define T_TMR      0x180
#define T_IRR      0x200
#define T_ESR      0x280
#define T_LVT_CMCI 0x2f0
#define T_ICR_LOW  0x300
#define T_ICR_HIGH 0x310
#define T_LVT_TIMER   0x320
#define T_LVT_THERMAL 0x330
#define T_LVT_PERF    0x340
#define T_LVT_LINT0   0x350
#define T_LVT_LINT1   0x360
#define T_LVT_ERROR   0x370
#define T_TMICT    0x380
#define T_TMCCT    0x390
#define T_DCR      0x3e0
#define T_SELF_IPI_SLOT 0x3f0 /* no register in xAPIC mode */

/* x2APIC MSRs (SDM Table 11-6). */
#define M_ID      0x802
#define M_VERSION 0x803
#define M_TPR     0x808
#define M_PPR     0x80a
#define M_EOI     0x80b
#define M_LDR     0x80d
#define M_SVR     0x80f
#define M_ISR0    0x810
#define M_TMR0    0x818
#define M_IRR0    0x820
#define M_ESR     0x828
#define M_ICR     0x830
#define M_LVT_TIMER 0x832
#define M_LVT_LINT0 0x835
#define M_TMICT   0x838
#define M_TMCCT   0x839
#define M_DCR     0x83e
#define M_SELF_IPI 0x83f

/* IA32_APIC_BASE (SDM 11.4.4). */
#define B_BSP    0x100ULL
#define B_EXTD   0x400ULL
#define B_EN     0x800ULL
#define B_BASE   0xfee00000ULL
#define B_XAPIC  (B_BASE | B_EN)
#define B_X2APIC (B_BASE | B_EN | B_EXTD)

#define T_VERSION_VALUE 0x00050014U /* version 0x14, max LVT entry 5 */
#define T_LVT_MASKED    0x00010000U
#define T_SVR_ENABLED   0x000001ffU /* spurious vector 0xff, APIC enabled */
#define T_TIMER_PERIODIC     0x00020000U
#define T_TIMER_TSC_DEADLINE 0x00040000U
#define T_ESR_SEND_ILLEGAL    0x20U
#define T_ESR_RECEIVE_ILLEGAL 0x40U
#define T_ESR_ILLEGAL_REG     0x80U

#define T_APIC_ID 5
#define T_TSC_HZ  2000000000ULL

static uint8_t page[4096] __attribute__((aligned(4096)));
static struct vlapic lapic;
static uint64_t clock_now;

static struct vlapic_ipi last_ipi;
static unsigned int ipi_count;
static uint8_t eoi_vectors[8];
static unsigned int eoi_count;

/** The fake host TSC. */
static uint64_t fake_now(void *ctx)
{
	assert_ptr_equal(ctx, &lapic);
	return clock_now;
}

/** Records an IPI handed to the router. */
static void fake_send_ipi(void *ctx, const struct vlapic_ipi *ipi)
{
	assert_ptr_equal(ctx, &lapic);
	last_ipi = *ipi;
	ipi_count++;
}

/** Records a level-triggered EOI for the I/O APIC. */
static void fake_level_eoi(void *ctx, uint8_t vector)
{
	assert_ptr_equal(ctx, &lapic);
	assert_true(eoi_count < sizeof(eoi_vectors));
	eoi_vectors[eoi_count++] = vector;
}

/** A fresh APIC (ID 5, BSP) with timer clock = TSC, on a dirty page. */
static void reset_apic(uint32_t apic_id, bool bsp, uint64_t tsc_hz, uint64_t timer_hz)
{
	memset(page, 0xab, sizeof(page));
	memset(&last_ipi, 0, sizeof(last_ipi));
	ipi_count = 0;
	eoi_count = 0;
	clock_now = 0;
	vlapic_init(&lapic, page, apic_id, bsp, tsc_hz, timer_hz);
	lapic.now = fake_now;
	lapic.send_ipi = fake_send_ipi;
	lapic.level_eoi = fake_level_eoi;
	lapic.ctx = &lapic;
}

/** The default APIC for a test. */
static int setup(void **state)
{
	reset_apic(T_APIC_ID, true, T_TSC_HZ, T_TSC_HZ);
	return 0;
}

/** A 4-byte MMIO read. */
static uint32_t rd(uint64_t offset)
{
	return (uint32_t)vlapic_mmio_read(&lapic, offset, 4);
}

/** A 4-byte MMIO write. */
static void wr(uint64_t offset, uint32_t value)
{
	vlapic_mmio_write(&lapic, offset, value, 4);
}

/** An x2APIC RDMSR that must succeed. */
static uint64_t msr_rd(uint32_t msr)
{
	uint64_t value = 0xdead;

	assert_true(vlapic_msr_read(&lapic, msr, &value));
	return value;
}

/** Sets SVR bit 8 (xAPIC). */
static void software_enable(void)
{
	wr(T_SVR, T_SVR_ENABLED);
}

/** Writes ESR and reads back what it latched (SDM 11.5.3: write, then read). */
static uint32_t latch_esr(void)
{
	wr(T_ESR, 0);
	return rd(T_ESR);
}

/** IRR/ISR/TMR word holding @vector at @base, and its bit. */
static uint32_t vector_bits(uint32_t base, uint8_t vector)
{
	return rd(base + (vector / 32) * 0x10) & (1U << (vector % 32));
}

/** Switches to x2APIC mode (legal from xAPIC). */
static void enter_x2apic(void)
{
	assert_true(vlapic_set_base(&lapic, vlapic_get_base(&lapic) | B_EXTD));
}

/* ------------------------------------------------------------------------
 * RESET state and register access
 * ------------------------------------------------------------------------ */

/** IA32_APIC_BASE after RESET: 0xfee00000, enabled, BSP flag on the BSP only. */
static void test_vlapic_reset_apic_base(void **state)
{
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00900ULL);
	reset_apic(1, false, T_TSC_HZ, T_TSC_HZ);
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00800ULL);
	assert_true(vlapic_enabled(&lapic));
	assert_false(vlapic_x2apic_mode(&lapic));
	assert_false(vlapic_software_enabled(&lapic));
}

/** Every register's power-up value (SDM 11.4.7.1). */
static void test_vlapic_reset_register_values(void **state)
{
	static const uint32_t lvts[] = { T_LVT_TIMER, T_LVT_THERMAL, T_LVT_PERF,
					 T_LVT_LINT0, T_LVT_LINT1, T_LVT_ERROR };

	assert_int_equal(rd(T_ID), 0x05000000);
	assert_int_equal(rd(T_VERSION), T_VERSION_VALUE);
	assert_int_equal(rd(T_TPR), 0);
	assert_int_equal(rd(T_APR), 0);
	assert_int_equal(rd(T_PPR), 0);
	assert_int_equal(rd(T_RRD), 0);
	assert_int_equal(rd(T_LDR), 0);
	assert_int_equal(rd(T_DFR), 0xffffffff);
	assert_int_equal(rd(T_SVR), 0x000000ff);
	for (uint32_t i = 0; i < 8; i++) {
		assert_int_equal(rd(T_ISR + i * 0x10), 0);
		assert_int_equal(rd(T_TMR + i * 0x10), 0);
		assert_int_equal(rd(T_IRR + i * 0x10), 0);
	}
	assert_int_equal(rd(T_ESR), 0);
	assert_int_equal(rd(T_ICR_LOW), 0);
	assert_int_equal(rd(T_ICR_HIGH), 0);
	for (size_t i = 0; i < sizeof(lvts) / sizeof(lvts[0]); i++) {
		assert_int_equal(rd(lvts[i]), T_LVT_MASKED);
	}
	assert_int_equal(rd(T_TMICT), 0);
	assert_int_equal(rd(T_TMCCT), 0);
	assert_int_equal(rd(T_DCR), 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
}

/** The page is the xAPIC MMIO layout, little-endian, byte for byte. */
static void test_vlapic_reset_page_layout(void **state)
{
	assert_int_equal(page[0x23], T_APIC_ID);
	assert_int_equal(page[0x20], 0);
	assert_int_equal(page[0x30], 0x14);
	assert_int_equal(page[0x32], 0x05);
	assert_int_equal(page[0xe0], 0xff);
	assert_int_equal(page[0xe3], 0xff);
	assert_int_equal(page[0xf0], 0xff);
	assert_int_equal(page[0xf1], 0);
	assert_int_equal(page[0x322], 0x01);
	assert_int_equal(page[0x372], 0x01);
	assert_int_equal(page[0x80], 0);
	assert_int_equal(page[0x400], 0); /* the dirty page was cleared */
	assert_int_equal(page[0xfff], 0);
}

/** Writes to read-only registers change nothing and log no error. */
static void test_vlapic_read_only_registers(void **state)
{
	static const uint32_t read_only[] = { T_ID, T_VERSION, T_APR, T_PPR, T_RRD,
					      T_ISR, T_ISR + 0x70, T_TMR, T_IRR, T_IRR + 0x70,
					      T_TMCCT };

	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		wr(read_only[i], 0xffffffff);
	}
	assert_int_equal(rd(T_ID), 0x05000000);
	assert_int_equal(rd(T_VERSION), T_VERSION_VALUE);
	assert_int_equal(rd(T_APR), 0);
	assert_int_equal(rd(T_PPR), 0);
	assert_int_equal(rd(T_ISR), 0);
	assert_int_equal(rd(T_ISR + 0x70), 0);
	assert_int_equal(rd(T_TMR), 0);
	assert_int_equal(rd(T_IRR + 0x70), 0);
	assert_int_equal(rd(T_TMCCT), 0);
	assert_int_equal(latch_esr(), 0);
}

/** EOI is write-only: it reads 0. */
static void test_vlapic_eoi_reads_zero(void **state)
{
	assert_int_equal(rd(T_EOI), 0);
	assert_int_equal(latch_esr(), 0);
}

/** Only the architecturally writable bits of each register stick. */
static void test_vlapic_writable_bits(void **state)
{
	software_enable();
	wr(T_TPR, 0xffffffff);
	assert_int_equal(rd(T_TPR), 0xff);
	wr(T_TPR, 0);
	wr(T_LDR, 0xffffffff);
	assert_int_equal(rd(T_LDR), 0xff000000);
	wr(T_DFR, 0);
	assert_int_equal(rd(T_DFR), 0x0fffffff);
	wr(T_SVR, 0xffffffff);
	assert_int_equal(rd(T_SVR), 0x3ff);
	wr(T_ICR_HIGH, 0xffffffff);
	assert_int_equal(rd(T_ICR_HIGH), 0xff000000);
	wr(T_LVT_TIMER, 0xfff9ffff);
	assert_int_equal(rd(T_LVT_TIMER), 0x000100ff);
	wr(T_LVT_THERMAL, 0xffffffff);
	assert_int_equal(rd(T_LVT_THERMAL), 0x000107ff);
	wr(T_LVT_PERF, 0xffffffff);
	assert_int_equal(rd(T_LVT_PERF), 0x000107ff);
	wr(T_LVT_LINT0, 0xffffffff);
	assert_int_equal(rd(T_LVT_LINT0), 0x0001a7ff);
	wr(T_LVT_LINT1, 0xffffffff);
	assert_int_equal(rd(T_LVT_LINT1), 0x0001a7ff);
	wr(T_LVT_ERROR, 0xffffffff);
	assert_int_equal(rd(T_LVT_ERROR), 0x000100ff);
	wr(T_DCR, 0xffffffff);
	assert_int_equal(rd(T_DCR), 0xb);
	wr(T_TMICT, 0xffffffff);
	assert_int_equal(rd(T_TMICT), 0xffffffff);
}

/** The ICR's delivery-status bit (12) always reads idle; bits 16-17 and 20+ are reserved. */
static void test_vlapic_icr_delivery_status_idle(void **state)
{
	software_enable();
	wr(T_ICR_HIGH, 0x02000000);
	wr(T_ICR_LOW, 0xfff31052);
	assert_int_equal(rd(T_ICR_LOW), 0x00000052);
	assert_int_equal(ipi_count, 1);
}

/** Accesses other than 4 bytes at a register's offset read 0 and write nothing. */
static void test_vlapic_mmio_odd_sizes_and_offsets(void **state)
{
	wr(T_TPR, 0x20);
	assert_int_equal(vlapic_mmio_read(&lapic, T_TPR, 1), 0);
	assert_int_equal(vlapic_mmio_read(&lapic, T_TPR, 8), 0);
	assert_int_equal(rd(T_TPR + 4), 0);
	assert_int_equal(rd(0x1000), 0);
	vlapic_mmio_write(&lapic, T_TPR, 0x30, 1);
	vlapic_mmio_write(&lapic, T_TPR, 0x30, 8);
	wr(T_TPR + 1, 0x30);
	assert_int_equal(rd(T_TPR), 0x20);
	assert_int_equal(latch_esr(), 0);
}

/** A reserved register offset reads 0 and sets ESR "illegal register address". */
static void test_vlapic_reserved_register_sets_esr(void **state)
{
	assert_int_equal(rd(T_SELF_IPI_SLOT), 0);
	assert_int_equal(latch_esr(), T_ESR_ILLEGAL_REG);
	wr(T_LVT_CMCI, 0x10000); /* max LVT entry 5: no CMCI */
	assert_int_equal(latch_esr(), T_ESR_ILLEGAL_REG);
	assert_int_equal(rd(0x010), 0);
	assert_int_equal(latch_esr(), T_ESR_ILLEGAL_REG);
	assert_int_equal(latch_esr(), 0);
}

/** The MMIO page is dead in x2APIC mode and when globally disabled. */
static void test_vlapic_mmio_off_outside_xapic_mode(void **state)
{
	enter_x2apic();
	assert_int_equal(rd(T_VERSION), 0);
	wr(T_TPR, 0x40);
	assert_int_equal(msr_rd(M_TPR), 0);
	assert_true(vlapic_set_base(&lapic, B_BASE | B_BSP));
	assert_int_equal(rd(T_VERSION), 0);
	wr(T_SVR, T_SVR_ENABLED);
	assert_int_equal(page[0xf1], 0);
}

/** The mmio_ops table is the MMIO model. */
static void test_vlapic_mmio_ops_table(void **state)
{
	assert_ptr_equal(vlapic_mmio_ops.read, vlapic_mmio_read);
	assert_ptr_equal(vlapic_mmio_ops.write, vlapic_mmio_write);
	assert_int_equal(vlapic_mmio_ops.read(&lapic, T_VERSION, 4), T_VERSION_VALUE);
}

/* ------------------------------------------------------------------------
 * Priorities, acceptance, EOI
 * ------------------------------------------------------------------------ */

/** TPR 0x50 holds back class 5 (vector 0x55) but not class 6 (0x65). */
static void test_vlapic_tpr_masks_same_class(void **state)
{
	software_enable();
	wr(T_TPR, 0x50);
	vlapic_accept_interrupt(&lapic, 0x55, false);
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	vlapic_accept_interrupt(&lapic, 0x65, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x65);
	wr(T_TPR, 0x4f);
	vlapic_acknowledge(&lapic, 0x65);
	assert_int_equal(vlapic_pending_vector(&lapic), -1); /* 0x55 below ISR class 6 */
}

/** The CPU writes TPR straight into the page (TPR shadow); it counts at once. */
static void test_vlapic_tpr_read_from_page(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x65, false);
	page[0x80] = 0x60;
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	assert_int_equal(rd(T_TPR), 0x60);
	assert_int_equal(rd(T_PPR), 0x60);
	page[0x80] = 0x50;
	assert_int_equal(vlapic_pending_vector(&lapic), 0x65);
}

/** PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4 (SDM 11.8.3.1). */
static void test_vlapic_ppr(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x45, false);
	vlapic_acknowledge(&lapic, 0x45);
	wr(T_TPR, 0x30);
	assert_int_equal(rd(T_PPR), 0x40);
	assert_int_equal(vlapic_ppr(&lapic), 0x40);
	wr(T_TPR, 0x52);
	assert_int_equal(rd(T_PPR), 0x52);
	wr(T_TPR, 0x47);
	assert_int_equal(rd(T_PPR), 0x47);
	wr(T_EOI, 0);
	wr(T_TPR, 0x0f);
	assert_int_equal(rd(T_PPR), 0x0f);
}

/** The highest requested vector wins; acknowledge moves it IRR -> ISR. */
static void test_vlapic_acknowledge_moves_irr_to_isr(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x31, false);
	vlapic_accept_interrupt(&lapic, 0xe0, false);
	vlapic_accept_interrupt(&lapic, 0x90, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0xe0);
	vlapic_acknowledge(&lapic, 0xe0);
	assert_int_equal(rd(T_IRR + 0x70), 0);
	assert_int_equal(rd(T_ISR + 0x70), 0x00000001);
	assert_int_equal(rd(T_IRR + 0x40), 0x00010000); /* 0x90 still requested */
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
}

/** Nested service: EOI retires the highest ISR vector first. */
static void test_vlapic_isr_nesting_and_eoi_order(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x30, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x30);
	vlapic_acknowledge(&lapic, 0x30);
	vlapic_accept_interrupt(&lapic, 0x31, false);
	assert_int_equal(vlapic_pending_vector(&lapic), -1); /* same class as in service */
	vlapic_accept_interrupt(&lapic, 0x80, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x80);
	vlapic_acknowledge(&lapic, 0x80);
	assert_int_equal(rd(T_PPR), 0x80);
	assert_int_equal(rd(T_ISR + 0x10), 0x00010000);
	assert_int_equal(rd(T_ISR + 0x40), 0x00000001);
	wr(T_EOI, 0);
	assert_int_equal(rd(T_ISR + 0x40), 0);
	assert_int_equal(rd(T_ISR + 0x10), 0x00010000);
	assert_int_equal(rd(T_PPR), 0x30);
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	wr(T_EOI, 0);
	assert_int_equal(rd(T_ISR + 0x10), 0);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x31);
	wr(T_EOI, 0); /* nothing in service: no effect */
	assert_int_equal(vector_bits(T_IRR, 0x31), 1U << 17);
	assert_int_equal(eoi_count, 0);
}

/** Level-triggered acceptance sets TMR; its EOI reaches the callback, an edge one does not. */
static void test_vlapic_level_eoi_callback(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x70, true);
	assert_int_equal(rd(T_TMR + 0x30), 0x00010000);
	vlapic_acknowledge(&lapic, 0x70);
	wr(T_EOI, 0);
	assert_int_equal(eoi_count, 1);
	assert_int_equal(eoi_vectors[0], 0x70);
	vlapic_accept_interrupt(&lapic, 0x71, false);
	assert_int_equal(vector_bits(T_TMR, 0x71), 0);
	vlapic_acknowledge(&lapic, 0x71);
	wr(T_EOI, 0);
	assert_int_equal(eoi_count, 1);
	vlapic_accept_interrupt(&lapic, 0x70, false); /* edge now: TMR cleared */
	assert_int_equal(rd(T_TMR + 0x30), 0);
}

/** Vectors 0-15 are illegal: dropped, ESR "received illegal vector". */
static void test_vlapic_illegal_vector_sets_esr(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x0f, false);
	assert_int_equal(rd(T_IRR), 0);
	assert_int_equal(rd(T_ESR), 0); /* not visible before the write */
	assert_int_equal(latch_esr(), T_ESR_RECEIVE_ILLEGAL);
	assert_int_equal(latch_esr(), 0);
	vlapic_accept_interrupt(&lapic, 0x10, false);
	assert_int_equal(rd(T_IRR), 0x00010000);
}

/** An unmasked LVT error entry raises its vector when an error is logged. */
static void test_vlapic_error_interrupt(void **state)
{
	software_enable();
	wr(T_LVT_ERROR, 0xe3);
	vlapic_accept_interrupt(&lapic, 0x05, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0xe3);
	assert_int_equal(latch_esr(), T_ESR_RECEIVE_ILLEGAL);
}

/** Software-disabled: fixed interrupts dropped, held ones not delivered, NMI still taken. */
static void test_vlapic_software_disabled_delivery(void **state)
{
	vlapic_accept_interrupt(&lapic, 0x40, false);
	assert_int_equal(rd(T_IRR + 0x20), 0);
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x40, false);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x40);
	wr(T_SVR, 0xff);
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000001); /* held */
	vlapic_accept(&lapic, VLAPIC_DELIVERY_NMI, 0, false);
	assert_true(lapic.pending_nmi);
	software_enable();
	assert_int_equal(vlapic_pending_vector(&lapic), 0x40);
}

/** Clearing SVR bit 8 masks every LVT entry; they stay masked until re-enabled. */
static void test_vlapic_svr_disable_masks_lvts(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_LVT_LINT0, 0x700);
	wr(T_LVT_ERROR, 0xe0);
	assert_int_equal(rd(T_LVT_LINT0), 0x700);
	wr(T_SVR, 0xff);
	assert_int_equal(rd(T_LVT_TIMER), 0x00010040);
	assert_int_equal(rd(T_LVT_LINT0), 0x00010700);
	assert_int_equal(rd(T_LVT_ERROR), 0x000100e0);
	assert_int_equal(rd(T_LVT_THERMAL), T_LVT_MASKED);
	wr(T_LVT_LINT0, 0x700);
	assert_int_equal(rd(T_LVT_LINT0), 0x00010700);
	software_enable();
	assert_int_equal(rd(T_LVT_LINT0), 0x00010700);
	wr(T_LVT_LINT0, 0x700);
	assert_int_equal(rd(T_LVT_LINT0), 0x700);
}

/** ESR latches on write: errors after the write wait for the next one. */
static void test_vlapic_esr_write_then_read(void **state)
{
	software_enable();
	vlapic_accept_interrupt(&lapic, 0x01, false);
	wr(T_ESR, 0);
	vlapic_accept_interrupt(&lapic, 0x02, false);
	wr(T_ICR_LOW, 0x00000003); /* fixed IPI with vector 3 */
	assert_int_equal(rd(T_ESR), T_ESR_RECEIVE_ILLEGAL);
	assert_int_equal(latch_esr(), T_ESR_RECEIVE_ILLEGAL | T_ESR_SEND_ILLEGAL);
	assert_int_equal(ipi_count, 0);
}

/** TPR threshold: class of the highest IRR vector TPR holds back, else 0. */
static void test_vlapic_tpr_threshold(void **state)
{
	assert_int_equal(vlapic_tpr_threshold(&lapic), 0);
	software_enable();
	wr(T_TPR, 0x50);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 0);
	vlapic_accept_interrupt(&lapic, 0x35, false);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 3);
	vlapic_accept_interrupt(&lapic, 0x55, false);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 5);
	vlapic_accept_interrupt(&lapic, 0x65, false);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 0); /* deliverable */
	vlapic_acknowledge(&lapic, 0x65);
	vlapic_accept_interrupt(&lapic, 0x61, false);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 0); /* ISR holds it, not TPR */
	wr(T_SVR, 0xff);
	wr(T_TPR, 0xf0);
	assert_int_equal(vlapic_tpr_threshold(&lapic), 0);
}

/** NMI, INIT, SIPI and ExtINT become pending events; SMI is ignored. */
static void test_vlapic_accept_delivery_modes(void **state)
{
	vlapic_accept(&lapic, VLAPIC_DELIVERY_SMI, 0, false);
	assert_false(lapic.pending_nmi || lapic.pending_init || lapic.pending_sipi ||
		     lapic.pending_extint);
	vlapic_accept(&lapic, VLAPIC_DELIVERY_NMI, 0, false);
	assert_true(lapic.pending_nmi);
	vlapic_accept(&lapic, VLAPIC_DELIVERY_INIT, 0, false);
	assert_true(lapic.pending_init);
	vlapic_accept(&lapic, VLAPIC_DELIVERY_SIPI, 0x9a, false);
	assert_true(lapic.pending_sipi);
	assert_int_equal(lapic.sipi_vector, 0x9a);
	vlapic_accept(&lapic, VLAPIC_DELIVERY_EXTINT, 0, false);
	assert_true(lapic.pending_extint);
	software_enable();
	vlapic_accept(&lapic, VLAPIC_DELIVERY_FIXED, 0x41, true);
	vlapic_accept(&lapic, VLAPIC_DELIVERY_LOWEST, 0x42, false);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000006);
	assert_int_equal(rd(T_TMR + 0x20), 0x00000002);
}

/** LINT0 passes ExtINT only unmasked in ExtINT mode; LINT1 NMIs only unmasked in NMI mode. */
static void test_vlapic_lint_pins(void **state)
{
	assert_false(vlapic_lint0_accepts_extint(&lapic));
	assert_false(vlapic_lint1_nmi(&lapic));
	assert_false(lapic.pending_nmi);
	software_enable();
	wr(T_LVT_LINT0, 0x700);
	assert_true(vlapic_lint0_accepts_extint(&lapic));
	wr(T_LVT_LINT0, 0x10700);
	assert_false(vlapic_lint0_accepts_extint(&lapic));
	wr(T_LVT_LINT0, 0x000);
	assert_false(vlapic_lint0_accepts_extint(&lapic));
	wr(T_LVT_LINT1, 0x000);
	assert_false(vlapic_lint1_nmi(&lapic));
	wr(T_LVT_LINT1, 0x400);
	assert_true(vlapic_lint1_nmi(&lapic));
	assert_true(lapic.pending_nmi);
}

/** Globally disabled, LINT0 and LINT1 are the plain INTR and NMI pins. */
static void test_vlapic_lint_pins_when_disabled(void **state)
{
	assert_true(vlapic_set_base(&lapic, B_BASE | B_BSP));
	assert_true(vlapic_lint0_accepts_extint(&lapic));
	assert_true(vlapic_lint1_nmi(&lapic));
	assert_true(lapic.pending_nmi);
}

/* ------------------------------------------------------------------------
 * Timer
 * ------------------------------------------------------------------------ */

/** One-shot, divide by 2 (DCR reset value): counts down, fires once at 0. */
static void test_vlapic_timer_one_shot(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	clock_now = 1000;
	wr(T_TMICT, 1000);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 3000);
	assert_int_equal(rd(T_TMCCT), 1000);
	clock_now = 1001;
	assert_int_equal(rd(T_TMCCT), 1000);
	clock_now = 1002;
	assert_int_equal(rd(T_TMCCT), 999);
	clock_now = 2999;
	assert_int_equal(rd(T_TMCCT), 1);
	vlapic_timer_update(&lapic, 2999);
	assert_int_equal(rd(T_IRR + 0x20), 0);
	vlapic_timer_update(&lapic, 3000);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000001);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	clock_now = 3000;
	assert_int_equal(rd(T_TMCCT), 0);
	assert_int_equal(rd(T_TMICT), 1000);
	vlapic_acknowledge(&lapic, 0x40);
	vlapic_timer_update(&lapic, 9000);
	assert_int_equal(rd(T_IRR + 0x20), 0);
}

/** An expired one-shot reads 0 even before the update has run. */
static void test_vlapic_timer_one_shot_reads_zero_when_late(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_DCR, 0xb);
	wr(T_TMICT, 100);
	clock_now = 100;
	assert_int_equal(rd(T_TMCCT), 0);
	clock_now = 5000;
	assert_int_equal(rd(T_TMCCT), 0);
}

/** Every divide encoding (SDM 11.5.4): 000b=2 ... 110b=128, 111b=1 (bits 3,1:0). */
static void test_vlapic_timer_divide_values(void **state)
{
	static const struct {
		uint32_t dcr;
		uint64_t divisor;
	} cases[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
		{ 0x4, 2 }, /* bit 2 is reserved: still 000b */
	};

	software_enable();
	wr(T_LVT_TIMER, 0x40);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t d = cases[i].divisor;

		clock_now = 100;
		wr(T_DCR, cases[i].dcr);
		wr(T_TMICT, 50);
		assert_int_equal(vlapic_timer_next_deadline(&lapic), 100 + 50 * d);
		clock_now = 100 + d - 1;
		assert_int_equal(rd(T_TMCCT), 50);
		clock_now = 100 + d;
		assert_int_equal(rd(T_TMCCT), 49);
		clock_now = 100 + 50 * d - 1;
		assert_int_equal(rd(T_TMCCT), 1);
	}
}

/** A timer clock slower than the TSC: each timer tick is tsc_hz / timer_hz TSC ticks. */
static void test_vlapic_timer_clock_conversion(void **state)
{
	reset_apic(T_APIC_ID, true, 3000000000ULL, 1000000000ULL);
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_DCR, 0xb);
	wr(T_TMICT, 1000);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 3000);
	clock_now = 1500;
	assert_int_equal(rd(T_TMCCT), 500);
	clock_now = 2999;
	assert_int_equal(rd(T_TMCCT), 1);
	clock_now = 10000;
	wr(T_DCR, 0x0);
	wr(T_TMICT, 10);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 10060);
}

/** A timer clock faster than the TSC: expiry rounds up to a whole TSC tick. */
static void test_vlapic_timer_fast_clock_rounds_up(void **state)
{
	reset_apic(T_APIC_ID, true, 1000000000ULL, 3000000000ULL);
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_DCR, 0xb);
	wr(T_TMICT, 10);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 4); /* 10/3 -> 4 */
	clock_now = 3;
	assert_int_equal(rd(T_TMCCT), 1);
}

/** Periodic: next deadline = previous deadline + period, however late the update. */
static void test_vlapic_timer_periodic_no_drift(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, T_TIMER_PERIODIC | 0x41);
	wr(T_DCR, 0xb);
	clock_now = 1000;
	wr(T_TMICT, 500);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 1500);
	vlapic_timer_update(&lapic, 1600);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000002);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 2000);
	clock_now = 1600;
	assert_int_equal(rd(T_TMCCT), 400);
	vlapic_acknowledge(&lapic, 0x41);
	vlapic_timer_update(&lapic, 2000);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000002);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 2500);
	vlapic_timer_update(&lapic, 3700); /* 2500, 3000, 3500 passed */
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 4000);
	clock_now = 3700;
	assert_int_equal(rd(T_TMCCT), 300); /* 200 of 500 gone since 3500 */
}

/** Periodic current count reloads even when expiries were not processed yet. */
static void test_vlapic_timer_periodic_current_count_reloads(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, T_TIMER_PERIODIC | 0x41);
	wr(T_DCR, 0xb);
	clock_now = 1000;
	wr(T_TMICT, 500);
	clock_now = 1500;
	assert_int_equal(rd(T_TMCCT), 500);
	clock_now = 2200;
	assert_int_equal(rd(T_TMCCT), 300);
}

/** A divide change applies from the next count-down: here the periodic reload. */
static void test_vlapic_timer_divide_change_at_reload(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, T_TIMER_PERIODIC | 0x41);
	wr(T_DCR, 0xb);
	clock_now = 1000;
	wr(T_TMICT, 500);
	clock_now = 1200;
	wr(T_DCR, 0x0); /* divide by 2 */
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 1500);
	assert_int_equal(rd(T_TMCCT), 300);
	vlapic_timer_update(&lapic, 1500);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 2500);
	clock_now = 2000;
	assert_int_equal(rd(T_TMCCT), 250);
}

/** A masked one-shot still expires (count 0, disarmed) without an interrupt. */
static void test_vlapic_timer_masked_one_shot_expires(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, T_LVT_MASKED | 0x40);
	wr(T_TMICT, 100);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 200);
	vlapic_timer_update(&lapic, 200);
	assert_int_equal(rd(T_IRR + 0x20), 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	clock_now = 150;
	assert_int_equal(rd(T_TMCCT), 0);
}

/** Initial count 0 stops the timer; a new count restarts it from now. */
static void test_vlapic_timer_initial_count_stops_and_restarts(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_DCR, 0xb);
	clock_now = 1000;
	wr(T_TMICT, 100);
	clock_now = 1050;
	wr(T_TMICT, 300);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 1350);
	assert_int_equal(rd(T_TMCCT), 300);
	wr(T_TMICT, 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	assert_int_equal(rd(T_TMCCT), 0);
	vlapic_timer_update(&lapic, 100000);
	assert_int_equal(rd(T_IRR + 0x20), 0);
}

/** Changing the timer mode disarms; masking without a mode change does not. */
static void test_vlapic_timer_mode_change_disarms(void **state)
{
	software_enable();
	wr(T_LVT_TIMER, 0x40);
	wr(T_TMICT, 100);
	wr(T_LVT_TIMER, T_LVT_MASKED | 0x40);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 200);
	wr(T_LVT_TIMER, 0x00060040); /* reserved mode 3: mode kept */
	assert_int_equal(rd(T_LVT_TIMER), 0x40);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 200);
	wr(T_LVT_TIMER, T_TIMER_PERIODIC | 0x40);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	assert_int_equal(rd(T_TMCCT), 0);
}

/** TSC deadline in guest TSC units: host expiry = deadline - tsc_offset. */
static void test_vlapic_tsc_deadline_guest_units(void **state)
{
	uint64_t value = 1;

	software_enable();
	lapic.tsc_offset = 50000;
	wr(T_LVT_TIMER, T_TIMER_TSC_DEADLINE | 0x42);
	clock_now = 1000;
	assert_true(vlapic_tsc_deadline_write(&lapic, 60000));
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 10000);
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 60000);
	vlapic_timer_update(&lapic, 9999);
	assert_int_equal(rd(T_IRR + 0x20), 0);
	vlapic_timer_update(&lapic, 10000);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000004);
	clock_now = 10000;
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
}

/** A negative TSC offset (guest TSC behind the host's). */
static void test_vlapic_tsc_deadline_negative_offset(void **state)
{
	software_enable();
	lapic.tsc_offset = (uint64_t)-500;
	wr(T_LVT_TIMER, T_TIMER_TSC_DEADLINE | 0x42);
	clock_now = 1000;
	assert_true(vlapic_tsc_deadline_write(&lapic, 700));
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 1200);
}

/** A deadline already passed fires at once; 0 disarms; the initial count is ignored. */
static void test_vlapic_tsc_deadline_past_zero_and_counts(void **state)
{
	uint64_t value = 1;

	software_enable();
	lapic.tsc_offset = 50000;
	wr(T_LVT_TIMER, T_TIMER_TSC_DEADLINE | 0x42);
	clock_now = 20000; /* guest TSC 70000 */
	wr(T_TMICT, 500);
	assert_int_equal(rd(T_TMICT), 0);
	assert_int_equal(rd(T_TMCCT), 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	assert_true(vlapic_tsc_deadline_write(&lapic, 60000));
	assert_int_equal(rd(T_IRR + 0x20), 0x00000004);
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
	assert_true(vlapic_tsc_deadline_write(&lapic, 90000));
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 40000);
	assert_true(vlapic_tsc_deadline_write(&lapic, 0));
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	/* Passed but not yet processed: the read already shows it expired. */
	vlapic_acknowledge(&lapic, 0x42);
	assert_true(vlapic_tsc_deadline_write(&lapic, 90000));
	clock_now = 40000;
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
	assert_int_equal(rd(T_IRR + 0x20), 0x00000004);
}

/** Outside TSC-deadline mode the MSR reads 0 and ignores writes; leaving the mode disarms. */
static void test_vlapic_tsc_deadline_outside_mode(void **state)
{
	uint64_t value = 1;

	software_enable();
	wr(T_LVT_TIMER, 0x42);
	assert_true(vlapic_tsc_deadline_write(&lapic, 123456));
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	wr(T_LVT_TIMER, T_TIMER_TSC_DEADLINE | 0x42);
	assert_true(vlapic_tsc_deadline_write(&lapic, 123456));
	wr(T_LVT_TIMER, 0x42);
	wr(T_LVT_TIMER, T_TIMER_TSC_DEADLINE | 0x42);
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
}

/** A masked TSC deadline expires (MSR back to 0) without an interrupt. */
static void test_vlapic_tsc_deadline_masked(void **state)
{
	uint64_t value = 1;

	software_enable();
	wr(T_LVT_TIMER, T_LVT_MASKED | T_TIMER_TSC_DEADLINE | 0x42);
	assert_true(vlapic_tsc_deadline_write(&lapic, 500));
	vlapic_timer_update(&lapic, 500);
	assert_int_equal(rd(T_IRR + 0x20), 0);
	assert_true(vlapic_tsc_deadline_read(&lapic, &value));
	assert_int_equal(value, 0);
}

/* ------------------------------------------------------------------------
 * IPIs
 * ------------------------------------------------------------------------ */

/** xAPIC ICR: the low write sends, with the 8-bit destination from ICR[63:56]. */
static void test_vlapic_xapic_icr_decode(void **state)
{
	software_enable();
	wr(T_ICR_HIGH, 0x0f000000);
	wr(T_ICR_LOW, 0x00000852); /* fixed, logical, edge, vector 0x52 */
	assert_int_equal(ipi_count, 1);
	assert_int_equal(last_ipi.mode, VLAPIC_DELIVERY_FIXED);
	assert_int_equal(last_ipi.vector, 0x52);
	assert_int_equal(last_ipi.destination, 0x0f);
	assert_true(last_ipi.logical);
	assert_false(last_ipi.level);
	assert_int_equal(last_ipi.shorthand, VLAPIC_SHORTHAND_NONE);
	wr(T_ICR_LOW, 0x000c00f0); /* all excluding self */
	assert_int_equal(ipi_count, 2);
	assert_int_equal(last_ipi.shorthand, VLAPIC_SHORTHAND_ALL_BUT_SELF);
	assert_false(last_ipi.logical);
	wr(T_ICR_HIGH, 0x03000000);
	wr(T_ICR_LOW, 0x00004500); /* INIT, assert */
	assert_int_equal(ipi_count, 3);
	assert_int_equal(last_ipi.mode, VLAPIC_DELIVERY_INIT);
	assert_int_equal(last_ipi.destination, 3);
	wr(T_ICR_LOW, 0x0000060a); /* SIPI, vector 0x0a is legal here */
	assert_int_equal(ipi_count, 4);
	assert_int_equal(last_ipi.mode, VLAPIC_DELIVERY_SIPI);
	assert_int_equal(last_ipi.vector, 0x0a);
	assert_int_equal(latch_esr(), 0);
}

/** INIT level de-assert and reserved delivery modes send nothing. */
static void test_vlapic_icr_not_sent(void **state)
{
	software_enable();
	wr(T_ICR_LOW, 0x00008500); /* INIT, level-triggered, de-assert */
	wr(T_ICR_LOW, 0x00000340); /* delivery mode 011b */
	wr(T_ICR_LOW, 0x00000740); /* delivery mode 111b */
	assert_int_equal(ipi_count, 0);
}

/** Shorthand self: delivered here, never to the callback; fixed mode only. */
static void test_vlapic_icr_self_shorthand(void **state)
{
	software_enable();
	wr(T_ICR_LOW, 0x00040061);
	assert_int_equal(ipi_count, 0);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x61);
	assert_int_equal(vector_bits(T_TMR, 0x61), 0);
	wr(T_ICR_LOW, 0x0004c062); /* level-triggered */
	assert_int_equal(vector_bits(T_TMR, 0x62), 1U << 2);
	wr(T_ICR_LOW, 0x00040400); /* NMI to self: not valid */
	assert_int_equal(ipi_count, 0);
	assert_false(lapic.pending_nmi);
	wr(T_ICR_LOW, 0x00040005); /* illegal vector */
	assert_int_equal(latch_esr(), T_ESR_SEND_ILLEGAL);
	assert_int_equal(rd(T_IRR), 0);
}

/* ------------------------------------------------------------------------
 * x2APIC
 * ------------------------------------------------------------------------ */

/** x2APIC registers: 32-bit ID, same version, LDR derived from the ID (SDM 11.12.10.2). */
static void test_vlapic_x2apic_registers(void **state)
{
	reset_apic(0x25, true, T_TSC_HZ, T_TSC_HZ);
	enter_x2apic();
	assert_true(vlapic_x2apic_mode(&lapic));
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00d00ULL);
	assert_int_equal(msr_rd(M_ID), 0x25);
	assert_int_equal(msr_rd(M_VERSION), T_VERSION_VALUE);
	assert_int_equal(msr_rd(M_LDR), 0x00020020);
	assert_int_equal(msr_rd(M_SVR), 0xff);
	assert_int_equal(msr_rd(M_TPR), 0);
	assert_int_equal(msr_rd(M_PPR), 0);
	assert_int_equal(msr_rd(M_LVT_TIMER), T_LVT_MASKED);
	assert_int_equal(msr_rd(M_ISR0 + 7), 0);
	assert_int_equal(msr_rd(M_TMR0), 0);
	assert_int_equal(msr_rd(M_IRR0 + 7), 0);
	assert_true(vlapic_msr_write(&lapic, M_SVR, T_SVR_ENABLED));
	assert_true(vlapic_msr_write(&lapic, M_TPR, 0x50));
	assert_int_equal(msr_rd(M_PPR), 0x50);
	assert_int_equal(page[0x80], 0x50);
	vlapic_accept_interrupt(&lapic, 0xff, false);
	assert_int_equal(msr_rd(M_IRR0 + 7), 0x80000000);
	reset_apic(0x1234e, false, T_TSC_HZ, T_TSC_HZ);
	enter_x2apic();
	assert_int_equal(msr_rd(M_ID), 0x1234e);
	assert_int_equal(msr_rd(M_LDR), 0x12344000); /* cluster 0x1234, bit 14 */
}

/** x2APIC timer registers through MSRs. */
static void test_vlapic_x2apic_timer(void **state)
{
	enter_x2apic();
	assert_true(vlapic_msr_write(&lapic, M_SVR, T_SVR_ENABLED));
	assert_true(vlapic_msr_write(&lapic, M_LVT_TIMER, 0x40));
	assert_true(vlapic_msr_write(&lapic, M_DCR, 0x3)); /* divide by 16 */
	clock_now = 100;
	assert_true(vlapic_msr_write(&lapic, M_TMICT, 10));
	assert_int_equal(msr_rd(M_TMICT), 10);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), 260);
	clock_now = 132;
	assert_int_equal(msr_rd(M_TMCCT), 8);
}

/** RDMSR/WRMSR that must #GP (SDM 11.12.1.2, 11.12.1.3). */
static void test_vlapic_x2apic_gp_cases(void **state)
{
	static const uint32_t reserved[] = { 0x7ff, 0x800, 0x801, 0x804, 0x809, 0x80c, 0x80e,
					     0x82f, 0x831, 0x83a, 0x840, 0x8ff, 0x900 };
	static const uint32_t read_only[] = { M_ID, M_VERSION, M_PPR, M_LDR, M_ISR0, M_TMR0,
					      M_IRR0, M_IRR0 + 7, M_TMCCT };
	uint64_t value;

	assert_false(vlapic_msr_read(&lapic, M_ID, &value)); /* xAPIC mode */
	assert_false(vlapic_msr_write(&lapic, M_TPR, 0));
	enter_x2apic();
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		assert_false(vlapic_msr_read(&lapic, reserved[i], &value));
		assert_false(vlapic_msr_write(&lapic, reserved[i], 0));
	}
	for (size_t i = 0; i < sizeof(read_only) / sizeof(read_only[0]); i++) {
		assert_false(vlapic_msr_write(&lapic, read_only[i], 0));
	}
	assert_false(vlapic_msr_read(&lapic, M_EOI, &value));
	assert_false(vlapic_msr_read(&lapic, M_SELF_IPI, &value));
	assert_false(vlapic_msr_write(&lapic, M_EOI, 1));
	assert_true(vlapic_msr_write(&lapic, M_EOI, 0));
	assert_false(vlapic_msr_write(&lapic, M_ESR, 1));
	assert_true(vlapic_msr_write(&lapic, M_ESR, 0));
	assert_false(vlapic_msr_write(&lapic, M_TPR, 0x100));
	assert_false(vlapic_msr_write(&lapic, M_TPR, 1ULL << 32));
	assert_false(vlapic_msr_write(&lapic, M_SVR, 0x10ff)); /* no EOI-broadcast suppression */
	assert_false(vlapic_msr_write(&lapic, M_LVT_TIMER, 0x1040)); /* delivery status */
	assert_false(vlapic_msr_write(&lapic, M_LVT_LINT0, 0x20000));
	assert_false(vlapic_msr_write(&lapic, M_DCR, 0x4));
	assert_false(vlapic_msr_write(&lapic, M_SELF_IPI, 0x100));
	assert_false(vlapic_msr_write(&lapic, M_ICR, 0x1030)); /* bit 12 */
	assert_false(vlapic_msr_write(&lapic, M_ICR, 0x2030)); /* bit 13 */
	assert_false(vlapic_msr_write(&lapic, M_ICR, 0x10030)); /* bit 16 */
	assert_false(vlapic_msr_write(&lapic, M_ICR, 0x100030)); /* bit 20 */
	assert_int_equal(ipi_count, 0);
	assert_int_equal(msr_rd(M_TPR), 0);
	assert_int_equal(msr_rd(M_SVR), 0xff);
}

/** x2APIC ICR: one 64-bit MSR, 32-bit destination in bits 63:32. */
static void test_vlapic_x2apic_icr(void **state)
{
	enter_x2apic();
	assert_true(vlapic_msr_write(&lapic, M_SVR, T_SVR_ENABLED));
	assert_true(vlapic_msr_write(&lapic, M_ICR, 0x123456780000c831ULL));
	assert_int_equal(ipi_count, 1);
	assert_int_equal(last_ipi.mode, VLAPIC_DELIVERY_FIXED);
	assert_int_equal(last_ipi.vector, 0x31);
	assert_int_equal(last_ipi.destination, 0x12345678);
	assert_true(last_ipi.logical);
	assert_true(last_ipi.level);
	assert_int_equal(last_ipi.shorthand, VLAPIC_SHORTHAND_NONE);
	assert_int_equal(msr_rd(M_ICR), 0x123456780000c831ULL);
	assert_true(vlapic_msr_write(&lapic, M_ICR, 0xffffffff00080400ULL)); /* NMI to all */
	assert_int_equal(ipi_count, 2);
	assert_int_equal(last_ipi.mode, VLAPIC_DELIVERY_NMI);
	assert_int_equal(last_ipi.shorthand, VLAPIC_SHORTHAND_ALL);
	assert_int_equal(last_ipi.destination, 0xffffffff);
}

/** SELF IPI (MSR 0x83f): a fixed, edge-triggered interrupt to this APIC only. */
static void test_vlapic_x2apic_self_ipi(void **state)
{
	enter_x2apic();
	assert_true(vlapic_msr_write(&lapic, M_SVR, T_SVR_ENABLED));
	assert_true(vlapic_msr_write(&lapic, M_SELF_IPI, 0x77));
	assert_int_equal(ipi_count, 0);
	assert_int_equal(vlapic_pending_vector(&lapic), 0x77);
	assert_int_equal(msr_rd(M_TMR0 + 3), 0);
	assert_int_equal(msr_rd(M_IRR0 + 3), 0x00800000);
	vlapic_acknowledge(&lapic, 0x77);
	assert_int_equal(msr_rd(M_ISR0 + 3), 0x00800000);
	assert_true(vlapic_msr_write(&lapic, M_EOI, 0));
	assert_int_equal(msr_rd(M_ISR0 + 3), 0);
}

/* ------------------------------------------------------------------------
 * IA32_APIC_BASE and INIT
 * ------------------------------------------------------------------------ */

/** Puts the APIC in @state (EN/EXTD bits) by legal steps. */
static void go_to_state(uint64_t state_bits)
{
	reset_apic(T_APIC_ID, true, T_TSC_HZ, T_TSC_HZ);
	if (state_bits == 0) {
		assert_true(vlapic_set_base(&lapic, B_BASE | B_BSP));
	} else if (state_bits == (B_EN | B_EXTD)) {
		enter_x2apic();
	}
}

/** Every transition of the x2APIC state diagram (SDM 11.12.5). */
static void test_vlapic_apic_base_transitions(void **state)
{
	static const struct {
		uint64_t from;
		uint64_t to;
		bool legal;
	} cases[] = {
		{ B_EN, B_EN | B_EXTD, true },  { B_EN, 0, true },
		{ B_EN, B_EXTD, false },        { B_EN, B_EN, true },
		{ B_EN | B_EXTD, B_EN, false }, { B_EN | B_EXTD, 0, true },
		{ B_EN | B_EXTD, B_EXTD, false }, { B_EN | B_EXTD, B_EN | B_EXTD, true },
		{ 0, B_EN | B_EXTD, false },    { 0, B_EN, true },
		{ 0, B_EXTD, false },           { 0, 0, true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		go_to_state(cases[i].from);
		assert_int_equal(vlapic_set_base(&lapic, B_BASE | B_BSP | cases[i].to),
				 cases[i].legal);
		assert_int_equal(vlapic_get_base(&lapic),
				 B_BASE | B_BSP | (cases[i].legal ? cases[i].to : cases[i].from));
	}
}

/** Relocation and reserved bits are refused; the BSP flag is read-only. */
static void test_vlapic_apic_base_reserved_and_relocation(void **state)
{
	assert_false(vlapic_set_base(&lapic, 0xfed00000ULL | B_EN | B_BSP));
	assert_false(vlapic_set_base(&lapic, B_XAPIC | B_BSP | 0x1));
	assert_false(vlapic_set_base(&lapic, B_XAPIC | B_BSP | 0x200));
	assert_false(vlapic_set_base(&lapic, B_XAPIC | B_BSP | (1ULL << 36)));
	assert_false(vlapic_set_base(&lapic, B_XAPIC | B_BSP | (1ULL << 63)));
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00900ULL);
	assert_true(vlapic_set_base(&lapic, B_XAPIC));
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00900ULL);
	reset_apic(1, false, T_TSC_HZ, T_TSC_HZ);
	assert_true(vlapic_set_base(&lapic, B_XAPIC | B_BSP));
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00800ULL);
}

/** Globally disabling loses the state; re-enabling finds the RESET values. */
static void test_vlapic_apic_base_disable_resets(void **state)
{
	software_enable();
	wr(T_TPR, 0x30);
	wr(T_LVT_LINT0, 0x700);
	wr(T_LVT_TIMER, 0x40);
	wr(T_TMICT, 100);
	vlapic_accept_interrupt(&lapic, 0x80, false);
	assert_true(vlapic_set_base(&lapic, B_BASE | B_BSP));
	assert_false(vlapic_enabled(&lapic));
	assert_int_equal(vlapic_pending_vector(&lapic), -1);
	assert_int_equal(vlapic_timer_next_deadline(&lapic), UINT64_MAX);
	assert_false(vlapic_matches_destination(&lapic, T_APIC_ID, false));
	vlapic_accept(&lapic, VLAPIC_DELIVERY_NMI, 0, false);
	assert_false(lapic.pending_nmi);
	assert_true(vlapic_set_base(&lapic, B_XAPIC | B_BSP));
	assert_int_equal(rd(T_ID), 0x05000000);
	assert_int_equal(rd(T_TPR), 0);
	assert_int_equal(rd(T_SVR), 0xff);
	assert_int_equal(rd(T_LVT_LINT0), T_LVT_MASKED);
	assert_int_equal(rd(T_LVT_TIMER), T_LVT_MASKED);
	assert_int_equal(rd(T_TMICT), 0);
	assert_int_equal(rd(T_IRR + 0x40), 0);
}

/** x2APIC -> disabled -> xAPIC: the two-step way back, xAPIC ID in bits 31:24 again. */
static void test_vlapic_x2apic_back_to_xapic(void **state)
{
	enter_x2apic();
	assert_true(vlapic_msr_write(&lapic, M_TPR, 0x20));
	assert_true(vlapic_set_base(&lapic, B_BASE | B_BSP));
	assert_true(vlapic_set_base(&lapic, B_XAPIC | B_BSP));
	assert_int_equal(rd(T_ID), 0x05000000);
	assert_int_equal(rd(T_LDR), 0);
	assert_int_equal(rd(T_TPR), 0);
}

/** INIT resets the registers but keeps the ID and the mode (SDM 11.12.5.1). */
static void test_vlapic_init_signal(void **state)
{
	reset_apic(0x25, false, T_TSC_HZ, T_TSC_HZ);
	enter_x2apic();
	assert_true(vlapic_msr_write(&lapic, M_SVR, T_SVR_ENABLED));
	assert_true(vlapic_msr_write(&lapic, M_TPR, 0x20));
	vlapic_reset_on_init(&lapic);
	assert_true(vlapic_x2apic_mode(&lapic));
	assert_int_equal(msr_rd(M_ID), 0x25);
	assert_int_equal(msr_rd(M_LDR), 0x00020020);
	assert_int_equal(msr_rd(M_TPR), 0);
	assert_int_equal(msr_rd(M_SVR), 0xff);
	assert_int_equal(vlapic_get_base(&lapic), 0xfee00c00ULL);
}

/* ------------------------------------------------------------------------
 * Destinations
 * ------------------------------------------------------------------------ */

/** xAPIC physical and flat/cluster logical destinations (SDM 11.6.2). */
static void test_vlapic_xapic_destinations(void **state)
{
	assert_true(vlapic_matches_destination(&lapic, 5, false));
	assert_false(vlapic_matches_destination(&lapic, 6, false));
	assert_true(vlapic_matches_destination(&lapic, 0xff, false));
	wr(T_LDR, 0x04000000);
	assert_true(vlapic_matches_destination(&lapic, 0x04, true));
	assert_true(vlapic_matches_destination(&lapic, 0x0c, true));
	assert_false(vlapic_matches_destination(&lapic, 0x03, true));
	assert_true(vlapic_matches_destination(&lapic, 0xff, true));
	wr(T_DFR, 0x0fffffff); /* cluster model */
	wr(T_LDR, 0x32000000); /* cluster 3, member bit 1 */
	assert_true(vlapic_matches_destination(&lapic, 0x32, true));
	assert_true(vlapic_matches_destination(&lapic, 0x36, true));
	assert_false(vlapic_matches_destination(&lapic, 0x31, true));
	assert_false(vlapic_matches_destination(&lapic, 0x22, true));
	assert_true(vlapic_matches_destination(&lapic, 0xff, true));
}

/** x2APIC physical (32-bit ID) and logical (cluster 16 bits, bitmap 16 bits). */
static void test_vlapic_x2apic_destinations(void **state)
{
	reset_apic(0x25, true, T_TSC_HZ, T_TSC_HZ);
	enter_x2apic();
	assert_true(vlapic_matches_destination(&lapic, 0x25, false));
	assert_false(vlapic_matches_destination(&lapic, 0x125, false));
	assert_true(vlapic_matches_destination(&lapic, 0xffffffff, false));
	assert_true(vlapic_matches_destination(&lapic, 0x00020020, true));
	assert_true(vlapic_matches_destination(&lapic, 0x00020030, true));
	assert_false(vlapic_matches_destination(&lapic, 0x00010020, true));
	assert_false(vlapic_matches_destination(&lapic, 0x00020010, true));
	assert_true(vlapic_matches_destination(&lapic, 0xffffffff, true));
}

/** A page that is not page-aligned is a caller bug. */
static void test_vlapic_init_requires_aligned_page(void **state)
{
	struct vlapic other;

	expect_assert_failure(vlapic_init(&other, page + 16, 0, true, T_TSC_HZ, T_TSC_HZ));
}

#define T(name) cmocka_unit_test_setup(name, setup)

/** Runs every test. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_vlapic_reset_apic_base),
		T(test_vlapic_reset_register_values),
		T(test_vlapic_reset_page_layout),
		T(test_vlapic_read_only_registers),
		T(test_vlapic_eoi_reads_zero),
		T(test_vlapic_writable_bits),
		T(test_vlapic_icr_delivery_status_idle),
		T(test_vlapic_mmio_odd_sizes_and_offsets),
		T(test_vlapic_reserved_register_sets_esr),
		T(test_vlapic_mmio_off_outside_xapic_mode),
		T(test_vlapic_mmio_ops_table),
		T(test_vlapic_tpr_masks_same_class),
		T(test_vlapic_tpr_read_from_page),
		T(test_vlapic_ppr),
		T(test_vlapic_acknowledge_moves_irr_to_isr),
		T(test_vlapic_isr_nesting_and_eoi_order),
		T(test_vlapic_level_eoi_callback),
		T(test_vlapic_illegal_vector_sets_esr),
		T(test_vlapic_error_interrupt),
		T(test_vlapic_software_disabled_delivery),
		T(test_vlapic_svr_disable_masks_lvts),
		T(test_vlapic_esr_write_then_read),
		T(test_vlapic_tpr_threshold),
		T(test_vlapic_accept_delivery_modes),
		T(test_vlapic_lint_pins),
		T(test_vlapic_lint_pins_when_disabled),
		T(test_vlapic_timer_one_shot),
		T(test_vlapic_timer_one_shot_reads_zero_when_late),
		T(test_vlapic_timer_divide_values),
		T(test_vlapic_timer_clock_conversion),
		T(test_vlapic_timer_fast_clock_rounds_up),
		T(test_vlapic_timer_periodic_no_drift),
		T(test_vlapic_timer_periodic_current_count_reloads),
		T(test_vlapic_timer_divide_change_at_reload),
		T(test_vlapic_timer_masked_one_shot_expires),
		T(test_vlapic_timer_initial_count_stops_and_restarts),
		T(test_vlapic_timer_mode_change_disarms),
		T(test_vlapic_tsc_deadline_guest_units),
		T(test_vlapic_tsc_deadline_negative_offset),
		T(test_vlapic_tsc_deadline_past_zero_and_counts),
		T(test_vlapic_tsc_deadline_outside_mode),
		T(test_vlapic_tsc_deadline_masked),
		T(test_vlapic_xapic_icr_decode),
		T(test_vlapic_icr_not_sent),
		T(test_vlapic_icr_self_shorthand),
		T(test_vlapic_x2apic_registers),
		T(test_vlapic_x2apic_timer),
		T(test_vlapic_x2apic_gp_cases),
		T(test_vlapic_x2apic_icr),
		T(test_vlapic_x2apic_self_ipi),
		T(test_vlapic_apic_base_transitions),
		T(test_vlapic_apic_base_reserved_and_relocation),
		T(test_vlapic_apic_base_disable_resets),
		T(test_vlapic_x2apic_back_to_xapic),
		T(test_vlapic_init_signal),
		T(test_vlapic_xapic_destinations),
		T(test_vlapic_x2apic_destinations),
		T(test_vlapic_init_requires_aligned_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
