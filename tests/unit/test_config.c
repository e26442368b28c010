/*
 * Unit tests of hv/config.c, the tessera.conf parser.
 *
 * Every text is parsed from a heap copy of exactly its length, without a NUL,
 * so that AddressSanitizer catches any read past the end; and every parse
 * checks that each problem was reported exactly once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/config.h"

#define MAX_REPORTS 64
#define REPORT_SIZE 600

/** The problems one parse reported, in order. */
struct report_log {
	char messages[MAX_REPORTS][REPORT_SIZE];
	unsigned int count;
};

static struct report_log reports;
static struct tessera_config config;

/** config_report_fn that keeps each message in the log passed as ctx. */
static void record_report(void *ctx, const char *message)
{
	struct report_log *log = ctx;

	assert_non_null(message);
	assert_null(strchr(message, '\n'));
	if (log->count < MAX_REPORTS) {
		snprintf(log->messages[log->count], REPORT_SIZE, "%s", message);
	}
	log->count++;
}

/**
 * Parses length bytes of text into config, reports into reports, from a heap
 * buffer of exactly that size that is freed afterwards (so config cannot
 * point into it); returns the error count.
 */
static unsigned int parse_bytes(const char *text, size_t length)
{
	char *copy = malloc(length + (length == 0));
	unsigned int errors;

	assert_non_null(copy);
	memcpy(copy, text, length);
	memset(&reports, 0, sizeof(reports));
	memset(&config, 0xA5, sizeof(config));
	errors = config_parse("tessera.conf", copy, length, &config,
			      record_report, &reports);
	free(copy);
	assert_int_equal(errors, config.error_count);
	assert_int_equal(reports.count, errors);
	assert_true(config.partition_count <= CONFIG_MAX_PARTITIONS);
	return errors;
}

/** parse_bytes() of a C string, without its NUL. */
static unsigned int parse_text(const char *text)
{
	return parse_bytes(text, strlen(text));
}

/** Fails unless the reports are exactly expected[0 .. count), in order. */
static void assert_reports(const char *const expected[], size_t count)
{
	for (unsigned int i = 0; i < reports.count && i < MAX_REPORTS; i++) {
		if (i >= count || strcmp(reports.messages[i], expected[i]) != 0) {
			fail_msg("report %u: got \"%s\", expected \"%s\"", i,
				 reports.messages[i],
				 i < count ? expected[i] : "(nothing)");
		}
	}
	if (reports.count != count) {
		fail_msg("%u reports, expected %zu", reports.count, count);
	}
}

#define ASSERT_REPORTS(...)                                                  \
	assert_reports((const char *const[]){ __VA_ARGS__ },                 \
		       sizeof((const char *const[]){ __VA_ARGS__ }) /        \
			       sizeof(const char *))

/** The accepted partition called name, or NULL. */
static const struct partition_config *find_partition(const char *name)
{
	for (unsigned int i = 0; i < config.partition_count; i++) {
		if (strcmp(config.partitions[i].name, name) == 0) {
			return &config.partitions[i];
		}
	}
	return NULL;
}

/* Ports no partition may pass, whatever the file says (hv/config.h). */
static const struct io_range never_passed[] = {
	{ 0x20, 0x21 },	  { 0x40, 0x43 },   { 0x60, 0x60 }, { 0x64, 0x64 },
	{ 0x70, 0x71 },	  { 0x92, 0x92 },   { 0xa0, 0xa1 }, { 0xe9, 0xe9 },
	{ 0x3f8, 0x3ff }, { 0xcf8, 0xcff }, { 0x8900, 0x8900 },
};

/** Whether two port ranges share a port. */
static bool ranges_overlap(struct io_range a, struct io_range b)
{
	return a.first <= b.last && b.first <= a.last;
}

/**
 * Fails unless a partition's ioports are well-formed: at most 16 ranges,
 * each in order, none overlapping another, none touching a port no
 * partition may have nor the console UART's 8 ports.
 */
static void assert_ioports_sane(const struct partition_config *p)
{
	struct io_range console = { config.serial_port,
				    (uint16_t)(config.serial_port + 7 > 0xffff ?
						       0xffff :
						       config.serial_port + 7) };

	assert_true(p->ioport_count <= CONFIG_MAX_IO_RANGES);
	for (unsigned int i = 0; i < p->ioport_count; i++) {
		assert_true(p->ioports[i].first <= p->ioports[i].last);
		assert_false(ranges_overlap(p->ioports[i], console));
		for (size_t f = 0; f < sizeof(never_passed) / sizeof(never_passed[0]); f++) {
			assert_false(ranges_overlap(p->ioports[i], never_passed[f]));
		}
		for (unsigned int j = 0; j < i; j++) {
			assert_false(ranges_overlap(p->ioports[i], p->ioports[j]));
		}
	}
}

/** Fails unless no two accepted partitions pass the same port. */
static void assert_ports_owned_once(void)
{
	for (unsigned int a = 0; a < config.partition_count; a++) {
		const struct partition_config *pa = &config.partitions[a];

		for (unsigned int b = 0; b < a; b++) {
			const struct partition_config *pb = &config.partitions[b];

			for (unsigned int i = 0; i < pa->ioport_count; i++) {
				for (unsigned int j = 0; j < pb->ioport_count; j++) {
					assert_false(ranges_overlap(pa->ioports[i],
								    pb->ioports[j]));
				}
			}
		}
	}
}

/** Fails unless an accepted partition meets every documented guarantee. */
static void assert_partition_sane(const struct partition_config *p)
{
	size_t name_length = strnlen(p->name, CONFIG_NAME_MAX);

	assert_true(name_length >= 1 && name_length < CONFIG_NAME_MAX);
	assert_int_equal(strspn(p->name, "abcdefghijklmnopqrstuvwxyz"
					 "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789_-"),
			 name_length);
	assert_true(p->memory_bytes >= CONFIG_MEMORY_MIN);
	assert_true(p->memory_bytes <= CONFIG_MEMORY_MAX);
	assert_int_equal(p->memory_bytes % 4096, 0);
	assert_true(strnlen(p->image, CONFIG_PATH_MAX) < CONFIG_PATH_MAX);
	assert_int_equal(p->image[0], '\\');
	assert_null(strchr(p->image, '/'));
	assert_true(p->entry < p->memory_bytes);
	assert_true(p->load <= p->entry);
	assert_false(p->entry >= CONFIG_HOLE_START && p->entry < CONFIG_HOLE_END);
	assert_true(p->vcpus >= 1 && p->vcpus <= CONFIG_MAX_VCPUS);
	assert_true(p->on_crash == CRASH_STOP || p->on_crash == CRASH_RESTART);
	assert_true(p->console_buffer_bytes >= 4096 && p->console_buffer_bytes <= (1 << 20));
	assert_int_equal(p->console_buffer_bytes % 4096, 0);
	assert_true(p->stop_timeout_s >= 1 && p->stop_timeout_s <= 3600);
	assert_ioports_sane(p);
}

/** Checks the invariants of any parse result, however bad the input. */
static void assert_config_sane(void)
{
	assert_true(config.loglevel >= LOG_ERROR && config.loglevel <= LOG_DEBUG);
	assert_true(config.serial_port != 0);
	assert_int_equal(115200 % config.serial_baud, 0);
	for (unsigned int i = 0; i < config.partition_count; i++) {
		assert_partition_sane(&config.partitions[i]);
	}
	assert_ports_owned_once();
	for (unsigned int i = 0; i < reports.count && i < MAX_REPORTS; i++) {
		assert_int_equal(strncmp(reports.messages[i], "tessera.conf:",
					 strlen("tessera.conf:")),
				 0);
	}
}

static const char full_file[] =
	"# Tessera configuration\n"
	"[tessera]\n"
	"serial_port = 0x2f8\n"
	"serial_baud = 57600\n"
	"loglevel = debug\n"
	"\n"
	"[partition hello]\n"
	"memory = 16M\n"
	"image = \\tessera\\hello.bin\n"
	"entry = 0x100400\n"
	"load = 0x100000\n"
	"vcpus = 4\n"
	"on_crash = restart\n"
	"autostart = no\n"
	"\n"
	"[partition web-2_b]\n"
	"memory = 1G\n"
	"image = /guests/web.bin\n"
	"entry = 0x7c00\n"
	"ioports = 0x378-0x37f, 0x80,0x3e8-0x3ef\n"
	"console_buffer = 1M\n"
	"stop_timeout = 3600\n";

