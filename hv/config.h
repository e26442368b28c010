/*
 * The parser of tessera.conf, the text file an operator edits by hand to say
 * which partitions Tessera runs. It is a pure function of the text: no
 * allocation, no hardware, so it is unit-tested on the host.
 *
 * The format is INI-like:
 *
 *   # a comment; '#' starts a comment anywhere on a line
 *   [tessera]
 *   serial_port = 0x3f8        # console UART I/O port, default 0x3f8
 *   serial_baud = 115200       # must divide 115200, default 115200
 *   loglevel = info            # error | warn | info | debug, default info
 *
 *   [partition hello]          # 1-31 of [A-Za-z0-9_-], unique
 *   memory = 16M               # K/M/G = KiB/MiB/GiB; 4K multiple; 1M..64G
 *   image = \tessera\hello.bin # a flat image on the boot volume; '/' or '\'
 *   entry = 0x100000           # first instruction; < memory, not in the hole
 *   load = 0x100000            # optional, load address, default entry
 *
 *   kernel = \tessera\vmlinuz  # instead of image/entry/load: a Linux bzImage,
 *                              #   booted by the Linux/x86 boot protocol
 *   initrd = \tessera\initrd   # optional, with kernel: its initial RAM disk
 *   cmdline = console=ttyS0    # optional, with kernel: the rest of the line
 *   vcpus = 1                  # optional, 1..CONFIG_MAX_VCPUS, default 1
 *   on_crash = stop            # optional, stop | restart, default stop
 *   autostart = yes            # optional, yes | no, default yes
 *   test_device = no           # optional: the MMIO test device at 0xf0000000
 *   ioports = 0x2f8-0x2ff      # optional, ports passed to the hardware, or none
 *   console_buffer = 64K       # optional: console output kept, 4K..1M, 4K multiple
 *   stop_timeout = 10          # optional: seconds from the power button to a
 *                              #   forced stop, 1..3600, default 10
 *   on_reboot = restart        # optional, stop | restart, default restart: when
 *                              #   the guest resets its machine
 *   on_poweroff = stop         # optional, stop | restart, default stop: when
 *                              #   the guest powers its machine off (ACPI S5)
 *
 * Lines end in LF or CRLF and hold at most CONFIG_LINE_MAX characters; a
 * UTF-8 byte order mark at the very start is skipped. Keys, section keywords,
 * the K/M/G suffixes, "0x" and the words of enumerated values are
 * case-insensitive; partition names and paths are kept as written. Numbers
 * are decimal or 0x hex. '#' cannot appear in a value.
 *
 * Every problem becomes one report "FILE:LINE: problem", prefixed inside a
 * partition section by "partition 'NAME': ". A partition with any problem is
 * refused (left out of partitions[], counted in refused_count) and parsing
 * goes on. A problem in [tessera] leaves that key at its default (a repeated
 * key keeps its first value).
 *
 * ioports lists ports or inclusive ranges first-last (at most
 * CONFIG_MAX_IO_RANGES, not overlapping) whose accesses go straight to the
 * hardware. Ports that would let a partition reach the host or the other
 * partitions (PIC, PIT, RTC, keyboard controller, A20, PCI configuration,
 * reset, Bochs shutdown, debug port, 0x3f8-0x3ff where the partition's own
 * virtual UART lives) are refused on their line. The console UART
 * (serial_port) and ports another partition passes are checked once the
 * whole file is read, because [tessera] may come after the partition: those
 * problems are reported after all the others, at the ioports line, and refuse
 * the partition then; of two partitions passing the same port the later one
 * in the file is refused. A refused partition takes no port.
 */
#ifndef TESSERA_HV_CONFIG_H
#define TESSERA_HV_CONFIG_H

#include "hv/log.h"
#include "hv/types.h"

/** The most [partition] sections one file may declare. */
#define CONFIG_MAX_PARTITIONS 16

/** The most virtual CPUs one partition may have. */
#define CONFIG_MAX_VCPUS 8

/** Size of a partition name buffer, including the NUL. */
#define CONFIG_NAME_MAX 32

/** Size of an image path buffer, including the NUL. */
#define CONFIG_PATH_MAX 128

/** Size of a kernel command line buffer, including the NUL. */
#define CONFIG_CMDLINE_MAX 256

/** The longest line accepted, not counting its CR/LF. */
#define CONFIG_LINE_MAX 255

/** Smallest and largest partition RAM. */
#define CONFIG_MEMORY_MIN MiB(1)
#define CONFIG_MEMORY_MAX GiB(64)

/**
 * Guest-physical range [CONFIG_HOLE_START, CONFIG_HOLE_END) left unbacked
 * by RAM (legacy VGA memory and option ROMs): entry and load must avoid it.
 */
#define CONFIG_HOLE_START 0xA0000ULL
#define CONFIG_HOLE_END   0x100000ULL

/** The most ioports ranges one partition may list. */
#define CONFIG_MAX_IO_RANGES 16

/** Defaults of the [tessera] keys. */
#define CONFIG_DEFAULT_SERIAL_PORT 0x3f8
#define CONFIG_DEFAULT_SERIAL_BAUD 115200
#define CONFIG_DEFAULT_LOGLEVEL    LOG_INFO

