/*
 * A partition's guest-physical memory layout: see hv/layout.h.
 */
#include "hv/layout.h"

/** A window of guest-physical address space where a PC may have RAM. */
struct layout_ram_window {
	uint64_t base;
	uint64_t end;
};

/* The windows, lowest first; RAM fills them in this order. */
static const struct layout_ram_window layout_ram_windows[] = {
	{ .base = 0, .end = LAYOUT_LOW_RAM_END },
	{ .base = LAYOUT_HIGH_RAM_BASE, .end = LAYOUT_MMIO_HOLE_BASE },
	{ .base = LAYOUT_ABOVE_4G, .end = LAYOUT_GPA_LIMIT },
};

/** Writes the guest RAM regions of a partition with ram_bytes of RAM to out. */
size_t layout_guest_ram(uint64_t ram_bytes, struct guest_region *out,
			size_t max)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	uint64_t left = ram_bytes;
	size_t count = 0;

	if (ram_bytes == 0 || !IS_ALIGNED(ram_bytes, PAGE_SIZE)) {
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(layout_ram_windows) && left > 0; i++) {
		const struct layout_ram_window *window = &layout_ram_windows[i];
		uint64_t size = MIN(left, window->end - window->base);

		regions[count++] = (struct guest_region){
			.base = gpa_init(window->base), .size = size
		};
		left -= size;
	}
	if (left > 0 || count > max) {
		return 0;
	}
	for (size_t i = 0; i < count; i++) {
		out[i] = regions[i];
	}
	return count;
}

/** Whether gpa is RAM for a partition with ram_bytes of RAM. */
bool layout_gpa_is_ram(uint64_t ram_bytes, gpa_t gpa)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(ram_bytes, regions, ARRAY_SIZE(regions));
	uint64_t addr = gpa_addr(gpa);

	for (size_t i = 0; i < count; i++) {
		if (addr >= gpa_addr(regions[i].base) &&
		    addr - gpa_addr(regions[i].base) < regions[i].size) {
			return true;
		}
	}
	return false;
}
