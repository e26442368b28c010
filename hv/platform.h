/*
 * A partition's PC platform: the devices every PC has besides its CPUs and
 * RAM, wired together the way a PC wires them, so that an unmodified OS
 * finds what it expects:
 *
 *   8259A pair + ELCR   0x20/0x21, 0xA0/0xA1, 0x4D0/0x4D1   hv/vpic.h
 *   8254 PIT, port B    0x40-0x43, 0x61                     hv/vpit.h
 *   RTC and CMOS        0x70/0x71                           hv/vrtc.h
 *   ACPI PM block       ACPI_PM_BASE.. (PM1a, PM timer)     hv/vacpi_pm.h
 *   PCI configuration   0xCF8-0xCFF, reset control 0xCF9    hv/vpci.h
 *   I/O APIC            MMIO at VIOAPIC_BASE                hv/vioapic.h
 *   keyboard controller 0x64: only the reset pulse (command 0xFE)
 *   system control A    0x92: fast reset (bit 0); A20 (bit 1) always on
 *   ACPI tables         in RAM at PLATFORM_ACPI_BASE        hv/acpi_tables.h
 *   legacy window       MMIO [640 KiB, 1 MiB): no VGA, no ROMs; reads all-ones
 *
 * This file is the one place that knows the PC's interrupt routing: each
 * ISA IRQ drives both the PIC's input and the I/O APIC pin the MADT names
 * (GSI = IRQ, except the PIT's IRQ0 on GSI 2); the PIC's INTR reaches vCPU
 * 0 through its LINT0 (virtual-wire mode); the I/O APIC's messages go to the
 * local APICs they name. Sources: the PIT (IRQ0 edges), the UART (IRQ4,
 * level) and the ACPI SCI (IRQ9, level).
 *
 * A guest write that resets the machine (0xCF9, the 0x64 pulse, 0x92 bit 0,
 * the ACPI reset register, which is 0xCF9) or enters S5 (PM1a_CNT) is
 * recorded as an action; the exit handler ends the partition with
 * platform_end_partition() once the instruction is done, and the
 * configuration's on_reboot / on_poweroff say whether it boots again.
 *
 * The models are pure state machines; the glue here only calls them and
 * marks vCPUs whose interrupts may have changed, so it is tested on the host.
 */
#ifndef TESSERA_HV_PLATFORM_H
#define TESSERA_HV_PLATFORM_H

#include "hv/types.h"
#include "hv/vacpi_pm.h"
#include "hv/vioapic.h"
#include "hv/vpci.h"
#include "hv/vpic.h"
#include "hv/vpit.h"
#include "hv/vrtc.h"

struct mmio_ops;

struct partition;
struct vcpu;

/*
 * The ACPI tables live in the last 4 KiB of conventional memory, which the
 * BIOS data area at 0x40E names as the extended BIOS data area (EBDA), so
 * the RSDP is found by the OS's scan of the EBDA's first KiB as well as by
 * its address in boot_params. A Linux loader marks this page reserved in the
 * E820 map and passes platform.rsdp_gpa.
 */
#define PLATFORM_ACPI_BASE  0x9F000ULL
#define PLATFORM_ACPI_SIZE  0x1000ULL
/* The RSDP after the EBDA's size byte, 16-byte aligned, inside its first KiB. */
#define PLATFORM_RSDP_OFFSET 0x10U

/* The BIOS data area's words a legacy scan reads (IBM PC BIOS conventions). */
#define PLATFORM_BDA_EBDA_SEGMENT 0x40EULL /* EBDA base >> 4 */
#define PLATFORM_BDA_BASE_MEMORY  0x413ULL /* KiB of conventional memory below the EBDA */

/* ISA IRQs of the platform's devices; the SCI's is ACPI_SCI_IRQ. */
#define PLATFORM_UART_IRQ 4 /* COM1 */

/* System control port A (PS/2 "port 92"): bit 0 fast reset, bit 1 A20. */
#define PLATFORM_PORT_A      0x92
#define PLATFORM_PORT_A_RESET BIT(0)
#define PLATFORM_PORT_A_A20   BIT(1)

/** What a guest write asked of the whole partition. */
enum platform_action {
	PLATFORM_ACTION_NONE,
	PLATFORM_ACTION_RESET,     /* reset by the guest: on_reboot */
	PLATFORM_ACTION_POWER_OFF, /* ACPI S5: on_poweroff */
};

