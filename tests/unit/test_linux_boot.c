/*
 * Host tests of hv/linux_boot.c: the loader side of the Linux/x86 boot
 * protocol.
 *
 * The bzImages are built here by hand, field by field at the offsets of
 * boot.rst's setup header table; the zero page is compared byte for byte
 * with one assembled here from zero-page.rst's offsets, and the placement
 * plans with addresses worked out by hand from the partition layouts.
 * When a real kernel is at hand (/boot/vmlinuz-*, or the file named by
 * TESSERA_TEST_BZIMAGE) it is parsed and planned too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glob.h>
#include <cmocka.h>

#include "hv/layout.h"
#include "hv/linux_boot.h"
#include "tests/unit/support/fake_bzimage.h"

/* Zero page offsets (zero-page.rst). */
#define T_ACPI_RSDP       0x070
#define T_EXT_RAMDISK_IMG 0x0c0
#define T_EXT_RAMDISK_SZ  0x0c4
#define T_EXT_CMD_LINE    0x0c8
#define T_E820_ENTRIES    0x1e8
#define T_E820_TABLE      0x2d0

static uint8_t image[T_IMAGE_BYTES + 512];

/** Builds the synthetic image (fake_bzimage.h) afresh for each test. */
static int build_image(void **state)
{
	fake_bzimage_build(image, sizeof(image));
	return 0;
}

/**
 * Parses the first size bytes of image from a heap copy of exactly that
 * size, so that the address sanitizer catches any read past the file.
 */
static const char *parse_sized(uint64_t size, struct linux_image *out)
{
	uint8_t *copy = malloc(size > 0 ? size : 1);
	const char *reason;

	assert_non_null(copy);
	memcpy(copy, image, size);
	reason = linux_image_parse(copy, size, out);
	free(copy);
	return reason;
}

/** Asserts that parsing the first size bytes fails with exactly expected. */
static void assert_refused(uint64_t size, const char *expected)
{
	struct linux_image img;
	const char *reason = parse_sized(size, &img);

	assert_non_null(reason);
	assert_string_equal(reason, expected);
}

/** The synthetic image parses, every field read from its offset. */
static void test_parse_reads_every_field(void **state)
{
	struct linux_image img;

	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.version, 0x020f);
	assert_int_equal(img.setup_sects, 4);
	assert_int_equal(img.loadflags, 0x01);
	assert_int_equal(img.xloadflags, 0x7f);
	assert_true(img.kernel_64);
	assert_true(img.can_load_above_4g);
	assert_true(img.relocatable);
	assert_int_equal(img.min_alignment, 0x15);
	assert_int_equal(img.syssize, T_KERNEL_BYTES / 16);
	assert_int_equal(img.kernel_alignment, T_ALIGN);
	assert_int_equal(img.initrd_addr_max, T_INITRD_MAX);
	assert_int_equal(img.cmdline_size, T_CMDLINE_MAX);
	assert_int_equal(img.pref_address, T_PREF);
	assert_int_equal(img.init_size, T_INIT_BYTES);
	assert_int_equal(img.header_end, T_HEADER_END);
	assert_int_equal(img.setup_size, T_SETUP_BYTES);
	assert_int_equal(img.kernel_size, T_KERNEL_BYTES);
}

/** Bytes past syssize (a signed kernel's signature) belong to the kernel part. */
static void test_parse_keeps_trailing_bytes(void **state)
{
	struct linux_image img;

	assert_null(parse_sized(T_IMAGE_BYTES + 512, &img));
	assert_int_equal(img.kernel_size, T_KERNEL_BYTES + 512);
}

/** setup_sects 0 means 4 (boot.rst note 1); larger values move the kernel part. */
static void test_parse_setup_sects(void **state)
{
	struct linux_image img;

	image[T_SETUP_SECTS] = 0;
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.setup_size, 5 * 512);
	assert_int_equal(img.kernel_size, T_KERNEL_BYTES);

	image[T_SETUP_SECTS] = 6;
	t_put(image, T_SYSSIZE, (T_KERNEL_BYTES - 1024) / 16, 4);
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.setup_size, 7 * 512);
	assert_int_equal(img.kernel_size, T_KERNEL_BYTES - 1024);

	image[T_SETUP_SECTS] = 14;
	assert_refused(4000, "truncated: setup needs 15 sectors (7680 bytes) but the file has 4000 bytes");
}

