/*
 * Host tests of hv/acpi_tables.c: a partition's ACPI tables.
 *
 * The tables are read back the way an OS reads them, by byte offset as the
 * ACPI 6.0 specification lays them out (5.2.5 RSDP, 5.2.7/8 RSDT/XSDT,
 * 5.2.9 FADT, 5.2.10 FACS, 5.2.12 MADT, chapter 20 AML), never through the
 * builder's structures: found by the legacy scan, followed pointer by
 * pointer, each checksummed. When ACPICA's iasl is installed, it also
 * disassembles every table and recompiles the DSDT (skipped otherwise).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/acpi_tables.h"

#define T_BASE     0xe0000ULL  /* the BIOS area the caller uses */
#define T_AREA_END 0x100000ULL
#define T_BUFFER   0x20000

/* FADT offsets (ACPI 6.0, table 5-33). */
#define F_FIRMWARE_CTRL 36
#define F_DSDT          40
#define F_SCI_INT       46
#define F_SMI_CMD       48
#define F_ACPI_ENABLE   52
#define F_ACPI_DISABLE  53
#define F_PM1A_EVT      56
#define F_PM1B_EVT      60
#define F_PM1A_CNT      64
#define F_PM1B_CNT      68
#define F_PM2_CNT       72
#define F_PM_TMR        76
#define F_GPE0          80
#define F_PM1_EVT_LEN   88
#define F_PM1_CNT_LEN   89
#define F_PM2_CNT_LEN   90
#define F_PM_TMR_LEN    91
#define F_GPE0_LEN      92
#define F_P_LVL2_LAT    96
#define F_P_LVL3_LAT    98
#define F_IAPC_BOOT     109
#define F_FLAGS         112
#define F_RESET_REG     116
#define F_RESET_VALUE   128
#define F_MINOR         131
#define F_X_FIRMWARE    132
#define F_X_DSDT        140
#define F_X_PM1A_EVT    148
#define F_X_PM1B_EVT    160
#define F_X_PM1A_CNT    172
#define F_X_PM_TMR      208
#define F_X_GPE0        220
#define F_LENGTH_V6     276

static uint8_t buffer[T_BUFFER];
static size_t used;
static uint64_t rsdp_gpa;

/** Little-endian 16 bits at @p. */
static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/** Little-endian 32 bits at @p. */
static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16;
}

/** Little-endian 64 bits at @p. */
static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/** The byte sum of @length bytes at @p, modulo 256. */
static uint8_t byte_sum(const uint8_t *p, size_t length)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < length; i++) {
		sum = (uint8_t)(sum + p[i]);
	}
	return sum;
}

/** Builds the tables for @cpus CPUs at T_BASE into a dirty buffer. */
static void build(unsigned int cpus)
{
	struct acpi_platform platform = { .cpu_count = cpus, .pm_base = ACPI_PM_BASE };

	memset(buffer, 0xcc, sizeof(buffer));
	rsdp_gpa = 0;
	used = acpi_build_tables(buffer, sizeof(buffer), T_BASE, &platform, &rsdp_gpa);
	assert_true(used > 0);
	assert_true(T_BASE + used <= T_AREA_END);
}

/** The buffer bytes at guest-physical @gpa, @length of them inside what was used. */
static const uint8_t *at(uint64_t gpa, size_t length)
{
	assert_true(gpa >= T_BASE);
	assert_true(gpa - T_BASE + length <= used);
	return buffer + (gpa - T_BASE);
}

/**
 * The description table at @gpa: signature @signature, revision @revision,
 * length inside the used bytes, bytes summing to 0 (5.2.6).
 */
static const uint8_t *table(uint64_t gpa, const char *signature, uint8_t revision)
{
	const uint8_t *header = at(gpa, 36);
	uint32_t length = le32(header + 4);

	assert_memory_equal(header, signature, 4);
	assert_true(length >= 36);
	assert_int_equal(header[8], revision);
	assert_int_equal(byte_sum(at(gpa, length), length), 0);
	return header;
}

/** The XSDT's entry @index (64-bit physical addresses after the header). */
static uint64_t xsdt_entry(unsigned int index)
{
	const uint8_t *xsdt = at(le64(at(rsdp_gpa, 36) + 24), 36);

	return le64(xsdt + 36 + (size_t)8 * index);
}

/** The FADT, through the XSDT's first entry. */
static const uint8_t *fadt(void)
{
	return table(xsdt_entry(0), "FACP", 6);
}

