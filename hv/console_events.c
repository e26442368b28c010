/*
 * The event queue and the console chunks of the operator's console (see
 * console_events.h).
 */
#include "hv/console_events.h"
#include "hv/shell.h"
#include "hv/string.h"

/** Appends an event; false, and counted, when it does not fit. */
bool console_queue_push(struct console_queue *q, const struct console_event *e, const char *payload)
{
	/* A NUL follows the payload: a stop reason is used as a C string. */
	size_t size = sizeof(*e) + e->length + 1;

	if (size > sizeof(q->bytes) - q->used) {
		q->dropped++;
		return false;
	}
	memcpy(q->bytes + q->used, e, sizeof(*e));
	memcpy(q->bytes + q->used + sizeof(*e), payload, e->length);
	q->bytes[q->used + size - 1] = '\0';
	q->used += size;
	return true;
}

/** Hands every queued event to @deliver, oldest first; returns how many were dropped. */
uint64_t console_queue_drain(struct console_queue *q, console_event_fn deliver, void *ctx)
{
	uint64_t dropped;

	/* q->used may grow while delivering: those events are delivered too. */
	for (size_t at = 0; at < q->used;) {
		struct console_event e;

		memcpy(&e, q->bytes + at, sizeof(e));
		deliver(ctx, &e, (const char *)q->bytes + at + sizeof(e));
		at += sizeof(e) + e.length + 1;
	}
	q->used = 0;
	dropped = q->dropped;
	q->dropped = 0;
	return dropped;
}

/** Sends what was collected; an unfinished character at the end stays unless @all. */
void console_chunk_flush(struct console_chunk *c, bool all, console_chunk_fn emit, void *ctx)
{
	size_t whole = all ? c->length : shell_utf8_complete_length(c->bytes, c->length);

	if (whole > 0) {
		emit(ctx, c->bytes, whole);
		memmove(c->bytes, c->bytes + whole, c->length - whole);
		c->length -= whole;
	}
	c->stale = false;
}

/** Adds output; every chunk that fills goes to @emit. */
void console_chunk_add(struct console_chunk *c, const char *bytes, size_t length,
		       console_chunk_fn emit, void *ctx)
{
	while (length > 0) {
		size_t piece = MIN(length, sizeof(c->bytes) - c->length);

		memcpy(c->bytes + c->length, bytes, piece);
		c->length += piece;
		bytes += piece;
		length -= piece;
		if (c->length == sizeof(c->bytes)) {
			console_chunk_flush(c, false, emit, ctx);
		}
	}
}

/** The periodic flush: an unfinished character waits one poll, then goes as it is. */
void console_chunk_poll(struct console_chunk *c, console_chunk_fn emit, void *ctx)
{
	bool was_stale = c->stale;

	if (c->length == 0) {
		return;
	}
	console_chunk_flush(c, was_stale, emit, ctx);
	c->stale = c->length > 0;
}

/** A byte as it may reach the operator's terminal; see console_events.h. */
char console_printable(char c)
{
	unsigned char u = (unsigned char)c;

	return (char)((u < 0x20 && u != '\t') || u >= 0x7f ? '?' : u);
}

/** Adds one byte; returns whether it finished a line. */
static bool console_line_put(struct console_line *l, char c)
{
	if (c == '\n') {
		/* A line cut at VUART_LINE_MAX was finished already: no empty line. */
		bool finish = l->length > 0 || !l->wrapped;

		l->wrapped = false;
		return finish;
	}
	if (c == '\r') {
		return false;
	}
	l->wrapped = false;
	l->text[l->length++] = console_printable(c);
	if (l->length == VUART_LINE_MAX) {
		l->wrapped = true;
		return true;
	}
	return false;
}

/** Adds bytes up to the end of the next line; returns how many it used. */
size_t console_line_add(struct console_line *l, const char *bytes, size_t length)
{
	size_t used = 0;

	if (l->finished) {
		l->finished = false;
		l->length = 0;
	}
	while (used < length && !l->finished) {
		l->finished = console_line_put(l, bytes[used++]);
	}
	return used;
}

/** Finishes a partial line, if there is one. */
bool console_line_flush(struct console_line *l)
{
	if (l->finished || l->length == 0) {
		return false;
	}
	l->finished = true;
	/* As the UART's own flush: the next line starts afresh. */
	l->wrapped = false;
	return true;
}
