/*
 * Host tests of the PC platform's glue (hv/platform.c) as a guest reaches
 * it: port I/O exits routed to the devices (whole accesses for PCI and the
 * PM block), the IRQ routing (PIT IRQ0 through the 8259 and LINT0 in
 * ExtINT mode, the UART's IRQ4 and the SCI through the I/O APIC, GSI 2 for
 * IRQ0), the level-triggered EOI path back to the I/O APIC, the reset and
 * power-off requests with on_reboot / on_poweroff, CMOS memory sizes, and
 * the ACPI tables and EBDA pointer in RAM.
 *
 * Expected values come from the data sheets: 8259A (ICW1-4, OCW3), 8254
 * (mode 2 edges), MC146818 and the PC/AT CMOS map, 82093AA (redirection
 * entries), ACPI 6.0 (PM1, SLP_TYP/SLP_EN, RSDP), ICH9 RST_CNT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/exit.h"
#include "hv/platform.h"
#include "hv/vcpu_events.h"
#include "tests/unit/support/console_capture.h"
#include "tests/unit/support/fake_phys.h"
#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

#define GUEST_RIP   0x100000
#define INSN_LENGTH 1
#define RFLAGS_IF_SET 0x202ULL
#define INJECT_EXTERNAL(v) (0x80000000U | (v)) /* valid, type 0 (external interrupt) */

/* The fake TSC rate (tests/unit/support/fake_vmx.c): 1 GHz. */
#define T_TSC_HZ 1000000000ULL
/* 8254 mode 2 at 1193 (about 1 kHz) written at TSC 0: OUT rises at ticks 1194, 2387 (N + 1, 2N + 1). */
#define T_PIT_LATCH     1193
#define T_FIRST_EDGE    1000686ULL /* ceil(1194e9 / 1193182) */
#define T_SECOND_EDGE   2000534ULL /* ceil(2387e9 / 1193182) */

/* 8259A: ICW1 edge, cascade, ICW4 needed; the vector bases Linux and the pcplat guest use. */
#define ICW1_INIT    0x11
#define MASTER_BASE  0x20
#define SLAVE_BASE   0x28
#define ICW3_MASTER  0x04 /* slave on IR2 */
#define ICW3_SLAVE   0x02 /* cascade ID 2 */
#define ICW4_8086    0x01
#define OCW3_READ_ISR 0x0b

/* Local APIC registers (SDM Table 11-1) and values. */
#define APIC_EOI       0xb0
#define APIC_SVR       0xf0
#define APIC_LVT_LINT0 0x350
#define SVR_ENABLED    0x1ff
#define LVT_EXTINT     0x700
#define LVT_MASKED     0x10000

/* I/O APIC window and redirection entry bits (82093AA 3.2.4). */
#define IOREGSEL 0x00
#define IOWIN    0x10
#define RTE_LEVEL      BIT(15)
#define RTE_REMOTE_IRR BIT(14)

/* The UART: IER THRE interrupt enable, MCR OUT2 (gates IRQ4 onto the bus). */
#define UART_IER 0x3f9
#define UART_MCR 0x3fc
#define IER_THRE 0x02
#define MCR_OUT2 0x08

static struct vcpu *vcpu;
static struct partition *p;

/** The wall time the virtual RTC starts at: a leap day, two seconds before midnight. */
static const struct vrtc_time wall = {
	.year = 2024, .month = 2, .day = 29, .hour = 23, .minute = 59, .second = 58,
};

/** A running one-vCPU partition of 16 MiB with its platform reset at TSC 0. */
static int setup(void **state)
{
	vcpu = test_vcpu_setup("plat");
	p = &test_vcpu_partition;
	test_vcpu_config.vcpus = 1;
	fake_phys_init_with_allocator(FAKE_PHYS_DEFAULT_SIZE);
	console_capture_start();
	platform_init(p, &wall, 0);
	return 0;
}

/** Removes the console sink and the arena. */
static int teardown(void **state)
{
	console_capture_stop();
	fake_phys_fini();
	return 0;
}

