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
	shell_action_fn last_action;
	bool refuse_actions;
	enum log_level level;
	uint8_t ram[0x3000];           /* guest RAM at 0x100000 of every partition */
	char typed[256];               /* what console_input received */
	size_t typed_length;
	size_t input_room;             /* bytes console_input takes before refusing */
	int attached;                  /* index attached, -1 if none */
	unsigned int detaches;
	uint64_t now_ms;
	unsigned int machine_checks;   /* reboot/poweroff calls with now = false */
	unsigned int reboots;          /* reboot calls with now = true */
	bool poweroff_possible;
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

/** Fake force_stop: an action the tests can tell apart from the orderly stop. */
static bool fake_force_stop(void *ctx, unsigned int index, char *error, size_t error_size)
{
	((struct fake_backend *)ctx)->last_action = fake_force_stop;
	return fake_action(ctx, index, error, error_size);
}

/** Fake stop (the power button). */
static bool fake_stop(void *ctx, unsigned int index, char *error, size_t error_size)
{
	((struct fake_backend *)ctx)->last_action = fake_stop;
	return fake_action(ctx, index, error, error_size);
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

/** Fake config_entry: three settings in two sections. */
static bool fake_config_entry(void *ctx, unsigned int index, struct shell_config_entry *out)
{
	static const struct shell_config_entry entries[] = {
		{ .section = "tessera", .key = "loglevel", .value = "info" },
		{ .section = "partition web", .key = "memory", .value = "64M" },
		{ .section = "partition web", .key = "vcpus", .value = "2" },
	};

	if (index >= sizeof(entries) / sizeof(entries[0])) {
		return false;
	}
	*out = entries[index];
	return true;
}

/** Fake registers: every register a distinct value derived from the vCPU number. */
static bool fake_registers(void *ctx, unsigned int index, unsigned int vcpu,
			   struct shell_registers *out, char *error, size_t error_size)
{
	uint64_t base = 0x1000ULL * (vcpu + 1);

	*out = (struct shell_registers){
		.rax = base + 1, .rbx = base + 2, .rcx = base + 3, .rdx = base + 4,
		.rsi = base + 5, .rdi = base + 6, .rbp = base + 7, .rsp = base + 8,
		.r8 = 8, .r9 = 9, .r10 = 10, .r11 = 11, .r12 = 12, .r13 = 13, .r14 = 14,
		.r15 = 0xffffffffffffffffULL, .rip = 0x100010, .rflags = 0x2,
		.cr0 = 0x80000011, .cr2 = 0xdead, .cr3 = 0x200000, .cr4 = 0x20, .efer = 0x500,
		.cs = 0x8, .ds = 0x10, .es = 0x10, .fs = 0x10, .gs = 0x10, .ss = 0x18,
		.tr = 0x28, .ldtr = 0 };
	return true;
}

/** Fake read_memory: RAM is [0x100000, 0x103000) of every partition. */
static bool fake_read_memory(void *ctx, unsigned int index, uint64_t gpa, void *buf, size_t size,
			     char *error, size_t error_size)
{
	struct fake_backend *f = ctx;

	if (gpa < 0x100000 || gpa + size > 0x100000 + sizeof(f->ram)) {
		snprintf(error, error_size, "0x%llx is not RAM", (unsigned long long)gpa);
		return false;
	}
	memcpy(buf, f->ram + (gpa - 0x100000), size);
	return true;
}

/** Fake attach. */
static bool fake_attach(void *ctx, unsigned int index, char *error, size_t error_size)
{
	((struct fake_backend *)ctx)->attached = (int)index;
	return true;
}

/** Fake detach. */
static void fake_detach(void *ctx, unsigned int index)
{
	struct fake_backend *f = ctx;

	assert_int_equal(f->attached, (int)index);
	f->attached = -1;
	f->detaches++;
}

/** Fake console_input: takes up to input_room bytes in all. */
static size_t fake_console_input(void *ctx, unsigned int index, const char *bytes, size_t length)
{
	struct fake_backend *f = ctx;
	size_t took = length < f->input_room ? length : f->input_room;

	assert_true(f->typed_length + took <= sizeof(f->typed));
	memcpy(f->typed + f->typed_length, bytes, took);
	f->typed_length += took;
	f->input_room -= took;
	return took;
}

/** Fake line_errors. */
static bool fake_line_errors(void *ctx, struct shell_line_errors *out)
{
	*out = (struct shell_line_errors){ .overruns = 3, .framing_errors = 1, .parity_errors = 0,
					   .breaks = 2 };
	return true;
}

/** Fake cpu_info: the boot CPU runs web's vCPU 1, two more CPUs are not started. */
static bool fake_cpu_info(void *ctx, unsigned int index, struct shell_cpu_info *out)
{
	if (index == 0) {
		*out = (struct shell_cpu_info){ .index = 0, .apic_id = 0, .state = SHELL_CPU_RUNNING,
						.partition = "web", .vcpu = 1 };
		return true;
	}
	if (index < 3) {
		*out = (struct shell_cpu_info){ .index = index, .apic_id = index * 2,
						.state = SHELL_CPU_NOT_STARTED };
		return true;
	}
	return false;
}

/** Fake reboot: possible; "doing it" returns, as a machine that ignored it. */
static bool fake_reboot(void *ctx, bool now, char *error, size_t error_size)
{
	struct fake_backend *f = ctx;

	if (!now) {
		f->machine_checks++;
		return true;
	}
	f->reboots++;
	snprintf(error, error_size, "the machine did not reset");
	return false;
}

/** Fake poweroff: refused unless poweroff_possible. */
static bool fake_poweroff(void *ctx, bool now, char *error, size_t error_size)
{
	struct fake_backend *f = ctx;

	f->machine_checks += !now;
	if (!f->poweroff_possible) {
		snprintf(error, error_size, "needs the firmware's ACPI _S5 values, not available");
		return false;
	}
	return true;
}

/** Fake now_ms. */
static uint64_t fake_now_ms(void *ctx)
{
	return ((struct fake_backend *)ctx)->now_ms;
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
	.stop = fake_stop,
	.force_stop = fake_force_stop,
	.restart = fake_action,
	.reset = fake_action,
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
	.registers = fake_registers,
	.read_memory = fake_read_memory,
	.attach = fake_attach,
	.detach = fake_detach,
	.console_input = fake_console_input,
	.line_errors = fake_line_errors,
	.cpu_info = fake_cpu_info,
	.reboot = fake_reboot,
	.poweroff = fake_poweroff,
	.now_ms = fake_now_ms,
};

static const struct shell_backend empty_backend = { 0 };

/** A fresh fake backend, shell and capture. */
static int setup(void **state)
{
	memset(&fake, 0, sizeof(fake));
	fake.partitions[0] = (struct shell_partition_info){
		.name = "web", .state = SHELL_STATE_RUNNING, .vcpus = 2,
		.memory_bytes = 64ULL << 20, .uptime_ms = 12345, .exits = 1500, .restarts = 1,
		.console_buffer_bytes = 64 << 10, .stop_timeout_s = 10 };
	fake.partitions[1] = (struct shell_partition_info){
		.name = "db", .state = SHELL_STATE_STOPPED, .vcpus = 1, .memory_bytes = 32ULL << 20,
		.exits = 7, .stop_reason = "triple fault", .console_buffer_bytes = 16 << 10,
		.stop_timeout_s = 30, .stop_requested = true };
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
	fake.attached = -1;
	fake.input_room = sizeof(fake.typed);
	for (unsigned int i = 0; i < sizeof(fake.ram); i++) {
		fake.ram[i] = (uint8_t)i;
	}
	memcpy(fake.ram, "Hello, world\n", 13);
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
	static const char garbage[] = "ve\0r\x01\x02\x80\xff\x1b[5~\x1b[1;5C\x1b\x1bs\x1b[Zion";

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
					     "stop", "restart", "reset", "pause", "resume",
					     "console", "send", "log", "stats", "trace", "regs",
					     "mem", "audit", "memmap", "config", "cpus",
					     "loglevel", "mode", "reboot", "poweroff" };
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
	assert_non_null(strstr(reply, "  console  NAME           attach to a partition's console "
				      "(Ctrl-] detaches)\n"));
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
			    "last stop: triple fault\n"
			    "console:   16 KiB\n"
			    "stop:      30 s (power button pressed)\n");
	assert_non_null(strstr(run("info web"), "console:   64 KiB\nstop:      10 s\n"));
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
	assert_string_equal(run("stop web"), "web: power button pressed (stopped by force after "
					     "10 s unless it stops; stop -f: now)\n");
	assert_ptr_equal(fake.last_action, fake_stop);
	assert_string_equal(run("stop -f web"), "web: stopped (forced)\n");
	assert_ptr_equal(fake.last_action, fake_force_stop);
	assert_string_equal(run("restart db"), "db: restarted\n");
	assert_string_equal(run("reset db"), "db: reset\n");
	assert_string_equal(run("pause web"), "web: paused\n");
	assert_string_equal(run("  resume   " HOSTILE_NAME "  "), "ev\"il\\: resumed\n");
	assert_int_equal(fake.last_action_index, 2);
	assert_int_equal(fake.actions, 7);
}

