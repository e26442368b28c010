/*
 * The tessera.conf parser (see hv/config.h for the format).
 *
 * The text is walked line by line as spans (pointer + length), never as C
 * strings, because it comes straight from a file: it need not end in a NUL and
 * may contain anything. A line yields at most one problem; a [partition]
 * section is validated as a whole when the next section (or the end of the
 * file) closes it, because its keys may come in any order. The ports of the
 * accepted partitions are checked last, against the console UART and against
 * each other, because [tessera] may come after them.
 */
#include <stdarg.h>

#include "hv/config.h"
#include "hv/format.h"
#include "hv/string.h"
#include "hv/vuart.h"

/* Room for "FILE:LINE: partition 'NAME': " and a quoted line. */
#define CONFIG_MESSAGE_MAX 512

/* A span as a printf argument, for "%.*s". */
#define SPAN_ARG(s) (int)(s).length, (s).start

/* The highest I/O port. */
#define IO_PORT_MAX 0xffffU

/* A 16550 UART decodes 8 consecutive ports from its base. */
#define UART_PORT_COUNT 8

/* Room for a range as range_text() writes it, "0xffff-0xffff". */
#define RANGE_TEXT_MAX sizeof("0xffff-0xffff")

/** A piece of the configuration text; not NUL-terminated. */
struct span {
	const char *start;
	size_t length;
};

/** The kind of section the current line belongs to. */
enum section_kind {
	/* Before the first header: a key here has nowhere to go. */
	SECTION_NONE,
	SECTION_TESSERA,
	SECTION_PARTITION,
	/* A header that was already reported: its keys are ignored quietly. */
	SECTION_SKIPPED,
};

/** The keys of a [partition] section, in the order of partition_keys[]. */
enum partition_key {
	KEY_MEMORY,
	KEY_IMAGE,
	KEY_ENTRY,
	KEY_LOAD,
	KEY_KERNEL,
	KEY_INITRD,
	KEY_CMDLINE,
	KEY_VCPUS,
	KEY_ON_CRASH,
	KEY_AUTOSTART,
	KEY_TEST_DEVICE,
	KEY_IOPORTS,
	KEY_CONSOLE_BUFFER,
	KEY_STOP_TIMEOUT,
	KEY_ON_REBOOT,
	KEY_ON_POWEROFF,
	PARTITION_KEY_COUNT,
};

/** The keys of the [tessera] section, in the order of tessera_keys[]. */
enum tessera_key {
	KEY_SERIAL_PORT,
	KEY_SERIAL_BAUD,
	KEY_LOGLEVEL,
	TESSERA_KEY_COUNT,
};

/** The [partition] section being read, committed only if it has no problem. */
struct partition_draft {
	struct partition_config config;
	/* Line where each key was set, 0 if not (yet) set. */
	unsigned int key_lines[PARTITION_KEY_COUNT];
	/* Bit per partition_key whose value passed its own checks. */
	uint32_t valid_keys;
	bool failed;
};

/** Everything the parser tracks while walking the text. */
struct parser {
	const char *file_name;
	config_report_fn report;
	void *ctx;
	struct tessera_config *out;
	unsigned int line;
	enum section_kind section;
	unsigned int tessera_key_lines[TESSERA_KEY_COUNT];
	struct partition_draft draft;
	/* Every well-formed [partition] name so far, accepted or not. */
	char declared_names[CONFIG_MAX_PARTITIONS][CONFIG_NAME_MAX];
	unsigned int declared_count;
	/* Line of the ioports key of out->partitions[i] (0 if none). */
	unsigned int ioports_lines[CONFIG_MAX_PARTITIONS];
};

/** Reads and checks one key's value; false after reporting a problem. */
typedef bool (*key_parse_fn)(struct parser *parser, struct span value);

/** A key a section accepts and the function that takes its value. */
struct key_handler {
	const char *name;
	key_parse_fn parse;
};

/** One accepted word of an enumerated value, e.g. "restart". */
struct word_value {
	const char *word;
	int value;
};

/** Ports a partition may never pass through to the hardware, and why. */
struct forbidden_ports {
	struct io_range ports;
	const char *reason;
};

/** Why a number was refused, so that the message can say so. */
enum number_status {
	NUMBER_OK,
	NUMBER_INVALID,
	NUMBER_TOO_LARGE,
};

