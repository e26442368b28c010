/*
 * Host tests of hv/shell.c: the operator's shell on the serial line.
 *
 * A fake backend with three partitions (one with a hostile name and hostile
 * console output) stands in for the hypervisor; a capturing writer receives
 * everything the shell writes. The line editor is checked against the bytes a
 * terminal expects, every command against its exact text reply and error
 * line, and JSON mode against one object per line with sequence numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/shell.h"

#define PROMPT "tessera> "
#define HOSTILE_NAME "ev\"il\\"
#define HOSTILE_REASON "bad\x1b[2J\r\nstop"

/* Everything the shell wrote since the last reset, NUL-terminated. */
struct capture {
	char text[32768];
	size_t length;
};

/** The fake hypervisor: partitions, their logs and what was asked of it. */
struct fake_backend {
	struct shell_partition_info partitions[3];
	const char *logs[3];
	uint64_t exit_counts[3][EXIT_REASON_COUNT];
	unsigned int actions;          /* calls of any action */
	unsigned int last_action_index;
	bool refuse_actions;
	enum log_level level;
};

static struct capture captured;
static struct fake_backend fake;
static struct shell shell;

/** The writer of the tests: appends to captured. */
static void capture_write(void *ctx, const char *buf, size_t len)
{
	struct capture *c = ctx;

	assert_true(len < sizeof(c->text) - c->length);
	memcpy(c->text + c->length, buf, len);
	c->length += len;
	c->text[c->length] = '\0';
}

/** Fake partition_count. */
static unsigned int fake_partition_count(void *ctx)
{
	return 3;
}

/** Fake partition_info. */
static bool fake_partition_info(void *ctx, unsigned int index, struct shell_partition_info *out)
{
	struct fake_backend *f = ctx;

	if (index >= 3) {
		return false;
	}
	*out = f->partitions[index];
	return true;
}

/** Fake action: records the call, refuses when told to. */
static bool fake_action(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct fake_backend *f = ctx;

	f->actions++;
	f->last_action_index = index;
	if (f->refuse_actions) {
		snprintf(error, error_size, "image is gone");
		return false;
	}
	return true;
}

/** Fake log_length. */
static size_t fake_log_length(void *ctx, unsigned int index)
{
	struct fake_backend *f = ctx;

	return strlen(f->logs[index]);
}

/** Fake log_read: hands out at most 5 bytes per call, to exercise the loop. */
static size_t fake_log_read(void *ctx, unsigned int index, size_t offset, char *buf, size_t size)
{
	struct fake_backend *f = ctx;
	size_t length = strlen(f->logs[index]);
	size_t count = offset >= length ? 0 : length - offset;

	count = count < size ? count : size;
	count = count < 5 ? count : 5;
	memcpy(buf, f->logs[index] + offset, count);
	return count;
}

/** Fake exit_counts. */
static bool fake_exit_counts(void *ctx, unsigned int index, uint64_t counts[EXIT_REASON_COUNT])
{
	struct fake_backend *f = ctx;

	for (unsigned int i = 0; i < EXIT_REASON_COUNT; i++) {
		counts[i] += f->exit_counts[index][i];
	}
	return true;
}

/** Fake recent_exits: two records. */
static unsigned int fake_recent_exits(void *ctx, unsigned int index, struct shell_exit_record *out,
				      unsigned int max)
{
	assert_true(max >= 2);
	out[0] = (struct shell_exit_record){ .vcpu = 0, .reason = EXIT_REASON_HLT,
					     .guest_rip = 0x100010 };
	out[1] = (struct shell_exit_record){ .vcpu = 1, .reason = EXIT_REASON_EPT_VIOLATION,
					     .qualification = 0x181, .guest_rip = 0x100020,
					     .gpa = 0xfee00000 };
	return 2;
}

/** Fake audit. */
static void fake_audit(void *ctx, struct shell_audit_result *out)
{
	*out = (struct shell_audit_result){ .partitions = 2, .leaves = 40,
					    .mapped_bytes = 96ULL << 20, .problems = 0 };
}

