/*
 * Polled driver for a 16550-compatible UART: the physical console.
 */
#ifndef TESSERA_DRIVERS_UART16550_H
#define TESSERA_DRIVERS_UART16550_H

#include "hv/types.h"

#define UART_COM1_PORT    0x3f8
#define UART_DEFAULT_BAUD 115200

/* Line status register bits (16550D data sheet, LSR). */
#define UART_LSR_DATA_READY    0x01
#define UART_LSR_OVERRUN       0x02 /* a byte arrived into a full FIFO and was lost */
#define UART_LSR_PARITY_ERROR  0x04
#define UART_LSR_FRAMING_ERROR 0x08 /* no stop bit where one belongs */
#define UART_LSR_BREAK         0x10 /* the line held at 0 for a whole character */
#define UART_LSR_THRE          0x20
#define UART_LSR_TEMT          0x40

/** Receive errors the line status register reported, counted since init. */
struct uart16550_errors {
	uint64_t overruns;
	uint64_t framing_errors;
	uint64_t parity_errors;
	uint64_t breaks;
};

/*
 * Bytes waiting for the line, in two queues. The urgent queue holds
 * Tessera's own output (log lines, the shell's echo and replies) and goes
 * first; the bulk queue holds partitions' output, which the console feeds
 * in whole units (a line, a JSON event) only as the line drains. The UART
 * switches from bulk to urgent bytes only between two bulk units, so no
 * line is ever mixed; nor from urgent to bulk bytes inside an urgent unit
 * (one write, or what uart16550_write_urgent() says belongs together).
 */
#define UART16550_QUEUE_SIZE 32768
/*
 * Urgent bytes that may go while bulk output waits before one bulk unit
 * goes in between: Tessera's own output (a restart loop's log lines) cannot
 * starve partitions' output, and a reply waits at most a line for it.
 */
#define UART16550_URGENT_RUN_MAX 1024
/* Fences kept apart (uart16550_fence()); beyond, the newest ones merge. */
#define UART16550_FENCES 8

/** A fence: bulk bytes before @bulk leave before urgent bytes from @urgent on. */
struct uart16550_fence {
	uint64_t urgent; /* position (bytes ever queued) of the first urgent byte held */
	uint64_t bulk;   /* position of the first bulk byte not ahead of them */
};

/** One queue of bytes for the line; a bit per byte marks the last of a unit. */
struct uart16550_queue {
	char bytes[UART16550_QUEUE_SIZE];
	uint8_t unit_end[UART16550_QUEUE_SIZE / 8];
	size_t head;  /* oldest waiting byte */
	size_t count;
	uint64_t queued; /* bytes ever queued ("\r" added included) */
	uint64_t sent;   /* bytes ever handed to the UART */
};

/**
 * One physical UART. Reading LSR clears its error bits, so every read of it
 * goes through uart16550_note_line_status(): no error is seen and lost.
 * Not locked: one CPU reads the console, and writers hold the console lock.
 */
struct uart16550 {
	uint16_t port;
	uint32_t baud;
	struct uart16550_errors errors;
	struct uart16550_queue urgent; /* Tessera's own output: first */
	struct uart16550_queue bulk;   /* partitions' output, whole units */
	bool bulk_in_unit;             /* a bulk unit is partly sent: it goes on first */
	bool urgent_in_unit;           /* an urgent unit is partly sent: no bulk byte now */
	struct uart16550_fence fences[UART16550_FENCES]; /* oldest first, from fence_head */
	unsigned int fence_head;
	unsigned int fence_count;
	size_t urgent_run;             /* urgent bytes sent while bulk output waited */
};

/** Programs the UART for @baud 8N1 with FIFOs; false if no UART answers. */
bool uart16550_init(struct uart16550 *uart, uint16_t port, uint32_t baud);

/**
 * Queues Tessera's own bytes (urgent), turning a bare "\n" into "\r\n",
 * and hands the UART what its FIFO takes now. Waits only when the urgent
 * queue is full, which only a reply longer than the queue can cause.
 */
void uart16550_write(struct uart16550 *uart, const char *buf, size_t len);

/**
 * As uart16550_write(), but the bytes end an urgent unit only if @unit_end:
 * no bulk byte goes out between them and the rest of their unit, which the
 * caller writes next (the shell's reply to one command, written in pieces).
 */
void uart16550_write_urgent(struct uart16550 *uart, const char *buf, size_t len, bool unit_end);

/** Queues urgent bytes (ending a unit if @unit_end); the caller checked the room. */
void uart16550_queue_urgent(struct uart16550 *uart, const char *buf, size_t len, bool unit_end);

/** Urgent bytes that still fit (a write takes up to twice its length: "\n" grows). */
size_t uart16550_urgent_room(const struct uart16550 *uart);

/**
 * Queues one unit of partition output (bulk), "\n" as "\r\n", whole or not
 * at all: false, and nothing queued, when it does not fit. Never waits and
 * does not touch the UART (uart16550_pump() sends it).
 */
bool uart16550_queue_bulk(struct uart16550 *uart, const char *buf, size_t len);

/** Bulk bytes waiting for the line. */
size_t uart16550_bulk_queued(const struct uart16550 *uart);

/** Bulk bytes that still fit (a unit takes up to twice its length: "\n" grows). */
size_t uart16550_bulk_room(const struct uart16550 *uart);

/**
 * Makes every bulk byte queued so far leave before any urgent byte queued
 * from now on (urgent bytes queued before still go first): for a message
 * that must follow a partition's last output.
 */
void uart16550_fence(struct uart16550 *uart);

/**
 * Takes the next byte for the line: the rest of a unit partly sent, else
 * the bulk bytes before a fence, else an urgent byte (unless
 * UART16550_URGENT_RUN_MAX of them went while bulk output waited), else a
 * bulk byte.
 * False when nothing may go now (or the rest of an urgent unit is not
 * written yet).
 */
bool uart16550_next_byte(struct uart16550 *uart, char *out);

/** Hands the UART as many queued bytes as its transmit FIFO takes now; never waits. */
void uart16550_pump(struct uart16550 *uart);

/** Returns a received byte, or -1 when none is waiting. */
int uart16550_try_read(struct uart16550 *uart);

/** Waits until every queued byte, urgent and bulk, has left the shift register. */
void uart16550_flush(struct uart16550 *uart);

/** Counts the receive errors in a value read from LSR; returns it unchanged. */
uint8_t uart16550_note_line_status(struct uart16550 *uart, uint8_t lsr);

#endif /* TESSERA_DRIVERS_UART16550_H */