/** Whether c separates words on a line. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/** ASCII-only lowercase: the file's keywords are ASCII whatever the locale. */
static char ascii_lower(char c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

/** Builds a span. */
static struct span span_make(const char *start, size_t length)
{
	return (struct span){ .start = start, .length = length };
}

/** The span without its leading and trailing blanks. */
static struct span span_trim(struct span text)
{
	while (text.length > 0 && is_blank(text.start[0])) {
		text.start++;
		text.length--;
	}
	while (text.length > 0 && is_blank(text.start[text.length - 1])) {
		text.length--;
	}
	return text;
}

/** Index of the first c in text, or text.length if there is none. */
static size_t span_find(struct span text, char c)
{
	size_t i = 0;

	while (i < text.length && text.start[i] != c) {
		i++;
	}
	return i;
}

/** Whether text is word, ignoring ASCII case. */
static bool span_equals(struct span text, const char *word)
{
	size_t i;

	for (i = 0; i < text.length; i++) {
		if (word[i] == '\0' ||
		    ascii_lower(text.start[i]) != ascii_lower(word[i])) {
			return false;
		}
	}
	return word[i] == '\0';
}

/** Value of c as a digit of any base up to 16, or -1. */
static int digit_value(char c)
{
	char lower = ascii_lower(c);

	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (lower >= 'a' && lower <= 'f') {
		return lower - 'a' + 10;
	}
	return -1;
}

/** Parses a decimal or "0x" hexadecimal number that fills all of text. */
static enum number_status parse_number(struct span text, uint64_t *value)
{
	uint64_t base = 10;
	uint64_t result = 0;
	bool too_large = false;
	size_t i = 0;

	if (text.length > 2 && text.start[0] == '0' &&
	    ascii_lower(text.start[1]) == 'x') {
		base = 16;
		i = 2;
	}
	if (i == text.length) {
		return NUMBER_INVALID;
	}
	for (; i < text.length; i++) {
		int digit = digit_value(text.start[i]);

		if (digit < 0 || (uint64_t)digit >= base) {
			return NUMBER_INVALID;
		}
		/* Keep scanning: "99999999999999999999x" is not a number. */
		if (result > (UINT64_MAX - (uint64_t)digit) / base) {
			too_large = true;
		}
		result = result * base + (uint64_t)digit;
	}
	*value = result;
	return too_large ? NUMBER_TOO_LARGE : NUMBER_OK;
}

/** Parses a number of bytes with an optional K, M or G (KiB...) suffix. */
static enum number_status parse_size(struct span text, uint64_t *bytes)
{
	unsigned int shift = 0;
	uint64_t count;
	enum number_status status;

	if (text.length > 0) {
		switch (ascii_lower(text.start[text.length - 1])) {
		case 'k':
			shift = 10;
			break;
		case 'm':
			shift = 20;
			break;
		case 'g':
			shift = 30;
			break;
		default:
			break;
		}
	}
	if (shift != 0) {
		text.length--;
	}
	status = parse_number(text, &count);
	if (status != NUMBER_OK) {
		return status;
	}
	if (count > (UINT64_MAX >> shift)) {
		return NUMBER_TOO_LARGE;
	}
	*bytes = count << shift;
	return NUMBER_OK;
}

/** Finds text among words (ignoring case); false if it is none of them. */
static bool lookup_word(const struct word_value *words, size_t count,
			struct span text, int *value)
{
	for (size_t i = 0; i < count; i++) {
		if (span_equals(text, words[i].word)) {
			*value = words[i].value;
			return true;
		}
	}
	return false;
}

/** Appends to message[used..] and returns the new used, clamped to fit. */
static size_t message_append(char *message, size_t used, const char *fmt,
			     va_list ap)
{
	int added = format_vsnprintf(message + used, CONFIG_MESSAGE_MAX - used,
				     fmt, ap);

	if (added < 0) {
		return used;
	}
	return MIN(used + (size_t)added, (size_t)CONFIG_MESSAGE_MAX - 1);
}

/** message_append() with the arguments inline. */
static PRINTF_LIKE(3, 4) size_t message_appendf(char *message, size_t used,
						const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	used = message_append(message, used, fmt, ap);
	va_end(ap);
	return used;
}

/**
 * Counts one problem and reports it as "FILE:LINE: problem", with
 * "partition 'NAME': " before the problem when partition is not NULL.
 */
static void report_message(struct parser *parser, unsigned int line,
			   const char *partition, const char *fmt, va_list ap)
{
	char message[CONFIG_MESSAGE_MAX];
	size_t used;

	parser->out->error_count++;
	if (parser->report == NULL) {
		return;
	}
	used = message_appendf(message, 0, "%s:%u: ", parser->file_name, line);
	if (partition != NULL) {
		used = message_appendf(message, used, "partition '%s': ",
				       partition);
	}
	message_append(message, used, fmt, ap);
	parser->report(parser->ctx, message);
}

/**
 * Counts and reports one problem at line, naming the partition when inside
 * one; a problem inside a partition section refuses that partition.
 */
static PRINTF_LIKE(3, 4) void report_problem(struct parser *parser,
					     unsigned int line,
					     const char *fmt, ...)
{
	const char *partition = NULL;
	va_list ap;

	if (parser->section == SECTION_PARTITION) {
		parser->draft.failed = true;
		partition = parser->draft.config.name;
	}
	va_start(ap, fmt);
	report_message(parser, line, partition, fmt, ap);
	va_end(ap);
}

/**
 * Reports a problem of a partition already accepted, at its ioports line;
 * the caller takes it out of the accepted list.
 */
static PRINTF_LIKE(3, 4) void report_ports_problem(struct parser *parser,
						   unsigned int index,
						   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_message(parser, parser->ioports_lines[index],
		       parser->out->partitions[index].name, fmt, ap);
	va_end(ap);
}

/** Reads a number for key, reporting why value is not one. */
static bool expect_number(struct parser *parser, const char *key,
			  struct span value, uint64_t *number)
{
	switch (parse_number(value, number)) {
	case NUMBER_OK:
		return true;
	case NUMBER_TOO_LARGE:
		report_problem(parser, parser->line,
			       "%s '%.*s' is too large for 64 bits", key,
			       SPAN_ARG(value));
		return false;
	default:
		report_problem(parser, parser->line,
			       "%s '%.*s' is not a number (write decimal or 0x hex)",
			       key, SPAN_ARG(value));
		return false;
	}
}

/** [tessera] serial_port: an I/O port, which cannot be 0. */
static bool parse_serial_port(struct parser *parser, struct span value)
{
	uint64_t port;

	if (!expect_number(parser, "serial_port", value, &port)) {
		return false;
	}
	if (port == 0 || port > UINT16_MAX) {
		report_problem(parser, parser->line,
			       "serial_port '%.*s' is out of range (0x1..0xffff)",
			       SPAN_ARG(value));
		return false;
	}
	parser->out->serial_port = (uint16_t)port;
	return true;
}

/** [tessera] serial_baud: the 16550 divisor latch needs 115200 / baud. */
static bool parse_serial_baud(struct parser *parser, struct span value)
{
	uint64_t baud;

	if (!expect_number(parser, "serial_baud", value, &baud)) {
		return false;
	}
	if (baud == 0 || baud > 115200 || 115200 % baud != 0) {
		report_problem(parser, parser->line,
			       "serial_baud '%.*s' does not divide 115200 (e.g. 115200, 57600, 38400, 9600)",
			       SPAN_ARG(value));
		return false;
	}
	parser->out->serial_baud = (uint32_t)baud;
	return true;
}

/** [tessera] loglevel: the console threshold. */
static bool parse_loglevel(struct parser *parser, struct span value)
{
	static const struct word_value levels[] = {
		{ "error", LOG_ERROR },
		{ "warn", LOG_WARN },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	int level;

	if (!lookup_word(levels, ARRAY_SIZE(levels), value, &level)) {
		report_problem(parser, parser->line,
			       "loglevel '%.*s' is not error, warn, info or debug",
			       SPAN_ARG(value));
		return false;
	}
	parser->out->loglevel = (enum log_level)level;
	return true;
}

/** partition memory: a size in [1M, 64G], in whole pages. */
static bool parse_memory(struct parser *parser, struct span value)
{
	uint64_t bytes = 0;
	enum number_status status = parse_size(value, &bytes);
	const char *problem = NULL;

	if (status == NUMBER_INVALID) {
		problem = "is not a size (write e.g. 64M)";
	} else if (status == NUMBER_TOO_LARGE || bytes > CONFIG_MEMORY_MAX) {
		problem = "is more than 64G";
	} else if (bytes < CONFIG_MEMORY_MIN) {
		problem = "is less than 1M";
	} else if (!IS_ALIGNED(bytes, KiB(4))) {
		problem = "is not a multiple of 4K";
	}
	if (problem != NULL) {
		report_problem(parser, parser->line, "memory '%.*s' %s",
			       SPAN_ARG(value), problem);
		return false;
	}
	parser->draft.config.memory_bytes = bytes;
	return true;
}

/** Whether c is a path separator as an operator may write it. */
static bool is_separator(char c)
{
	return c == '/' || c == '\\';
}

/** Why c cannot be part of an image path (FAT rules), or NULL if it can. */
static const char *path_char_problem(char c)
{
	if ((unsigned char)c >= 0x80) {
		return "contains a non-ASCII character (UEFI paths here are ASCII)";
	}
	if (strchr("\"*:<>?|", c) != NULL) {
		return "contains a character a FAT path cannot hold";
	}
	return NULL;
}

/** Reports a problem with the path of key, quoting the path as written. */
static bool refuse_path(struct parser *parser, const char *key, struct span value,
			const char *problem)
{
	report_problem(parser, parser->line, "%s '%.*s' %s", key, SPAN_ARG(value), problem);
	return false;
}

/**
 * The value of key as a path on the boot volume, stored in path (of
 * CONFIG_PATH_MAX bytes) with '\\' separators and a leading '\\'.
 */
static bool parse_path(struct parser *parser, const char *key, struct span value, char *path)
{
	size_t used = 0;

	if (!is_separator(value.start[0])) {
		path[used++] = '\\';
	}
	for (size_t i = 0; i < value.length; i++) {
		char c = (char)(is_separator(value.start[i]) ? '\\' : value.start[i]);
		const char *problem = path_char_problem(c);

		if (problem != NULL) {
			return refuse_path(parser, key, value, problem);
		}
		if (used == CONFIG_PATH_MAX - 1) {
			return refuse_path(parser, key, value,
					   "is longer than 127 characters (counting the leading '\\')");
		}
		if (c == '\\' && used > 0 && path[used - 1] == '\\') {
			return refuse_path(parser, key, value, "has an empty path component");
		}
		path[used++] = c;
	}
	path[used] = '\0';
	if (path[used - 1] == '\\') {
		return refuse_path(parser, key, value, "names a directory, not a file");
	}
	return true;
}

/** partition image: a flat image. */
static bool parse_image(struct parser *parser, struct span value)
{
	return parse_path(parser, "image", value, parser->draft.config.image);
}

/** partition kernel: a Linux bzImage, kept where a flat image would be. */
static bool parse_kernel(struct parser *parser, struct span value)
{
	parser->draft.config.format = IMAGE_LINUX;
	return parse_path(parser, "kernel", value, parser->draft.config.image);
}

/** partition initrd: the kernel's initial RAM disk. */
static bool parse_initrd(struct parser *parser, struct span value)
{
	return parse_path(parser, "initrd", value, parser->draft.config.initrd);
}

/** partition cmdline: the rest of the line, printable ASCII, kept as written. */
static bool parse_cmdline(struct parser *parser, struct span value)
{
	char *cmdline = parser->draft.config.cmdline;

	if (value.length >= CONFIG_CMDLINE_MAX) {
		report_problem(parser, parser->line,
			       "cmdline is longer than %d characters", CONFIG_CMDLINE_MAX - 1);
		return false;
	}
	for (size_t i = 0; i < value.length; i++) {
		if (value.start[i] < 0x20 || value.start[i] > 0x7e) {
			report_problem(parser, parser->line,
				       "cmdline has a character that is not printable ASCII at column %zu",
				       i + 1);
			return false;
		}
	}
	memcpy(cmdline, value.start, value.length);
	cmdline[value.length] = '\0';
	return true;
}

/** partition entry: range-checked against memory when the section ends. */
static bool parse_entry(struct parser *parser, struct span value)
{
	return expect_number(parser, "entry", value,
			     &parser->draft.config.entry);
}

/** partition load: range-checked against memory when the section ends. */
static bool parse_load(struct parser *parser, struct span value)
{
	return expect_number(parser, "load", value, &parser->draft.config.load);
}

/** partition vcpus: 1..CONFIG_MAX_VCPUS. */
static bool parse_vcpus(struct parser *parser, struct span value)
{
	uint64_t vcpus;

	if (!expect_number(parser, "vcpus", value, &vcpus)) {
		return false;
	}
	if (vcpus < 1 || vcpus > CONFIG_MAX_VCPUS) {
		report_problem(parser, parser->line,
			       "vcpus '%.*s' is out of range (1..%d)",
			       SPAN_ARG(value), CONFIG_MAX_VCPUS);
		return false;
	}
	parser->draft.config.vcpus = (uint32_t)vcpus;
	return true;
}

/** partition on_crash: stop or restart. */
static bool parse_on_crash(struct parser *parser, struct span value)
{
	static const struct word_value actions[] = {
		{ "stop", CRASH_STOP },
		{ "restart", CRASH_RESTART },
	};
	int action;

	if (!lookup_word(actions, ARRAY_SIZE(actions), value, &action)) {
		report_problem(parser, parser->line,
			       "on_crash '%.*s' is not stop or restart",
			       SPAN_ARG(value));
		return false;
	}
	parser->draft.config.on_crash = (enum crash_action)action;
	return true;
}

/** A stop-or-restart value of key @name into *out (on_reboot, on_poweroff). */
static bool parse_guest_end(struct parser *parser, struct span value, const char *name,
			    enum guest_end_action *out)
{
	static const struct word_value actions[] = {
		{ "stop", GUEST_END_STOP },
		{ "restart", GUEST_END_RESTART },
	};
	int action;

	if (!lookup_word(actions, ARRAY_SIZE(actions), value, &action)) {
		report_problem(parser, parser->line, "%s '%.*s' is not stop or restart", name,
			       SPAN_ARG(value));
		return false;
	}
	*out = (enum guest_end_action)action;
	return true;
}

/** partition on_reboot: stop or restart when the guest resets its machine. */
static bool parse_on_reboot(struct parser *parser, struct span value)
{
	return parse_guest_end(parser, value, "on_reboot", &parser->draft.config.on_reboot);
}

/** partition on_poweroff: stop or restart when the guest powers its machine off. */
static bool parse_on_poweroff(struct parser *parser, struct span value)
{
	return parse_guest_end(parser, value, "on_poweroff", &parser->draft.config.on_poweroff);
}

/** partition autostart: yes or no. */
/** A yes/no value of key @name into *out. */
static bool parse_yes_no(struct parser *parser, struct span value, const char *name, bool *out)
{
	static const struct word_value answers[] = {
		{ "yes", 1 },
		{ "no", 0 },
	};
	int answer;

	if (!lookup_word(answers, ARRAY_SIZE(answers), value, &answer)) {
		report_problem(parser, parser->line, "%s '%.*s' is not yes or no", name,
			       SPAN_ARG(value));
		return false;
	}
	*out = answer != 0;
	return true;
}

/** partition autostart: yes or no. */
static bool parse_autostart(struct parser *parser, struct span value)
{
	return parse_yes_no(parser, value, "autostart", &parser->draft.config.autostart);
}

/** partition test_device: yes or no (the MMIO test device of hv/vdev_test.c). */
static bool parse_test_device(struct parser *parser, struct span value)
{
	return parse_yes_no(parser, value, "test_device", &parser->draft.config.test_device);
}

/** partition console_buffer: a size in [4K, 1M], in whole pages (it is allocated so). */
static bool parse_console_buffer(struct parser *parser, struct span value)
{
	uint64_t bytes = 0;
	enum number_status status = parse_size(value, &bytes);
	const char *problem = NULL;

	if (status == NUMBER_INVALID) {
		problem = "is not a size (write e.g. 16K)";
	} else if (status == NUMBER_TOO_LARGE || bytes > CONFIG_CONSOLE_BUFFER_MAX) {
		problem = "is more than 1M";
	} else if (bytes < CONFIG_CONSOLE_BUFFER_MIN) {
		problem = "is less than 4K";
	} else if (!IS_ALIGNED(bytes, KiB(4))) {
		problem = "is not a multiple of 4K";
	}
	if (problem != NULL) {
		report_problem(parser, parser->line, "console_buffer '%.*s' %s",
			       SPAN_ARG(value), problem);
		return false;
	}
	parser->draft.config.console_buffer_bytes = bytes;
	return true;
}

/** partition stop_timeout: whole seconds, CONFIG_STOP_TIMEOUT_MIN.._MAX. */
static bool parse_stop_timeout(struct parser *parser, struct span value)
{
	uint64_t seconds;

	if (!expect_number(parser, "stop_timeout", value, &seconds)) {
		return false;
	}
	if (seconds < CONFIG_STOP_TIMEOUT_MIN || seconds > CONFIG_STOP_TIMEOUT_MAX) {
		report_problem(parser, parser->line,
			       "stop_timeout '%.*s' is out of range (%d..%d seconds)",
			       SPAN_ARG(value), CONFIG_STOP_TIMEOUT_MIN, CONFIG_STOP_TIMEOUT_MAX);
		return false;
	}
	parser->draft.config.stop_timeout_s = (uint32_t)seconds;
	return true;
}

/*
 * Ports that never reach the hardware from a partition, whatever ioports
 * says: each belongs to the host or to every partition at once. The lowest
 * forbidden port of a range is the one named; on a tie the earlier entry
 * wins, which is why reset control (0xcf9) precedes the PCI ports around it.
 */
static const struct forbidden_ports forbidden_ports[] = {
	{ { 0x00, 0x1f }, "ISA DMA controller: DMA reaches all memory" },
	{ { 0x20, 0x21 }, "PIC: the host's interrupt controller" },
	{ { 0x40, 0x43 }, "PIT: the host's timer" },
	{ { 0x60, 0x60 }, "keyboard controller: reset pulse, A20 gate" },
	{ { 0x64, 0x64 }, "keyboard controller: reset pulse, A20 gate" },
	{ { 0x70, 0x71 }, "RTC and NMI mask" },
	{ { 0x81, 0x8f }, "ISA DMA page registers: DMA reaches all memory" },
	{ { 0x92, 0x92 },
	  "A20 gate: Bochs and some chipsets wrap guest addresses under EPT" },
	{ { 0xa0, 0xa1 }, "PIC: the host's interrupt controller" },
	{ { 0xc0, 0xdf }, "ISA DMA controller: DMA reaches all memory" },
	{ { 0xe9, 0xe9 }, "debug port: the emulator's debug console" },
	{ { VUART_PORT_BASE, VUART_PORT_BASE + VUART_PORT_COUNT - 1 },
	  "the partition's own virtual UART" },
	{ { 0xcf9, 0xcf9 }, "reset control: resets the machine" },
	{ { 0xcf8, 0xcff },
	  "PCI configuration: host bridge, all partitions' devices" },
	{ { 0x8900, 0x8900 }, "Bochs shutdown: powers the machine off" },
};

/** Writes range as "0x2f8-0x2ff", or "0x80" for a single port; returns text. */
static const char *range_text(struct io_range range,
			      char text[RANGE_TEXT_MAX])
{
	if (range.first == range.last) {
		format_snprintf(text, RANGE_TEXT_MAX, "0x%x", range.first);
	} else {
		format_snprintf(text, RANGE_TEXT_MAX, "0x%x-0x%x", range.first,
				range.last);
	}
	return text;
}

/** Whether two ranges share at least one port. */
static bool ranges_overlap(struct io_range a, struct io_range b)
{
	return a.first <= b.last && b.first <= a.last;
}

/** The lowest port two overlapping ranges share. */
static uint16_t first_shared_port(struct io_range a, struct io_range b)
{
	return MAX(a.first, b.first);
}

/** The forbidden entry whose ports meet range lowest, or NULL if none does. */
static const struct forbidden_ports *find_forbidden(struct io_range range)
{
	const struct forbidden_ports *found = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(forbidden_ports); i++) {
		const struct forbidden_ports *entry = &forbidden_ports[i];

		if (ranges_overlap(range, entry->ports) &&
		    (found == NULL ||
		     first_shared_port(range, entry->ports) <
			     first_shared_port(range, found->ports))) {
			found = entry;
		}
	}
	return found;
}

/** Parses one ioports entry, "0x80" or "0x2f8-0x2ff"; false after reporting. */
static bool parse_io_range(struct parser *parser, struct span entry,
			   struct io_range *range)
{
	size_t dash = span_find(entry, '-');
	struct span first_text = span_trim(span_make(entry.start, dash));
	struct span last_text = first_text;
	uint64_t first = 0;
	uint64_t last = 0;
	enum number_status first_status;
	enum number_status last_status;

	if (dash < entry.length) {
		last_text = span_trim(span_make(entry.start + dash + 1,
						entry.length - dash - 1));
	}
	first_status = parse_number(first_text, &first);
	last_status = parse_number(last_text, &last);
	if (first_status == NUMBER_INVALID || last_status == NUMBER_INVALID) {
		report_problem(parser, parser->line,
			       "ioports '%.*s' is not a port or a range first-last (decimal or 0x hex)",
			       SPAN_ARG(entry));
		return false;
	}
	if (first_status == NUMBER_TOO_LARGE || last_status == NUMBER_TOO_LARGE ||
	    first > IO_PORT_MAX || last > IO_PORT_MAX) {
		report_problem(parser, parser->line,
			       "ioports '%.*s' goes beyond port 0xffff",
			       SPAN_ARG(entry));
		return false;
	}
	if (first > last) {
		report_problem(parser, parser->line,
			       "ioports '%.*s' ends below its first port (write first-last)",
			       SPAN_ARG(entry));
		return false;
	}
	*range = (struct io_range){ .first = (uint16_t)first,
				    .last = (uint16_t)last };
	return true;
}

/**
 * Checks ranges[count] against the ranges before it in the same list and
 * against the ports no partition may pass; false after reporting.
 */
static bool io_range_allowed(struct parser *parser,
			     const struct io_range *ranges, unsigned int count)
{
	struct io_range range = ranges[count];
	const struct forbidden_ports *forbidden = find_forbidden(range);
	char text[RANGE_TEXT_MAX];
	char other[RANGE_TEXT_MAX];

	for (unsigned int i = 0; i < count; i++) {
		if (ranges_overlap(range, ranges[i])) {
			report_problem(parser, parser->line,
				       "ioports %s: port 0x%x is listed twice (also in %s)",
				       range_text(range, text),
				       first_shared_port(range, ranges[i]),
				       range_text(ranges[i], other));
			return false;
		}
	}
	if (forbidden != NULL) {
		report_problem(parser, parser->line,
			       "ioports %s: port 0x%x is never passed through (%s)",
			       range_text(range, text),
			       first_shared_port(range, forbidden->ports),
			       forbidden->reason);
		return false;
	}
	return true;
}

/**
 * partition ioports: ports and ranges whose accesses go to the hardware.
 * The console UART and the other partitions' ports are checked once the
 * whole file is read (check_port_owners).
 */
static bool parse_ioports(struct parser *parser, struct span value)
{
	struct partition_config *config = &parser->draft.config;
	struct io_range ranges[CONFIG_MAX_IO_RANGES];
	unsigned int count = 0;
	struct span rest = value;

	/* "none", as config_setting_at() writes the default. */
	if (span_equals(value, "none")) {
		config->ioport_count = 0;
		return true;
	}
	for (;;) {
		size_t comma = span_find(rest, ',');
		struct span entry = span_trim(span_make(rest.start, comma));

		if (entry.length == 0) {
			report_problem(parser, parser->line,
				       "ioports '%.*s' has an empty entry (write e.g. 0x2f8-0x2ff, 0x80)",
				       SPAN_ARG(value));
			return false;
		}
		if (count == CONFIG_MAX_IO_RANGES) {
			report_problem(parser, parser->line,
				       "ioports lists more than %d ranges",
				       CONFIG_MAX_IO_RANGES);
			return false;
		}
		if (!parse_io_range(parser, entry, &ranges[count]) ||
		    !io_range_allowed(parser, ranges, count)) {
			return false;
		}
		count++;
		if (comma == rest.length) {
			break;
		}
		rest = span_make(rest.start + comma + 1, rest.length - comma - 1);
	}
	memcpy(config->ioports, ranges, count * sizeof(ranges[0]));
	config->ioport_count = count;
	return true;
}

/* Indexed by enum tessera_key. */
static const struct key_handler tessera_keys[TESSERA_KEY_COUNT] = {
	[KEY_SERIAL_PORT] = { "serial_port", parse_serial_port },
	[KEY_SERIAL_BAUD] = { "serial_baud", parse_serial_baud },
	[KEY_LOGLEVEL] = { "loglevel", parse_loglevel },
};

/* Indexed by enum partition_key. */
static const struct key_handler partition_keys[PARTITION_KEY_COUNT] = {
	[KEY_MEMORY] = { "memory", parse_memory },
	[KEY_IMAGE] = { "image", parse_image },
	[KEY_ENTRY] = { "entry", parse_entry },
	[KEY_LOAD] = { "load", parse_load },
	[KEY_KERNEL] = { "kernel", parse_kernel },
	[KEY_INITRD] = { "initrd", parse_initrd },
	[KEY_CMDLINE] = { "cmdline", parse_cmdline },
	[KEY_VCPUS] = { "vcpus", parse_vcpus },
	[KEY_ON_CRASH] = { "on_crash", parse_on_crash },
	[KEY_AUTOSTART] = { "autostart", parse_autostart },
	[KEY_TEST_DEVICE] = { "test_device", parse_test_device },
	[KEY_IOPORTS] = { "ioports", parse_ioports },
	[KEY_CONSOLE_BUFFER] = { "console_buffer", parse_console_buffer },
	[KEY_STOP_TIMEOUT] = { "stop_timeout", parse_stop_timeout },
	[KEY_ON_REBOOT] = { "on_reboot", parse_on_reboot },
	[KEY_ON_POWEROFF] = { "on_poweroff", parse_on_poweroff },
};

/** Whether the partition being read has a valid value for key. */
static bool draft_has(const struct parser *parser, enum partition_key key)
{
	return (parser->draft.valid_keys & BIT(key)) != 0;
}

/**
 * Applies key = value in the current section, using that section's key table
 * and the record of lines where its keys were already set.
 */
static void handle_key(struct parser *parser, struct span key,
		       struct span value)
{
	const struct key_handler *table = tessera_keys;
	unsigned int *lines = parser->tessera_key_lines;
	size_t count = TESSERA_KEY_COUNT;
	size_t i = 0;

	if (parser->section == SECTION_PARTITION) {
		table = partition_keys;
		lines = parser->draft.key_lines;
		count = PARTITION_KEY_COUNT;
	}
	while (i < count && !span_equals(key, table[i].name)) {
		i++;
	}
	if (i == count) {
		report_problem(parser, parser->line, "unknown key '%.*s'",
			       SPAN_ARG(key));
	} else if (lines[i] != 0) {
		report_problem(parser, parser->line,
			       "duplicate key '%s' (first set at line %u)",
			       table[i].name, lines[i]);
	} else if (value.length == 0) {
		lines[i] = parser->line;
		report_problem(parser, parser->line, "key '%s' has no value",
			       table[i].name);
	} else {
		lines[i] = parser->line;
		if (table[i].parse(parser, value) &&
		    parser->section == SECTION_PARTITION) {
			parser->draft.valid_keys |= (uint32_t)BIT(i);
		}
	}
}

/** Checks that a guest-physical address key lies in RAM, not in the hole. */
static void check_address(struct parser *parser, enum partition_key key,
			  uint64_t address)
{
	const struct partition_config *config = &parser->draft.config;
	unsigned int line = parser->draft.key_lines[key];
	const char *name = partition_keys[key].name;

	if (!draft_has(parser, key)) {
		return;
	}
	if (draft_has(parser, KEY_MEMORY) && address >= config->memory_bytes) {
		report_problem(parser, line,
			       "%s 0x%llx is outside the partition's RAM (0x0..0x%llx)",
			       name, (unsigned long long)address,
			       (unsigned long long)config->memory_bytes - 1);
	} else if (address >= CONFIG_HOLE_START && address < CONFIG_HOLE_END) {
		report_problem(parser, line,
			       "%s 0x%llx is in the hole 0x%llx..0x%llx (legacy VGA and ROM)",
			       name, (unsigned long long)address,
			       CONFIG_HOLE_START, CONFIG_HOLE_END - 1);
	}
}

/** Reports each key of keys[0, count) set in the section, which does not apply there. */
static void refuse_keys(struct parser *parser, const enum partition_key *keys, size_t count,
			const char *why)
{
	for (size_t i = 0; i < count; i++) {
		unsigned int line = parser->draft.key_lines[keys[i]];

		if (line != 0) {
			report_problem(parser, line, "'%s' %s", partition_keys[keys[i]].name, why);
		}
	}
}

/** Checks a flat-image partition: image and entry set, addresses in RAM. */
static void check_flat_image(struct parser *parser)
{
	static const enum partition_key linux_keys[] = { KEY_INITRD, KEY_CMDLINE };
	struct partition_config *config = &parser->draft.config;

	refuse_keys(parser, linux_keys, ARRAY_SIZE(linux_keys),
		    "needs 'kernel' (it is for a Linux kernel)");
	if (parser->draft.key_lines[KEY_IMAGE] == 0) {
		report_problem(parser, config->line, "missing 'image' (or 'kernel')");
	}
	if (parser->draft.key_lines[KEY_ENTRY] == 0) {
		report_problem(parser, config->line, "missing 'entry'");
	}
	check_address(parser, KEY_ENTRY, config->entry);
	check_address(parser, KEY_LOAD, config->load);
	if (draft_has(parser, KEY_LOAD) && draft_has(parser, KEY_ENTRY) &&
	    config->entry < config->load) {
		/* The image starts at load: below it there is only zeroed RAM. */
		report_problem(parser, parser->draft.key_lines[KEY_ENTRY],
			       "entry 0x%llx is below load 0x%llx, outside the image",
			       (unsigned long long)config->entry,
			       (unsigned long long)config->load);
	}
	if (!draft_has(parser, KEY_LOAD)) {
		config->load = config->entry;
	}
}

/** Checks a partition as a whole: required keys, addresses against RAM. */
static void check_partition(struct parser *parser)
{
	static const enum partition_key flat_keys[] = { KEY_IMAGE, KEY_ENTRY, KEY_LOAD };

	if (parser->draft.key_lines[KEY_MEMORY] == 0) {
		report_problem(parser, parser->draft.config.line, "missing 'memory'");
	}
	if (parser->draft.key_lines[KEY_KERNEL] != 0) {
		/* The boot protocol places the kernel and decides its entry. */
		refuse_keys(parser, flat_keys, ARRAY_SIZE(flat_keys),
			    "is for a flat image; a partition with 'kernel' has none");
		parser->draft.config.format = IMAGE_LINUX;
	} else {
		check_flat_image(parser);
	}
}

/** Closes the current section: a partition is accepted or refused here. */
static void finish_section(struct parser *parser)
{
	struct tessera_config *out = parser->out;

	if (parser->section == SECTION_PARTITION) {
		check_partition(parser);
		/*
		 * At most CONFIG_MAX_PARTITIONS sections are ever declared, so
		 * an accepted one always has a slot.
		 */
		if (parser->draft.failed) {
			out->refused_count++;
		} else {
			parser->ioports_lines[out->partition_count] =
				parser->draft.key_lines[KEY_IOPORTS];
			out->partitions[out->partition_count++] =
				parser->draft.config;
		}
	}
	parser->section = SECTION_NONE;
}

/** The console UART's ports: [tessera] serial_port and the 7 after it. */
static struct io_range console_ports(const struct tessera_config *out)
{
	uint32_t last = (uint32_t)out->serial_port + UART_PORT_COUNT - 1;

	return (struct io_range){ .first = out->serial_port,
				  .last = (uint16_t)MIN(last, IO_PORT_MAX) };
}

/**
 * The first of partitions[0 .. count) that passes a port of range, or NULL;
 * *port is then the lowest port they share.
 */
static const struct partition_config *
find_port_owner(const struct tessera_config *out, unsigned int count,
		struct io_range range, uint16_t *port)
{
	for (unsigned int i = 0; i < count; i++) {
		const struct partition_config *other = &out->partitions[i];

		for (unsigned int r = 0; r < other->ioport_count; r++) {
			if (ranges_overlap(range, other->ioports[r])) {
				*port = first_shared_port(range,
							  other->ioports[r]);
				return other;
			}
		}
	}
	return NULL;
}

/**
 * Whether the ports of partitions[index] are free of the console UART and of
 * the ports of partitions[0 .. kept), those accepted before it; reports the
 * first clash otherwise.
 */
static bool partition_ports_free(struct parser *parser, unsigned int index,
				 unsigned int kept)
{
	const struct tessera_config *out = parser->out;
	const struct partition_config *config = &out->partitions[index];
	struct io_range console = console_ports(out);
	char text[RANGE_TEXT_MAX];

	for (unsigned int r = 0; r < config->ioport_count; r++) {
		struct io_range range = config->ioports[r];
		const struct partition_config *owner;
		uint16_t port = 0;

		if (ranges_overlap(range, console)) {
			report_ports_problem(parser, index,
					     "ioports %s: port 0x%x is never passed through (the console UART, serial_port 0x%x)",
					     range_text(range, text),
					     first_shared_port(range, console),
					     out->serial_port);
			return false;
		}
		owner = find_port_owner(out, kept, range, &port);
		if (owner != NULL) {
			report_ports_problem(parser, index,
					     "ioports %s: port 0x%x is already passed through to partition '%s'",
					     range_text(range, text), port,
					     owner->name);
			return false;
		}
	}
	return true;
}

/**
 * Refuses, in file order, each accepted partition that passes a port of the
 * console UART or of a partition accepted before it; the others move up and
 * keep their order. Runs once the whole file is read, because [tessera]
 * (serial_port) may come after the partitions.
 */
static void check_port_owners(struct parser *parser)
{
	struct tessera_config *out = parser->out;
	unsigned int kept = 0;

	for (unsigned int i = 0; i < out->partition_count; i++) {
		if (!partition_ports_free(parser, i, kept)) {
			out->refused_count++;
			continue;
		}
		if (kept != i) {
			out->partitions[kept] = out->partitions[i];
			parser->ioports_lines[kept] = parser->ioports_lines[i];
		}
		kept++;
	}
	out->partition_count = kept;
}

/** Why name cannot name a partition, or NULL if it can. */
static const char *partition_name_problem(struct span name)
{
	if (name.length >= CONFIG_NAME_MAX) {
		return "is longer than 31 characters";
	}
	for (size_t i = 0; i < name.length; i++) {
		char c = ascii_lower(name.start[i]);

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-')) {
			return "may only contain letters, digits, '_' and '-'";
		}
	}
	return NULL;
}