/** The MADT, through the XSDT's second entry. */
static const uint8_t *madt(void)
{
	return table(xsdt_entry(1), "APIC", 4);
}

/** The DSDT, through the FADT's X_DSDT. */
static const uint8_t *dsdt(void)
{
	return table(le64(fadt() + F_X_DSDT), "DSDT", 2);
}

/**
 * The legacy RSDP search (5.2.5.1): "RSD PTR " on a 16-byte boundary whose
 * first 20 bytes sum to 0, in [from, to). Returns its address, or 0.
 */
static uint64_t legacy_scan(uint64_t from, uint64_t to)
{
	for (uint64_t gpa = (from + 15) & ~15ULL; gpa + 20 <= to; gpa += 16) {
		const uint8_t *p = buffer + (gpa - T_BASE);

		if (memcmp(p, "RSD PTR ", 8) == 0 && byte_sum(p, 20) == 0) {
			return gpa;
		}
	}
	return 0;
}

/** Checks a GAS (5.2.3.2) at @p: system I/O space, width, access size, port. */
static void assert_io_gas(const uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
	assert_int_equal(p[0], 1);
	assert_int_equal(p[1], bits);
	assert_int_equal(p[2], 0);
	assert_int_equal(p[3], access);
	assert_int_equal(le64(p + 4), port);
}

/* ------------------------------------------------------------------------
 * RSDP and root tables
 * ------------------------------------------------------------------------ */

/** The legacy scan of the BIOS area finds the RSDP the builder reports. */
static void test_acpi_rsdp_found_by_legacy_scan(void **state)
{
	build(1);
	assert_int_equal(legacy_scan(T_BASE, T_BASE + used), rsdp_gpa);
	assert_int_equal(rsdp_gpa % 16, 0);
	assert_true(rsdp_gpa >= 0xe0000 && rsdp_gpa < 0x100000);
}

/** RSDP: revision 2, length 36, both checksums, RSDT and XSDT addresses. */
static void test_acpi_rsdp_fields(void **state)
{
	const uint8_t *rsdp;

	build(1);
	rsdp = at(rsdp_gpa, 36);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(le32(rsdp + 20), 36);
	assert_int_equal(byte_sum(rsdp, 20), 0);
	assert_int_equal(byte_sum(rsdp, 36), 0);
	table(le32(rsdp + 16), "RSDT", 1);
	table(le64(rsdp + 24), "XSDT", 1);
}

/** An unaligned base still puts the RSDP on a 16-byte boundary. */
static void test_acpi_rsdp_aligned_from_unaligned_base(void **state)
{
	struct acpi_platform platform = { .cpu_count = 2, .pm_base = ACPI_PM_BASE };
	size_t n = acpi_build_tables(buffer, sizeof(buffer), T_BASE + 4, &platform, &rsdp_gpa);

	assert_true(n > 0);
	assert_int_equal(rsdp_gpa, T_BASE + 16);
	assert_memory_equal(buffer + 12, "RSD PTR ", 8);
	assert_int_equal(byte_sum(buffer + 12, 36), 0);
}

/** XSDT and RSDT list exactly the FADT and the MADT. */
static void test_acpi_root_tables_list_fadt_and_madt(void **state)
{
	const uint8_t *rsdp;
	const uint8_t *xsdt;
	const uint8_t *rsdt;

	build(4);
	rsdp = at(rsdp_gpa, 36);
	xsdt = table(le64(rsdp + 24), "XSDT", 1);
	rsdt = table(le32(rsdp + 16), "RSDT", 1);
	assert_int_equal(le32(xsdt + 4), 36 + 2 * 8);
	assert_int_equal(le32(rsdt + 4), 36 + 2 * 4);
	table(le64(xsdt + 36), "FACP", 6);
	table(le64(xsdt + 44), "APIC", 4);
	assert_int_equal(le32(rsdt + 36), le64(xsdt + 36));
	assert_int_equal(le32(rsdt + 40), le64(xsdt + 44));
}

