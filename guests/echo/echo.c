/*
 * echo: sends back every byte its virtual UART receives, for the tests of
 * the operator's console attach (`console NAME`) and of `send NAME TEXT`.
 *
 * It polls the line status register's Data Ready bit (16550: LSR bit 0) and
 * reads each byte from the receiver buffer, echoing it at once. A carriage
 * return or line feed ends the line: the echo moves to a new line and a
 * report follows. Text without a line end (`send` may type none) is
 * reported once nothing more arrived for ECHO_IDLE_TICKS. Other control
 * bytes are not echoed but reported, so a test sees whether the console's
 * detach key reached the guest.
 *
 * Lines (Tessera puts "echo: " before each):
 *   ready: echoing what the UART receives
 *   got line N: 'TEXT' (L bytes)
 *   got text N: 'TEXT' (L bytes, no line end)
 *   got control byte 0xXX
 * It never stops by itself.
 */
#include "guests/common/guest.h"

/* guest.h has the transmit side of the 16550; the receive side is used only here. */
#define UART_RBR    (UART_PORT + 0) /* receiver buffer register (DLAB = 0) */
#define UART_LSR_DR 0x01            /* LSR: a received byte waits in RBR/FIFO */

#define ECHO_LINE_MAX 128
/* About 1 s of Bochs time: far longer than the gap between two typed bytes. */
#define ECHO_IDLE_TICKS 30000000ULL
/* Empty loop iterations between two polls, so that polling is not all exits. */
#define ECHO_POLL_SPIN 2000

#define CTRL_CR 0x0d
#define CTRL_LF 0x0a

/** The line being received. */
struct echo_line {
	char text[ECHO_LINE_MAX];
	uint32_t length;        /* bytes received, may exceed what text holds */
	uint32_t reported;      /* lines and texts reported so far */
	bool last_was_cr;       /* an LF right after a CR ends nothing more */
	uint64_t last_byte_tsc; /* when the last byte arrived */
};

/** Reports the line so far (with or without its line end) and starts a new one. */
static void report(struct echo_line *line, bool ended)
{
	uint32_t shown = line->length < ECHO_LINE_MAX ? line->length : ECHO_LINE_MAX - 1;

	line->text[shown] = '\0';
	line->reported++;
	if (ended) {
		guest_printf("got line %u: '%s' (%u bytes)\n", line->reported, line->text,
			     line->length);
	} else {
		guest_printf("got text %u: '%s' (%u bytes, no line end)\n", line->reported,
			     line->text, line->length);
	}
	line->length = 0;
}

/** Handles one received byte: echo, end of line, or a reported control byte. */
static void receive(struct echo_line *line, uint8_t c)
{
	bool crlf_tail = line->last_was_cr && c == CTRL_LF;

	line->last_was_cr = c == CTRL_CR;
	line->last_byte_tsc = rdtsc();
	if (crlf_tail) {
		return;
	}
	if (c == CTRL_CR || c == CTRL_LF) {
		uart_putc('\n');
		report(line, true);
		return;
	}
	if (c < 0x20 || c == 0x7f) {
		guest_printf("%sgot control byte 0x%02x\n", line->length > 0 ? "\n" : "", c);
		return;
	}
	uart_putc((char)c);
	if (line->length < ECHO_LINE_MAX - 1) {
		line->text[line->length] = (char)c;
	}
	line->length++;
}

/** Waits a little between two polls of LSR. */
static void spin(void)
{
	for (uint32_t i = 0; i < ECHO_POLL_SPIN; i++) {
		__asm__ volatile("" ::: "memory");
	}
}

/** Echoes forever. */
int guest_main(void)
{
	struct echo_line line = { .length = 0 };

	guest_printf("ready: echoing what the UART receives\n");
	for (;;) {
		if ((port_read8(UART_LSR) & UART_LSR_DR) != 0) {
			receive(&line, port_read8(UART_RBR));
			continue;
		}
		if (line.length > 0 && rdtsc() - line.last_byte_tsc > ECHO_IDLE_TICKS) {
			uart_putc('\n');
			report(&line, false);
		}
		spin();
	}
}