/** One port I/O exit of @size bytes at @port (RAX preset); returns the result. */
static enum exit_result port_exit(uint16_t port, unsigned int size, bool in, uint64_t rax)
{
	vcpu->regs.rax = rax;
	vmcs_write32(VMCS_EXIT_REASON, EXIT_REASON_IO_INSTRUCTION);
	vmcs_writel(VMCS_EXIT_QUALIFICATION,
		    ((uint64_t)port << 16) | (in ? 8U : 0U) | (uint64_t)(size - 1));
	vmcs_writel(VMCS_GUEST_RIP, GUEST_RIP);
	vmcs_write32(VMCS_EXIT_INSTRUCTION_LENGTH, INSN_LENGTH);
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	return exit_dispatch(vcpu);
}

/** OUT that must complete. */
static void out(uint16_t port, unsigned int size, uint32_t value)
{
	assert_int_equal(port_exit(port, size, false, value), EXIT_RESUME);
}

/** IN that must complete; returns the bytes read (RAX's low @size bytes). */
static uint32_t in(uint16_t port, unsigned int size)
{
	assert_int_equal(port_exit(port, size, true, 0), EXIT_RESUME);
	return (uint32_t)(vcpu->regs.rax & (size == 4 ? 0xffffffffULL : (BIT(8 * size) - 1)));
}

/** Programs both 8259As as a PC BIOS or Linux does, leaving only @master_unmasked open. */
static void program_pics(uint8_t master_unmasked)
{
	out(0x20, 1, ICW1_INIT);
	out(0x21, 1, MASTER_BASE);
	out(0x21, 1, ICW3_MASTER);
	out(0x21, 1, ICW4_8086);
	out(0xa0, 1, ICW1_INIT);
	out(0xa1, 1, SLAVE_BASE);
	out(0xa1, 1, ICW3_SLAVE);
	out(0xa1, 1, ICW4_8086);
	out(0x21, 1, (uint8_t)~master_unmasked);
	out(0xa1, 1, 0xff);
}

/** Channel 0 in mode 2 (rate generator) with T_PIT_LATCH, written at TSC 0. */
static void program_pit_at_zero(void)
{
	platform_port_write(p, 0x43, 1, 0x34, 0);
	platform_port_write(p, 0x40, 1, T_PIT_LATCH & 0xff, 0);
	platform_port_write(p, 0x40, 1, T_PIT_LATCH >> 8, 0);
}

/** A local APIC register write, as the guest's MOV would do it. */
static void lapic_write(uint32_t offset, uint32_t value)
{
	vlapic_mmio_write(&vcpu->lapic, offset, value, 4);
}

/** Writes both halves of I/O APIC redirection entry @pin. */
static void ioapic_route(unsigned int pin, uint64_t entry)
{
	struct vioapic *io = &p->platform.ioapic;

	vioapic_mmio_ops.write(io, IOREGSEL, 0x10 + 2 * pin, 4);
	vioapic_mmio_ops.write(io, IOWIN, (uint32_t)entry, 4);
	vioapic_mmio_ops.write(io, IOREGSEL, 0x11 + 2 * pin, 4);
	vioapic_mmio_ops.write(io, IOWIN, (uint32_t)(entry >> 32), 4);
}

/** The low dword of I/O APIC redirection entry @pin. */
static uint32_t ioapic_entry_low(unsigned int pin)
{
	struct vioapic *io = &p->platform.ioapic;

	vioapic_mmio_ops.write(io, IOREGSEL, 0x10 + 2 * pin, 4);
	return (uint32_t)vioapic_mmio_ops.read(io, IOWIN, 4);
}

/** What the next VM entry injects after vcpu_events_prepare(), with IF set and no shadow. */
static uint32_t injected_at_entry(void)
{
	vmcs_writel(VMCS_GUEST_RFLAGS, RFLAGS_IF_SET);
	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vcpu_events_prepare(vcpu);
	return vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO);
}

/** A CMOS byte through ports 0x70/0x71. */
static uint8_t cmos_read(uint8_t index)
{
	out(0x70, 1, index);
	return (uint8_t)in(0x71, 1);
}

/** The PIT's IRQ0 is GSI 2 (the MADT override); the others keep their number. */
static void test_isa_irq_to_gsi(void **state)
{
	assert_int_equal(platform_isa_gsi(0), 2);
	assert_int_equal(platform_isa_gsi(1), 1);
	assert_int_equal(platform_isa_gsi(4), 4);
	assert_int_equal(platform_isa_gsi(9), 9);
	assert_int_equal(platform_isa_gsi(15), 15);
}

