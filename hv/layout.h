/*
 * A partition's guest-physical memory layout, decided here and nowhere else.
 *
 * A partition sees its RAM where a PC has it: conventional memory below
 * 640 KiB, then (after the legacy VGA window and BIOS area) RAM from 1 MiB up
 * to the 32-bit MMIO hole at 3 GiB, and whatever is left above 4 GiB. The
 * 640 KiB count toward the configured RAM size, so the regions always add up
 * to exactly that size.
 */
#ifndef TESSERA_HV_LAYOUT_H
#define TESSERA_HV_LAYOUT_H

#include "hv/types.h"

/* End of conventional memory; the VGA window and BIOS area follow. */
#define LAYOUT_LOW_RAM_END    0xA0000ULL
/* Start of RAM again, past the legacy BIOS area. */
#define LAYOUT_HIGH_RAM_BASE  0x100000ULL
/* Start of the 32-bit MMIO hole (PCI, APICs, firmware): no RAM up to 4 GiB. */
#define LAYOUT_MMIO_HOLE_BASE 0xC0000000ULL
/* Where the RAM that did not fit below the hole continues. */
#define LAYOUT_ABOVE_4G       0x100000000ULL
/* Guest-physical addresses a four-level EPT translates (bits 47:0). */
#define LAYOUT_GPA_LIMIT      (1ULL << 48)

/* The most regions layout_guest_ram() produces. */
#define LAYOUT_MAX_GUEST_RAM_REGIONS 3

/** A range of guest RAM: [base, base + size). */
struct guest_region {
	gpa_t base;
	uint64_t size;
};

/**
 * Writes the guest RAM regions of a partition with ram_bytes of RAM to out,
 * in ascending order, and returns how many there are (1 to
 * LAYOUT_MAX_GUEST_RAM_REGIONS). Returns 0, writing nothing, if ram_bytes is
 * 0, not a multiple of PAGE_SIZE, too large for the guest-physical address
 * space, or if the regions do not fit in max.
 */
size_t layout_guest_ram(uint64_t ram_bytes, struct guest_region *out,
			size_t max);

/**
 * Whether gpa is RAM for a partition with ram_bytes of RAM (false for any
 * address if ram_bytes is not a valid size).
 */
bool layout_gpa_is_ram(uint64_t ram_bytes, gpa_t gpa);

#endif /* TESSERA_HV_LAYOUT_H */
