/*
 * Host tests of hv/partition_boot.c: a partition's boot files put into its
 * RAM, a flat image at its load address or a bzImage (fake_bzimage.h) by the
 * Linux boot protocol, and a refused kernel reported with the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/log.h"
#include "hv/partition.h"

#include "tests/unit/support/console_capture.h"
#include "tests/unit/support/fake_bzimage.h"
#include "tests/unit/support/fake_phys.h"
#include "tests/unit/support/test_vcpu.h"

#define PART_ID       1
#define PART_MEMORY   MiB(64) /* room for the image's init_size at its preferred 16 MiB */
#define ARENA_SIZE    MiB(96)
#define INITRD_BYTES  8192
#define CMDLINE       "console=ttyS0 quiet"
#define RSDP_GPA      0x9f010ULL

/* Where linux_boot.h puts the zero page and command line; zero-page.rst's fields. */
#define ZERO_PAGE_GPA 0x10000ULL
#define CMDLINE_GPA   0x1e000ULL
#define ZP_RSDP       0x070
#define ZP_LOADFLAGS  0x211
#define ZP_CODE32     0x214
#define ZP_RAMDISK    0x218
#define ZP_RAMDISK_SZ 0x21c
#define ZP_CMDLINE    0x228
#define LOADFLAG_QUIET 0x20

static struct partition_config config;
static struct partition part;
static uint8_t image[T_IMAGE_BYTES + 512];
static uint8_t initrd[INITRD_BYTES];

/** A 64 MiB Linux partition with RAM, the synthetic kernel, an initrd and a command line. */
static int setup(void **state)
{
	fake_phys_init_with_allocator(ARENA_SIZE);
	console_capture_start();
	log_set_level(LOG_INFO);
	memset(&config, 0, sizeof(config));
	memset(&part, 0, sizeof(part));
	snprintf(config.name, sizeof(config.name), "linux");
	snprintf(config.image, sizeof(config.image), "\\tessera\\vmlinuz");
	snprintf(config.cmdline, sizeof(config.cmdline), CMDLINE);
	config.memory_bytes = PART_MEMORY;
	config.format = IMAGE_LINUX;
	part.config = &config;
	part.platform.rsdp_gpa = RSDP_GPA;
	test_give_partition_ram(&part, PART_ID, PART_MEMORY);
	fake_bzimage_build(image, sizeof(image));
	for (size_t i = 0; i < sizeof(initrd); i++) {
		initrd[i] = (uint8_t)(i * 7 + 1);
	}
	part.files.image = (struct boot_file){ image, T_IMAGE_BYTES };
	part.files.initrd = (struct boot_file){ initrd, INITRD_BYTES };
	return 0;
}

/** Removes the sink and the arena. */
static int teardown(void **state)
{
	console_capture_stop();
	fake_phys_fini();
	return 0;
}

/** The guest RAM at gpa, which must be RAM for size bytes. */
static const uint8_t *guest_bytes(uint64_t gpa, uint64_t size)
{
	const uint8_t *bytes = partition_gpa_to_ptr(&part, gpa_init(gpa), size);

	assert_non_null(bytes);
	return bytes;
}

/** The kernel, initrd, command line and zero page land where the zero page says. */
static void test_linux_pieces_in_place(void **state)
{
	const uint8_t *zero_page;
	uint64_t initrd_gpa;

	assert_true(partition_load_boot_files(&part));
	assert_int_equal(gpa_addr(part.boot_entry), T_PREF);
	assert_int_equal(part.boot_rsi, ZERO_PAGE_GPA);
	assert_memory_equal(guest_bytes(T_PREF, T_KERNEL_BYTES), image + T_SETUP_BYTES,
			    T_KERNEL_BYTES);
	zero_page = guest_bytes(ZERO_PAGE_GPA, 4096);
	assert_memory_equal(zero_page + T_HEADER, "HdrS", 4);
	assert_int_equal(t_get(zero_page, ZP_CODE32, 4), T_PREF);
	assert_int_equal(t_get(zero_page, ZP_CMDLINE, 4), CMDLINE_GPA);
	assert_int_equal(t_get(zero_page, ZP_RSDP, 8), RSDP_GPA);
	assert_true(zero_page[ZP_LOADFLAGS] & LOADFLAG_QUIET);
	assert_string_equal((const char *)guest_bytes(CMDLINE_GPA, sizeof(CMDLINE)), CMDLINE);
	initrd_gpa = t_get(zero_page, ZP_RAMDISK, 4);
	assert_int_equal(t_get(zero_page, ZP_RAMDISK_SZ, 4), INITRD_BYTES);
	assert_true(initrd_gpa >= T_PREF + T_INIT_BYTES);
	assert_memory_equal(guest_bytes(initrd_gpa, INITRD_BYTES), initrd, INITRD_BYTES);
}

/** Without "quiet" on the command line, the kernel is not asked to be quiet. */
static void test_linux_not_quiet_without_the_word(void **state)
{
	snprintf(config.cmdline, sizeof(config.cmdline), "console=ttyS0 quietly");
	part.files.initrd = (struct boot_file){ NULL, 0 };
	assert_true(partition_load_boot_files(&part));
	assert_false(guest_bytes(ZERO_PAGE_GPA, 4096)[ZP_LOADFLAGS] & LOADFLAG_QUIET);
	assert_int_equal(t_get(guest_bytes(ZERO_PAGE_GPA, 4096), ZP_RAMDISK_SZ, 4), 0);
}

/** A file that is not a bzImage is refused, naming the partition, the file and why. */
static void test_linux_refuses_a_foreign_file(void **state)
{
	memset(image, 0x90, sizeof(image));
	assert_false(partition_load_boot_files(&part));
	assert_non_null(strstr(captured.text, "partition 'linux': kernel \\tessera\\vmlinuz refused: "
					      "not a Linux bzImage"));
}

/** A kernel whose init_size cannot fit in the partition's RAM is refused with the reason. */
static void test_linux_refuses_too_little_memory(void **state)
{
	config.memory_bytes = MiB(16);
	assert_false(partition_load_boot_files(&part));
	assert_non_null(strstr(captured.text, "partition 'linux': kernel \\tessera\\vmlinuz cannot "
					      "be placed in its 16 MiB: "));
}

/** A flat image goes to its load address; the vCPU starts at entry with RSI 0. */
static void test_flat_image_at_load_address(void **state)
{
	config.format = IMAGE_FLAT;
	config.load = 0x100000;
	config.entry = 0x100400;
	assert_true(partition_load_boot_files(&part));
	assert_int_equal(gpa_addr(part.boot_entry), 0x100400);
	assert_int_equal(part.boot_rsi, 0);
	assert_memory_equal(guest_bytes(0x100000, T_IMAGE_BYTES), image, T_IMAGE_BYTES);
}

/** A flat image that runs past the partition's RAM is refused. */
static void test_flat_image_too_large(void **state)
{
	config.format = IMAGE_FLAT;
	/* The last page of RAM: the 640 KiB below the legacy window count toward memory. */
	config.load = LAYOUT_HIGH_RAM_BASE + (PART_MEMORY - LAYOUT_LOW_RAM_END) - 4096;
	config.entry = config.load;
	assert_false(partition_load_boot_files(&part));
	assert_non_null(strstr(captured.text, "partition 'linux': image of 6656 bytes does not fit"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_pieces_in_place, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_not_quiet_without_the_word, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_refuses_a_foreign_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_refuses_too_little_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flat_image_at_load_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flat_image_too_large, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
