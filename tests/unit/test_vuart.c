/*
 * Host tests of hv/vuart.c: a partition's virtual 16550 UART.
 *
 * The register model is checked against the 16550 data sheet (register
 * offsets, DLAB, the LSR and MSR bits, loopback, FCR trigger levels, the IIR
 * codes and their priority), the output side against the lines a capturing
 * console sink receives: "NAME: text\n", exactly, and the input side against
 * the bytes the guest reads back from RBR.
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

#define T_IER_RX_DATA 0x01 /* ERBFI */
#define T_IER_THRE    0x02 /* ETBEI */
#define T_IER_LINE    0x04 /* ELSI */
#define T_IER_MODEM   0x08 /* EDSSI */
#define T_IER_ALL     0x0f
#define T_FCR_ENABLE   0x01
#define T_FCR_CLEAR_RX 0x02
#define T_LSR_DR 0x01
#define T_LSR_OE 0x02
#define T_MCR_DTR  0x01
#define T_MCR_RTS  0x02
#define T_MCR_OUT1 0x04
#define T_MCR_OUT2 0x08

/* IIR with the FIFOs off: bits 3:0 alone (16550 data sheet, Table IV). */
#define T_IIR_NONE        0x01
#define T_IIR_LINE_STATUS 0x06
#define T_IIR_RX_DATA     0x04
#define T_IIR_THRE        0x02
#define T_IIR_MODEM       0x00
/* IIR with the FIFOs on: bits 7:6 read 11. */
#define T_IIR_FIFO_NONE        0xc1
#define T_IIR_FIFO_LINE_STATUS 0xc6
#define T_IIR_FIFO_RX_DATA     0xc4
#define T_IIR_FIFO_TIMEOUT     0xcc
#define T_IIR_FIFO_THRE        0xc2
#define T_IIR_FIFO_MODEM       0xc0

#define T_RX_FIFO_SIZE 16 /* the 16550A's receiver FIFO */

/** What the raw output tap received. */
struct raw_capture {
	char bytes[512];
	size_t length;
	unsigned int calls;
	void *ctx; /* as passed on the last call */
};

static struct raw_capture raw;

static struct vuart uart;

/** A fresh UART and an empty capture. */
static int setup(void **state)
{
	console_capture_start();
	memset(&raw, 0, sizeof(raw));
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

/** Sends a string from the operator's keyboard; returns how many bytes were taken. */
static size_t receive_string(const char *text)
{
	return vuart_receive(&uart, (const uint8_t *)text, strlen(text));
}

/** Reads RBR (DLAB clear). */
static uint8_t read_rbr(void)
{
	return vuart_read(&uart, T_RBR_THR);
}

/** Reads RBR once per byte of text, expecting DR set and that byte each time. */
static void expect_received(const char *text)
{
	for (const char *c = text; *c != '\0'; c++) {
		assert_int_equal(vuart_read(&uart, T_LSR) & T_LSR_DR, T_LSR_DR);
		assert_int_equal(read_rbr(), (uint8_t)*c);
	}
}

/** The raw output tap used by the tests: appends to raw. */
static void raw_tap(void *ctx, const char *bytes, size_t length)
{
	assert_true(raw.length + length <= sizeof(raw.bytes));
	memcpy(raw.bytes + raw.length, bytes, length);
	raw.length += length;
	raw.calls++;
	raw.ctx = ctx;
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

/**
 * IIR reports no pending interrupt; enabling the FIFOs (FCR 0xc7) sets IIR
 * bits 7:6 to 11, which is how drivers tell a 16550A from a 16450.
 */
static void test_vuart_iir_reports_no_interrupt(void **state)
{
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), 0x01);
	vuart_write(&uart, T_IIR_FCR, 0xc7);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), 0xc1);
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
	size_t n;

	put_repeated('y', VUART_LINE_MAX);
	put_string("\n\nnext\n");
	expected_line(expected, sizeof(expected), 'y', VUART_LINE_MAX);
	n = strlen(expected);
	snprintf(expected + n, sizeof(expected) - n, "%s", UART_NAME ": \n" UART_NAME ": next\n");
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