/** Every table lies in the used bytes and none overlaps another. */
static void test_acpi_tables_do_not_overlap(void **state)
{
	uint64_t start[7];
	uint64_t end[7];
	const uint8_t *f;

	build(4);
	f = fadt();
	start[0] = rsdp_gpa;
	end[0] = rsdp_gpa + 36;
	start[1] = le32(at(rsdp_gpa, 36) + 16);
	start[2] = le64(at(rsdp_gpa, 36) + 24);
	start[3] = xsdt_entry(0);
	start[4] = xsdt_entry(1);
	start[5] = le64(f + F_X_DSDT);
	start[6] = le64(f + F_X_FIRMWARE);
	for (int i = 1; i < 7; i++) {
		end[i] = start[i] + le32(at(start[i], 8) + 4);
		assert_true(end[i] <= T_BASE + used);
	}
	for (int i = 0; i < 7; i++) {
		for (int j = i + 1; j < 7; j++) {
			assert_true(end[i] <= start[j] || end[j] <= start[i]);
		}
	}
}

/* ------------------------------------------------------------------------
 * FADT and FACS
 * ------------------------------------------------------------------------ */

/** FADT revision 6: length, always-ACPI mode, SCI 9, no C2/C3. */
static void test_acpi_fadt_general_fields(void **state)
{
	const uint8_t *f;

	build(1);
	f = fadt();
	assert_int_equal(le32(f + 4), F_LENGTH_V6);
	assert_int_equal(f[F_MINOR], 0);
	assert_int_equal(le16(f + F_SCI_INT), 9);
	assert_int_equal(le32(f + F_SMI_CMD), 0);
	assert_int_equal(f[F_ACPI_ENABLE], 0);
	assert_int_equal(f[F_ACPI_DISABLE], 0);
	assert_int_equal(le16(f + F_P_LVL2_LAT), 101);
	assert_int_equal(le16(f + F_P_LVL3_LAT), 1001);
	/* LEGACY_DEVICES (0) and VGA Not Present (2); no 8042 (1), RTC present. */
	assert_int_equal(le16(f + F_IAPC_BOOT), 0x0005);
	/* WBINVD (0), PROC_C1 (2), SLP_BUTTON (5), RESET_REG_SUP (10); 24-bit timer. */
	assert_int_equal(le32(f + F_FLAGS), 0x00000425);
}

/** The PM block ports and lengths, as 32-bit fields and as X_ GAS. */
static void test_acpi_fadt_pm_blocks(void **state)
{
	const uint8_t *f;

	build(1);
	f = fadt();
	assert_int_equal(le32(f + F_PM1A_EVT), 0x600);
	assert_int_equal(le32(f + F_PM1A_CNT), 0x604);
	assert_int_equal(le32(f + F_PM_TMR), 0x608);
	assert_int_equal(le32(f + F_PM1B_EVT), 0);
	assert_int_equal(le32(f + F_PM1B_CNT), 0);
	assert_int_equal(le32(f + F_PM2_CNT), 0);
	assert_int_equal(le32(f + F_GPE0), 0);
	assert_int_equal(f[F_PM1_EVT_LEN], 4);
	assert_int_equal(f[F_PM1_CNT_LEN], 2);
	assert_int_equal(f[F_PM2_CNT_LEN], 0);
	assert_int_equal(f[F_PM_TMR_LEN], 4);
	assert_int_equal(f[F_GPE0_LEN], 0);
	assert_io_gas(f + F_X_PM1A_EVT, 32, 2, 0x600);
	assert_io_gas(f + F_X_PM1A_CNT, 16, 2, 0x604);
	assert_io_gas(f + F_X_PM_TMR, 32, 3, 0x608);
	assert_memory_equal(f + F_X_PM1B_EVT, (uint8_t[12]){ 0 }, 12);
	assert_memory_equal(f + F_X_GPE0, (uint8_t[12]){ 0 }, 12);
	/* The PM model decodes the same numbers. */
	assert_int_equal(ACPI_PM1A_EVT, 0x600);
	assert_int_equal(ACPI_PM1A_CNT, 0x604);
	assert_int_equal(ACPI_PM_TMR, 0x608);
}

/** Reset register: one byte at I/O port 0xCF9, value 6. */
static void test_acpi_fadt_reset_register(void **state)
{
	const uint8_t *f;

	build(1);
	f = fadt();
	assert_io_gas(f + F_RESET_REG, 8, 1, 0xcf9);
	assert_int_equal(f[F_RESET_VALUE], 0x06);
}