/** Every file length short of the whole image is refused for the right reason. */
static void test_parse_truncated_at_every_boundary(void **state)
{
	char expected[LINUX_REASON_MAX];

	for (uint64_t size = 0; size < T_IMAGE_BYTES; size++) {
		if (size < 0x208) {
			snprintf(expected, sizeof(expected),
				 "truncated: %llu bytes, too short for a setup header at 0x1f1",
				 (unsigned long long)size);
		} else if (size < T_HEADER_END) {
			snprintf(expected, sizeof(expected),
				 "truncated: the setup header ends at 0x26c but the file has %llu bytes",
				 (unsigned long long)size);
		} else if (size < T_SETUP_BYTES) {
			snprintf(expected, sizeof(expected),
				 "truncated: setup needs 5 sectors (2560 bytes) but the file has %llu bytes",
				 (unsigned long long)size);
		} else if (size == T_SETUP_BYTES) {
			snprintf(expected, sizeof(expected),
				 "truncated: no protected-mode part after the 2560 bytes of setup");
		} else {
			snprintf(expected, sizeof(expected),
				 "truncated: syssize says the protected-mode part has 4096 bytes but the file has %llu after setup",
				 (unsigned long long)(size - T_SETUP_BYTES));
		}
		assert_refused(size, expected);
	}
}

/** Files that are not bzImages at all. */
static void test_parse_refuses_foreign_files(void **state)
{
	t_put(image, T_BOOT_FLAG, 0x55aa, 2);
	assert_refused(T_IMAGE_BYTES, "not a Linux bzImage: no boot flag 0xAA55 at 0x1fe");
	t_put(image, T_BOOT_FLAG, 0xaa55, 2);

	memcpy(image + T_HEADER, "HdrZ", 4);
	assert_refused(T_IMAGE_BYTES, "not a Linux bzImage: no HdrS magic at 0x202");
	memcpy(image + T_HEADER, "HdrS", 4);

	image[T_JUMP] = 0xe9;
	assert_refused(T_IMAGE_BYTES, "not a Linux bzImage: no short jump (0xEB) at 0x200");
	image[T_JUMP] = 0xeb;

	image[T_LOADFLAGS] = 0x00;
	assert_refused(T_IMAGE_BYTES,
		       "not a bzImage: loadflags 0x00 lacks LOADED_HIGH (a zImage loads at 0x10000)");
}

/** Protocols before 2.10 lack init_size and pref_address. */
static void test_parse_refuses_old_protocols(void **state)
{
	struct linux_image img;

	t_put(image, T_VERSION, 0x0209, 2);
	assert_refused(T_IMAGE_BYTES, "boot protocol 2.09 is older than 2.10");
	t_put(image, T_VERSION, 0x0208, 2);
	assert_refused(T_IMAGE_BYTES, "boot protocol 2.08 is older than 2.10");
	t_put(image, T_VERSION, 0x0200, 2);
	assert_refused(T_IMAGE_BYTES, "boot protocol 2.00 is older than 2.10");

	/* 2.10 itself is fine; xloadflags (2.12+) is padding there. */
	t_put(image, T_VERSION, 0x020a, 2);
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.xloadflags, 0);
	assert_false(img.kernel_64);
	t_put(image, T_VERSION, 0x020c, 2);
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_true(img.kernel_64);
}

/** The header's own length must reach init_size and stay out of boot_params' next field. */
static void test_parse_refuses_bad_header_length(void **state)
{
	struct linux_image img;

	image[T_JUMP + 1] = 0x61; /* ends at 0x263: init_size cut */
	assert_refused(T_IMAGE_BYTES, "setup header ends at 0x263, outside 0x264-0x290");
	image[T_JUMP + 1] = 0x8f; /* ends at 0x291 */
	assert_refused(T_IMAGE_BYTES, "setup header ends at 0x291, outside 0x264-0x290");
	image[T_JUMP + 1] = 0x62;
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.header_end, 0x264);
	image[T_JUMP + 1] = 0x8e;
	assert_null(parse_sized(T_IMAGE_BYTES, &img));
	assert_int_equal(img.header_end, 0x290);
}