/** A paused partition cannot see the power button: stop stops it at once. */
static void test_shell_stop_paused_is_forced(void **state)
{
	assert_string_equal(run("stop " HOSTILE_NAME), "ev\"il\\: stopped (forced)\n");
	assert_ptr_equal(fake.last_action, fake_force_stop);
	assert_int_equal(fake.last_action_index, 2);
}

/** Actions on a partition in the wrong state are refused before the backend. */
static void test_shell_action_wrong_state(void **state)
{
	assert_string_equal(run("start web"), "error: start: web is running\n");
	assert_string_equal(run("stop db"), "error: stop: db is stopped\n");
	assert_string_equal(run("pause db"), "error: pause: db is stopped\n");
	assert_string_equal(run("resume web"), "error: resume: web is running\n");
	assert_string_equal(run("reset nosuch"), "error: reset: no partition named 'nosuch'\n");
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
			    "  IO_INSTRUCTION                30          500\n"
			    "console line: 3 overruns, 1 framing errors, 0 parity errors, 2 breaks\n");
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
	assert_string_equal(run("config"), "[tessera]\nloglevel = info\n"
					   "[partition web]\nmemory = 64M\nvcpus = 2\n");
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
					     "stop -f web", "restart web", "reset web",
					     "pause web", "resume web", "console web",
					     "send web hi", "log web", "stats", "stats web",
					     "trace web", "regs web", "mem web 0 1", "audit",
					     "memmap", "config", "cpus", "loglevel",
					     "loglevel info", "reboot", "poweroff -y" };
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
			    "\"data\":\"bad \\\"q\\\" \\\\ \\u0001\\u001b[31m\\ufffd end\"}\n");
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
			    "{\"section\":\"tessera\",\"key\":\"loglevel\",\"value\":\"info\"},"
			    "{\"section\":\"partition web\",\"key\":\"memory\",\"value\":\"64M\"},"
			    "{\"section\":\"partition web\",\"key\":\"vcpus\",\"value\":\"2\"}]}\n");
	assert_string_equal(run_json("loglevel warn"),
			    "{\"seq\":8,\"status\":\"ok\",\"reply\":\"loglevel\",\"level\":\"warn\"}\n");
	assert_string_equal(run_json("info web"),
			    "{\"seq\":9,\"status\":\"ok\",\"reply\":\"info\",\"name\":\"web\","
			    "\"state\":\"running\",\"vcpus\":2,\"memory_bytes\":67108864,"
			    "\"uptime_ms\":12345,\"exits\":1500,\"restarts\":1,\"stop_reason\":\"\","
			    "\"console_buffer_bytes\":65536,\"stop_timeout_s\":10,"
			    "\"stop_requested\":false}\n");
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