/** Checks what full_file (or a CRLF copy of it) must parse into. */
static void assert_full_file_parsed(void)
{
	const struct partition_config *hello = &config.partitions[0];
	const struct partition_config *web = &config.partitions[1];

	assert_int_equal(config.serial_port, 0x2f8);
	assert_int_equal(config.serial_baud, 57600);
	assert_int_equal(config.loglevel, LOG_DEBUG);
	assert_int_equal(config.partition_count, 2);
	assert_int_equal(config.refused_count, 0);
	assert_string_equal(hello->name, "hello");
	assert_int_equal(hello->memory_bytes, 16 << 20);
	assert_string_equal(hello->image, "\\tessera\\hello.bin");
	assert_int_equal(hello->entry, 0x100400);
	assert_int_equal(hello->load, 0x100000);
	assert_int_equal(hello->vcpus, 4);
	assert_int_equal(hello->on_crash, CRASH_RESTART);
	assert_false(hello->autostart);
	assert_int_equal(hello->line, 7);
	assert_string_equal(web->name, "web-2_b");
	assert_int_equal(web->memory_bytes, 1ULL << 30);
	assert_string_equal(web->image, "\\guests\\web.bin");
	assert_int_equal(web->entry, 0x7c00);
	assert_int_equal(web->line, 16);
	assert_int_equal(hello->ioport_count, 0);
	assert_int_equal(web->ioport_count, 3);
	assert_int_equal(web->ioports[0].first, 0x378);
	assert_int_equal(web->ioports[0].last, 0x37f);
	assert_int_equal(web->ioports[1].first, 0x80);
	assert_int_equal(web->ioports[1].last, 0x80);
	assert_int_equal(web->ioports[2].first, 0x3e8);
	assert_int_equal(web->ioports[2].last, 0x3ef);
	assert_int_equal(web->console_buffer_bytes, 1 << 20);
	assert_int_equal(web->stop_timeout_s, 3600);
}

/** A file using every key yields every value, in file order. */
static void test_full_file_sets_every_key(void **state)
{
	assert_int_equal(parse_text(full_file), 0);
	assert_full_file_parsed();
	assert_config_sane();
}

/** Omitted optional keys and a missing [tessera] take their defaults. */
static void test_defaults_for_omitted_keys(void **state)
{
	const struct partition_config *p = &config.partitions[0];

	assert_int_equal(parse_text("[partition solo]\n"
				    "memory = 2M\n"
				    "image = solo.bin\n"
				    "entry = 0x1000\n"),
			 0);
	assert_int_equal(config.serial_port, 0x3f8);
	assert_int_equal(config.serial_baud, 115200);
	assert_int_equal(config.loglevel, LOG_INFO);
	assert_int_equal(config.partition_count, 1);
	assert_int_equal(p->load, 0x1000);
	assert_int_equal(p->vcpus, 1);
	assert_int_equal(p->on_crash, CRASH_STOP);
	assert_true(p->autostart);
	assert_int_equal(p->ioport_count, 0);
	assert_int_equal(p->console_buffer_bytes, 64 << 10);
	assert_int_equal(p->stop_timeout_s, 10);
	assert_int_equal(p->line, 1);
}

/** config_set_defaults() resets everything, including the counters. */
static void test_set_defaults_resets_everything(void **state)
{
	memset(&config, 0xA5, sizeof(config));
	config_set_defaults(&config);
	assert_int_equal(config.serial_port, 0x3f8);
	assert_int_equal(config.serial_baud, 115200);
	assert_int_equal(config.loglevel, LOG_INFO);
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(config.error_count, 0);
	assert_int_equal(config.refused_count, 0);
}

/** An empty file, or one of only comments, is no error: no partitions. */
static void test_empty_file_is_not_an_error(void **state)
{
	assert_int_equal(parse_text(""), 0);
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(parse_text("# nothing yet\n\n   \n\t# indented\n"), 0);
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(parse_text("[tessera]\n"), 0);
	assert_int_equal(config_parse("tessera.conf", NULL, 0, &config, NULL,
				      NULL),
			 0);
	assert_int_equal(config.serial_baud, 115200);
}

/** Builds a CRLF copy of text in out (which must be twice as large). */
static void to_crlf(const char *text, char *out)
{
	for (; *text != '\0'; text++) {
		if (*text == '\n') {
			*out++ = '\r';
		}
		*out++ = *text;
	}
	*out = '\0';
}

/** A file saved on Windows (CRLF) parses like its LF twin. */
static void test_crlf_line_endings(void **state)
{
	char crlf[2 * sizeof(full_file)];

	to_crlf(full_file, crlf);
	assert_int_equal(parse_text(crlf), 0);
	assert_full_file_parsed();
	assert_int_equal(parse_text("[tessera]\r\n"
				    "\r\n"
				    "loglevel = loud\r\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:3: loglevel 'loud' is not error, warn, info or debug");
}

/** Comments, blank lines, tabs and missing spaces around '=' are fine. */
static void test_comments_and_whitespace(void **state)
{
	const struct partition_config *p = &config.partitions[0];

	assert_int_equal(parse_text("   # indented comment\n"
				    "\t\n"
				    "  [tessera]   # the globals\n"
				    "loglevel=warn#terse\n"
				    "\t serial_baud\t=\t9600\t\n"
				    "[ partition  spaced ]\n"
				    "  memory = 32M   # comment\n"
				    "image = \\dir with space\\a b.bin  # spaces kept inside\n"
				    "entry = 0x100000#\n"
				    "#entry = 5\n"),
			 0);
	assert_int_equal(config.loglevel, LOG_WARN);
	assert_int_equal(config.serial_baud, 9600);
	assert_int_equal(config.partition_count, 1);
	assert_string_equal(p->name, "spaced");
	assert_int_equal(p->memory_bytes, 32 << 20);
	assert_string_equal(p->image, "\\dir with space\\a b.bin");
	assert_int_equal(p->entry, 0x100000);
}

/** Keys, section keywords, suffixes, "0x" and words ignore case. */
static void test_keywords_ignore_case(void **state)
{
	const struct partition_config *p = &config.partitions[0];

	assert_int_equal(parse_text("[TESSERA]\n"
				    "LogLevel = ERROR\n"
				    "[Partition MixedCase]\n"
				    "MEMORY = 16m\n"
				    "Image = x.bin\n"
				    "ENTRY = 0X10000A\n"
				    "On_Crash = Restart\n"
				    "AutoStart = NO\n"),
			 0);
	assert_int_equal(config.loglevel, LOG_ERROR);
	assert_string_equal(p->name, "MixedCase");
	assert_int_equal(p->memory_bytes, 16 << 20);
	assert_int_equal(p->entry, 0x10000a);
	assert_int_equal(p->on_crash, CRASH_RESTART);
	assert_false(p->autostart);
}

/** Sizes take K/M/G (KiB units) or none, in decimal or hex. */
static void test_memory_sizes(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} sizes[] = {
		{ "1M", 1ULL << 20 },	      { "1024K", 1ULL << 20 },
		{ "1048576", 1ULL << 20 },    { "0x100000", 1ULL << 20 },
		{ "4100k", 4100ULL << 10 },   { "2g", 2ULL << 30 },
		{ "64G", 64ULL << 30 },	      { "65536M", 64ULL << 30 },
		{ "0x10M", 16ULL << 20 },     { "0001M", 1ULL << 20 },
	};
	char text[128];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(text, sizeof(text),
			 "[partition p]\nmemory = %s\nimage = p\nentry = 0\n",
			 sizes[i].text);
		assert_int_equal(parse_text(text), 0);
		assert_int_equal(config.partitions[0].memory_bytes,
				 sizes[i].bytes);
	}
}

/** '/' becomes '\' and a leading '\' is added when missing. */
static void test_image_path_normalised(void **state)
{
	static const struct {
		const char *written;
		const char *stored;
	} paths[] = {
		{ "/tessera/hello.bin", "\\tessera\\hello.bin" },
		{ "hello.bin", "\\hello.bin" },
		{ "tessera/sub\\x.bin", "\\tessera\\sub\\x.bin" },
		{ "\\already.bin", "\\already.bin" },
		{ "../up/./x.bin", "\\..\\up\\.\\x.bin" },
	};
	char text[256];

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		snprintf(text, sizeof(text),
			 "[partition p]\nmemory = 1M\nimage = %s\nentry = 0\n",
			 paths[i].written);
		assert_int_equal(parse_text(text), 0);
		assert_string_equal(config.partitions[0].image, paths[i].stored);
	}
}

/** Notepad's UTF-8 byte order mark is skipped; line numbers are kept. */
static void test_utf8_byte_order_mark_skipped(void **state)
{
	assert_int_equal(parse_text("\xef\xbb\xbf[tessera]\n"
				    "loglevel = debug\n"
				    "bogus = 1\n"),
			 1);
	assert_int_equal(config.loglevel, LOG_DEBUG);
	ASSERT_REPORTS("tessera.conf:3: unknown key 'bogus'");
}

/** The last line counts even without a final newline. */
static void test_last_line_without_newline(void **state)
{
	assert_int_equal(parse_text("[partition last]\n"
				    "memory = 1M\n"
				    "image = last.bin\n"
				    "entry = 0x2000"),
			 0);
	assert_int_equal(config.partitions[0].entry, 0x2000);
	assert_int_equal(parse_text("[tessera]\r\nloglevel = warn\r"), 0);
	assert_int_equal(config.loglevel, LOG_WARN);
}

