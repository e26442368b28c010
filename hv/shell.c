/*
 * The operator's shell: line editor, command table, text and JSON replies.
 * See hv/shell.h. Only hv/string.h and hv/format.h are used, so the same
 * code runs in the hypervisor and in the host unit tests.
 */
#include "hv/shell.h"

#include <stdarg.h>

#include "hv/format.h"
#include "hv/string.h"

#ifndef TESSERA_VERSION
#define TESSERA_VERSION "unknown"
#endif

#define SHELL_PROMPT "tessera> "
/* Words of a command line: the command and up to three arguments. */
#define SHELL_ARGS_MAX 4
/* Longest piece of text formatted at once (a table row, an error line). */
#define SHELL_FORMAT_MAX 256
/* Parameter bytes an escape sequence may have before it is dropped as garbage. */
#define SHELL_ESCAPE_PARAMS_MAX 16

#define CTRL_C    0x03
#define BACKSPACE 0x08
#define CTRL_U    0x15
#define ESCAPE    0x1b
#define DELETE    0x7f

/** A JSON object being written: whether a member needs a comma before it. */
struct json_object {
	struct shell *shell;
	bool empty;
};

/** One command line split into words, and its reply object in JSON mode. */
struct shell_request {
	unsigned int argc;
	char *argv[SHELL_ARGS_MAX];
	const char *line;       /* the line as typed, before splitting */
	struct json_object reply;
};

/** The state changes a command may ask the backend for. */
enum shell_action {
	ACTION_START,
	ACTION_STOP,
	ACTION_FORCE_STOP,
	ACTION_RESTART,
	ACTION_RESET,
	ACTION_PAUSE,
	ACTION_RESUME,
};

/** One command of the table: its words, its help line and its handler. */
struct shell_command {
	const char *name;
	const char *usage;      /* arguments, for help and usage errors */
	const char *summary;    /* one line for help */
	unsigned int min_args;  /* words after the command */
	unsigned int max_args;
	bool takes_text;        /* the rest of the line is one argument: more words are fine */
	void (*run)(struct shell *s, struct shell_request *request);
};

static const char *const state_names[] = {
	[SHELL_STATE_READY] = "ready",
	[SHELL_STATE_RUNNING] = "running",
	[SHELL_STATE_PAUSED] = "paused",
	[SHELL_STATE_STOPPED] = "stopped",
};

static const char *const loglevel_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

/* ------------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------------ */

/** Writes len bytes as they are. */
static void out_bytes(struct shell *s, const char *buf, size_t len)
{
	if (len > 0) {
		s->write(s->write_ctx, buf, len);
	}
}

/** Writes a NUL-terminated string as it is. */
static void out_string(struct shell *s, const char *text)
{
	out_bytes(s, text, strlen(text));
}

/** Formats into a bounded buffer and writes it; longer output is cut. */
static void PRINTF_LIKE(2, 3) out_format(struct shell *s, const char *fmt, ...)
{
	char buf[SHELL_FORMAT_MAX];
	va_list ap;

	va_start(ap, fmt);
	int length = format_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (length > 0) {
		out_bytes(s, buf, MIN((size_t)length, sizeof(buf) - 1));
	}
}

/**
 * Writes text for a terminal: bytes a terminal would act on (escape
 * sequences, bells, carriage returns) become '?', so a hostile partition name
 * or console output cannot take over the operator's screen.
 */
static void out_sanitized(struct shell *s, const char *text, size_t len, bool keep_newlines)
{
	char buf[64];
	size_t used = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		bool printable = (c >= 0x20 && c < 0x7f) || (keep_newlines && c == '\n');

		buf[used++] = (char)(printable ? c : '?');
		if (used == sizeof(buf)) {
			out_bytes(s, buf, used);
			used = 0;
		}
	}
	out_bytes(s, buf, used);
}

/** Writes a NUL-terminated string through out_sanitized() without newlines. */
static void out_safe(struct shell *s, const char *text)
{
	out_sanitized(s, text, strlen(text), false);
}

/** Appends "\\uXXXX" for a code point of the Basic Multilingual Plane; returns 6. */
static size_t json_escape_unit(char *buf, uint32_t unit)
{
	static const char hex[] = "0123456789abcdef";

	buf[0] = '\\';
	buf[1] = 'u';
	buf[2] = hex[(unit >> 12) & 0xf];
	buf[3] = hex[(unit >> 8) & 0xf];
	buf[4] = hex[(unit >> 4) & 0xf];
	buf[5] = hex[unit & 0xf];
	return 6;
}

/**
 * Appends the JSON escape of a code point; returns the bytes added (at most
 * 12). Everything outside printable ASCII is escaped, so every line the shell
 * writes is plain ASCII; code points above the BMP become a UTF-16 surrogate
 * pair (RFC 8259, section 7).
 */
static size_t json_escape_code_point(char *buf, uint32_t c)
{
	/* The common line-end and tab bytes get their short, readable escapes. */
	const char *short_escape = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : NULL;

	if (short_escape != NULL) {
		buf[0] = short_escape[0];
		buf[1] = short_escape[1];
		return 2;
	}
	if (c == '"' || c == '\\') {
		buf[0] = '\\';
		buf[1] = (char)c;
		return 2;
	}
	if (c >= 0x20 && c < DELETE) {
		buf[0] = (char)c;
		return 1;
	}
	if (c < 0x10000) {
		return json_escape_unit(buf, c);
	}
	c -= 0x10000;
	json_escape_unit(buf, 0xd800 + (c >> 10));
	return 6 + json_escape_unit(buf + 6, 0xdc00 + (c & 0x3ff));
}

/** Bytes a UTF-8 sequence starting with @lead has, or 0 if @lead cannot start one. */
static size_t utf8_sequence_length(unsigned char lead)
{
	if (lead < 0x80) {
		return 1;
	}
	if (lead >= 0xc2 && lead <= 0xdf) {
		return 2;
	}
	if (lead >= 0xe0 && lead <= 0xef) {
		return 3;
	}
	if (lead >= 0xf0 && lead <= 0xf4) {
		return 4;
	}
	return 0; /* a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF */
}

/**
 * Decodes the UTF-8 sequence at text[0 .. length): returns its length and sets
 * *code_point, or returns 0 when it is not well-formed (RFC 3629, section 4:
 * no overlong forms, no surrogates, nothing above U+10FFFF).
 */
static size_t utf8_decode(const unsigned char *text, size_t length, uint32_t *code_point)
{
	static const uint32_t smallest[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t needed = utf8_sequence_length(text[0]);
	uint32_t value;

	if (needed == 0 || needed > length) {
		return 0;
	}
	value = needed == 1 ? text[0] : text[0] & (0x7f >> needed);
	for (size_t i = 1; i < needed; i++) {
		if ((text[i] & 0xc0) != 0x80) {
			return 0;
		}
		value = (value << 6) | (text[i] & 0x3f);
	}
	if (value < smallest[needed] || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
		return 0;
	}
	*code_point = value;
	return needed;
}

/** See hv/shell.h. */
size_t shell_utf8_complete_length(const char *text, size_t length)
{
	/* The last byte that is not a continuation byte starts the last sequence. */
	for (size_t back = 1; back <= 3 && back <= length; back++) {
		unsigned char c = (unsigned char)text[length - back];

		if ((c & 0xc0) != 0x80) {
			return utf8_sequence_length(c) > back ? length - back : length;
		}
	}
	return length;
}

/**
 * Writes the inside of a JSON string (no quotes) for len bytes of text.
 * Well-formed UTF-8 becomes its code points; a byte that is not part of one
 * becomes U+FFFD, the replacement character.
 */
static void out_json_chars(struct shell *s, const char *text, size_t len)
{
	const unsigned char *bytes = (const unsigned char *)text;
	char buf[96];
	size_t used = 0;

	for (size_t i = 0; i < len;) {
		uint32_t code_point = 0xfffd;
		size_t taken = utf8_decode(bytes + i, len - i, &code_point);

		if (used + 12 > sizeof(buf)) {
			out_bytes(s, buf, used);
			used = 0;
		}
		used += json_escape_code_point(buf + used, code_point);
		i += taken > 0 ? taken : 1;
	}
	out_bytes(s, buf, used);
}

/** Writes a quoted JSON string of len bytes. */
static void out_json_string(struct shell *s, const char *text, size_t len)
{
	out_bytes(s, "\"", 1);
	out_json_chars(s, text, len);
	out_bytes(s, "\"", 1);
}

/* ------------------------------------------------------------------------
 * JSON objects
 * ------------------------------------------------------------------------ */

/** Starts an object. */
static void json_open(struct json_object *object, struct shell *s)
{
	object->shell = s;
	object->empty = true;
	out_bytes(s, "{", 1);
}

/** Ends an object. */
static void json_close(struct json_object *object)
{
	out_bytes(object->shell, "}", 1);
}

/** Writes a member's key (and the comma before it when needed). */
static void json_key(struct json_object *object, const char *key)
{
	if (!object->empty) {
		out_bytes(object->shell, ",", 1);
	}
	object->empty = false;
	out_json_string(object->shell, key, strlen(key));
	out_bytes(object->shell, ":", 1);
}

/** Adds a string member. */
static void json_string(struct json_object *object, const char *key, const char *value)
{
	json_key(object, key);
	out_json_string(object->shell, value, strlen(value));
}

/** Adds a number member. */
static void json_number(struct json_object *object, const char *key, uint64_t value)
{
	json_key(object, key);
	out_format(object->shell, "%llu", (unsigned long long)value);
}

/**
 * Adds a 64-bit address as a "0x..." string: JSON readers commonly hold
 * numbers as doubles, which cannot represent every 64-bit address.
 */
static void json_address(struct json_object *object, const char *key, uint64_t value)
{
	json_key(object, key);
	out_format(object->shell, "\"0x%llx\"", (unsigned long long)value);
}

/** Starts an array member; elements are separated with json_array_next(). */
static void json_array_open(struct json_object *object, const char *key)
{
	json_key(object, key);
	out_bytes(object->shell, "[", 1);
}

/** Writes the comma before every element but the first. */
static void json_array_next(struct shell *s, unsigned int element)
{
	if (element > 0) {
		out_bytes(s, ",", 1);
	}
}

/** Ends an array member. */
static void json_array_close(struct json_object *object)
{
	out_bytes(object->shell, "]", 1);
}

/* ------------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------------ */

/** Opens the reply object of a request: sequence number, status and command. */
static void json_reply_open(struct shell *s, struct shell_request *request, const char *status)
{
	json_open(&request->reply, s);
	json_number(&request->reply, "seq", s->sequence);
	json_string(&request->reply, "status", status);
	json_string(&request->reply, "reply", request->argv[0]);
}

/** Starts a successful reply; in text mode there is nothing to start. */
static void reply_begin(struct shell *s, struct shell_request *request)
{
	if (s->mode == SHELL_MODE_JSON) {
		json_reply_open(s, request, "ok");
	}
}

/** Ends a successful reply; in JSON mode it is one line. */
static void reply_end(struct shell *s, struct shell_request *request)
{
	if (s->mode == SHELL_MODE_JSON) {
		json_close(&request->reply);
		out_bytes(s, "\n", 1);
	}
}

/** Answers a request with one error line: "error: MESSAGE" or a JSON error. */
static void PRINTF_LIKE(3, 4) reply_error(struct shell *s, struct shell_request *request,
					  const char *fmt, ...)
{
	char message[SHELL_FORMAT_MAX];
	va_list ap;

	va_start(ap, fmt);
	format_vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	if (s->mode == SHELL_MODE_JSON) {
		json_reply_open(s, request, "error");
		json_string(&request->reply, "error", message);
		json_close(&request->reply);
		out_bytes(s, "\n", 1);
		return;
	}
	out_string(s, "error: ");
	out_safe(s, message);
	out_bytes(s, "\n", 1);
}

/** Answers that the backend does not offer what the command needs. */
static void reply_unavailable(struct shell *s, struct shell_request *request)
{
	reply_error(s, request, "%s: not available in this build", request->argv[0]);
}

/* ------------------------------------------------------------------------
 * Partitions and numbers
 * ------------------------------------------------------------------------ */

/** Name of a partition state, for text and JSON alike. */
static const char *state_name(enum shell_partition_state state)
{
	if ((unsigned int)state < ARRAY_SIZE(state_names) && state_names[state] != NULL) {
		return state_names[state];
	}
	return "unknown";
}

/** Fills *info for partition index; false if the backend has no such entry. */
static bool partition_at(struct shell *s, unsigned int index, struct shell_partition_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!s->backend->partition_info(s->backend_ctx, index, info)) {
		return false;
	}
	/* The backend's strings are used as C strings: make sure they end. */
	info->name[sizeof(info->name) - 1] = '\0';
	info->stop_reason[sizeof(info->stop_reason) - 1] = '\0';
	return true;
}

