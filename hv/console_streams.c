/*
 * The console line's output: Tessera's own and its partitions', scheduled
 * so that neither cuts into the other (hv/operator.c uses it).
 *
 * Tessera's own output (the shell's replies, echo, events) is staged and
 * handed to the UART's urgent queue as whole units, ahead of partitions'
 * output at the next line boundary.
 *
 * Partitions' output is paced by the line (issue #6): each partition's UART
 * tap keeps every transmitted byte in that partition's stream, a ring as
 * large as its console_buffer, and the console reads the streams with a
 * cursor each, round-robin, one line (text mode), chunk (JSON mode) or
 * piece of raw bytes (attached) at a time, only as fast as the UART's bulk
 * queue drains. A partition that writes faster than the line carries loses
 * only what its ring could not keep, and a log line says how much.
 *
 * JSON console events carry the partition's bytes as transmitted, in
 * chunks of up to CONSOLE_CHUNK_MAX bytes, never cut inside a UTF-8
 * character (a character's start waits one poll for its rest). In text
 * mode the lines are cut by the UART's rules (console_line_add()).
 */
#include "hv/console_streams.h"
#include "arch/x86/cpu.h"
#include "hv/alloc.h"
#include "hv/console.h"
#include "hv/console_events.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/ring.h"
#include "hv/sched.h"
#include "hv/string.h"

/*
 * Partition output kept queued for the line: below this, the next unit is
 * fed. About a line: more than the pump hands the UART per poll (a FIFO,
 * 16 bytes), so the line does not idle between polls, and little enough
 * that partitions' lines and Tessera's own go out close to the order in
 * which they were written.
 */
#define CONSOLE_BULK_TARGET 128
/* One unit of output as staged: a JSON event of CONSOLE_CHUNK_MAX bytes each escaped. */
#define CONSOLE_UNIT_MAX ((size_t)4096)
/* Raw bytes taken from a partition's stream at a time. */
#define CONSOLE_READ_MAX 256
/* While a partition keeps outrunning the line, one notice of its dropped bytes per this. */
#define CONSOLE_DROP_NOTICE_MS 1000

/** A partition's output on its way to the console. */
struct console_stream {
	struct byte_ring raw;     /* every byte it transmitted, the newest kept */
	uint64_t cursor;          /* the next byte the console shows */
	struct console_line line; /* text mode: the line being cut */
	uint64_t unreported;      /* bytes dropped, not yet reported */
	uint64_t reported_at;     /* TSC of the last notice of dropped bytes */
	uint64_t stop_position;   /* where its partition stopped (while stopping) */
};

static struct shell *console_shell;          /* formats what the streams show */
static struct uart16550 *console_uart;       /* NULL: output goes to the console's sinks */
static unsigned int console_stream_count;    /* streams that take turns */
static struct console_stream console_streams[PARTITION_MAX];
static unsigned int console_next_stream;     /* round robin: whose turn is next */
/*
 * A bit per stream whose partition stopped before the console showed all it
 * sent: the operator's events wait until the line carried that output.
 */
static uint32_t console_stopping_streams;
static struct console_chunk console_chunks[PARTITION_MAX];
static uint32_t console_chunks_waiting;      /* bit per partition with bytes in its chunk */
static uint64_t console_last_line;           /* TSC of the last line shown in text mode */

/** Output waiting to be handed to the UART as one unit. */
struct console_stage {
	char bytes[CONSOLE_UNIT_MAX];
	size_t length;
};

static struct console_stage console_urgent_stage; /* replies, echo, events */
static struct console_stage console_bulk_stage;   /* one unit of partition output */
static bool console_to_bulk;                       /* the shell writes partition output now */

/* ------------------------------------------------------------------------
 * Staging: output handed to the UART as whole units
 * ------------------------------------------------------------------------ */

/**
 * Hands staged output to the UART: urgent (a part of a unit unless
 * @unit_end) or bulk. Without the console UART (before
 * console_streams_set_uart()) it goes to the console's sinks, still whole.
 */
static void console_stage_out(struct console_stage *stage, size_t length, bool unit_end)
{
	if (length == 0) {
		return;
	}
	if (console_uart == NULL) {
		console_write_raw(stage->bytes, length);
	} else {
		bool queued;

		console_lock_output();
		queued = stage == &console_bulk_stage &&
			 uart16550_queue_bulk(console_uart, stage->bytes, length);
		/* A bulk unit that does not fit (the caller checked the room) is shown anyway. */
		if (!queued) {
			uart16550_write_urgent(console_uart, stage->bytes, length, unit_end);
		}
		uart16550_pump(console_uart);
		console_unlock_output();
	}
	memmove(stage->bytes, stage->bytes + length, stage->length - length);
	stage->length -= length;
}