/** The limits themselves are accepted: 255-char line, 31-char name, 127-char path. */
static void test_limits_are_inclusive(void **state)
{
	char text[1024];
	char line[256];
	char name[32];
	char path[128];

	memset(line, 'c', 255);
	line[0] = '#';
	line[255] = '\0';
	memset(name, 'n', 31);
	name[31] = '\0';
	memset(path, 'p', 127);
	path[0] = '\\';
	path[127] = '\0';
	snprintf(text, sizeof(text),
		 "%s\n[partition %s]\nmemory = 64G\nimage = %s\nentry = 0xfffffffff\n"
		 "vcpus = 8\n[tessera]\nserial_port = 0xffff\nserial_baud = 1\n",
		 line, name, path);
	assert_int_equal(parse_text(text), 0);
	assert_string_equal(config.partitions[0].name, name);
	assert_string_equal(config.partitions[0].image, path);
	assert_int_equal(config.partitions[0].memory_bytes, 64ULL << 30);
	assert_int_equal(config.partitions[0].entry, 0xfffffffffULL);
	assert_int_equal(config.partitions[0].vcpus, 8);
	assert_int_equal(config.serial_port, 0xffff);
	assert_int_equal(config.serial_baud, 1);
}

/** Appends "[partition pN]" sections for N in [first, last] to text. */
static void append_partitions(char *text, size_t size, int first, int last)
{
	for (int n = first; n <= last; n++) {
		size_t used = strlen(text);

		snprintf(text + used, size - used,
			 "[partition p%d]\nmemory = 1M\nimage = p%d.bin\nentry = 0\n",
			 n, n);
	}
}

/** Sixteen partitions fit; the seventeenth is refused at its header. */
static void test_too_many_partitions(void **state)
{
	char text[4096] = "";

	append_partitions(text, sizeof(text), 1, 16);
	assert_int_equal(parse_text(text), 0);
	assert_int_equal(config.partition_count, 16);
	assert_string_equal(config.partitions[15].name, "p16");

	append_partitions(text, sizeof(text), 17, 17);
	assert_int_equal(parse_text(text), 1);
	ASSERT_REPORTS("tessera.conf:65: too many partitions (at most 16): 'p17' is refused");
	assert_int_equal(config.partition_count, 16);
	assert_int_equal(config.refused_count, 1);
}

/** Without a report function the problems are still counted. */
static void test_null_report_only_counts(void **state)
{
	static const char text[] = "junk\n[tessera]\nloglevel = x\n";

	assert_int_equal(config_parse("tessera.conf", text, strlen(text),
				      &config, NULL, NULL),
			 2);
	assert_int_equal(config.error_count, 2);
}

/** The file name given is the one in the messages. */
static void test_file_name_in_messages(void **state)
{
	static const char text[] = "junk\n";

	memset(&reports, 0, sizeof(reports));
	config_parse("\\EFI\\tessera\\tessera.conf", text, strlen(text),
		     &config, record_report, &reports);
	assert_string_equal(reports.messages[0],
			    "\\EFI\\tessera\\tessera.conf:1: line is not 'key = value' nor a [section]");
}

/** The examples of the specification, word for word. */
static void test_specification_examples(void **state)
{
	assert_int_equal(parse_text("[partition web]\n"
				    "memory = 16M\n"
				    "entry = 0x100000\n"
				    "\n"
				    "[partition hello]\n"
				    "memry = 16M\n"
				    "memory = 12Q\n"
				    "image = hello.bin\n"
				    "entry = 0\n"
				    "[partition hello]\n"),
			 4);
	ASSERT_REPORTS("tessera.conf:1: partition 'web': missing 'image' (or 'kernel')",
		       "tessera.conf:6: partition 'hello': unknown key 'memry'",
		       "tessera.conf:7: partition 'hello': memory '12Q' is not a size (write e.g. 64M)",
		       "tessera.conf:10: duplicate partition name 'hello'");
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(config.refused_count, 3);
}

/** Each missing required key is named, at the header's line. */
static void test_missing_required_keys(void **state)
{
	assert_int_equal(parse_text("# a\n[partition empty]\n# b\n"), 3);
	ASSERT_REPORTS("tessera.conf:2: partition 'empty': missing 'memory'",
		       "tessera.conf:2: partition 'empty': missing 'image' (or 'kernel')",
		       "tessera.conf:2: partition 'empty': missing 'entry'");
	assert_int_equal(config.refused_count, 1);
}

/** A Linux partition: kernel, initrd and cmdline kept as written, no entry needed. */
static void test_linux_kernel_keys(void **state)
{
	const struct partition_config *p;

	assert_int_equal(parse_text("[partition linux]\nmemory = 256M\nkernel = tessera/vmlinuz\n"
				    "initrd = \\tessera\\initrd.img\n"
				    "cmdline = console=ttyS0 root=/dev/ram0  quiet # a comment\n"),
			 0);
	p = &config.partitions[0];
	assert_int_equal(p->format, IMAGE_LINUX);
	assert_string_equal(p->image, "\\tessera\\vmlinuz");
	assert_string_equal(p->initrd, "\\tessera\\initrd.img");
	assert_string_equal(p->cmdline, "console=ttyS0 root=/dev/ram0  quiet");
}

/** A flat image's keys and a kernel's exclude each other; initrd/cmdline need a kernel. */
static void test_linux_kernel_key_conflicts(void **state)
{
	assert_int_equal(parse_text("[partition both]\nmemory = 64M\nkernel = vmlinuz\n"
				    "image = flat.bin\nentry = 0x100000\n"
				    "[partition flat]\nmemory = 16M\nimage = flat.bin\nentry = 0x100000\n"
				    "cmdline = quiet\ninitrd = initrd.img\n"),
			 4);
	ASSERT_REPORTS("tessera.conf:4: partition 'both': 'image' is for a flat image; a partition with 'kernel' has none",
		       "tessera.conf:5: partition 'both': 'entry' is for a flat image; a partition with 'kernel' has none",
		       "tessera.conf:11: partition 'flat': 'initrd' needs 'kernel' (it is for a Linux kernel)",
		       "tessera.conf:10: partition 'flat': 'cmdline' needs 'kernel' (it is for a Linux kernel)");
	assert_int_equal(config.refused_count, 2);
}

/**
 * The longest line holds a command line of 245 characters, kept whole; one
 * with a control character is refused.
 */
static void test_linux_cmdline_limits(void **state)
{
	char text[CONFIG_LINE_MAX + 64];
	const size_t prefix = sizeof("cmdline = ") - 1;
	int used = snprintf(text, sizeof(text), "[partition l]\nmemory = 64M\nkernel = k\ncmdline = ");

	memset(text + used, 'x', CONFIG_LINE_MAX - prefix);
	snprintf(text + used + CONFIG_LINE_MAX - prefix, 2, "\n");
	assert_int_equal(parse_text(text), 0);
	assert_int_equal(strlen(config.partitions[0].cmdline), CONFIG_LINE_MAX - prefix);
	assert_int_equal(parse_text("[partition l]\nmemory = 64M\nkernel = k\ncmdline = a\tb\n"), 1);
	ASSERT_REPORTS("tessera.conf:4: partition 'l': cmdline has a character that is not printable ASCII at column 2");
}

/** A line that is neither a section nor key = value is refused. */
static void test_line_not_key_value(void **state)
{
	assert_int_equal(parse_text("[tessera]\n"
				    "loglevel debug\n"
				    "= 5\n"
				    "==\n"),
			 3);
	ASSERT_REPORTS("tessera.conf:2: line is not 'key = value' nor a [section]",
		       "tessera.conf:3: line is not 'key = value' nor a [section]",
		       "tessera.conf:4: line is not 'key = value' nor a [section]");
	assert_int_equal(config.loglevel, LOG_INFO);
}

/** A key before any section header has nowhere to go. */
static void test_key_outside_any_section(void **state)
{
	assert_int_equal(parse_text("# header\nloglevel = debug\n[tessera]\n"), 1);
	ASSERT_REPORTS("tessera.conf:2: key 'loglevel' is outside any section (put it under [tessera] or [partition NAME])");
	assert_int_equal(config.loglevel, LOG_INFO);
}

/** An unknown section is reported once; its keys are ignored quietly. */
static void test_unknown_section(void **state)
{
	assert_int_equal(parse_text("[partiton web]\n"
				    "memory = 16M\n"
				    "whatever = 1\n"
				    "[tessera extra]\n"
				    "[]\n"),
			 3);
	ASSERT_REPORTS("tessera.conf:1: unknown section '[partiton web]' (expected [tessera] or [partition NAME])",
		       "tessera.conf:4: unknown section '[tessera extra]' (expected [tessera] or [partition NAME])",
		       "tessera.conf:5: unknown section '[]' (expected [tessera] or [partition NAME])");
	assert_int_equal(config.refused_count, 0);
}

/** A header without its ']' is refused and its section skipped. */
static void test_section_header_without_closing_bracket(void **state)
{
	assert_int_equal(parse_text("[partition web\nmemory = 1M\n"), 1);
	ASSERT_REPORTS("tessera.conf:1: section header has no closing ']'");
}

/** A 256-character line is refused, even a comment. */
static void test_line_longer_than_limit(void **state)
{
	char text[600];

	memset(text, ' ', 256);
	text[0] = '#';
	strcpy(text + 256, "\n[tessera]\n");
	assert_int_equal(parse_text(text), 1);
	ASSERT_REPORTS("tessera.conf:1: line is longer than 255 characters");

	strcpy(text, "[partition p]\nimage = ");
	memset(text + strlen(text), 'x', 300);
	strcpy(text + strlen("[partition p]\nimage = ") + 300,
	       "\nmemory = 1M\nentry = 0\n");
	assert_int_equal(parse_text(text), 2);
	ASSERT_REPORTS("tessera.conf:2: partition 'p': line is longer than 255 characters",
		       "tessera.conf:1: partition 'p': missing 'image' (or 'kernel')");
	assert_int_equal(config.refused_count, 1);
}

