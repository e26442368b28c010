/*
 * Reading the firmware's ACPI tables (see acpi.h). Section numbers are those
 * of the ACPI 6.0 specification. Every table is checked before it is
 * believed: signature, a plausible length, and a checksum over that length.
 */
#include "arch/x86/acpi.h"
#include "hv/phys.h"
#include "hv/string.h"

/* The longest table believed: a DSDT is tens of KiB, a corrupt length is not. */
#define ACPI_TABLE_MAX MiB(1)

/* System description table header (5.2.6). */
#define SDT_HEADER_SIZE 36
#define SDT_LENGTH      4

/* Root System Description Pointer (5.2.5.3). */
#define RSDP_CHECKSUM_SIZE      20 /* ACPI 1.0 part */
#define RSDP_REVISION           15
#define RSDP_RSDT_ADDRESS       16
#define RSDP_XSDT_ADDRESS       24
#define RSDP_EXTENDED_SIZE      36

/* Fixed ACPI Description Table fields (5.2.9, Table 5-34). */
#define FADT_DSDT               40
#define FADT_SMI_CMD            48
#define FADT_ACPI_ENABLE        52
#define FADT_PM1A_CNT_BLK       64
#define FADT_PM1B_CNT_BLK       68
#define FADT_FLAGS              112
#define FADT_RESET_REG          116
#define FADT_RESET_VALUE        128
#define FADT_X_DSDT             140
#define FADT_X_PM1A_CNT_BLK     172
#define FADT_X_PM1B_CNT_BLK     184
#define FADT_FLAG_RESET_REG_SUP BIT(10)
#define FADT_FLAG_HW_REDUCED    BIT(20)

/* Generic Address Structure (5.2.3.2): space, width, offset, access size, address. */
#define GAS_SIZE    12
#define GAS_ADDRESS 4

/* Multiple APIC Description Table (5.2.12). */
#define MADT_ENTRIES         44
#define MADT_LOCAL_APIC      0  /* Processor Local APIC (5.2.12.2) */
#define MADT_LOCAL_X2APIC    9  /* Processor Local x2APIC (5.2.12.12) */
#define MADT_ENABLED         BIT(0)

/* AML encodings (20.2) needed to read a Name(_S5, Package() {...}). */
#define AML_ZERO_OP   0x00
#define AML_ONE_OP    0x01
#define AML_NAME_OP   0x08
#define AML_BYTE_PREFIX  0x0a
#define AML_WORD_PREFIX  0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_PACKAGE_OP   0x12
#define AML_ROOT_CHAR    0x5c /* '\' */
#define AML_ONES_OP   0xff

/** @bytes little-endian bytes at @at as a number. */
static uint64_t read_le(const uint8_t *at, size_t bytes)
{
	uint64_t value = 0;

	for (size_t i = bytes; i > 0; i--) {
		value = (value << 8) | at[i - 1];
	}
	return value;
}

/** Whether @length bytes at @at sum to 0 modulo 256, as every ACPI checksum makes them. */
static bool checksum_ok(const uint8_t *at, size_t length)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < length; i++) {
		sum = (uint8_t)(sum + at[i]);
	}
	return sum == 0;
}

/** The table at @address if it has @signature and is whole; NULL otherwise. */
static const uint8_t *acpi_table(uint64_t address, const char *signature, uint32_t *length)
{
	const uint8_t *table;
	uint64_t size;

	if (address == 0) {
		return NULL;
	}
	table = hpa_to_ptr(hpa_init(address));
	if (memcmp(table, signature, 4) != 0) {
		return NULL;
	}
	size = read_le(table + SDT_LENGTH, 4);
	if (size < SDT_HEADER_SIZE || size > ACPI_TABLE_MAX || !checksum_ok(table, size)) {
		return NULL;
	}
	*length = (uint32_t)size;
	return table;
}

/** The root table the RSDP names: the XSDT when it has a valid one, else the RSDT. */
static const uint8_t *acpi_root(uint64_t rsdp, uint32_t *length, size_t *entry_size)
{
	const uint8_t *pointer;

	if (rsdp == 0) {
		return NULL;
	}
	pointer = hpa_to_ptr(hpa_init(rsdp));
	if (memcmp(pointer, "RSD PTR ", 8) != 0 || !checksum_ok(pointer, RSDP_CHECKSUM_SIZE)) {
		return NULL;
	}
	if (pointer[RSDP_REVISION] >= 2 && checksum_ok(pointer, RSDP_EXTENDED_SIZE)) {
		const uint8_t *root = acpi_table(read_le(pointer + RSDP_XSDT_ADDRESS, 8), "XSDT", length);
		if (root != NULL) {
			*entry_size = 8;
			return root;
		}
	}
	*entry_size = 4;
	return acpi_table(read_le(pointer + RSDP_RSDT_ADDRESS, 4), "RSDT", length);
}

