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

/**
 * One physical UART. Reading LSR clears its error bits, so every read of it
 * goes through uart16550_note_line_status(): no error is seen and lost.
 * The counters are not locked: one CPU reads the console, and writers
 * already hold the console lock.
 */
/* Bytes waiting for the line: Tessera never waits for the UART unless this fills. */
#define UART16550_TX_RING 16384

struct uart16550 {
	uint16_t port;
	uint32_t baud;
	struct uart16550_errors errors;
	char tx[UART16550_TX_RING]; /* bytes not yet handed to the UART */
	size_t tx_head;             /* oldest waiting byte */
	size_t tx_count;
};

/** Programs the UART for @baud 8N1 with FIFOs; false if no UART answers. */
bool uart16550_init(struct uart16550 *uart, uint16_t port, uint32_t baud);

/**
 * Queues bytes for the line, turning a bare "\n" into "\r\n", and hands
 * the UART what its FIFO takes now. Waits only when the queue is full.
 */
void uart16550_write(struct uart16550 *uart, const char *buf, size_t len);

/** Hands the UART as many queued bytes as its transmit FIFO takes now; never waits. */
void uart16550_pump(struct uart16550 *uart);

/** Returns a received byte, or -1 when none is waiting. */
int uart16550_try_read(struct uart16550 *uart);

/** Waits until every byte has left the shift register. */
void uart16550_flush(struct uart16550 *uart);

/** Counts the receive errors in a value read from LSR; returns it unchanged. */
uint8_t uart16550_note_line_status(struct uart16550 *uart, uint8_t lsr);

#endif /* TESSERA_DRIVERS_UART16550_H */