/** Alignment, command line size, init_size. */
static void test_parse_refuses_bad_limits(void **state)
{
	t_put(image, T_KERNEL_ALIGN, 0, 4);
	assert_refused(T_IMAGE_BYTES, "kernel_alignment 0x0 is not a power of two");
	t_put(image, T_KERNEL_ALIGN, 0x300000, 4);
	assert_refused(T_IMAGE_BYTES, "kernel_alignment 0x300000 is not a power of two");
	t_put(image, T_KERNEL_ALIGN, T_ALIGN, 4);

	t_put(image, T_CMDLINE_SIZE, 0, 4);
	assert_refused(T_IMAGE_BYTES, "cmdline_size is 0: the kernel takes no command line");
	t_put(image, T_CMDLINE_SIZE, T_CMDLINE_MAX, 4);

	t_put(image, T_INIT_SIZE, T_KERNEL_BYTES - 1, 4);
	assert_refused(T_IMAGE_BYTES,
		       "init_size 0xfff is smaller than the protected-mode part (0x1000 bytes)");
	t_put(image, T_SYSSIZE, T_KERNEL_BYTES / 16 + 1, 4);
	assert_refused(T_IMAGE_BYTES,
		       "truncated: syssize says the protected-mode part has 4112 bytes but the file has 4096 after setup");
}

/** The guest RAM layout of a partition with ram_bytes (hv/layout.h). */
static size_t ram_of(uint64_t ram_bytes, struct guest_region *regions)
{
	size_t count = layout_guest_ram(ram_bytes, regions, LAYOUT_MAX_GUEST_RAM_REGIONS);

	assert_true(count > 0);
	return count;
}

/** Parses the (possibly edited) synthetic image, which must be accepted. */
static void parse_ok(struct linux_image *img)
{
	assert_null(parse_sized(T_IMAGE_BYTES, img));
}

/**
 * The invariants of any plan: the initrd page-aligned, within RAM and below
 * min(initrd_addr_max + 1, 4 GiB), clear of the kernel's init_size area.
 */
static void assert_plan_sane(const struct linux_plan *plan, const struct linux_image *img,
			     uint64_t ram_bytes)
{
	uint64_t kernel = gpa_addr(plan->kernel_gpa);
	uint64_t initrd = gpa_addr(plan->initrd_gpa);
	uint64_t limit = (uint64_t)img->initrd_addr_max + 1;

	assert_true(layout_gpa_is_ram(ram_bytes, plan->kernel_gpa));
	assert_true(layout_gpa_is_ram(ram_bytes, gpa_init(kernel + plan->kernel_reserved - 1)));
	if (plan->initrd_size == 0) {
		assert_int_equal(initrd, 0);
		return;
	}
	assert_int_equal(initrd % 4096, 0);
	assert_true(initrd + plan->initrd_size <= limit);
	assert_true(initrd + plan->initrd_size <= 0x100000000ULL);
	assert_true(layout_gpa_is_ram(ram_bytes, plan->initrd_gpa));
	assert_true(layout_gpa_is_ram(ram_bytes, gpa_init(initrd + plan->initrd_size - 1)));
	assert_true(initrd + plan->initrd_size <= kernel ||
		    kernel + plan->kernel_reserved <= initrd);
}

/** 256 MiB: the kernel at pref_address, the initrd at the very top of RAM. */
static void test_plan_256m(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x123456, 20, &plan));
	assert_int_equal(gpa_addr(plan.boot_params_gpa), 0x10000);
	assert_int_equal(gpa_addr(plan.cmdline_gpa), 0x1e000);
	assert_int_equal(plan.cmdline_bytes, 21);
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x1000000);
	assert_int_equal(plan.kernel_reserved, T_INIT_BYTES);
	/* RAM ends at 1 MiB + 256 MiB - 640 KiB = 0x10060000. */
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0xff3c000);
	assert_int_equal(plan.initrd_size, 0x123456);
	assert_false(plan.quiet);
	assert_plan_sane(&plan, &img, MiB(256));

	/* No initrd: nothing planned for it. */
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0);
	assert_int_equal(plan.initrd_size, 0);
	assert_int_equal(plan.cmdline_bytes, 1);
}

