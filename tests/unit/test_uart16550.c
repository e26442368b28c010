/*
 * Host tests of drivers/uart16550.c: the receive-error accounting (every
 * LSR value read is passed through uart16550_note_line_status(), which
 * counts the error bits the 16550 clears on that read: 16550D data sheet,
 * LSR), and the order in which the urgent and bulk queues reach the line
 * (uart16550_next_byte(), what the pump hands the UART, without port I/O).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/uart16550.h"

/** Each error bit is counted in its own counter; data-ready and THRE are not errors. */
static void test_line_status_bits(void **state)
{
	struct uart16550 uart = { .port = 0x3f8 };

	assert_int_equal(uart16550_note_line_status(&uart, 0x61), 0x61);
	assert_int_equal(uart.errors.overruns + uart.errors.parity_errors +
				 uart.errors.framing_errors + uart.errors.breaks,
			 0);
	uart16550_note_line_status(&uart, 0x02); /* OE */
	uart16550_note_line_status(&uart, 0x04); /* PE */
	uart16550_note_line_status(&uart, 0x08); /* FE */
	uart16550_note_line_status(&uart, 0x08);
	uart16550_note_line_status(&uart, 0x10); /* BI */
	assert_int_equal(uart.errors.overruns, 1);
	assert_int_equal(uart.errors.parity_errors, 1);
	assert_int_equal(uart.errors.framing_errors, 2);
	assert_int_equal(uart.errors.breaks, 1);
}

/** A break usually comes with a framing error and FIFO error (bit 7): each counted once. */
static void test_line_status_combined(void **state)
{
	struct uart16550 uart = { .port = 0x3f8 };

	uart16550_note_line_status(&uart, 0x80 | 0x10 | 0x08 | 0x01);
	uart16550_note_line_status(&uart, 0xff);
	assert_int_equal(uart.errors.overruns, 1);
	assert_int_equal(uart.errors.parity_errors, 1);
	assert_int_equal(uart.errors.framing_errors, 2);
	assert_int_equal(uart.errors.breaks, 2);
}

/* Large (two queues): one for all the tests, emptied by setup. */
static struct uart16550 uart;

/** An empty UART state, as uart16550_init() leaves it. */
static int setup(void **state)
{
	memset(&uart, 0, sizeof(uart));
	uart.port = 0x3f8;
	return 0;
}

/** Takes up to @max bytes the line would carry now, NUL-terminated, into @out. */
static size_t line_takes(char *out, size_t max)
{
	size_t n = 0;

	while (n < max && uart16550_next_byte(&uart, &out[n])) {
		n++;
	}
	out[n] = '\0';
	return n;
}

/** Bulk units queue whole, "\n" as "\r\n"; one that does not fit queues nothing. */
static void test_bulk_whole_units(void **state)
{
	static char big[UART16550_QUEUE_SIZE];
	char out[64];

	assert_true(uart16550_queue_bulk(&uart, "a\nb\r\n", 5));
	assert_int_equal(uart16550_bulk_queued(&uart), 6);
	assert_int_equal(uart16550_bulk_room(&uart), UART16550_QUEUE_SIZE - 6);
	memset(big, 'x', sizeof(big));
	assert_false(uart16550_queue_bulk(&uart, big, sizeof(big) - 5));
	assert_false(uart16550_queue_bulk(&uart, "", 0));
	assert_int_equal(uart16550_bulk_queued(&uart), 6);
	assert_int_equal(line_takes(out, sizeof(out) - 1), 6);
	assert_string_equal(out, "a\r\nb\r\n");
}

/** Urgent bytes go ahead of bulk units queued before them. */
static void test_urgent_first(void **state)
{
	char out[64];

	assert_true(uart16550_queue_bulk(&uart, "p: 1\n", 5));
	assert_true(uart16550_queue_bulk(&uart, "p: 2\n", 5));
	uart16550_queue_urgent(&uart, "reply\n", 6, true);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, "reply\r\np: 1\r\np: 2\r\n");
}

/** A bulk unit partly sent goes on before urgent bytes: no line is mixed. */
static void test_bulk_unit_finishes_first(void **state)
{
	char out[64];

	assert_true(uart16550_queue_bulk(&uart, "p: 1\n", 5));
	assert_true(uart16550_queue_bulk(&uart, "p: 2\n", 5));
	assert_int_equal(line_takes(out, 2), 2);
	uart16550_queue_urgent(&uart, "log\n", 4, true);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, " 1\r\nlog\r\np: 2\r\n");
}

