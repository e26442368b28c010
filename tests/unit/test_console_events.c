/*
 * Host tests of hv/console_events.c: the queue that holds events while the
 * shell is busy, the console chunks that never cut a UTF-8 character, and
 * the console lines cut from a partition's raw output by the UART's rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/console_events.h"

static struct console_queue queue;
static struct console_chunk chunk;

/* What the deliver and emit callbacks saw, as "kind/partition:payload|" items. */
static char seen[16384];
static unsigned int calls;

/** Forgets what was seen; empties the queue and the chunk. */
static int setup(void **state)
{
	memset(&queue, 0, sizeof(queue));
	memset(&chunk, 0, sizeof(chunk));
	seen[0] = '\0';
	calls = 0;
	return 0;
}

/** Appends a formatted item to seen. */
static void note(const char *fmt, ...)
{
	size_t used = strlen(seen);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seen + used, sizeof(seen) - used, fmt, ap);
	va_end(ap);
}

/** A text event of the tests. */
static struct console_event text_event(enum console_event_kind kind, unsigned int partition,
				       const char *text)
{
	return (struct console_event){ .kind = (uint8_t)kind, .partition = (uint8_t)partition,
				       .length = (uint16_t)strlen(text) };
}

/** console_event_fn of the tests: records, checks the NUL after the payload. */
static void record_event(void *ctx, const struct console_event *e, const char *payload)
{
	assert_int_equal(payload[e->length], '\0');
	note("%u/%u:%.*s|", e->kind, e->partition, (int)e->length, payload);
	calls++;
}

/** Events come out in the order they went in, payloads intact. */
static void test_queue_order(void **state)
{
	struct console_event log = text_event(CONSOLE_EVENT_LOG, 0, "partition db stopped");
	struct console_event line = text_event(CONSOLE_EVENT_LINE, 3, "hello");
	struct console_event stop = { .kind = CONSOLE_EVENT_STATE, .partition = 1, .change = 1,
				      .state = 3, .length = 11 };

	assert_true(console_queue_push(&queue, &log, "partition db stopped"));
	assert_true(console_queue_push(&queue, &line, "hello"));
	assert_true(console_queue_push(&queue, &stop, "exit code 0 and more"));
	assert_int_equal(console_queue_drain(&queue, record_event, NULL), 0);
	assert_string_equal(seen, "0/0:partition db stopped|1/3:hello|3/1:exit code 0|");
	assert_int_equal(queue.used, 0);
	seen[0] = '\0';
	console_queue_drain(&queue, record_event, NULL);
	assert_string_equal(seen, "");
}

/** Events pushed while draining are delivered in the same drain, after the others. */
static void push_more(void *ctx, const struct console_event *e, const char *payload)
{
	record_event(ctx, e, payload);
	if (calls == 1) {
		struct console_event more = text_event(CONSOLE_EVENT_LOG, 0, "raised meanwhile");

		console_queue_push(&queue, &more, "raised meanwhile");
	}
}

/** A delivery that raises an event: it comes last, and the queue ends empty. */
static void test_queue_push_while_draining(void **state)
{
	struct console_event a = text_event(CONSOLE_EVENT_LOG, 0, "a");
	struct console_event b = text_event(CONSOLE_EVENT_LOG, 0, "b");

	console_queue_push(&queue, &a, "a");
	console_queue_push(&queue, &b, "b");
	console_queue_drain(&queue, push_more, NULL);
	assert_string_equal(seen, "0/0:a|0/0:b|0/0:raised meanwhile|");
	assert_int_equal(queue.used, 0);
}

/** A full queue counts what it drops; the drain reports and forgets the count. */
static void test_queue_full(void **state)
{
	static char big[1000];
	struct console_event e = { .kind = CONSOLE_EVENT_LOG, .length = sizeof(big) };
	unsigned int fitted = 0;

	memset(big, 'x', sizeof(big));
	while (console_queue_push(&queue, &e, big)) {
		fitted++;
	}
	/* Each takes its header, 1000 bytes and a NUL. */
	assert_int_equal(fitted, CONSOLE_QUEUE_SIZE / (sizeof(e) + sizeof(big) + 1));
	assert_false(console_queue_push(&queue, &e, big));
	assert_int_equal(console_queue_drain(&queue, record_event, NULL), 2);
	assert_int_equal(calls, fitted);
	assert_int_equal(console_queue_drain(&queue, record_event, NULL), 0);
}

