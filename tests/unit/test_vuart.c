/*
 * Host tests of hv/vuart.c: a partition's virtual 16550 UART.
 *
 * The register model is checked against the 16550 data sheet (register
 * offsets, DLAB, the LSR and MSR bits, loopback), the output side against
 * the lines a capturing console sink receives: "NAME: text\n", exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/support/console_capture.h"

#include "hv/console.h"
#include "hv/vuart.h"

#define UART_NAME "com-test"

/* Register offsets from the base port (16550 data sheet). */
#define T_RBR_THR 0 /* DLL with DLAB */
#define T_IER     1 /* DLM with DLAB */
#define T_IIR_FCR 2
#define T_LCR     3
#define T_MCR     4
#define T_LSR     5
#define T_MSR     6
#define T_SCR     7

#define T_LCR_8N1  0x03
#define T_LCR_DLAB 0x80
#define T_LSR_THRE 0x20
#define T_LSR_TEMT 0x40
#define T_MCR_LOOP 0x10
#define T_MSR_CTS_DSR_DCD 0xb0

static struct vuart uart;

/** A fresh UART and an empty capture. */
static int setup(void **state)
{
	console_capture_start();
	memset(&uart, 0x5a, sizeof(uart));
	vuart_init(&uart, UART_NAME, NULL);
	return 0;
}

/** Removes the sink. */
static int teardown(void **state)
{
	console_capture_stop();
	return 0;
}

/** Writes a string to THR byte by byte, as a polling driver does. */
static void put_string(const char *text)
{
	for (const char *c = text; *c != '\0'; c++) {
		vuart_write(&uart, T_RBR_THR, (uint8_t)*c);
	}
}

/** Writes length copies of c to THR. */
static void put_repeated(char c, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		vuart_write(&uart, T_RBR_THR, (uint8_t)c);
	}
}

/** Builds the console text "UART_NAME: " + length copies of c + "\n". */
static void expected_line(char *out, size_t size, char c, size_t length)
{
	size_t n = (size_t)snprintf(out, size, "%s: ", UART_NAME);

	assert_true(n + length + 2 <= size);
	memset(out + n, c, length);
	out[n + length] = '\n';
	out[n + length + 1] = '\0';
}

/* ------------------------------------------------------------------------
 * Registers
 * ------------------------------------------------------------------------ */

/** vuart_init clears every register and the line, and keeps the name. */
static void test_vuart_init_resets_everything(void **state)
{
	assert_ptr_equal(uart.name, UART_NAME);
	assert_int_equal(uart.ier, 0);
	assert_int_equal(uart.lcr, 0);
	assert_int_equal(uart.mcr, 0);
	assert_int_equal(uart.scr, 0);
	assert_int_equal(uart.dll, 0);
	assert_int_equal(uart.dlm, 0);
	assert_int_equal(uart.line_length, 0);
	assert_int_equal(uart.bytes_written, 0);
}

/** LSR always shows THRE | TEMT (and no received data), whatever else. */
static void test_vuart_lsr_always_transmitter_empty(void **state)
{
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_THRE | T_LSR_TEMT);
	put_string("busy?");
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_THRE | T_LSR_TEMT);
	vuart_write(&uart, T_LSR, 0x00);
	vuart_write(&uart, T_LCR, T_LCR_DLAB);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(vuart_read(&uart, T_LSR), 0x60);
}

/** With DLAB set, offsets 0 and 1 are the divisor latch, not THR/IER. */
static void test_vuart_dlab_selects_divisor_latch(void **state)
{
	vuart_write(&uart, T_IER, 0x05);
	vuart_write(&uart, T_LCR, T_LCR_DLAB | T_LCR_8N1);
	vuart_write(&uart, T_RBR_THR, 0x01);
	vuart_write(&uart, T_IER, 0xc2);
	assert_int_equal(vuart_read(&uart, T_RBR_THR), 0x01);
	assert_int_equal(vuart_read(&uart, T_IER), 0xc2);
	assert_int_equal(vuart_read(&uart, T_LCR), T_LCR_DLAB | T_LCR_8N1);
	assert_int_equal(uart.dll, 0x01);
	assert_int_equal(uart.dlm, 0xc2);
	assert_int_equal(uart.ier, 0x05);
	assert_int_equal(uart.bytes_written, 0);
	assert_int_equal(uart.line_length, 0);
}