/** Text events clear a shown prompt line once; restoring shows prompt and typed line. */
static void test_shell_text_events(void **state)
{
	shell_prompt(&shell);
	type("lis");
	assert_false(shell_prompt_hidden(&shell));
	clear();
	shell_event_state(&shell, "web", "stopped", SHELL_STATE_STOPPED, "exit code 0");
	assert_string_equal(captured.text, ""); /* text mode: the log line says it */
	shell_event_console(&shell, "web", "one\ntwo\x1b", 8);
	assert_string_equal(captured.text, "\r\x1b[Kweb: one\nweb: two?\n");
	assert_true(shell_prompt_hidden(&shell));
	clear();
	shell_event_log(&shell, "started db", 10);
	assert_string_equal(captured.text, "tessera: started db\n");
	clear();
	shell_restore_prompt(&shell);
	assert_string_equal(captured.text, PROMPT "lis");
	shell_restore_prompt(&shell);
	assert_string_equal(captured.text, PROMPT "lis");
	type("t\r");
	assert_false(shell_prompt_hidden(&shell));
}

/** Without a prompt on the screen (before the first one), events clear nothing. */
static void test_shell_text_event_without_prompt(void **state)
{
	assert_true(shell_prompt_hidden(&shell));
	shell_event_log(&shell, "boot", 4);
	assert_string_equal(captured.text, "tessera: boot\n");
}

