/*
 * The whole machine: reset it, power it off, and which CPU this is. Used by
 * the operator's "reboot", "poweroff" and "cpus"; every partition ends with
 * the machine, so the callers ask the operator to confirm first.
 */
#ifndef TESSERA_ARCH_X86_POWER_H
#define TESSERA_ARCH_X86_POWER_H

#include "hv/types.h"

/**
 * Resets the machine: through the ACPI reset register when the FADT has one
 * (@acpi_rsdp may be 0: no tables), else the chipset's reset control port
 * 0xCF9, else the keyboard controller's reset pulse, else a triple fault.
 */
NORETURN void power_reboot(uint64_t acpi_rsdp);

/** Whether power_off() has what it needs; the reason in *problem when not. */
bool power_off_possible(uint64_t acpi_rsdp, const char **problem);

/**
 * Enters ACPI S5 (soft off) with the DSDT's \_S5 sleep type. Returns, with
 * the reason in *problem, only when it could not.
 */
bool power_off(uint64_t acpi_rsdp, const char **problem);

/** This CPU's APIC ID (x2APIC ID from CPUID 0BH when there, else CPUID 01H EBX[31:24]). */
uint32_t cpu_apic_id(void);

#endif /* TESSERA_ARCH_X86_POWER_H */