/** NUL bytes, stray CRs and other control characters refuse the line. */
static void test_control_characters(void **state)
{
	static const char text[] = "[tessera]\n"
				   "loglevel = de\0bug\n"
				   "loglevel = in\rfo\n"
				   "# bell \a in a comment\n"
				   "serial_baud = 9600\x7f\n"
				   "serial_port = 0x2f8\t\n";

	assert_int_equal(parse_bytes(text, sizeof(text) - 1), 4);
	ASSERT_REPORTS("tessera.conf:2: line contains control character 0x00 at column 14",
		       "tessera.conf:3: line contains control character 0x0d at column 14",
		       "tessera.conf:4: line contains control character 0x07 at column 8",
		       "tessera.conf:5: line contains control character 0x7f at column 19");
	assert_int_equal(config.loglevel, LOG_INFO);
	assert_int_equal(config.serial_baud, 115200);
	assert_int_equal(config.serial_port, 0x2f8);
}

/** A bad line inside a partition refuses that partition, named. */
static void test_bad_line_inside_partition_refuses_it(void **state)
{
	static const char text[] = "[partition bin]\n"
				   "memory = 1M\n"
				   "image = b\x01in\n"
				   "entry = 0\n";

	assert_int_equal(parse_bytes(text, sizeof(text) - 1), 2);
	ASSERT_REPORTS("tessera.conf:3: partition 'bin': line contains control character 0x01 at column 10",
		       "tessera.conf:1: partition 'bin': missing 'image' (or 'kernel')");
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(config.refused_count, 1);
}

/** A key set twice in one section is refused, naming the first line. */
static void test_duplicate_key(void **state)
{
	assert_int_equal(parse_text("[tessera]\n"
				    "loglevel = warn\n"
				    "loglevel = debug\n"
				    "[partition p]\n"
				    "memory = 1M\n"
				    "image = p\n"
				    "entry = 0\n"
				    "MEMORY = 2M\n"),
			 2);
	ASSERT_REPORTS("tessera.conf:3: duplicate key 'loglevel' (first set at line 2)",
		       "tessera.conf:8: partition 'p': duplicate key 'memory' (first set at line 5)");
	assert_int_equal(config.loglevel, LOG_WARN);
	assert_int_equal(config.refused_count, 1);
}

/** The same key in two partitions is no duplicate. */
static void test_same_key_in_two_partitions(void **state)
{
	char text[512] = "";

	append_partitions(text, sizeof(text), 1, 2);
	assert_int_equal(parse_text(text), 0);
	assert_int_equal(config.partition_count, 2);
}

/** A key with nothing after '=' is refused, and not also "missing". */
static void test_key_without_value(void **state)
{
	assert_int_equal(parse_text("[tessera]\n"
				    "loglevel =\n"
				    "[partition p]\n"
				    "memory = 1M\n"
				    "image =   # later\n"
				    "entry = 0\n"),
			 2);
	ASSERT_REPORTS("tessera.conf:2: key 'loglevel' has no value",
		       "tessera.conf:5: partition 'p': key 'image' has no value");
}

/** Memory must be a size, a 4K multiple, in [1M, 64G]. */
static void test_memory_problems(void **state)
{
	assert_int_equal(parse_text("[partition p]\n"
				    "memory = 512K\n"
				    "[partition q]\n"
				    "memory = 65G\n"
				    "[partition r]\n"
				    "memory = 1025K\n"
				    "[partition s]\n"
				    "memory = 99999999999999999999G\n"
				    "[partition t]\n"
				    "memory = 16 M\n"
				    "[partition u]\n"
				    "memory = M\n"
				    "[partition v]\n"
				    "memory = 16MB\n"
				    "[partition w]\n"
				    "memory = 17179869184G\n"),
			 8 + 8 * 2);
	assert_string_equal(reports.messages[0], "tessera.conf:2: partition 'p': memory '512K' is less than 1M");
	assert_string_equal(reports.messages[3], "tessera.conf:4: partition 'q': memory '65G' is more than 64G");
	assert_string_equal(reports.messages[6], "tessera.conf:6: partition 'r': memory '1025K' is not a multiple of 4K");
	assert_string_equal(reports.messages[9], "tessera.conf:8: partition 's': memory '99999999999999999999G' is more than 64G");
	assert_string_equal(reports.messages[12], "tessera.conf:10: partition 't': memory '16 M' is not a size (write e.g. 64M)");
	assert_string_equal(reports.messages[15], "tessera.conf:12: partition 'u': memory 'M' is not a size (write e.g. 64M)");
	assert_string_equal(reports.messages[18], "tessera.conf:14: partition 'v': memory '16MB' is not a size (write e.g. 64M)");
	assert_string_equal(reports.messages[21], "tessera.conf:16: partition 'w': memory '17179869184G' is more than 64G");
	assert_int_equal(config.refused_count, 8);
}

/** Numbers are decimal or 0x hex, non-negative, within 64 bits. */
static void test_malformed_numbers(void **state)
{
	assert_int_equal(parse_text("[partition p]\n"
				    "memory = 1M\n"
				    "image = p\n"
				    "entry = 0x\n"
				    "load = -1\n"
				    "vcpus = two\n"
				    "[tessera]\n"
				    "serial_port = 0x1_000\n"
				    "serial_baud = 18446744073709551616\n"
				    "serial_port = 0x3f8h\n"),
			 6);
	ASSERT_REPORTS("tessera.conf:4: partition 'p': entry '0x' is not a number (write decimal or 0x hex)",
		       "tessera.conf:5: partition 'p': load '-1' is not a number (write decimal or 0x hex)",
		       "tessera.conf:6: partition 'p': vcpus 'two' is not a number (write decimal or 0x hex)",
		       "tessera.conf:8: serial_port '0x1_000' is not a number (write decimal or 0x hex)",
		       "tessera.conf:9: serial_baud '18446744073709551616' is too large for 64 bits",
		       "tessera.conf:10: duplicate key 'serial_port' (first set at line 8)");
}

/** vcpus must be 1..8. */
static void test_vcpus_out_of_range(void **state)
{
	assert_int_equal(parse_text("[partition p]\nvcpus = 0\n"
				    "[partition q]\nvcpus = 9\n"),
			 2 + 2 * 3);
	assert_string_equal(reports.messages[0], "tessera.conf:2: partition 'p': vcpus '0' is out of range (1..8)");
	assert_string_equal(reports.messages[4], "tessera.conf:4: partition 'q': vcpus '9' is out of range (1..8)");
}

/** A bad [tessera] value keeps that key's default, not the others'. */
static void test_tessera_errors_keep_defaults(void **state)
{
	assert_int_equal(parse_text("[tessera]\n"
				    "serial_port = 0x10000\n"
				    "serial_baud = 9601\n"
				    "loglevel = verbose\n"),
			 3);
	ASSERT_REPORTS("tessera.conf:2: serial_port '0x10000' is out of range (0x1..0xffff)",
		       "tessera.conf:3: serial_baud '9601' does not divide 115200 (e.g. 115200, 57600, 38400, 9600)",
		       "tessera.conf:4: loglevel 'verbose' is not error, warn, info or debug");
	assert_int_equal(config.serial_port, 0x3f8);
	assert_int_equal(config.serial_baud, 115200);
	assert_int_equal(config.loglevel, LOG_INFO);

	assert_int_equal(parse_text("[tessera]\n"
				    "serial_port = 0\n"
				    "serial_baud = 0\n"
				    "loglevel = warn\n"),
			 2);
	ASSERT_REPORTS("tessera.conf:2: serial_port '0' is out of range (0x1..0xffff)",
		       "tessera.conf:3: serial_baud '0' does not divide 115200 (e.g. 115200, 57600, 38400, 9600)");
	assert_int_equal(config.loglevel, LOG_WARN);
	assert_int_equal(parse_text("[tessera]\nserial_baud = 230400\n"), 1);
	assert_int_equal(config.serial_baud, 115200);
}

/** on_crash and autostart accept only their words. */
static void test_bad_enumerated_values(void **state)
{
	assert_int_equal(parse_text("[partition p]\n"
				    "memory = 1M\n"
				    "image = p\n"
				    "entry = 0\n"
				    "on_crash = reboot\n"
				    "autostart = true\n"),
			 2);
	ASSERT_REPORTS("tessera.conf:5: partition 'p': on_crash 'reboot' is not stop or restart",
		       "tessera.conf:6: partition 'p': autostart 'true' is not yes or no");
	assert_int_equal(config.partition_count, 0);
}

/** Builds a partition with the given memory, entry and optional load line. */
static unsigned int parse_addresses(const char *memory, const char *entry,
				    const char *load_line)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "[partition a]\nmemory = %s\nimage = a\nentry = %s\n%s",
		 memory, entry, load_line);
	return parse_text(text);
}