/** JSON events are one object per line, hostile text escaped. */
static void test_shell_json_events(void **state)
{
	enter_json_mode();
	assert_false(shell_prompt_hidden(&shell));
	shell_event_state(&shell, "web", "started", SHELL_STATE_RUNNING, "");
	assert_string_equal(captured.text,
			    "{\"event\":\"state\",\"partition\":\"web\",\"change\":\"started\","
			    "\"state\":\"running\"}\n");
	clear();
	shell_event_state(&shell, "db", "stopped", SHELL_STATE_STOPPED, "exit \"1\"");
	assert_string_equal(captured.text,
			    "{\"event\":\"state\",\"partition\":\"db\",\"change\":\"stopped\","
			    "\"state\":\"stopped\",\"reason\":\"exit \\\"1\\\"\"}\n");
	clear();
	shell_event_console(&shell, HOSTILE_NAME, "a\"\n\x7f", 4);
	assert_string_equal(captured.text,
			    "{\"event\":\"console\",\"partition\":\"ev\\\"il\\\\\","
			    "\"data\":\"a\\\"\\n\\u007f\"}\n");
	clear();
	shell_event_log(&shell, "x\\y", 3);
	assert_string_equal(captured.text, "{\"event\":\"log\",\"text\":\"x\\\\y\"}\n");
}

/* ------------------------------------------------------------------------
 * UTF-8 in JSON
 * ------------------------------------------------------------------------ */

/** Returns the data member the shell wrote for a console event of @text. */
static const char *json_console_data(const char *text, size_t length)
{
	static char data[512];
	static const char head[] = "{\"event\":\"console\",\"partition\":\"w\",\"data\":\"";

	clear();
	shell_event_console(&shell, "w", text, length);
	assert_memory_equal(captured.text, head, sizeof(head) - 1);
	assert_true(captured.length >= sizeof(head) - 1 + 3);
	size_t n = captured.length - (sizeof(head) - 1) - 3;

	assert_string_equal(captured.text + captured.length - 3, "\"}\n");
	memcpy(data, captured.text + sizeof(head) - 1, n);
	data[n] = '\0';
	return data;
}

