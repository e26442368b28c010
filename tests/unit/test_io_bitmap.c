/*
 * Unit tests of arch/x86/io_bitmap.c, the VMX I/O bitmaps.
 *
 * The expected bytes and bits are written out from the SDM (Vol. 3C, 25.6.4):
 * bitmap A (the first page) for ports 0-0x7fff, bitmap B (the second) for
 * 0x8000-0xffff, port N of a bitmap in bit N % 8 of byte N / 8; 1 = exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/io_bitmap.h"

#define PAGE 4096
#define BITMAP_B (bitmaps + PAGE)

static uint8_t bitmaps[2 * PAGE];

/** Every port exits, as after io_bitmap_init(), on a buffer full of junk. */
static int setup(void **state)
{
	memset(bitmaps, 0x5a, sizeof(bitmaps));
	io_bitmap_init(bitmaps);
	return 0;
}

/** Fails unless exactly ports first..last pass and every other port exits. */
static void assert_only_passed(uint32_t first, uint32_t last)
{
	for (uint32_t port = 0; port <= 0xffff; port++) {
		bool passed = port >= first && port <= last;

		if (io_bitmap_intercepts(bitmaps, (uint16_t)port) == passed) {
			fail_msg("port 0x%x: expected %s", port,
				 passed ? "passed" : "intercepted");
		}
	}
}

/** Fails unless the bitmaps hold count clear bits in all. */
static void assert_clear_bits(unsigned int count)
{
	unsigned int clear = 0;

	for (size_t i = 0; i < sizeof(bitmaps); i++) {
		clear += 8 - (unsigned int)__builtin_popcount(bitmaps[i]);
	}
	assert_int_equal(clear, count);
}

/** Init sets every bit of both pages: every port exits. */
static void test_init_intercepts_every_port(void **state)
{
	for (size_t i = 0; i < sizeof(bitmaps); i++) {
		assert_int_equal(bitmaps[i], 0xff);
	}
	assert_only_passed(1, 0);
	assert_int_equal(IO_BITMAP_SIZE, 2 * PAGE);
}

/** Port 0 is bit 0 of bitmap A's first byte. */
static void test_port_0_is_first_bit_of_a(void **state)
{
	io_bitmap_pass(bitmaps, 0, 0);
	assert_int_equal(bitmaps[0], 0xfe);
	assert_clear_bits(1);
	assert_only_passed(0, 0);
}

/** Port 0x7fff is bit 7 of bitmap A's last byte. */
static void test_port_7fff_is_last_bit_of_a(void **state)
{
	io_bitmap_pass(bitmaps, 0x7fff, 0x7fff);
	assert_int_equal(bitmaps[PAGE - 1], 0x7f);
	assert_clear_bits(1);
	assert_only_passed(0x7fff, 0x7fff);
}

/** Port 0x8000 is bit 0 of bitmap B's first byte, not a bit past A. */
static void test_port_8000_is_first_bit_of_b(void **state)
{
	io_bitmap_pass(bitmaps, 0x8000, 0x8000);
	assert_int_equal(BITMAP_B[0], 0xfe);
	assert_clear_bits(1);
	assert_only_passed(0x8000, 0x8000);
}

/** Port 0xffff is bit 7 of bitmap B's last byte. */
static void test_port_ffff_is_last_bit_of_b(void **state)
{
	io_bitmap_pass(bitmaps, 0xffff, 0xffff);
	assert_int_equal(BITMAP_B[PAGE - 1], 0x7f);
	assert_clear_bits(1);
	assert_only_passed(0xffff, 0xffff);
}

/** A single port in the middle of a byte clears just its bit. */
static void test_single_port(void **state)
{
	io_bitmap_pass(bitmaps, 0x80, 0x80);
	assert_int_equal(bitmaps[0x10], 0xfe);
	io_bitmap_pass(bitmaps, 0x2fb, 0x2fb);
	assert_int_equal(bitmaps[0x5f], 0xf7);
	assert_clear_bits(2);
	assert_true(io_bitmap_intercepts(bitmaps, 0x7f));
	assert_false(io_bitmap_intercepts(bitmaps, 0x80));
	assert_true(io_bitmap_intercepts(bitmaps, 0x81));
	assert_false(io_bitmap_intercepts(bitmaps, 0x2fb));
}