/** 16 MiB: pref_address + init_size is past RAM, so the kernel moves down. */
static void test_plan_16m_relocates(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(16), ram);
	struct linux_image img;
	struct linux_plan plan;

	t_put(image, T_INIT_SIZE, 0xa00000, 4);
	parse_ok(&img);
	/* The lowest 2 MiB-aligned address from 1 MiB. RAM ends at 0x1060000. */
	assert_null(linux_plan(&img, ram, count, 0x300000, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x200000);
	assert_int_equal(plan.kernel_reserved, 0xa00000);
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0xd60000);
	assert_plan_sane(&plan, &img, MiB(16));

	/* At the top it would overlap the kernel; below the kernel is only 1 MiB. */
	assert_string_equal(linux_plan(&img, ram, count, 0x500000, 0, &plan),
			    "initrd of 0x500000 bytes does not fit in RAM from 1 MiB below 0x80000000 beside the kernel at 0x200000-0xbfffff");
}

/** When the kernel is in the way at the top, the initrd goes just below it. */
static void test_plan_initrd_below_kernel(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(16), ram);
	struct linux_image img;
	struct linux_plan plan;

	t_put(image, T_PREF_ADDRESS, 0x800000, 8);
	t_put(image, T_INIT_SIZE, 0x600000, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x500000, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x800000);
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0x300000);
	assert_plan_sane(&plan, &img, MiB(16));
}

/** A kernel larger than a 16 MiB partition is refused with the numbers. */
static void test_plan_kernel_too_big(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(16), ram);
	struct linux_image img;
	struct linux_plan plan;

	t_put(image, T_INIT_SIZE, 0x1000000, 4);
	parse_ok(&img);
	assert_string_equal(linux_plan(&img, ram, count, 0, 0, &plan),
			    "kernel needs init_size 0x1000000 bytes at 0x1000000 or 0x200000-aligned from 1 MiB, partition has 0xf60000 bytes of RAM there at most");
	assert_ptr_equal(linux_plan(&img, ram, count, 0, 0, &plan), plan.reason);

	/* 0xe60000 is exactly what fits from 2 MiB to the end of RAM. */
	t_put(image, T_INIT_SIZE, 0xe60000, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x200000);
	t_put(image, T_INIT_SIZE, 0xe61000, 4);
	parse_ok(&img);
	assert_non_null(linux_plan(&img, ram, count, 0, 0, &plan));
}

/** 6 GiB: the initrd stays below initrd_addr_max and below 4 GiB. */
static void test_plan_above_4g(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(GiB(6), ram);
	struct linux_image img;
	struct linux_plan plan;

	assert_int_equal(count, 3);
	parse_ok(&img);
	/* initrd_addr_max 0x7fffffff: the last byte may be 0x7fffffff. */
	assert_null(linux_plan(&img, ram, count, 0x1234, 0, &plan));
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0x7fffe000);
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x1000000);
	assert_plan_sane(&plan, &img, GiB(6));

	/* initrd_addr_max 0xffffffff: the top of RAM below the 3 GiB hole. */
	t_put(image, T_INITRD_ADDR_MAX, 0xffffffff, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x1000000, 0, &plan));
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0xbf000000);
	assert_plan_sane(&plan, &img, GiB(6));

	/* An initrd_addr_max below the kernel's area puts the initrd under it. */
	t_put(image, T_INITRD_ADDR_MAX, 0x17fffff, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x100000, 0, &plan));
	assert_int_equal(gpa_addr(plan.initrd_gpa), 0xf00000);
	assert_plan_sane(&plan, &img, GiB(6));
}

