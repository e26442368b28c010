/*
 * A console sink for tests: everything the hypervisor writes to the console
 * (lines of the log and of partitions, the shell's output) collected as text.
 */
#ifndef TESSERA_TESTS_UNIT_SUPPORT_CONSOLE_CAPTURE_H
#define TESSERA_TESTS_UNIT_SUPPORT_CONSOLE_CAPTURE_H

#include <stddef.h>

/** Everything the console received since the last start, NUL-terminated. */
struct console_capture {
	char text[32768];
	size_t length;
	unsigned int writes; /* sink calls: one per line the console wrote */
};

extern struct console_capture captured;

/** Empties the capture and makes it the console's only sink. */
void console_capture_start(void);

/** Removes the capture sink. */
void console_capture_stop(void);

#endif /* TESSERA_TESTS_UNIT_SUPPORT_CONSOLE_CAPTURE_H */