/** Whether a [partition] with this name was already declared. */
static bool name_declared(const struct parser *parser, struct span name)
{
	for (unsigned int i = 0; i < parser->declared_count; i++) {
		const char *declared = parser->declared_names[i];

		if (strlen(declared) == name.length &&
		    memcmp(declared, name.start, name.length) == 0) {
			return true;
		}
	}
	return false;
}

/** Whether name can start a new partition; reports why not otherwise. */
static bool partition_name_acceptable(struct parser *parser, struct span name)
{
	const char *problem = partition_name_problem(name);

	if (name.length == 0) {
		report_problem(parser, parser->line,
			       "partition section has no name (write [partition NAME])");
	} else if (problem != NULL) {
		report_problem(parser, parser->line, "partition name '%.*s' %s",
			       SPAN_ARG(name), problem);
	} else if (name_declared(parser, name)) {
		report_problem(parser, parser->line,
			       "duplicate partition name '%.*s'", SPAN_ARG(name));
	} else if (parser->declared_count == CONFIG_MAX_PARTITIONS) {
		report_problem(parser, parser->line,
			       "too many partitions (at most %d): '%.*s' is refused",
			       CONFIG_MAX_PARTITIONS, SPAN_ARG(name));
	} else {
		return true;
	}
	return false;
}

