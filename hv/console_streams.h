/*
 * The console line's output, for the operator (hv/operator.c): what the
 * shell writes goes to the UART's urgent queue as whole units, and every
 * partition's UART output goes to a stream of its own, read into the bulk
 * queue only as fast as the line carries it.
 *
 * Used by one CPU at a time: the caller holds the operator's lock.
 */
#ifndef TESSERA_HV_CONSOLE_STREAMS_H
#define TESSERA_HV_CONSOLE_STREAMS_H

#include "drivers/uart16550.h"
#include "hv/partition.h"
#include "hv/shell.h"

/**
 * Starts with no stream: @shell formats what the streams show (its mode
 * says how: lines, JSON chunks or raw bytes when attached), and the
 * streams of partitions 0 .. @partition_count - 1 take turns.
 */
void console_streams_init(struct shell *shell, unsigned int partition_count);

/**
 * Taps partition @p's UART into a stream as large as its console_buffer
 * (without a console_buffer, or without memory for it, its output is only
 * in its log).
 */
void console_streams_add(struct partition *p);

/**
 * Sends output to @uart from now on; until then it goes to the console's
 * sinks (console_write_raw()), unpaced.
 */
void console_streams_set_uart(struct uart16550 *uart);

/**
 * shell_write_fn: stages what the shell writes, handed to the UART as one
 * unit by console_streams_urgent_end(), so that no partition byte lands
 * inside a reply or an event line the shell writes in pieces.
 */
void console_streams_write(void *ctx, const char *buf, size_t len);

/** Ends the unit of urgent output: hands what the shell wrote to the UART. */
void console_streams_urgent_end(void);

/** Stream @index shows output raw from here on (the shell attached to it). */
void console_streams_attach(unsigned int index);

/**
 * Feeds the UART's bulk queue from the streams while it runs low: first
 * what stopped partitions wrote before they stopped, then every stream in
 * turn; JSON chunks waiting for the rest of a character go out too.
 */
void console_streams_feed(void);

/** Whether some partition has output the console has not read yet. */
bool console_streams_pending(void);

/** Whether console_streams_feed() has anything to do. */
bool console_streams_busy(void);

/**
 * Whether a stopped partition's last output is still on its way: Tessera's
 * events wait until it went out, so the news of a stop follows it.
 */
bool console_streams_stopping(void);

/** TSC of the last partition line shown in text mode (0: none yet). */
uint64_t console_streams_shown_at(void);

#endif /* TESSERA_HV_CONSOLE_STREAMS_H */