/** A kernel that is not relocatable goes to pref_address or nowhere. */
static void test_plan_not_relocatable(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	struct linux_image img;
	struct linux_plan plan;
	size_t count;

	image[T_RELOCATABLE] = 0;
	parse_ok(&img);
	assert_false(img.relocatable);
	count = ram_of(MiB(256), ram);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), T_PREF);

	count = ram_of(MiB(16), ram);
	assert_string_equal(linux_plan(&img, ram, count, 0, 0, &plan),
			    "not relocatable and its preferred address 0x1000000 (init_size 0x2000000) is not RAM between 1 MiB and 4 GiB");

	t_put(image, T_PREF_ADDRESS, 0xc0000000, 8);
	parse_ok(&img);
	count = ram_of(GiB(6), ram);
	assert_string_equal(linux_plan(&img, ram, count, 0, 0, &plan),
			    "not relocatable and its preferred address 0xc0000000 (init_size 0x2000000) is not RAM between 1 MiB and 4 GiB");

	/* Below 1 MiB is never the kernel's, even where it is RAM. */
	t_put(image, T_PREF_ADDRESS, 0x20000, 8);
	t_put(image, T_INIT_SIZE, 0x10000, 4);
	parse_ok(&img);
	assert_non_null(linux_plan(&img, ram, count, 0, 0, &plan));
}

/** A relocatable kernel's odd or unusable pref_address. */
static void test_plan_relocatable_preferences(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(GiB(6), ram);
	struct linux_image img;
	struct linux_plan plan;

	/* Unaligned: the runtime start is align_up(pref, kernel_alignment). */
	t_put(image, T_PREF_ADDRESS, 0x1100000, 8);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x1200000);

	/* Above 4 GiB (unreachable by the 32-bit entry): the lowest slot. */
	t_put(image, T_PREF_ADDRESS, 0x100000000ULL, 8);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x200000);

	/* In the hole: likewise. */
	t_put(image, T_PREF_ADDRESS, 0xbf000000, 8);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x200000);

	/* A 1 GiB alignment: the first aligned slot from 1 MiB is 1 GiB. */
	t_put(image, T_KERNEL_ALIGN, 0x40000000, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(gpa_addr(plan.kernel_gpa), 0x40000000);
}

/** The command line: at most cmdline_size bytes, and below 640 KiB. */
static void test_plan_command_line(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, T_CMDLINE_MAX, &plan));
	assert_int_equal(plan.cmdline_bytes, T_CMDLINE_MAX + 1);
	assert_string_equal(linux_plan(&img, ram, count, 0, T_CMDLINE_MAX + 1, &plan),
			    "command line has 2048 bytes, the kernel takes at most 2047");

	/* 0x1e000 to 0xa0000 holds 0x82000 bytes, NUL included. */
	t_put(image, T_CMDLINE_SIZE, 0xffffffff, 4);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0x81fff, &plan));
	assert_string_equal(linux_plan(&img, ram, count, 0, 0x82000, &plan),
			    "no RAM for a command line of 532481 bytes at 0x1e000 below 640 KiB");
}

/** A partition too small to hold even the zero page. */
static void test_plan_no_low_ram(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(KiB(64), ram);
	struct linux_image img;
	struct linux_plan plan;

	parse_ok(&img);
	assert_string_equal(linux_plan(&img, ram, count, 0, 0, &plan),
			    "no RAM for the zero page at 0x10000");
	count = ram_of(KiB(68), ram);
	assert_string_equal(linux_plan(&img, ram, count, 0, 0, &plan),
			    "no RAM for a command line of 1 bytes at 0x1e000 below 640 KiB");
}

/** The command line bytes: text and NUL, exactly as planned. */
static void test_cmdline_bytes(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	const char *cmdline = "console=ttyS0 root=/dev/vda";
	struct linux_image img;
	struct linux_plan plan;
	char out[64];

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, strlen(cmdline), &plan));
	memset(out, 'x', sizeof(out));
	assert_int_equal(linux_cmdline_bytes(out, sizeof(out), cmdline, &plan), 28);
	assert_memory_equal(out, "console=ttyS0 root=/dev/vda\0x", 29);
	/* Too small a buffer, or another string than planned: nothing. */
	assert_int_equal(linux_cmdline_bytes(out, 27, cmdline, &plan), 0);
	assert_int_equal(linux_cmdline_bytes(out, sizeof(out), "console=ttyS0", &plan), 0);
	assert_int_equal(linux_cmdline_bytes(out, sizeof(out),
					     "console=ttyS0 root=/dev/vda1", &plan), 0);

	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	assert_int_equal(linux_cmdline_bytes(out, sizeof(out), "", &plan), 1);
	assert_int_equal(out[0], '\0');
}