/** Opens a [partition NAME] section with every optional key at its default. */
static void begin_partition(struct parser *parser, struct span name)
{
	struct partition_draft *draft = &parser->draft;

	if (!partition_name_acceptable(parser, name)) {
		parser->out->refused_count++;
		return;
	}
	memcpy(parser->declared_names[parser->declared_count], name.start,
	       name.length);
	parser->declared_names[parser->declared_count][name.length] = '\0';
	parser->declared_count++;

	memset(draft, 0, sizeof(*draft));
	memcpy(draft->config.name, name.start, name.length);
	draft->config.name[name.length] = '\0';
	draft->config.vcpus = 1;
	draft->config.on_crash = CRASH_STOP;
	draft->config.on_reboot = GUEST_END_RESTART;
	draft->config.on_poweroff = GUEST_END_STOP;
	draft->config.autostart = true;
	draft->config.console_buffer_bytes = CONFIG_DEFAULT_CONSOLE_BUFFER;
	draft->config.stop_timeout_s = CONFIG_DEFAULT_STOP_TIMEOUT;
	draft->config.line = parser->line;
	parser->section = SECTION_PARTITION;
}

/** Handles a "[...]" line: closes the current section, opens the next. */
static void handle_section_header(struct parser *parser, struct span header)
{
	struct span inner;
	struct span keyword;

	finish_section(parser);
	/* Until the header proves valid, the lines below it are skipped. */
	parser->section = SECTION_SKIPPED;
	if (header.start[header.length - 1] != ']') {
		report_problem(parser, parser->line,
			       "section header has no closing ']'");
		return;
	}
	inner = span_trim(span_make(header.start + 1, header.length - 2));
	keyword = span_make(inner.start, 0);
	while (keyword.length < inner.length &&
	       !is_blank(inner.start[keyword.length])) {
		keyword.length++;
	}
	if (span_equals(inner, "tessera")) {
		parser->section = SECTION_TESSERA;
	} else if (span_equals(keyword, "partition")) {
		begin_partition(parser,
				span_trim(span_make(inner.start + keyword.length,
						    inner.length - keyword.length)));
	} else {
		report_problem(parser, parser->line,
			       "unknown section '[%.*s]' (expected [tessera] or [partition NAME])",
			       SPAN_ARG(inner));
	}
}

