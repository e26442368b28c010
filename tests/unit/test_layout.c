/*
 * Unit tests for hv/layout.c: a partition's guest RAM regions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hv/layout.h"

/** Asserts region i of regions is [base, base + size). */
static void assert_region(const struct guest_region *regions, size_t i,
			  uint64_t base, uint64_t size)
{
	assert_int_equal(gpa_addr(regions[i].base), base);
	assert_int_equal(regions[i].size, size);
}

/**
 * Asserts the invariants of any layout: regions ascending, disjoint, never in
 * the legacy hole [640 KiB, 1 MiB) or the MMIO hole [3 GiB, 4 GiB), adding
 * up to ram_bytes; and that layout_gpa_is_ram() agrees at every edge.
 */
static void assert_layout_sane(uint64_t ram_bytes)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(ram_bytes, regions, ARRAY_SIZE(regions));
	uint64_t total = 0;

	assert_true(count >= 1);
	for (size_t i = 0; i < count; i++) {
		uint64_t base = gpa_addr(regions[i].base);
		uint64_t end = base + regions[i].size;

		assert_true(regions[i].size > 0);
		assert_true(i == 0 || base >= gpa_addr(regions[i - 1].base) +
						       regions[i - 1].size);
		assert_false(base < LAYOUT_HIGH_RAM_BASE && end > LAYOUT_LOW_RAM_END);
		assert_false(base < LAYOUT_ABOVE_4G && end > LAYOUT_MMIO_HOLE_BASE);
		assert_true(layout_gpa_is_ram(ram_bytes, gpa_init(base)));
		assert_true(layout_gpa_is_ram(ram_bytes, gpa_init(end - 1)));
		assert_false(layout_gpa_is_ram(ram_bytes, gpa_init(end)));
		total += regions[i].size;
	}
	assert_int_equal(total, ram_bytes);
}

/** Less than 640 KiB of RAM all sits in conventional memory. */
static void test_small_ram_is_one_region(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];

	assert_int_equal(layout_guest_ram(KiB(256), regions, 3), 1);
	assert_region(regions, 0, 0, KiB(256));
	assert_int_equal(layout_guest_ram(KiB(640), regions, 3), 1);
	assert_region(regions, 0, 0, KiB(640));
	assert_layout_sane(PAGE_SIZE);
	assert_layout_sane(KiB(640));
}

/** RAM past 640 KiB resumes at 1 MiB. */
static void test_ram_resumes_at_1m(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];

	assert_int_equal(layout_guest_ram(KiB(640) + PAGE_SIZE, regions, 3), 2);
	assert_region(regions, 0, 0, KiB(640));
	assert_region(regions, 1, MiB(1), PAGE_SIZE);

	assert_int_equal(layout_guest_ram(GiB(1), regions, 3), 2);
	assert_region(regions, 0, 0, KiB(640));
	assert_region(regions, 1, MiB(1), GiB(1) - KiB(640));
	assert_layout_sane(GiB(1));
	assert_layout_sane(MiB(256));
}

/** RAM that does not fit below 3 GiB continues at 4 GiB. */
static void test_ram_above_4g(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	uint64_t below_hole = KiB(640) + GiB(3) - MiB(1);

	/* Exactly fills the space below the hole. */
	assert_int_equal(layout_guest_ram(below_hole, regions, 3), 2);
	assert_region(regions, 1, MiB(1), GiB(3) - MiB(1));

	assert_int_equal(layout_guest_ram(below_hole + PAGE_SIZE, regions, 3), 3);
	assert_region(regions, 1, MiB(1), GiB(3) - MiB(1));
	assert_region(regions, 2, GiB(4), PAGE_SIZE);

	assert_int_equal(layout_guest_ram(GiB(8), regions, 3), 3);
	assert_region(regions, 0, 0, KiB(640));
	assert_region(regions, 1, MiB(1), GiB(3) - MiB(1));
	assert_region(regions, 2, GiB(4), GiB(8) - below_hole);

	assert_layout_sane(below_hole);
	assert_layout_sane(below_hole + PAGE_SIZE);
	assert_layout_sane(GiB(3));
	assert_layout_sane(GiB(4));
	assert_layout_sane(GiB(64));
}

