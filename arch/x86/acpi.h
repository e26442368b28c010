/*
 * What Tessera reads from the firmware's ACPI tables (ACPI 6.0): how to reset
 * the machine (FADT reset register), how to power it off (PM1 control blocks
 * and the DSDT's \_S5 sleep type), and which CPUs exist (MADT). Reading only:
 * the tables are checked (signatures, lengths, checksums) and never written.
 *
 * Tables are reached by physical address through hpa_to_ptr(), so the same
 * code runs on the host against tables laid out in the fake arena.
 * (hv/acpi_tables.c builds the partitions' own tables; this is the host's.)
 */
#ifndef TESSERA_ARCH_X86_ACPI_H
#define TESSERA_ARCH_X86_ACPI_H

#include "hv/types.h"

/* Generic Address Structure address spaces (ACPI 6.0, 5.2.3.2). */
#define ACPI_SPACE_MEMORY 0
#define ACPI_SPACE_IO     1
#define ACPI_SPACE_PCI    2

/** The FADT's reset register and the value to write there (ACPI 6.0, 4.8.3.6). */
struct acpi_reset {
	uint8_t space;     /* ACPI_SPACE_* */
	uint64_t address;  /* in PCI space: device << 32 | function << 16 | offset */
	uint8_t value;
};

/** What entering S5, soft off, takes (ACPI 6.0, 7.4.2 and 16.1.7). */
struct acpi_soft_off {
	uint16_t pm1a_control;  /* I/O port of PM1a_CNT */
	uint16_t pm1b_control;  /* of PM1b_CNT, 0 when there is none */
	uint8_t slp_typ_a;      /* \_S5 package element 0 */
	uint8_t slp_typ_b;      /* element 1 */
	uint16_t smi_command;   /* SMI_CMD port, 0 when the hardware is always in ACPI mode */
	uint8_t acpi_enable;    /* the value that switches it to ACPI mode */
};

/** Finds the reset register; false (and *out untouched) when the FADT offers none. */
bool acpi_find_reset(uint64_t rsdp, struct acpi_reset *out);

/**
 * Finds what soft off needs; false with the reason in *problem when the
 * tables do not say (no FADT, no \_S5, hardware-reduced ACPI, ...).
 */
bool acpi_find_soft_off(uint64_t rsdp, struct acpi_soft_off *out, const char **problem);

/**
 * Writes the APIC IDs of the enabled processors the MADT lists (local APIC
 * and local x2APIC entries) into ids[0 .. max), each once, in table order;
 * returns how many it wrote, 0 without a MADT.
 */
unsigned int acpi_cpu_apic_ids(uint64_t rsdp, uint32_t *ids, unsigned int max);

#endif /* TESSERA_ARCH_X86_ACPI_H */