/** DSDT and FACS pointers: 32 and 64-bit fields agree and lead to the tables. */
static void test_acpi_fadt_dsdt_and_facs_pointers(void **state)
{
	const uint8_t *f;

	build(1);
	f = fadt();
	assert_int_not_equal(le32(f + F_DSDT), 0);
	assert_int_equal(le32(f + F_DSDT), le64(f + F_X_DSDT));
	assert_int_not_equal(le32(f + F_FIRMWARE_CTRL), 0);
	assert_int_equal(le32(f + F_FIRMWARE_CTRL), le64(f + F_X_FIRMWARE));
	table(le64(f + F_X_DSDT), "DSDT", 2);
	assert_memory_equal(at(le64(f + F_X_FIRMWARE), 64), "FACS", 4);
}

/** FACS: 64 bytes, 64-byte aligned, version 2, lock and vectors clear. */
static void test_acpi_facs(void **state)
{
	uint64_t gpa;
	const uint8_t *facs;

	build(1);
	gpa = le64(fadt() + F_X_FIRMWARE);
	facs = at(gpa, 64);
	assert_int_equal(gpa % 64, 0);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(le32(facs + 4), 64);
	assert_int_equal(le32(facs + 12), 0); /* firmware waking vector */
	assert_int_equal(le32(facs + 16), 0); /* global lock */
	assert_int_equal(le32(facs + 20), 0); /* flags: no S4BIOS */
	assert_int_equal(le64(facs + 24), 0);
	assert_int_equal(facs[32], 2);
}

/* ------------------------------------------------------------------------
 * MADT
 * ------------------------------------------------------------------------ */

/** Checks the whole MADT for @cpus CPUs, entry by entry. */
static void check_madt(unsigned int cpus)
{
	const uint8_t *m;
	const uint8_t *e;

	build(cpus);
	m = madt();
	assert_int_equal(le32(m + 4), 44 + 8 * cpus + 12 + 10 + 10 + 6);
	assert_int_equal(le32(m + 36), 0xfee00000);
	assert_int_equal(le32(m + 40), 1); /* PCAT_COMPAT */
	e = m + 44;
	for (unsigned int cpu = 0; cpu < cpus; cpu++, e += 8) {
		assert_int_equal(e[0], 0);   /* Processor Local APIC */
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], cpu); /* ACPI processor UID */
		assert_int_equal(e[3], cpu); /* APIC ID */
		assert_int_equal(le32(e + 4), 1); /* enabled */
	}
	assert_int_equal(e[0], 1); /* I/O APIC */
	assert_int_equal(e[1], 12);
	assert_int_equal(e[2], 0);
	assert_int_equal(le32(e + 4), 0xfec00000);
	assert_int_equal(le32(e + 8), 0);
	e += 12;
	/* ISA IRQ 0 -> GSI 2, edge, active high (flags 0101b). */
	assert_memory_equal(e, ((uint8_t[10]){ 2, 10, 0, 0, 2, 0, 0, 0, 0x05, 0 }), 10);
	e += 10;
	/* ISA IRQ 9 -> GSI 9, level, active high (flags 1101b): the SCI. */
	assert_memory_equal(e, ((uint8_t[10]){ 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0 }), 10);
	e += 10;
	/* Local APIC NMI: all processors (0xFF), edge/high, LINT1. */
	assert_memory_equal(e, ((uint8_t[6]){ 4, 6, 0xff, 0x05, 0, 1 }), 6);
	assert_ptr_equal(e + 6, m + le32(m + 4));
}

/** The MADT of a one-CPU partition. */
static void test_acpi_madt_one_cpu(void **state)
{
	check_madt(1);
}

/** The MADT of a four-CPU partition. */
static void test_acpi_madt_four_cpus(void **state)
{
	check_madt(4);
}

/** The largest partition (255 CPUs, IDs 0-254) still fits the BIOS area. */
static void test_acpi_madt_max_cpus(void **state)
{
	check_madt(ACPI_TABLES_MAX_CPUS);
	assert_int_equal(madt()[44 + 8 * 254 + 3], 254);
}

/* ------------------------------------------------------------------------
 * DSDT
 * ------------------------------------------------------------------------ */

/** The position of @needle (@length bytes) in @hay (@size bytes), or -1. */
static long find_bytes(const uint8_t *hay, size_t size, const void *needle, size_t length)
{
	for (size_t i = 0; i + length <= size; i++) {
		if (memcmp(hay + i, needle, length) == 0) {
			return (long)i;
		}
	}
	return -1;
}