/** True when the backend can list partitions at all. */
static bool partitions_available(const struct shell *s)
{
	return s->backend->partition_count != NULL && s->backend->partition_info != NULL;
}

/**
 * Finds the partition called name and fills *info; answers the request with
 * an error and returns false when it cannot.
 */
static bool find_partition(struct shell *s, struct shell_request *request, const char *name,
			   unsigned int *index, struct shell_partition_info *info)
{
	if (!partitions_available(s)) {
		reply_unavailable(s, request);
		return false;
	}
	unsigned int count = s->backend->partition_count(s->backend_ctx);

	for (unsigned int i = 0; i < count; i++) {
		if (partition_at(s, i, info) && strcmp(info->name, name) == 0) {
			*index = i;
			return true;
		}
	}
	reply_error(s, request, "%s: no partition named '%s'", request->argv[0], name);
	return false;
}

/** Parses a decimal number without sign or overflow; false if it is not one. */
static bool parse_number(const char *text, uint64_t *value)
{
	uint64_t result = 0;

	if (*text == '\0') {
		return false;
	}
	for (const char *c = text; *c != '\0'; c++) {
		if (*c < '0' || *c > '9') {
			return false;
		}
		uint64_t digit = (uint64_t)(*c - '0');

		if (result > (UINT64_MAX - digit) / 10) {
			return false;
		}
		result = result * 10 + digit;
	}
	*value = result;
	return true;
}

/** Parses a decimal or "0x" hexadecimal number without overflow; false if it is not one. */
static bool parse_address(const char *text, uint64_t *value)
{
	uint64_t result = 0;
	const char *c = text;

	if (c[0] != '0' || (c[1] != 'x' && c[1] != 'X')) {
		return parse_number(text, value);
	}
	c += 2;
	if (*c == '\0') {
		return false;
	}
	for (; *c != '\0'; c++) {
		char lower = (char)(*c | 0x20);
		uint64_t digit;

		if (*c >= '0' && *c <= '9') {
			digit = (uint64_t)(*c - '0');
		} else if (lower >= 'a' && lower <= 'f') {
			digit = (uint64_t)(lower - 'a') + 10;
		} else {
			return false;
		}
		if (result > (UINT64_MAX >> 4)) {
			return false;
		}
		result = (result << 4) | digit;
	}
	*value = result;
	return true;
}

/** "s" unless count is 1, for "1 line" and "3 lines". */
static const char *plural(uint64_t count)
{
	return count == 1 ? "" : "s";
}

/** Writes milliseconds as seconds with three decimals, e.g. "12.345s". */
static void format_uptime(char *buf, size_t size, uint64_t ms)
{
	format_snprintf(buf, size, "%llu.%03llus", (unsigned long long)(ms / 1000),
			(unsigned long long)(ms % 1000));
}

/** Adds every field of a partition to a JSON object ("list" and "info"). */
static void json_partition_fields(struct json_object *object, const struct shell_partition_info *info)
{
	json_string(object, "name", info->name);
	json_string(object, "state", state_name(info->state));
	json_number(object, "vcpus", info->vcpus);
	json_number(object, "memory_bytes", info->memory_bytes);
	json_number(object, "uptime_ms", info->uptime_ms);
	json_number(object, "exits", info->exits);
	json_number(object, "restarts", info->restarts);
	json_string(object, "stop_reason", info->stop_reason);
}

/* ------------------------------------------------------------------------
 * Commands: partitions
 * ------------------------------------------------------------------------ */

/** Writes one row of the "list" table. */
static void list_text_row(struct shell *s, const struct shell_partition_info *info)
{
	char memory[FORMAT_BYTES_MAX];
	char uptime[32];
	char name[SHELL_NAME_MAX];

	format_uptime(uptime, sizeof(uptime), info->uptime_ms);
	/* Pad a sanitized copy so that the columns stay aligned. */
	strlcpy(name, info->name, sizeof(name));
	for (char *c = name; *c != '\0'; c++) {
		if (*c < 0x20 || *c >= 0x7f) {
			*c = '?';
		}
	}
	out_format(s, "%-16s %-8s %5u %10s %12s %12llu %8u  ", name, state_name(info->state),
		   info->vcpus, format_bytes(memory, info->memory_bytes), uptime,
		   (unsigned long long)info->exits, info->restarts);
	out_safe(s, info->stop_reason[0] != '\0' ? info->stop_reason : "-");
	out_bytes(s, "\n", 1);
}

/** "list": every partition with its state and counters. */
static void cmd_list(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;

	if (!partitions_available(s)) {
		reply_unavailable(s, request);
		return;
	}
	unsigned int count = s->backend->partition_count(s->backend_ctx);

	reply_begin(s, request);
	if (s->mode == SHELL_MODE_TEXT) {
		out_format(s, "%-16s %-8s %5s %10s %12s %12s %8s  %s\n", "NAME", "STATE", "VCPUS",
			   "MEMORY", "UPTIME", "EXITS", "RESTARTS", "LAST STOP");
	} else {
		json_array_open(&request->reply, "partitions");
	}
	unsigned int listed = 0;

	for (unsigned int i = 0; i < count; i++) {
		if (!partition_at(s, i, &info)) {
			continue;
		}
		if (s->mode == SHELL_MODE_TEXT) {
			list_text_row(s, &info);
		} else {
			struct json_object element;

			json_array_next(s, listed);
			json_open(&element, s);
			json_partition_fields(&element, &info);
			json_close(&element);
		}
		listed++;
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
	reply_end(s, request);
}

/** Writes one "label: value" line of "info". */
static void info_line(struct shell *s, const char *label, const char *value)
{
	out_format(s, "%-10s ", label);
	out_safe(s, value);
	out_bytes(s, "\n", 1);
}

/** "info NAME": one partition, one field per line. */
static void cmd_info(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	unsigned int index;
	char number[FORMAT_BYTES_MAX];

	if (!find_partition(s, request, request->argv[1], &index, &info)) {
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_partition_fields(&request->reply, &info);
		json_number(&request->reply, "console_buffer_bytes", info.console_buffer_bytes);
		json_number(&request->reply, "stop_timeout_s", info.stop_timeout_s);
		json_key(&request->reply, "stop_requested");
		out_string(s, info.stop_requested ? "true" : "false");
		reply_end(s, request);
		return;
	}
	info_line(s, "name:", info.name);
	info_line(s, "state:", state_name(info.state));
	format_snprintf(number, sizeof(number), "%u", info.vcpus);
	info_line(s, "vcpus:", number);
	info_line(s, "memory:", format_bytes(number, info.memory_bytes));
	format_uptime(number, sizeof(number), info.uptime_ms);
	info_line(s, "uptime:", number);
	format_snprintf(number, sizeof(number), "%llu", (unsigned long long)info.exits);
	info_line(s, "exits:", number);
	format_snprintf(number, sizeof(number), "%u", info.restarts);
	info_line(s, "restarts:", number);
	info_line(s, "last stop:", info.stop_reason[0] != '\0' ? info.stop_reason : "-");
	format_bytes(number, info.console_buffer_bytes);
	info_line(s, "console:", number);
	format_snprintf(number, sizeof(number), "%u s%s", info.stop_timeout_s,
			info.stop_requested ? " (power button pressed)" : "");
	info_line(s, "stop:", number);
}

/** The backend operation behind an action; NULL when not wired up. */
static shell_action_fn action_function(const struct shell_backend *backend, enum shell_action action)
{
	switch (action) {
	case ACTION_START:
		return backend->start;
	case ACTION_STOP:
		return backend->stop;
	case ACTION_FORCE_STOP:
		return backend->force_stop;
	case ACTION_RESTART:
		return backend->restart;
	case ACTION_RESET:
		return backend->reset;
	case ACTION_PAUSE:
		return backend->pause;
	case ACTION_RESUME:
		return backend->resume;
	}
	return NULL;
}

/** Whether an action applies to a partition in the given state. */
static bool action_allowed(enum shell_action action, enum shell_partition_state state)
{
	switch (action) {
	case ACTION_START:
		return state == SHELL_STATE_READY || state == SHELL_STATE_STOPPED;
	case ACTION_STOP:
	case ACTION_FORCE_STOP:
		return state == SHELL_STATE_RUNNING || state == SHELL_STATE_PAUSED;
	case ACTION_RESTART:
	case ACTION_RESET:
		return state != SHELL_STATE_READY;
	case ACTION_PAUSE:
		return state == SHELL_STATE_RUNNING;
	case ACTION_RESUME:
		return state == SHELL_STATE_PAUSED;
	}
	return false;
}

/** What a done action reports in text mode, e.g. "web: started". */
static const char *action_done_word(enum shell_action action)
{
	static const char *const words[] = {
		[ACTION_START] = "started",
		[ACTION_STOP] = "power button pressed",
		[ACTION_FORCE_STOP] = "stopped (forced)",
		[ACTION_RESTART] = "restarted",
		[ACTION_RESET] = "reset",
		[ACTION_PAUSE] = "paused",
		[ACTION_RESUME] = "resumed",
	};

	return words[action];
}

/** Writes the reply of a done action; an orderly stop says when it will be forced. */
static void action_reply(struct shell *s, struct shell_request *request, enum shell_action action,
			 const struct shell_partition_info *info)
{
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info->name);
		if (action == ACTION_STOP) {
			json_number(&request->reply, "stop_timeout_s", info->stop_timeout_s);
		}
	} else {
		out_safe(s, info->name);
		out_format(s, ": %s", action_done_word(action));
		if (action == ACTION_STOP) {
			out_format(s, " (stopped by force after %u s unless it stops; stop -f: now)",
				   info->stop_timeout_s);
		}
		out_bytes(s, "\n", 1);
	}
	reply_end(s, request);
}

