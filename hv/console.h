/*
 * The physical console: where every line of the hypervisor and of every
 * partition ends up. Lines are written whole under one lock, so output of
 * different CPUs and partitions never mixes within a line.
 *
 * Once the operator's shell runs, a router takes the finished lines instead
 * (hv/operator.c): it shows them as events that clear and keep the prompt
 * line, as JSON, or holds them while a partition's console is attached.
 * Panic output never goes through the router.
 */
#ifndef TESSERA_HV_CONSOLE_H
#define TESSERA_HV_CONSOLE_H

#include "hv/types.h"

/** Longest line body the console writes at once; longer text is split. */
#define CONSOLE_LINE_MAX 240

/** Where console bytes go: the UART, and before hand-off the firmware. */
enum console_sink_id {
	CONSOLE_SINK_SERIAL = 0,
	CONSOLE_SINK_FIRMWARE = 1,
	CONSOLE_SINK_COUNT,
};

/** Receives finished output bytes ("\n" line ends). */
typedef void (*console_sink_fn)(void *ctx, const char *buf, size_t len);

/** Installs (or with fn = NULL removes) one output sink. */
void console_set_sink(enum console_sink_id id, console_sink_fn fn, void *ctx);

/** Takes finished lines instead of the sinks; each returns false to decline one. */
struct console_router {
	/* A partition's line: @prefix is its name; no newline in @text. */
	bool (*line)(void *ctx, const char *prefix, const char *text, size_t len);
	/* A line of the hypervisor's log, without "tessera: " and newline. */
	bool (*log)(void *ctx, const char *text, size_t len);
	void *ctx;
};

/** Installs (or with NULL removes) the router; @router must stay valid. */
void console_set_router(const struct console_router *router);

/** Writes "PREFIX: TEXT\n" as one unit; TEXT need not be terminated. */
void console_write_line(const char *prefix, const char *text, size_t len);

/** Writes one line of the hypervisor's log, "tessera: TEXT\n". */
void console_write_log(const char *text, size_t len);

/** Writes bytes as they are (the shell's echo and replies), under the lock. */
void console_write_raw(const char *buf, size_t len);

/**
 * Takes the console lock (not in panic mode), for a writer that goes to the
 * UART beside the sinks (the paced partition output, hv/console_streams.c).
 */
void console_lock_output(void);

/** Releases what console_lock_output() took. */
void console_unlock_output(void);

/** From now on, write without taking the lock (a CPU may have died holding it). */
void console_enter_panic_mode(void);

/** True once a panic or a root-mode exception took over the console: write through. */
bool console_is_panicking(void);

#endif /* TESSERA_HV_CONSOLE_H */