/**
 * PIT mode 2 → IRQ0 edge → master 8259 IR0 → INTR → LINT0 (ExtINT) →
 * vector 0x20 injected, ISR bit 0 set by the acknowledge; a halted vCPU 0
 * wakes at the edge and not before.
 */
static void test_pit_irq0_through_pic_and_lint0(void **state)
{
	program_pics(BIT(0));
	lapic_write(APIC_SVR, SVR_ENABLED);
	lapic_write(APIC_LVT_LINT0, LVT_EXTINT);
	program_pit_at_zero();
	assert_int_equal(vcpu_events_next_deadline(vcpu), T_FIRST_EDGE);
	assert_false(vcpu_events_wakes(vcpu, T_FIRST_EDGE - 1));
	assert_true(vcpu_events_wakes(vcpu, T_FIRST_EDGE));
	assert_int_equal(vcpu_events_next_deadline(vcpu), T_SECOND_EDGE);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(MASTER_BASE));
	out(0x20, 1, OCW3_READ_ISR);
	assert_int_equal(in(0x20, 1), 0x01);
	/* Nothing else pending until the guest's EOI and the next edge. */
	assert_false(vcpu_events_wakes(vcpu, T_SECOND_EDGE - 1));
	out(0x20, 1, 0x20); /* non-specific EOI */
	assert_int_equal(in(0x20, 1), 0x00);
	assert_true(vcpu_events_wakes(vcpu, T_SECOND_EDGE));
}

/** With LINT0 masked (its reset state) the PIC's INTR reaches nobody. */
static void test_pic_needs_lint0_extint(void **state)
{
	program_pics(BIT(0));
	lapic_write(APIC_SVR, SVR_ENABLED);
	program_pit_at_zero();
	assert_false(vcpu_events_wakes(vcpu, T_FIRST_EDGE));
	assert_int_equal(platform_extint_vector(vcpu), -1);
	/* Unmasked in ExtINT mode, the latched request comes through. */
	lapic_write(APIC_LVT_LINT0, LVT_EXTINT);
	assert_int_equal(platform_extint_vector(vcpu), MASTER_BASE);
	lapic_write(APIC_LVT_LINT0, LVT_EXTINT | LVT_MASKED);
	assert_int_equal(platform_extint_vector(vcpu), -1);
}

/** A local APIC interrupt goes before the PIC's (the APIC's IRR is looked at first). */
static void test_lapic_interrupt_before_extint(void **state)
{
	program_pics(BIT(0));
	lapic_write(APIC_SVR, SVR_ENABLED);
	lapic_write(APIC_LVT_LINT0, LVT_EXTINT);
	program_pit_at_zero();
	platform_update_timers(p, T_FIRST_EDGE);
	vlapic_accept_interrupt(&vcpu->lapic, 0x50, false);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x50));
	lapic_write(APIC_EOI, 0);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(MASTER_BASE));
}

/** IRQ0 also reaches the I/O APIC, on pin 2: vector 0x30 through its redirection entry. */
static void test_pit_irq0_through_ioapic_gsi2(void **state)
{
	lapic_write(APIC_SVR, SVR_ENABLED);
	ioapic_route(2, 0x30); /* fixed, physical, APIC ID 0, edge, active high */
	program_pit_at_zero();
	assert_true(vcpu_events_wakes(vcpu, T_FIRST_EDGE));
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x30));
	/* Pin 0 saw nothing: routed, it still delivers no interrupt. */
	ioapic_route(0, 0x31);
	lapic_write(APIC_EOI, 0);
	assert_false(vcpu_events_wakes(vcpu, T_SECOND_EDGE - 1));
	assert_true(vcpu_events_wakes(vcpu, T_SECOND_EDGE));
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x30));
}

/**
 * The UART's IRQ4: THRE enabled with OUT2 set raises it, the I/O APIC
 * delivers vector 0x34 to APIC ID 0; reading IIR (which reports THRE)
 * lowers it again, and a new THRE edge delivers again.
 */