/** Runs one state change on the partition number index, checking its state first. */
static void perform_action(struct shell *s, struct shell_request *request, enum shell_action action,
			   unsigned int index, const struct shell_partition_info *info)
{
	shell_action_fn function = action_function(s->backend, action);
	char error[SHELL_ERROR_MAX] = "";

	if (function == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!action_allowed(action, info->state)) {
		reply_error(s, request, "%s: %s is %s", request->argv[0], info->name,
			    state_name(info->state));
		return;
	}
	if (!function(s->backend_ctx, index, error, sizeof(error))) {
		error[sizeof(error) - 1] = '\0';
		reply_error(s, request, "%s: %s: %s", request->argv[0], info->name,
			    error[0] != '\0' ? error : "refused");
		return;
	}
	action_reply(s, request, action, info);
}

/** Runs one state change on the partition called name, checking state first. */
static void run_action(struct shell *s, struct shell_request *request, enum shell_action action,
		       const char *name)
{
	struct shell_partition_info info;
	unsigned int index;

	if (action_function(s->backend, action) == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (find_partition(s, request, name, &index, &info)) {
		perform_action(s, request, action, index, &info);
	}
}

/** "start NAME". */
static void cmd_start(struct shell *s, struct shell_request *request)
{
	run_action(s, request, ACTION_START, request->argv[1]);
}

/**
 * "stop NAME" presses the power button of a running partition; a paused one
 * cannot see it and is stopped at once, as is any with "stop -f NAME".
 */
static void cmd_stop(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	unsigned int index;

	if (request->argc == 3) {
		if (strcmp(request->argv[1], "-f") != 0) {
			reply_error(s, request, "stop: unknown option '%s' (usage: stop [-f] NAME)",
				    request->argv[1]);
			return;
		}
		run_action(s, request, ACTION_FORCE_STOP, request->argv[2]);
		return;
	}
	if (s->backend->stop == NULL || s->backend->force_stop == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!find_partition(s, request, request->argv[1], &index, &info)) {
		return;
	}
	perform_action(s, request, info.state == SHELL_STATE_PAUSED ? ACTION_FORCE_STOP : ACTION_STOP,
		       index, &info);
}

/** "reset NAME": as restart, for an operator who thinks of the reset button. */
static void cmd_reset(struct shell *s, struct shell_request *request)
{
	run_action(s, request, ACTION_RESET, request->argv[1]);
}

/** "restart NAME". */
static void cmd_restart(struct shell *s, struct shell_request *request)
{
	run_action(s, request, ACTION_RESTART, request->argv[1]);
}

/** "pause NAME". */
static void cmd_pause(struct shell *s, struct shell_request *request)
{
	run_action(s, request, ACTION_PAUSE, request->argv[1]);
}

/** "resume NAME". */
static void cmd_resume(struct shell *s, struct shell_request *request)
{
	run_action(s, request, ACTION_RESUME, request->argv[1]);
}

/**
 * Writes kept console bytes [offset, offset + size) of a partition, in the
 * current mode; in text mode says so when there are none (unless @quiet).
 */
static uint64_t log_copy_out(struct shell *s, unsigned int index, size_t offset, size_t size,
			     bool quiet)
{
	char chunk[128];
	uint64_t copied = 0;
	bool ends_with_newline = true;

	while (copied < size) {
		size_t want = MIN(sizeof(chunk), size - (size_t)copied);
		size_t got = s->backend->log_read(s->backend_ctx, index, offset + (size_t)copied,
						  chunk, want);

		if (got == 0 || got > want) {
			break;
		}
		if (s->mode == SHELL_MODE_JSON) {
			/* A character cut at the chunk's end is read again whole with the next. */
			size_t whole = shell_utf8_complete_length(chunk, got);

			got = whole > 0 && copied + got < size ? whole : got;
			out_json_chars(s, chunk, got);
		} else {
			out_sanitized(s, chunk, got, true);
		}
		ends_with_newline = chunk[got - 1] == '\n';
		copied += got;
	}
	if (s->mode == SHELL_MODE_TEXT && copied == 0 && !quiet) {
		out_string(s, "(no console output kept)\n");
	}
	/* The next prompt must start on a line of its own. */
	if (s->mode == SHELL_MODE_TEXT && !ends_with_newline) {
		out_bytes(s, "\n", 1);
	}
	return copied;
}

/** "log NAME [BYTES]": replays the newest kept console output of a partition. */
static void cmd_log(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	unsigned int index;
	uint64_t wanted = UINT64_MAX;

	if (s->backend->log_length == NULL || s->backend->log_read == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (request->argc == 3 && !parse_number(request->argv[2], &wanted)) {
		reply_error(s, request, "log: bad number '%s'", request->argv[2]);
		return;
	}
	if (!find_partition(s, request, request->argv[1], &index, &info)) {
		return;
	}
	size_t kept = s->backend->log_length(s->backend_ctx, index);
	size_t size = (size_t)MIN((uint64_t)kept, wanted);

	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info.name);
		json_key(&request->reply, "data");
		out_bytes(s, "\"", 1);
		log_copy_out(s, index, kept - size, size, false);
		out_bytes(s, "\"", 1);
	} else {
		log_copy_out(s, index, kept - size, size, false);
	}
	reply_end(s, request);
}

/* ------------------------------------------------------------------------
 * Commands: exits
 * ------------------------------------------------------------------------ */

/**
 * Sums exit counts per reason over one partition (name != NULL) or all;
 * answers with an error and returns false when it cannot.
 */
static bool collect_exit_counts(struct shell *s, struct shell_request *request, const char *name,
				uint64_t counts[EXIT_REASON_COUNT])
{
	struct shell_partition_info info;
	unsigned int index;

	memset(counts, 0, sizeof(uint64_t) * EXIT_REASON_COUNT);
	if (s->backend->exit_counts == NULL || !partitions_available(s)) {
		reply_unavailable(s, request);
		return false;
	}
	if (name != NULL) {
		if (!find_partition(s, request, name, &index, &info)) {
			return false;
		}
		s->backend->exit_counts(s->backend_ctx, index, counts);
		return true;
	}
	unsigned int count = s->backend->partition_count(s->backend_ctx);

	for (unsigned int i = 0; i < count; i++) {
		s->backend->exit_counts(s->backend_ctx, i, counts);
	}
	return true;
}