/**
 * Refuses a line that is too long or holds control characters (binary junk,
 * a stray CR): such a line cannot be shown or trusted. Tabs are blanks.
 */
static bool line_is_text(struct parser *parser, struct span line)
{
	if (line.length > CONFIG_LINE_MAX) {
		report_problem(parser, parser->line,
			       "line is longer than %d characters",
			       CONFIG_LINE_MAX);
		return false;
	}
	for (size_t i = 0; i < line.length; i++) {
		unsigned char c = (unsigned char)line.start[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			report_problem(parser, parser->line,
				       "line contains control character 0x%02x at column %zu",
				       c, i + 1);
			return false;
		}
	}
	return true;
}

/** Parses one line, without its line ending. */
static void parse_line(struct parser *parser, struct span line)
{
	struct span content;
	size_t equals;

	if (!line_is_text(parser, line)) {
		return;
	}
	content = span_trim(span_make(line.start, span_find(line, '#')));
	if (content.length == 0) {
		return;
	}
	if (content.start[0] == '[') {
		handle_section_header(parser, content);
		return;
	}
	equals = span_find(content, '=');
	if (equals == 0 || equals == content.length) {
		report_problem(parser, parser->line,
			       "line is not 'key = value' nor a [section]");
		return;
	}
	if (parser->section == SECTION_NONE) {
		report_problem(parser, parser->line,
			       "key '%.*s' is outside any section (put it under [tessera] or [partition NAME])",
			       SPAN_ARG(span_trim(span_make(content.start, equals))));
	} else if (parser->section != SECTION_SKIPPED) {
		handle_key(parser, span_trim(span_make(content.start, equals)),
			   span_trim(span_make(content.start + equals + 1,
					       content.length - equals - 1)));
	}
}

