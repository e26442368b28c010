/*
 * Host tests of arch/x86/acpi.c: the firmware's tables laid out by hand in
 * the fake physical arena (RSDP, XSDT, FADT, DSDT with AML, MADT), with the
 * field offsets of the ACPI 6.0 specification written out here, not taken
 * from the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "hv/phys.h"
#include "tests/unit/support/fake_phys.h"

#define RSDP (FAKE_PHYS_BASE + 0x000)
#define XSDT (FAKE_PHYS_BASE + 0x100)
#define FADT (FAKE_PHYS_BASE + 0x200)
#define MADT (FAKE_PHYS_BASE + 0x400)
#define DSDT (FAKE_PHYS_BASE + 0x800)

#define FADT_LENGTH 276 /* revision 6 */

/** The byte at fake physical address @pa. */
static uint8_t *at(uint64_t pa)
{
	return hpa_to_ptr(hpa_init(pa));
}

/** Stores @value as @bytes little-endian bytes at @pa. */
static void put(uint64_t pa, uint64_t value, size_t bytes)
{
	for (size_t i = 0; i < bytes; i++) {
		at(pa)[i] = (uint8_t)(value >> (8 * i));
	}
}

/** Sets the byte at @checksum so that @length bytes from @start sum to 0. */
static void fix_checksum(uint64_t start, size_t length, uint64_t checksum)
{
	uint8_t sum = 0;

	*at(checksum) = 0;
	for (size_t i = 0; i < length; i++) {
		sum = (uint8_t)(sum + at(start)[i]);
	}
	*at(checksum) = (uint8_t)(0x100 - sum);
}

/** Writes a table header (5.2.6) of @length bytes; the checksum comes last. */
static void header(uint64_t pa, const char *signature, uint32_t length, uint8_t revision)
{
	memset(at(pa), 0, length);
	memcpy(at(pa), signature, 4);
	put(pa + 4, length, 4);
	at(pa)[8] = revision;
	memcpy(at(pa) + 10, "TESSRA", 6);
}

/** Writes a Generic Address Structure (5.2.3.2). */
static void gas(uint64_t pa, uint8_t space, uint8_t width, uint64_t address)
{
	at(pa)[0] = space;
	at(pa)[1] = width;
	at(pa)[2] = 0;
	at(pa)[3] = width == 8 ? 1 : 2;
	put(pa + 4, address, 8);
}

/** Re-checksums every table after a test changed one. */
static void fix_all(void)
{
	fix_checksum(RSDP, 20, RSDP + 8);
	fix_checksum(RSDP, 36, RSDP + 32);
	fix_checksum(XSDT, 36 + 3 * 8, XSDT + 9);
	fix_checksum(FADT, FADT_LENGTH, FADT + 9);
	fix_checksum(MADT, (size_t)(at(MADT)[4] | at(MADT)[5] << 8), MADT + 9);
	fix_checksum(DSDT, (size_t)(at(DSDT)[4] | at(DSDT)[5] << 8), DSDT + 9);
}

/** Puts AML into the DSDT and re-checksums it. */
static void dsdt_with(const uint8_t *aml, size_t length)
{
	header(DSDT, "DSDT", (uint32_t)(36 + length), 2);
	memcpy(at(DSDT + 36), aml, length);
	fix_checksum(DSDT, 36 + length, DSDT + 9);
}

/* A scope, a method that mentions _S5_ without defining it, then Name(_S5_, Package(4){5, 5, 0, 0}). */
static const uint8_t standard_aml[] = {
	0x10, 0x05, '_', 'S', 'B', '_',                  /* Scope (_SB) */
	0x14, 0x08, 'F', 'O', 'O', '_', 0x00, '_', 'S', '5', '_', /* a method using the name */
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00,
};