/** Name (\_S5, Package (4) { 5, 5, 0, 0 }), byte for byte. */
static void test_acpi_dsdt_s5_package(void **state)
{
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
				      0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00 };
	const uint8_t *d;

	build(1);
	d = dsdt();
	assert_true(find_bytes(d + 36, le32(d + 4) - 36, s5, sizeof(s5)) >= 0);
	assert_int_equal(ACPI_SLP_TYP_S5, 5);
}

/** \_SB.PCI0: _HID PNP0A03, _SEG, _BBN, _UID 0; package lengths consistent. */
static void test_acpi_dsdt_pci_root_bridge(void **state)
{
	static const uint8_t scope[] = { 0x10, 0, '\\', '_', 'S', 'B', '_' };
	static const uint8_t device[] = { 0x5b, 0x82, 0, 'P', 'C', 'I', '0' };
	static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
	const uint8_t *d;
	size_t length;
	long s;
	long dev;

	build(1);
	d = dsdt();
	length = le32(d + 4);
	/* Find the opcodes ignoring the PkgLength byte, then check it. */
	s = find_bytes(d, length, scope + 2, sizeof(scope) - 2) - 2;
	dev = find_bytes(d, length, device + 3, sizeof(device) - 3) - 3;
	assert_true(s > 36 && dev > s);
	assert_int_equal(d[s], 0x10);
	assert_int_equal(d[dev], 0x5b);
	assert_int_equal(d[dev + 1], 0x82);
	/* Both packages run to the end of the table (one-byte PkgLength). */
	assert_int_equal(d[s + 1], length - (size_t)(s + 1));
	assert_int_equal(d[dev + 2], length - (size_t)(dev + 2));
	assert_true(find_bytes(d + dev, length - dev, hid, sizeof(hid)) > 0);
	assert_true(find_bytes(d + dev, length - dev, "\x08_SEG\x00", 6) > 0);
	assert_true(find_bytes(d + dev, length - dev, "\x08_BBN\x00", 6) > 0);
	assert_true(find_bytes(d + dev, length - dev, "\x08_UID\x00", 6) > 0);
}

/* ------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------ */

/** Too small a buffer, no CPU, too many CPUs, a base above 4 GiB: 0. */
static void test_acpi_refuses_what_does_not_fit(void **state)
{
	struct acpi_platform platform = { .cpu_count = 1, .pm_base = ACPI_PM_BASE };
	size_t needed;

	build(1);
	needed = used;
	assert_int_equal(acpi_build_tables(buffer, needed, T_BASE, &platform, &rsdp_gpa), needed);
	assert_int_equal(acpi_build_tables(buffer, needed - 1, T_BASE, &platform, &rsdp_gpa), 0);
	assert_int_equal(acpi_build_tables(buffer, 0, T_BASE, &platform, &rsdp_gpa), 0);
	assert_int_equal(acpi_build_tables(buffer, sizeof(buffer), 0x100000000ULL, &platform,
					   &rsdp_gpa), 0);
	assert_int_equal(acpi_build_tables(buffer, sizeof(buffer), 0xffffff00ULL, &platform,
					   &rsdp_gpa), 0);
	platform.cpu_count = 0;
	assert_int_equal(acpi_build_tables(buffer, sizeof(buffer), T_BASE, &platform, &rsdp_gpa), 0);
	platform.cpu_count = ACPI_TABLES_MAX_CPUS + 1;
	assert_int_equal(acpi_build_tables(buffer, sizeof(buffer), T_BASE, &platform, &rsdp_gpa), 0);
}

/* ------------------------------------------------------------------------
 * ACPICA's view (only where iasl is installed)
 * ------------------------------------------------------------------------ */

/** Writes the table at @gpa (its header's length) to @dir/@name. */
static void dump_table(const char *dir, const char *name, uint64_t gpa, size_t length)
{
	char path[512];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "wb");
	assert_non_null(file);
	assert_int_equal(fwrite(at(gpa, length), 1, length, file), length);
	assert_int_equal(fclose(file), 0);
}

/** True when the file @dir/@name contains @text. */
static bool file_contains(const char *dir, const char *name, const char *text)
{
	static char contents[256 * 1024];
	char path[512];
	FILE *file;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	file = fopen(path, "rb");
	if (file == NULL) {
		return false;
	}
	n = fread(contents, 1, sizeof(contents) - 1, file);
	fclose(file);
	contents[n] = '\0';
	return strstr(contents, text) != NULL;
}