/** entry and load must lie in the partition's RAM, outside the hole. */
static void test_addresses_outside_ram_or_in_hole(void **state)
{
	assert_int_equal(parse_addresses("16M", "0x1000000", ""), 1);
	ASSERT_REPORTS("tessera.conf:4: partition 'a': entry 0x1000000 is outside the partition's RAM (0x0..0xffffff)");
	assert_int_equal(parse_addresses("16M", "0xfffff0", "load = 0x1000000\n"), 2);
	ASSERT_REPORTS("tessera.conf:5: partition 'a': load 0x1000000 is outside the partition's RAM (0x0..0xffffff)",
		       "tessera.conf:4: partition 'a': entry 0xfffff0 is below load 0x1000000, outside the image");
	assert_int_equal(parse_addresses("16M", "0xa0000", ""), 1);
	ASSERT_REPORTS("tessera.conf:4: partition 'a': entry 0xa0000 is in the hole 0xa0000..0xfffff (legacy VGA and ROM)");
	assert_int_equal(parse_addresses("16M", "0xfffff", ""), 1);
	assert_int_equal(parse_addresses("16M", "0x9ffff", ""), 0);
	assert_int_equal(parse_addresses("16M", "0x100000", "load = 0xc0000\n"), 1);
	ASSERT_REPORTS("tessera.conf:5: partition 'a': load 0xc0000 is in the hole 0xa0000..0xfffff (legacy VGA and ROM)");
	assert_int_equal(parse_addresses("16M", "0x1000", "load = 0x2000\n"), 1);
	ASSERT_REPORTS("tessera.conf:4: partition 'a': entry 0x1000 is below load 0x2000, outside the image");
	assert_int_equal(parse_addresses("16M", "0xffffff", "load = 0\n"), 0);
	assert_int_equal(config.partitions[0].load, 0);
}

/** An entry after memory in the file is still checked against it. */
static void test_entry_checked_whatever_the_key_order(void **state)
{
	assert_int_equal(parse_text("[partition a]\n"
				    "entry = 0x200000\n"
				    "image = a\n"
				    "memory = 2M\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:2: partition 'a': entry 0x200000 is outside the partition's RAM (0x0..0x1fffff)");
}

/** Partition names are 1-31 of [A-Za-z0-9_-]. */
static void test_invalid_partition_names(void **state)
{
	assert_int_equal(parse_text("[partition]\n"
				    "memory = 1M\n"
				    "[partition a.b]\n"
				    "[partition two words]\n"
				    "[partition abcdefghijklmnopqrstuvwxyz012345]\n"
				    "[partition caf\xc3\xa9]\n"),
			 5);
	ASSERT_REPORTS("tessera.conf:1: partition section has no name (write [partition NAME])",
		       "tessera.conf:3: partition name 'a.b' may only contain letters, digits, '_' and '-'",
		       "tessera.conf:4: partition name 'two words' may only contain letters, digits, '_' and '-'",
		       "tessera.conf:5: partition name 'abcdefghijklmnopqrstuvwxyz012345' is longer than 31 characters",
		       "tessera.conf:6: partition name 'caf\xc3\xa9' may only contain letters, digits, '_' and '-'");
	assert_int_equal(config.refused_count, 5);
}

/** Image paths must be plain FAT paths to a file that fit the buffer. */
static void test_image_path_problems(void **state)
{
	char text[512];
	size_t used;

	assert_int_equal(parse_text("[partition a]\nimage = fs0:\\a.bin\n"
				    "[partition b]\nimage = \\dir\\\n"
				    "[partition c]\nimage = \\a//b.bin\n"
				    "[partition d]\nimage = \"a.bin\"\n"
				    "[partition e]\nimage = \\caf\xc3\xa9.bin\n"),
			 5 + 5 * 2);
	assert_string_equal(reports.messages[0], "tessera.conf:2: partition 'a': image 'fs0:\\a.bin' contains a character a FAT path cannot hold");
	assert_string_equal(reports.messages[3], "tessera.conf:4: partition 'b': image '\\dir\\' names a directory, not a file");
	assert_string_equal(reports.messages[6], "tessera.conf:6: partition 'c': image '\\a//b.bin' has an empty path component");
	assert_string_equal(reports.messages[9], "tessera.conf:8: partition 'd': image '\"a.bin\"' contains a character a FAT path cannot hold");
	assert_string_equal(reports.messages[12], "tessera.conf:10: partition 'e': image '\\caf\xc3\xa9.bin' contains a non-ASCII character (UEFI paths here are ASCII)");

	/* 127 characters without the leading '\' make 128 with it. */
	used = (size_t)snprintf(text, sizeof(text), "[partition f]\nimage = ");
	memset(text + used, 'x', 127);
	strcpy(text + used + 127, "\nmemory = 1M\nentry = 0\n");
	assert_int_equal(parse_text(text), 1);
	assert_non_null(strstr(reports.messages[0], "is longer than 127 characters (counting the leading '\\')"));
}

/** A refused partition does not stop a later valid one. */
static void test_invalid_partition_refused_later_valid_kept(void **state)
{
	assert_int_equal(parse_text("[partition bad]\n"
				    "memory = 16M\n"
				    "image = bad.bin\n"
				    "entry = 0x100000\n"
				    "vcpus = 64\n"
				    "\n"
				    "[partition good]\n"
				    "memory = 16M\n"
				    "image = good.bin\n"
				    "entry = 0x100000\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:5: partition 'bad': vcpus '64' is out of range (1..8)");
	assert_int_equal(config.partition_count, 1);
	assert_int_equal(config.refused_count, 1);
	assert_null(find_partition("bad"));
	assert_non_null(find_partition("good"));
	assert_int_equal(find_partition("good")->line, 7);
}

/** A refused partition's name still counts: a second one is a duplicate. */
static void test_refused_partition_name_still_taken(void **state)
{
	assert_int_equal(parse_text("[partition twin]\n"
				    "memory = 1M\n"
				    "[partition twin]\n"
				    "memory = 1M\n"
				    "image = t\n"
				    "entry = 0\n"),
			 3);
	ASSERT_REPORTS("tessera.conf:1: partition 'twin': missing 'image' (or 'kernel')",
		       "tessera.conf:1: partition 'twin': missing 'entry'",
		       "tessera.conf:3: duplicate partition name 'twin'");
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(config.refused_count, 2);
}

/** A [tessera] section may come after partitions and may be repeated. */
static void test_tessera_section_anywhere(void **state)
{
	char text[512] = "";

	append_partitions(text, sizeof(text), 1, 1);
	strcat(text, "[tessera]\nloglevel = debug\n[tessera]\nserial_baud = 38400\n");
	assert_int_equal(parse_text(text), 0);
	assert_int_equal(config.loglevel, LOG_DEBUG);
	assert_int_equal(config.serial_baud, 38400);
	assert_int_equal(config.partition_count, 1);
}

/** Parses one partition "p" whose ioports line (line 5) is value. */
static unsigned int parse_ioports(const char *value)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "[partition p]\nmemory = 1M\nimage = p\nentry = 0\nioports = %s\n",
		 value);
	return parse_text(text);
}

/** Fails unless partition 0 passes exactly the count ranges given. */
static void assert_ioports(const struct io_range *expected, unsigned int count)
{
	const struct partition_config *p = &config.partitions[0];

	assert_int_equal(config.partition_count, 1);
	assert_int_equal(p->ioport_count, count);
	for (unsigned int i = 0; i < count; i++) {
		assert_int_equal(p->ioports[i].first, expected[i].first);
		assert_int_equal(p->ioports[i].last, expected[i].last);
	}
}

#define ASSERT_IOPORTS(...)                                                  \
	assert_ioports((const struct io_range[]){ __VA_ARGS__ },             \
		       sizeof((const struct io_range[]){ __VA_ARGS__ }) /    \
			       sizeof(struct io_range))

/** Ports and ranges, decimal or hex, in file order; none by default. */
static void test_ioports_valid_lists(void **state)
{
	assert_int_equal(parse_ioports("0x2f8-0x2ff, 0x378-0x37f, 0x80"), 0);
	ASSERT_IOPORTS({ 0x2f8, 0x2ff }, { 0x378, 0x37f }, { 0x80, 0x80 });
	assert_int_equal(parse_ioports("760-767,888"), 0);
	ASSERT_IOPORTS({ 0x2f8, 0x2ff }, { 888, 888 });
	assert_int_equal(parse_ioports("0X2F8 - 0X2FF ,\t0x300-0x300"), 0);
	ASSERT_IOPORTS({ 0x2f8, 0x2ff }, { 0x300, 0x300 });
	/* Adjacent ranges do not overlap; both ends of the port space. */
	assert_int_equal(parse_ioports("0x3f0-0x3f7, 0x400-0x407, 0x408, 0x80, 0xffff"), 0);
	ASSERT_IOPORTS({ 0x3f0, 0x3f7 }, { 0x400, 0x407 }, { 0x408, 0x408 },
		       { 0x80, 0x80 }, { 0xffff, 0xffff });
	/* Right next to forbidden ports: 0x20, 0x22, 0x61-0x63, 0x80, 0xcf7, 0xd00. */
	assert_int_equal(parse_ioports("0x22-0x3f, 0x61-0x63, 0x80, 0xe0-0xe8, 0xcf7, 0xd00-0x88ff, 0x8901-0xffff"), 0);
	assert_int_equal(config.partitions[0].ioport_count, 7);
	assert_int_equal(parse_ioports("0x300,0x301,0x302,0x303,0x304,0x305,0x306,0x307,0x308,"
				       "0x309,0x30a,0x30b,0x30c,0x30d,0x30e,0x30f"), 0);
	assert_int_equal(config.partitions[0].ioport_count, 16);
	assert_int_equal(config.partitions[0].ioports[15].first, 0x30f);
	assert_int_equal(parse_text("[partition q]\nmemory = 1M\nimage = q\nentry = 0\n"), 0);
	assert_int_equal(config.partitions[0].ioport_count, 0);
}