/** Writes the non-zero exit counts, by reason, in the current mode. */
static void stats_reasons_out(struct shell *s, struct shell_request *request,
			      const uint64_t counts[EXIT_REASON_COUNT])
{
	unsigned int listed = 0;

	if (s->mode == SHELL_MODE_JSON) {
		json_array_open(&request->reply, "exits");
	}
	for (uint32_t reason = 0; reason < EXIT_REASON_COUNT; reason++) {
		if (counts[reason] == 0) {
			continue;
		}
		if (s->mode == SHELL_MODE_TEXT) {
			out_format(s, "  %-28s %3u %12llu\n", exit_reason_name(reason), reason,
				   (unsigned long long)counts[reason]);
			continue;
		}
		struct json_object element;

		json_array_next(s, listed++);
		json_open(&element, s);
		json_string(&element, "reason", exit_reason_name(reason));
		json_number(&element, "number", reason);
		json_number(&element, "count", counts[reason]);
		json_close(&element);
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
}

/** Writes the console line's receive errors, when the backend knows them. */
static void stats_line_errors_out(struct shell *s, struct shell_request *request)
{
	struct shell_line_errors errors;

	memset(&errors, 0, sizeof(errors));
	if (s->backend->line_errors == NULL || !s->backend->line_errors(s->backend_ctx, &errors)) {
		return;
	}
	if (s->mode == SHELL_MODE_TEXT) {
		out_format(s, "console line: %llu overruns, %llu framing errors, %llu parity errors, "
			   "%llu breaks\n", (unsigned long long)errors.overruns,
			   (unsigned long long)errors.framing_errors,
			   (unsigned long long)errors.parity_errors, (unsigned long long)errors.breaks);
		return;
	}
	struct json_object object;

	json_key(&request->reply, "console_line");
	json_open(&object, s);
	json_number(&object, "overruns", errors.overruns);
	json_number(&object, "framing_errors", errors.framing_errors);
	json_number(&object, "parity_errors", errors.parity_errors);
	json_number(&object, "breaks", errors.breaks);
	json_close(&object);
}

/** "stats [NAME]": exits by reason, of one partition or of all together. */
static void cmd_stats(struct shell *s, struct shell_request *request)
{
	uint64_t counts[EXIT_REASON_COUNT];
	const char *name = request->argc == 2 ? request->argv[1] : NULL;
	uint64_t total = 0;

	if (!collect_exit_counts(s, request, name, counts)) {
		return;
	}
	for (unsigned int reason = 0; reason < EXIT_REASON_COUNT; reason++) {
		total += counts[reason];
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		if (name != NULL) {
			json_string(&request->reply, "partition", name);
		}
		json_number(&request->reply, "total", total);
	} else {
		out_string(s, "exits of ");
		out_safe(s, name != NULL ? name : "all partitions");
		out_format(s, ": %llu\n", (unsigned long long)total);
	}
	stats_reasons_out(s, request, counts);
	if (name == NULL) {
		stats_line_errors_out(s, request);
	}
	reply_end(s, request);
}

/** Writes one remembered exit in the current mode. */
static void trace_record_out(struct shell *s, const struct shell_exit_record *record,
			     unsigned int element)
{
	uint32_t basic = exit_reason_basic(record->reason);

	if (s->mode == SHELL_MODE_TEXT) {
		out_format(s, "%4u  %-28s 0x%016llx 0x%016llx 0x%016llx\n", record->vcpu,
			   exit_reason_name(basic), (unsigned long long)record->guest_rip,
			   (unsigned long long)record->qualification, (unsigned long long)record->gpa);
		return;
	}
	struct json_object object;

	json_array_next(s, element);
	json_open(&object, s);
	json_number(&object, "vcpu", record->vcpu);
	json_string(&object, "reason", exit_reason_name(basic));
	json_address(&object, "exit_reason", record->reason);
	json_address(&object, "rip", record->guest_rip);
	json_address(&object, "qualification", record->qualification);
	json_address(&object, "gpa", record->gpa);
	json_close(&object);
}

/** "trace NAME": the last exits the partition's vCPUs remember. */
static void cmd_trace(struct shell *s, struct shell_request *request)
{
	struct shell_exit_record records[SHELL_TRACE_MAX];
	struct shell_partition_info info;
	unsigned int index;

	if (s->backend->recent_exits == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!find_partition(s, request, request->argv[1], &index, &info)) {
		return;
	}
	unsigned int count = s->backend->recent_exits(s->backend_ctx, index, records,
						      SHELL_TRACE_MAX);

	if (count > SHELL_TRACE_MAX) {
		count = SHELL_TRACE_MAX;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info.name);
		json_array_open(&request->reply, "exits");
	} else {
		out_format(s, "%4s  %-28s %-18s %-18s %s\n", "VCPU", "REASON", "RIP",
			   "QUALIFICATION", "GPA");
	}
	for (unsigned int i = 0; i < count; i++) {
		trace_record_out(s, &records[i], i);
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
	reply_end(s, request);
}

/* ------------------------------------------------------------------------
 * Commands: the hypervisor
 * ------------------------------------------------------------------------ */

/** "help": every command with its one line. */
static void cmd_help(struct shell *s, struct shell_request *request);

/** "version". */
static void cmd_version(struct shell *s, struct shell_request *request)
{
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "version", TESSERA_VERSION);
	} else {
		out_string(s, "Tessera " TESSERA_VERSION "\n");
	}
	reply_end(s, request);
}

/** "audit": runs the isolation audit and reports what it saw. */
static void cmd_audit(struct shell *s, struct shell_request *request)
{
	struct shell_audit_result result;

	if (s->backend->audit == NULL) {
		reply_unavailable(s, request);
		return;
	}
	memset(&result, 0, sizeof(result));
	s->backend->audit(s->backend_ctx, &result);
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_number(&request->reply, "partitions", result.partitions);
		json_number(&request->reply, "leaves", result.leaves);
		json_number(&request->reply, "mapped_bytes", result.mapped_bytes);
		json_number(&request->reply, "problems", result.problems);
	} else {
		char mapped[FORMAT_BYTES_MAX];

		out_format(s, "audit: %u partitions, %llu EPT leaves, %s mapped, %u problems%s\n",
			   result.partitions, (unsigned long long)result.leaves,
			   format_bytes(mapped, result.mapped_bytes), result.problems,
			   result.problems > 0 ? " (see the log)" : "");
	}
	reply_end(s, request);
}

/** Writes one memory map entry in the current mode. */
static void memmap_entry_out(struct shell *s, const struct shell_memmap_entry *entry,
			     unsigned int element)
{
	if (s->mode == SHELL_MODE_TEXT) {
		char size[FORMAT_BYTES_MAX];

		out_format(s, "0x%016llx-0x%016llx %10s  ", (unsigned long long)entry->start,
			   (unsigned long long)(entry->start + entry->size - 1),
			   format_bytes(size, entry->size));
		out_safe(s, entry->owner);
		out_bytes(s, "\n", 1);
		return;
	}
	struct json_object object;

	json_array_next(s, element);
	json_open(&object, s);
	json_address(&object, "start", entry->start);
	json_number(&object, "size", entry->size);
	json_string(&object, "owner", entry->owner);
	json_close(&object);
}

/** "memmap": host memory and who owns each range. */
static void cmd_memmap(struct shell *s, struct shell_request *request)
{
	struct shell_memmap_entry entry;

	if (s->backend->memmap_entry == NULL) {
		reply_unavailable(s, request);
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_array_open(&request->reply, "ranges");
	}
	for (unsigned int i = 0;; i++) {
		memset(&entry, 0, sizeof(entry));
		if (!s->backend->memmap_entry(s->backend_ctx, i, &entry)) {
			break;
		}
		entry.owner[sizeof(entry.owner) - 1] = '\0';
		memmap_entry_out(s, &entry, i);
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
	reply_end(s, request);
}

/**
 * Writes one configuration setting in the current mode. Text is written as
 * the file would be, a "[section]" line before the first key of each.
 */
static void config_entry_out(struct shell *s, const struct shell_config_entry *entry,
			     const char *previous_section, unsigned int element)
{
	if (s->mode == SHELL_MODE_TEXT) {
		if (element == 0 || strcmp(entry->section, previous_section) != 0) {
			out_bytes(s, "[", 1);
			out_safe(s, entry->section);
			out_string(s, "]\n");
		}
		out_safe(s, entry->key);
		out_string(s, " = ");
		out_safe(s, entry->value);
		out_bytes(s, "\n", 1);
		return;
	}
	struct json_object object;

	json_array_next(s, element);
	json_open(&object, s);
	json_string(&object, "section", entry->section);
	json_string(&object, "key", entry->key);
	json_string(&object, "value", entry->value);
	json_close(&object);
}

/** "config": the configuration in effect. */
static void cmd_config(struct shell *s, struct shell_request *request)
{
	struct shell_config_entry entry;
	char previous_section[sizeof(entry.section)] = "";

	if (s->backend->config_entry == NULL) {
		reply_unavailable(s, request);
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_array_open(&request->reply, "settings");
	}
	for (unsigned int i = 0;; i++) {
		memset(&entry, 0, sizeof(entry));
		if (!s->backend->config_entry(s->backend_ctx, i, &entry)) {
			break;
		}
		entry.section[sizeof(entry.section) - 1] = '\0';
		entry.key[sizeof(entry.key) - 1] = '\0';
		entry.value[sizeof(entry.value) - 1] = '\0';
		config_entry_out(s, &entry, previous_section, i);
		strlcpy(previous_section, entry.section, sizeof(previous_section));
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
	reply_end(s, request);
}

/** Finds a log level by name; false if there is none. */
static bool parse_loglevel(const char *name, enum log_level *level)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(loglevel_names); i++) {
		if (strcmp(name, loglevel_names[i]) == 0) {
			*level = (enum log_level)i;
			return true;
		}
	}
	return false;
}

/** "loglevel [LEVEL]": shows or sets the log threshold. */
static void cmd_loglevel(struct shell *s, struct shell_request *request)
{
	enum log_level level = LOG_INFO;

	if (request->argc == 2) {
		if (s->backend->set_loglevel == NULL) {
			reply_unavailable(s, request);
			return;
		}
		if (!parse_loglevel(request->argv[1], &level)) {
			reply_error(s, request, "loglevel: unknown level '%s' (error, warn, info, debug)",
				    request->argv[1]);
			return;
		}
		s->backend->set_loglevel(s->backend_ctx, level);
	} else if (s->backend->get_loglevel == NULL) {
		reply_unavailable(s, request);
		return;
	} else {
		level = s->backend->get_loglevel(s->backend_ctx);
	}
	const char *name = (unsigned int)level < ARRAY_SIZE(loglevel_names) ? loglevel_names[level] :
									      "unknown";

	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "level", name);
	} else {
		out_format(s, "loglevel: %s\n", name);
	}
	reply_end(s, request);
}

/** "mode json|text": how replies are written from now on. */
static void cmd_mode(struct shell *s, struct shell_request *request)
{
	if (strcmp(request->argv[1], "json") == 0) {
		s->mode = SHELL_MODE_JSON;
	} else if (strcmp(request->argv[1], "text") == 0) {
		s->mode = SHELL_MODE_TEXT;
	} else {
		reply_error(s, request, "mode: unknown mode '%s' (json or text)", request->argv[1]);
		return;
	}
	/* The reply is already in the new mode: a program sees JSON from here on. */
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "mode", "json");
	} else {
		out_string(s, "mode: text\n");
	}
	reply_end(s, request);
}

/* ------------------------------------------------------------------------
 * Commands: a partition's console, registers and memory
 * ------------------------------------------------------------------------ */

/* Most kept output "console NAME" replays before attaching ("log" shows all). */
#define SHELL_ATTACH_REPLAY_MAX 8192

/**
 * Whether the partition can take typed bytes (running or paused: a paused
 * one finds them in its UART when it runs again); answers with an error
 * naming its state otherwise.
 */