/** With DLAB clear again, offsets 0 and 1 are RBR/THR and IER. */
static void test_vuart_dlab_clear_selects_thr_and_ier(void **state)
{
	vuart_write(&uart, T_LCR, T_LCR_DLAB);
	vuart_write(&uart, T_RBR_THR, 0x0c);
	vuart_write(&uart, T_IER, 0x00);
	vuart_write(&uart, T_LCR, T_LCR_8N1);
	vuart_write(&uart, T_IER, 0x03);
	assert_int_equal(vuart_read(&uart, T_IER), 0x03);
	assert_int_equal(vuart_read(&uart, T_RBR_THR), 0); /* RBR: no input */
	vuart_write(&uart, T_RBR_THR, 'k');
	assert_int_equal(uart.line_length, 1);
	assert_int_equal(uart.line[0], 'k');
	assert_int_equal(uart.dll, 0x0c);
	assert_int_equal(uart.dlm, 0x00);
	assert_int_equal(vuart_read(&uart, T_LCR), T_LCR_8N1);
}

/** The scratch register keeps what is written, every bit. */
static void test_vuart_scratch_register_keeps_value(void **state)
{
	static const uint8_t values[] = { 0xa5, 0x5a, 0xff, 0x00 };

	for (size_t i = 0; i < ARRAY_SIZE(values); i++) {
		vuart_write(&uart, T_SCR, values[i]);
		assert_int_equal(vuart_read(&uart, T_SCR), values[i]);
	}
}

/** IER has four defined bits; the upper four read as zero. */
static void test_vuart_ier_masks_to_four_bits(void **state)
{
	vuart_write(&uart, T_IER, 0xff);
	assert_int_equal(vuart_read(&uart, T_IER), 0x0f);
	vuart_write(&uart, T_IER, 0xa5);
	assert_int_equal(vuart_read(&uart, T_IER), 0x05);
}

/** MCR has five defined bits; the upper three read as zero. */
static void test_vuart_mcr_masks_to_five_bits(void **state)
{
	vuart_write(&uart, T_MCR, 0xff);
	assert_int_equal(vuart_read(&uart, T_MCR), 0x1f);
	vuart_write(&uart, T_MCR, 0x0b);
	assert_int_equal(vuart_read(&uart, T_MCR), 0x0b);
}

/** IIR reports no pending interrupt; an FCR write does not change that. */
static void test_vuart_iir_reports_no_interrupt(void **state)
{
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), 0x01);
	vuart_write(&uart, T_IIR_FCR, 0xc7);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), 0x01);
	assert_int_equal(vuart_read(&uart, T_LCR), 0);
}

/** MSR shows a ready null-modem line (CTS, DSR, DCD); writes are ignored. */
static void test_vuart_msr_shows_ready_line(void **state)
{
	assert_int_equal(vuart_read(&uart, T_MSR), T_MSR_CTS_DSR_DCD);
	vuart_write(&uart, T_MSR, 0x00);
	assert_int_equal(vuart_read(&uart, T_MSR), T_MSR_CTS_DSR_DCD);
}

/** Loopback: THR bytes go nowhere and the modem inputs read as zero. */
static void test_vuart_loopback_suppresses_output_and_msr(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(vuart_read(&uart, T_MSR), 0);
	put_string("looped\n");
	assert_int_equal(captured.length, 0);
	assert_int_equal(uart.line_length, 0);
	assert_int_equal(uart.bytes_written, 0);
	vuart_write(&uart, T_MCR, 0x03);
	assert_int_equal(vuart_read(&uart, T_MSR), T_MSR_CTS_DSR_DCD);
	put_string("out\n");
	assert_string_equal(captured.text, UART_NAME ": out\n");
}

/* ------------------------------------------------------------------------
 * Line assembly
 * ------------------------------------------------------------------------ */

/** Nothing reaches the console until a line is complete. */
static void test_vuart_line_held_until_newline(void **state)
{
	put_string("partial");
	assert_int_equal(captured.length, 0);
	assert_int_equal(uart.line_length, 7);
	put_string("\n");
	assert_string_equal(captured.text, UART_NAME ": partial\n");
	assert_int_equal(uart.line_length, 0);
}

/** Lines are split at '\n', each written whole behind the name. */
static void test_vuart_lines_split_at_newline(void **state)
{
	put_string("first\nsecond\nthird");
	assert_string_equal(captured.text, UART_NAME ": first\n" UART_NAME ": second\n");
	assert_int_equal(captured.writes, 2);
}