/** A whole set of tables: RSDP 2.0, XSDT, FADT 6, DSDT, MADT. */
static int setup(void **state)
{
	fake_phys_init(MiB(1));
	memset(at(RSDP), 0, 36);
	memcpy(at(RSDP), "RSD PTR ", 8);
	at(RSDP)[15] = 2;
	put(RSDP + 20, 36, 4);
	put(RSDP + 24, XSDT, 8);

	header(XSDT, "XSDT", 36 + 3 * 8, 1);
	put(XSDT + 36, MADT, 8);
	put(XSDT + 44, FADT, 8);
	put(XSDT + 52, DSDT, 8); /* not FACP: a list may hold anything */

	header(FADT, "FACP", FADT_LENGTH, 6);
	put(FADT + 48, 0xb2, 4);               /* SMI_CMD */
	at(FADT)[52] = 0xf0;                   /* ACPI_ENABLE */
	put(FADT + 64, 0x1004, 4);             /* PM1a_CNT_BLK (legacy) */
	put(FADT + 112, 1u << 10, 4);          /* flags: RESET_REG_SUP */
	gas(FADT + 116, 1, 8, 0xcf9);          /* RESET_REG */
	at(FADT)[128] = 0x06;                  /* RESET_VALUE */
	put(FADT + 140, DSDT, 8);              /* X_DSDT */
	gas(FADT + 172, 1, 16, 0x604);         /* X_PM1a_CNT_BLK */

	header(MADT, "APIC", 44 + 8 * 3 + 12 + 16 * 2, 4);
	{
		static const uint8_t entries[] = {
			0, 8, 0, 0, 1, 0, 0, 0,          /* local APIC: UID 0, ID 0, enabled */
			0, 8, 1, 2, 1, 0, 0, 0,          /* UID 1, ID 2, enabled */
			0, 8, 2, 4, 0, 0, 0, 0,          /* UID 2, ID 4, disabled */
			1, 12, 9, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0, /* an I/O APIC */
			9, 16, 0, 0, 0x2c, 0x01, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, /* x2APIC 300 */
			9, 16, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0,       /* x2APIC 2 again */
		};

		memcpy(at(MADT + 44), entries, sizeof(entries));
	}
	dsdt_with(standard_aml, sizeof(standard_aml));
	fix_all();
	return 0;
}

/** Releases the arena. */
static int teardown(void **state)
{
	fake_phys_fini();
	return 0;
}

/** The FADT's reset register: I/O port 0xCF9, value 6. */
static void test_reset_register(void **state)
{
	struct acpi_reset reset = { 0 };

	assert_true(acpi_find_reset(RSDP, &reset));
	assert_int_equal(reset.space, ACPI_SPACE_IO);
	assert_int_equal(reset.address, 0xcf9);
	assert_int_equal(reset.value, 6);
}

/** No RESET_REG_SUP, a zero address, an unknown space, a bad checksum: no reset register. */
static void test_reset_register_refused(void **state)
{
	struct acpi_reset reset = { 0 };

	put(FADT + 112, 0, 4);
	fix_all();
	assert_false(acpi_find_reset(RSDP, &reset));
	put(FADT + 112, 1u << 10, 4);
	gas(FADT + 116, 1, 8, 0);
	fix_all();
	assert_false(acpi_find_reset(RSDP, &reset));
	gas(FADT + 116, 0x7f, 8, 0xcf9);
	fix_all();
	assert_false(acpi_find_reset(RSDP, &reset));
	gas(FADT + 116, 1, 8, 0xcf9);
	fix_all();
	at(FADT)[200] ^= 1; /* the checksum no longer holds */
	assert_false(acpi_find_reset(RSDP, &reset));
}

/** An ACPI 1.0 FADT (116 bytes) has no reset register. */
static void test_reset_register_old_fadt(void **state)
{
	struct acpi_reset reset = { 0 };

	put(FADT + 4, 116, 4);
	fix_checksum(FADT, 116, FADT + 9);
	assert_false(acpi_find_reset(RSDP, &reset));
}

/** A reset register in PCI configuration space keeps its encoded address. */
static void test_reset_register_pci(void **state)
{
	struct acpi_reset reset = { 0 };

	gas(FADT + 116, 2, 8, (0x1fULL << 32) | 0xac); /* device 31, function 0, offset 0xac */
	fix_all();
	assert_true(acpi_find_reset(RSDP, &reset));
	assert_int_equal(reset.space, ACPI_SPACE_PCI);
	assert_int_equal(reset.address, 0x1f000000acULL);
}

/** A broken RSDP hides every table. */
static void test_bad_rsdp(void **state)
{
	struct acpi_reset reset = { 0 };
	struct acpi_soft_off off;
	const char *problem = NULL;
	uint32_t ids[4];

	at(RSDP)[0] = 'X';
	assert_false(acpi_find_reset(RSDP, &reset));
	assert_false(acpi_find_soft_off(RSDP, &off, &problem));
	assert_string_equal(problem, "the firmware's ACPI tables have no usable FADT");
	assert_int_equal(acpi_cpu_apic_ids(RSDP, ids, 4), 0);
	assert_int_equal(acpi_cpu_apic_ids(0, ids, 4), 0);
	at(RSDP)[0] = 'R';
	at(RSDP)[9] ^= 0x55; /* OEM ID changed: the checksum of the first 20 bytes fails */
	assert_false(acpi_find_reset(RSDP, &reset));
}

/** Soft off: X_PM1a_CNT, \_S5 from the DSDT, SMI_CMD and ACPI_ENABLE. */
static void test_soft_off(void **state)
{
	struct acpi_soft_off off;
	const char *problem = NULL;

	assert_true(acpi_find_soft_off(RSDP, &off, &problem));
	assert_int_equal(off.pm1a_control, 0x604);
	assert_int_equal(off.pm1b_control, 0);
	assert_int_equal(off.slp_typ_a, 5);
	assert_int_equal(off.slp_typ_b, 5);
	assert_int_equal(off.smi_command, 0xb2);
	assert_int_equal(off.acpi_enable, 0xf0);
}