static bool accepts_input(struct shell *s, struct shell_request *request,
			  const struct shell_partition_info *info)
{
	if (info->state == SHELL_STATE_RUNNING || info->state == SHELL_STATE_PAUSED) {
		return true;
	}
	if (info->state == SHELL_STATE_STOPPED && info->stop_reason[0] != '\0') {
		reply_error(s, request, "%s: %s is stopped (%s); start it first", request->argv[0],
			    info->name, info->stop_reason);
	} else {
		reply_error(s, request, "%s: %s is %s; start it first", request->argv[0], info->name,
			    state_name(info->state));
	}
	return false;
}

/** Ends an attachment: one summary line, the log lines held meanwhile, the prompt. */
static void shell_detach(struct shell *s, const char *stop_reason)
{
	struct shell_attachment *a = &s->attached;

	a->active = false;
	s->backend->detach(s->backend_ctx, a->index);
	/* The partition's output may have left the cursor in the middle of a line. */
	out_string(s, "\r\ntessera: detached from ");
	out_safe(s, a->name);
	if (stop_reason != NULL) {
		out_string(s, ": it stopped (");
		out_safe(s, stop_reason);
		out_string(s, ")");
	}
	if (a->other_lines > 0) {
		out_format(s, "; %llu line%s from other partitions kept in their logs",
			   (unsigned long long)a->other_lines, plural(a->other_lines));
	}
	if (a->refused_bytes > 0) {
		out_format(s, "; %llu typed byte%s refused (its receive FIFO was full)",
			   (unsigned long long)a->refused_bytes, plural(a->refused_bytes));
	}
	out_bytes(s, "\n", 1);
	for (size_t start = 0; start < a->held_length;) {
		size_t end = start;

		while (a->held[end] != '\n') {
			end++;
		}
		out_string(s, "tessera: ");
		out_sanitized(s, a->held + start, end - start, false);
		out_bytes(s, "\n", 1);
		start = end + 1;
	}
	if (a->held_dropped > 0) {
		out_format(s, "tessera: (%llu more log line%s while attached did not fit and are lost)\n",
			   (unsigned long long)a->held_dropped, plural(a->held_dropped));
	}
	memset(a, 0, sizeof(*a));
	shell_prompt(s);
}

/** "console NAME": replays its kept output, then attaches the terminal to it. */
static void cmd_console(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	char error[SHELL_ERROR_MAX] = "";
	unsigned int index;

	if (s->mode == SHELL_MODE_JSON) {
		reply_error(s, request, "console: not in JSON mode (type with send NAME TEXT; "
			    "output arrives as console events)");
		return;
	}
	if (s->backend->attach == NULL || s->backend->detach == NULL ||
	    s->backend->console_input == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!find_partition(s, request, request->argv[1], &index, &info) ||
	    !accepts_input(s, request, &info)) {
		return;
	}
	if (!s->backend->attach(s->backend_ctx, index, error, sizeof(error))) {
		error[sizeof(error) - 1] = '\0';
		reply_error(s, request, "console: %s: %s", info.name, error[0] != '\0' ? error : "refused");
		return;
	}
	if (s->backend->log_length != NULL && s->backend->log_read != NULL) {
		size_t kept = s->backend->log_length(s->backend_ctx, index);
		bool cut = kept > SHELL_ATTACH_REPLAY_MAX;
		size_t size = cut ? SHELL_ATTACH_REPLAY_MAX : kept;

		if (cut) {
			out_format(s, "tessera: the newest %zu of %zu bytes kept (log ", size, kept);
			out_safe(s, info.name);
			out_string(s, " shows all):\n");
		}
		log_copy_out(s, index, kept - size, size, true);
	}
	memset(&s->attached, 0, sizeof(s->attached));
	s->attached.active = true;
	s->attached.index = index;
	strlcpy(s->attached.name, info.name, sizeof(s->attached.name));
	out_string(s, "tessera: attached to ");
	out_safe(s, info.name);
	out_string(s, "; Ctrl-] detaches\n");
}

/** Value of a hex digit, or -1. */
static int hex_digit(char c)
{
	char lower = (char)(c | 0x20);

	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	return lower >= 'a' && lower <= 'f' ? lower - 'a' + 10 : -1;
}

/**
 * Decodes the escapes of "send" text (\n \r \t \e \\ \xNN) into out, which
 * has room for strlen(text) bytes; returns the length, or -1 with the bad
 * escape's position in *bad.
 */
static long decode_send_text(const char *text, char *out, size_t *bad)
{
	size_t used = 0;

	for (size_t i = 0; text[i] != '\0'; i++) {
		if (text[i] != '\\') {
			out[used++] = text[i];
			continue;
		}
		*bad = i;
		switch (text[++i]) {
		case 'n': out[used++] = '\n'; break;
		case 'r': out[used++] = '\r'; break;
		case 't': out[used++] = '\t'; break;
		case 'e': out[used++] = 0x1b; break;
		case '\\': out[used++] = '\\'; break;
		case 'x':
			if (hex_digit(text[i + 1]) < 0 || hex_digit(text[i + 2]) < 0) {
				return -1;
			}
			out[used++] = (char)(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
			i += 2;
			break;
		default:
			return -1;
		}
	}
	return (long)used;
}

/** Where the TEXT of "send [-n] NAME TEXT" starts in the typed line. */
static const char *send_text_start(const char *line, unsigned int words_before)
{
	const char *c = line;

	for (unsigned int word = 0; word < words_before; word++) {
		while (*c == ' ') {
			c++;
		}
		while (*c != ' ' && *c != '\0') {
			c++;
		}
	}
	/* One space separates NAME from TEXT; any further ones are part of it. */
	return *c == ' ' ? c + 1 : c;
}

/** "send [-n] NAME TEXT": types TEXT and a newline (-n: none) into a partition's UART. */
static void cmd_send(struct shell *s, struct shell_request *request)
{
	char bytes[SHELL_LINE_MAX + 1];
	struct shell_partition_info info;
	bool newline = strcmp(request->argv[1], "-n") != 0;
	const char *name = newline ? request->argv[1] : request->argv[2];
	unsigned int index;
	size_t bad = 0;

	if (s->backend->console_input == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (name == NULL || (!newline && request->argc < 3)) {
		reply_error(s, request, "send: wrong number of arguments (usage: send [-n] NAME TEXT)");
		return;
	}
	long length = decode_send_text(send_text_start(request->line, newline ? 2 : 3), bytes, &bad);

	if (length < 0) {
		reply_error(s, request, "send: bad escape at character %zu of the text "
			    "(\\n \\r \\t \\e \\\\ \\xNN)", bad + 1);
		return;
	}
	if (newline) {
		bytes[length++] = '\n';
	}
	if (!find_partition(s, request, name, &index, &info) || !accepts_input(s, request, &info)) {
		return;
	}
	size_t took = s->backend->console_input(s->backend_ctx, index, bytes, (size_t)length);

	if (took < (size_t)length) {
		reply_error(s, request, "send: %s took %zu of %ld bytes (its receive FIFO is full; "
			    "send the rest later)", info.name, took, length);
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info.name);
		json_number(&request->reply, "bytes", (uint64_t)length);
	} else {
		out_safe(s, info.name);
		out_format(s, ": sent %ld byte%s\n", length, plural((uint64_t)length));
	}
	reply_end(s, request);
}

/**
 * Finds a partition whose vCPUs and RAM hold still for inspection: any state
 * but running (pause it first); answers with an error otherwise.
 */
static bool find_still_partition(struct shell *s, struct shell_request *request, unsigned int *index,
				 struct shell_partition_info *info)
{
	if (!find_partition(s, request, request->argv[1], index, info)) {
		return false;
	}
	if (info->state == SHELL_STATE_RUNNING) {
		reply_error(s, request, "%s: %s is running (pause it first)", request->argv[0],
			    info->name);
		return false;
	}
	return true;
}

/** One register of "regs": its name and where struct shell_registers keeps it. */
struct register_field {
	const char *name;
	size_t offset;
	bool selector;     /* 16 bits */
};

#define REG64(r) { #r, offsetof(struct shell_registers, r), false }
#define REG16(r) { #r, offsetof(struct shell_registers, r), true }

static const struct register_field register_fields[] = {
	REG64(rax), REG64(rbx), REG64(rcx), REG64(rdx), REG64(rsi), REG64(rdi),
	REG64(rbp), REG64(rsp), REG64(r8), REG64(r9), REG64(r10), REG64(r11),
	REG64(r12), REG64(r13), REG64(r14), REG64(r15), REG64(rip), REG64(rflags),
	REG64(cr0), REG64(cr2), REG64(cr3), REG64(cr4), REG64(efer),
	REG16(cs), REG16(ds), REG16(es), REG16(fs), REG16(gs), REG16(ss), REG16(tr), REG16(ldtr),
};

/** The value of one register field. */
static uint64_t register_value(const struct shell_registers *regs, const struct register_field *f)
{
	const uint8_t *at = (const uint8_t *)regs + f->offset;
	uint64_t value64;
	uint16_t value16;

	if (f->selector) {
		memcpy(&value16, at, sizeof(value16));
		return value16;
	}
	memcpy(&value64, at, sizeof(value64));
	return value64;
}

/** Writes the registers: three 64-bit ones or four selectors per text line. */
static void registers_out(struct shell *s, struct shell_request *request,
			  const struct shell_registers *regs)
{
	struct json_object object = { s, true };
	unsigned int column = 0;

	if (s->mode == SHELL_MODE_JSON) {
		json_key(&request->reply, "registers");
		json_open(&object, s);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(register_fields); i++) {
		const struct register_field *f = &register_fields[i];
		uint64_t value = register_value(regs, f);
		bool new_group = i > 0 && f->selector && !register_fields[i - 1].selector;

		if (s->mode == SHELL_MODE_JSON) {
			json_address(&object, f->name, value);
			continue;
		}
		if (new_group && column > 0) {
			out_bytes(s, "\n", 1);
			column = 0;
		}
		out_format(s, f->selector ? "%s%-4s 0x%04llx" : "%s%-6s 0x%016llx",
			   column > 0 ? "  " : "", f->name, (unsigned long long)value);
		column++;
		if (column == (f->selector ? 4U : 3U)) {
			out_bytes(s, "\n", 1);
			column = 0;
		}
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_close(&object);
	} else if (column > 0) {
		out_bytes(s, "\n", 1);
	}
}

/** "regs NAME [VCPU]": the registers of a vCPU of a partition that is not running. */
static void cmd_regs(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	struct shell_registers regs;
	char error[SHELL_ERROR_MAX] = "";
	uint64_t vcpu = 0;
	unsigned int index;

	if (s->backend->registers == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (request->argc == 3 && !parse_number(request->argv[2], &vcpu)) {
		reply_error(s, request, "regs: bad number '%s'", request->argv[2]);
		return;
	}
	if (!find_still_partition(s, request, &index, &info)) {
		return;
	}
	if (vcpu >= info.vcpus) {
		reply_error(s, request, "regs: %s has no vCPU %llu (it has %u)", info.name,
			    (unsigned long long)vcpu, info.vcpus);
		return;
	}
	memset(&regs, 0, sizeof(regs));
	if (!s->backend->registers(s->backend_ctx, index, (unsigned int)vcpu, &regs, error,
				   sizeof(error))) {
		error[sizeof(error) - 1] = '\0';
		reply_error(s, request, "regs: %s: %s", info.name, error[0] != '\0' ? error : "refused");
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info.name);
		json_number(&request->reply, "vcpu", vcpu);
	} else {
		out_safe(s, info.name);
		out_format(s, " vCPU %llu (%s):\n", (unsigned long long)vcpu, state_name(info.state));
	}
	registers_out(s, request, &regs);
	reply_end(s, request);
}

/** Writes one hex dump line of up to 16 bytes: address, hex, printable text. */
static void mem_text_line(struct shell *s, uint64_t gpa, const uint8_t *bytes, size_t count)
{
	char text[17];

	out_format(s, "%08llx ", (unsigned long long)gpa);
	for (size_t i = 0; i < 16; i++) {
		if (i < count) {
			out_format(s, "%s %02x", i == 8 ? " " : "", bytes[i]);
		} else {
			out_string(s, i == 8 ? "    " : "   ");
		}
		text[i] = (char)(i < count && bytes[i] >= 0x20 && bytes[i] < 0x7f ? bytes[i] : '.');
	}
	text[MIN(count, (size_t)16)] = '\0';
	out_format(s, "  |%s|\n", text);
}

/** Writes guest RAM already checked readable, as hex lines or one hex string. */
static void mem_out(struct shell *s, unsigned int index, uint64_t gpa, uint64_t length)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t chunk[256];
	char error[SHELL_ERROR_MAX];

	for (uint64_t done = 0; done < length;) {
		size_t count = (size_t)MIN(length - done, (uint64_t)sizeof(chunk));

		if (!s->backend->read_memory(s->backend_ctx, index, gpa + done, chunk, count, error,
					     sizeof(error))) {
			memset(chunk, 0, sizeof(chunk)); /* cannot happen: read a moment ago */
		}
		for (size_t i = 0; i < count; i += 16) {
			if (s->mode == SHELL_MODE_TEXT) {
				mem_text_line(s, gpa + done + i, chunk + i, MIN(count - i, (size_t)16));
				continue;
			}
			for (size_t j = i; j < MIN(count, i + 16); j++) {
				char pair[2] = { hex[chunk[j] >> 4], hex[chunk[j] & 0xf] };

				out_bytes(s, pair, 2);
			}
		}
		done += count;
	}
}

