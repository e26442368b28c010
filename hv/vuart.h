/*
 * A partition's virtual 16550A UART (the guest's COM1 at 0x3f8). Output is
 * collected into lines and shown on the physical console behind the
 * partition's name; an attached operator may also take it raw. Input typed
 * by the operator waits in a backlog and reaches the guest through the
 * receiver FIFO as the guest reads it, so a paste loses nothing accepted.
 *
 * Not locked: the caller serialises every call for one UART (today the one
 * CPU that runs vCPUs also polls the operator's keyboard between slices).
 */
#ifndef TESSERA_HV_VUART_H
#define TESSERA_HV_VUART_H

#include "hv/ring.h"
#include "hv/types.h"

#define VUART_PORT_BASE  0x3f8
#define VUART_PORT_COUNT 8
#define VUART_LINE_MAX   200
#define VUART_FIFO_SIZE  16  /* the 16550A's receiver FIFO */
#define VUART_BACKLOG_SIZE 256 /* operator input not yet in the FIFO */

/** Register state of one virtual 16550A, its input and its pending output line. */
struct vuart {
	const char *name;   /* console prefix: the partition's name */
	struct byte_ring *log; /* where its lines are kept for replay, or NULL */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	uint8_t fcr;        /* FIFO enable and trigger bits as last programmed */
	uint8_t lsr_errors; /* LSR error bits (only OE here) until LSR is read */
	uint8_t msr_deltas; /* MSR bits 3:0 until MSR is read */
	bool thre_pending;  /* THRE interrupt until IIR reports it or THR is written */
	uint8_t rx_fifo[VUART_FIFO_SIZE];
	unsigned int rx_head;  /* oldest received byte */
	unsigned int rx_count; /* at most 1 with the FIFOs off (the RBR alone) */
	uint8_t backlog[VUART_BACKLOG_SIZE];
	unsigned int backlog_head;
	unsigned int backlog_count;
	char line[VUART_LINE_MAX];
	size_t line_length;
	bool wrapped;       /* the last line was cut at VUART_LINE_MAX */
	/* Every transmitted byte, unbuffered and unfiltered (an empty call: flushed). */
	void (*raw_output)(void *ctx, const char *bytes, size_t length);
	void *raw_ctx;
	uint64_t bytes_written;  /* bytes the guest transmitted (not in loopback) */
	uint64_t bytes_received; /* bytes that entered the RBR/FIFO */
	uint64_t rx_overruns;    /* bytes lost to overrun (LSR OE) */
	uint64_t input_dropped;  /* operator bytes refused: the backlog was full */
};

/**
 * Resets the UART to its power-on state; lines also go to @log (may be NULL).
 * This also empties the backlog, zeroes the counters and detaches the raw tap.
 */
void vuart_init(struct vuart *uart, const char *name, struct byte_ring *log);

/** A guest IN from base + offset (offset 0-7). */
uint8_t vuart_read(struct vuart *uart, uint16_t offset);

/**
 * Whether an IN from base + offset would change nothing and read the same
 * until the guest writes a register or input arrives: true for the
 * registers that only hold what was written, and for LSR and MSR while no
 * error or delta bit waits to be cleared by the read; never for RBR or IIR.
 */
bool vuart_read_is_pure(const struct vuart *uart, uint16_t offset);

/** A guest OUT to base + offset (offset 0-7). */
void vuart_write(struct vuart *uart, uint16_t offset, uint8_t value);

/**
 * Adds bytes to the output as if written to THR one by one (lines and raw
 * tap, whatever the loopback bit); the registers do not change.
 */
void vuart_output(struct vuart *uart, const char *bytes, size_t length);

/**
 * Sends a partial last line to the console (when the partition stops). An
 * attached raw tap is then called with no bytes: a console that shows the
 * output later can show the rest now, before what follows the stop.
 */
void vuart_flush(struct vuart *uart);

/**
 * Bytes from the operator's keyboard for the guest: queued in the backlog,
 * which feeds the receiver FIFO as the guest reads it. Returns how many were
 * taken: fewer than @length only when the backlog is full (the rest are
 * counted in input_dropped; the caller tells the operator).
 */
size_t vuart_receive(struct vuart *uart, const uint8_t *bytes, size_t length);

/**
 * The IRQ line as a PC sees it: an enabled interrupt is pending and OUT2,
 * which gates the UART's interrupt output onto the bus, is driven (MCR OUT2
 * set and not in loopback, where the outputs are forced inactive).
 */
bool vuart_irq_asserted(const struct vuart *uart);

/** Attaches @fn to receive every byte the guest transmits; NULL detaches. */
void vuart_set_raw_output(struct vuart *uart, void (*fn)(void *, const char *, size_t),
			  void *ctx);

#endif /* TESSERA_HV_VUART_H */
