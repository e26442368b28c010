/*
 * Resetting and powering off the machine (see power.h). Every method is
 * tried in turn, each given time to act, because firmware tables lie and
 * chipsets ignore one method or another; the last one, a triple fault,
 * always ends in a reset or a shutdown cycle the chipset turns into one.
 */
#include "arch/x86/power.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cpu.h"
#include "arch/x86/i8042.h"
#include "arch/x86/segments.h"
#include "hv/acpi_tables.h"
#include "hv/phys.h"
#include "hv/sched.h"
#include "hv/vpci.h"

/* Reset control (0xCF9): the reset happens on the 0-to-1 edge of RST_CPU, bit 2. */
#define RESET_CONTROL_RST_CPU 0x04

/* The 8042 keyboard controller: status and command port, and its reset pulse. */

/* How long each method gets before the next is tried. */
#define POWER_SETTLE_MS 200ULL
/* How long S5 gets to take the power away. */
#define POWER_OFF_WAIT_MS 1000ULL
/* How long the chipset gets to switch to ACPI mode after ACPI_ENABLE (ACPI 6.0, 4.8.2.5.1). */
#define POWER_ACPI_ENABLE_MS 1000ULL

/* PCI configuration mechanism #1: enable bit of CONFIG_ADDRESS. */
#define PCI_CONFIG_ENABLE 0x80000000U

/** Reads a word from an I/O port (cpu.h has writes only). */
static inline uint16_t power_inw(uint16_t port)
{
	uint16_t value;

	__asm__ volatile("inw %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

/** Writes a doubleword to an I/O port. */
static inline void power_outl(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %1" : : "a"(value), "Nd"(port));
}

/** Waits @ms milliseconds of TSC time. */
static void power_delay_ms(uint64_t ms)
{
	uint64_t end = cpu_rdtsc() + tsc_hz / 1000 * ms;

	while (cpu_rdtsc() < end) {
		cpu_relax();
	}
}

/**
 * Leaves VMX operation: INIT is blocked in VMX root operation (SDM Vol. 3C,
 * 24.8), and some chipsets reset the CPU through INIT.
 */
static void power_leave_vmx(void)
{
	__asm__ volatile("vmxoff" ::: "cc", "memory");
}

/** Writes the reset value to the FADT's reset register, in whichever space it lives. */
static void power_write_reset_register(const struct acpi_reset *reset)
{
	if (reset->space == ACPI_SPACE_IO) {
		cpu_outb((uint16_t)reset->address, reset->value);
	} else if (reset->space == ACPI_SPACE_MEMORY) {
		*(volatile uint8_t *)hpa_to_ptr(hpa_init(reset->address)) = reset->value;
	} else {
		/* Bus 0: device in bits 47:32, function in 31:16, offset in 15:0 (ACPI 6.0, 5.2.3.2). */
		uint32_t device = (uint32_t)(reset->address >> 32) & 0x1f;
		uint32_t function = (uint32_t)(reset->address >> 16) & 0x7;
		uint32_t offset = (uint32_t)reset->address & 0xff;

		power_outl(VPCI_CONFIG_ADDRESS, PCI_CONFIG_ENABLE | device << 11 | function << 8 |
				   (offset & 0xfc));
		cpu_outb((uint16_t)(VPCI_CONFIG_DATA + (offset & 3)), reset->value);
	}
}

/** Resets the machine, trying each method in turn. */
void power_reboot(uint64_t acpi_rsdp)
{
	struct acpi_reset reset;
	struct descriptor_table_register no_idt = { 0, 0 };

	cpu_cli();
	power_leave_vmx();
	if (acpi_find_reset(acpi_rsdp, &reset)) {
		power_write_reset_register(&reset);
		power_delay_ms(POWER_SETTLE_MS);
	}
	/* Reset control: RST_CPU must go from 0 to 1 with SYS_RST set for a hard reset. */
	cpu_outb(ACPI_RESET_PORT, ACPI_RESET_VALUE & ~RESET_CONTROL_RST_CPU);
	cpu_outb(ACPI_RESET_PORT, ACPI_RESET_VALUE);
	power_delay_ms(POWER_SETTLE_MS);
	for (unsigned int i = 0; i < 100000 && (cpu_inb(I8042_COMMAND_PORT) & I8042_STATUS_INPUT_FULL); i++) {
		cpu_relax();
	}
	cpu_outb(I8042_COMMAND_PORT, I8042_PULSE_RESET);
	power_delay_ms(POWER_SETTLE_MS);
	/* No IDT: the breakpoint cannot be delivered, nor the faults that follow. */
	__asm__ volatile("lidt %0; int3" : : "m"(no_idt) : "memory");
	cpu_halt_forever();
}

/** Whether power_off() has what it needs; the reason in *problem when not. */
bool power_off_possible(uint64_t acpi_rsdp, const char **problem)
{
	struct acpi_soft_off off;

	if (acpi_rsdp == 0) {
		*problem = "the firmware gave no ACPI tables";
		return false;
	}
	return acpi_find_soft_off(acpi_rsdp, &off, problem);
}

/** Switches the chipset to ACPI mode if it is not (SCI_EN clear), as OSPM does at boot. */
static void power_enter_acpi_mode(const struct acpi_soft_off *off)
{
	if ((power_inw(off->pm1a_control) & ACPI_SCI_EN) != 0 || off->smi_command == 0 ||
	    off->acpi_enable == 0) {
		return;
	}
	cpu_outb(off->smi_command, off->acpi_enable);
	for (uint64_t ms = 0; ms < POWER_ACPI_ENABLE_MS; ms++) {
		if (power_inw(off->pm1a_control) & ACPI_SCI_EN) {
			return;
		}
		power_delay_ms(1);
	}
}

/** Writes SLP_TYP, then SLP_TYP with SLP_EN, into one PM1 control register. */
static void power_write_sleep(uint16_t port, uint8_t sleep_type)
{
	uint16_t value = power_inw(port);

	value = (uint16_t)((value & ~(ACPI_SLP_TYP_MASK | ACPI_SLP_EN)) |
			   ((uint64_t)sleep_type << ACPI_SLP_TYP_SHIFT));
	cpu_outw(port, value);
	cpu_outw(port, (uint16_t)(value | ACPI_SLP_EN));
}

/** Enters ACPI S5; returns with the reason only when it could not. */
bool power_off(uint64_t acpi_rsdp, const char **problem)
{
	struct acpi_soft_off off;

	if (!power_off_possible(acpi_rsdp, problem) ||
	    !acpi_find_soft_off(acpi_rsdp, &off, problem)) {
		return false;
	}
	cpu_cli();
	power_enter_acpi_mode(&off);
	/* ACPI 6.0, 7.4.2: PM1a and PM1b get their own SLP_TYP; SLP_EN starts the transition. */
	power_write_sleep(off.pm1a_control, off.slp_typ_a);
	if (off.pm1b_control != 0) {
		power_write_sleep(off.pm1b_control, off.slp_typ_b);
	}
	power_delay_ms(POWER_OFF_WAIT_MS);
	*problem = "the machine did not power off after the ACPI S5 request";
	return false;
}

/** This CPU's APIC ID. */
uint32_t cpu_apic_id(void)
{
	/* Leaf 0BH exists when the highest leaf reaches it and sub-leaf 0 has processors. */
	if (cpu_cpuid(0, 0).eax >= 0x0b) {
		struct cpuid_result topology = cpu_cpuid(0x0b, 0);

		if (topology.ebx != 0) {
			return topology.edx;
		}
	}
	return cpu_cpuid(1, 0).ebx >> 24;
}