static void test_uart_irq4_through_ioapic(void **state)
{
	lapic_write(APIC_SVR, SVR_ENABLED);
	ioapic_route(4, 0x34);
	out(UART_IER, 1, IER_THRE);
	assert_int_equal(vlapic_pending_vector(&vcpu->lapic), -1); /* OUT2 still low */
	out(UART_MCR, 1, MCR_OUT2);
	assert_true(p->platform.uart_irq);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x34));
	assert_int_equal(in(0x3fa, 1), 0x02); /* IIR: THRE, which the read clears */
	assert_false(p->platform.uart_irq);
	lapic_write(APIC_EOI, 0);
	assert_int_equal(injected_at_entry(), 0);
	out(0x3f8, 1, 'x'); /* THR written and sent: THRE again */
	assert_true(p->platform.uart_irq);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x34));
	/* The PIC, masked since reset, holds nothing for it. */
	assert_int_equal(platform_extint_vector(vcpu), -1);
}

/** A destination that is no vCPU's APIC ID takes nothing. */
static void test_ioapic_destination_must_match(void **state)
{
	lapic_write(APIC_SVR, SVR_ENABLED);
	ioapic_route(4, 0x34 | (1ULL << 56)); /* APIC ID 1: no such vCPU */
	out(UART_IER, 1, IER_THRE);
	out(UART_MCR, 1, MCR_OUT2);
	assert_int_equal(injected_at_entry(), 0);
}

/**
 * The SCI, level-triggered on GSI 9: the power button raises it once
 * enabled; the delivery sets remote IRR; the local APIC's EOI of the
 * level vector reaches the I/O APIC, which delivers again while the pin
 * stays high, and not after the guest cleared PWRBTN_STS.
 */
static void test_sci_level_eoi_path(void **state)
{
	lapic_write(APIC_SVR, SVR_ENABLED);
	ioapic_route(9, 0x39 | RTE_LEVEL);
	out(ACPI_PM1A_EVT + 2, 2, VACPI_PM1_PWRBTN); /* PM1_EN */
	p->shutdown_requested = true;
	platform_update_timers(p, 1);
	assert_true(p->platform.sci);
	assert_int_equal(in(ACPI_PM1A_EVT, 2), VACPI_PM1_PWRBTN);
	assert_int_equal(ioapic_entry_low(9), 0x39 | RTE_LEVEL | RTE_REMOTE_IRR);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x39));
	/* EOI while the status is still set: delivered again. */
	lapic_write(APIC_EOI, 0);
	assert_int_equal(ioapic_entry_low(9), 0x39 | RTE_LEVEL | RTE_REMOTE_IRR);
	assert_int_equal(injected_at_entry(), INJECT_EXTERNAL(0x39));
	/* The handler clears PWRBTN_STS (write 1), the line falls; the EOI ends it. */
	out(ACPI_PM1A_EVT, 2, VACPI_PM1_PWRBTN);
	assert_false(p->platform.sci);
	lapic_write(APIC_EOI, 0);
	assert_int_equal(ioapic_entry_low(9), 0x39 | RTE_LEVEL);
	assert_int_equal(injected_at_entry(), 0);
	/* The button is pressed once per request. */
	platform_update_timers(p, 2);
	assert_false(p->platform.sci);
}

/** Asserts the partition stopped with @reason and the exit said @result. */
static void assert_ended(enum exit_result got, enum exit_result expected, const char *reason)
{
	assert_int_equal(got, expected);
	assert_string_equal(p->stop_reason, reason);
	assert_false(platform_end_requested(p));
}

/** 0xCF9 with RST_CPU | SYS_RST (the FADT's reset value): reset, restarted by default policy. */
static void test_reset_control_restarts(void **state)
{
	unsigned int restarts = fake_restart_count;

	test_vcpu_config.on_reboot = GUEST_END_RESTART;
	assert_ended(port_exit(ACPI_RESET_PORT, 1, false, ACPI_RESET_VALUE), EXIT_RESCHEDULE,
		     "reset by the guest");
	assert_int_equal(fake_restart_count, restarts + 1);
	assert_int_equal(p->state, PARTITION_RUNNING);
}

/** SYS_RST alone resets nothing; RST_CPU alone (INIT) does, and on_reboot = stop stops. */
static void test_reset_control_bits(void **state)
{
	test_vcpu_config.on_reboot = GUEST_END_STOP;
	out(ACPI_RESET_PORT, 1, VPCI_RST_SYS);
	assert_int_equal(p->state, PARTITION_RUNNING);
	assert_ended(port_exit(ACPI_RESET_PORT, 1, false, VPCI_RST_CPU), EXIT_STOPPED,
		     "reset by the guest");
	assert_int_equal(p->state, PARTITION_STOPPED);
}

