/*
 * The 16550 register model a polling guest driver needs: the transmitter is
 * always ready (output is accepted at once), there is never input yet, and
 * every other register keeps what the guest writes.
 */
#include "hv/vuart.h"
#include "hv/console.h"
#include "hv/string.h"

#define REG_DATA 0  /* THR/RBR, or DLL with DLAB */
#define REG_IER  1  /* or DLM with DLAB */
#define REG_IIR  2  /* FCR on write */
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_MSR  6
#define REG_SCR  7

#define LCR_DLAB 0x80
#define IIR_NO_INTERRUPT 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_LOOP 0x10
/* Modem status with the lines a null-modem cable would show: CTS, DSR, DCD. */
#define MSR_READY 0xb0
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08

/** Resets the UART to its power-on state; lines also go to @log (may be NULL). */
void vuart_init(struct vuart *uart, const char *name, struct byte_ring *log)
{
	memset(uart, 0, sizeof(*uart));
	uart->name = name;
	uart->log = log;
}

/** One finished line: to the console, and kept for replay. */
static void vuart_emit_line(struct vuart *uart)
{
	console_write_line(uart->name, uart->line, uart->line_length);
	if (uart->log != NULL) {
		ring_write(uart->log, uart->line, uart->line_length);
		ring_write(uart->log, "\n", 1);
	}
	uart->line_length = 0;
}

/** Sends a partial last line to the console (when the partition stops). */
void vuart_flush(struct vuart *uart)
{
	if (uart->line_length > 0) {
		vuart_emit_line(uart);
	}
}

/**
 * A byte as it may reach the operator's terminal: C0 controls, DEL and every
 * byte >= 0x80 (which includes the C1 controls, raw or UTF-8 encoded, that
 * some terminals obey) become '?', so a guest cannot drive the terminal.
 */
static char vuart_printable(char c)
{
	unsigned char u = (unsigned char)c;

	return (char)((u < 0x20 && u != '\t') || u >= 0x7f ? '?' : u);
}

/** Adds one byte to the current line; a full line goes out at once. */
static void vuart_put_byte(struct vuart *uart, char c)
{
	uart->bytes_written++;
	if (c == '\n') {
		/* A line cut at VUART_LINE_MAX was shown already: no empty line. */
		if (uart->line_length > 0 || !uart->wrapped) {
			vuart_emit_line(uart);
		}
		uart->wrapped = false;
		return;
	}
	if (c == '\r') {
		return;
	}
	uart->wrapped = false;
	uart->line[uart->line_length++] = vuart_printable(c);
	if (uart->line_length == VUART_LINE_MAX) {
		vuart_flush(uart);
		uart->wrapped = true;
	}
}

/** Adds bytes to the output as if written to THR one by one. */
void vuart_output(struct vuart *uart, const char *bytes, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		vuart_put_byte(uart, bytes[i]);
	}
}

/**
 * Modem status in loopback mode: the outputs are wired back to the inputs,
 * DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD (8250 drivers probe this).
 */
static uint8_t vuart_loopback_status(uint8_t mcr)
{
	return (uint8_t)(((mcr & MCR_DTR) ? 0x20 : 0) | ((mcr & MCR_RTS) ? 0x10 : 0) |
			 ((mcr & MCR_OUT1) ? 0x40 : 0) | ((mcr & MCR_OUT2) ? 0x80 : 0));
}

/** A guest IN from base + offset (offset 0-7). */
uint8_t vuart_read(struct vuart *uart, uint16_t offset)
{
	bool dlab = (uart->lcr & LCR_DLAB) != 0;

	switch (offset) {
	case REG_DATA:
		return dlab ? uart->dll : 0;
	case REG_IER:
		return dlab ? uart->dlm : uart->ier;
	case REG_IIR:
		return IIR_NO_INTERRUPT;
	case REG_LCR:
		return uart->lcr;
	case REG_MCR:
		return uart->mcr;
	case REG_LSR:
		return LSR_THRE | LSR_TEMT;
	case REG_MSR:
		return (uart->mcr & MCR_LOOP) != 0 ? vuart_loopback_status(uart->mcr) : MSR_READY;
	case REG_SCR:
		return uart->scr;
	default:
		return 0xff;
	}
}

/** A guest OUT to base + offset (offset 0-7). */
void vuart_write(struct vuart *uart, uint16_t offset, uint8_t value)
{
	bool dlab = (uart->lcr & LCR_DLAB) != 0;

	switch (offset) {
	case REG_DATA:
		if (dlab) {
			uart->dll = value;
		} else if ((uart->mcr & MCR_LOOP) == 0) {
			vuart_put_byte(uart, (char)value);
		}
		break;
	case REG_IER:
		if (dlab) {
			uart->dlm = value;
		} else {
			uart->ier = value & 0x0f;
		}
		break;
	case REG_LCR:
		uart->lcr = value;
		break;
	case REG_MCR:
		uart->mcr = value & 0x1f;
		break;
	case REG_SCR:
		uart->scr = value;
		break;
	default:
		/* FCR, LSR and MSR writes change nothing a guest can observe here. */
		break;
	}
}