/** An urgent unit written in pieces keeps bulk bytes out until its end, even between pieces. */
static void test_urgent_unit_in_pieces(void **state)
{
	char out[64];

	assert_true(uart16550_queue_bulk(&uart, "p\n", 2));
	uart16550_queue_urgent(&uart, "{\"a\":", 5, false);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, "{\"a\":");
	/* The rest of the unit is not written yet: nothing may go. */
	assert_int_equal(line_takes(out, sizeof(out) - 1), 0);
	uart16550_queue_urgent(&uart, "1}\n", 3, true);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, "1}\r\np\r\n");
}

/**
 * After a fence, the bulk bytes queued before it leave before urgent bytes
 * queued after it; urgent bytes queued before it still go first.
 */
static void test_fence(void **state)
{
	char out[64];

	uart16550_queue_urgent(&uart, "boot\n", 5, true);
	assert_true(uart16550_queue_bulk(&uart, "last\n", 5));
	uart16550_fence(&uart);
	assert_true(uart16550_queue_bulk(&uart, "later\n", 6));
	uart16550_queue_urgent(&uart, "stopped\n", 8, true);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, "boot\r\nlast\r\nstopped\r\nlater\r\n");
}

/** A second fence while the first holds: each holds only the urgent bytes queued after it. */
static void test_fence_twice(void **state)
{
	char out[96];

	assert_true(uart16550_queue_bulk(&uart, "a1\n", 3));
	uart16550_fence(&uart);
	uart16550_queue_urgent(&uart, "a stopped\n", 10, true);
	assert_true(uart16550_queue_bulk(&uart, "b1\n", 3));
	uart16550_fence(&uart);
	uart16550_queue_urgent(&uart, "b stopped\n", 10, true);
	line_takes(out, sizeof(out) - 1);
	assert_string_equal(out, "a1\r\na stopped\r\nb1\r\nb stopped\r\n");
}

/** More fences than are kept: the newest merge, and still no urgent byte overtakes. */
static void test_fence_merge(void **state)
{
	char out[256];
	char expected[256] = "";

	for (unsigned int i = 0; i < UART16550_FENCES + 2; i++) {
		char bulk[4] = { 'b', (char)('0' + i), '\n', 0 };
		char urgent[4] = { 'u', (char)('0' + i), '\n', 0 };

		assert_true(uart16550_queue_bulk(&uart, bulk, 3));
		uart16550_fence(&uart);
		uart16550_queue_urgent(&uart, urgent, 3, true);
	}
	line_takes(out, sizeof(out) - 1);
	/* Kept fences in order; the merged ones release their urgent bytes together. */
	for (unsigned int i = 0; i < UART16550_FENCES - 1; i++) {
		char pair[16];

		snprintf(pair, sizeof(pair), "b%u\r\nu%u\r\n", i, i);
		strcat(expected, pair);
	}
	strcat(expected, "b7\r\nb8\r\nb9\r\nu7\r\nu8\r\nu9\r\n");
	assert_string_equal(out, expected);
}

/** Urgent output cannot starve bulk output: one bulk unit goes per URGENT_RUN_MAX urgent bytes. */
static void test_urgent_cannot_starve_bulk(void **state)
{
	static char urgent[UART16550_URGENT_RUN_MAX + 64];
	char c;
	size_t urgent_before_bulk = 0;

	memset(urgent, 'u', sizeof(urgent));
	assert_true(uart16550_queue_bulk(&uart, "b\n", 2));
	uart16550_queue_urgent(&uart, urgent, UART16550_URGENT_RUN_MAX / 2, true);
	uart16550_queue_urgent(&uart, urgent, sizeof(urgent), true);
	while (uart16550_next_byte(&uart, &c) && c == 'u') {
		urgent_before_bulk++;
	}
	assert_int_equal(c, 'b');
	/* The bulk unit waited for the urgent unit in progress to end, not longer. */
	assert_int_equal(urgent_before_bulk, UART16550_URGENT_RUN_MAX / 2 + sizeof(urgent));
	assert_true(uart16550_next_byte(&uart, &c));
	assert_int_equal(c, '\r');
}

/** Runs the UART driver tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_status_bits),
		cmocka_unit_test(test_line_status_combined),
		cmocka_unit_test_setup(test_bulk_whole_units, setup),
		cmocka_unit_test_setup(test_urgent_first, setup),
		cmocka_unit_test_setup(test_bulk_unit_finishes_first, setup),
		cmocka_unit_test_setup(test_urgent_unit_in_pieces, setup),
		cmocka_unit_test_setup(test_fence, setup),
		cmocka_unit_test_setup(test_fence_twice, setup),
		cmocka_unit_test_setup(test_fence_merge, setup),
		cmocka_unit_test_setup(test_urgent_cannot_starve_bulk, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
