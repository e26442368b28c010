/*
 * The physical console's line discipline: one lock, whole lines, prefixes.
 */
#include "hv/console.h"
#include "hv/spinlock.h"
#include "hv/string.h"

/** One output sink and its context. */
struct console_sink {
	console_sink_fn fn;
	void *ctx;
};

static struct console_sink console_sinks[CONSOLE_SINK_COUNT];
static struct spinlock console_lock = SPINLOCK_INIT;
static bool console_panic_mode;

/** Installs (or with fn = NULL removes) one output sink. */
void console_set_sink(enum console_sink_id id, console_sink_fn fn, void *ctx)
{
	console_sinks[id].ctx = ctx;
	console_sinks[id].fn = fn;
}

/** Sends bytes to every installed sink. */
static void console_emit(const char *buf, size_t len)
{
	for (size_t i = 0; i < CONSOLE_SINK_COUNT; i++) {
		if (console_sinks[i].fn != NULL) {
			console_sinks[i].fn(console_sinks[i].ctx, buf, len);
		}
	}
}

/** Writes "PREFIX: TEXT\n" as one unit; TEXT need not be terminated. */
void console_write_line(const char *prefix, const char *text, size_t len)
{
	char line[CONSOLE_LINE_MAX + 64];
	size_t prefix_len = strnlen(prefix, 48);
	bool locked = !console_panic_mode;

	do {
		size_t chunk = MIN(len, CONSOLE_LINE_MAX);
		size_t n = 0;

		memcpy(line, prefix, prefix_len);
		n += prefix_len;
		line[n++] = ':';
		line[n++] = ' ';
		memcpy(line + n, text, chunk);
		n += chunk;
		line[n++] = '\n';
		if (locked) {
			spin_lock(&console_lock);
		}
		console_emit(line, n);
		if (locked) {
			spin_unlock(&console_lock);
		}
		text += chunk;
		len -= chunk;
	} while (len > 0);
}

/** Writes bytes as they are (the shell's echo and replies), under the lock. */
void console_write_raw(const char *buf, size_t len)
{
	if (!console_panic_mode) {
		spin_lock(&console_lock);
	}
	console_emit(buf, len);
	if (!console_panic_mode) {
		spin_unlock(&console_lock);
	}
}

/** From now on, write without taking the lock (a CPU may have died holding it). */
void console_enter_panic_mode(void)
{
	console_panic_mode = true;
}