/** One partition's platform devices and the state of their interrupt lines. */
struct platform {
	bool ready;                 /* platform_init() ran (a bare partition has no devices) */
	struct vpic pic;
	struct vpit pit;
	struct vrtc rtc;
	struct vioapic ioapic;
	struct vacpi_pm pm;
	struct vpci pci;
	uint8_t port_a;             /* port 0x92 as last written */
	bool uart_irq;              /* IRQ4 as last driven */
	bool sci;                   /* the SCI (IRQ9) as last driven */
	bool power_button_pressed;  /* the operator's stop request reached PM1_STS */
	enum platform_action action; /* asked by a guest write, not yet carried out */
	uint64_t rsdp_gpa;          /* the RSDP, for boot_params.acpi_rsdp_addr */
};

/**
 * Resets every device of @p's platform at TSC @now (host TSC, tsc_hz): the
 * RTC shows @wall, CMOS holds the memory sizes of p->config->memory_bytes.
 * Called when the partition is built and when it restarts.
 */
void platform_init(struct partition *p, const struct vrtc_time *wall, uint64_t now);

/**
 * Writes the ACPI tables and the BIOS data area's EBDA pointer into @p's
 * RAM (after partition_memory_build) and sets rsdp_gpa; false when they do
 * not fit (never for a valid configuration).
 */
bool platform_install_tables(struct partition *p);

/**
 * The legacy window [LAYOUT_LOW_RAM_END, LAYOUT_HIGH_RAM_BASE), where a PC
 * has VGA memory, option ROMs and its BIOS: a partition has none of them, so
 * reads float high as on a bus where nothing answers and writes are dropped.
 * An OS probing it for ROM signatures, SMBIOS or MP tables finds none.
 */
extern const struct mmio_ops platform_legacy_window_ops;

/** Whether the platform claims @port (for reads, writes or both). */
bool platform_handles_port(const struct partition *p, uint16_t port);

/**
 * Whether an access of @size bytes at @port goes to one device as one
 * access (PCI configuration and the PM block take 1, 2 and 4 bytes at a
 * time, and a 4-byte PM timer read must not tear) rather than byte by byte.
 */
bool platform_takes_whole_access(const struct partition *p, uint16_t port, unsigned int size);

/** A guest IN of @size bytes (1, or what platform_takes_whole_access allows) at TSC @now. */
uint32_t platform_port_read(struct partition *p, uint16_t port, unsigned int size, uint64_t now);

/** A guest OUT of @size bytes at TSC @now; may record an action (platform_end_requested). */
void platform_port_write(struct partition *p, uint16_t port, unsigned int size, uint32_t value,
			 uint64_t now);

/**
 * Whether reading @port changes nothing and reads the same until the next
 * OUT (hv/io.c's exit fast path): false for the clocks (PIT, RTC, PM timer)
 * and the PIC, whose reads depend on time or acknowledge.
 */
bool platform_read_is_pure(const struct partition *p, uint16_t port);

/** The UART was accessed or got input: IRQ4 follows its interrupt output. */
void platform_uart_changed(struct partition *p);

/**
 * Runs the platform's time up to TSC @now: PIT edges become IRQ0 (edges the
 * partition missed are coalesced into one), operator input may raise IRQ4,
 * an operator's stop request presses the ACPI power button. Called for
 * vCPU 0 with its timers (vcpu_events_update_timers).
 */
void platform_update_timers(struct partition *p, uint64_t now);

/** TSC of the platform's next timer event (the PIT's next IRQ0), or UINT64_MAX. */
uint64_t platform_next_deadline(const struct partition *p);

/**
 * The vector the PIC presents to @vcpu through LINT0, or -1: only vCPU 0's
 * LINT0 is wired to INTR, and only in ExtINT mode (or with its APIC off).
 */
int platform_extint_vector(const struct vcpu *vcpu);

/** The interrupt acknowledge cycle of an ExtINT being injected: the PIC's vector. */
uint8_t platform_extint_acknowledge(struct vcpu *vcpu);

/** The local APIC callback of a level-triggered EOI (@ctx: the vCPU): to the I/O APIC. */
void platform_level_eoi(void *ctx, uint8_t vector);

/** The I/O APIC pin (GSI) of ISA IRQ @irq, as the MADT describes it. */
unsigned int platform_isa_gsi(unsigned int irq);

/** Whether a guest write asked to reset or power off the partition. */
bool platform_end_requested(const struct partition *p);

/**
 * Carries out the recorded action: stops @p ("reset by the guest",
 * "powered off by the guest") and, when on_reboot / on_poweroff say
 * restart, boots it again. True when it was restarted. Runs inside the
 * exit handler of the vCPU that asked: the caller returns EXIT_RESCHEDULE
 * for true and EXIT_STOPPED for false, and touches that vCPU no more.
 */
bool platform_end_partition(struct partition *p);

#endif /* TESSERA_HV_PLATFORM_H */
