/*
 * Host tests of hv/console.c's router: partition lines and log lines go to
 * the router once one is installed, to the sinks when it declines, and panic
 * output always goes straight to the sinks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/console.h"
#include "hv/log.h"
#include "tests/unit/support/console_capture.h"

/** What the router of the tests received, one "kind:prefix:text" line each. */
static char routed[1024];
static bool declining;

/** Router line(): records, takes the line unless declining. */
static bool route_line(void *ctx, const char *prefix, const char *text, size_t len)
{
	size_t used = strlen(routed);

	assert_ptr_equal(ctx, routed);
	snprintf(routed + used, sizeof(routed) - used, "line:%s:%.*s\n", prefix, (int)len, text);
	return !declining;
}

/** Router log(): records, takes the line unless declining. */
static bool route_log(void *ctx, const char *text, size_t len)
{
	size_t used = strlen(routed);

	snprintf(routed + used, sizeof(routed) - used, "log:%.*s\n", (int)len, text);
	return !declining;
}

static const struct console_router router = { route_line, route_log, routed };

/** A fresh capture, no router. */
static int setup(void **state)
{
	routed[0] = '\0';
	declining = false;
	console_set_router(NULL);
	console_capture_start();
	log_set_level(LOG_INFO);
	return 0;
}

/** Removes the router and the capture. */
static int teardown(void **state)
{
	console_set_router(NULL);
	console_capture_stop();
	return 0;
}

/** Without a router, lines reach the sinks with their prefixes. */
static void test_no_router(void **state)
{
	console_write_line("web", "hello", 5);
	log_info("started %s", "web");
	assert_string_equal(captured.text, "web: hello\ntessera: started web\n");
}

/** With a router, partition and log lines go to it, told apart, and not to the sinks. */
static void test_router_takes_lines(void **state)
{
	console_set_router(&router);
	console_write_line("tessera", "a partition named tessera", 25);
	log_info("the log");
	assert_string_equal(routed, "line:tessera:a partition named tessera\nlog:the log\n");
	assert_string_equal(captured.text, "");
	/* The shell's own output is raw and never routed. */
	console_write_raw("tessera> ", 9);
	assert_string_equal(captured.text, "tessera> ");
}

/** A declined line goes to the sinks as without a router. */
static void test_router_declines(void **state)
{
	console_set_router(&router);
	declining = true;
	console_write_line("db", "x", 1);
	log_warn("y");
	assert_string_equal(captured.text, "db: x\ntessera: y\n");
	assert_string_equal(routed, "line:db:x\nlog:y\n");
}

/** Lines the log level drops reach neither. */
static void test_router_below_level(void **state)
{
	console_set_router(&router);
	log_debug("quiet");
	assert_string_equal(routed, "");
	assert_string_equal(captured.text, "");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the console tests (panic mode is one-way, so it is not entered here). */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_no_router),
		TEST(test_router_takes_lines),
		TEST(test_router_declines),
		TEST(test_router_below_level),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
