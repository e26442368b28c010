/*
 * A partition's virtual 16550 UART (the guest's COM1 at 0x3f8). Output is
 * collected into lines and shown on the physical console behind the
 * partition's name.
 */
#ifndef TESSERA_HV_VUART_H
#define TESSERA_HV_VUART_H

#include "hv/ring.h"
#include "hv/types.h"

#define VUART_PORT_BASE  0x3f8
#define VUART_PORT_COUNT 8
#define VUART_LINE_MAX   200

/** Register state of one virtual 16550 and its pending output line. */
struct vuart {
	const char *name;   /* console prefix: the partition's name */
	struct byte_ring *log; /* where its lines are kept for replay, or NULL */
	uint8_t ier;
	uint8_t lcr;
	uint8_t mcr;
	uint8_t scr;
	uint8_t dll;
	uint8_t dlm;
	char line[VUART_LINE_MAX];
	size_t line_length;
	bool wrapped;       /* the last line was cut at VUART_LINE_MAX */
	uint64_t bytes_written;
};

/** Resets the UART to its power-on state; lines also go to @log (may be NULL). */
void vuart_init(struct vuart *uart, const char *name, struct byte_ring *log);

/** A guest IN from base + offset (offset 0-7). */
uint8_t vuart_read(struct vuart *uart, uint16_t offset);

/** A guest OUT to base + offset (offset 0-7). */
void vuart_write(struct vuart *uart, uint16_t offset, uint8_t value);

/** Adds bytes to the output as if written to THR one by one. */
void vuart_output(struct vuart *uart, const char *bytes, size_t length);

/** Sends a partial last line to the console (when the partition stops). */
void vuart_flush(struct vuart *uart);

#endif /* TESSERA_HV_VUART_H */
