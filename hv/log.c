/*
 * The hypervisor's own log lines, "tessera: ..." on the console.
 */
#include <stdarg.h>
#include "hv/log.h"
#include "hv/console.h"
#include "hv/format.h"

static enum log_level log_threshold = LOG_INFO;

/** Sets the threshold above which lines are dropped. */
void log_set_level(enum log_level level)
{
	log_threshold = level;
}

/** Formats one line (printf subset of hv/format.h) and emits it. */
void log_printf(enum log_level level, const char *fmt, ...)
{
	char text[CONSOLE_LINE_MAX];
	va_list ap;
	int n;

	if (level > log_threshold) {
		return;
	}
	va_start(ap, fmt);
	n = format_vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0) {
		return;
	}
	console_write_log(text, MIN((size_t)n, sizeof(text) - 1));
}
