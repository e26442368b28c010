/*
 * Host tests of drivers/uart16550.c's receive-error accounting: every LSR
 * value read is passed through uart16550_note_line_status(), which counts
 * the error bits the 16550 clears on that read (16550D data sheet, LSR).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

/** Runs the UART driver tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_status_bits),
		cmocka_unit_test(test_line_status_combined),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
