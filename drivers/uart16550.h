/*
 * Polled driver for a 16550-compatible UART: the physical console.
 */
#ifndef TESSERA_DRIVERS_UART16550_H
#define TESSERA_DRIVERS_UART16550_H

#include "hv/types.h"

#define UART_COM1_PORT    0x3f8
#define UART_DEFAULT_BAUD 115200

/** One physical UART. */
struct uart16550 {
	uint16_t port;
	uint32_t baud;
};

/** Programs the UART for @baud 8N1 with FIFOs; false if no UART answers. */
bool uart16550_init(struct uart16550 *uart, uint16_t port, uint32_t baud);

/** Sends bytes, turning a bare "\n" into "\r\n"; waits for room before each byte. */
void uart16550_write(const struct uart16550 *uart, const char *buf, size_t len);

/** Returns a received byte, or -1 when none is waiting. */
int uart16550_try_read(const struct uart16550 *uart);

/** Waits until every byte has left the shift register. */
void uart16550_flush(const struct uart16550 *uart);

#endif /* TESSERA_DRIVERS_UART16550_H */