/** Fake memmap_entry: two ranges. */
static bool fake_memmap_entry(void *ctx, unsigned int index, struct shell_memmap_entry *out)
{
	if (index == 0) {
		*out = (struct shell_memmap_entry){ .start = 0x100000, .size = 1 << 20,
						    .owner = "hypervisor" };
		return true;
	}
	if (index == 1) {
		*out = (struct shell_memmap_entry){ .start = 0x200000, .size = 64 << 20,
						    .owner = "web" };
		return true;
	}
	return false;
}

/** Fake config_entry: two settings. */
static bool fake_config_entry(void *ctx, unsigned int index, struct shell_config_entry *out)
{
	if (index == 0) {
		*out = (struct shell_config_entry){ .section = "global", .key = "loglevel",
						    .value = "info" };
		return true;
	}
	if (index == 1) {
		*out = (struct shell_config_entry){ .section = "web", .key = "memory",
						    .value = "64M" };
		return true;
	}
	return false;
}

/** Fake get_loglevel. */
static enum log_level fake_get_loglevel(void *ctx)
{
	return ((struct fake_backend *)ctx)->level;
}

/** Fake set_loglevel. */
static void fake_set_loglevel(void *ctx, enum log_level level)
{
	((struct fake_backend *)ctx)->level = level;
}

static const struct shell_backend full_backend = {
	.partition_count = fake_partition_count,
	.partition_info = fake_partition_info,
	.start = fake_action,
	.stop = fake_action,
	.force_stop = fake_action,
	.restart = fake_action,
	.pause = fake_action,
	.resume = fake_action,
	.log_length = fake_log_length,
	.log_read = fake_log_read,
	.exit_counts = fake_exit_counts,
	.recent_exits = fake_recent_exits,
	.audit = fake_audit,
	.memmap_entry = fake_memmap_entry,
	.config_entry = fake_config_entry,
	.get_loglevel = fake_get_loglevel,
	.set_loglevel = fake_set_loglevel,
};

static const struct shell_backend empty_backend = { 0 };

/** A fresh fake backend, shell and capture. */
static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fake.partitions[0] = (struct shell_partition_info){
		.name = "web", .state = SHELL_STATE_RUNNING, .vcpus = 2,
		.memory_bytes = 64ULL << 20, .uptime_ms = 12345, .exits = 1500, .restarts = 1 };
	fake.partitions[1] = (struct shell_partition_info){
		.name = "db", .state = SHELL_STATE_STOPPED, .vcpus = 1, .memory_bytes = 32ULL << 20,
		.exits = 7, .stop_reason = "triple fault" };
	fake.partitions[2] = (struct shell_partition_info){
		.name = HOSTILE_NAME, .state = SHELL_STATE_PAUSED, .vcpus = 1,
		.memory_bytes = 16ULL << 20, .stop_reason = HOSTILE_REASON };
	fake.logs[0] = "hello from web\nsecond line\n";
	fake.logs[1] = "";
	fake.logs[2] = "bad \"q\" \\ \x01\x1b[31m\xff end";
	fake.exit_counts[0][EXIT_REASON_HLT] = 1000;
	fake.exit_counts[0][EXIT_REASON_IO_INSTRUCTION] = 500;
	fake.exit_counts[1][EXIT_REASON_HLT] = 7;
	fake.level = LOG_INFO;
	memset(&captured, 0, sizeof(captured));
	memset(&shell, 0x5a, sizeof(shell));
	shell_init(&shell, &full_backend, &fake, capture_write, &captured);
	return 0;
}

/** Forgets what was captured. */
static void clear(void)
{
	captured.length = 0;
	captured.text[0] = '\0';
}

/** Feeds a string to the shell. */
static void type(const char *text)
{
	shell_input(&shell, text, strlen(text));
}

/**
 * Runs one command line in text mode and returns the reply alone: checks and
 * strips the echo before it and the prompt after it.
 */
static const char *run(const char *line)
{
	static char reply[sizeof(captured.text)];
	size_t line_length = strlen(line);

	clear();
	type(line);
	type("\r");
	assert_true(captured.length >= line_length + 2 + strlen(PROMPT));
	assert_memory_equal(captured.text, line, line_length);
	assert_memory_equal(captured.text + line_length, "\r\n", 2);
	assert_string_equal(captured.text + captured.length - strlen(PROMPT), PROMPT);
	size_t reply_length = captured.length - line_length - 2 - strlen(PROMPT);

	memcpy(reply, captured.text + line_length + 2, reply_length);
	reply[reply_length] = '\0';
	return reply;
}