/** Runs @command in @dir; its exit status. */
static int run_in(const char *dir, const char *command)
{
	char line[1024];

	snprintf(line, sizeof(line), "cd '%s' && %s", dir, command);
	return system(line);
}

/** Removes the scratch directory @dir and what it holds. */
static void remove_dir(const char *dir)
{
	char command[128];

	snprintf(command, sizeof(command), "rm -rf '%s'", dir);
	assert_int_equal(system(command), 0);
}

/** Dumps every table of a 4-CPU partition to @dir. */
static void dump_all_tables(const char *dir)
{
	const uint8_t *rsdp = at(rsdp_gpa, 36);
	const uint8_t *f = fadt();

	dump_table(dir, "rsdt.dat", le32(rsdp + 16), le32(at(le32(rsdp + 16), 8) + 4));
	dump_table(dir, "xsdt.dat", le64(rsdp + 24), le32(at(le64(rsdp + 24), 8) + 4));
	dump_table(dir, "facp.dat", xsdt_entry(0), le32(f + 4));
	dump_table(dir, "apic.dat", xsdt_entry(1), le32(madt() + 4));
	dump_table(dir, "dsdt.dat", le64(f + F_X_DSDT), le32(dsdt() + 4));
	dump_table(dir, "facs.dat", le64(f + F_X_FIRMWARE), 64);
}

/**
 * iasl -d disassembles every table without a warning (it checks
 * checksums, lengths and the AML), and the DSDT's disassembly compiles.
 */
static void test_acpi_iasl_accepts_tables(void **state)
{
	static const char *const names[] = { "rsdt", "xsdt", "facp", "apic", "dsdt", "facs" };
	char dir[] = "/tmp/tessera-acpi-XXXXXX";

	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		skip(); /* acpica-tools is not installed */
	}
	build(4);
	assert_non_null(mkdtemp(dir));
	dump_all_tables(dir);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char command[256];
		char log[64];

		snprintf(command, sizeof(command), "iasl -d %s.dat >%s.log 2>&1", names[i], names[i]);
		snprintf(log, sizeof(log), "%s.log", names[i]);
		assert_int_equal(run_in(dir, command), 0);
		assert_false(file_contains(dir, log, "Warning"));
		assert_false(file_contains(dir, log, "Error"));
		assert_false(file_contains(dir, log, "ncorrect"));
	}
	assert_true(file_contains(dir, "dsdt.dsl", "Name (\\_S5, Package (0x04)"));
	assert_true(file_contains(dir, "dsdt.dsl", "Device (PCI0)"));
	assert_true(file_contains(dir, "dsdt.dsl", "EisaId (\"PNP0A03\")"));
	assert_true(file_contains(dir, "apic.dsl", "Local Apic Address : FEE00000"));
	assert_true(file_contains(dir, "facp.dsl", "Address : 0000000000000CF9"));
	assert_int_equal(run_in(dir, "iasl -p recompiled dsdt.dsl >compile.log 2>&1"), 0);
	assert_true(file_contains(dir, "compile.log", "0 Errors, 0 Warnings"));
	remove_dir(dir);
}

/** Runs the ACPI table tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_rsdp_found_by_legacy_scan),
		cmocka_unit_test(test_acpi_rsdp_fields),
		cmocka_unit_test(test_acpi_rsdp_aligned_from_unaligned_base),
		cmocka_unit_test(test_acpi_root_tables_list_fadt_and_madt),
		cmocka_unit_test(test_acpi_tables_do_not_overlap),
		cmocka_unit_test(test_acpi_fadt_general_fields),
		cmocka_unit_test(test_acpi_fadt_pm_blocks),
		cmocka_unit_test(test_acpi_fadt_reset_register),
		cmocka_unit_test(test_acpi_fadt_dsdt_and_facs_pointers),
		cmocka_unit_test(test_acpi_facs),
		cmocka_unit_test(test_acpi_madt_one_cpu),
		cmocka_unit_test(test_acpi_madt_four_cpus),
		cmocka_unit_test(test_acpi_madt_max_cpus),
		cmocka_unit_test(test_acpi_dsdt_s5_package),
		cmocka_unit_test(test_acpi_dsdt_pci_root_bridge),
		cmocka_unit_test(test_acpi_refuses_what_does_not_fit),
		cmocka_unit_test(test_acpi_iasl_accepts_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