/** The first table with @signature the root table lists; NULL if none. */
static const uint8_t *acpi_find_table(uint64_t rsdp, const char *signature, uint32_t *length)
{
	size_t entry_size = 0;
	uint32_t root_length = 0;
	const uint8_t *root = acpi_root(rsdp, &root_length, &entry_size);

	if (root == NULL) {
		return NULL;
	}
	for (size_t at = SDT_HEADER_SIZE; at + entry_size <= root_length; at += entry_size) {
		const uint8_t *table = acpi_table(read_le(root + at, entry_size), signature, length);

		if (table != NULL) {
			return table;
		}
	}
	return NULL;
}

/** Finds the reset register; false when the FADT offers none. */
bool acpi_find_reset(uint64_t rsdp, struct acpi_reset *out)
{
	uint32_t length = 0;
	const uint8_t *fadt = acpi_find_table(rsdp, "FACP", &length);
	uint8_t space;
	uint64_t address;

	/* RESET_REG and RESET_VALUE came with ACPI 2.0: older FADTs are shorter. */
	if (fadt == NULL || length <= FADT_RESET_VALUE ||
	    (read_le(fadt + FADT_FLAGS, 4) & FADT_FLAG_RESET_REG_SUP) == 0) {
		return false;
	}
	space = fadt[FADT_RESET_REG];
	address = read_le(fadt + FADT_RESET_REG + GAS_ADDRESS, 8);
	if (address == 0 || (space != ACPI_SPACE_MEMORY && space != ACPI_SPACE_IO &&
			     space != ACPI_SPACE_PCI)) {
		return false;
	}
	if (space == ACPI_SPACE_IO && address > 0xffff) {
		return false;
	}
	*out = (struct acpi_reset){ .space = space, .address = address,
				    .value = fadt[FADT_RESET_VALUE] };
	return true;
}

/**
 * An I/O port from the FADT: the 64-bit GAS at @gas_offset when the table is
 * long enough and it names one, else the 32-bit block address at @legacy_offset.
 */
static uint64_t fadt_port(const uint8_t *fadt, uint32_t length, size_t gas_offset,
			  size_t legacy_offset)
{
	if (length >= gas_offset + GAS_SIZE && fadt[gas_offset] == ACPI_SPACE_IO) {
		uint64_t address = read_le(fadt + gas_offset + GAS_ADDRESS, 8);

		if (address != 0) {
			return address;
		}
	}
	return read_le(fadt + legacy_offset, 4);
}

/** Reads one AML integer object at aml[*at]; false if there is none. */
static bool aml_integer(const uint8_t *aml, size_t length, size_t *at, uint64_t *value)
{
	static const struct {
		uint8_t prefix;
		uint8_t bytes;
	} prefixes[] = {
		{ AML_BYTE_PREFIX, 1 }, { AML_WORD_PREFIX, 2 }, { AML_DWORD_PREFIX, 4 },
	};
	uint8_t op;

	if (*at >= length) {
		return false;
	}
	op = aml[(*at)++];
	if (op == AML_ZERO_OP || op == AML_ONE_OP || op == AML_ONES_OP) {
		*value = op == AML_ONES_OP ? UINT64_MAX : op;
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++) {
		if (op == prefixes[i].prefix && *at + prefixes[i].bytes <= length) {
			*value = read_le(aml + *at, prefixes[i].bytes);
			*at += prefixes[i].bytes;
			return true;
		}
	}
	return false;
}

/**
 * Reads "Package (n) { SLP_TYPa, SLP_TYPb, ... }" at aml[at] (20.2.5.4: the
 * PackageOp, a PkgLength of 1-4 bytes, the element count, the elements).
 */
static bool aml_sleep_package(const uint8_t *aml, size_t length, size_t at, uint8_t *a, uint8_t *b)
{
	uint64_t first;
	uint64_t second;
	unsigned int elements;

	if (at + 3 > length || aml[at] != AML_PACKAGE_OP) {
		return false;
	}
	at += 2 + (aml[at + 1] >> 6); /* PkgLength's lead byte says how many bytes follow */
	if (at >= length) {
		return false;
	}
	elements = aml[at++];
	if (elements < 1 || !aml_integer(aml, length, &at, &first)) {
		return false;
	}
	second = first;
	if (elements >= 2 && !aml_integer(aml, length, &at, &second)) {
		return false;
	}
	/* SLP_TYP is a 3-bit field of PM1 control (4.8.3.2.1). */
	if (first > 7 || second > 7) {
		return false;
	}
	*a = (uint8_t)first;
	*b = (uint8_t)second;
	return true;
}

