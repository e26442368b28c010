/*
 * Polled 16550 UART. Polling (not interrupts) keeps the console usable from
 * any context, including the exception handler.
 */
#include "drivers/uart16550.h"
#include "arch/x86/cpu.h"

/* Register offsets from the base port (DLAB = 0 unless noted). */
#define UART_THR 0 /* transmit holding (write) */
#define UART_RBR 0 /* receive buffer (read) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB = 1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define UART_LCR_8N1  0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE_CLEAR 0x07
#define UART_MCR_DTR_RTS_OUT2 0x0b

#define UART_CLOCK_DIVIDEND 115200
/* The 16550A's transmit FIFO, enabled by uart16550_init(). */
#define UART_FIFO_DEPTH 16
/* Bounds every wait so that a missing UART cannot hang the hypervisor. */
#define UART_SPIN_LIMIT 1000000

/** Empties a queue and its counters (field by field: the bytes need no clearing). */
static void uart16550_queue_init(struct uart16550_queue *q)
{
	q->head = 0;
	q->count = 0;
	q->queued = 0;
	q->sent = 0;
}

/** Checks for a UART by writing and reading back its scratch register. */
static bool uart16550_probe(uint16_t port)
{
	cpu_outb(port + UART_SCR, 0x5a);
	if (cpu_inb(port + UART_SCR) != 0x5a) {
		return false;
	}
	cpu_outb(port + UART_SCR, 0xa5);
	return cpu_inb(port + UART_SCR) == 0xa5;
}

/** Programs the UART for @baud 8N1 with FIFOs; false if no UART answers. */
bool uart16550_init(struct uart16550 *uart, uint16_t port, uint32_t baud)
{
	uint16_t divisor;

	uart->port = port;
	uart->baud = baud;
	uart->errors = (struct uart16550_errors){ 0, 0, 0, 0 };
	uart16550_queue_init(&uart->urgent);
	uart16550_queue_init(&uart->bulk);
	uart->bulk_in_unit = false;
	uart->urgent_in_unit = false;
	uart->fence_head = 0;
	uart->fence_count = 0;
	uart->urgent_run = 0;
	if (!uart16550_probe(port) || baud == 0) {
		return false;
	}
	divisor = (uint16_t)(UART_CLOCK_DIVIDEND / baud);
	cpu_outb(port + UART_IER, 0);
	cpu_outb(port + UART_LCR, UART_LCR_DLAB);
	cpu_outb(port + UART_DLL, divisor & 0xff);
	cpu_outb(port + UART_DLM, divisor >> 8);
	cpu_outb(port + UART_LCR, UART_LCR_8N1);
	cpu_outb(port + UART_FCR, UART_FCR_ENABLE_CLEAR);
	cpu_outb(port + UART_MCR, UART_MCR_DTR_RTS_OUT2);
	return true;
}

/**
 * Counts the receive errors in a value read from LSR. The 16550 clears OE,
 * PE, FE and BI when LSR is read (16550D data sheet, LSR bits 1-4), so each
 * error is seen exactly once, whichever read saw it.
 */
uint8_t uart16550_note_line_status(struct uart16550 *uart, uint8_t lsr)
{
	uart->errors.overruns += (lsr & UART_LSR_OVERRUN) != 0;
	uart->errors.parity_errors += (lsr & UART_LSR_PARITY_ERROR) != 0;
	uart->errors.framing_errors += (lsr & UART_LSR_FRAMING_ERROR) != 0;
	uart->errors.breaks += (lsr & UART_LSR_BREAK) != 0;
	return lsr;
}

/** Reads LSR, counting the receive errors it reports. */
static uint8_t uart16550_read_lsr(struct uart16550 *uart)
{
	return uart16550_note_line_status(uart, cpu_inb(uart->port + UART_LSR));
}

/** Waits (bounded) until the line status register shows @mask. */
static void uart16550_wait(struct uart16550 *uart, uint8_t mask)
{
	for (unsigned int i = 0; i < UART_SPIN_LIMIT; i++) {
		if ((uart16550_read_lsr(uart) & mask) != 0) {
			return;
		}
		cpu_relax();
	}
}