/** The keyboard controller's pulse (0xFE to 0x64) resets; its other commands do nothing. */
static void test_keyboard_controller_pulse(void **state)
{
	test_vcpu_config.on_reboot = GUEST_END_STOP;
	out(0x64, 1, 0xd1); /* write output port: ignored */
	out(0x64, 1, 0xad);
	assert_int_equal(in(0x64, 1), 0xff); /* no controller to read */
	assert_ended(port_exit(0x64, 1, false, 0xfe), EXIT_STOPPED, "reset by the guest");
}

/** Port 0x92: reset on bit 0's rising edge only; A20 reads 1. */
static void test_port_92_fast_reset(void **state)
{
	unsigned int restarts = fake_restart_count;

	test_vcpu_config.on_reboot = GUEST_END_RESTART;
	assert_int_equal(in(0x92, 1), PLATFORM_PORT_A_A20);
	out(0x92, 1, 0x00);
	assert_int_equal(in(0x92, 1), PLATFORM_PORT_A_A20); /* A20 cannot be masked */
	assert_ended(port_exit(0x92, 1, false, 0x03), EXIT_RESCHEDULE, "reset by the guest");
	assert_int_equal(fake_restart_count, restarts + 1);
	/* Bit 0 still set (the host stand-in keeps the devices): no edge, no reset. */
	out(0x92, 1, 0x03);
	assert_int_equal(in(0x92, 1), PLATFORM_PORT_A_A20);
	out(0x92, 1, 0x02);
	assert_ended(port_exit(0x92, 1, false, 0x01), EXIT_RESCHEDULE, "reset by the guest");
	assert_int_equal(fake_restart_count, restarts + 2);
}