/** A byte-aligned range clears whole bytes, nothing on either side. */
static void test_aligned_range(void **state)
{
	io_bitmap_pass(bitmaps, 0x2f8, 0x2ff);
	assert_int_equal(bitmaps[0x5e], 0xff);
	assert_int_equal(bitmaps[0x5f], 0x00);
	assert_int_equal(bitmaps[0x60], 0xff);
	assert_only_passed(0x2f8, 0x2ff);
}

/** A range starting and ending mid-byte clears only its own bits. */
static void test_unaligned_range(void **state)
{
	io_bitmap_pass(bitmaps, 0x3, 0x11);
	assert_int_equal(bitmaps[0], 0x07);
	assert_int_equal(bitmaps[1], 0x00);
	assert_int_equal(bitmaps[2], 0xfc);
	assert_only_passed(0x3, 0x11);
}

/** A range across 0x7fff/0x8000 clears the end of A and the start of B. */
static void test_range_across_the_two_bitmaps(void **state)
{
	io_bitmap_pass(bitmaps, 0x7ffe, 0x8001);
	assert_int_equal(bitmaps[PAGE - 1], 0x3f);
	assert_int_equal(BITMAP_B[0], 0xfc);
	assert_clear_bits(4);
	assert_only_passed(0x7ffe, 0x8001);
}

/** A range ending at 0xffff stops there (no 16-bit wrap to port 0). */
static void test_range_up_to_ffff(void **state)
{
	io_bitmap_pass(bitmaps, 0xfff0, 0xffff);
	assert_int_equal(BITMAP_B[PAGE - 2], 0x00);
	assert_int_equal(BITMAP_B[PAGE - 1], 0x00);
	assert_int_equal(BITMAP_B[PAGE - 3], 0xff);
	assert_int_equal(bitmaps[0], 0xff);
	assert_only_passed(0xfff0, 0xffff);
}

/** Every port at once: both pages all clear. */
static void test_whole_port_space(void **state)
{
	io_bitmap_pass(bitmaps, 0, 0xffff);
	for (size_t i = 0; i < sizeof(bitmaps); i++) {
		assert_int_equal(bitmaps[i], 0x00);
	}
	assert_only_passed(0, 0xffff);
}

/** Passing ranges adds up; passing a port twice changes nothing. */
static void test_ranges_accumulate(void **state)
{
	io_bitmap_pass(bitmaps, 0x378, 0x37f);
	io_bitmap_pass(bitmaps, 0x2f8, 0x2ff);
	io_bitmap_pass(bitmaps, 0x2f8, 0x2f8);
	assert_clear_bits(16);
	assert_false(io_bitmap_intercepts(bitmaps, 0x37f));
	assert_false(io_bitmap_intercepts(bitmaps, 0x2f8));
	assert_true(io_bitmap_intercepts(bitmaps, 0x300));
	assert_true(io_bitmap_intercepts(bitmaps, 0x377));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_init_intercepts_every_port, setup),
		cmocka_unit_test_setup(test_port_0_is_first_bit_of_a, setup),
		cmocka_unit_test_setup(test_port_7fff_is_last_bit_of_a, setup),
		cmocka_unit_test_setup(test_port_8000_is_first_bit_of_b, setup),
		cmocka_unit_test_setup(test_port_ffff_is_last_bit_of_b, setup),
		cmocka_unit_test_setup(test_single_port, setup),
		cmocka_unit_test_setup(test_aligned_range, setup),
		cmocka_unit_test_setup(test_unaligned_range, setup),
		cmocka_unit_test_setup(test_range_across_the_two_bitmaps, setup),
		cmocka_unit_test_setup(test_range_up_to_ffff, setup),
		cmocka_unit_test_setup(test_whole_port_space, setup),
		cmocka_unit_test_setup(test_ranges_accumulate, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