/** Bytes a queue still takes. */
static size_t uart16550_queue_room(const struct uart16550_queue *q)
{
	return UART16550_QUEUE_SIZE - q->count;
}

/** Appends one byte (the caller checked the room); @unit_end marks a unit's last. */
static void uart16550_queue_push(struct uart16550_queue *q, char c, bool unit_end)
{
	size_t at = (q->head + q->count) % UART16550_QUEUE_SIZE;
	uint8_t bit = (uint8_t)(1u << (at % 8));

	q->bytes[at] = c;
	q->unit_end[at / 8] = (uint8_t)(unit_end ? q->unit_end[at / 8] | bit
						 : q->unit_end[at / 8] & ~bit);
	q->count++;
	q->queued++;
}

/** Removes the oldest byte (the queue is not empty); returns whether it ended a unit. */
static bool uart16550_queue_pop(struct uart16550_queue *q, char *out)
{
	size_t at = q->head;

	*out = q->bytes[at];
	q->head = (at + 1) % UART16550_QUEUE_SIZE;
	q->count--;
	q->sent++;
	return (q->unit_end[at / 8] & (1u << (at % 8))) != 0;
}

/** Whether byte @i of @buf is a "\n" the line needs a "\r" before. */
static bool uart16550_needs_cr(const char *buf, size_t i)
{
	return buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r');
}

/** Bytes @buf takes in a queue, a "\r" added before each bare "\n". */
static size_t uart16550_queued_length(const char *buf, size_t len)
{
	size_t n = len;

	for (size_t i = 0; i < len; i++) {
		n += uart16550_needs_cr(buf, i);
	}
	return n;
}

/** Whether the next urgent byte must wait for bulk bytes before a fence; drops fences passed. */
static bool uart16550_fenced(struct uart16550 *uart)
{
	while (uart->fence_count > 0 &&
	       uart->bulk.sent >= uart->fences[uart->fence_head].bulk) {
		uart->fence_head = (uart->fence_head + 1) % UART16550_FENCES;
		uart->fence_count--;
	}
	return uart->fence_count > 0 &&
	       uart->urgent.sent >= uart->fences[uart->fence_head].urgent;
}

/** Which queue the next byte comes from, or NULL when none may go now. */
static struct uart16550_queue *uart16550_next_queue(struct uart16550 *uart)
{
	/* A unit partly sent goes on: a line is never mixed. */
	if (uart->bulk_in_unit) {
		return &uart->bulk;
	}
	if (uart->urgent_in_unit) {
		/* Its rest may not be written yet: then nothing goes. */
		return uart->urgent.count > 0 ? &uart->urgent : NULL;
	}
	if (uart->urgent.count == 0) {
		return uart->bulk.count > 0 ? &uart->bulk : NULL;
	}
	/* The next urgent byte came after a fence: the bulk bytes before it go first. */
	if (uart16550_fenced(uart)) {
		return &uart->bulk;
	}
	/* Urgent output went on long enough while bulk output waited: one bulk unit now. */
	if (uart->bulk.count > 0 && uart->urgent_run >= UART16550_URGENT_RUN_MAX) {
		return &uart->bulk;
	}
	return &uart->urgent;
}

/** Takes the next byte for the line; see uart16550.h. */
bool uart16550_next_byte(struct uart16550 *uart, char *out)
{
	struct uart16550_queue *q = uart16550_next_queue(uart);
	bool unit_end;

	if (q == NULL) {
		return false;
	}
	unit_end = uart16550_queue_pop(q, out);
	if (q == &uart->bulk) {
		uart->bulk_in_unit = !unit_end;
		uart->urgent_run = unit_end ? 0 : uart->urgent_run;
	} else {
		uart->urgent_in_unit = !unit_end;
		uart->urgent_run += uart->bulk.count > 0;
	}
	return true;
}

/**
 * Hands the UART up to a FIFO's worth of queued bytes once its transmit
 * FIFO is empty (THRE: with FIFOs on, the whole FIFO is free). Never waits.
 */
void uart16550_pump(struct uart16550 *uart)
{
	char c;

	if (uart->urgent.count + uart->bulk.count == 0 ||
	    (uart16550_read_lsr(uart) & UART_LSR_THRE) == 0) {
		return;
	}
	for (unsigned int i = 0; i < UART_FIFO_DEPTH && uart16550_next_byte(uart, &c); i++) {
		cpu_outb(uart->port + UART_THR, (uint8_t)c);
	}
}

