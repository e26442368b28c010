/*
 * Host tests of the byte ring (hv/ring.c): keeps the newest bytes, counts
 * the dropped ones, reads back in order across the wrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/ring.h"

/** An empty ring holds nothing and dropped nothing. */
static void test_ring_empty(void **state)
{
	uint8_t buffer[8];
	char out[8];
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	assert_int_equal(ring_used(&ring), 0);
	assert_int_equal(ring_dropped(&ring), 0);
	assert_int_equal(ring_read_newest(&ring, out, sizeof(out)), 0);
}

/** Writes that fit are read back whole, or their newest part. */
static void test_ring_reads_newest_in_order(void **state)
{
	uint8_t buffer[8];
	char out[9] = { 0 };
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	ring_write(&ring, "abc", 3);
	ring_write(&ring, "de", 2);
	assert_int_equal(ring_read_newest(&ring, out, 8), 5);
	assert_string_equal(out, "abcde");
	memset(out, 0, sizeof(out));
	assert_int_equal(ring_read_newest(&ring, out, 2), 2);
	assert_string_equal(out, "de");
}

/** Past its size the ring keeps the newest bytes across the wrap and counts the rest. */
static void test_ring_wraps_and_counts_dropped(void **state)
{
	uint8_t buffer[8];
	char out[9] = { 0 };
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	ring_write(&ring, "0123456", 7);
	ring_write(&ring, "789ab", 5);
	assert_int_equal(ring_used(&ring), 8);
	assert_int_equal(ring_dropped(&ring), 4);
	assert_int_equal(ring_read_newest(&ring, out, 100), 8);
	assert_string_equal(out, "456789ab");
}

/** One write longer than the ring keeps only its tail. */
static void test_ring_write_longer_than_ring(void **state)
{
	uint8_t buffer[4];
	char out[5] = { 0 };
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	ring_write(&ring, "x", 1);
	ring_write(&ring, "abcdefghij", 10);
	assert_int_equal(ring_dropped(&ring), 7);
	assert_int_equal(ring_read_newest(&ring, out, 4), 4);
	assert_string_equal(out, "ghij");
}

/** Many small writes agree with a reference copy of everything written. */
static void test_ring_matches_reference(void **state)
{
	uint8_t buffer[13];
	char all[4096];
	char out[13];
	size_t total = 0;
	struct byte_ring ring;
	uint32_t seed = 12345;

	ring_init(&ring, buffer, sizeof(buffer));
	while (total < sizeof(all) - 32) {
		char chunk[31];
		size_t n = (seed = seed * 1103515245 + 12345) % 31;

		for (size_t i = 0; i < n; i++) {
			chunk[i] = (char)('a' + (total + i) % 26);
		}
		ring_write(&ring, chunk, n);
		memcpy(all + total, chunk, n);
		total += n;
		size_t got = ring_read_newest(&ring, out, sizeof(out));

		assert_int_equal(got, total < 13 ? total : 13);
		assert_memory_equal(out, all + total - got, got);
		assert_int_equal(ring_dropped(&ring), total - got);
	}
}

/** ring_read_at reads from an offset counted from the oldest kept byte. */
static void test_ring_read_at(void **state)
{
	uint8_t buffer[8];
	char out[9] = { 0 };
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	ring_write(&ring, "0123456789", 10);
	assert_int_equal(ring_read_at(&ring, 0, out, 3), 3);
	assert_string_equal(out, "234");
	memset(out, 0, sizeof(out));
	assert_int_equal(ring_read_at(&ring, 5, out, 8), 3);
	assert_string_equal(out, "789");
	assert_int_equal(ring_read_at(&ring, 8, out, 8), 0);
}

/** A reader with its own cursor: reads what is kept from it on, nothing given way or unwritten. */
static void test_ring_read_from_cursor(void **state)
{
	uint8_t buffer[8];
	char out[9] = { 0 };
	struct byte_ring ring;

	ring_init(&ring, buffer, sizeof(buffer));
	assert_int_equal(ring_oldest(&ring), 0);
	assert_int_equal(ring_read_from(&ring, 0, out, 8), 0);
	ring_write(&ring, "abc", 3);
	assert_int_equal(ring_read_from(&ring, 1, out, 8), 2);
	assert_string_equal(out, "bc");
	ring_write(&ring, "0123456789", 10);
	/* 13 written, 8 kept: positions 5..12 ("23456789"). */
	assert_int_equal(ring_oldest(&ring), 5);
	assert_int_equal(ring_read_from(&ring, 3, out, 8), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(ring_read_from(&ring, 5, out, 3), 3);
	assert_string_equal(out, "234");
	memset(out, 0, sizeof(out));
	assert_int_equal(ring_read_from(&ring, 10, out, 8), 3);
	assert_string_equal(out, "789");
	assert_int_equal(ring_read_from(&ring, 13, out, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_empty),
		cmocka_unit_test(test_ring_reads_newest_in_order),
		cmocka_unit_test(test_ring_wraps_and_counts_dropped),
		cmocka_unit_test(test_ring_write_longer_than_ring),
		cmocka_unit_test(test_ring_matches_reference),
		cmocka_unit_test(test_ring_read_at),
		cmocka_unit_test(test_ring_read_from_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
