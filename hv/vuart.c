/*
 * A 16550A register model (National PC16550D data sheet) for polling and
 * interrupt-driven guest drivers alike. The line has no time: a byte written
 * to THR is transmitted at once (THR and the shifter are always empty), and
 * a received byte arrives whole. So:
 *
 * - The receiver holds one byte in the RBR with the FIFOs off, sixteen in
 *   the FIFO with FCR bit 0 set. The operator's input waits in a backlog
 *   and moves into the FIFO as room appears (flow control the guest never
 *   sees), so only bytes looped back by the guest itself can overrun.
 * - The character timeout, "no byte in or out of the FIFO for four
 *   character times", lasts zero time here: it is pending whenever the FIFO
 *   holds data below the trigger level. A read restarts the timer, which
 *   expires again at once if data is left, as it would four characters
 *   later on a real line; data below the trigger therefore never waits.
 * - Parity, framing and break (LSR PE, FE, BI and bit 7) never occur: the
 *   bytes do not travel over a wire. Overrun (OE) does, in loopback.
 * - Outside loopback the modem inputs show a ready null-modem line (CTS,
 *   DSR, DCD) that never changes, so only loopback sets MSR delta bits.
 */
#include "hv/vuart.h"
#include "hv/console.h"
#include "hv/console_events.h"
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
#define IER_RX_DATA 0x01 /* ERBFI: received data available and timeout */
#define IER_THRE    0x02 /* ETBEI */
#define IER_LINE    0x04 /* ELSI: receiver line status */
#define IER_MODEM   0x08 /* EDSSI */
#define IER_MASK    0x0f
/* IIR bits 3:0 by priority (data sheet, Table IV), bits 7:6 with FIFOs on. */
#define IIR_NO_INTERRUPT 0x01
#define IIR_LINE_STATUS  0x06
#define IIR_RX_DATA      0x04
#define IIR_RX_TIMEOUT   0x0c
#define IIR_THRE         0x02
#define IIR_MODEM_STATUS 0x00
#define IIR_FIFOS_ON     0xc0
#define FCR_FIFO_ENABLE  0x01
#define FCR_CLEAR_RX     0x02
#define FCR_TRIGGER_SHIFT 6
#define FCR_TRIGGER_MASK 0xc0
#define LSR_DR   0x01
#define LSR_OE   0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MCR_DTR  0x01
#define MCR_RTS  0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS  0x10
#define MSR_DSR  0x20
#define MSR_RI   0x40
#define MSR_DCD  0x80
/* Modem status with the lines a null-modem cable would show: CTS, DSR, DCD. */
#define MSR_READY (MSR_CTS | MSR_DSR | MSR_DCD)

/** Resets the UART to its power-on state; lines also go to @log (may be NULL). */
void vuart_init(struct vuart *uart, const char *name, struct byte_ring *log)
{
	memset(uart, 0, sizeof(*uart));
	uart->name = name;
	uart->log = log;
}

/** Attaches @fn to receive every byte the guest transmits; NULL detaches. */
void vuart_set_raw_output(struct vuart *uart, void (*fn)(void *, const char *, size_t),
			  void *ctx)
{
	uart->raw_output = fn;
	uart->raw_ctx = fn != NULL ? ctx : NULL;
}

/* ------------------------------------------------------------------------
 * Transmitter: lines for the console and the log, raw bytes for the tap
 * ------------------------------------------------------------------------ */

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

/**
 * Sends a partial last line to the console (when the partition stops), and
 * tells the raw tap with an empty call that the output stops here.
 */
void vuart_flush(struct vuart *uart)
{
	if (uart->line_length > 0) {
		vuart_emit_line(uart);
	}
	if (uart->raw_output != NULL) {
		uart->raw_output(uart->raw_ctx, "", 0);
	}
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
	uart->line[uart->line_length++] = console_printable(c);
	if (uart->line_length == VUART_LINE_MAX) {
		vuart_emit_line(uart);
		uart->wrapped = true;
	}
}

/** Hands transmitted bytes, as they are, to an attached operator. */
static void vuart_tap(struct vuart *uart, const char *bytes, size_t length)
{
	if (uart->raw_output != NULL && length > 0) {
		uart->raw_output(uart->raw_ctx, bytes, length);
	}
}