/** Sizes that cannot be laid out give no regions and touch nothing. */
static void test_invalid_sizes(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS] = { 0 };

	assert_int_equal(layout_guest_ram(0, regions, 3), 0);
	assert_int_equal(layout_guest_ram(MiB(1) + 1, regions, 3), 0);
	assert_int_equal(layout_guest_ram(PAGE_SIZE / 2, regions, 3), 0);
	/* More than the 48-bit guest-physical space holds. */
	assert_int_equal(layout_guest_ram(LAYOUT_GPA_LIMIT, regions, 3), 0);
	assert_int_equal(layout_guest_ram(UINT64_MAX & PAGE_MASK, regions, 3), 0);
	assert_int_equal(regions[0].size, 0);
	assert_false(layout_gpa_is_ram(0, gpa_init(0)));
	assert_false(layout_gpa_is_ram(MiB(1) + 1, gpa_init(0)));
}

/** The largest size that fits ends exactly at the 48-bit limit. */
static void test_largest_size(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	uint64_t largest = KiB(640) + (GiB(3) - MiB(1)) +
			   (LAYOUT_GPA_LIMIT - GiB(4));

	assert_int_equal(layout_guest_ram(largest, regions, 3), 3);
	assert_int_equal(gpa_addr(regions[2].base) + regions[2].size,
			 LAYOUT_GPA_LIMIT);
	assert_int_equal(layout_guest_ram(largest + PAGE_SIZE, regions, 3), 0);
	assert_layout_sane(largest);
}

/** An output array too small for the regions gets nothing. */
static void test_output_too_small(void **state)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS] = { 0 };

	assert_int_equal(layout_guest_ram(GiB(8), regions, 2), 0);
	assert_int_equal(regions[0].size, 0);
	assert_int_equal(layout_guest_ram(GiB(1), regions, 1), 0);
	assert_int_equal(layout_guest_ram(GiB(1), regions, 0), 0);
	assert_int_equal(layout_guest_ram(KiB(4), regions, 1), 1);
}

/** The holes are never RAM, whatever the size. */
static void test_holes_are_not_ram(void **state)
{
	uint64_t ram = GiB(16);

	assert_true(layout_gpa_is_ram(ram, gpa_init(0)));
	assert_true(layout_gpa_is_ram(ram, gpa_init(LAYOUT_LOW_RAM_END - 1)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(LAYOUT_LOW_RAM_END)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(0xB8000)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(LAYOUT_HIGH_RAM_BASE - 1)));
	assert_true(layout_gpa_is_ram(ram, gpa_init(LAYOUT_HIGH_RAM_BASE)));
	assert_true(layout_gpa_is_ram(ram, gpa_init(LAYOUT_MMIO_HOLE_BASE - 1)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(LAYOUT_MMIO_HOLE_BASE)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(0xFEE00000)));
	assert_false(layout_gpa_is_ram(ram, gpa_init(LAYOUT_ABOVE_4G - 1)));
	assert_true(layout_gpa_is_ram(ram, gpa_init(LAYOUT_ABOVE_4G)));
}

/** Many sizes, each checked against the invariants. */
static void test_many_sizes(void **state)
{
	for (uint64_t ram = PAGE_SIZE; ram <= GiB(32); ram = ram * 3 + PAGE_SIZE) {
		assert_layout_sane(ram);
	}
	for (uint64_t ram = GiB(3) - MiB(2); ram <= GiB(3) + MiB(2);
	     ram += PAGE_SIZE * 17) {
		assert_layout_sane(ram);
	}
}

/** Runs the layout tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_ram_is_one_region),
		cmocka_unit_test(test_ram_resumes_at_1m),
		cmocka_unit_test(test_ram_above_4g),
		cmocka_unit_test(test_invalid_sizes),
		cmocka_unit_test(test_largest_size),
		cmocka_unit_test(test_output_too_small),
		cmocka_unit_test(test_holes_are_not_ram),
		cmocka_unit_test(test_many_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