/** A partition's console ring: default and bounds (whole pages). */
#define CONFIG_DEFAULT_CONSOLE_BUFFER KiB(64)
#define CONFIG_CONSOLE_BUFFER_MIN     KiB(4)
#define CONFIG_CONSOLE_BUFFER_MAX     MiB(1)

/** Seconds from "stop NAME" (the power button) to a forced stop: default and bounds. */
#define CONFIG_DEFAULT_STOP_TIMEOUT 10
#define CONFIG_STOP_TIMEOUT_MIN     1
#define CONFIG_STOP_TIMEOUT_MAX     3600

/** Room for one setting's value as config_setting_at() writes it. */
#define CONFIG_VALUE_MAX 256

/** What to do when a partition crashes (triple fault, unhandled exit...). */
enum crash_action {
	CRASH_STOP,
	CRASH_RESTART,
};

/** What to do when the guest resets (on_reboot) or powers off (on_poweroff) its machine. */
enum guest_end_action {
	GUEST_END_STOP,
	GUEST_END_RESTART,
};

/** What a partition boots: a flat image, or a Linux kernel by its boot protocol. */
enum image_format {
	IMAGE_FLAT,
	IMAGE_LINUX,
};

/** An inclusive range of I/O ports, first <= last. */
struct io_range {
	uint16_t first;
	uint16_t last;
};

/** One accepted [partition NAME] section, every field validated. */
struct partition_config {
	/* NUL-terminated, 1 to CONFIG_NAME_MAX - 1 of [A-Za-z0-9_-]. */
	char name[CONFIG_NAME_MAX];
	/* Multiple of 4 KiB in [CONFIG_MEMORY_MIN, CONFIG_MEMORY_MAX]. */
	uint64_t memory_bytes;
	/* Path on the boot volume: leading '\', '\' separators, NUL-terminated. */
	char image[CONFIG_PATH_MAX];
	/* IMAGE_LINUX when the image came from the kernel key. */
	enum image_format format;
	/* Flat image: guest-physical; below memory_bytes, outside the hole, >= load. */
	uint64_t entry;
	/* Flat image: guest-physical load address. */
	uint64_t load;
	/* Linux: the initrd's path as image's, "" for none. */
	char initrd[CONFIG_PATH_MAX];
	/* Linux: the kernel command line, "" for none. */
	char cmdline[CONFIG_CMDLINE_MAX];
	/* 1..CONFIG_MAX_VCPUS. */
	uint32_t vcpus;
	enum crash_action on_crash;
	enum guest_end_action on_reboot;   /* default restart */
	enum guest_end_action on_poweroff; /* default stop */
	bool autostart;
	bool test_device;
	/*
	 * Ports passed to the hardware, in file order: no two overlap, none
	 * is forbidden, none is passed by another accepted partition.
	 */
	struct io_range ioports[CONFIG_MAX_IO_RANGES];
	unsigned int ioport_count;
	/* Bytes of console output kept; in [CONFIG_CONSOLE_BUFFER_MIN, _MAX], whole pages. */
	uint64_t console_buffer_bytes;
	/* CONFIG_STOP_TIMEOUT_MIN..CONFIG_STOP_TIMEOUT_MAX seconds. */
	uint32_t stop_timeout_s;
	/* Line of the [partition] header in the file, for later messages. */
	unsigned int line;
};

/** The whole parsed file: global settings and the accepted partitions. */
struct tessera_config {
	uint16_t serial_port;
	uint32_t serial_baud;
	enum log_level loglevel;
	/* partitions[0 .. partition_count) in file order. */
	struct partition_config partitions[CONFIG_MAX_PARTITIONS];
	unsigned int partition_count;
	/* Every problem reported, including those inside refused partitions. */
	unsigned int error_count;
	/* [partition] sections left out of partitions[] because of a problem. */
	unsigned int refused_count;
};

/** Receives one problem, "FILE:LINE: problem", without a newline. */
typedef void (*config_report_fn)(void *ctx, const char *message);

/**
 * Fills *out with the defaults, then parses text[0 .. length) (which need not
 * be NUL-terminated and is never read beyond length) into it. Each problem is
 * passed to report(ctx, message) when report is not NULL; file_name is used
 * in the messages. Returns the number of problems (out->error_count). An
 * empty file, or one without a valid partition, is not a problem in itself.
 */
unsigned int config_parse(const char *file_name, const char *text,
			  size_t length, struct tessera_config *out,
			  config_report_fn report, void *ctx);

/** Sets the [tessera] defaults and empties the partition list and counts. */
void config_set_defaults(struct tessera_config *out);

/** One setting in effect, as the file would write it. */
struct config_setting {
	char section[CONFIG_NAME_MAX + 16]; /* "tessera" or "partition NAME" */
	const char *key;
	char value[CONFIG_VALUE_MAX];
};

/**
 * Fills *out with setting number @index of @config: the [tessera] keys, then
 * the keys of each accepted partition that apply to it (image, entry and load
 * for a flat image; kernel and, when set, initrd and cmdline for Linux),
 * defaults included, in the order of the format above; false past the last. Values are written so that the
 * parser reads them back to the same configuration.
 */
bool config_setting_at(const struct tessera_config *config, unsigned int index,
		       struct config_setting *out);

#endif /* TESSERA_HV_CONFIG_H */
