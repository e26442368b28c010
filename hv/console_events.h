/*
 * Holding console events until they can be shown (the queue for hv/operator.c,
 * the chunks and lines for hv/console_streams.c):
 *
 * - an event queue: events raised while the shell is busy with a command
 *   (the command logs, stops a partition, ...) wait here and follow its
 *   reply, in order, so none lands inside a reply or a JSON object;
 * - console chunks: a partition's raw output collected into pieces of up to
 *   CONSOLE_CHUNK_MAX bytes for JSON console events, never cut inside a
 *   UTF-8 character;
 * - console lines: a partition's raw output cut into the lines text mode
 *   shows, by the rules of the partition's UART (hv/vuart.h).
 *
 * Pure data structures: no locking, no output of their own.
 */
#ifndef TESSERA_HV_CONSOLE_EVENTS_H
#define TESSERA_HV_CONSOLE_EVENTS_H

#include "hv/types.h"
#include "hv/vuart.h"

/* Bytes of one console chunk. */
#define CONSOLE_CHUNK_MAX 512
/* Bytes of queued events and their payloads. */
#define CONSOLE_QUEUE_SIZE 8192

/** What an event is. */
enum console_event_kind {
	CONSOLE_EVENT_LOG,    /* a log line */
	CONSOLE_EVENT_LINE,   /* a partition's console line (text mode) */
	CONSOLE_EVENT_CHUNK,  /* a partition's raw console bytes (JSON mode) */
	CONSOLE_EVENT_STATE,  /* a partition's state change; the payload is the stop reason */
};

/** One event; its payload travels beside it. */
struct console_event {
	uint8_t kind;            /* enum console_event_kind */
	uint8_t partition;       /* index of the partition, 0 for log lines */
	uint8_t change;          /* enum partition_change (state events) */
	uint8_t state;           /* the state after the change (state events) */
	uint16_t length;         /* payload bytes */
};

/** Receives one event; @payload has a NUL after its @e->length bytes. */
typedef void (*console_event_fn)(void *ctx, const struct console_event *e, const char *payload);

/** Events waiting, in order, and how many did not fit. */
struct console_queue {
	uint8_t bytes[CONSOLE_QUEUE_SIZE];
	size_t used;
	uint64_t dropped;
};

/** Appends an event (e->length payload bytes); false, and counted, when it does not fit. */
bool console_queue_push(struct console_queue *q, const struct console_event *e, const char *payload);

/**
 * Hands every queued event to @deliver, oldest first, including events
 * pushed by @deliver itself meanwhile; the queue is empty afterwards.
 * Returns how many were dropped since the last drain (and forgets them).
 */
uint64_t console_queue_drain(struct console_queue *q, console_event_fn deliver, void *ctx);

/** A partition's raw output collected for one console event. */
struct console_chunk {
	char bytes[CONSOLE_CHUNK_MAX];
	size_t length;
	bool stale;              /* only an unfinished character was left at the last poll */
};

/** Receives a finished chunk. */
typedef void (*console_chunk_fn)(void *ctx, const char *bytes, size_t length);

/** Adds output; every chunk that fills goes to @emit (an unfinished character stays). */
void console_chunk_add(struct console_chunk *c, const char *bytes, size_t length,
		       console_chunk_fn emit, void *ctx);

/** Sends what was collected; an unfinished UTF-8 character at the end stays unless @all. */
void console_chunk_flush(struct console_chunk *c, bool all, console_chunk_fn emit, void *ctx);

/**
 * The periodic flush: sends what was collected; an unfinished character
 * is kept one poll longer, then sent as it is, since the rest is not coming.
 */
void console_chunk_poll(struct console_chunk *c, console_chunk_fn emit, void *ctx);

/**
 * A byte as it may reach the operator's terminal: C0 controls but tab, DEL
 * and every byte >= 0x80 (which includes the C1 controls, raw or UTF-8
 * encoded, that some terminals obey) become '?', so a guest cannot drive
 * the terminal.
 */
char console_printable(char c);

/**
 * A line of a partition's output being assembled: "\r" is dropped, each
 * byte made printable, and a line is cut at VUART_LINE_MAX bytes (the
 * newline that follows such a line adds no empty one).
 */
struct console_line {
	char text[VUART_LINE_MAX];
	size_t length;
	bool wrapped;   /* the last line was cut at VUART_LINE_MAX */
	bool finished;  /* text holds a whole line, not yet taken */
};

/**
 * Adds bytes up to the end of the next line; returns how many it used.
 * When a line is finished, @l->finished is set and @l->text holds it until
 * the next call, which starts a new line.
 */
size_t console_line_add(struct console_line *l, const char *bytes, size_t length);

/** Finishes a partial line, if there is one (its output stopped); true if so. */
bool console_line_flush(struct console_line *l);

#endif /* TESSERA_HV_CONSOLE_EVENTS_H */