/** Queues byte @i of @buf (after a "\r" if it is a bare "\n"); the caller checked the room. */
static void uart16550_queue_byte(struct uart16550_queue *q, const char *buf, size_t i,
				 bool unit_end)
{
	if (uart16550_needs_cr(buf, i)) {
		uart16550_queue_push(q, '\r', false);
	}
	uart16550_queue_push(q, buf[i], unit_end);
}

/** Queues urgent bytes without touching the UART; see uart16550.h. */
void uart16550_queue_urgent(struct uart16550 *uart, const char *buf, size_t len, bool unit_end)
{
	for (size_t i = 0; i < len; i++) {
		uart16550_queue_byte(&uart->urgent, buf, i, unit_end && i + 1 == len);
	}
}

/** Urgent bytes that still fit. */
size_t uart16550_urgent_room(const struct uart16550 *uart)
{
	return uart16550_queue_room(&uart->urgent);
}

/** Queues urgent bytes, waiting (bounded each time) only while the queue is full. */
void uart16550_write_urgent(struct uart16550 *uart, const char *buf, size_t len, bool unit_end)
{
	for (size_t i = 0; i < len; i++) {
		/* Two bytes of room take any byte, with its "\r". */
		while (uart16550_queue_room(&uart->urgent) < 2) {
			uart16550_wait(uart, UART_LSR_THRE);
			uart16550_pump(uart);
		}
		uart16550_queue_byte(&uart->urgent, buf, i, unit_end && i + 1 == len);
	}
	uart16550_pump(uart);
}

/** Queues Tessera's own bytes as one urgent unit; see uart16550.h. */
void uart16550_write(struct uart16550 *uart, const char *buf, size_t len)
{
	uart16550_write_urgent(uart, buf, len, true);
}

/** Queues one bulk unit whole, or nothing; see uart16550.h. */
bool uart16550_queue_bulk(struct uart16550 *uart, const char *buf, size_t len)
{
	if (len == 0 || uart16550_queued_length(buf, len) > uart16550_queue_room(&uart->bulk)) {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		uart16550_queue_byte(&uart->bulk, buf, i, i + 1 == len);
	}
	return true;
}

/** Bulk bytes waiting for the line. */
size_t uart16550_bulk_queued(const struct uart16550 *uart)
{
	return uart->bulk.count;
}

/** Bulk bytes that still fit. */
size_t uart16550_bulk_room(const struct uart16550 *uart)
{
	return uart16550_queue_room(&uart->bulk);
}

/**
 * Every bulk byte queued so far leaves before any urgent byte queued from
 * now on. With UART16550_FENCES fences waiting, the newest takes this one
 * in: its urgent bytes then wait for these bulk bytes too (later, not out
 * of order).
 */
void uart16550_fence(struct uart16550 *uart)
{
	unsigned int last = (uart->fence_head + uart->fence_count + UART16550_FENCES - 1) %
			    UART16550_FENCES;

	if (uart->fence_count == UART16550_FENCES) {
		uart->fences[last].bulk = uart->bulk.queued;
		return;
	}
	last = (last + 1) % UART16550_FENCES;
	uart->fences[last] = (struct uart16550_fence){ uart->urgent.queued, uart->bulk.queued };
	uart->fence_count++;
}

/** Returns a received byte, or -1 when none is waiting. */
int uart16550_try_read(struct uart16550 *uart)
{
	if ((uart16550_read_lsr(uart) & UART_LSR_DATA_READY) == 0) {
		return -1;
	}
	return cpu_inb(uart->port + UART_RBR);
}

/** Waits until every queued byte has left the shift register. */
void uart16550_flush(struct uart16550 *uart)
{
	while (uart->urgent.count + uart->bulk.count > 0) {
		/* Nothing but a panic's lines follows a flush: no unit waits for its rest. */
		uart->urgent_in_unit = false;
		uart16550_wait(uart, UART_LSR_THRE);
		uart16550_pump(uart);
	}
	uart16550_wait(uart, UART_LSR_TEMT);
}
