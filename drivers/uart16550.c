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
	uart->tx_head = 0;
	uart->tx_count = 0;
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

/**
 * Hands the UART up to a FIFO's worth of queued bytes once its transmit
 * FIFO is empty (THRE: with FIFOs on, the whole FIFO is free). Never waits.
 */
void uart16550_pump(struct uart16550 *uart)
{
	if (uart->tx_count == 0 || (uart16550_read_lsr(uart) & UART_LSR_THRE) == 0) {
		return;
	}
	for (unsigned int i = 0; i < UART_FIFO_DEPTH && uart->tx_count > 0; i++) {
		cpu_outb(uart->port + UART_THR, (uint8_t)uart->tx[uart->tx_head]);
		uart->tx_head = (uart->tx_head + 1) % UART16550_TX_RING;
		uart->tx_count--;
	}
}

/** Queues one byte; with the queue full, first waits until the UART took some. */
static void uart16550_queue(struct uart16550 *uart, char c)
{
	while (uart->tx_count == UART16550_TX_RING) {
		uart16550_wait(uart, UART_LSR_THRE);
		uart16550_pump(uart);
	}
	uart->tx[(uart->tx_head + uart->tx_count) % UART16550_TX_RING] = c;
	uart->tx_count++;
}

/** Queues bytes for the line; see uart16550.h. */
void uart16550_write(struct uart16550 *uart, const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r')) {
			uart16550_queue(uart, '\r');
		}
		uart16550_queue(uart, buf[i]);
	}
	uart16550_pump(uart);
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
	while (uart->tx_count > 0) {
		uart16550_wait(uart, UART_LSR_THRE);
		uart16550_pump(uart);
	}
	uart16550_wait(uart, UART_LSR_TEMT);
}