/** Ends a unit: hands what is staged to the UART. */
static void console_stage_end(struct console_stage *stage)
{
	console_stage_out(stage, stage->length, true);
}

/** Ends the unit of urgent output: what the shell wrote since it was entered. */
void console_streams_urgent_end(void)
{
	console_stage_end(&console_urgent_stage);
}

/**
 * The shell's output: staged and handed over whole (console_stage_end()),
 * so that no bulk byte lands inside a reply or an event line that the shell
 * writes in pieces.
 */
void console_streams_write(void *ctx, const char *buf, size_t len)
{
	struct console_stage *stage = console_to_bulk ? &console_bulk_stage
						      : &console_urgent_stage;

	while (len > 0) {
		size_t piece = MIN(len, sizeof(stage->bytes) - stage->length);

		if (piece == 0) {
			/* A long reply: all but its last byte go now, the unit still open. */
			console_stage_out(stage, stage->length - 1, false);
			continue;
		}
		memcpy(stage->bytes + stage->length, buf, piece);
		stage->length += piece;
		buf += piece;
		len -= piece;
	}
}

/** Starts a unit of partition output: the shell writes to the bulk stage. */
static void console_bulk_begin(void)
{
	console_to_bulk = true;
}

/** Ends a unit of partition output. */
static void console_bulk_end(void)
{
	console_to_bulk = false;
	console_stage_end(&console_bulk_stage);
}

/** Whether the UART's bulk queue wants another unit: it runs low and has room for two. */
static bool console_bulk_wants_more(void)
{
	return console_uart == NULL ||
	       (uart16550_bulk_queued(console_uart) < CONSOLE_BULK_TARGET &&
		uart16550_bulk_room(console_uart) >= 4 * CONSOLE_UNIT_MAX);
}

/** Whether the UART's bulk queue has room for a stream's next units (whatever it holds). */
static bool console_bulk_has_room(void)
{
	return console_uart == NULL || uart16550_bulk_room(console_uart) >= 4 * CONSOLE_UNIT_MAX;
}

/* ------------------------------------------------------------------------
 * Partitions' output: each partition's stream, read as the line drains
 * ------------------------------------------------------------------------ */

/** Starts with no stream; @shell formats what they show. */
void console_streams_init(struct shell *shell, unsigned int partition_count)
{
	console_shell = shell;
	console_stream_count = partition_count;
}

/** Sends output to @uart from now on. */
void console_streams_set_uart(struct uart16550 *uart)
{
	console_uart = uart;
}

/**
 * The UART tap of every partition: its bytes go to its stream, shown as the
 * line drains; an empty call says the partition stops (vuart_flush()).
 */
static void console_stream_tap(void *ctx, const char *bytes, size_t length)
{
	struct partition *p = ctx;
	unsigned int index = (unsigned int)(p - partitions);
	struct console_stream *st = &console_streams[index];

	if (st->raw.buffer == NULL) {
		return;
	}
	if (length == 0) {
		st->stop_position = st->raw.written;
		console_stopping_streams |= (uint32_t)BIT(index);
		return;
	}
	ring_write(&st->raw, bytes, length);
}

/** Taps partition @p's UART into a stream as large as its console_buffer. */
void console_streams_add(struct partition *p)
{
	struct console_stream *st = &console_streams[p - partitions];
	hpa_t buffer;

	partition_set_console_tap(p, console_stream_tap, p);
	if (p->console_log.buffer == NULL) {
		return;
	}
	if (!alloc_pages(p->console_log.size / PAGE_SIZE, 1, OWNER_HV_CONSOLE, &buffer)) {
		log_warn("console: no memory to pace %s's output: only 'log %s' shows it",
			 p->config->name, p->config->name);
		return;
	}
	ring_init(&st->raw, hpa_to_ptr(buffer), p->console_log.size);
	st->cursor = 0;
}

/** Whether some partition has output the console has not shown. */
bool console_streams_pending(void)
{
	for (unsigned int i = 0; i < console_stream_count; i++) {
		const struct console_stream *st = &console_streams[i];

		if (st->raw.buffer != NULL && st->cursor != st->raw.written) {
			return true;
		}
	}
	return false;
}

/** Whether a chunk waits, a stream has unread output or a stopped one is not done. */
bool console_streams_busy(void)
{
	return console_chunks_waiting != 0 || console_streams_pending() ||
	       console_stopping_streams != 0;
}

/** Whether a stopped partition's last output is still on its way. */
bool console_streams_stopping(void)
{
	return console_stopping_streams != 0;
}

/** TSC of the last partition line shown in text mode. */
uint64_t console_streams_shown_at(void)
{
	return console_last_line;
}