/** Sets the [tessera] defaults and empties the partition list and counts. */
void config_set_defaults(struct tessera_config *out)
{
	memset(out, 0, sizeof(*out));
	out->serial_port = CONFIG_DEFAULT_SERIAL_PORT;
	out->serial_baud = CONFIG_DEFAULT_SERIAL_BAUD;
	out->loglevel = CONFIG_DEFAULT_LOGLEVEL;
}

/** Length of the UTF-8 byte order mark Notepad may put first, or 0. */
static size_t byte_order_mark_length(const char *text, size_t length)
{
	static const char mark[] = "\xef\xbb\xbf";

	if (length >= 3 && memcmp(text, mark, 3) == 0) {
		return 3;
	}
	return 0;
}

/** Fills *out with defaults, then parses text; returns the problem count. */
unsigned int config_parse(const char *file_name, const char *text,
			  size_t length, struct tessera_config *out,
			  config_report_fn report, void *ctx)
{
	struct parser parser = {
		.file_name = file_name != NULL ? file_name : "(config)",
		.report = report,
		.ctx = ctx,
		.out = out,
	};
	size_t position;

	config_set_defaults(out);
	if (text == NULL) {
		length = 0;
	}
	position = byte_order_mark_length(text, length);
	while (position < length) {
		struct span rest = span_make(text + position, length - position);
		struct span line = span_make(rest.start, span_find(rest, '\n'));

		position += line.length + 1;
		if (line.length > 0 && line.start[line.length - 1] == '\r') {
			line.length--;
		}
		parser.line++;
		parse_line(&parser, line);
	}
	finish_section(&parser);
	check_port_owners(&parser);
	return out->error_count;
}