/** Adds bytes to the output as if written to THR one by one. */
void vuart_output(struct vuart *uart, const char *bytes, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		vuart_put_byte(uart, bytes[i]);
	}
	vuart_tap(uart, bytes, length);
}

/* ------------------------------------------------------------------------
 * Receiver: the RBR or FIFO, and the operator's backlog behind it
 * ------------------------------------------------------------------------ */

/** True with FCR bit 0 set: 16-byte FIFO, trigger levels, IIR bits 7:6. */
static bool vuart_fifos_on(const struct vuart *uart)
{
	return (uart->fcr & FCR_FIFO_ENABLE) != 0;
}

/** Bytes the receiver holds at most: the FIFO, or the RBR alone. */
static unsigned int vuart_rx_capacity(const struct vuart *uart)
{
	return vuart_fifos_on(uart) ? VUART_FIFO_SIZE : 1;
}

/** The FIFO fill that raises "received data available" (FCR bits 7:6). */
static unsigned int vuart_rx_trigger(const struct vuart *uart)
{
	static const unsigned int levels[] = { 1, 4, 8, 14 };

	return vuart_fifos_on(uart) ? levels[uart->fcr >> FCR_TRIGGER_SHIFT] : 1;
}

/** Empties the receiver (FCR bit 1, or FIFO mode switched on or off). */
static void vuart_rx_clear(struct vuart *uart)
{
	uart->rx_head = 0;
	uart->rx_count = 0;
}

/**
 * One byte completes in the receiver. When it is full that is an overrun
 * (data sheet, LSR bit 1): with the FIFOs off the new byte overwrites the
 * unread RBR; with them on it stays in the shift register and is lost.
 */
static void vuart_rx_arrive(struct vuart *uart, uint8_t byte)
{
	if (uart->rx_count == vuart_rx_capacity(uart)) {
		uart->lsr_errors |= LSR_OE;
		uart->rx_overruns++;
		if (!vuart_fifos_on(uart)) {
			uart->rx_fifo[uart->rx_head] = byte;
			uart->bytes_received++;
		}
		return;
	}
	uart->rx_fifo[(uart->rx_head + uart->rx_count) % VUART_FIFO_SIZE] = byte;
	uart->rx_count++;
	uart->bytes_received++;
}

/** Takes the oldest received byte; 0 when there is none. */
static uint8_t vuart_rx_take(struct vuart *uart)
{
	uint8_t byte;

	if (uart->rx_count == 0) {
		return 0;
	}
	byte = uart->rx_fifo[uart->rx_head];
	uart->rx_head = (uart->rx_head + 1) % VUART_FIFO_SIZE;
	uart->rx_count--;
	return byte;
}

/**
 * Moves backlog bytes into the receiver while it has room. Not in loopback:
 * there the serial input is cut off from the receiver, so the operator's
 * bytes wait until the guest leaves loopback.
 */
static void vuart_backlog_feed(struct vuart *uart)
{
	if ((uart->mcr & MCR_LOOP) != 0) {
		return;
	}
	while (uart->backlog_count > 0 && uart->rx_count < vuart_rx_capacity(uart)) {
		vuart_rx_arrive(uart, uart->backlog[uart->backlog_head]);
		uart->backlog_head = (uart->backlog_head + 1) % VUART_BACKLOG_SIZE;
		uart->backlog_count--;
	}
}

/** Bytes from the operator's keyboard for the guest; returns how many were taken. */
size_t vuart_receive(struct vuart *uart, const uint8_t *bytes, size_t length)
{
	size_t taken = 0;

	for (; taken < length && uart->backlog_count < VUART_BACKLOG_SIZE; taken++) {
		unsigned int tail = (uart->backlog_head + uart->backlog_count) % VUART_BACKLOG_SIZE;

		uart->backlog[tail] = bytes[taken];
		uart->backlog_count++;
		/* Straight on into the FIFO if it has room, freeing the backlog. */
		vuart_backlog_feed(uart);
	}
	uart->input_dropped += length - taken;
	return taken;
}

/* ------------------------------------------------------------------------
 * Interrupts
 * ------------------------------------------------------------------------ */