/** Well-formed UTF-8 becomes \u escapes (surrogate pairs above the BMP). */
static void test_shell_json_utf8(void **state)
{
	enter_json_mode();
	/* U+00E9, U+20AC, U+1F600 (RFC 3629 examples of 2, 3 and 4 bytes). */
	assert_string_equal(json_console_data("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9),
			    "\\u00e9\\u20ac\\ud83d\\ude00");
	/* The edges: U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF. */
	assert_string_equal(json_console_data("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 10),
			    "\\u0080\\u07ff\\u0800\\uffff");
	assert_string_equal(json_console_data("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", 8),
			    "\\ud800\\udc00\\udbff\\udfff");
}

/** Bytes that are not well-formed UTF-8 each become U+FFFD. */
static void test_shell_json_utf8_invalid(void **state)
{
	enter_json_mode();
	/* A lone continuation byte, an overlong '/', a surrogate, beyond U+10FFFF. */
	assert_string_equal(json_console_data("\x80", 1), "\\ufffd");
	assert_string_equal(json_console_data("\xc0\xaf", 2), "\\ufffd\\ufffd");
	assert_string_equal(json_console_data("\xe0\x80\xaf", 3), "\\ufffd\\ufffd\\ufffd");
	assert_string_equal(json_console_data("\xed\xa0\x80", 3), "\\ufffd\\ufffd\\ufffd");
	assert_string_equal(json_console_data("\xf4\x90\x80\x80", 4),
			    "\\ufffd\\ufffd\\ufffd\\ufffd");
	/* A sequence cut short by the end, or by an ASCII byte. */
	assert_string_equal(json_console_data("a\xe2\x82", 3), "a\\ufffd\\ufffd");
	assert_string_equal(json_console_data("\xe2x", 2), "\\ufffdx");
	assert_string_equal(json_console_data("\xff\xfe", 2), "\\ufffd\\ufffd");
}

/** Where a console chunk may end: never inside a UTF-8 sequence. */
static void test_shell_utf8_complete_length(void **state)
{
	assert_int_equal(shell_utf8_complete_length("", 0), 0);
	assert_int_equal(shell_utf8_complete_length("abc", 3), 3);
	assert_int_equal(shell_utf8_complete_length("ab\xc3", 3), 2);
	assert_int_equal(shell_utf8_complete_length("ab\xc3\xa9", 4), 4);
	assert_int_equal(shell_utf8_complete_length("a\xe2\x82", 3), 1);
	assert_int_equal(shell_utf8_complete_length("a\xe2\x82\xac", 4), 4);
	assert_int_equal(shell_utf8_complete_length("\xf0\x9f\x98", 3), 0);
	assert_int_equal(shell_utf8_complete_length("\xf0\x9f\x98\x80", 4), 4);
	/* Invalid bytes are complete: waiting for more would not make them valid. */
	assert_int_equal(shell_utf8_complete_length("a\xff", 2), 2);
	assert_int_equal(shell_utf8_complete_length("a\x80\x80\x80", 4), 4);
}

/** A JSON log reply never splits a character between the backend's reads. */
static void test_shell_json_log_utf8_across_reads(void **state)
{
	fake.logs[0] = "abcd\xe2\x82\xac!";
	enter_json_mode();
	/* fake_log_read hands out 5 bytes at a time: the euro sign is cut after its first. */
	assert_string_equal(run_json("log web"),
			    "{\"seq\":2,\"status\":\"ok\",\"reply\":\"log\",\"partition\":\"web\","
			    "\"data\":\"abcd\\u20ac!\"}\n");
}

/* ------------------------------------------------------------------------
 * Consoles
 * ------------------------------------------------------------------------ */

/** console NAME replays the kept output, then forwards typed bytes until Ctrl-]. */
static void test_shell_console_attach_and_detach(void **state)
{
	assert_string_equal(run_json("console web\r"),
			    "console web\r\nhello from web\nsecond line\n"
			    "tessera: attached to web; Ctrl-] detaches\n");
	assert_int_equal(fake.attached, 0);
	assert_true(shell_attached_to(&shell, 0));
	assert_false(shell_attached_to(&shell, 1));
	assert_false(shell_prompt_hidden(&shell));
	clear();
	type("ls -l\r\x03\x1b[A");
	assert_int_equal(fake.typed_length, 10);
	assert_memory_equal(fake.typed, "ls -l\r\x03\x1b[A", 10);
	assert_string_equal(captured.text, ""); /* no echo: the partition echoes */
	shell_attached_output(&shell, "\x1b[1mout\r\n", 9);
	assert_string_equal(captured.text, "\x1b[1mout\r\n");
	clear();
	type("x\x1dversion\r");
	assert_int_equal(fake.typed_length, 11);
	assert_int_equal(fake.attached, -1);
	assert_int_equal(fake.detaches, 1);
	assert_string_equal(captured.text, "\r\ntessera: detached from web\n" PROMPT
			    "version\r\nTessera " TESSERA_VERSION "\n" PROMPT);
}

/** While attached: others' lines counted, log lines held, refused bytes reported. */
static void test_shell_console_summary(void **state)
{
	fake.input_room = 3;
	run_json("console web\r");
	clear();
	shell_event_console(&shell, "web", "own line\n", 9);
	shell_event_console(&shell, "db", "one\ntwo\nthree", 13);
	shell_event_log(&shell, "partition db stopped", 20);
	shell_event_log(&shell, "bad\x1b", 4);
	shell_event_state(&shell, "db", "stopped", SHELL_STATE_STOPPED, "x");
	shell_attached_output(&shell, "y", 1);
	type("abcde");
	assert_string_equal(captured.text, "y");
	clear();
	type("\x1d");
	assert_string_equal(captured.text,
			    "\r\ntessera: detached from web; 3 lines from other partitions kept in "
			    "their logs; 2 typed bytes refused (its receive FIFO was full)\n"
			    "tessera: partition db stopped\ntessera: bad?\n" PROMPT);
	/* Detached: events show again. */
	clear();
	shell_event_log(&shell, "z", 1);
	assert_string_equal(captured.text, "\r\x1b[Ktessera: z\n");
}

/** Log lines beyond the held room are counted and said to be lost. */
static void test_shell_console_held_overflow(void **state)
{
	char line[200];

	memset(line, 'h', sizeof(line));
	run_json("console web\r");
	for (unsigned int i = 0; i < 12; i++) {
		shell_event_log(&shell, line, sizeof(line));
	}
	clear();
	type("\x1d");
	/* 2048 bytes hold ten lines of 201. */
	assert_non_null(strstr(captured.text, "tessera: (2 more log lines while attached did not "
					      "fit and are lost)\n" PROMPT));
}

/** The attached partition stopping detaches, with its reason. */
static void test_shell_console_partition_stops(void **state)
{
	run_json("console web\r");
	clear();
	shell_event_state(&shell, "web", "stopped", SHELL_STATE_STOPPED, "exit code 3");
	assert_string_equal(captured.text,
			    "\r\ntessera: detached from web: it stopped (exit code 3)\n" PROMPT);
	assert_int_equal(fake.attached, -1);
	assert_false(shell_attached_to(&shell, 0));
}

/** console refuses stopped partitions, JSON mode, and keeps the replay short. */
static void test_shell_console_refusals(void **state)
{
	static char big[10000];

	assert_string_equal(run("console db"),
			    "error: console: db is stopped (triple fault); start it first\n");
	fake.partitions[1].state = SHELL_STATE_READY;
	assert_string_equal(run("console db"), "error: console: db is ready; start it first\n");
	assert_int_equal(fake.attached, -1);
	memset(big, 'b', sizeof(big) - 1);
	fake.logs[2] = big;
	clear();
	type("console " HOSTILE_NAME "\r");
	assert_non_null(strstr(captured.text, "tessera: the newest 8192 of 9999 bytes kept (log "
					      "ev\"il\\ shows all):\n"));
	type("\x1d");
	enter_json_mode();
	assert_string_equal(run_json("console web"),
			    "{\"seq\":5,\"status\":\"error\",\"reply\":\"console\",\"error\":\"console: "
			    "not in JSON mode (type with send NAME TEXT; output arrives as console "
			    "events)\"}\n");
}

/** send types the rest of the line and a newline, escapes decoded. */
static void test_shell_send(void **state)
{
	assert_string_equal(run("send web  ls  -l"), "web: sent 8 bytes\n");
	assert_memory_equal(fake.typed, " ls  -l\n", 8);
	fake.typed_length = 0;
	assert_string_equal(run("send -n web a\\x41\\r\\n\\t\\e\\\\"), "web: sent 7 bytes\n");
	assert_memory_equal(fake.typed, "aA\r\n\t\x1b\\", 7);
	fake.typed_length = 0;
	assert_string_equal(run("send web"), "web: sent 1 byte\n");
	assert_memory_equal(fake.typed, "\n", 1);
	fake.typed_length = 0;
	assert_string_equal(run("send web one two three four five"), "web: sent 24 bytes\n");
	assert_memory_equal(fake.typed, "one two three four five\n", 24);
}

/** send's errors: bad escape, stopped partition, a full FIFO, a missing name. */
static void test_shell_send_errors(void **state)
{
	assert_string_equal(run("send web ab\\q"),
			    "error: send: bad escape at character 3 of the text "
			    "(\\n \\r \\t \\e \\\\ \\xNN)\n");
	assert_string_equal(run("send web \\x4"),
			    "error: send: bad escape at character 1 of the text "
			    "(\\n \\r \\t \\e \\\\ \\xNN)\n");
	assert_string_equal(run("send db hi"),
			    "error: send: db is stopped (triple fault); start it first\n");
	assert_string_equal(run("send -n"),
			    "error: send: wrong number of arguments (usage: send [-n] NAME TEXT)\n");
	assert_string_equal(run("send"),
			    "error: send: wrong number of arguments (usage: send [-n] NAME TEXT)\n");
	fake.input_room = 2;
	assert_string_equal(run("send web hello"),
			    "error: send: web took 2 of 6 bytes (its receive FIFO is full; send "
			    "the rest later)\n");
	enter_json_mode();
	fake.input_room = 100;
	assert_string_equal(run_json("send " HOSTILE_NAME " x"),
			    "{\"seq\":8,\"status\":\"ok\",\"reply\":\"send\",\"partition\":"
			    "\"ev\\\"il\\\\\",\"bytes\":2}\n");
}

/* ------------------------------------------------------------------------
 * Registers and memory
 * ------------------------------------------------------------------------ */

/** regs: every register, three per line, selectors four per line. */
static void test_shell_regs(void **state)
{
	assert_string_equal(run("regs db 0"),
		"db vCPU 0 (stopped):\n"
		"rax    0x0000000000001001  rbx    0x0000000000001002  rcx    0x0000000000001003\n"
		"rdx    0x0000000000001004  rsi    0x0000000000001005  rdi    0x0000000000001006\n"
		"rbp    0x0000000000001007  rsp    0x0000000000001008  r8     0x0000000000000008\n"
		"r9     0x0000000000000009  r10    0x000000000000000a  r11    0x000000000000000b\n"
		"r12    0x000000000000000c  r13    0x000000000000000d  r14    0x000000000000000e\n"
		"r15    0xffffffffffffffff  rip    0x0000000000100010  rflags 0x0000000000000002\n"
		"cr0    0x0000000080000011  cr2    0x000000000000dead  cr3    0x0000000000200000\n"
		"cr4    0x0000000000000020  efer   0x0000000000000500\n"
		"cs   0x0008  ds   0x0010  es   0x0010  fs   0x0010\n"
		"gs   0x0010  ss   0x0018  tr   0x0028  ldtr 0x0000\n");
}

/** regs refuses a running partition, a vCPU it lacks, a bad number. */
static void test_shell_regs_errors(void **state)
{
	assert_string_equal(run("regs web"), "error: regs: web is running (pause it first)\n");
	assert_string_equal(run("regs db 1"), "error: regs: db has no vCPU 1 (it has 1)\n");
	assert_string_equal(run("regs db x"), "error: regs: bad number 'x'\n");
	assert_string_equal(run("regs nosuch"), "error: regs: no partition named 'nosuch'\n");
}

/** regs in JSON: every register as a hex string. */
static void test_shell_regs_json(void **state)
{
	enter_json_mode();
	const char *reply = run_json("regs db");

	assert_non_null(strstr(reply, "{\"seq\":2,\"status\":\"ok\",\"reply\":\"regs\","
				      "\"partition\":\"db\",\"vcpu\":0,\"registers\":{"
				      "\"rax\":\"0x1001\",\"rbx\":\"0x1002\","));
	assert_non_null(strstr(reply, "\"r15\":\"0xffffffffffffffff\",\"rip\":\"0x100010\","));
	assert_non_null(strstr(reply, "\"tr\":\"0x28\",\"ldtr\":\"0x0\"}}\n"));
}

/** mem: a hex dump with the printable text beside it. */
static void test_shell_mem(void **state)
{
	assert_string_equal(run("mem db 0x100000 20"),
		"00100000  48 65 6c 6c 6f 2c 20 77  6f 72 6c 64 0a 0d 0e 0f  |Hello, world....|\n"
		"00100010  10 11 12 13                                       |....|\n");
	assert_string_equal(run("mem " HOSTILE_NAME " 1049345 0x2"),
			    "00100301  01 02                                             |..|\n");
}

/** mem: bad numbers, lengths out of range, not RAM, a running partition. */
static void test_shell_mem_errors(void **state)
{
	assert_string_equal(run("mem db 0xg 1"), "error: mem: bad address '0xg'\n");
	assert_string_equal(run("mem db 0x 1"), "error: mem: bad address '0x'\n");
	assert_string_equal(run("mem db 0x100000 0"), "error: mem: bad length '0' (1 to 4096 bytes)\n");
	assert_string_equal(run("mem db 0x100000 4097"),
			    "error: mem: bad length '4097' (1 to 4096 bytes)\n");
	assert_string_equal(run("mem db 0xffffffffffffffff 2"),
			    "error: mem: bad length '2' (1 to 4096 bytes)\n");
	assert_string_equal(run("mem db 0x102ff0 0x20"), "error: mem: db: 0x102ff0 is not RAM\n");
	assert_string_equal(run("mem web 0x100000 1"), "error: mem: web is running (pause it first)\n");
}

/** mem in JSON: the bytes as one hex string. */
static void test_shell_mem_json(void **state)
{
	enter_json_mode();
	assert_string_equal(run_json("mem db 0x100000 5"),
			    "{\"seq\":2,\"status\":\"ok\",\"reply\":\"mem\",\"partition\":\"db\","
			    "\"gpa\":\"0x100000\",\"length\":5,\"data\":\"48656c6c6f\"}\n");
}

/* ------------------------------------------------------------------------
 * The machine
 * ------------------------------------------------------------------------ */

/** cpus: every CPU with its APIC ID and what it runs. */
static void test_shell_cpus(void **state)
{
	assert_string_equal(run("cpus"),
			    "CPU  APIC ID  STATE\n"
			    "  0        0  running: vCPU 1 of web\n"
			    "  1        2  not started\n"
			    "  2        4  not started\n"
			    "(only the boot CPU runs vCPUs in this version)\n");
	enter_json_mode();
	assert_string_equal(run_json("cpus"),
			    "{\"seq\":3,\"status\":\"ok\",\"reply\":\"cpus\",\"note\":\"only the boot "
			    "CPU runs vCPUs in this version\",\"cpus\":[{\"index\":0,\"apic_id\":0,"
			    "\"state\":\"running\",\"partition\":\"web\",\"vcpu\":1},{\"index\":1,"
			    "\"apic_id\":2,\"state\":\"not started\"},{\"index\":2,\"apic_id\":4,"
			    "\"state\":\"not started\"}]}\n");
}

/** reboot asks to confirm; the same command within 10 s does it. */
static void test_shell_reboot_confirm(void **state)
{
	fake.now_ms = 1000;
	assert_string_equal(run("reboot"), "reboot: this ends every partition; type reboot again "
					   "within 10 s to confirm (or reboot -y)\n");
	assert_int_equal(fake.reboots, 0);
	fake.now_ms = 11000;
	assert_string_equal(run("reboot"), "reboot: rebooting now\n"
					   "error: reboot: the machine did not reset\n");
	assert_int_equal(fake.reboots, 1);
	/* After 10 s the confirmation has expired. */
	run("reboot");
	fake.now_ms = 21001;
	assert_non_null(strstr(run("reboot"), "type reboot again"));
	assert_int_equal(fake.reboots, 1);
}

/** Another command between the two cancels the confirmation; -y needs none. */
static void test_shell_reboot_cancel_and_yes(void **state)
{
	run("reboot");
	run("list");
	assert_non_null(strstr(run("reboot"), "type reboot again"));
	run("bogus");
	assert_non_null(strstr(run("reboot"), "type reboot again"));
	assert_int_equal(fake.reboots, 0);
	assert_string_equal(run("reboot -y"), "reboot: rebooting now\n"
					      "error: reboot: the machine did not reset\n");
	assert_int_equal(fake.reboots, 1);
	assert_string_equal(run("reboot -x"),
			    "error: reboot: unknown option '-x' (usage: reboot [-y])\n");
}

/** poweroff that cannot be done says why at once, without asking to confirm. */
static void test_shell_poweroff_refused(void **state)
{
	assert_string_equal(run("poweroff"), "error: poweroff: needs the firmware's ACPI _S5 "
					     "values, not available\n");
	assert_int_equal(fake.machine_checks, 1);
	fake.poweroff_possible = true;
	enter_json_mode();
	assert_string_equal(run_json("poweroff"),
			    "{\"seq\":3,\"status\":\"ok\",\"reply\":\"poweroff\",\"confirm\":"
			    "\"send it again within 10 s, or with -y\"}\n");
	assert_string_equal(run_json("poweroff"),
			    "{\"seq\":4,\"status\":\"ok\",\"reply\":\"poweroff\",\"machine\":"
			    "\"powering off\"}\n"
			    "{\"seq\":4,\"status\":\"error\",\"reply\":\"poweroff\",\"error\":"
			    "\"poweroff: it failed\"}\n");
}

/** stats in JSON carries the console line's receive errors. */
static void test_shell_stats_json_line_errors(void **state)
{
	enter_json_mode();
	const char *reply = run_json("stats");

	assert_non_null(strstr(reply, ",\"console_line\":{\"overruns\":3,\"framing_errors\":1,"
				      "\"parity_errors\":0,\"breaks\":2}}\n"));
}

/* ------------------------------------------------------------------------
 * Robustness
 * ------------------------------------------------------------------------ */

/** A lone ESC before Enter is harmless: the line still runs. */
static void test_shell_lone_escape(void **state)
{
	type("version\x1b");
	clear();
	type("\r");
	assert_string_equal(captured.text, "\r\nTessera " TESSERA_VERSION "\n" PROMPT);
	/* An ESC before a key other than [ or O is dropped, the key kept. */
	clear();
	type("\x1bv\x1b\x1b" "ersion\x1b");
	assert_string_equal(shell.line, "version");
	assert_string_equal(captured.text, "version");
}

/** NUL bytes inside and around a command change nothing. */
static void test_shell_nul_bytes(void **state)
{
	static const char line[] = "\0ver\0\0sion\0\r";

	shell_input(&shell, line, sizeof(line) - 1);
	assert_non_null(strstr(captured.text, "version\r\nTessera " TESSERA_VERSION "\n"));
}

/** A very long paste (several lines' worth) gives one error and the shell goes on. */
static void test_shell_overlong_paste(void **state)
{
	char paste[SHELL_LINE_MAX * 5];
	unsigned int errors = 0;

	memset(paste, 'p', sizeof(paste));
	shell_input(&shell, paste, sizeof(paste));
	type("\r");
	for (const char *c = captured.text; (c = strstr(c, "error:")) != NULL; c++) {
		errors++;
	}
	assert_int_equal(errors, 1);
	assert_int_equal(shell.sequence, 1);
	assert_string_equal(run("version"), "Tessera " TESSERA_VERSION "\n");
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
		TEST(test_shell_stop_paused_is_forced),
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
		TEST(test_shell_text_event_without_prompt),
		TEST(test_shell_json_events),
		TEST(test_shell_json_utf8),
		TEST(test_shell_json_utf8_invalid),
		TEST(test_shell_utf8_complete_length),
		TEST(test_shell_json_log_utf8_across_reads),
		TEST(test_shell_console_attach_and_detach),
		TEST(test_shell_console_summary),
		TEST(test_shell_console_held_overflow),
		TEST(test_shell_console_partition_stops),
		TEST(test_shell_console_refusals),
		TEST(test_shell_send),
		TEST(test_shell_send_errors),
		TEST(test_shell_regs),
		TEST(test_shell_regs_errors),
		TEST(test_shell_regs_json),
		TEST(test_shell_mem),
		TEST(test_shell_mem_errors),
		TEST(test_shell_mem_json),
		TEST(test_shell_cpus),
		TEST(test_shell_reboot_confirm),
		TEST(test_shell_reboot_cancel_and_yes),
		TEST(test_shell_poweroff_refused),
		TEST(test_shell_stats_json_line_errors),
		TEST(test_shell_lone_escape),
		TEST(test_shell_nul_bytes),
		TEST(test_shell_overlong_paste),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
