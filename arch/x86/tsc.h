/*
 * The TSC's frequency: what every guest-visible clock (APIC timer, PIT, PM
 * timer, TSC-deadline) and every time slice is derived from.
 */
#ifndef TESSERA_ARCH_X86_TSC_H
#define TESSERA_ARCH_X86_TSC_H

#include "hv/types.h"

/**
 * The TSC frequency the CPU itself reports (CPUID 15H: crystal clock times
 * the TSC/crystal ratio; else 16H: base frequency in MHz), or 0 when it
 * reports none and the TSC has to be measured against another clock.
 */
uint64_t tsc_hz_from_cpuid(void);

#endif /* TESSERA_ARCH_X86_TSC_H */