/** Writes one E820 entry (zero-page.rst: u64 addr, u64 size, u32 type) to page. */
static void t_e820(uint8_t *page, size_t index, uint64_t base, uint64_t size, uint32_t type)
{
	size_t entry = T_E820_TABLE + index * 20;

	t_put(page, entry, base, 8);
	t_put(page, entry + 8, size, 8);
	t_put(page, entry + 16, type, 4);
}

/**
 * The zero page for the synthetic image expected from boot.rst: zeroes, the
 * header copied from 0x1f1 to 0x26c, then the loader's fields.
 */
static void expected_common(uint8_t *page, uint32_t code32, uint64_t initrd,
			    uint64_t initrd_size, uint64_t cmdline)
{
	memset(page, 0, 4096);
	memcpy(page + 0x1f1, image + 0x1f1, T_HEADER_END - 0x1f1);
	t_put(page, T_VID_MODE, 0xffff, 2);
	page[T_TYPE_OF_LOADER] = 0xff;
	page[T_LOADFLAGS] = 0x81; /* LOADED_HIGH | CAN_USE_HEAP */
	t_put(page, T_CODE32_START, code32, 4);
	t_put(page, T_RAMDISK_IMAGE, (uint32_t)initrd, 4);
	t_put(page, T_RAMDISK_SIZE, (uint32_t)initrd_size, 4);
	t_put(page, T_EXT_RAMDISK_IMG, initrd >> 32, 4);
	t_put(page, T_EXT_RAMDISK_SZ, initrd_size >> 32, 4);
	t_put(page, T_HEAP_END_PTR, 0xde00, 2); /* heap end 0xe000 - 0x200 */
	t_put(page, T_CMD_LINE_PTR, (uint32_t)cmdline, 4);
	t_put(page, T_EXT_CMD_LINE, cmdline >> 32, 4);
}

/** 256 MiB with an initrd and an RSDP: the whole page, byte for byte. */
static void test_boot_params_256m(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];
	uint8_t expected[4096];

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x123456, 20, &plan));
	memset(page, 0xa5, sizeof(page));
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0x123456, 0xe0000);

	expected_common(expected, 0x1000000, 0xff3c000, 0x123456, 0x1e000);
	t_put(expected, T_ACPI_RSDP, 0xe0000, 8);
	expected[T_E820_ENTRIES] = 5;
	t_e820(expected, 0, 0, 0x9f000, 1);
	t_e820(expected, 1, 0x9f000, 0x1000, 3);
	t_e820(expected, 2, 0xa0000, 0x60000, 2);
	t_e820(expected, 3, 0x100000, 0xff60000, 1);
	t_e820(expected, 4, 0xfec00000, 0x201000, 2);
	assert_memory_equal(page, expected, sizeof(page));

	/* The same, field by field, for a readable failure. */
	assert_int_equal(page[T_TYPE_OF_LOADER], 0xff);
	assert_int_equal(page[T_EXT_LOADER_VER], 0);
	assert_int_equal(page[T_EXT_LOADER_TYPE], 0);
	assert_int_equal(t_get(page, T_CODE32_START, 4), 0x1000000);
	assert_int_equal(t_get(page, T_CMD_LINE_PTR, 4), 0x1e000);
	assert_int_equal(t_get(page, T_RAMDISK_IMAGE, 4), 0xff3c000);
	assert_int_equal(t_get(page, T_RAMDISK_SIZE, 4), 0x123456);
	assert_int_equal(t_get(page, T_VID_MODE, 2), 0xffff);
	assert_int_equal(page[T_E820_ENTRIES], 5);
	assert_int_equal(t_get(page, T_ACPI_RSDP, 8), 0xe0000);
	/* The header itself, and nothing around it. */
	assert_memory_equal(page + T_HEADER, "HdrS", 4);
	assert_int_equal(t_get(page, T_ROOT_DEV, 2), 0x0801);
	assert_int_equal(t_get(page, T_INIT_SIZE, 4), T_INIT_BYTES);
	assert_int_equal(t_get(page, T_KERNEL_INFO, 4), 0x7b0040);
	assert_int_equal(page[T_SENTINEL], 0);
	assert_int_equal(page[T_HEADER_END], 0);
}

