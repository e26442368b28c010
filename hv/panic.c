/*
 * The end of the line for the hypervisor: report and stop every CPU.
 */
#include <stdarg.h>
#include "hv/panic.h"
#include "hv/check.h"
#include "hv/console.h"
#include "hv/format.h"
#include "arch/x86/cpu.h"

/** Prints "tessera: PANIC: ..." and stops every CPU. */
void panic(const char *fmt, ...)
{
	char text[CONSOLE_LINE_MAX];
	va_list ap;
	int n;

	cpu_cli();
	console_enter_panic_mode();
	va_start(ap, fmt);
	n = format_vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	console_write_line("tessera: PANIC", text, n < 0 ? 0 : MIN((size_t)n, sizeof(text) - 1));
	/* Other CPUs are stopped by an NMI broadcast once they are brought up. */
	cpu_halt_forever();
}

/** A CHECK() that failed: a bug in the hypervisor. */
void check_failed(const char *file, int line, const char *condition)
{
	panic("CHECK failed at %s:%d: %s", file, line, condition);
}