/** Finds Name(_S5, Package...) in the AML of a DSDT; false if it has none. */
static bool aml_find_s5(const uint8_t *aml, size_t length, uint8_t *a, uint8_t *b)
{
	for (size_t i = 1; i + 4 <= length; i++) {
		bool named = aml[i - 1] == AML_NAME_OP ||
			     (i >= 2 && aml[i - 1] == AML_ROOT_CHAR && aml[i - 2] == AML_NAME_OP);

		if (named && memcmp(aml + i, "_S5_", 4) == 0 &&
		    aml_sleep_package(aml, length, i + 4, a, b)) {
			return true;
		}
	}
	return false;
}

/** The DSDT the FADT names: X_DSDT when the table has it and it is set, else DSDT. */
static const uint8_t *fadt_dsdt(const uint8_t *fadt, uint32_t fadt_length, uint32_t *length)
{
	const uint8_t *dsdt = NULL;

	if (fadt_length >= FADT_X_DSDT + 8) {
		dsdt = acpi_table(read_le(fadt + FADT_X_DSDT, 8), "DSDT", length);
	}
	return dsdt != NULL ? dsdt : acpi_table(read_le(fadt + FADT_DSDT, 4), "DSDT", length);
}

/** Finds what soft off needs; false with the reason when the tables do not say. */
bool acpi_find_soft_off(uint64_t rsdp, struct acpi_soft_off *out, const char **problem)
{
	uint32_t length = 0;
	uint32_t dsdt_length = 0;
	const uint8_t *fadt = acpi_find_table(rsdp, "FACP", &length);
	const uint8_t *dsdt;
	uint64_t pm1a;
	uint64_t pm1b;

	if (fadt == NULL || length < FADT_FLAGS + 4) {
		*problem = "the firmware's ACPI tables have no usable FADT";
		return false;
	}
	if (read_le(fadt + FADT_FLAGS, 4) & FADT_FLAG_HW_REDUCED) {
		*problem = "hardware-reduced ACPI (a sleep control register) is not supported";
		return false;
	}
	pm1a = fadt_port(fadt, length, FADT_X_PM1A_CNT_BLK, FADT_PM1A_CNT_BLK);
	pm1b = fadt_port(fadt, length, FADT_X_PM1B_CNT_BLK, FADT_PM1B_CNT_BLK);
	if (pm1a == 0 || pm1a > 0xffff || pm1b > 0xffff) {
		*problem = "the FADT names no PM1a control port";
		return false;
	}
	dsdt = fadt_dsdt(fadt, length, &dsdt_length);
	*out = (struct acpi_soft_off){ .pm1a_control = (uint16_t)pm1a, .pm1b_control = (uint16_t)pm1b };
	if (dsdt == NULL || !aml_find_s5(dsdt + SDT_HEADER_SIZE, dsdt_length - SDT_HEADER_SIZE,
					  &out->slp_typ_a, &out->slp_typ_b)) {
		*problem = "the firmware's DSDT has no \\_S5 sleep type";
		return false;
	}
	if (read_le(fadt + FADT_SMI_CMD, 4) <= 0xffff) {
		out->smi_command = (uint16_t)read_le(fadt + FADT_SMI_CMD, 4);
		out->acpi_enable = fadt[FADT_ACPI_ENABLE];
	}
	return true;
}

/** Adds @id to ids[] unless it is there already or ids[] is full; returns the new count. */
static unsigned int add_apic_id(uint32_t *ids, unsigned int count, unsigned int max, uint32_t id)
{
	for (unsigned int i = 0; i < count; i++) {
		if (ids[i] == id) {
			return count;
		}
	}
	if (count < max) {
		ids[count++] = id;
	}
	return count;
}

/** Writes the APIC IDs of the enabled processors the MADT lists; returns how many it wrote. */
unsigned int acpi_cpu_apic_ids(uint64_t rsdp, uint32_t *ids, unsigned int max)
{
	uint32_t length = 0;
	const uint8_t *madt = acpi_find_table(rsdp, "APIC", &length);
	unsigned int count = 0;

	if (madt == NULL) {
		return 0;
	}
	for (size_t at = MADT_ENTRIES; at + 2 <= length;) {
		const uint8_t *entry = madt + at;
		uint8_t entry_length = entry[1];

		if (entry_length < 2 || at + entry_length > length) {
			break; /* a broken entry: nothing after it can be trusted */
		}
		if (entry[0] == MADT_LOCAL_APIC && entry_length >= 8 &&
		    (read_le(entry + 4, 4) & MADT_ENABLED)) {
			count = add_apic_id(ids, count, max, entry[3]);
		} else if (entry[0] == MADT_LOCAL_X2APIC && entry_length >= 16 &&
			   (read_le(entry + 8, 4) & MADT_ENABLED)) {
			count = add_apic_id(ids, count, max, (uint32_t)read_le(entry + 4, 4));
		}
		at += entry_length;
	}
	return count;
}
