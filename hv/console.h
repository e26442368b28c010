/*
 * The physical console: where every line of the hypervisor and of every
 * partition ends up. Lines are written whole under one lock, so output of
 * different CPUs and partitions never mixes within a line.
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

/** Writes "PREFIX: TEXT\n" as one unit; TEXT need not be terminated. */
void console_write_line(const char *prefix, const char *text, size_t len);

/** Writes bytes as they are (the shell's echo and replies), under the lock. */
void console_write_raw(const char *buf, size_t len);

/** From now on, write without taking the lock (a CPU may have died holding it). */
void console_enter_panic_mode(void);

#endif /* TESSERA_HV_CONSOLE_H */