/** '\r' is dropped, whether in a CRLF pair or alone. */
static void test_vuart_carriage_return_dropped(void **state)
{
	put_string("dos\r\nline\r\n\rx\ry\n");
	assert_string_equal(captured.text,
			    UART_NAME ": dos\n" UART_NAME ": line\n" UART_NAME ": xy\n");
}

/** Control characters (and DEL) are shown as '?'; TAB passes. */
static void test_vuart_control_chars_shown_as_question_mark(void **state)
{
	put_string("\x01" "a\x1b[31mb\x7f" "c\x08\x07\x0c\x1f" "d\te\n");
	vuart_write(&uart, T_RBR_THR, 0x00);
	put_string("\n");
	assert_string_equal(captured.text,
			    UART_NAME ": ?a?[31mb?c????d\te\n" UART_NAME ": ?\n");
}

/** An empty line is emitted as just the prefix. */
static void test_vuart_empty_line_is_just_prefix(void **state)
{
	put_string("\n\r\n");
	assert_string_equal(captured.text, UART_NAME ": \n" UART_NAME ": \n");
}

/** One byte short of VUART_LINE_MAX is still held. */
static void test_vuart_line_below_max_held(void **state)
{
	put_repeated('y', VUART_LINE_MAX - 1);
	assert_int_equal(captured.length, 0);
	assert_int_equal(uart.line_length, VUART_LINE_MAX - 1);
}

/** A line of exactly VUART_LINE_MAX bytes goes out without a newline. */
static void test_vuart_full_line_flushed_without_newline(void **state)
{
	char expected[VUART_LINE_MAX + 32];

	put_repeated('x', VUART_LINE_MAX);
	expected_line(expected, sizeof(expected), 'x', VUART_LINE_MAX);
	assert_string_equal(captured.text, expected);
	assert_int_equal(captured.writes, 1);
	assert_int_equal(uart.line_length, 0);
}

/** A line of exactly VUART_LINE_MAX bytes and its newline make one line. */
static void test_vuart_full_line_then_newline_adds_no_empty_line(void **state)
{
	char expected[VUART_LINE_MAX + 96];

	put_repeated('y', VUART_LINE_MAX);
	put_string("\n\nnext\n");
	expected_line(expected, sizeof(expected), 'y', VUART_LINE_MAX);
	strcat(expected, UART_NAME ": \n" UART_NAME ": next\n");
	assert_string_equal(captured.text, expected);
}

/** Bytes >= 0x80 (C1 controls such as CSI 0x9b, raw or UTF-8) become '?'. */
static void test_vuart_high_bytes_shown_as_question_mark(void **state)
{
	put_string("a\x9b" "b\xc2\x9b" "c\xff\n");
	assert_string_equal(captured.text, UART_NAME ": a?b??c?\n");
}

/** In loopback, MSR reflects DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static void test_vuart_loopback_reflects_modem_outputs(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_LOOP | 0x0a);
	assert_int_equal(vuart_read(&uart, T_MSR) & 0xf0, 0x90);
	vuart_write(&uart, T_MCR, T_MCR_LOOP | 0x05);
	assert_int_equal(vuart_read(&uart, T_MSR) & 0xf0, 0x60);
}

/** A longer line is cut after VUART_LINE_MAX bytes; the rest stays. */
static void test_vuart_long_line_continues_on_next_line(void **state)
{
	char expected[2 * VUART_LINE_MAX + 64];
	size_t n;

	put_repeated('z', VUART_LINE_MAX + 3);
	expected_line(expected, sizeof(expected), 'z', VUART_LINE_MAX);
	assert_string_equal(captured.text, expected);
	assert_int_equal(uart.line_length, 3);
	put_string("\n");
	n = strlen(expected);
	expected_line(expected + n, sizeof(expected) - n, 'z', 3);
	assert_string_equal(captured.text, expected);
}

/** vuart_flush sends a partial line once, then has nothing to send. */
static void test_vuart_flush_sends_partial_line_once(void **state)
{
	put_string("no newline");
	vuart_flush(&uart);
	assert_string_equal(captured.text, UART_NAME ": no newline\n");
	vuart_flush(&uart);
	assert_int_equal(captured.writes, 1);
	put_string("next\n");
	assert_string_equal(captured.text, UART_NAME ": no newline\n" UART_NAME ": next\n");
}