/** Runs one line in JSON mode and returns what was written (no echo, no prompt). */
static const char *run_json(const char *line)
{
	clear();
	type(line);
	type("\n");
	return captured.text;
}

/** Switches the shell to JSON mode and forgets the reply. */
static void enter_json_mode(void)
{
	type("mode json\r");
	clear();
}

/* ------------------------------------------------------------------------
 * Line editing
 * ------------------------------------------------------------------------ */

/** shell_prompt shows the prompt; init writes nothing. */
static void test_shell_prompt(void **state)
{
	assert_int_equal(captured.length, 0);
	shell_prompt(&shell);
	assert_string_equal(captured.text, PROMPT);
}

/** Printable characters are echoed, Enter on an empty line just prompts again. */
static void test_shell_echo_and_empty_line(void **state)
{
	type("ab");
	assert_string_equal(captured.text, "ab");
	clear();
	shell_input(&shell, "\r", 1);
	clear();
	type("\r");
	assert_string_equal(captured.text, "\r\n" PROMPT);
	assert_int_equal(shell.sequence, 1);
}

/** Backspace and DEL erase one character; at the line start they do nothing. */
static void test_shell_backspace_and_delete(void **state)
{
	type("\b\x7f");
	assert_string_equal(captured.text, "");
	type("verx\x7fsionn\b");
	assert_string_equal(shell.line, "version");
	assert_string_equal(captured.text, "verx\b \bsionn\b \b");
	assert_string_equal(run(""), "Tessera " TESSERA_VERSION "\n");
	clear();
	type("versio\b\bion\r");
	assert_string_equal(captured.text, "versio\b \b\b \bion\r\nTessera " TESSERA_VERSION "\n" PROMPT);
}