/* ------------------------------------------------------------------------
 * Receiver, FIFO control and interrupts
 * ------------------------------------------------------------------------ */

/** vuart_init also empties the receiver, clears every source and counter and the tap. */
static void test_vuart_init_clears_receiver_and_counters(void **state)
{
	assert_int_equal(uart.fcr, 0);
	assert_int_equal(uart.rx_count, 0);
	assert_int_equal(uart.backlog_count, 0);
	assert_int_equal(uart.lsr_errors, 0);
	assert_int_equal(uart.msr_deltas, 0);
	assert_false(uart.thre_pending);
	assert_null(uart.raw_output);
	assert_int_equal(uart.bytes_received, 0);
	assert_int_equal(uart.rx_overruns, 0);
	assert_int_equal(uart.input_dropped, 0);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	assert_false(vuart_irq_asserted(&uart));
}

/**
 * All five sources pending at once, FIFOs on: IIR reports them in the data
 * sheet's priority order, each going when its own clearing action is done:
 * line status (LSR read), data at the trigger (FIFO drained below it),
 * timeout (FIFO empty), THRE (IIR read reporting it), modem status (MSR read).
 */
static void test_vuart_fifo_mode_iir_priority_order(void **state)
{
	vuart_write(&uart, T_IIR_FCR, 0x40 | T_FCR_ENABLE); /* trigger 4 */
	vuart_write(&uart, T_IER, T_IER_ALL);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("ABCDEFGHIJKLMNOPQ"); /* 17 bytes: Q overruns */
	vuart_write(&uart, T_MCR, T_MCR_LOOP | T_MCR_RTS); /* CTS rises */
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_LINE_STATUS);
	assert_int_equal(vuart_read(&uart, T_LSR),
			 T_LSR_TEMT | T_LSR_THRE | T_LSR_OE | T_LSR_DR);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_RX_DATA);
	expect_received("ABCDEFGHIJKL");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_RX_DATA); /* 4 left */
	expect_received("M");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_TIMEOUT);
	expect_received("NOP");
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_MODEM);
	assert_int_equal(vuart_read(&uart, T_MSR), 0x11); /* CTS | DCTS */
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_NONE);
	assert_int_equal(uart.rx_overruns, 1);
	assert_int_equal(uart.bytes_received, 16);
	assert_int_equal(uart.bytes_written, 0);
}

/** FCR bits 7:6 select the trigger level 1, 4, 8 or 14; below it the timeout is reported. */
static void test_vuart_rx_fifo_trigger_levels(void **state)
{
	static const struct {
		uint8_t fcr;
		size_t level;
	} triggers[] = { { 0x01, 1 }, { 0x41, 4 }, { 0x81, 8 }, { 0xc1, 14 } };
	static const char text[] = "0123456789abcdef";

	for (size_t i = 0; i < ARRAY_SIZE(triggers); i++) {
		vuart_init(&uart, UART_NAME, NULL);
		vuart_write(&uart, T_IER, T_IER_RX_DATA);
		vuart_write(&uart, T_IIR_FCR, triggers[i].fcr);
		assert_int_equal(vuart_receive(&uart, (const uint8_t *)text, triggers[i].level - 1),
				 triggers[i].level - 1);
		assert_int_equal(vuart_read(&uart, T_IIR_FCR),
				 triggers[i].level == 1 ? T_IIR_FIFO_NONE : T_IIR_FIFO_TIMEOUT);
		assert_int_equal(vuart_receive(&uart, (const uint8_t *)text, 1), 1);
		assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_RX_DATA);
		assert_int_equal(uart.rx_count, triggers[i].level);
	}
}

/** Data available stops when the FIFO drops below the trigger; the timeout lasts until it is empty. */
static void test_vuart_rx_data_then_timeout_until_empty(void **state)
{
	vuart_write(&uart, T_IIR_FCR, 0x80 | T_FCR_ENABLE); /* trigger 8 */
	vuart_write(&uart, T_IER, T_IER_RX_DATA);
	assert_int_equal(receive_string("0123456789"), 10);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_RX_DATA);
	expect_received("01");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_RX_DATA);
	expect_received("2");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_TIMEOUT);
	expect_received("345678");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_TIMEOUT);
	expect_received("9");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_NONE);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_THRE | T_LSR_TEMT);
}