/** Stream @index shows its output raw from here on (the shell replays what was kept). */
void console_streams_attach(unsigned int index)
{
	struct console_stream *st = &console_streams[index];

	st->cursor = st->raw.written;
	st->line = (struct console_line){ .length = 0 };
	console_chunks[index].length = 0;
	console_chunks_waiting &= ~(uint32_t)BIT(index);
}

/** console_chunk_fn: a partition's collected bytes become one JSON console event. */
static void console_stream_emit_chunk(void *ctx, const char *bytes, size_t length)
{
	const struct partition *p = ctx;

	console_bulk_begin();
	shell_event_console(console_shell, p->config->name, bytes, length);
	console_bulk_end();
}

/** Shows the finished line of stream @index (text mode). */
static void console_stream_show_line(unsigned int index)
{
	struct console_stream *st = &console_streams[index];

	console_last_line = cpu_rdtsc();
	console_bulk_begin();
	/* A prompt redrawn after this unit was formatted may stand before it: clear it. */
	console_streams_write(NULL, "\r\x1b[K", 4);
	shell_event_console(console_shell, partitions[index].config->name, st->line.text,
			    st->line.length);
	console_bulk_end();
}

/** Shows a partial line or chunk of stream @index (its output stops or has a gap). */
static void console_stream_flush(unsigned int index)
{
	if (console_shell->mode == SHELL_MODE_JSON) {
		console_chunk_flush(&console_chunks[index], true, console_stream_emit_chunk,
				    &partitions[index]);
		console_chunks_waiting &= ~(uint32_t)BIT(index);
	} else if (console_line_flush(&console_streams[index].line) &&
		   !console_shell->attached.active) {
		console_stream_show_line(index);
	}
}

/** The end of what stream @index shows now: where its partition stopped, while stopping. */
static uint64_t console_stream_end(unsigned int index)
{
	const struct console_stream *st = &console_streams[index];

	return (console_stopping_streams & BIT(index)) != 0 ? st->stop_position : st->raw.written;
}

/** Copies up to @max bytes of stream @index from its cursor (up to its end) to @out. */
static size_t console_stream_read(unsigned int index, char *out, size_t max)
{
	const struct console_stream *st = &console_streams[index];
	uint64_t end = console_stream_end(index);

	if (st->cursor >= end) {
		return 0;
	}
	return ring_read_from(&st->raw, st->cursor, out, (size_t)MIN((uint64_t)max, end - st->cursor));
}

/** Tells the operator how many bytes of partition @index's output were not shown. */
static void console_stream_report_dropped(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	char text[CONSOLE_LINE_MAX];
	int n = format_snprintf(text, sizeof(text),
				"%s: %llu bytes of console output dropped (the line could not keep up)",
				partitions[index].config->name,
				(unsigned long long)st->unreported);

	st->unreported = 0;
	st->reported_at = cpu_rdtsc();
	console_bulk_begin();
	shell_event_log(console_shell, text, (size_t)MAX(n, 0));
	console_bulk_end();
}

/**
 * Reports the bytes stream @index dropped: at once after a while without
 * a notice, else once it caught up or a while later (a partition that keeps
 * outrunning the line would otherwise fill the line with notices).
 */
static void console_stream_maybe_report_dropped(unsigned int index)
{
	const struct console_stream *st = &console_streams[index];
	/* TSC ticks per millisecond, never 0 (as the operator counts them). */
	uint64_t quiet = CONSOLE_DROP_NOTICE_MS * tsc_ticks_per_ms();

	if (st->unreported > 0 &&
	    (st->cursor >= console_stream_end(index) || cpu_rdtsc() - st->reported_at >= quiet)) {
		console_stream_report_dropped(index);
	}
}

/**
 * Stream @index's cursor fell behind what its ring keeps: shows what was
 * collected before the gap, says how many bytes were lost, and goes on at
 * the start of the next line (within one read; raw output goes on at once).
 */
static void console_stream_gap(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	uint64_t dropped = ring_oldest(&st->raw) - st->cursor;
	char bytes[CONSOLE_READ_MAX];
	size_t got;

	console_stream_flush(index);
	st->cursor = ring_oldest(&st->raw);
	got = console_stream_read(index, bytes, sizeof(bytes));
	for (size_t i = 0; i < got && !console_shell->attached.active; i++) {
		if (bytes[i] == '\n') {
			st->cursor += i + 1;
			dropped += i + 1;
			break;
		}
	}
	st->line = (struct console_line){ .length = 0 };
	st->unreported += dropped;
}