/** Ctrl-U erases the whole line; Ctrl-C abandons it and prompts anew. */
static void test_shell_ctrl_u_and_ctrl_c(void **state)
{
	type("abc\x15");
	assert_string_equal(captured.text, "abc\b \b\b \b\b \b");
	assert_int_equal(shell.line_length, 0);
	clear();
	type("list\x03");
	assert_string_equal(captured.text, "list^C\r\n" PROMPT);
	assert_int_equal(shell.line_length, 0);
	assert_int_equal(shell.sequence, 0);
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** CR LF runs the line once; a lone LF runs it too. */
static void test_shell_crlf_runs_once(void **state)
{
	type("version\r\n");
	assert_int_equal(shell.sequence, 1);
	type("version\n");
	assert_int_equal(shell.sequence, 2);
	type("\n\n");
	assert_int_equal(shell.sequence, 2);
}

/** Up and down walk the history; the typed draft comes back past the newest. */
static void test_shell_history_up_down(void **state)
{
	run("version");
	run("help");
	clear();
	type("dra");
	type("\x1b[A");
	assert_string_equal(shell.line, "help");
	type("\x1b[A");
	assert_string_equal(shell.line, "version");
	type("\x1b[A"); /* oldest: stays, rings the bell */
	assert_string_equal(shell.line, "version");
	type("\x1b[B");
	assert_string_equal(shell.line, "help");
	type("\x1b[B");
	assert_string_equal(shell.line, "dra");
	type("\x1b[B"); /* already at the draft */
	assert_string_equal(shell.line, "dra");
	assert_non_null(strstr(captured.text, "\b \b\b \b\b \bhelp"));
}

/** Up with no history rings the bell; SS3 arrows (ESC O A) work too. */
static void test_shell_history_edges(void **state)
{
	type("\x1b[A");
	assert_string_equal(captured.text, "\a");
	assert_string_equal(shell.line, "");
	run("version");
	run("version"); /* a repeat is kept once */
	assert_int_equal(shell.history_count, 1);
	type("\x1bOA");
	assert_string_equal(shell.line, "version");
	clear();
	type("\r");
	assert_int_equal(shell.sequence, 3);
}

/** The history keeps the newest SHELL_HISTORY_MAX lines. */
static void test_shell_history_wraps(void **state)
{
	char line[32];

	for (unsigned int i = 0; i < SHELL_HISTORY_MAX + 3; i++) {
		snprintf(line, sizeof(line), "info n%u", i);
		run(line);
	}
	assert_int_equal(shell.history_count, SHELL_HISTORY_MAX);
	for (unsigned int i = 0; i < SHELL_HISTORY_MAX + 2; i++) {
		type("\x1b[A");
	}
	snprintf(line, sizeof(line), "info n%u", 3);
	assert_string_equal(shell.line, line);
}

/** An overlong line gives one error line; the next line works. */
static void test_shell_overlong_line(void **state)
{
	char line[SHELL_LINE_MAX + 40];

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	type(line);
	assert_int_equal(shell.line_length, SHELL_LINE_MAX - 1);
	clear();
	type("\r");
	assert_string_equal(captured.text,
			    "\r\nerror: line too long (at most 127 characters); ignored\n" PROMPT);
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** Ctrl-U after an overflow gives a fresh, usable line. */
static void test_shell_overlong_then_ctrl_u(void **state)
{
	char line[SHELL_LINE_MAX + 5];

	memset(line, 'y', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	type(line);
	type("\x15");
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** NUL, control bytes, high bytes and unknown escape sequences are ignored. */
static void test_shell_garbage_ignored(void **state)
{
	static const char garbage[] = "ve\0r\x01\x02\x80\xff\x1b[5~\x1b[1;5C\x1bxs\x1b[Zion";

	shell_input(&shell, garbage, sizeof(garbage) - 1);
	assert_string_equal(shell.line, "version");
	assert_string_equal(captured.text, "version");
}

/** An endless escape sequence is dropped; Ctrl-C inside one still cancels. */
static void test_shell_endless_escape(void **state)
{
	char bytes[300];

	bytes[0] = 0x1b;
	bytes[1] = '[';
	memset(bytes + 2, '1', sizeof(bytes) - 2);
	shell_input(&shell, bytes, sizeof(bytes));
	assert_int_equal(shell.escape, SHELL_ESCAPE_NONE);
	type("\x1b[12\x03");
	assert_int_equal(shell.escape, SHELL_ESCAPE_NONE);
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** Every byte value in any order leaves the shell usable. */
static void test_shell_all_bytes_survive(void **state)
{
	char bytes[256 * 3];

	for (unsigned int i = 0; i < sizeof(bytes); i++) {
		bytes[i] = (char)((i * 37 + 11) & 0xff);
	}
	shell_input(&shell, bytes, sizeof(bytes));
	type("\x03");
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** Two shells are independent. */
static void test_shell_instances_independent(void **state)
{
	struct capture other_capture = { .length = 0 };
	struct shell other;

	shell_init(&other, &full_backend, &fake, capture_write, &other_capture);
	type("lis");
	shell_input(&other, "ver", 3);
	assert_string_equal(shell.line, "lis");
	assert_string_equal(other.line, "ver");
	assert_string_equal(other_capture.text, "ver");
}

/* ------------------------------------------------------------------------
 * Commands in text mode
 * ------------------------------------------------------------------------ */

/** help lists every command with one line. */
static void test_shell_help(void **state)
{
	static const char *const names[] = { "help", "version", "list", "info", "start",
					     "stop", "restart", "pause", "resume", "log",
					     "stats", "trace", "audit", "memmap", "config",
					     "loglevel", "mode" };
	const char *reply = run("help");
	unsigned int lines = 0;

	for (const char *c = reply; *c != '\0'; c++) {
		lines += *c == '\n';
	}
	assert_int_equal(lines, sizeof(names) / sizeof(names[0]));
	for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char needle[32];

		snprintf(needle, sizeof(needle), "  %-8s ", names[i]);
		assert_non_null(strstr(reply, needle));
	}
}

/** list: a header and one row per partition, hostile name made harmless. */
static void test_shell_list(void **state)
{
	const char *reply = run("list");

	assert_string_equal(reply,
		"NAME             STATE    VCPUS     MEMORY       UPTIME        EXITS RESTARTS  LAST STOP\n"
		"web              running      2     64 MiB      12.345s         1500        1  -\n"
		"db               stopped      1     32 MiB       0.000s            7        0  triple fault\n"
		"ev\"il\\           paused       1     16 MiB       0.000s            0        0  bad?[2J??stop\n");
}

/** info NAME: one field per line. */
static void test_shell_info(void **state)
{
	assert_string_equal(run("info db"),
			    "name:      db\n"
			    "state:     stopped\n"
			    "vcpus:     1\n"
			    "memory:    32 MiB\n"
			    "uptime:    0.000s\n"
			    "exits:     7\n"
			    "restarts:  0\n"
			    "last stop: triple fault\n");
}

/** Unknown command, unknown partition and wrong argument counts are one line each. */
static void test_shell_errors(void **state)
{
	assert_string_equal(run("frobnicate now"), "error: unknown command 'frobnicate' (try help)\n");
	assert_string_equal(run("info nosuch"), "error: info: no partition named 'nosuch'\n");
	assert_string_equal(run("info"), "error: info: wrong number of arguments (usage: info NAME)\n");
	assert_string_equal(run("list extra"),
			    "error: list: wrong number of arguments (usage: list)\n");
	assert_string_equal(run("stop a b c d e"),
			    "error: stop: wrong number of arguments (usage: stop [-f] NAME)\n");
	assert_string_equal(run("stop -x web"),
			    "error: stop: unknown option '-x' (usage: stop [-f] NAME)\n");
	assert_string_equal(run("mode xml"), "error: mode: unknown mode 'xml' (json or text)\n");
}

/** Actions reach the backend for the right partition and state. */
static void test_shell_actions(void **state)
{
	assert_string_equal(run("start db"), "db: started\n");
	assert_int_equal(fake.last_action_index, 1);
	assert_string_equal(run("stop web"), "web: stopped\n");
	assert_string_equal(run("stop -f web"), "web: stopped (forced)\n");
	assert_string_equal(run("restart db"), "db: restarted\n");
	assert_string_equal(run("pause web"), "web: paused\n");
	assert_string_equal(run("  resume   " HOSTILE_NAME "  "), "ev\"il\\: resumed\n");
	assert_int_equal(fake.last_action_index, 2);
	assert_int_equal(fake.actions, 6);
}

/** Actions on a partition in the wrong state are refused before the backend. */
static void test_shell_action_wrong_state(void **state)
{
	assert_string_equal(run("start web"), "error: start: web is running\n");
	assert_string_equal(run("stop db"), "error: stop: db is stopped\n");
	assert_string_equal(run("pause db"), "error: pause: db is stopped\n");
	assert_string_equal(run("resume web"), "error: resume: web is running\n");
	assert_string_equal(run("start nosuch"), "error: start: no partition named 'nosuch'\n");
	assert_int_equal(fake.actions, 0);
}

/** A backend refusal comes back as one error line with its reason. */
static void test_shell_action_refused(void **state)
{
	fake.refuse_actions = true;
	assert_string_equal(run("restart db"), "error: restart: db: image is gone\n");
	assert_int_equal(fake.actions, 1);
}

/** log replays all kept output, or the newest BYTES of it; bad numbers refused. */
static void test_shell_log(void **state)
{
	assert_string_equal(run("log web"), "hello from web\nsecond line\n");
	assert_string_equal(run("log web 12"), "second line\n");
	assert_string_equal(run("log web 5"), "line\n");
	assert_string_equal(run("log web 0"), "(no console output kept)\n");
	assert_string_equal(run("log db"), "(no console output kept)\n");
	assert_string_equal(run("log web 12x"), "error: log: bad number '12x'\n");
	assert_string_equal(run("log web 99999999999999999999"),
			    "error: log: bad number '99999999999999999999'\n");
	assert_string_equal(run("log web -1"), "error: log: bad number '-1'\n");
}

/** log of hostile output: no escape byte reaches the terminal, a newline ends it. */
static void test_shell_log_hostile_text(void **state)
{
	assert_string_equal(run("log " HOSTILE_NAME), "bad \"q\" \\ ??[31m? end\n");
}

/** stats: exits by reason, of one partition or of all. */
static void test_shell_stats(void **state)
{
	assert_string_equal(run("stats web"),
			    "exits of web: 1500\n"
			    "  HLT                           12         1000\n"
			    "  IO_INSTRUCTION                30          500\n");
	assert_string_equal(run("stats"),
			    "exits of all partitions: 1507\n"
			    "  HLT                           12         1007\n"
			    "  IO_INSTRUCTION                30          500\n");
}

/** trace: the remembered exits with reason names. */
static void test_shell_trace(void **state)
{
	assert_string_equal(run("trace web"),
		"VCPU  REASON                       RIP                QUALIFICATION      GPA\n"
		"   0  HLT                          0x0000000000100010 0x0000000000000000 0x0000000000000000\n"
		"   1  EPT_VIOLATION                0x0000000000100020 0x0000000000000181 0x00000000fee00000\n");
}

/** version, audit, memmap, config. */
static void test_shell_system_commands(void **state)
{
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
	assert_string_equal(run("audit"),
			    "audit: 2 partitions, 40 EPT leaves, 96 MiB mapped, 0 problems\n");
	assert_string_equal(run("memmap"),
			    "0x0000000000100000-0x00000000001fffff      1 MiB  hypervisor\n"
			    "0x0000000000200000-0x00000000041fffff     64 MiB  web\n");
	assert_string_equal(run("config"), "global.loglevel = info\nweb.memory = 64M\n");
}

/** loglevel shows and sets the level; an unknown level is one error line. */
static void test_shell_loglevel(void **state)
{
	assert_string_equal(run("loglevel"), "loglevel: info\n");
	assert_string_equal(run("loglevel debug"), "loglevel: debug\n");
	assert_int_equal(fake.level, LOG_DEBUG);
	assert_string_equal(run("loglevel loud"),
			    "error: loglevel: unknown level 'loud' (error, warn, info, debug)\n");
	assert_int_equal(fake.level, LOG_DEBUG);
}

/** With an empty backend every command that needs it says so in one line. */
static void test_shell_not_available(void **state)
{
	static const char *const lines[] = { "list", "info web", "start web", "stop web",
					     "stop -f web", "restart web", "pause web",
					     "resume web", "log web", "stats", "stats web",
					     "trace web", "audit", "memmap", "config",
					     "loglevel", "loglevel info" };
	char expected[96];

	shell_init(&shell, &empty_backend, NULL, capture_write, &captured);
	for (unsigned int i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char command[16];

		sscanf(lines[i], "%15s", command);
		snprintf(expected, sizeof(expected), "error: %s: not available in this build\n",
			 command);
		assert_string_equal(run(lines[i]), expected);
	}
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/* ------------------------------------------------------------------------
 * JSON mode
 * ------------------------------------------------------------------------ */

/** mode json: replies become JSON lines with sequence numbers, no echo or prompt. */
static void test_shell_json_mode_and_sequence(void **state)
{
	type("mode json\r");
	assert_string_equal(captured.text, "mode json\r\n"
			    "{\"seq\":1,\"status\":\"ok\",\"reply\":\"mode\",\"mode\":\"json\"}\n");
	assert_string_equal(run_json("version"),
			    "{\"seq\":2,\"status\":\"ok\",\"reply\":\"version\",\"version\":\""
			    TESSERA_VERSION "\"}\n");
	assert_string_equal(run_json("nope"),
			    "{\"seq\":3,\"status\":\"error\",\"reply\":\"nope\","
			    "\"error\":\"unknown command 'nope' (try help)\"}\n");
	assert_string_equal(run_json("\x1b[Z\x01"), "");
	assert_string_equal(run_json("start web"),
			    "{\"seq\":4,\"status\":\"error\",\"reply\":\"start\","
			    "\"error\":\"start: web is running\"}\n");
}

/** mode text switches back: echo, prompt and text replies again. */
static void test_shell_json_mode_text_back(void **state)
{
	enter_json_mode();
	assert_string_equal(run_json("mode text"), "mode: text\n" PROMPT);
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
}

/** list in JSON: every partition, hostile name escaped. */
static void test_shell_json_list(void **state)
{
	enter_json_mode();
	assert_string_equal(run_json("list"),
		"{\"seq\":2,\"status\":\"ok\",\"reply\":\"list\",\"partitions\":["
		"{\"name\":\"web\",\"state\":\"running\",\"vcpus\":2,\"memory_bytes\":67108864,"
		"\"uptime_ms\":12345,\"exits\":1500,\"restarts\":1,\"stop_reason\":\"\"},"
		"{\"name\":\"db\",\"state\":\"stopped\",\"vcpus\":1,\"memory_bytes\":33554432,"
		"\"uptime_ms\":0,\"exits\":7,\"restarts\":0,\"stop_reason\":\"triple fault\"},"
		"{\"name\":\"ev\\\"il\\\\\",\"state\":\"paused\",\"vcpus\":1,"
		"\"memory_bytes\":16777216,\"uptime_ms\":0,\"exits\":0,\"restarts\":0,"
		"\"stop_reason\":\"bad\\u001b[2J\\r\\nstop\"}]}\n");
}

/** Hostile console output is escaped in a JSON log reply. */
static void test_shell_json_log_escaping(void **state)
{
	enter_json_mode();
	assert_string_equal(run_json("log " HOSTILE_NAME),
			    "{\"seq\":2,\"status\":\"ok\",\"reply\":\"log\","
			    "\"partition\":\"ev\\\"il\\\\\","
			    "\"data\":\"bad \\\"q\\\" \\\\ \\u0001\\u001b[31m\\u00ff end\"}\n");
	assert_string_equal(run_json("log web 12"),
			    "{\"seq\":3,\"status\":\"ok\",\"reply\":\"log\",\"partition\":\"web\","
			    "\"data\":\"second line\\n\"}\n");
}

/** The other commands in JSON: one object each. */
static void test_shell_json_commands(void **state)
{
	enter_json_mode();
	assert_string_equal(run_json("stop -f web"),
			    "{\"seq\":2,\"status\":\"ok\",\"reply\":\"stop\",\"partition\":\"web\"}\n");
	assert_string_equal(run_json("stats web"),
			    "{\"seq\":3,\"status\":\"ok\",\"reply\":\"stats\",\"partition\":\"web\","
			    "\"total\":1500,\"exits\":[{\"reason\":\"HLT\",\"number\":12,\"count\":1000},"
			    "{\"reason\":\"IO_INSTRUCTION\",\"number\":30,\"count\":500}]}\n");
	assert_string_equal(run_json("trace db"),
			    "{\"seq\":4,\"status\":\"ok\",\"reply\":\"trace\",\"partition\":\"db\","
			    "\"exits\":[{\"vcpu\":0,\"reason\":\"HLT\",\"exit_reason\":\"0xc\","
			    "\"rip\":\"0x100010\",\"qualification\":\"0x0\",\"gpa\":\"0x0\"},"
			    "{\"vcpu\":1,\"reason\":\"EPT_VIOLATION\",\"exit_reason\":\"0x30\","
			    "\"rip\":\"0x100020\",\"qualification\":\"0x181\",\"gpa\":\"0xfee00000\"}]}\n");
	assert_string_equal(run_json("audit"),
			    "{\"seq\":5,\"status\":\"ok\",\"reply\":\"audit\",\"partitions\":2,"
			    "\"leaves\":40,\"mapped_bytes\":100663296,\"problems\":0}\n");
	assert_string_equal(run_json("memmap"),
			    "{\"seq\":6,\"status\":\"ok\",\"reply\":\"memmap\",\"ranges\":["
			    "{\"start\":\"0x100000\",\"size\":1048576,\"owner\":\"hypervisor\"},"
			    "{\"start\":\"0x200000\",\"size\":67108864,\"owner\":\"web\"}]}\n");
	assert_string_equal(run_json("config"),
			    "{\"seq\":7,\"status\":\"ok\",\"reply\":\"config\",\"settings\":["
			    "{\"section\":\"global\",\"key\":\"loglevel\",\"value\":\"info\"},"
			    "{\"section\":\"web\",\"key\":\"memory\",\"value\":\"64M\"}]}\n");
	assert_string_equal(run_json("loglevel warn"),
			    "{\"seq\":8,\"status\":\"ok\",\"reply\":\"loglevel\",\"level\":\"warn\"}\n");
	assert_string_equal(run_json("info web"),
			    "{\"seq\":9,\"status\":\"ok\",\"reply\":\"info\",\"name\":\"web\","
			    "\"state\":\"running\",\"vcpus\":2,\"memory_bytes\":67108864,"
			    "\"uptime_ms\":12345,\"exits\":1500,\"restarts\":1,\"stop_reason\":\"\"}\n");
}

/** help in JSON lists every command; an overlong line is a JSON error too. */
static void test_shell_json_help_and_overlong(void **state)
{
	static const char help_start[] =
		"{\"seq\":2,\"status\":\"ok\",\"reply\":\"help\",\"commands\":[{";
	char line[SHELL_LINE_MAX + 10];

	enter_json_mode();
	const char *reply = run_json("help");

	assert_memory_equal(reply, help_start, sizeof(help_start) - 1);
	assert_non_null(strstr(reply, "{\"name\":\"mode\",\"usage\":\"json|text\""));
	assert_string_equal(reply + strlen(reply) - 5, "\"}]}\n");
	memset(line, 'z', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_string_equal(run_json(line),
			    "{\"seq\":3,\"status\":\"error\",\"reply\":\"line\","
			    "\"error\":\"line too long (at most 127 characters); ignored\"}\n");
}

/* ------------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------------ */

/** Text events clear the prompt line, print, and redraw the typed line. */
static void test_shell_text_events(void **state)
{
	type("lis");
	clear();
	shell_event_state(&shell, "web", "stopped");
	assert_string_equal(captured.text, "\r\x1b[Ktessera: web is stopped\n" PROMPT "lis");
	clear();
	shell_event_console(&shell, "web", "one\ntwo\x1b", 8);
	assert_string_equal(captured.text, "\r\x1b[Kweb: one\nweb: two?\n" PROMPT "lis");
	clear();
	shell_event_log(&shell, "started db", 10);
	assert_string_equal(captured.text, "\r\x1b[Ktessera: started db\n" PROMPT "lis");
}

/** JSON events are one object per line, hostile text escaped. */
static void test_shell_json_events(void **state)
{
	enter_json_mode();
	shell_event_state(&shell, "web", "running");
	assert_string_equal(captured.text,
			    "{\"event\":\"state\",\"partition\":\"web\",\"state\":\"running\"}\n");
	clear();
	shell_event_console(&shell, HOSTILE_NAME, "a\"\n\x7f", 4);
	assert_string_equal(captured.text,
			    "{\"event\":\"console\",\"partition\":\"ev\\\"il\\\\\","
			    "\"data\":\"a\\\"\\n\\u007f\"}\n");
	clear();
	shell_event_log(&shell, "x\\y", 3);
	assert_string_equal(captured.text, "{\"event\":\"log\",\"text\":\"x\\\\y\"}\n");
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, NULL)

/** Runs the shell tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_shell_prompt),
		TEST(test_shell_echo_and_empty_line),
		TEST(test_shell_backspace_and_delete),
		TEST(test_shell_ctrl_u_and_ctrl_c),
		TEST(test_shell_crlf_runs_once),
		TEST(test_shell_history_up_down),
		TEST(test_shell_history_edges),
		TEST(test_shell_history_wraps),
		TEST(test_shell_overlong_line),
		TEST(test_shell_overlong_then_ctrl_u),
		TEST(test_shell_garbage_ignored),
		TEST(test_shell_endless_escape),
		TEST(test_shell_all_bytes_survive),
		TEST(test_shell_instances_independent),
		TEST(test_shell_help),
		TEST(test_shell_list),
		TEST(test_shell_info),
		TEST(test_shell_errors),
		TEST(test_shell_actions),
		TEST(test_shell_action_wrong_state),
		TEST(test_shell_action_refused),
		TEST(test_shell_log),
		TEST(test_shell_log_hostile_text),
		TEST(test_shell_stats),
		TEST(test_shell_trace),
		TEST(test_shell_system_commands),
		TEST(test_shell_loglevel),
		TEST(test_shell_not_available),
		TEST(test_shell_json_mode_and_sequence),
		TEST(test_shell_json_mode_text_back),
		TEST(test_shell_json_list),
		TEST(test_shell_json_log_escaping),
		TEST(test_shell_json_commands),
		TEST(test_shell_json_help_and_overlong),
		TEST(test_shell_text_events),
		TEST(test_shell_json_events),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