/* ------------------------------------------------------------------------
 * The settings in effect, for the operator's "config"
 * ------------------------------------------------------------------------ */

/** Writes a size as the parser reads it: the largest exact suffix, e.g. 16M. */
static void format_size(char *out, size_t size, uint64_t bytes)
{
	static const char suffixes[] = { 'G', 'M', 'K' };
	static const unsigned int shifts[] = { 30, 20, 10 };

	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		if (bytes != 0 && IS_ALIGNED(bytes, 1ULL << shifts[i])) {
			format_snprintf(out, size, "%llu%c", (unsigned long long)(bytes >> shifts[i]),
					suffixes[i]);
			return;
		}
	}
	format_snprintf(out, size, "%llu", (unsigned long long)bytes);
}

/** Writes an ioports list as the parser reads it, or "none". */
static void format_ioports(char *out, size_t size, const struct partition_config *p)
{
	size_t used = 0;

	out[0] = '\0';
	if (p->ioport_count == 0) {
		strlcpy(out, "none", size);
		return;
	}
	for (unsigned int i = 0; i < p->ioport_count && used < size; i++) {
		char text[RANGE_TEXT_MAX];
		int n = format_snprintf(out + used, size - used, "%s%s", i > 0 ? ", " : "",
					range_text(p->ioports[i], text));

		used += n > 0 ? (size_t)n : 0;
	}
}