/** Text mode: cuts stream @index's bytes up to its next line and shows that line. */
static void console_stream_line(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	char bytes[CONSOLE_READ_MAX];
	size_t got = console_stream_read(index, bytes, sizeof(bytes));

	st->cursor += console_line_add(&st->line, bytes, got);
	if (st->line.finished) {
		/* Attached to another partition, it is only counted (shell_event_console()). */
		if (console_shell->attached.active) {
			shell_event_console(console_shell, partitions[index].config->name,
					    st->line.text, st->line.length);
		} else {
			console_stream_show_line(index);
		}
	}
}

/** JSON mode: collects up to a chunk of stream @index's bytes and sends what is whole. */
static void console_stream_chunk(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	struct console_chunk *c = &console_chunks[index];
	char bytes[CONSOLE_CHUNK_MAX];
	size_t got = console_stream_read(index, bytes, sizeof(c->bytes) - c->length);
	size_t end = got;

	/* Up to its last line end, if it has one: a gap after it cuts no line. */
	while (end > 0 && bytes[end - 1] != '\n') {
		end--;
	}
	got = end > 0 ? end : got;
	st->cursor += got;
	console_chunk_add(c, bytes, got, console_stream_emit_chunk, &partitions[index]);
	console_chunk_flush(c, false, console_stream_emit_chunk, &partitions[index]);
	if (c->length > 0) {
		console_chunks_waiting |= (uint32_t)BIT(index);
	}
}

/** Attached: the bytes of stream @index as they are. */
static void console_stream_raw(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	char bytes[CONSOLE_READ_MAX];
	size_t got = console_stream_read(index, bytes, sizeof(bytes));

	st->cursor += got;
	console_bulk_begin();
	shell_attached_output(console_shell, bytes, got);
	console_bulk_end();
}

/**
 * Stream @index reached the point where its partition stopped: what is
 * left of its last line goes out, then (once no other stream is stopping)
 * the events held meanwhile, behind a fence so that the line carries the
 * partition's last output before the news that it stopped.
 */
static void console_stream_release(unsigned int index)
{
	struct console_stream *st = &console_streams[index];

	console_stream_flush(index);
	if (st->unreported > 0) {
		console_stream_report_dropped(index);
	}
	console_stopping_streams &= ~(uint32_t)BIT(index);
	if (console_stopping_streams == 0 && console_uart != NULL) {
		console_lock_output();
		uart16550_fence(console_uart);
		console_unlock_output();
	}
}

/** Stream @index's turn: shows its next unit of output; false if it had none. */
static bool console_stream_turn(unsigned int index)
{
	struct console_stream *st = &console_streams[index];
	bool stopping = (console_stopping_streams & BIT(index)) != 0;

	if (st->raw.buffer == NULL) {
		return false;
	}
	if (st->cursor >= console_stream_end(index)) {
		if (stopping) {
			console_stream_release(index);
		}
		return stopping;
	}
	if (st->cursor < ring_oldest(&st->raw)) {
		console_stream_gap(index);
	} else if (shell_attached_to(console_shell, index)) {
		console_stream_raw(index);
	} else if (console_shell->mode == SHELL_MODE_JSON && !console_shell->attached.active) {
		console_stream_chunk(index);
	} else {
		console_stream_line(index);
	}
	console_stream_maybe_report_dropped(index);
	return true;
}

/** Sends every partition's collected bytes (see console_chunk_poll()). */
static void console_streams_flush_chunks(void)
{
	for (unsigned int i = 0; i < PARTITION_MAX && console_chunks_waiting != 0; i++) {
		if ((console_chunks_waiting & BIT(i)) == 0 || !console_bulk_wants_more()) {
			continue;
		}
		console_chunk_poll(&console_chunks[i], console_stream_emit_chunk, &partitions[i]);
		if (console_chunks[i].length == 0) {
			console_chunks_waiting &= ~(uint32_t)BIT(i);
		}
	}
}

/**
 * Feeds the UART's bulk queue from the streams: first what stopped
 * partitions sent before they stopped (Tessera's events wait for it), as
 * far as there is room; then round-robin, while the queue runs low.
 */
static void console_streams_take_turns(void)
{
	unsigned int count = console_stream_count;

	for (unsigned int i = 0; i < count && console_stopping_streams != 0; i++) {
		while ((console_stopping_streams & BIT(i)) != 0 && console_bulk_has_room()) {
			console_stream_turn(i);
		}
	}
	for (unsigned int idle = 0; idle < count && console_bulk_wants_more();) {
		unsigned int index = console_next_stream;

		console_next_stream = (index + 1) % count;
		idle = console_stream_turn(index) ? 0 : idle + 1;
	}
}

/** Chunks waiting for the rest of a character first, then the streams' next units. */
void console_streams_feed(void)
{
	console_streams_flush_chunks();
	console_streams_take_turns();
}
