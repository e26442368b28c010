/*
 * The VMX MSR bitmap (SDM Vol. 3C, 25.6.9): which RDMSR/WRMSR exit.
 */
#ifndef TESSERA_ARCH_X86_MSR_BITMAP_H
#define TESSERA_ARCH_X86_MSR_BITMAP_H

#include "hv/types.h"

/* MSRs whose guest value the CPU does not switch; the scheduler does (lazy). */
#define LAZY_MSR_COUNT 6
extern const uint32_t lazy_msrs[LAZY_MSR_COUNT];

/**
 * Fills a 4 KiB MSR bitmap: every MSR exits except those a guest may own
 * outright, because the VMCS switches them (FS/GS base, SYSENTER_*, PAT,
 * EFER) or the scheduler does (lazy_msrs). TSC_AUX passes only with RDTSCP.
 */
void msr_bitmap_init(uint8_t *bitmap, bool pass_tsc_aux);

/** True when the bitmap makes RDMSR (write = false) or WRMSR of @msr exit. */
bool msr_bitmap_intercepts(const uint8_t *bitmap, uint32_t msr, bool write);

#endif /* TESSERA_ARCH_X86_MSR_BITMAP_H */
