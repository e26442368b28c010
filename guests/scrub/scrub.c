/*
 * scrub: checks that a partition started again gets scrubbed RAM. At boot it
 * reads every dword of its RAM above its own image and stack and expects
 * zero; then it writes a marker pattern over all of it, reads the marker
 * back, and spins until the operator stops it. Started again (start,
 * restart), it finds zeros if Tessera scrubbed the RAM it freed and zeroed
 * what it gave anew, and otherwise reports the first leftover dword and
 * whether it is this guest's own marker from the earlier life.
 *
 * Lines (Tessera puts "scrub: " before each):
 *   boot: N KiB at 0x...-0x... all zero
 *   boot: LEFTOVER at gpa 0x...: 0x... (the marker of an earlier life | not the marker)
 *   marker: written and read back over N KiB
 *   idle: spinning until stopped
 * A leftover stops the partition with exit code 1, a marker that does not
 * read back with 2.
 */
#include "guests/common/guest.h"
#include "hv/layout.h"

/* This guest's own extent ends with its stack (guests/guest.ld). */
extern char guest_stack_top[];

/*
 * The marker at each address: affine in the address (cheap to step through
 * in Bochs) and with an odd multiplier, so no two dwords hold the same
 * value and a dword that moved would show up as a wrong value.
 */
#define MARKER_MULTIPLIER 0x9e3779b1U
#define MARKER_OFFSET     0x5c7b0001U

/* The exit codes. */
#define SCRUB_LEFTOVER       1
#define SCRUB_MARKER_MISREAD 2

/** A range of guest-physical addresses: [base, end), page-aligned. */
struct ram_range {
	uint32_t base;
	uint32_t end;
};

/** The marker's value at an address. */
static uint32_t marker_at(uint32_t address)
{
	return address * MARKER_MULTIPLIER + MARKER_OFFSET;
}

/** A pointer to the dword at a guest-physical address (paging is off). */
static volatile uint32_t *dword_at(uint32_t address)
{
	return (volatile uint32_t *)(uintptr_t)address;
}

/**
 * The RAM this guest checks: from the page after its stack to the end of
 * the RAM window above 1 MiB (hv/layout.h: the 640 KiB below the VGA window
 * count toward the partition's size).
 */
static struct ram_range checked_range(uint32_t memory_mib)
{
	uint32_t high_bytes = (memory_mib << 20) - (uint32_t)LAYOUT_LOW_RAM_END;
	uint32_t stack_top = (uint32_t)(uintptr_t)guest_stack_top;

	return (struct ram_range){
		.base = (stack_top + PAGE_SIZE - 1) & ~(uint32_t)(PAGE_SIZE - 1),
		.end = (uint32_t)LAYOUT_HIGH_RAM_BASE + high_bytes,
	};
}

/** The first non-zero dword of range, or 0 when all are zero (0 is not in range). */
static uint32_t first_nonzero(const struct ram_range *range)
{
	for (uint32_t address = range->base; address != range->end; address += 4) {
		if (*dword_at(address) != 0) {
			return address;
		}
	}
	return 0;
}

/** Writes the marker over range. */
static void write_marker(const struct ram_range *range)
{
	uint32_t value = marker_at(range->base);

#pragma GCC unroll 8
	for (uint32_t address = range->base; address != range->end; address += 4) {
		*dword_at(address) = value;
		value += MARKER_MULTIPLIER * 4;
	}
}

/** The first dword of range that does not hold the marker, or 0 when all do. */
static uint32_t first_unmarked(const struct ram_range *range)
{
	for (uint32_t address = range->base; address != range->end; address += 4) {
		if (*dword_at(address) != marker_at(address)) {
			return address;
		}
	}
	return 0;
}

/** Checks the RAM, marks it and spins; returns only when a check failed. */
int guest_main(void)
{
	struct partition_info info;
	int32_t status = hc_partition_info(&info);

	if (status != TESSERA_HC_SUCCESS) {
		guest_printf("FAILED: TESSERA_HC_PARTITION_INFO: %s\n", hc_status_name(status));
		return SCRUB_LEFTOVER;
	}
	struct ram_range range = checked_range(info.memory_mib);
	uint32_t kib = (range.end - range.base) >> 10;
	uint32_t leftover = first_nonzero(&range);

	if (leftover != 0) {
		uint32_t value = *dword_at(leftover);

		guest_printf("boot: LEFTOVER at gpa 0x%08x: 0x%08x (%s)\n", leftover, value,
			     value == marker_at(leftover) ? "the marker of an earlier life" :
							    "not the marker");
		return SCRUB_LEFTOVER;
	}
	guest_printf("boot: %u KiB at 0x%08x-0x%08x all zero\n", kib, range.base, range.end - 1);
	write_marker(&range);
	uint32_t unmarked = first_unmarked(&range);

	if (unmarked != 0) {
		guest_printf("FAILED: marker at gpa 0x%08x reads 0x%08x, not 0x%08x\n", unmarked,
			     *dword_at(unmarked), marker_at(unmarked));
		return SCRUB_MARKER_MISREAD;
	}
	guest_printf("marker: written and read back over %u KiB\n", kib);
	guest_printf("idle: spinning until stopped\n");
	for (;;) {
		__asm__ volatile("pause");
	}
}