/** With the FIFOs off the RBR holds one byte: data available (IIR 0x04), no timeout. */
static void test_vuart_non_fifo_mode_holds_one_byte(void **state)
{
	vuart_write(&uart, T_IER, T_IER_RX_DATA);
	assert_int_equal(receive_string("ab"), 2);
	assert_int_equal(uart.rx_count, 1);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_RX_DATA);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE | T_LSR_DR);
	assert_int_equal(read_rbr(), 'a');
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_RX_DATA);
	assert_int_equal(read_rbr(), 'b');
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	assert_int_equal(uart.rx_overruns, 0);
	assert_int_equal(uart.bytes_received, 2);
}

/** FIFO full: the next byte is lost, OE is set and counted; reading LSR clears OE. */
static void test_vuart_overrun_sets_oe_and_counts(void **state)
{
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("0123456789abcdefXY");
	assert_int_equal(uart.rx_overruns, 2);
	assert_int_equal(uart.bytes_received, T_RX_FIFO_SIZE);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE | T_LSR_OE | T_LSR_DR);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE | T_LSR_DR);
	expect_received("0123456789abcdef");
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
}

/** FIFOs off: an overrun overwrites the unread RBR (the earlier byte is destroyed). */
static void test_vuart_overrun_without_fifo_overwrites_rbr(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("ab");
	assert_int_equal(uart.rx_overruns, 1);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE | T_LSR_OE | T_LSR_DR);
	assert_int_equal(read_rbr(), 'b');
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
}

/** The line status interrupt needs ELSI; reading LSR clears it. */
static void test_vuart_line_status_interrupt_needs_elsi(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("ab");
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	vuart_write(&uart, T_IER, T_IER_LINE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_LINE_STATUS);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_LINE_STATUS);
	vuart_read(&uart, T_LSR);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
}

/** THRE is raised after every THR write and cleared by the IIR read that reports it. */
static void test_vuart_thre_interrupt_after_thr_write(void **state)
{
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	vuart_write(&uart, T_IER, T_IER_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_NONE);
	vuart_write(&uart, T_RBR_THR, 'x');
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_NONE);
	/* The console hypercall is not a THR write. */
	vuart_output(&uart, "y", 1);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_FIFO_NONE);
}

/** Setting ETBEI while THR is empty raises THRE; rewriting it set does not. */
static void test_vuart_etbei_enable_raises_thre(void **state)
{
	vuart_write(&uart, T_RBR_THR, 'x'); /* THRE not reported while disabled */
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	vuart_write(&uart, T_IER, T_IER_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	vuart_write(&uart, T_IER, T_IER_THRE | T_IER_RX_DATA);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	vuart_write(&uart, T_IER, 0);
	vuart_write(&uart, T_IER, T_IER_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_THRE);
}

/** In loopback, MCR output changes set MSR deltas (TERI on RI's fall only) and the modem interrupt. */
static void test_vuart_modem_status_deltas_in_loopback(void **state)
{
	vuart_write(&uart, T_IER, T_IER_MODEM);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	vuart_write(&uart, T_MCR, T_MCR_LOOP | T_MCR_DTR | T_MCR_RTS | T_MCR_OUT1 | T_MCR_OUT2);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_MODEM);
	assert_int_equal(vuart_read(&uart, T_MSR), 0xfb); /* all inputs; DCTS, DDSR, DDCD */
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	assert_int_equal(vuart_read(&uart, T_MSR), 0xf0);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(vuart_read(&uart, T_MSR), 0x0f); /* every delta, TERI too */
	vuart_write(&uart, T_MCR, T_MCR_LOOP | T_MCR_OUT1);
	assert_int_equal(vuart_read(&uart, T_MSR), 0x40); /* RI rose: no TERI */
	vuart_write(&uart, T_IER, 0);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE); /* EDSSI off */
	assert_int_equal(vuart_read(&uart, T_MSR), 0x04);
}

