/*
 * Tessera's log: every message of the hypervisor itself goes through here and
 * reaches the console as one whole line prefixed "tessera: ".
 */
#ifndef TESSERA_HV_LOG_H
#define TESSERA_HV_LOG_H

#include "hv/types.h"

/** Severity of a log line; a line is shown when its level <= the threshold. */
enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/** Sets the threshold above which lines are dropped. */
void log_set_level(enum log_level level);

/** Formats one line (printf subset of hv/format.h) and emits it. */
void log_printf(enum log_level level, const char *fmt, ...) PRINTF_LIKE(2, 3);

#define log_error(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

#endif /* TESSERA_HV_LOG_H */
