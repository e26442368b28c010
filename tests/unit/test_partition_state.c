/*
 * Host tests of hv/partition_state.c: start, pause, resume, stop, the power
 * button and its timeout, the observer of state changes and the console tap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/partition.h"
#include "tests/unit/support/console_capture.h"

#define TSC_HZ 1000000000ULL /* a 1 GHz TSC */

static struct partition part;
static struct partition_config part_config;

/* What the observer saw. */
static enum partition_change changes[16];
static enum partition_state states_seen[16];
static unsigned int change_count;

/** The observer of the tests: remembers each change and the state it left. */
static void record_change(struct partition *p, enum partition_change change)
{
	assert_ptr_equal(p, &part);
	assert_true(change_count < 16);
	states_seen[change_count] = p->state;
	changes[change_count++] = change;
}

/** A built, never started partition "pt" with two vCPUs and no RAM. */
static int setup(void **state)
{
	memset(&part, 0, sizeof(part));
	memset(&part_config, 0, sizeof(part_config));
	snprintf(part_config.name, sizeof(part_config.name), "pt");
	part_config.stop_timeout_s = 10;
	part.config = &part_config;
	part.state = PARTITION_READY;
	part.vcpu_count = 2;
	part.vcpus[0].state = VCPU_STOPPED;
	part.vcpus[1].state = VCPU_STOPPED;
	vuart_init(&part.uart, part_config.name, NULL);
	change_count = 0;
	partition_set_observer(record_change);
	console_capture_start();
	return 0;
}

/** Removes the observer and the console capture. */
static int teardown(void **state)
{
	partition_set_observer(NULL);
	console_capture_stop();
	return 0;
}

/** start: running, vCPUs runnable, the start time taken, observer told. */
static void test_start(void **state)
{
	partition_start(&part);
	assert_int_equal(part.state, PARTITION_RUNNING);
	assert_int_equal(part.vcpus[0].state, VCPU_RUNNABLE);
	assert_int_equal(part.vcpus[1].state, VCPU_RUNNABLE);
	assert_true(part.started_at != 0);
	assert_int_equal(change_count, 1);
	assert_int_equal(changes[0], PARTITION_CHANGE_STARTED);
	assert_int_equal(states_seen[0], PARTITION_RUNNING);
	assert_non_null(strstr(captured.text, "tessera: partition 'pt' started\n"));
}

/** pause and resume change only the partition's state, and only from the right one. */
static void test_pause_resume(void **state)
{
	partition_start(&part);
	part.vcpus[1].state = VCPU_HALTED;
	partition_pause(&part);
	assert_int_equal(part.state, PARTITION_PAUSED);
	assert_int_equal(part.vcpus[0].state, VCPU_RUNNABLE);
	assert_int_equal(part.vcpus[1].state, VCPU_HALTED);
	partition_pause(&part); /* already paused: nothing */
	partition_resume(&part);
	assert_int_equal(part.state, PARTITION_RUNNING);
	assert_int_equal(part.vcpus[1].state, VCPU_HALTED);
	partition_resume(&part); /* not paused: nothing */
	assert_int_equal(change_count, 3);
	assert_int_equal(changes[1], PARTITION_CHANGE_PAUSED);
	assert_int_equal(states_seen[1], PARTITION_PAUSED);
	assert_int_equal(changes[2], PARTITION_CHANGE_RESUMED);
	assert_non_null(strstr(captured.text, "tessera: partition pt paused\n"
					      "tessera: partition pt resumed\n"));
}

/** A ready or stopped partition cannot be paused; a ready one cannot be resumed. */
static void test_pause_needs_running(void **state)
{
	partition_pause(&part);
	assert_int_equal(part.state, PARTITION_READY);
	partition_resume(&part);
	assert_int_equal(part.state, PARTITION_READY);
	assert_int_equal(change_count, 0);
}

