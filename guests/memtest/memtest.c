/*
 * memtest: checks that the RAM Tessera gives a partition is all there and
 * all its own. It asks TESSERA_HC_PARTITION_INFO for the RAM size, works out
 * where that RAM lies (hv/layout.h), and writes every dword of it, except
 * this guest's own image and stack, with a pattern that depends on the
 * address. Only once every dword is written does it read them all back, so
 * two guest pages that share one host frame show up as a mismatch: the later
 * write overwrites the earlier page's pattern. A second pass does the same
 * with the pattern inverted, so that every bit is seen both as 0 and as 1.
 *
 * RAM that TESSERA_HC_PARTITION_INFO reports but the EPT does not map stops
 * the partition with an EPT violation instead of exit code 0, which fails the
 * test as well.
 *
 * Exit code 0 when every dword read back what was written; 1, after printing
 * the address, the expected and the read value, at the first one that did
 * not. Tessera prefixes every console line with the partition's name, so the
 * lines printed here carry no "memtest:" of their own.
 */
#include "guests/common/guest.h"
#include "hv/layout.h"

/* This guest's own extent: image, .bss and stack (guests/guest.ld). */
extern char guest_image_start[];
extern char guest_stack_top[];

/*
 * Fibonacci hashing: the multiplier is odd, so address * multiplier is a
 * bijection on 32-bit values and no two dwords get the same pattern, while
 * every bit of the address changes the high bits of the pattern.
 */
#define PATTERN_MULTIPLIER 0x9e3779b1U

/* One range per layout window that paging-off 32-bit code can reach. */
#define MEMTEST_RANGES_MAX 2

/* The exit codes. */
#define MEMTEST_PASSED 0
#define MEMTEST_FAILED 1

/** A range of guest-physical addresses to test: [base, end), page-aligned. */
struct ram_range {
	uint32_t base;
	uint32_t end;
};

/**
 * The value a pass writes at each address: address * multiplier + offset.
 * Being affine in the address, it advances by a constant from one dword to
 * the next, which keeps the loops over millions of dwords short in Bochs.
 */
struct pattern {
	const char *name;
	uint32_t multiplier;
	uint32_t offset;
};

/*
 * The second pattern is the bitwise inverse of the first: ~x is -x - 1, so
 * ~(address * M) is address * -M + 0xffffffff.
 */
static const struct pattern memtest_patterns[] = {
	{ "pass 1 (address hash)", PATTERN_MULTIPLIER, 0 },
	{ "pass 2 (inverted)", -PATTERN_MULTIPLIER, 0xffffffffU },
};

/** The first address at which a range did not read back its pattern. */
struct mismatch {
	uint32_t address;
	uint32_t expected;
	uint32_t got;
};

/** The value pattern writes at address. */
static uint32_t pattern_value(const struct pattern *pattern, uint32_t address)
{
	return address * pattern->multiplier + pattern->offset;
}

/** How much the pattern's value grows from one dword to the next. */
static uint32_t pattern_step(const struct pattern *pattern)
{
	return pattern->multiplier * (uint32_t)sizeof(uint32_t);
}

/**
 * A pointer to the dword at a guest-physical address (paging is off, so the
 * two are the same). The empty asm hides the value from the compiler: the
 * low range starts at address 0, and a dereference GCC can prove to be of a
 * null pointer is one it may replace with a trap.
 */
static volatile uint32_t *dword_at(uint32_t address)
{
	__asm__("" : "+r"(address));
	return (volatile uint32_t *)(uintptr_t)address;
}

/** Writes the pattern over every dword of range. */
static void fill_range(const struct ram_range *range,
		       const struct pattern *pattern)
{
	volatile uint32_t *dword = dword_at(range->base);
	volatile uint32_t *end = dword_at(range->end);
	uint32_t value = pattern_value(pattern, range->base);
	uint32_t step = pattern_step(pattern);

	/*
	 * Unrolled, the two loops over every dword cost about 7 instructions
	 * per dword instead of 13, and Bochs runs only ~25 M instructions/s:
	 * a 16 MiB partition takes about 66 M instructions for both passes.
	 */
#pragma GCC unroll 8
	while (dword != end) {
		*dword++ = value;
		value += step;
	}
}

/**
 * Reads every dword of range back; returns false at the first that does not
 * hold the pattern, described in *mismatch.
 */
static bool check_range(const struct ram_range *range,
			const struct pattern *pattern,
			struct mismatch *mismatch)
{
	volatile uint32_t *dword = dword_at(range->base);
	volatile uint32_t *end = dword_at(range->end);
	uint32_t value = pattern_value(pattern, range->base);
	uint32_t step = pattern_step(pattern);