/** 6 GiB: five E820 entries, the last above 4 GiB; no RSDP given. */
static void test_boot_params_above_4g(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(GiB(6), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];
	uint8_t expected[4096];

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 7, &plan));
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0, 0);

	expected_common(expected, 0x1000000, 0, 0, 0x1e000);
	expected[T_E820_ENTRIES] = 6;
	t_e820(expected, 0, 0, 0x9f000, 1);
	t_e820(expected, 1, 0x9f000, 0x1000, 3);
	t_e820(expected, 2, 0xa0000, 0x60000, 2);
	t_e820(expected, 3, 0x100000, 0xbff00000, 1);
	t_e820(expected, 4, 0xfec00000, 0x201000, 2);
	/* 6 GiB - 640 KiB - (3 GiB - 1 MiB) = 3 GiB + 384 KiB. */
	t_e820(expected, 5, 0x100000000ULL, 0xc0060000, 1);
	assert_memory_equal(page, expected, sizeof(page));
}

/** acpi_rsdp_addr only for protocol 2.14 and later. */
static void test_boot_params_rsdp_needs_2_14(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];

	t_put(image, T_VERSION, 0x020d, 2);
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0, 0xf5a10);
	assert_int_equal(t_get(page, T_ACPI_RSDP, 8), 0);

	t_put(image, T_VERSION, 0x020e, 2);
	parse_ok(&img);
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0, 0xf5a10);
	assert_int_equal(t_get(page, T_ACPI_RSDP, 8), 0xf5a10);
}

/** QUIET_FLAG on request; loadflags bits the kernel owns are not passed on. */
static void test_boot_params_loadflags(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];

	image[T_LOADFLAGS] = 0x01 | 0x02 | 0x40; /* + KASLR_FLAG, KEEP_SEGMENTS */
	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0, 0);
	assert_int_equal(page[T_LOADFLAGS], 0x81);
	plan.quiet = true;
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0, 0);
	assert_int_equal(page[T_LOADFLAGS], 0xa1);
}

/** Addresses above 4 GiB split into the header field and the zero page's ext_ field. */
static void test_boot_params_high_addresses(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(GiB(8), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0, 0, &plan));
	plan.initrd_gpa = gpa_init(0x123456000ULL);
	plan.initrd_size = 0x100000010ULL;
	plan.cmdline_gpa = gpa_init(0x200001000ULL);
	linux_build_boot_params(page, image, &img, &plan, ram, count, 0x100000010ULL, 0);
	assert_int_equal(t_get(page, T_RAMDISK_IMAGE, 4), 0x23456000);
	assert_int_equal(t_get(page, T_EXT_RAMDISK_IMG, 4), 0x1);
	assert_int_equal(t_get(page, T_RAMDISK_SIZE, 4), 0x10);
	assert_int_equal(t_get(page, T_EXT_RAMDISK_SZ, 4), 0x1);
	assert_int_equal(t_get(page, T_CMD_LINE_PTR, 4), 0x1000);
	assert_int_equal(t_get(page, T_EXT_CMD_LINE, 4), 0x2);
}

/** An initrd size other than the plan's is a caller bug. */
static void test_boot_params_checks_initrd_size(void **state)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];

	parse_ok(&img);
	assert_null(linux_plan(&img, ram, count, 0x1000, 0, &plan));
	expect_assert_failure(linux_build_boot_params(page, image, &img, &plan, ram, count,
						      0x2000, 0));
}