/** A paused partition stops like a running one; the observer sees the reason. */
static void test_stop_paused(void **state)
{
	partition_start(&part);
	partition_pause(&part);
	partition_stop(&part, "stopped by the %s", "operator");
	assert_int_equal(part.state, PARTITION_STOPPED);
	assert_int_equal(part.vcpus[0].state, VCPU_STOPPED);
	assert_string_equal(part.stop_reason, "stopped by the operator");
	assert_int_equal(changes[change_count - 1], PARTITION_CHANGE_STOPPED);
	partition_stop(&part, "again");
	assert_int_equal(change_count, 3);
	assert_string_equal(part.stop_reason, "stopped by the operator");
}

/** The power button: recorded once, overdue after stop_timeout seconds exactly. */
static void test_power_button_timeout(void **state)
{
	partition_start(&part);
	partition_request_power_button(&part);
	assert_true(part.shutdown_requested);
	assert_non_null(strstr(captured.text, "tessera: partition pt: power button pressed; "
					      "stopped by force in 10 s unless it stops\n"));
	part.shutdown_requested_at = 5 * TSC_HZ;
	partition_request_power_button(&part); /* pressed again: the clock keeps running */
	assert_int_equal(part.shutdown_requested_at, 5 * TSC_HZ);
	assert_false(partition_stop_overdue(&part, 5 * TSC_HZ, TSC_HZ));
	assert_false(partition_stop_overdue(&part, 15 * TSC_HZ - 1, TSC_HZ));
	assert_true(partition_stop_overdue(&part, 15 * TSC_HZ, TSC_HZ));
	assert_false(partition_stop_overdue(&part, 4 * TSC_HZ, TSC_HZ)); /* TSC went back */
	part_config.stop_timeout_s = 3600;
	assert_false(partition_stop_overdue(&part, 3604 * TSC_HZ, TSC_HZ));
	assert_true(partition_stop_overdue(&part, 3605 * TSC_HZ, TSC_HZ));
}

/** A paused partition stays overdue; a stop or a new start ends the request. */
static void test_power_button_ends(void **state)
{
	partition_start(&part);
	partition_request_power_button(&part);
	part.shutdown_requested_at = 0;
	partition_pause(&part);
	assert_true(partition_stop_overdue(&part, 10 * TSC_HZ, TSC_HZ));
	partition_stop(&part, "exit code 0");
	assert_false(part.shutdown_requested);
	assert_false(partition_stop_overdue(&part, 100 * TSC_HZ, TSC_HZ));
	partition_start(&part);
	assert_false(part.shutdown_requested);
}

/** Only a running partition has a power button to press. */
static void test_power_button_needs_running(void **state)
{
	partition_request_power_button(&part);
	assert_false(part.shutdown_requested);
	partition_start(&part);
	partition_pause(&part);
	partition_request_power_button(&part);
	assert_false(part.shutdown_requested);
}

static char tapped[64];
static size_t tapped_length;

/** A console tap of the tests. */
static void tap(void *ctx, const char *bytes, size_t length)
{
	assert_ptr_equal(ctx, &part);
	memcpy(tapped + tapped_length, bytes, length);
	tapped_length += length;
}

/** The console tap sees every byte the guest transmits, and is kept in the partition. */
static void test_console_tap(void **state)
{
	tapped_length = 0;
	partition_set_console_tap(&part, tap, &part);
	assert_ptr_equal(part.console_tap, tap);
	assert_ptr_equal(part.console_tap_ctx, &part);
	vuart_write(&part.uart, 0, 'h');
	vuart_write(&part.uart, 0, '\r');
	vuart_write(&part.uart, 0, '\n');
	assert_int_equal(tapped_length, 3);
	assert_memory_equal(tapped, "h\r\n", 3);
	partition_set_console_tap(&part, NULL, NULL);
	vuart_write(&part.uart, 0, 'x');
	assert_int_equal(tapped_length, 3);
	assert_null(part.console_tap);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the partition state tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_start),
		TEST(test_pause_resume),
		TEST(test_pause_needs_running),
		TEST(test_stop_paused),
		TEST(test_power_button_timeout),
		TEST(test_power_button_ends),
		TEST(test_power_button_needs_running),
		TEST(test_console_tap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
