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
static const struct console_router *console_router;

/** Installs (or with NULL removes) the router; @router must stay valid. */
void console_set_router(const struct console_router *router)
{
	console_router = router;
}

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

/** Writes "PREFIX: TEXT\n" to the sinks as one unit, TEXT cut into pieces if long. */
static void console_emit_line(const char *prefix, const char *text, size_t len)
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

/** Takes the console lock (not in panic mode). */
void console_lock_output(void)
{
	if (!console_panic_mode) {
		spin_lock(&console_lock);
	}
}

/** Releases what console_lock_output() took. */
void console_unlock_output(void)
{
	if (!console_panic_mode) {
		spin_unlock(&console_lock);
	}
}

/** True once a panic or a root-mode exception took over the console. */
bool console_is_panicking(void)
{
	return console_panic_mode;
}

/** From now on, write without taking the lock (a CPU may have died holding it). */
void console_enter_panic_mode(void)
{
	console_panic_mode = true;
}

/** Writes "PREFIX: TEXT\n" as one unit; TEXT need not be terminated. */
void console_write_line(const char *prefix, const char *text, size_t len)
{
	const struct console_router *router = console_router;

	if (router != NULL && !console_panic_mode && router->line(router->ctx, prefix, text, len)) {
		return;
	}
	console_emit_line(prefix, text, len);
}

/** Writes one line of the hypervisor's log, "tessera: TEXT\n". */
void console_write_log(const char *text, size_t len)
{
	const struct console_router *router = console_router;

	if (router != NULL && !console_panic_mode && router->log(router->ctx, text, len)) {
		return;
	}
	console_emit_line("tessera", text, len);
}
