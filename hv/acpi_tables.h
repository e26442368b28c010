/*
 * The ACPI tables of a partition (ACPI 6.0): what an unmodified OS reads to
 * find its processors, its interrupt controllers, the power-management
 * registers and how to reset and power off the machine.
 *
 * acpi_build_tables() lays them out in a buffer that the caller copies to
 * guest-physical `base`, meant to be the BIOS area 0xE0000-0xFFFFF:
 *
 *   RSDP  first, 16-byte aligned, so both UEFI-style handover and the
 *         legacy scan of 0xE0000-0xFFFFF on 16-byte boundaries find it
 *   RSDT, XSDT  both listing FADT and MADT (the RSDT for ACPI 1.0 readers)
 *   FADT  revision 6: hardware always in ACPI mode, PM1a and PM timer ports
 *         at pm_base, reset register, FACS and DSDT (32 and 64-bit fields)
 *   FACS  64-byte aligned, in memory the guest can write (global lock)
 *   MADT  local APICs 0..n-1, the I/O APIC, ISA overrides, LINT1 NMI
 *   DSDT  \_S5 and the PCI root bridge \_SB.PCI0, hand-assembled AML
 *
 * The hardware they describe is emulated by hv/vacpi_pm.c (PM block),
 * hv/vioapic.c (I/O APIC), hv/vpci.c (PCI configuration, reset port). The
 * constants below are the one place these numbers live.
 */
#ifndef TESSERA_HV_ACPI_TABLES_H
#define TESSERA_HV_ACPI_TABLES_H

#include "hv/types.h"

/* The ACPI fixed-hardware I/O block (ACPI 6.0, 4.8.1). */
#define ACPI_PM_BASE       0x600
#define ACPI_PM1A_EVT      (ACPI_PM_BASE + 0) /* PM1_STS, then PM1_EN at +2 */
#define ACPI_PM1A_CNT      (ACPI_PM_BASE + 4)
#define ACPI_PM_TMR        (ACPI_PM_BASE + 8)
#define ACPI_PM1_EVT_LEN   4
#define ACPI_PM1_CNT_LEN   2
#define ACPI_PM_TMR_LEN    4
#define ACPI_PM_BLOCK_SIZE 12 /* ACPI_PM_BASE .. ACPI_PM_TMR + ACPI_PM_TMR_LEN */

/* The PM timer: 3.579545 MHz, 24 bits (FADT TMR_VAL_EXT clear). */
#define ACPI_PM_TIMER_HZ   3579545ULL
#define ACPI_PM_TIMER_BITS 24

/* The SCI: ISA IRQ 9, GSI 9, level-triggered active-high (MADT override). */
#define ACPI_SCI_IRQ 9
/* The MADT's interrupt source override: ISA IRQ 0 (the PIT) is GSI 2, as on every PC. */
#define ACPI_PIT_IRQ 0
#define ACPI_PIT_GSI 2

/* PM1 control register bits (ACPI 6.0, 4.8.3.2.1). */
#define ACPI_SCI_EN        BIT(0)
#define ACPI_SLP_TYP_SHIFT 10
#define ACPI_SLP_TYP_MASK  (0x7ULL << ACPI_SLP_TYP_SHIFT)
#define ACPI_SLP_EN        BIT(13)
/* The SLP_TYP value of S5 (soft off): the DSDT's \_S5 package says it. */
#define ACPI_SLP_TYP_S5    5

/* The reset register: the chipset's reset control port (FADT RESET_REG). */
#define ACPI_RESET_PORT    0xCF9
#define ACPI_RESET_VALUE   0x06 /* RST_CPU | SYS_RST: a hard reset */

/* MADT local APIC entries carry 8-bit APIC IDs, and 0xFF is the broadcast ID. */
#define ACPI_TABLES_MAX_CPUS 255

/** What the tables describe. */
struct acpi_platform {
	unsigned int cpu_count; /* vCPUs with local APIC IDs 0..cpu_count-1 */
	uint16_t pm_base;       /* ACPI_PM_BASE: where vacpi_pm decodes the block */
};

/**
 * Builds the tables into @buffer (@buffer_size bytes), which the caller
 * copies to guest-physical @base (below 4 GiB; the tables' 32-bit pointers
 * need that). Returns the bytes used, 0 when they do not fit or @platform is
 * out of range (no CPU, more than ACPI_TABLES_MAX_CPUS); sets *@rsdp_gpa to
 * the RSDP's guest-physical address.
 */
size_t acpi_build_tables(uint8_t *buffer, size_t buffer_size, uint64_t base,
			 const struct acpi_platform *platform, uint64_t *rsdp_gpa);

#endif /* TESSERA_HV_ACPI_TABLES_H */