/** Reads the whole range once to find a byte that is not RAM before replying. */
static bool mem_readable(struct shell *s, unsigned int index, uint64_t gpa, uint64_t length,
			 char *error, size_t error_size)
{
	uint8_t chunk[256];

	for (uint64_t done = 0; done < length;) {
		size_t count = (size_t)MIN(length - done, (uint64_t)sizeof(chunk));

		if (!s->backend->read_memory(s->backend_ctx, index, gpa + done, chunk, count, error,
					     error_size)) {
			return false;
		}
		done += count;
	}
	return true;
}

/** "mem NAME GPA LEN": a hex dump of guest RAM of a partition that is not running. */
static void cmd_mem(struct shell *s, struct shell_request *request)
{
	struct shell_partition_info info;
	char error[SHELL_ERROR_MAX] = "";
	uint64_t gpa;
	uint64_t length;
	unsigned int index;

	if (s->backend->read_memory == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!parse_address(request->argv[2], &gpa)) {
		reply_error(s, request, "mem: bad address '%s'", request->argv[2]);
		return;
	}
	if (!parse_address(request->argv[3], &length) || length == 0 || length > SHELL_MEM_MAX ||
	    gpa + length < gpa) {
		reply_error(s, request, "mem: bad length '%s' (1 to %u bytes)", request->argv[3],
			    SHELL_MEM_MAX);
		return;
	}
	if (!find_still_partition(s, request, &index, &info)) {
		return;
	}
	if (!mem_readable(s, index, gpa, length, error, sizeof(error))) {
		error[sizeof(error) - 1] = '\0';
		reply_error(s, request, "mem: %s: %s", info.name, error[0] != '\0' ? error : "refused");
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "partition", info.name);
		json_address(&request->reply, "gpa", gpa);
		json_number(&request->reply, "length", length);
		json_key(&request->reply, "data");
		out_bytes(s, "\"", 1);
	}
	mem_out(s, index, gpa, length);
	if (s->mode == SHELL_MODE_JSON) {
		out_bytes(s, "\"", 1);
	}
	reply_end(s, request);
}

/* ------------------------------------------------------------------------
 * Commands: the machine
 * ------------------------------------------------------------------------ */

/** Name of a CPU state, for text and JSON alike. */
static const char *cpu_state_name(enum shell_cpu_state state)
{
	switch (state) {
	case SHELL_CPU_RUNNING:
		return "running";
	case SHELL_CPU_IDLE:
		return "idle";
	default:
		return "not started";
	}
}

/** Writes one CPU in the current mode. */
static void cpu_out(struct shell *s, const struct shell_cpu_info *cpu, unsigned int element)
{
	if (s->mode == SHELL_MODE_TEXT) {
		out_format(s, "%3u %8u  %s", cpu->index, cpu->apic_id, cpu_state_name(cpu->state));
		if (cpu->state == SHELL_CPU_RUNNING) {
			out_format(s, ": vCPU %u of ", cpu->vcpu);
			out_safe(s, cpu->partition);
		}
		out_bytes(s, "\n", 1);
		return;
	}
	struct json_object object;

	json_array_next(s, element);
	json_open(&object, s);
	json_number(&object, "index", cpu->index);
	json_number(&object, "apic_id", cpu->apic_id);
	json_string(&object, "state", cpu_state_name(cpu->state));
	if (cpu->state == SHELL_CPU_RUNNING) {
		json_string(&object, "partition", cpu->partition);
		json_number(&object, "vcpu", cpu->vcpu);
	}
	json_close(&object);
}

/** "cpus": every physical CPU and what it does. */
static void cmd_cpus(struct shell *s, struct shell_request *request)
{
	static const char note[] = "only the boot CPU runs vCPUs in this version";
	struct shell_cpu_info cpu;

	if (s->backend->cpu_info == NULL) {
		reply_unavailable(s, request);
		return;
	}
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "note", note);
		json_array_open(&request->reply, "cpus");
	} else {
		out_format(s, "%3s %8s  %s\n", "CPU", "APIC ID", "STATE");
	}
	for (unsigned int i = 0;; i++) {
		memset(&cpu, 0, sizeof(cpu));
		if (!s->backend->cpu_info(s->backend_ctx, i, &cpu)) {
			break;
		}
		cpu.partition[sizeof(cpu.partition) - 1] = '\0';
		cpu_out(s, &cpu, i);
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	} else {
		out_format(s, "(%s)\n", note);
	}
	reply_end(s, request);
}

/**
 * Whether a machine command is confirmed: by -y, or by the same command a
 * second time within SHELL_CONFIRM_MS. The first time it only says so.
 */
static bool machine_confirmed(struct shell *s, struct shell_request *request)
{
	const char *name = request->argv[0];
	uint64_t now = s->backend->now_ms != NULL ? s->backend->now_ms(s->backend_ctx) : 0;

	if (request->argc == 2) {
		return true; /* -y, checked by the caller */
	}
	if (strcmp(s->confirm_command, name) == 0 && now <= s->confirm_deadline_ms) {
		return true;
	}
	strlcpy(s->confirm_command, name, sizeof(s->confirm_command));
	s->confirm_deadline_ms = s->backend->now_ms != NULL ? now + SHELL_CONFIRM_MS : UINT64_MAX;
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "confirm", "send it again within 10 s, or with -y");
	} else {
		out_format(s, "%s: this ends every partition; type %s again within %u s to confirm "
			   "(or %s -y)\n", name, name, SHELL_CONFIRM_MS / 1000, name);
	}
	reply_end(s, request);
	return false;
}

/** "reboot [-y]" and "poweroff [-y]": the whole machine, once confirmed. */
static void run_machine_command(struct shell *s, struct shell_request *request, shell_machine_fn fn,
				const char *doing)
{
	char error[SHELL_ERROR_MAX] = "";

	if (request->argc == 2 && strcmp(request->argv[1], "-y") != 0) {
		reply_error(s, request, "%s: unknown option '%s' (usage: %s [-y])", request->argv[0],
			    request->argv[1], request->argv[0]);
		return;
	}
	if (fn == NULL) {
		reply_unavailable(s, request);
		return;
	}
	if (!fn(s->backend_ctx, false, error, sizeof(error))) {
		error[sizeof(error) - 1] = '\0';
		reply_error(s, request, "%s: %s", request->argv[0], error[0] != '\0' ? error : "refused");
		return;
	}
	if (!machine_confirmed(s, request)) {
		return;
	}
	s->confirm_command[0] = '\0';
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&request->reply, "machine", doing);
	} else {
		out_format(s, "%s: %s now\n", request->argv[0], doing);
	}
	reply_end(s, request);
	/* Returns only when it could not be done. */
	fn(s->backend_ctx, true, error, sizeof(error));
	error[sizeof(error) - 1] = '\0';
	reply_error(s, request, "%s: %s", request->argv[0], error[0] != '\0' ? error : "it failed");
}

/** "reboot [-y]". */
static void cmd_reboot(struct shell *s, struct shell_request *request)
{
	run_machine_command(s, request, s->backend->reboot, "rebooting");
}