/**
 * The highest-priority enabled interrupt as IIR bits 3:0 (data sheet, Table
 * IV): line status, received data (at the trigger level), character timeout
 * (FIFO mode, below it), THR empty, modem status; IIR_NO_INTERRUPT if none.
 */
static uint8_t vuart_pending(const struct vuart *uart)
{
	if ((uart->ier & IER_LINE) != 0 && uart->lsr_errors != 0) {
		return IIR_LINE_STATUS;
	}
	if ((uart->ier & IER_RX_DATA) != 0 && uart->rx_count > 0) {
		return uart->rx_count >= vuart_rx_trigger(uart) ? IIR_RX_DATA : IIR_RX_TIMEOUT;
	}
	if ((uart->ier & IER_THRE) != 0 && uart->thre_pending) {
		return IIR_THRE;
	}
	if ((uart->ier & IER_MODEM) != 0 && uart->msr_deltas != 0) {
		return IIR_MODEM_STATUS;
	}
	return IIR_NO_INTERRUPT;
}

/** The IRQ line as a PC sees it: an interrupt pending, gated by OUT2. */
bool vuart_irq_asserted(const struct vuart *uart)
{
	/* Loopback forces the OUT2 pin inactive (MCR bit 4), closing the gate. */
	return vuart_pending(uart) != IIR_NO_INTERRUPT &&
	       (uart->mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
}

/** IIR read: reporting THRE clears it, the other sources clear elsewhere. */
static uint8_t vuart_read_iir(struct vuart *uart)
{
	uint8_t source = vuart_pending(uart);

	if (source == IIR_THRE) {
		uart->thre_pending = false;
	}
	return (uint8_t)(source | (vuart_fifos_on(uart) ? IIR_FIFOS_ON : 0));
}

/* ------------------------------------------------------------------------
 * Registers
 * ------------------------------------------------------------------------ */

/**
 * Modem status in loopback mode: the outputs are wired back to the inputs,
 * DTR to DSR, RTS to CTS, OUT1 to RI, OUT2 to DCD (8250 drivers probe this).
 */
static uint8_t vuart_loopback_status(uint8_t mcr)
{
	return (uint8_t)(((mcr & MCR_DTR) ? MSR_DSR : 0) | ((mcr & MCR_RTS) ? MSR_CTS : 0) |
			 ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0));
}

/** The modem input lines (MSR bits 7:4). */
static uint8_t vuart_modem_inputs(const struct vuart *uart)
{
	return (uart->mcr & MCR_LOOP) != 0 ? vuart_loopback_status(uart->mcr) : MSR_READY;
}

/**
 * MSR delta bits for a change of the inputs from @before to @after: CTS, DSR
 * and DCD on any change, RI only on its trailing edge, on to off (TERI).
 */
static uint8_t vuart_modem_deltas(uint8_t before, uint8_t after)
{
	uint8_t changed = before ^ after;
	uint8_t deltas = (uint8_t)((changed & (MSR_CTS | MSR_DSR | MSR_DCD)) >> 4);

	if ((before & MSR_RI) != 0 && (after & MSR_RI) == 0) {
		deltas |= MSR_TERI;
	}
	return deltas;
}

/**
 * MCR write. In loopback the MCR outputs are the modem inputs, so changing
 * them sets delta bits. Entering or leaving loopback sets none: the data
 * sheet defines the deltas by changes of the inputs and, in loopback, of
 * the MCR bits standing in for them; the switch itself is neither.
 */
static void vuart_write_mcr(struct vuart *uart, uint8_t value)
{
	uint8_t old = uart->mcr;

	uart->mcr = value & MCR_MASK;
	if ((old & uart->mcr & MCR_LOOP) != 0) {
		uart->msr_deltas |= vuart_modem_deltas(vuart_loopback_status(old),
						       vuart_loopback_status(uart->mcr));
	}
	vuart_backlog_feed(uart);
}

/** IER write: enabling ETBEI while THR is empty (always here) raises THRE. */
static void vuart_write_ier(struct vuart *uart, uint8_t value)
{
	uint8_t old = uart->ier;

	uart->ier = value & IER_MASK;
	if ((old & IER_THRE) == 0 && (uart->ier & IER_THRE) != 0) {
		uart->thre_pending = true;
	}
}