/** Writes the [tessera] key number @key; false past the last. */
static bool tessera_setting(const struct tessera_config *config, unsigned int key,
			    struct config_setting *out)
{
	static const char *const levels[] = { "error", "warn", "info", "debug" };

	if (key >= TESSERA_KEY_COUNT) {
		return false;
	}
	strlcpy(out->section, "tessera", sizeof(out->section));
	out->key = tessera_keys[key].name;
	switch ((enum tessera_key)key) {
	case KEY_SERIAL_PORT:
		format_snprintf(out->value, sizeof(out->value), "0x%x", config->serial_port);
		break;
	case KEY_SERIAL_BAUD:
		format_snprintf(out->value, sizeof(out->value), "%u", config->serial_baud);
		break;
	default:
		strlcpy(out->value, (unsigned int)config->loglevel < ARRAY_SIZE(levels) ?
			levels[config->loglevel] : "info", sizeof(out->value));
		break;
	}
	return true;
}

/** Whether config_setting_at() lists key for partition p (see config.h). */
static bool partition_key_listed(const struct partition_config *p, enum partition_key key)
{
	bool is_linux = p->format == IMAGE_LINUX;

	switch (key) {
	case KEY_IMAGE:
	case KEY_ENTRY:
	case KEY_LOAD:
		return !is_linux;
	case KEY_KERNEL:
		return is_linux;
	case KEY_INITRD:
		return is_linux && p->initrd[0] != '\0';
	case KEY_CMDLINE:
		return is_linux && p->cmdline[0] != '\0';
	default:
		return true;
	}
}

/** The value of a key that names a choice: on_crash, on_*, autostart, test_device. */
static const char *partition_choice(const struct partition_config *p, enum partition_key key)
{
	switch (key) {
	case KEY_ON_CRASH:
		return p->on_crash == CRASH_RESTART ? "restart" : "stop";
	case KEY_ON_REBOOT:
		return p->on_reboot == GUEST_END_RESTART ? "restart" : "stop";
	case KEY_ON_POWEROFF:
		return p->on_poweroff == GUEST_END_RESTART ? "restart" : "stop";
	case KEY_AUTOSTART:
		return p->autostart ? "yes" : "no";
	default:
		return p->test_device ? "yes" : "no";
	}
}

/** Writes key @key of partition @p. */
static void partition_setting(const struct partition_config *p, enum partition_key key,
			      struct config_setting *out)
{
	char *value = out->value;
	size_t size = sizeof(out->value);

	format_snprintf(out->section, sizeof(out->section), "partition %s", p->name);
	out->key = partition_keys[key].name;
	switch (key) {
	case KEY_MEMORY:
		format_size(value, size, p->memory_bytes);
		break;
	case KEY_IMAGE:
	case KEY_KERNEL:
		strlcpy(value, p->image, size);
		break;
	case KEY_INITRD:
		strlcpy(value, p->initrd, size);
		break;
	case KEY_CMDLINE:
		strlcpy(value, p->cmdline, size);
		break;
	case KEY_ENTRY:
	case KEY_LOAD:
		format_snprintf(value, size, "0x%llx",
				(unsigned long long)(key == KEY_ENTRY ? p->entry : p->load));
		break;
	case KEY_VCPUS:
		format_snprintf(value, size, "%u", p->vcpus);
		break;
	case KEY_IOPORTS:
		format_ioports(value, size, p);
		break;
	case KEY_CONSOLE_BUFFER:
		format_size(value, size, p->console_buffer_bytes);
		break;
	case KEY_STOP_TIMEOUT:
		format_snprintf(value, size, "%u", p->stop_timeout_s);
		break;
	default:
		strlcpy(value, partition_choice(p, key), size);
		break;
	}
}

/** Fills *out with setting number @index of @config; false past the last. */
bool config_setting_at(const struct tessera_config *config, unsigned int index,
		       struct config_setting *out)
{
	memset(out, 0, sizeof(*out));
	if (index < TESSERA_KEY_COUNT) {
		return tessera_setting(config, index, out);
	}
	index -= TESSERA_KEY_COUNT;
	for (unsigned int i = 0; i < config->partition_count; i++) {
		const struct partition_config *p = &config->partitions[i];

		for (unsigned int key = 0; key < PARTITION_KEY_COUNT; key++) {
			if (!partition_key_listed(p, (enum partition_key)key)) {
				continue;
			}
			if (index == 0) {
				partition_setting(p, (enum partition_key)key, out);
				return true;
			}
			index--;
		}
	}
	return false;
}