/** console_chunk_fn of the tests: records each chunk. */
static void record_chunk(void *ctx, const char *bytes, size_t length)
{
	note("[%.*s]", (int)length, bytes);
	calls++;
}

/** Output collects until a flush; a flush sends it all and empties the chunk. */
static void test_chunk_collects(void **state)
{
	console_chunk_add(&chunk, "log", 3, record_chunk, NULL);
	console_chunk_add(&chunk, "in: ", 4, record_chunk, NULL);
	assert_int_equal(calls, 0);
	console_chunk_flush(&chunk, false, record_chunk, NULL);
	assert_string_equal(seen, "[login: ]");
	assert_int_equal(chunk.length, 0);
	console_chunk_flush(&chunk, false, record_chunk, NULL);
	assert_int_equal(calls, 1);
}

/** A full chunk goes at once, in pieces of exactly CONSOLE_CHUNK_MAX bytes. */
static void test_chunk_full(void **state)
{
	static char output[CONSOLE_CHUNK_MAX * 2 + 10];

	memset(output, 'f', sizeof(output));
	console_chunk_add(&chunk, output, sizeof(output), record_chunk, NULL);
	assert_int_equal(calls, 2);
	assert_int_equal(strlen(seen), 2 * (CONSOLE_CHUNK_MAX + 2));
	assert_int_equal(chunk.length, 10);
}

/** A chunk that fills in the middle of a character ends before it; the character goes next. */
static void test_chunk_never_cuts_a_character(void **state)
{
	static char output[CONSOLE_CHUNK_MAX];

	memset(output, 'a', sizeof(output));
	/* The euro sign, E2 82 AC, starts two bytes before the chunk's end. */
	output[CONSOLE_CHUNK_MAX - 2] = (char)0xe2;
	output[CONSOLE_CHUNK_MAX - 1] = (char)0x82;
	console_chunk_add(&chunk, output, sizeof(output), record_chunk, NULL);
	assert_int_equal(calls, 1);
	assert_int_equal(strlen(seen), CONSOLE_CHUNK_MAX - 2 + 2);
	assert_int_equal(chunk.length, 2);
	console_chunk_add(&chunk, "\xac!", 2, record_chunk, NULL);
	seen[0] = '\0';
	console_chunk_flush(&chunk, false, record_chunk, NULL);
	assert_string_equal(seen, "[\xe2\x82\xac!]");
}

/** A flush keeps an unfinished character unless told to send everything. */
static void test_chunk_flush_all(void **state)
{
	console_chunk_add(&chunk, "ok \xf0\x9f", 5, record_chunk, NULL);
	console_chunk_flush(&chunk, false, record_chunk, NULL);
	assert_string_equal(seen, "[ok ]");
	assert_int_equal(chunk.length, 2);
	console_chunk_flush(&chunk, true, record_chunk, NULL);
	assert_string_equal(seen, "[ok ][\xf0\x9f]");
	assert_int_equal(chunk.length, 0);
}

/** At polls, an unfinished character waits one poll for the rest, then goes anyway. */
static void test_chunk_poll_stale(void **state)
{
	console_chunk_poll(&chunk, record_chunk, NULL); /* nothing: nothing sent */
	assert_int_equal(calls, 0);
	console_chunk_add(&chunk, "x\xc3", 2, record_chunk, NULL);
	console_chunk_poll(&chunk, record_chunk, NULL);
	assert_string_equal(seen, "[x]");
	assert_true(chunk.stale);
	console_chunk_poll(&chunk, record_chunk, NULL);
	assert_string_equal(seen, "[x][\xc3]");
	assert_false(chunk.stale);
	assert_int_equal(chunk.length, 0);
	/* The rest arriving in time makes it whole. */
	console_chunk_add(&chunk, "\xc3", 1, record_chunk, NULL);
	console_chunk_poll(&chunk, record_chunk, NULL);
	console_chunk_add(&chunk, "\xa9", 1, record_chunk, NULL);
	console_chunk_poll(&chunk, record_chunk, NULL);
	assert_string_equal(seen, "[x][\xc3][\xc3\xa9]");
}