/** "poweroff [-y]". */
static void cmd_poweroff(struct shell *s, struct shell_request *request)
{
	run_machine_command(s, request, s->backend->poweroff, "powering off");
}

static const struct shell_command commands[] = {
	{ .name = "help", .usage = "", .summary = "list the commands", .run = cmd_help },
	{ .name = "version", .usage = "", .summary = "show the hypervisor version",
	  .run = cmd_version },
	{ .name = "list", .usage = "",
	  .summary = "list partitions: state, vCPUs, memory, uptime, exits, restarts, last stop",
	  .run = cmd_list },
	{ .name = "info", .usage = "NAME", .summary = "show one partition", .min_args = 1,
	  .max_args = 1, .run = cmd_info },
	{ .name = "start", .usage = "NAME", .summary = "start a ready or stopped partition",
	  .min_args = 1, .max_args = 1, .run = cmd_start },
	{ .name = "stop", .usage = "[-f] NAME",
	  .summary = "press its power button, forced after its stop_timeout (-f: at once)",
	  .min_args = 1, .max_args = 2, .run = cmd_stop },
	{ .name = "restart", .usage = "NAME", .summary = "boot a partition again from its image",
	  .min_args = 1, .max_args = 1, .run = cmd_restart },
	{ .name = "reset", .usage = "NAME", .summary = "hardware reset: as restart",
	  .min_args = 1, .max_args = 1, .run = cmd_reset },
	{ .name = "pause", .usage = "NAME", .summary = "stop scheduling a running partition",
	  .min_args = 1, .max_args = 1, .run = cmd_pause },
	{ .name = "resume", .usage = "NAME", .summary = "schedule a paused partition again",
	  .min_args = 1, .max_args = 1, .run = cmd_resume },
	{ .name = "console", .usage = "NAME",
	  .summary = "attach to a partition's console (Ctrl-] detaches)", .min_args = 1,
	  .max_args = 1, .run = cmd_console },
	{ .name = "send", .usage = "[-n] NAME TEXT",
	  .summary = "type TEXT and Enter into its console (-n: no Enter; \\n \\r \\xNN)",
	  .min_args = 1, .max_args = 3, .takes_text = true, .run = cmd_send },
	{ .name = "log", .usage = "NAME [BYTES]", .summary = "replay a partition's console output",
	  .min_args = 1, .max_args = 2, .run = cmd_log },
	{ .name = "stats", .usage = "[NAME]", .summary = "VM exits by reason; console line errors",
	  .max_args = 1, .run = cmd_stats },
	{ .name = "trace", .usage = "NAME", .summary = "the last VM exits of a partition",
	  .min_args = 1, .max_args = 1, .run = cmd_trace },
	{ .name = "regs", .usage = "NAME [VCPU]", .summary = "registers of a vCPU (not running)",
	  .min_args = 1, .max_args = 2, .run = cmd_regs },
	{ .name = "mem", .usage = "NAME GPA LEN", .summary = "hex dump of guest RAM (not running)",
	  .min_args = 3, .max_args = 3, .run = cmd_mem },
	{ .name = "audit", .usage = "", .summary = "check that every partition reaches only its RAM",
	  .run = cmd_audit },
	{ .name = "memmap", .usage = "", .summary = "host memory and its owners", .run = cmd_memmap },
	{ .name = "config", .usage = "", .summary = "the configuration in effect", .run = cmd_config },
	{ .name = "cpus", .usage = "", .summary = "the physical CPUs and what they run",
	  .run = cmd_cpus },
	{ .name = "loglevel", .usage = "[LEVEL]", .summary = "show or set the log level",
	  .max_args = 1, .run = cmd_loglevel },
	{ .name = "mode", .usage = "json|text", .summary = "replies as JSON lines or as text",
	  .min_args = 1, .max_args = 1, .run = cmd_mode },
	{ .name = "reboot", .usage = "[-y]", .summary = "reset the whole machine (asks to confirm)",
	  .max_args = 1, .run = cmd_reboot },
	{ .name = "poweroff", .usage = "[-y]", .summary = "power the machine off (asks to confirm)",
	  .max_args = 1, .run = cmd_poweroff },
};

/** "help": every command with its one line. */
static void cmd_help(struct shell *s, struct shell_request *request)
{
	reply_begin(s, request);
	if (s->mode == SHELL_MODE_JSON) {
		json_array_open(&request->reply, "commands");
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct shell_command *command = &commands[i];

		if (s->mode == SHELL_MODE_TEXT) {
			out_format(s, "  %-8s %-14s %s\n", command->name, command->usage,
				   command->summary);
			continue;
		}
		struct json_object element;

		json_array_next(s, i);
		json_open(&element, s);
		json_string(&element, "name", command->name);
		json_string(&element, "usage", command->usage);
		json_string(&element, "summary", command->summary);
		json_close(&element);
	}
	if (s->mode == SHELL_MODE_JSON) {
		json_array_close(&request->reply);
	}
	reply_end(s, request);
}

/* ------------------------------------------------------------------------
 * Running a line
 * ------------------------------------------------------------------------ */

/** Splits line in place at spaces; false if it has more than SHELL_ARGS_MAX words. */
static bool split_words(char *line, struct shell_request *request)
{
	char *c = line;

	request->argc = 0;
	for (;;) {
		while (*c == ' ') {
			*c++ = '\0';
		}
		if (*c == '\0') {
			return true;
		}
		if (request->argc == SHELL_ARGS_MAX) {
			return false;
		}
		request->argv[request->argc++] = c;
		while (*c != ' ' && *c != '\0') {
			c++;
		}
	}
}

/** Finds a command by name; NULL if there is none. */
static const struct shell_command *find_command(const char *name)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(commands); i++) {
		if (strcmp(commands[i].name, name) == 0) {
			return &commands[i];
		}
	}
	return NULL;
}

/** Runs one complete, non-empty command line. */
static void run_line(struct shell *s, char *line)
{
	struct shell_request request = { 0 };
	char typed[SHELL_LINE_MAX];

	strlcpy(typed, line, sizeof(typed));
	request.line = typed;
	/* An error names the first word even when the line has too many. */
	bool fits = split_words(line, &request);

	if (request.argc == 0) {
		return;
	}
	s->sequence++;
	const struct shell_command *command = find_command(request.argv[0]);

	/* A confirmation is the very next command: anything else cancels it. */
	if (command == NULL || strcmp(command->name, s->confirm_command) != 0) {
		s->confirm_command[0] = '\0';
	}
	if (command == NULL) {
		reply_error(s, &request, "unknown command '%s' (try help)", request.argv[0]);
		return;
	}
	unsigned int args = request.argc - 1;

	if ((!fits && !command->takes_text) || args < command->min_args ||
	    (args > command->max_args && !command->takes_text)) {
		reply_error(s, &request, "%s: wrong number of arguments (usage: %s%s%s)",
			    command->name, command->name, command->usage[0] != '\0' ? " " : "",
			    command->usage);
		return;
	}
	command->run(s, &request);
}

/* ------------------------------------------------------------------------
 * History
 * ------------------------------------------------------------------------ */

/** The k-th newest history line (1 = newest); k must be 1..history_count. */
static const char *history_line(const struct shell *s, unsigned int k)
{
	unsigned int slot = (s->history_newest + SHELL_HISTORY_MAX - (k - 1)) % SHELL_HISTORY_MAX;

	return s->history[slot];
}

/** Remembers a run line, unless it repeats the newest one. */
static void history_add(struct shell *s, const char *line)
{
	if (s->history_count > 0 && strcmp(history_line(s, 1), line) == 0) {
		return;
	}
	s->history_newest = (s->history_newest + 1) % SHELL_HISTORY_MAX;
	strlcpy(s->history[s->history_newest], line, SHELL_LINE_MAX);
	if (s->history_count < SHELL_HISTORY_MAX) {
		s->history_count++;
	}
}

/** Echoes in text mode only: a program in JSON mode reads replies, not its own input. */
static void echo(struct shell *s, const char *buf, size_t len)
{
	if (s->mode == SHELL_MODE_TEXT) {
		out_bytes(s, buf, len);
	}
}

/** Erases the shown line back to the prompt. */
static void erase_line(struct shell *s)
{
	for (size_t i = 0; i < s->line_length; i++) {
		echo(s, "\b \b", 3);
	}
	s->line_length = 0;
	s->line[0] = '\0';
}

/** Replaces the line being edited by text and shows it. */
static void replace_line(struct shell *s, const char *text)
{
	erase_line(s);
	s->line_length = strlcpy(s->line, text, SHELL_LINE_MAX);
	echo(s, s->line, s->line_length);
}

/** Up arrow: the next older history line, keeping the typed line as a draft. */
static void history_older(struct shell *s)
{
	if (s->history_browse >= s->history_count) {
		echo(s, "\a", 1);
		return;
	}
	if (s->history_browse == 0) {
		strlcpy(s->draft, s->line, SHELL_LINE_MAX);
	}
	s->history_browse++;
	s->line_overflowed = false;
	replace_line(s, history_line(s, s->history_browse));
}

/** Down arrow: the next newer history line, and past the newest the draft. */
static void history_newer(struct shell *s)
{
	if (s->history_browse == 0) {
		echo(s, "\a", 1);
		return;
	}
	s->history_browse--;
	replace_line(s, s->history_browse == 0 ? s->draft : history_line(s, s->history_browse));
}

/* ------------------------------------------------------------------------
 * Line editor
 * ------------------------------------------------------------------------ */

/** Forgets the line being edited. */
static void reset_line(struct shell *s)
{
	s->line_length = 0;
	s->line[0] = '\0';
	s->line_overflowed = false;
	s->history_browse = 0;
}

/** Enter: runs the line (or refuses an overlong one) and shows a new prompt. */
static void enter_line(struct shell *s)
{
	char line[SHELL_LINE_MAX];

	echo(s, "\r\n", 2);
	s->prompt_shown = false;
	if (s->line_overflowed) {
		s->sequence++;
		struct shell_request request = { .argc = 1, .argv = { "line" } };

		reply_error(s, &request, "line too long (at most %u characters); ignored",
			    SHELL_LINE_MAX - 1);
	} else if (s->line_length > 0) {
		strlcpy(line, s->line, sizeof(line));
		history_add(s, s->line);
		reset_line(s);
		run_line(s, line);
	}
	reset_line(s);
	shell_prompt(s);
}