/**
 * FCR write. Switching FIFO mode on or off empties the receiver; the other
 * bits are only programmed along with bit 0 set (data sheet, FCR). Clearing
 * the transmitter FIFO (bit 2) has nothing to clear: THR is always empty.
 */
static void vuart_write_fcr(struct vuart *uart, uint8_t value)
{
	bool was_on = vuart_fifos_on(uart);

	if ((value & FCR_FIFO_ENABLE) == 0) {
		uart->fcr = (uint8_t)(uart->fcr & ~FCR_FIFO_ENABLE);
	} else {
		uart->fcr = value & (FCR_FIFO_ENABLE | FCR_TRIGGER_MASK);
	}
	if (was_on != vuart_fifos_on(uart) ||
	    (vuart_fifos_on(uart) && (value & FCR_CLEAR_RX) != 0)) {
		vuart_rx_clear(uart);
	}
	vuart_backlog_feed(uart);
}

/**
 * THR write: the byte leaves at once, THR is empty again and THRE is raised
 * anew. In loopback the byte goes into the receiver instead of the line.
 */
static void vuart_write_thr(struct vuart *uart, uint8_t value)
{
	char c = (char)value;

	if ((uart->mcr & MCR_LOOP) != 0) {
		vuart_rx_arrive(uart, value);
	} else {
		vuart_put_byte(uart, c);
		vuart_tap(uart, &c, 1);
	}
	uart->thre_pending = true;
}

/** RBR read: the oldest byte; the backlog refills the room it leaves. */
static uint8_t vuart_read_rbr(struct vuart *uart)
{
	uint8_t byte = vuart_rx_take(uart);

	vuart_backlog_feed(uart);
	return byte;
}

/** LSR read: the transmitter is always empty; reading clears OE. */
static uint8_t vuart_read_lsr(struct vuart *uart)
{
	uint8_t value = (uint8_t)(LSR_THRE | LSR_TEMT | uart->lsr_errors |
				  (uart->rx_count > 0 ? LSR_DR : 0));

	uart->lsr_errors = 0;
	return value;
}

/** MSR read: the inputs and the deltas, which reading clears. */
static uint8_t vuart_read_msr(struct vuart *uart)
{
	uint8_t value = vuart_modem_inputs(uart) | uart->msr_deltas;

	uart->msr_deltas = 0;
	return value;
}

/** A guest IN from base + offset (offset 0-7). */
uint8_t vuart_read(struct vuart *uart, uint16_t offset)
{
	bool dlab = (uart->lcr & LCR_DLAB) != 0;

	switch (offset) {
	case REG_DATA:
		return dlab ? uart->dll : vuart_read_rbr(uart);
	case REG_IER:
		return dlab ? uart->dlm : uart->ier;
	case REG_IIR:
		return vuart_read_iir(uart);
	case REG_LCR:
		return uart->lcr;
	case REG_MCR:
		return uart->mcr;
	case REG_LSR:
		return vuart_read_lsr(uart);
	case REG_MSR:
		return vuart_read_msr(uart);
	case REG_SCR:
		return uart->scr;
	default:
		return 0xff;
	}
}

/** Whether an IN would change nothing; see vuart.h. */
bool vuart_read_is_pure(const struct vuart *uart, uint16_t offset)
{
	bool dlab = (uart->lcr & LCR_DLAB) != 0;

	switch (offset) {
	case REG_DATA:
		return dlab;
	case REG_IIR:
		return false;
	case REG_LSR:
		return uart->lsr_errors == 0;
	case REG_MSR:
		return uart->msr_deltas == 0;
	default:
		return true;
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
		} else {
			vuart_write_thr(uart, value);
		}
		break;
	case REG_IER:
		if (dlab) {
			uart->dlm = value;
		} else {
			vuart_write_ier(uart, value);
		}
		break;
	case REG_IIR:
		vuart_write_fcr(uart, value);
		break;
	case REG_LCR:
		uart->lcr = value;
		break;
	case REG_MCR:
		vuart_write_mcr(uart, value);
		break;
	case REG_SCR:
		uart->scr = value;
		break;
	default:
		/* LSR and MSR are read-only: writes change nothing. */
		break;
	}
}
