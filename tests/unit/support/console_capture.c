/*
 * The tests' console sink (see console_capture.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/console.h"
#include "tests/unit/support/console_capture.h"

struct console_capture captured;

/** Appends what the console wrote. */
static void console_capture_sink(void *ctx, const char *buf, size_t len)
{
	struct console_capture *c = ctx;

	assert_true(len < sizeof(c->text) - c->length);
	memcpy(c->text + c->length, buf, len);
	c->length += len;
	c->text[c->length] = '\0';
	c->writes++;
}

/** Empties the capture and makes it the console's only sink. */
void console_capture_start(void)
{
	memset(&captured, 0, sizeof(captured));
	console_set_sink(CONSOLE_SINK_SERIAL, console_capture_sink, &captured);
	console_set_sink(CONSOLE_SINK_FIRMWARE, NULL, NULL);
}

/** Removes the capture sink. */
void console_capture_stop(void)
{
	console_set_sink(CONSOLE_SINK_SERIAL, NULL, NULL);
}