/** Reads a whole file into a malloc()ed buffer; NULL if it cannot. */
static uint8_t *read_file(const char *path, uint64_t *size)
{
	FILE *file = fopen(path, "rb");
	uint8_t *data = NULL;
	long length;

	if (file == NULL) {
		return NULL;
	}
	if (fseek(file, 0, SEEK_END) == 0 && (length = ftell(file)) > 0 &&
	    fseek(file, 0, SEEK_SET) == 0) {
		data = malloc((size_t)length);
		if (data != NULL && fread(data, 1, (size_t)length, file) != (size_t)length) {
			free(data);
			data = NULL;
		}
		*size = (uint64_t)length;
	}
	fclose(file);
	return data;
}

/** A real kernel, if one is installed: parses, is 64-bit, plans in 256 MiB. */
static void test_installed_kernel(void **state)
{
	const char *path = getenv("TESSERA_TEST_BZIMAGE");
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = ram_of(MiB(256), ram);
	struct linux_image img;
	struct linux_plan plan;
	uint8_t page[4096];
	uint64_t size = 0;
	uint8_t *data;
	glob_t found;

	memset(&found, 0, sizeof(found));
	if (path == NULL && glob("/boot/vmlinuz-*", 0, NULL, &found) == 0) {
		path = found.gl_pathv[0];
	}
	data = path != NULL ? read_file(path, &size) : NULL;
	if (data == NULL) {
		globfree(&found);
		skip(); /* no kernel on this machine */
	}
	print_message("parsing %s\n", path);
	assert_null(linux_image_parse(data, size, &img));
	assert_true(img.version >= 0x020a);
	assert_true(img.kernel_64);
	assert_true(img.kernel_size >= (uint64_t)img.syssize * 16);
	assert_null(linux_plan(&img, ram, count, MiB(16), 40, &plan));
	linux_build_boot_params(page, data, &img, &plan, ram, count, MiB(16), 0);
	assert_memory_equal(page + T_HEADER, "HdrS", 4);
	assert_int_equal(t_get(page, T_CODE32_START, 4), gpa_addr(plan.kernel_gpa));
	assert_plan_sane(&plan, &img, MiB(256));
	free(data);
	globfree(&found);
}

/** Runs the tests, each on a freshly built image. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_parse_reads_every_field, build_image),
		cmocka_unit_test_setup(test_parse_keeps_trailing_bytes, build_image),
		cmocka_unit_test_setup(test_parse_setup_sects, build_image),
		cmocka_unit_test_setup(test_parse_truncated_at_every_boundary, build_image),
		cmocka_unit_test_setup(test_parse_refuses_foreign_files, build_image),
		cmocka_unit_test_setup(test_parse_refuses_old_protocols, build_image),
		cmocka_unit_test_setup(test_parse_refuses_bad_header_length, build_image),
		cmocka_unit_test_setup(test_parse_refuses_bad_limits, build_image),
		cmocka_unit_test_setup(test_plan_256m, build_image),
		cmocka_unit_test_setup(test_plan_16m_relocates, build_image),
		cmocka_unit_test_setup(test_plan_initrd_below_kernel, build_image),
		cmocka_unit_test_setup(test_plan_kernel_too_big, build_image),
		cmocka_unit_test_setup(test_plan_above_4g, build_image),
		cmocka_unit_test_setup(test_plan_not_relocatable, build_image),
		cmocka_unit_test_setup(test_plan_relocatable_preferences, build_image),
		cmocka_unit_test_setup(test_plan_command_line, build_image),
		cmocka_unit_test_setup(test_plan_no_low_ram, build_image),
		cmocka_unit_test_setup(test_cmdline_bytes, build_image),
		cmocka_unit_test_setup(test_boot_params_256m, build_image),
		cmocka_unit_test_setup(test_boot_params_above_4g, build_image),
		cmocka_unit_test_setup(test_boot_params_rsdp_needs_2_14, build_image),
		cmocka_unit_test_setup(test_boot_params_loadflags, build_image),
		cmocka_unit_test_setup(test_boot_params_high_addresses, build_image),
		cmocka_unit_test_setup(test_boot_params_checks_initrd_size, build_image),
		cmocka_unit_test_setup(test_installed_kernel, build_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
