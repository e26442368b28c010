/*
 * Minimal host local APIC access (SDM Vol. 3, Ch. 11). xAPIC through MMIO, or
 * x2APIC through MSRs when the firmware left x2APIC mode on.
 *
 * The APIC itself is never software-disabled: some CPUs (and Bochs, QEMU TCG)
 * cannot enable it again afterwards.
 */
#include "arch/x86/lapic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

#define APIC_BASE_X2APIC_ENABLE (1ULL << 10)
#define APIC_BASE_ADDRESS_MASK  0xffffff000ULL
#define APIC_REG_EOI      0x0b0
#define APIC_REG_LVT_TIMER 0x320
#define APIC_REG_LVT_THERMAL 0x330
#define APIC_REG_LVT_PERF 0x340
#define APIC_REG_LVT_LINT0 0x350
#define APIC_REG_LVT_LINT1 0x360
#define APIC_REG_LVT_ERROR 0x370
#define APIC_REG_TIMER_INITIAL 0x380
#define APIC_LVT_MASKED (1U << 16)
#define X2APIC_MSR_BASE 0x800

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA  0xa1

/** Writes an APIC register in whichever mode the APIC is in. */
static void lapic_write(uint32_t reg, uint32_t value)
{
	uint64_t base = cpu_rdmsr(MSR_IA32_APIC_BASE);

	if ((base & APIC_BASE_X2APIC_ENABLE) != 0) {
		cpu_wrmsr(X2APIC_MSR_BASE + (reg >> 4), value);
	} else {
		*(volatile uint32_t *)((base & APIC_BASE_ADDRESS_MASK) + reg) = value;
	}
}

/** Masks the local APIC's LVT entries and the legacy PICs. */
void lapic_quiesce(void)
{
	static const uint32_t lvts[] = {
		APIC_REG_LVT_TIMER, APIC_REG_LVT_THERMAL, APIC_REG_LVT_PERF,
		APIC_REG_LVT_LINT0, APIC_REG_LVT_ERROR,
	};

	cpu_outb(PIC_MASTER_DATA, 0xff);
	cpu_outb(PIC_SLAVE_DATA, 0xff);
	lapic_write(APIC_REG_TIMER_INITIAL, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(lvts); i++) {
		lapic_write(lvts[i], APIC_LVT_MASKED);
	}
}

/** Signals end-of-interrupt to the local APIC. */
void lapic_eoi(void)
{
	lapic_write(APIC_REG_EOI, 0);
}

/** Runs the host's NMI handler for an NMI that caused a VM exit. */
void host_deliver_nmi(void)
{
	__asm__ volatile("int $2" ::: "memory");
}