/** A printable character: appended, or dropped with a bell when the line is full. */
static void insert_char(struct shell *s, char c)
{
	if (s->line_length + 1 >= SHELL_LINE_MAX) {
		if (!s->line_overflowed) {
			echo(s, "\a", 1);
		}
		s->line_overflowed = true;
		return;
	}
	s->line[s->line_length++] = c;
	s->line[s->line_length] = '\0';
	echo(s, &c, 1);
}

/** Backspace or DEL: removes the last character, if any. */
static void delete_char(struct shell *s)
{
	if (s->line_length == 0) {
		return;
	}
	s->line[--s->line_length] = '\0';
	echo(s, "\b \b", 3);
}

/** Ctrl-C: abandons the line and starts a new one. */
static void cancel_line(struct shell *s)
{
	echo(s, "^C\r\n", 4);
	s->prompt_shown = false;
	reset_line(s);
	shell_prompt(s);
}

static void plain_byte(struct shell *s, unsigned char c);

/** Handles a byte inside an escape sequence; arrows move through history. */
static void escape_byte(struct shell *s, unsigned char c)
{
	if (s->escape == SHELL_ESCAPE_STARTED) {
		/* ESC [ (CSI) and ESC O (SS3) both carry the arrow keys. */
		s->escape_param_length = 0;
		if (c == '[' || c == 'O') {
			s->escape = SHELL_ESCAPE_SEQUENCE;
			return;
		}
		/* A lone ESC (or Alt with a key) is dropped; the key counts on its own. */
		s->escape = SHELL_ESCAPE_NONE;
		plain_byte(s, c);
		return;
	}
	if (c >= 0x20 && c <= 0x3f) {
		/* Parameter and intermediate bytes; endless ones are garbage. */
		if (++s->escape_param_length > SHELL_ESCAPE_PARAMS_MAX) {
			s->escape = SHELL_ESCAPE_NONE;
		}
		return;
	}
	s->escape = SHELL_ESCAPE_NONE;
	if (s->escape_param_length == 0 && c == 'A') {
		history_older(s);
	} else if (s->escape_param_length == 0 && c == 'B') {
		history_newer(s);
	}
}

/** Handles one received byte outside escape sequences. */
static void plain_byte(struct shell *s, unsigned char c)
{
	bool crlf_tail = s->last_was_cr && c == '\n';

	s->last_was_cr = c == '\r';
	if (crlf_tail) {
		return;
	}
	if (c == '\r' || c == '\n') {
		enter_line(s);
	} else if (c == BACKSPACE || c == DELETE) {
		delete_char(s);
	} else if (c == CTRL_U) {
		erase_line(s);
		s->line_overflowed = false;
	} else if (c == CTRL_C) {
		cancel_line(s);
	} else if (c == ESCAPE) {
		s->escape = SHELL_ESCAPE_STARTED;
	} else if (c >= 0x20 && c < 0x7f) {
		insert_char(s, (char)c);
	}
	/* Anything else (NUL, other control bytes, bytes >= 0x80) is ignored. */
}

/** Handles one received byte. */
static void input_byte(struct shell *s, unsigned char c)
{
	if (s->escape != SHELL_ESCAPE_NONE) {
		if (c >= 0x20) {
			escape_byte(s, c);
			return;
		}
		/* A control byte ends the sequence and counts on its own, so Ctrl-C always works. */
		s->escape = SHELL_ESCAPE_NONE;
	}
	plain_byte(s, c);
}

/* ------------------------------------------------------------------------
 * Public interface
 * ------------------------------------------------------------------------ */

/** See hv/shell.h. */
void shell_init(struct shell *s, const struct shell_backend *backend, void *backend_ctx,
		shell_write_fn write, void *write_ctx)
{
	memset(s, 0, sizeof(*s));
	s->backend = backend;
	s->backend_ctx = backend_ctx;
	s->write = write;
	s->write_ctx = write_ctx;
	s->mode = SHELL_MODE_TEXT;
	/* The newest slot advances before it is written: start one before 0. */
	s->history_newest = SHELL_HISTORY_MAX - 1;
}

/** Types a run of bytes into the attached partition; returns how many were used. */
static size_t attached_input(struct shell *s, const char *bytes, size_t length)
{
	size_t run = 0;

	while (run < length && (unsigned char)bytes[run] != SHELL_DETACH_BYTE) {
		run++;
	}
	if (run > 0) {
		size_t took = s->backend->console_input(s->backend_ctx, s->attached.index, bytes, run);

		s->attached.refused_bytes += run - MIN(took, run);
	}
	if (run < length) {
		shell_detach(s, NULL);
		return run + 1;
	}
	return run;
}

/** See hv/shell.h. */
void shell_input(struct shell *s, const char *bytes, size_t length)
{
	size_t i = 0;

	while (i < length) {
		if (!s->attached.active) {
			input_byte(s, (unsigned char)bytes[i++]);
			continue;
		}
		/* The LF of the CR LF that ran "console NAME" is not for the partition. */
		if (s->last_was_cr && bytes[i] == '\n') {
			i++;
		}
		s->last_was_cr = false;
		i += attached_input(s, bytes + i, length - i);
	}
}

/** See hv/shell.h. */
void shell_prompt(struct shell *s)
{
	if (s->mode != SHELL_MODE_TEXT || s->attached.active) {
		return;
	}
	echo(s, SHELL_PROMPT, sizeof(SHELL_PROMPT) - 1);
	echo(s, s->line, s->line_length);
	s->prompt_shown = true;
}

/** See hv/shell.h. */
bool shell_prompt_hidden(const struct shell *s)
{
	return s->mode == SHELL_MODE_TEXT && !s->attached.active && !s->prompt_shown;
}

/** See hv/shell.h. */
void shell_restore_prompt(struct shell *s)
{
	if (shell_prompt_hidden(s)) {
		shell_prompt(s);
	}
}

/** See hv/shell.h. */
bool shell_attached_to(const struct shell *s, unsigned int index)
{
	return s->attached.active && s->attached.index == index;
}

/**
 * Starts an event: in text mode, clears the prompt line the event interrupts
 * (it stays hidden until shell_restore_prompt() or the next keystroke).
 */
static void event_begin(struct shell *s, struct json_object *event, const char *kind)
{
	event->shell = s;
	event->empty = true;
	if (s->mode == SHELL_MODE_JSON) {
		json_open(event, s);
		json_string(event, "event", kind);
		return;
	}
	if (s->prompt_shown) {
		out_string(s, "\r\x1b[K");
		s->prompt_shown = false;
	}
}

/** Ends an event: in JSON mode the object and its line. */
static void event_end(struct shell *s, struct json_object *event)
{
	if (s->mode == SHELL_MODE_JSON) {
		json_close(event);
		out_bytes(s, "\n", 1);
	}
}

/** See hv/shell.h. */
void shell_event_state(struct shell *s, const char *partition, const char *change,
		       enum shell_partition_state state, const char *reason)
{
	struct json_object event;

	if (s->attached.active && state == SHELL_STATE_STOPPED &&
	    strcmp(partition, s->attached.name) == 0) {
		shell_detach(s, reason);
		return;
	}
	if (s->mode != SHELL_MODE_JSON) {
		return; /* the log line of the change says it already */
	}
	event_begin(s, &event, "state");
	json_string(&event, "partition", partition);
	json_string(&event, "change", change);
	json_string(&event, "state", state_name(state));
	if (reason != NULL && reason[0] != '\0') {
		json_string(&event, "reason", reason);
	}
	event_end(s, &event);
}

/** Writes console text as lines "PARTITION: text", one per line of the chunk. */
static void console_text_out(struct shell *s, const char *partition, const char *text, size_t length)
{
	size_t start = 0;

	while (start < length) {
		size_t end = start;

		while (end < length && text[end] != '\n') {
			end++;
		}

		out_safe(s, partition);
		out_string(s, ": ");
		out_sanitized(s, text + start, end - start, false);
		out_bytes(s, "\n", 1);
		start = end + 1;
	}
}

/** Lines in a chunk of console text: its newlines, and a last line without one. */
static uint64_t count_lines(const char *text, size_t length)
{
	uint64_t lines = 0;

	for (size_t i = 0; i < length; i++) {
		lines += text[i] == '\n';
	}
	return lines + (length > 0 && text[length - 1] != '\n');
}

/** See hv/shell.h. */
void shell_event_console(struct shell *s, const char *partition, const char *text, size_t length)
{
	struct json_object event;

	if (s->attached.active) {
		/* Its own output is shown raw; the others' stay in their logs. */
		if (strcmp(partition, s->attached.name) != 0) {
			s->attached.other_lines += count_lines(text, length);
		}
		return;
	}
	event_begin(s, &event, "console");
	if (s->mode == SHELL_MODE_JSON) {
		json_string(&event, "partition", partition);
		json_key(&event, "data");
		out_json_string(s, text, length);
	} else {
		console_text_out(s, partition, text, length);
	}
	event_end(s, &event);
}

/** Keeps a log line to show after detaching; counts it when there is no room. */
static void hold_log_line(struct shell_attachment *a, const char *text, size_t length)
{
	if (a->held_length + length + 1 > sizeof(a->held)) {
		a->held_dropped++;
		return;
	}
	memcpy(a->held + a->held_length, text, length);
	a->held[a->held_length + length] = '\n';
	a->held_length += length + 1;
}

/** See hv/shell.h. */
void shell_event_log(struct shell *s, const char *text, size_t length)
{
	struct json_object event;

	if (s->attached.active) {
		hold_log_line(&s->attached, text, length);
		return;
	}
	event_begin(s, &event, "log");
	if (s->mode == SHELL_MODE_JSON) {
		json_key(&event, "text");
		out_json_string(s, text, length);
	} else {
		out_string(s, "tessera: ");
		out_sanitized(s, text, length, false);
		out_bytes(s, "\n", 1);
	}
	event_end(s, &event);
}

/** See hv/shell.h. */
void shell_attached_output(struct shell *s, const char *bytes, size_t length)
{
	if (s->attached.active) {
		out_bytes(s, bytes, length);
	}
}