/** A malformed list or number, each reported once, quoting the entry. */
static void test_ioports_malformed(void **state)
{
	static const struct {
		const char *value;
		const char *message;
	} cases[] = {
		{ "0x80,,0x90", "ioports '0x80,,0x90' has an empty entry (write e.g. 0x2f8-0x2ff, 0x80)" },
		{ "0x80,", "ioports '0x80,' has an empty entry (write e.g. 0x2f8-0x2ff, 0x80)" },
		{ ", 0x80", "ioports ', 0x80' has an empty entry (write e.g. 0x2f8-0x2ff, 0x80)" },
		{ "0x2fg", "ioports '0x2fg' is not a port or a range first-last (decimal or 0x hex)" },
		{ "0x2f8-", "ioports '0x2f8-' is not a port or a range first-last (decimal or 0x hex)" },
		{ "-0x2ff", "ioports '-0x2ff' is not a port or a range first-last (decimal or 0x hex)" },
		{ "1-2-3", "ioports '1-2-3' is not a port or a range first-last (decimal or 0x hex)" },
		{ "0x2f8 0x2ff", "ioports '0x2f8 0x2ff' is not a port or a range first-last (decimal or 0x hex)" },
		{ "0x80, COM2", "ioports 'COM2' is not a port or a range first-last (decimal or 0x hex)" },
		{ "0x10000", "ioports '0x10000' goes beyond port 0xffff" },
		{ "0xfff0-0x10000", "ioports '0xfff0-0x10000' goes beyond port 0xffff" },
		{ "99999999999999999999", "ioports '99999999999999999999' goes beyond port 0xffff" },
		{ "0x2ff-0x2f8", "ioports '0x2ff-0x2f8' ends below its first port (write first-last)" },
		{ "0x300,0x301,0x302,0x303,0x304,0x305,0x306,0x307,0x308,0x309,0x30a,0x30b,"
		  "0x30c,0x30d,0x30e,0x30f,0x310", "ioports lists more than 16 ranges" },
		{ "0x2f8-0x2ff, 0x2fc-0x303", "ioports 0x2fc-0x303: port 0x2fc is listed twice (also in 0x2f8-0x2ff)" },
		{ "0x80, 0x80", "ioports 0x80: port 0x80 is listed twice (also in 0x80)" },
		{ "0x300-0x30f, 0x2f0-0x300", "ioports 0x2f0-0x300: port 0x300 is listed twice (also in 0x300-0x30f)" },
		{ "0x300-0x30f, 0x2f0-0x3ef", "ioports 0x2f0-0x3ef: port 0x300 is listed twice (also in 0x300-0x30f)" },
	};
	char expected[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_ioports(cases[i].value), 1);
		snprintf(expected, sizeof(expected),
			 "tessera.conf:5: partition 'p': %s", cases[i].message);
		ASSERT_REPORTS(expected);
		assert_int_equal(config.partition_count, 0);
		assert_int_equal(config.refused_count, 1);
	}
	assert_int_equal(parse_ioports(""), 1);
	ASSERT_REPORTS("tessera.conf:5: partition 'p': key 'ioports' has no value");
}

/** Every port that must never reach the hardware is refused, with why. */
static void test_ioports_forbidden(void **state)
{
	static const char pic[] = "PIC: the host's interrupt controller";
	static const char dma[] = "ISA DMA controller: DMA reaches all memory";
	static const char dma_page[] = "ISA DMA page registers: DMA reaches all memory";
	static const char keyboard[] = "keyboard controller: reset pulse, A20 gate";
	static const char pci[] = "PCI configuration: host bridge, all partitions' devices";
	static const char reset[] = "reset control: resets the machine";
	static const struct {
		const char *value;
		const char *range;
		unsigned int port;
		const char *reason;
	} cases[] = {
		{ "0x20", "0x20", 0x20, pic },
		{ "0x10-0x20", "0x10-0x20", 0x10, dma },
		{ "0x0", "0x0", 0x0, dma },
		{ "0x85", "0x85", 0x85, dma_page },
		{ "0xc0-0xdf", "0xc0-0xdf", 0xc0, dma },
		{ "0x21-0x30", "0x21-0x30", 0x21, pic },
		{ "0xa0", "0xa0", 0xa0, pic },
		{ "0xa1", "0xa1", 0xa1, pic },
		{ "0x40-0x43", "0x40-0x43", 0x40, "PIT: the host's timer" },
		{ "0x43", "0x43", 0x43, "PIT: the host's timer" },
		{ "0x60", "0x60", 0x60, keyboard },
		{ "0x61-0x64", "0x61-0x64", 0x64, keyboard },
		{ "0x70-0x71", "0x70-0x71", 0x70, "RTC and NMI mask" },
		{ "0x71", "0x71", 0x71, "RTC and NMI mask" },
		{ "0x92", "0x92", 0x92, "A20 gate: Bochs and some chipsets wrap guest addresses under EPT" },
		{ "0xe9", "0xe9", 0xe9, "debug port: the emulator's debug console" },
		{ "0x3f8-0x3ff", "0x3f8-0x3ff", 0x3f8, "the partition's own virtual UART" },
		{ "0x3f0-0x3f8", "0x3f0-0x3f8", 0x3f8, "the partition's own virtual UART" },
		{ "0x3ff", "0x3ff", 0x3ff, "the partition's own virtual UART" },
		{ "0xcf8-0xcff", "0xcf8-0xcff", 0xcf8, pci },
		{ "0xcfc", "0xcfc", 0xcfc, pci },
		{ "0xcff-0xd00", "0xcff-0xd00", 0xcff, pci },
		{ "0xcf9", "0xcf9", 0xcf9, reset },
		{ "0xcf9-0xcfa", "0xcf9-0xcfa", 0xcf9, reset },
		{ "0x8900", "0x8900", 0x8900, "Bochs shutdown: powers the machine off" },
		{ "0x8000-0xffff", "0x8000-0xffff", 0x8900, "Bochs shutdown: powers the machine off" },
		{ "0x378-0x37f, 0x92", "0x92", 0x92, "A20 gate: Bochs and some chipsets wrap guest addresses under EPT" },
	};
	char expected[600];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse_ioports(cases[i].value), 1);
		snprintf(expected, sizeof(expected),
			 "tessera.conf:5: partition 'p': ioports %s: port 0x%x is never passed through (%s)",
			 cases[i].range, cases[i].port, cases[i].reason);
		/* range_text() writes port 0 as "0x0". */
		if (strncmp(cases[i].range, "0-", 2) == 0) {
			snprintf(expected, sizeof(expected),
				 "tessera.conf:5: partition 'p': ioports 0x0-0xffff: port 0x%x is never passed through (%s)",
				 cases[i].port, cases[i].reason);
		}
		ASSERT_REPORTS(expected);
		assert_int_equal(config.partition_count, 0);
	}
}