/** The IRQ line: a pending interrupt gated by OUT2, never in loopback. */
static void test_vuart_irq_line_gated_by_out2(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_OUT2);
	assert_false(vuart_irq_asserted(&uart));
	vuart_write(&uart, T_MCR, 0);
	vuart_write(&uart, T_IER, T_IER_THRE);
	assert_false(vuart_irq_asserted(&uart));
	vuart_write(&uart, T_MCR, T_MCR_OUT2);
	assert_true(vuart_irq_asserted(&uart));
	vuart_write(&uart, T_MCR, T_MCR_OUT2 | T_MCR_LOOP);
	assert_false(vuart_irq_asserted(&uart));
	vuart_write(&uart, T_MCR, T_MCR_OUT2 | T_MCR_DTR | T_MCR_RTS);
	assert_true(vuart_irq_asserted(&uart));
	assert_true(vuart_irq_asserted(&uart)); /* asking does not acknowledge */
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_THRE);
	assert_false(vuart_irq_asserted(&uart));
	vuart_write(&uart, T_IER, T_IER_THRE | T_IER_RX_DATA);
	assert_int_equal(receive_string("k"), 1);
	assert_true(vuart_irq_asserted(&uart));
	read_rbr();
	assert_false(vuart_irq_asserted(&uart));
}

/** A paste longer than the FIFO waits in the backlog and arrives whole, in order, as RBR is read. */
static void test_vuart_backlog_feeds_fifo_as_rbr_read(void **state)
{
	uint8_t text[200];

	for (size_t i = 0; i < sizeof(text); i++) {
		text[i] = (uint8_t)(i * 7 + 3);
	}
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	assert_int_equal(vuart_receive(&uart, text, sizeof(text)), sizeof(text));
	assert_int_equal(uart.rx_count, T_RX_FIFO_SIZE);
	assert_int_equal(uart.backlog_count, sizeof(text) - T_RX_FIFO_SIZE);
	for (size_t i = 0; i < sizeof(text); i++) {
		assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE | T_LSR_DR);
		assert_int_equal(read_rbr(), text[i]);
	}
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(uart.bytes_received, sizeof(text));
	assert_int_equal(uart.rx_overruns, 0);
	assert_int_equal(uart.input_dropped, 0);
}

/** With FIFO and backlog full, vuart_receive takes less and counts the rest as dropped. */
static void test_vuart_receive_short_when_backlog_full(void **state)
{
	const size_t room = T_RX_FIFO_SIZE + VUART_BACKLOG_SIZE;
	uint8_t text[T_RX_FIFO_SIZE + VUART_BACKLOG_SIZE + 28];

	for (size_t i = 0; i < sizeof(text); i++) {
		text[i] = (uint8_t)(i % 251);
	}
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	assert_int_equal(vuart_receive(&uart, text, sizeof(text)), room);
	assert_int_equal(uart.input_dropped, 28);
	assert_int_equal(receive_string("more"), 0);
	assert_int_equal(uart.input_dropped, 32);
	assert_int_equal(read_rbr(), text[0]);
	assert_int_equal(receive_string("!?"), 1);
	assert_int_equal(uart.input_dropped, 33);
	for (size_t i = 1; i < room; i++) {
		assert_int_equal(read_rbr(), text[i]);
	}
	assert_int_equal(read_rbr(), '!');
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(uart.bytes_received, room + 1);
	assert_int_equal(uart.rx_overruns, 0);
}

/** FCR bit 1 empties the FIFO; switching FIFO mode off empties it too. Backlog bytes then follow. */
static void test_vuart_fcr_clears_receiver(void **state)
{
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	assert_int_equal(receive_string("ABCDEFGHIJKLMNOPQRST"), 20);
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE | T_FCR_CLEAR_RX);
	assert_int_equal(uart.rx_count, 4);
	expect_received("QRST");
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(receive_string("xy"), 2);
	vuart_write(&uart, T_IIR_FCR, 0x00);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	assert_int_equal(vuart_read(&uart, T_IIR_FCR), T_IIR_NONE);
	assert_int_equal(receive_string("12"), 2);
	assert_int_equal(uart.rx_count, 1);
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	assert_int_equal(uart.rx_count, 1); /* "1" cleared, "2" arrived from the backlog */
	expect_received("2");
}