/** Feeds @text to a console line; records each finished line as "[line]". */
static void lines_of(struct console_line *l, const char *text, size_t length)
{
	size_t used = 0;

	while (used < length) {
		size_t took = console_line_add(l, text + used, length - used);

		assert_true(took > 0);
		used += took;
		if (l->finished) {
			note("[%.*s]", (int)l->length, l->text);
		}
	}
}

/** One line per newline, CR dropped, empty lines kept, a partial line waits. */
static void test_line_cuts_at_newlines(void **state)
{
	struct console_line l = { .length = 0 };

	lines_of(&l, "one\r\ntwo\n\nthr", 13);
	assert_string_equal(seen, "[one][two][]");
	assert_false(l.finished);
	lines_of(&l, "ee\n", 3);
	assert_string_equal(seen, "[one][two][][three]");
}

/** console_line_add stops at a line's end: the caller takes one line at a time. */
static void test_line_one_at_a_time(void **state)
{
	struct console_line l = { .length = 0 };

	assert_int_equal(console_line_add(&l, "ab\ncd\n", 6), 3);
	assert_true(l.finished);
	assert_int_equal(l.length, 2);
	assert_int_equal(console_line_add(&l, "cd\n", 3), 3);
	assert_true(l.finished);
	assert_memory_equal(l.text, "cd", 2);
}

/** Controls, DEL and bytes >= 0x80 become '?'; tab stays. */
static void test_line_printable(void **state)
{
	struct console_line l = { .length = 0 };

	lines_of(&l, "a\x1b[1m\tb\x7f\xc3\xa9\n", 11);
	assert_string_equal(seen, "[a?[1m\tb???]");
	assert_int_equal(console_printable(' '), ' ');
	assert_int_equal(console_printable('\0'), '?');
}

/** A line is cut at VUART_LINE_MAX; the newline right after adds no empty line. */
static void test_line_wraps(void **state)
{
	struct console_line l = { .length = 0 };
	char text[VUART_LINE_MAX + 3];

	memset(text, 'w', sizeof(text));
	text[VUART_LINE_MAX] = '\n';
	text[VUART_LINE_MAX + 1] = 'x';
	text[VUART_LINE_MAX + 2] = '\n';
	lines_of(&l, text, sizeof(text));
	assert_int_equal(strlen(seen), VUART_LINE_MAX + 2 + 3);
	assert_string_equal(seen + VUART_LINE_MAX + 2, "[x]");
}

/** A flush finishes a partial line once; nothing to flush, nothing finished. */
static void test_line_flush(void **state)
{
	struct console_line l = { .length = 0 };

	assert_false(console_line_flush(&l));
	lines_of(&l, "part", 4);
	assert_string_equal(seen, "");
	assert_true(console_line_flush(&l));
	assert_true(l.finished);
	assert_memory_equal(l.text, "part", 4);
	assert_false(console_line_flush(&l));
	assert_int_equal(console_line_add(&l, "n\n", 2), 2);
	assert_int_equal(l.length, 1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, NULL)

/** Runs the console event tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_queue_order),
		TEST(test_queue_push_while_draining),
		TEST(test_queue_full),
		TEST(test_chunk_collects),
		TEST(test_chunk_full),
		TEST(test_chunk_never_cuts_a_character),
		TEST(test_chunk_flush_all),
		TEST(test_chunk_poll_stale),
		TEST(test_line_cuts_at_newlines),
		TEST(test_line_one_at_a_time),
		TEST(test_line_printable),
		TEST(test_line_wraps),
		TEST(test_line_flush),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