/** PM1a_CNT with SLP_TYP = S5 and SLP_EN (one 16-bit write): powered off, per on_poweroff. */
static void test_acpi_s5_powers_off(void **state)
{
	uint32_t s5 = (ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN;
	unsigned int restarts = fake_restart_count;

	/* SLP_TYP without SLP_EN only selects the state. */
	out(ACPI_PM1A_CNT, 2, ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT);
	assert_int_equal(p->state, PARTITION_RUNNING);
	test_vcpu_config.on_poweroff = GUEST_END_RESTART;
	assert_ended(port_exit(ACPI_PM1A_CNT, 2, false, s5), EXIT_RESCHEDULE,
		     "powered off by the guest");
	assert_int_equal(fake_restart_count, restarts + 1);
	test_vcpu_config.on_poweroff = GUEST_END_STOP;
	assert_ended(port_exit(ACPI_PM1A_CNT, 2, false, s5), EXIT_STOPPED,
		     "powered off by the guest");
	assert_int_equal(p->state, PARTITION_STOPPED);
	assert_int_equal(fake_restart_count, restarts + 1);
}

/**
 * PCI configuration: a dword to 0xCF8 and whole reads at 0xCFC-0xCFF reach
 * the host bridge 8086:29C0 (class 060000); a byte at 0xCF8 is not
 * CONFIG_ADDRESS and reads all ones.
 */
static void test_pci_whole_accesses(void **state)
{
	out(0xcf8, 4, 0x80000000U);
	assert_int_equal(in(0xcf8, 4), 0x80000000U);
	assert_int_equal(in(0xcfc, 4), 0x29c08086U);
	assert_int_equal(in(0xcfe, 2), 0x29c0);
	assert_int_equal(in(0xcfd, 1), 0x80);
	out(0xcf8, 4, 0x80000008U);
	assert_int_equal(in(0xcfc, 4) >> 8, 0x060000);
	assert_int_equal(in(0xcf8, 1), 0xff);
	/* Device 1: nothing there. */
	out(0xcf8, 4, 0x80000800U);
	assert_int_equal(in(0xcfc, 4), 0xffffffffU);
}

/** The PM block takes 16-bit accesses whole: PM1_CNT reads SCI_EN, PM1_EN keeps a word. */
static void test_pm_block_whole_accesses(void **state)
{
	assert_int_equal(in(ACPI_PM1A_CNT, 2), ACPI_SCI_EN);
	out(ACPI_PM1A_EVT + 2, 2, VACPI_PM1_PWRBTN | VACPI_PM1_RTC);
	assert_int_equal(in(ACPI_PM1A_EVT + 2, 2), VACPI_PM1_PWRBTN | VACPI_PM1_RTC);
	assert_true(in(ACPI_PM_TMR, 4) < BIT(ACPI_PM_TIMER_BITS));
}

/** Reads of the clocks and the PIC are never served from the fast path; others are. */
static void test_read_purity(void **state)
{
	static const uint16_t impure[] = { 0x20, 0x21, 0xa0, 0xa1, 0x40, 0x42, 0x43, 0x61,
					   0x70, 0x71, ACPI_PM1A_EVT, ACPI_PM_TMR,
					   ACPI_PM_TMR + 3 };
	static const uint16_t pure[] = { 0x80, 0x2c0, 0x60, 0x64, 0x92, 0xcf8, 0xcf9, 0xcfc,
					 0x400, ACPI_PM_BASE + ACPI_PM_BLOCK_SIZE };

	for (size_t i = 0; i < ARRAY_SIZE(impure); i++) {
		assert_false(platform_read_is_pure(p, impure[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(pure); i++) {
		assert_true(platform_read_is_pure(p, pure[i]));
	}
}

/** Ports of no PC device stay unclaimed: all ones, at every size. */
static void test_unclaimed_ports_stay_unclaimed(void **state)
{
	assert_false(platform_handles_port(p, 0x80));
	assert_false(platform_handles_port(p, 0x2c0));
	assert_false(platform_handles_port(p, 0x60));
	assert_false(platform_handles_port(p, 0x400));
	assert_int_equal(in(0x2c0, 4), 0xffffffffU);
	assert_int_equal(in(0x60, 1), 0xff);
	/* A word at 0x3ff: the UART's scratch byte, then the unclaimed 0x400. */
	out(0x3ff, 1, 0x5a);
	assert_int_equal(in(0x3ff, 2), 0xff5a);
}

/**
 * CMOS: base memory 640 KiB (0x15/0x16), memory above 1 MiB in KiB
 * (0x17/0x18 and 0x30/0x31: 16 MiB - 640 KiB = 15744 = 0x3d80), above
 * 16 MiB in 64 KiB units (0x34/0x35: RAM ends at 16 MiB + 384 KiB: 6).
 */
static void test_cmos_memory_sizes(void **state)
{
	assert_int_equal(cmos_read(0x15) | cmos_read(0x16) << 8, 640);
	assert_int_equal(cmos_read(0x17) | cmos_read(0x18) << 8, 0x3d80);
	assert_int_equal(cmos_read(0x30) | cmos_read(0x31) << 8, 0x3d80);
	assert_int_equal(cmos_read(0x34) | cmos_read(0x35) << 8, 6);
	assert_int_equal(cmos_read(0x5b) | cmos_read(0x5c) << 8 | cmos_read(0x5d) << 16, 0);
}

/** The RTC shows the wall time it was given, in BCD, 24-hour (register B 0x02). */
static void test_rtc_wall_time(void **state)
{
	assert_int_equal(platform_port_read(p, 0x70, 1, 0), 0xff); /* write-only index */
	platform_port_write(p, 0x70, 1, 0x0b, 0);
	assert_int_equal(platform_port_read(p, 0x71, 1, 0), 0x02);
	platform_port_write(p, 0x70, 1, 0x00, 0);
	assert_int_equal(platform_port_read(p, 0x71, 1, 0), 0x58);
	platform_port_write(p, 0x70, 1, 0x04, 0);
	assert_int_equal(platform_port_read(p, 0x71, 1, 0), 0x23);
	platform_port_write(p, 0x70, 1, 0x07, 0);
	assert_int_equal(platform_port_read(p, 0x71, 1, 0), 0x29);
	platform_port_write(p, 0x70, 1, 0x32, 0);
	assert_int_equal(platform_port_read(p, 0x71, 1, 0), 0x20);
	/* Three seconds on: 2024-03-01 00:00:01. */
	platform_port_write(p, 0x70, 1, 0x08, 3 * T_TSC_HZ);
	assert_int_equal(platform_port_read(p, 0x71, 1, 3 * T_TSC_HZ), 0x03);
}

/**
 * The tables at 0x9F010: the RSDP ("RSD PTR ", checksum of its first 20
 * bytes 0), which the BDA's EBDA segment (0x40E = 0x9F00) leads to, the
 * base memory word (0x413) below the EBDA, the EBDA's size byte in KiB.
 */
static void test_acpi_tables_in_low_ram(void **state)
{
	uint8_t rsdp[20];
	uint8_t bda[2];
	uint8_t sum = 0;
	uint8_t ebda_kib = 0;

	test_give_partition_ram(p, 1, test_vcpu_config.memory_bytes);
	assert_true(platform_install_tables(p));
	assert_int_equal(p->platform.rsdp_gpa, 0x9f010);
	assert_true(partition_copy_from_guest(p, rsdp, gpa_init(0x9f010), sizeof(rsdp)));
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	for (size_t i = 0; i < sizeof(rsdp); i++) {
		sum = (uint8_t)(sum + rsdp[i]);
	}
	assert_int_equal(sum, 0);
	assert_true(partition_copy_from_guest(p, bda, gpa_init(0x40e), sizeof(bda)));
	assert_int_equal(bda[0] | bda[1] << 8, 0x9f00);
	assert_true(partition_copy_from_guest(p, bda, gpa_init(0x413), sizeof(bda)));
	assert_int_equal(bda[0] | bda[1] << 8, 636);
	assert_true(partition_copy_from_guest(p, &ebda_kib, gpa_init(0x9f000), 1));
	assert_int_equal(ebda_kib, 4);
}

/** Keeps the last problem the configuration parser reported. */
static void keep_report(void *ctx, const char *message)
{
	snprintf(ctx, CONFIG_LINE_MAX, "%s", message);
}

/** on_reboot (default restart) and on_poweroff (default stop) take stop or restart. */
static void test_config_on_reboot_on_poweroff(void **state)
{
	static const char text[] = "[partition a]\nmemory = 1M\nimage = a\nentry = 0\n"
				   "[partition b]\nmemory = 1M\nimage = b\nentry = 0\n"
				   "on_reboot = STOP\non_poweroff = restart\n"
				   "[partition c]\nmemory = 1M\nimage = c\nentry = 0\n"
				   "on_poweroff = reboot\n";
	static struct tessera_config config;
	char report[CONFIG_LINE_MAX] = "";

	assert_int_equal(config_parse("tessera.conf", text, strlen(text), &config, keep_report,
				      report), 1);
	assert_string_equal(report, "tessera.conf:15: partition 'c': on_poweroff 'reboot' is "
			    "not stop or restart");
	assert_int_equal(config.partition_count, 2);
	assert_int_equal(config.partitions[0].on_reboot, GUEST_END_RESTART);
	assert_int_equal(config.partitions[0].on_poweroff, GUEST_END_STOP);
	assert_int_equal(config.partitions[1].on_reboot, GUEST_END_STOP);
	assert_int_equal(config.partitions[1].on_poweroff, GUEST_END_RESTART);
}

/** A partition without a platform (never initialised) claims no port and has no deadline. */
static void test_bare_partition_has_no_platform(void **state)
{
	memset(&p->platform, 0, sizeof(p->platform));
	assert_false(platform_handles_port(p, 0x20));
	assert_false(platform_takes_whole_access(p, 0xcfc, 4));
	assert_int_equal(in(0xcfc, 4), 0xffffffffU);
	assert_int_equal(platform_next_deadline(p), UINT64_MAX);
	assert_int_equal(platform_extint_vector(vcpu), -1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_isa_irq_to_gsi),
		TEST(test_pit_irq0_through_pic_and_lint0),
		TEST(test_pic_needs_lint0_extint),
		TEST(test_lapic_interrupt_before_extint),
		TEST(test_pit_irq0_through_ioapic_gsi2),
		TEST(test_uart_irq4_through_ioapic),
		TEST(test_ioapic_destination_must_match),
		TEST(test_sci_level_eoi_path),
		TEST(test_reset_control_restarts),
		TEST(test_reset_control_bits),
		TEST(test_keyboard_controller_pulse),
		TEST(test_port_92_fast_reset),
		TEST(test_acpi_s5_powers_off),
		TEST(test_pci_whole_accesses),
		TEST(test_pm_block_whole_accesses),
		TEST(test_read_purity),
		TEST(test_unclaimed_ports_stay_unclaimed),
		TEST(test_cmos_memory_sizes),
		TEST(test_rtc_wall_time),
		TEST(test_acpi_tables_in_low_ram),
		TEST(test_bare_partition_has_no_platform),
		TEST(test_config_on_reboot_on_poweroff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
