/*
 * MSR bitmap layout (SDM 25.6.9): four 1 KiB quarters — reads of MSRs
 * 0-0x1fff, reads of 0xc0000000-0xc0001fff, then the same two for writes.
 * A set bit makes the access exit; MSRs outside both ranges always exit.
 */
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/msr.h"
#include "hv/string.h"

#define MSR_BITMAP_SIZE 4096
#define MSR_LOW_LAST   0x00001fffU
#define MSR_HIGH_FIRST 0xc0000000U
#define MSR_HIGH_LAST  0xc0001fffU
#define QUARTER 1024

const uint32_t lazy_msrs[LAZY_MSR_COUNT] = {
	MSR_IA32_KERNEL_GS_BASE, MSR_IA32_STAR, MSR_IA32_LSTAR,
	MSR_IA32_CSTAR, MSR_IA32_FMASK, MSR_IA32_TSC_AUX,
};

/* Switched by the VMCS on every entry and exit (guest and host state). */
static const uint32_t vmcs_switched_msrs[] = {
	MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP, MSR_IA32_PAT, MSR_IA32_EFER,
};

/** Byte offset and bit of @msr in the bitmap; false when it has no bit. */
static bool msr_bitmap_position(uint32_t msr, bool write, size_t *byte, unsigned int *bit)
{
	size_t base = write ? 2 * QUARTER : 0;

	if (msr <= MSR_LOW_LAST) {
		*byte = base + msr / 8;
	} else if (msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST) {
		*byte = base + QUARTER + (msr - MSR_HIGH_FIRST) / 8;
	} else {
		return false;
	}
	*bit = msr % 8;
	return true;
}

/** Lets the guest read and write @msr without an exit. */
static void msr_bitmap_pass(uint8_t *bitmap, uint32_t msr)
{
	size_t byte;
	unsigned int bit;

	for (int write = 0; write <= 1; write++) {
		if (msr_bitmap_position(msr, write, &byte, &bit)) {
			bitmap[byte] &= (uint8_t)~(1U << bit);
		}
	}
}

/** Fills a 4 KiB MSR bitmap (see msr_bitmap.h). */
void msr_bitmap_init(uint8_t *bitmap, bool pass_tsc_aux)
{
	memset(bitmap, 0xff, MSR_BITMAP_SIZE);
	for (size_t i = 0; i < ARRAY_SIZE(vmcs_switched_msrs); i++) {
		msr_bitmap_pass(bitmap, vmcs_switched_msrs[i]);
	}
	for (size_t i = 0; i < LAZY_MSR_COUNT; i++) {
		if (lazy_msrs[i] != MSR_IA32_TSC_AUX || pass_tsc_aux) {
			msr_bitmap_pass(bitmap, lazy_msrs[i]);
		}
	}
}

/** True when the bitmap makes RDMSR (write = false) or WRMSR of @msr exit. */
bool msr_bitmap_intercepts(const uint8_t *bitmap, uint32_t msr, bool write)
{
	size_t byte;
	unsigned int bit;

	if (!msr_bitmap_position(msr, write, &byte, &bit)) {
		return true;
	}
	return (bitmap[byte] >> bit) & 1;
}