/** Without X_PM1a_CNT_BLK the 32-bit PM1a_CNT_BLK is used; PM1b when present. */
static void test_soft_off_legacy_ports(void **state)
{
	struct acpi_soft_off off;
	const char *problem = NULL;

	gas(FADT + 172, 1, 16, 0);
	put(FADT + 68, 0x1040, 4);
	fix_all();
	assert_true(acpi_find_soft_off(RSDP, &off, &problem));
	assert_int_equal(off.pm1a_control, 0x1004);
	assert_int_equal(off.pm1b_control, 0x1040);
}

/** \_S5 with a root prefix, Zero/One objects and a two-byte PkgLength. */
static void test_soft_off_aml_forms(void **state)
{
	static const uint8_t root_prefixed[] = {
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x00, 0x01,
	};
	static const uint8_t long_package[] = {
		0x08, '_', 'S', '5', '_', 0x12, 0x40, 0x01, 0x02, 0x0b, 0x07, 0x00, 0x0c, 0x06, 0, 0, 0,
	};
	struct acpi_soft_off off;
	const char *problem = NULL;

	dsdt_with(root_prefixed, sizeof(root_prefixed));
	assert_true(acpi_find_soft_off(RSDP, &off, &problem));
	assert_int_equal(off.slp_typ_a, 0);
	assert_int_equal(off.slp_typ_b, 1);
	dsdt_with(long_package, sizeof(long_package));
	assert_true(acpi_find_soft_off(RSDP, &off, &problem));
	assert_int_equal(off.slp_typ_a, 7);
	assert_int_equal(off.slp_typ_b, 6);
}

/** No \_S5 (only a mention, or a sleep type beyond 3 bits): refused with the reason. */
static void test_soft_off_without_s5(void **state)
{
	static const uint8_t mention_only[] = { 0x14, 0x08, 'F', 'O', 'O', '_', 0x00, '_', 'S', '5', '_' };
	static const uint8_t too_big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0a, 0x08 };
	static const uint8_t cut_short[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x0a };
	struct acpi_soft_off off;
	const char *problem = NULL;

	dsdt_with(mention_only, sizeof(mention_only));
	assert_false(acpi_find_soft_off(RSDP, &off, &problem));
	assert_string_equal(problem, "the firmware's DSDT has no \\_S5 sleep type");
	dsdt_with(too_big, sizeof(too_big));
	assert_false(acpi_find_soft_off(RSDP, &off, &problem));
	dsdt_with(cut_short, sizeof(cut_short));
	assert_false(acpi_find_soft_off(RSDP, &off, &problem));
}

/** Hardware-reduced ACPI has no PM1 control: refused with the reason. */
static void test_soft_off_hardware_reduced(void **state)
{
	struct acpi_soft_off off;
	const char *problem = NULL;

	put(FADT + 112, (1u << 10) | (1u << 20), 4);
	fix_all();
	assert_false(acpi_find_soft_off(RSDP, &off, &problem));
	assert_string_equal(problem, "hardware-reduced ACPI (a sleep control register) is not supported");
}

/** The MADT's enabled processors, local APIC and x2APIC, each once, in table order. */
static void test_cpu_apic_ids(void **state)
{
	uint32_t ids[8] = { 0 };

	assert_int_equal(acpi_cpu_apic_ids(RSDP, ids, 8), 3);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 300);
	memset(ids, 0, sizeof(ids));
	assert_int_equal(acpi_cpu_apic_ids(RSDP, ids, 2), 2);
	assert_int_equal(ids[0], 0);
	assert_int_equal(ids[1], 2);
	assert_int_equal(ids[2], 0);
}

/** A MADT entry with length 0 ends the walk instead of looping. */
static void test_cpu_apic_ids_broken_entry(void **state)
{
	uint32_t ids[8] = { 0 };

	at(MADT + 44 + 8)[1] = 0;
	fix_all();
	assert_int_equal(acpi_cpu_apic_ids(RSDP, ids, 8), 1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the ACPI table tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_reset_register),
		TEST(test_reset_register_refused),
		TEST(test_reset_register_old_fadt),
		TEST(test_reset_register_pci),
		TEST(test_bad_rsdp),
		TEST(test_soft_off),
		TEST(test_soft_off_legacy_ports),
		TEST(test_soft_off_aml_forms),
		TEST(test_soft_off_without_s5),
		TEST(test_soft_off_hardware_reduced),
		TEST(test_cpu_apic_ids),
		TEST(test_cpu_apic_ids_broken_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