/** In loopback the serial input is cut off: operator bytes wait until it ends. */
static void test_vuart_receive_waits_during_loopback(void **state)
{
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	assert_int_equal(receive_string("hi"), 2);
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
	vuart_write(&uart, T_MCR, T_MCR_DTR | T_MCR_RTS);
	expect_received("hi");
	assert_int_equal(vuart_read(&uart, T_LSR), T_LSR_TEMT | T_LSR_THRE);
}

/** Loopback: THR bytes come back through RBR in order, and never reach the console. */
static void test_vuart_loopback_returns_thr_bytes(void **state)
{
	vuart_write(&uart, T_IIR_FCR, T_FCR_ENABLE);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("echo\n");
	expect_received("echo\n");
	vuart_flush(&uart);
	assert_int_equal(captured.length, 0);
	assert_int_equal(uart.bytes_received, 5);
	assert_int_equal(uart.bytes_written, 0);
}

/** With DLAB set, offset 0 reads DLL and leaves the received byte in place. */
static void test_vuart_dlab_read_leaves_rbr(void **state)
{
	assert_int_equal(receive_string("z"), 1);
	vuart_write(&uart, T_LCR, T_LCR_DLAB);
	vuart_write(&uart, T_RBR_THR, 0x0c);
	assert_int_equal(vuart_read(&uart, T_RBR_THR), 0x0c);
	vuart_write(&uart, T_LCR, T_LCR_8N1);
	expect_received("z");
}

/** The raw tap gets every transmitted byte unfiltered, besides the line; not in loopback; NULL detaches. */
static void test_vuart_raw_output_tap(void **state)
{
	int ctx_marker;

	vuart_set_raw_output(&uart, raw_tap, &ctx_marker);
	put_string("$ \x1b[1m");
	assert_int_equal(raw.length, 6);
	assert_memory_equal(raw.bytes, "$ \x1b[1m", 6);
	assert_int_equal(raw.calls, 6);
	assert_ptr_equal(raw.ctx, &ctx_marker);
	assert_int_equal(captured.length, 0); /* the line waits for its newline */
	put_string("\r\n");
	assert_string_equal(captured.text, UART_NAME ": $ ?[1m\n");
	vuart_output(&uart, "hc\n", 3);
	assert_int_equal(raw.length, 11);
	assert_memory_equal(raw.bytes, "$ \x1b[1m\r\nhc\n", 11);
	vuart_write(&uart, T_MCR, T_MCR_LOOP);
	put_string("looped");
	assert_int_equal(raw.length, 11);
	vuart_write(&uart, T_MCR, 0);
	vuart_set_raw_output(&uart, NULL, &ctx_marker);
	assert_null(uart.raw_output);
	assert_null(uart.raw_ctx);
	put_string("q\n");
	assert_int_equal(raw.length, 11);
	assert_string_equal(captured.text, UART_NAME ": $ ?[1m\n" UART_NAME ": hc\n" UART_NAME ": q\n");
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
		TEST(test_vuart_init_clears_receiver_and_counters),
		TEST(test_vuart_fifo_mode_iir_priority_order),
		TEST(test_vuart_rx_fifo_trigger_levels),
		TEST(test_vuart_rx_data_then_timeout_until_empty),
		TEST(test_vuart_non_fifo_mode_holds_one_byte),
		TEST(test_vuart_overrun_sets_oe_and_counts),
		TEST(test_vuart_overrun_without_fifo_overwrites_rbr),
		TEST(test_vuart_line_status_interrupt_needs_elsi),
		TEST(test_vuart_thre_interrupt_after_thr_write),
		TEST(test_vuart_etbei_enable_raises_thre),
		TEST(test_vuart_modem_status_deltas_in_loopback),
		TEST(test_vuart_irq_line_gated_by_out2),
		TEST(test_vuart_backlog_feeds_fifo_as_rbr_read),
		TEST(test_vuart_receive_short_when_backlog_full),
		TEST(test_vuart_fcr_clears_receiver),
		TEST(test_vuart_receive_waits_during_loopback),
		TEST(test_vuart_loopback_returns_thr_bytes),
		TEST(test_vuart_dlab_read_leaves_rbr),
		TEST(test_vuart_raw_output_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