/** The console UART's 8 ports are refused, even from a later [tessera]. */
static void test_ioports_console_uart(void **state)
{
	assert_int_equal(parse_text("[partition early]\n"
				    "memory = 1M\n"
				    "image = e\n"
				    "entry = 0\n"
				    "ioports = 0x378-0x37f, 0x2f0-0x2f8\n"
				    "[partition broken]\n"
				    "vcpus = 0\n"
				    "[partition fine]\n"
				    "memory = 1M\n"
				    "image = f\n"
				    "entry = 0\n"
				    "ioports = 0x2e8-0x2ef\n"
				    "[tessera]\n"
				    "serial_port = 0x2f8\n"),
			 5);
	/* The console check comes after the whole file, so its report is last. */
	ASSERT_REPORTS("tessera.conf:7: partition 'broken': vcpus '0' is out of range (1..8)",
		       "tessera.conf:6: partition 'broken': missing 'memory'",
		       "tessera.conf:6: partition 'broken': missing 'image' (or 'kernel')",
		       "tessera.conf:6: partition 'broken': missing 'entry'",
		       "tessera.conf:5: partition 'early': ioports 0x2f0-0x2f8: port 0x2f8 is never passed through (the console UART, serial_port 0x2f8)");
	assert_int_equal(config.partition_count, 1);
	assert_int_equal(config.refused_count, 2);
	assert_string_equal(config.partitions[0].name, "fine");

	/* Every one of the 8 ports counts, and only those. */
	assert_int_equal(parse_text("[tessera]\nserial_port = 0x2e8\n"
				    "[partition a]\nmemory = 1M\nimage = a\nentry = 0\n"
				    "ioports = 0x2f0-0x2ff, 0x2ef\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:7: partition 'a': ioports 0x2ef: port 0x2ef is never passed through (the console UART, serial_port 0x2e8)");
	assert_int_equal(parse_text("[tessera]\nserial_port = 0x2e8\n"
				    "[partition a]\nmemory = 1M\nimage = a\nentry = 0\n"
				    "ioports = 0x2e0-0x2e7, 0x2f0-0x2ff\n"),
			 0);

	/* A console at the top of the port space ends at 0xffff. */
	assert_int_equal(parse_text("[partition a]\nmemory = 1M\nimage = a\nentry = 0\n"
				    "ioports = 0xfff0-0xfffb, 0xffff\n"
				    "[tessera]\nserial_port = 0xfffc\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:5: partition 'a': ioports 0xffff: port 0xffff is never passed through (the console UART, serial_port 0xfffc)");

	/* Moving the console does not free 0x3f8: the virtual UART is there. */
	assert_int_equal(parse_text("[tessera]\nserial_port = 0x2f8\n"
				    "[partition a]\nmemory = 1M\nimage = a\nentry = 0\n"
				    "ioports = 0x3f8-0x3ff\n"),
			 1);
	ASSERT_REPORTS("tessera.conf:7: partition 'a': ioports 0x3f8-0x3ff: port 0x3f8 is never passed through (the partition's own virtual UART)");
}

/** Appends a valid partition called name that passes ioports to text. */
static void append_ioports_partition(char *text, size_t size, const char *name,
				     const char *ioports)
{
	size_t used = strlen(text);

	snprintf(text + used, size - used,
		 "[partition %s]\nmemory = 1M\nimage = %s\nentry = 0\nioports = %s\n",
		 name, name, ioports);
}

/** Of two partitions passing one port, the later one is refused. */
static void test_ioports_shared_between_partitions(void **state)
{
	char text[1024] = "";

	append_ioports_partition(text, sizeof(text), "first", "0x2f8-0x2ff");
	append_ioports_partition(text, sizeof(text), "second", "0x378-0x37f, 0x2fc-0x300");
	append_ioports_partition(text, sizeof(text), "third", "0x378-0x37f");
	append_ioports_partition(text, sizeof(text), "fourth", "0x300-0x307");
	assert_int_equal(parse_text(text), 1);
	ASSERT_REPORTS("tessera.conf:10: partition 'second': ioports 0x2fc-0x300: port 0x2fc is already passed through to partition 'first'");
	/* The refused 'second' takes no port: 'third' and 'fourth' keep theirs. */
	assert_int_equal(config.partition_count, 3);
	assert_int_equal(config.refused_count, 1);
	assert_string_equal(config.partitions[0].name, "first");
	assert_string_equal(config.partitions[1].name, "third");
	assert_string_equal(config.partitions[2].name, "fourth");
	assert_int_equal(config.partitions[2].ioports[0].first, 0x300);
	assert_config_sane();

	/* After a refusal, later clashes still name the right partition and line. */
	strcpy(text, "");
	append_ioports_partition(text, sizeof(text), "a", "0x2f8-0x2ff");
	append_ioports_partition(text, sizeof(text), "b", "0x2f8");
	append_ioports_partition(text, sizeof(text), "c", "0x300-0x307");
	append_ioports_partition(text, sizeof(text), "d", "0x306");
	assert_int_equal(parse_text(text), 2);
	ASSERT_REPORTS("tessera.conf:10: partition 'b': ioports 0x2f8: port 0x2f8 is already passed through to partition 'a'",
		       "tessera.conf:20: partition 'd': ioports 0x306: port 0x306 is already passed through to partition 'c'");
	assert_int_equal(config.partition_count, 2);
	assert_int_equal(config.refused_count, 2);
}

/** A partition refused for its own problems, or the console, takes no port. */
static void test_ioports_of_refused_partition_are_free(void **state)
{
	char text[1024] = "";

	append_ioports_partition(text, sizeof(text), "console", "0x2f8-0x2ff");
	strcat(text, "vcpus = 9\n");
	append_ioports_partition(text, sizeof(text), "late", "0x2f8-0x2ff");
	strcat(text, "[partition clash]\nmemory = 1M\nimage = c\nentry = 0\n"
		     "ioports = 0x2e8-0x2ef, 0x3e8\n");
	append_ioports_partition(text, sizeof(text), "next", "0x2e8-0x2ef");
	strcat(text, "[tessera]\nserial_port = 0x3e8\n");
	assert_int_equal(parse_text(text), 2);
	ASSERT_REPORTS("tessera.conf:6: partition 'console': vcpus '9' is out of range (1..8)",
		       "tessera.conf:16: partition 'clash': ioports 0x3e8: port 0x3e8 is never passed through (the console UART, serial_port 0x3e8)");
	assert_int_equal(config.partition_count, 2);
	assert_string_equal(config.partitions[0].name, "late");
	assert_string_equal(config.partitions[1].name, "next");
	assert_config_sane();
}

/** A small deterministic generator, so that failures can be replayed. */
static uint32_t next_random(uint32_t *seed)
{
	*seed = *seed * 1664525U + 1013904223U;
	return *seed >> 8;
}

/** Random bytes, with and without newlines, never break the parser. */
static void test_binary_garbage(void **state)
{
	static char bytes[8192];

	for (uint32_t seed = 1; seed <= 200; seed++) {
		uint32_t state_value = seed;
		size_t length = next_random(&state_value) % sizeof(bytes);

		for (size_t i = 0; i < length; i++) {
			uint32_t r = next_random(&state_value);

			/* Some runs are mostly text with newlines, some pure noise. */
			bytes[i] = seed % 2 == 0 && r % 7 == 0 ? '\n' : (char)r;
		}
		parse_bytes(bytes, length);
		assert_config_sane();
	}
}

/** Text mutated from a valid file: only sane partitions get through. */
static void test_mutated_valid_file(void **state)
{
	char text[sizeof(full_file)];
	uint32_t seed = 12345;

	for (int round = 0; round < 2000; round++) {
		memcpy(text, full_file, sizeof(full_file));
		for (int flips = 0; flips < 3; flips++) {
			uint32_t r = next_random(&seed);
			static const char alphabet[] = "0x[]=#\n\r 9Gk/\\";

			text[r % (sizeof(full_file) - 1)] =
				alphabet[(r >> 12) % (sizeof(alphabet) - 1)];
		}
		parse_bytes(text, sizeof(full_file) - 1);
		assert_config_sane();
	}
}

/** Every prefix of a valid file parses safely, however it is cut. */
static void test_every_cut_of_a_valid_file(void **state)
{
	for (size_t length = 0; length <= sizeof(full_file) - 1; length++) {
		parse_bytes(full_file, length);
		assert_config_sane();
	}
	assert_int_equal(config.partition_count, 2);
}

/** A cut mid-line parses what is there: the partial line is the last. */
static void test_cut_mid_line(void **state)
{
	static const char text[] = "[partition p]\n"
				   "image = p\n"
				   "entry = 0\n"
				   "memory = 16M\n"
				   "[partition q]\n";
	const char *cut = strstr(text, "16M");

	assert_int_equal(parse_bytes(text, (size_t)(cut + 1 - text)), 1);
	ASSERT_REPORTS("tessera.conf:4: partition 'p': memory '1' is less than 1M");

	cut = strstr(text, "[partition q]");
	assert_int_equal(parse_bytes(text, (size_t)(cut + 5 - text)), 1);
	ASSERT_REPORTS("tessera.conf:5: section header has no closing ']'");
	assert_int_equal(config.partition_count, 1);
}


/** console_buffer: a size of whole pages in [4K, 1M]; stop_timeout: 1..3600 s. */
static void test_console_buffer_and_stop_timeout(void **state)
{
	assert_int_equal(parse_text("[partition p]\nmemory = 1M\nimage = p\nentry = 0\n"
				    "console_buffer = 4K\nstop_timeout = 1\n"),
			 0);
	assert_int_equal(config.partitions[0].console_buffer_bytes, 4096);
	assert_int_equal(config.partitions[0].stop_timeout_s, 1);
	assert_int_equal(parse_text("[partition p]\nmemory = 1M\nimage = p\nentry = 0\n"
				    "console_buffer = 1048576\nstop_timeout = 0x3c\n"),
			 0);
	assert_int_equal(config.partitions[0].console_buffer_bytes, 1 << 20);
	assert_int_equal(config.partitions[0].stop_timeout_s, 60);
}

/** Bad console_buffer and stop_timeout values: one line each, partition refused. */
static void test_console_buffer_and_stop_timeout_problems(void **state)
{
	assert_int_equal(parse_text("[partition p]\n"
				    "memory = 1M\n"
				    "image = p\n"
				    "entry = 0\n"
				    "console_buffer = 2K\n"
				    "console_buffer = 8K\n"
				    "stop_timeout = 0\n"
				    "[partition q]\n"
				    "memory = 1M\n"
				    "image = q\n"
				    "entry = 0\n"
				    "console_buffer = 2M\n"
				    "stop_timeout = 3601\n"
				    "[partition r]\n"
				    "memory = 1M\n"
				    "image = r\n"
				    "entry = 0\n"
				    "console_buffer = 6K\n"
				    "stop_timeout = soon\n"
				    "[partition s]\n"
				    "memory = 1M\n"
				    "image = s\n"
				    "entry = 0\n"
				    "console_buffer = lots\n"
				    "[partition t]\n"
				    "memory = 1M\n"
				    "image = t\n"
				    "entry = 0\n"
				    "console_buffer = 99999999999999999999K\n"),
			 9);
	ASSERT_REPORTS("tessera.conf:5: partition 'p': console_buffer '2K' is less than 4K",
		       "tessera.conf:6: partition 'p': duplicate key 'console_buffer' (first set at line 5)",
		       "tessera.conf:7: partition 'p': stop_timeout '0' is out of range (1..3600 seconds)",
		       "tessera.conf:12: partition 'q': console_buffer '2M' is more than 1M",
		       "tessera.conf:13: partition 'q': stop_timeout '3601' is out of range (1..3600 seconds)",
		       "tessera.conf:18: partition 'r': console_buffer '6K' is not a multiple of 4K",
		       "tessera.conf:19: partition 'r': stop_timeout 'soon' is not a number (write decimal or 0x hex)",
		       "tessera.conf:24: partition 's': console_buffer 'lots' is not a size (write e.g. 16K)",
		       "tessera.conf:29: partition 't': console_buffer '99999999999999999999K' is more than 1M");
	assert_int_equal(config.partition_count, 0);
	assert_int_equal(config.refused_count, 5);
}

/** ioports = none: no port passed, as when the key is left out. */
static void test_ioports_none(void **state)
{
	assert_int_equal(parse_text("[partition p]\nmemory = 1M\nimage = p\nentry = 0\n"
				    "ioports = NONE\n"),
			 0);
	assert_int_equal(config.partitions[0].ioport_count, 0);
}

/** Every setting of config_setting_at(), defaults included, in file order. */
static void test_settings_of_full_file(void **state)
{
	static const char *const expected[][3] = {
		{ "tessera", "serial_port", "0x2f8" },
		{ "tessera", "serial_baud", "57600" },
		{ "tessera", "loglevel", "debug" },
		{ "partition hello", "memory", "16M" },
		{ "partition hello", "image", "\\tessera\\hello.bin" },
		{ "partition hello", "entry", "0x100400" },
		{ "partition hello", "load", "0x100000" },
		{ "partition hello", "vcpus", "4" },
		{ "partition hello", "on_crash", "restart" },
		{ "partition hello", "autostart", "no" },
		{ "partition hello", "test_device", "no" },
		{ "partition hello", "ioports", "none" },
		{ "partition hello", "console_buffer", "64K" },
		{ "partition hello", "stop_timeout", "10" },
		{ "partition hello", "on_reboot", "restart" },
		{ "partition hello", "on_poweroff", "stop" },
		{ "partition web-2_b", "memory", "1G" },
		{ "partition web-2_b", "image", "\\guests\\web.bin" },
		{ "partition web-2_b", "entry", "0x7c00" },
		{ "partition web-2_b", "load", "0x7c00" },
		{ "partition web-2_b", "vcpus", "1" },
		{ "partition web-2_b", "on_crash", "stop" },
		{ "partition web-2_b", "autostart", "yes" },
		{ "partition web-2_b", "test_device", "no" },
		{ "partition web-2_b", "ioports", "0x378-0x37f, 0x80, 0x3e8-0x3ef" },
		{ "partition web-2_b", "console_buffer", "1M" },
		{ "partition web-2_b", "stop_timeout", "3600" },
		{ "partition web-2_b", "on_reboot", "restart" },
		{ "partition web-2_b", "on_poweroff", "stop" },
	};
	struct config_setting setting;
	unsigned int i;

	assert_int_equal(parse_text(full_file), 0);
	for (i = 0; config_setting_at(&config, i, &setting); i++) {
		assert_true(i < sizeof(expected) / sizeof(expected[0]));
		assert_string_equal(setting.section, expected[i][0]);
		assert_string_equal(setting.key, expected[i][1]);
		assert_string_equal(setting.value, expected[i][2]);
	}
	assert_int_equal(i, sizeof(expected) / sizeof(expected[0]));
	assert_false(config_setting_at(&config, 1000, &setting));
}

/** Sizes are written with the largest exact suffix; odd ones in K. */
static void test_settings_sizes(void **state)
{
	struct config_setting setting;

	assert_int_equal(parse_text("[partition p]\nmemory = 1540K\nimage = p\nentry = 0\n"
				    "console_buffer = 1024K\n"),
			 0);
	assert_true(config_setting_at(&config, 3, &setting));
	assert_string_equal(setting.value, "1540K");
	assert_true(config_setting_at(&config, 3 + 9, &setting));
	assert_string_equal(setting.key, "console_buffer");
	assert_string_equal(setting.value, "1M");
}

/** The settings written back as a file parse to the same configuration. */
static void test_settings_read_back(void **state)
{
	static char text[8192];
	struct tessera_config first;
	struct config_setting setting;
	size_t used = 0;

	assert_int_equal(parse_text(full_file), 0);
	first = config;
	for (unsigned int i = 0; config_setting_at(&first, i, &setting); i++) {
		struct config_setting previous;

		if (i == 0 || (config_setting_at(&first, i - 1, &previous) &&
			       strcmp(previous.section, setting.section) != 0)) {
			used += (size_t)snprintf(text + used, sizeof(text) - used, "[%s]\n",
						 setting.section);
		}
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s = %s\n", setting.key,
					 setting.value);
	}
	assert_int_equal(parse_text(text), 0);
	assert_int_equal(config.partition_count, first.partition_count);
	assert_int_equal(config.serial_port, first.serial_port);
	assert_int_equal(config.serial_baud, first.serial_baud);
	assert_int_equal(config.loglevel, first.loglevel);
	for (unsigned int i = 0; i < first.partition_count; i++) {
		first.partitions[i].line = config.partitions[i].line;
		assert_memory_equal(&config.partitions[i], &first.partitions[i],
				    sizeof(first.partitions[i]));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_file_sets_every_key),
		cmocka_unit_test(test_defaults_for_omitted_keys),
		cmocka_unit_test(test_set_defaults_resets_everything),
		cmocka_unit_test(test_empty_file_is_not_an_error),
		cmocka_unit_test(test_crlf_line_endings),
		cmocka_unit_test(test_comments_and_whitespace),
		cmocka_unit_test(test_keywords_ignore_case),
		cmocka_unit_test(test_memory_sizes),
		cmocka_unit_test(test_image_path_normalised),
		cmocka_unit_test(test_utf8_byte_order_mark_skipped),
		cmocka_unit_test(test_last_line_without_newline),
		cmocka_unit_test(test_limits_are_inclusive),
		cmocka_unit_test(test_too_many_partitions),
		cmocka_unit_test(test_null_report_only_counts),
		cmocka_unit_test(test_file_name_in_messages),
		cmocka_unit_test(test_specification_examples),
		cmocka_unit_test(test_linux_kernel_keys),
		cmocka_unit_test(test_linux_kernel_key_conflicts),
		cmocka_unit_test(test_linux_cmdline_limits),
		cmocka_unit_test(test_missing_required_keys),
		cmocka_unit_test(test_line_not_key_value),
		cmocka_unit_test(test_key_outside_any_section),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_section_header_without_closing_bracket),
		cmocka_unit_test(test_line_longer_than_limit),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_bad_line_inside_partition_refuses_it),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_same_key_in_two_partitions),
		cmocka_unit_test(test_key_without_value),
		cmocka_unit_test(test_memory_problems),
		cmocka_unit_test(test_malformed_numbers),
		cmocka_unit_test(test_vcpus_out_of_range),
		cmocka_unit_test(test_tessera_errors_keep_defaults),
		cmocka_unit_test(test_bad_enumerated_values),
		cmocka_unit_test(test_addresses_outside_ram_or_in_hole),
		cmocka_unit_test(test_entry_checked_whatever_the_key_order),
		cmocka_unit_test(test_invalid_partition_names),
		cmocka_unit_test(test_image_path_problems),
		cmocka_unit_test(test_invalid_partition_refused_later_valid_kept),
		cmocka_unit_test(test_refused_partition_name_still_taken),
		cmocka_unit_test(test_tessera_section_anywhere),
		cmocka_unit_test(test_ioports_valid_lists),
		cmocka_unit_test(test_ioports_malformed),
		cmocka_unit_test(test_ioports_forbidden),
		cmocka_unit_test(test_ioports_console_uart),
		cmocka_unit_test(test_ioports_shared_between_partitions),
		cmocka_unit_test(test_ioports_of_refused_partition_are_free),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_mutated_valid_file),
		cmocka_unit_test(test_every_cut_of_a_valid_file),
		cmocka_unit_test(test_cut_mid_line),
		cmocka_unit_test(test_console_buffer_and_stop_timeout),
		cmocka_unit_test(test_console_buffer_and_stop_timeout_problems),
		cmocka_unit_test(test_ioports_none),
		cmocka_unit_test(test_settings_of_full_file),
		cmocka_unit_test(test_settings_sizes),
		cmocka_unit_test(test_settings_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