	/* Unrolled for Bochs' sake, like the loop in fill_range. */
#pragma GCC unroll 8
	for (; dword != end; dword++, value += step) {
		uint32_t got = *dword;

		if (got != value) {
			*mismatch = (struct mismatch){
				.address = (uint32_t)(uintptr_t)dword,
				.expected = value,
				.got = got,
			};
			return false;
		}
	}
	return true;
}

/** The total size of the ranges in bytes. */
static uint32_t ranges_bytes(const struct ram_range *ranges, size_t count)
{
	uint32_t bytes = 0;

	for (size_t i = 0; i < count; i++) {
		bytes += ranges[i].end - ranges[i].base;
	}
	return bytes;
}

/**
 * Runs one pass: fills every range, then checks every range. Writing all of
 * them before reading any is what makes aliasing between pages visible.
 */
static bool run_pass(const struct pattern *pattern,
		     const struct ram_range *ranges, size_t count)
{
	struct mismatch mismatch;
	uint32_t bytes = ranges_bytes(ranges, count);

	for (size_t i = 0; i < count; i++) {
		fill_range(&ranges[i], pattern);
	}
	for (size_t i = 0; i < count; i++) {
		if (!check_range(&ranges[i], pattern, &mismatch)) {
			guest_printf("%s: MISMATCH at gpa 0x%08x: expected "
				     "0x%08x, got 0x%08x\n",
				     pattern->name, mismatch.address,
				     mismatch.expected, mismatch.got);
			return false;
		}
	}
	guest_printf("%s: tested %u KiB in %u pages, 0 errors\n",
		     pattern->name, bytes >> 10,
		     bytes >> PAGE_SHIFT);
	return true;
}

/**
 * The end of the RAM window above 1 MiB for ram_bytes of RAM, filled as
 * hv/layout.h says: the 640 KiB below the VGA window count toward the size,
 * and RAM beyond the MMIO hole continues above 4 GiB, out of reach here.
 */
static uint32_t high_ram_end(uint64_t ram_bytes)
{
	uint64_t high_bytes = ram_bytes - LAYOUT_LOW_RAM_END;
	uint64_t window = LAYOUT_MMIO_HOLE_BASE - LAYOUT_HIGH_RAM_BASE;

	if (high_bytes > window) {
		guest_printf("RAM above 4 GiB is out of reach with paging "
			     "off: not tested\n");
		high_bytes = window;
	}
	return (uint32_t)(LAYOUT_HIGH_RAM_BASE + high_bytes);
}

/**
 * Fills ranges with the RAM to test and returns how many there are: all of
 * low RAM, and the RAM above 1 MiB that this guest does not occupy. Its own
 * extent is rounded up to a whole page, so that every range is whole pages.
 */
static size_t ranges_to_test(uint64_t ram_bytes, struct ram_range *ranges)
{
	uint32_t own_start = (uint32_t)(uintptr_t)guest_image_start;
	uint32_t own_end = (uint32_t)ALIGN_UP((uintptr_t)guest_stack_top,
					      PAGE_SIZE);
	uint32_t high_end = high_ram_end(ram_bytes);
	size_t count = 0;

	guest_printf("RAM: %u KiB at [0x0, 0x%x) and [0x%x, 0x%x)\n",
		     (uint32_t)(ram_bytes >> 10), (uint32_t)LAYOUT_LOW_RAM_END,
		     (uint32_t)LAYOUT_HIGH_RAM_BASE, high_end);
	guest_printf("not tested: this guest's image and stack at "
		     "[0x%x, 0x%x)\n", own_start, own_end);
	ranges[count++] = (struct ram_range){
		.base = 0, .end = (uint32_t)LAYOUT_LOW_RAM_END
	};
	if (own_end < high_end) {
		ranges[count++] = (struct ram_range){
			.base = own_end, .end = high_end
		};
	}
	return count;
}

/** Tests the partition's RAM with each pattern in turn. */
int guest_main(void)
{
	struct partition_info info = { .id = 0 };
	struct ram_range ranges[MEMTEST_RANGES_MAX];
	int32_t status = hc_partition_info(&info);
	size_t count;

	if (status != TESSERA_HC_SUCCESS) {
		guest_printf("FAILED: TESSERA_HC_PARTITION_INFO: %s\n",
			     hc_status_name(status));
		return MEMTEST_FAILED;
	}
	/* The layout arithmetic below counts on at least the 640 KiB below VGA. */
	if (info.memory_mib == 0) {
		guest_printf("FAILED: TESSERA_HC_PARTITION_INFO reports %u MiB "
			     "of RAM, less than any partition has\n",
			     info.memory_mib);
		return MEMTEST_FAILED;
	}
	count = ranges_to_test(MiB(info.memory_mib), ranges);
	for (size_t i = 0; i < ARRAY_SIZE(memtest_patterns); i++) {
		if (!run_pass(&memtest_patterns[i], ranges, count)) {
			return MEMTEST_FAILED;
		}
	}
	return MEMTEST_PASSED;
}