/** vuart_flush of an empty line emits nothing (not even the prefix). */
static void test_vuart_flush_empty_line_emits_nothing(void **state)
{
	vuart_flush(&uart);
	put_string("done\n");
	vuart_flush(&uart);
	assert_string_equal(captured.text, UART_NAME ": done\n");
	assert_int_equal(captured.writes, 1);
}

/** vuart_output behaves as the same bytes written to THR one by one. */
static void test_vuart_output_equals_thr_writes(void **state)
{
	static const char text[] = "one\r\ntwo\x01\nthr";

	vuart_output(&uart, text, sizeof(text) - 1);
	assert_string_equal(captured.text, UART_NAME ": one\n" UART_NAME ": two?\n");
	assert_int_equal(uart.line_length, 3);
	assert_memory_equal(uart.line, "thr", 3);
	assert_int_equal(uart.bytes_written, sizeof(text) - 1);
}

/** vuart_output stops at length: bytes past it are never read. */
static void test_vuart_output_honours_length(void **state)
{
	vuart_output(&uart, "abc\ndef\n", 2);
	vuart_flush(&uart);
	assert_string_equal(captured.text, UART_NAME ": ab\n");
	assert_int_equal(uart.bytes_written, 2);
}

/** bytes_written counts every THR byte, dropped or not, and nothing else. */
static void test_vuart_bytes_written_counts_thr_bytes(void **state)
{
	put_string("ab\r\n");
	assert_int_equal(uart.bytes_written, 4);
	vuart_write(&uart, T_LCR, T_LCR_DLAB);
	vuart_write(&uart, T_RBR_THR, 0x01);
	vuart_write(&uart, T_LCR, 0);
	vuart_write(&uart, T_SCR, 'q');
	vuart_write(&uart, T_IER, 1);
	assert_int_equal(uart.bytes_written, 4);
	put_repeated('w', VUART_LINE_MAX + 1);
	assert_int_equal(uart.bytes_written, 4 + VUART_LINE_MAX + 1);
	vuart_flush(&uart);
	assert_int_equal(uart.bytes_written, 4 + VUART_LINE_MAX + 1);
}

/** Finished lines (not the prefix) are also kept in the log ring, with their newline. */
static void test_vuart_lines_kept_in_log(void **state)
{
	uint8_t buffer[16];
	char out[17] = { 0 };
	struct byte_ring log;

	ring_init(&log, buffer, sizeof(buffer));
	vuart_init(&uart, UART_NAME, &log);
	put_string("one\ntwo\nthree");
	assert_int_equal(ring_read_newest(&log, out, 16), 8);
	assert_string_equal(out, "one\ntwo\n");
	vuart_flush(&uart);
	memset(out, 0, sizeof(out));
	assert_int_equal(ring_read_newest(&log, out, 16), 14);
	assert_string_equal(out, "one\ntwo\nthree\n");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the virtual UART tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_vuart_init_resets_everything),
		TEST(test_vuart_lsr_always_transmitter_empty),
		TEST(test_vuart_dlab_selects_divisor_latch),
		TEST(test_vuart_dlab_clear_selects_thr_and_ier),
		TEST(test_vuart_scratch_register_keeps_value),
		TEST(test_vuart_ier_masks_to_four_bits),
		TEST(test_vuart_mcr_masks_to_five_bits),
		TEST(test_vuart_iir_reports_no_interrupt),
		TEST(test_vuart_msr_shows_ready_line),
		TEST(test_vuart_loopback_suppresses_output_and_msr),
		TEST(test_vuart_line_held_until_newline),
		TEST(test_vuart_lines_split_at_newline),
		TEST(test_vuart_carriage_return_dropped),
		TEST(test_vuart_control_chars_shown_as_question_mark),
		TEST(test_vuart_empty_line_is_just_prefix),
		TEST(test_vuart_line_below_max_held),
		TEST(test_vuart_full_line_flushed_without_newline),
		TEST(test_vuart_lines_kept_in_log),
		TEST(test_vuart_full_line_then_newline_adds_no_empty_line),
		TEST(test_vuart_high_bytes_shown_as_question_mark),
		TEST(test_vuart_loopback_reflects_modem_outputs),
		TEST(test_vuart_long_line_continues_on_next_line),
		TEST(test_vuart_flush_sends_partial_line_once),
		TEST(test_vuart_flush_empty_line_emits_nothing),
		TEST(test_vuart_output_equals_thr_writes),
		TEST(test_vuart_output_honours_length),
		TEST(test_vuart_bytes_written_counts_thr_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
