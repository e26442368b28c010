/*
 * Builds a partition's ACPI tables (see acpi_tables.h). Layouts follow the
 * ACPI 6.0 specification, chapter 5.2; each table is assembled in its
 * packed structure, copied into the buffer, then checksummed in place.
 */
#include "hv/acpi_tables.h"
#include "hv/string.h"
#include "hv/vioapic.h"
#include "hv/vlapic.h"

#define OEM_ID          "TESSRA"   /* 6 characters */
#define OEM_TABLE_ID    "TESSERA " /* 8 characters */
#define OEM_REVISION    1
#define CREATOR_ID      "TSRA"
#define CREATOR_REVISION 1

/* Revisions of ACPI 6.0 (tables 5-27, 5-33, 5-43). */
#define RSDP_REVISION 2
#define RSDT_REVISION 1
#define XSDT_REVISION 1
#define FADT_REVISION 6
#define FADT_MINOR    0
#define MADT_REVISION 4
#define DSDT_REVISION 2 /* 2 and up: AML integers are 64 bits */
#define FACS_VERSION  2

/* Generic Address Structure (5.2.3.2). */
#define GAS_SYSTEM_IO   1
#define GAS_ACCESS_BYTE 1
#define GAS_ACCESS_WORD 2
#define GAS_ACCESS_DWORD 3

/* FADT fixed feature flags (table 5-35). */
#define FADT_WBINVD        BIT(0)
#define FADT_PROC_C1       BIT(2)
#define FADT_SLP_BUTTON    BIT(5)  /* no fixed-feature sleep button */
#define FADT_RESET_REG_SUP BIT(10)

/* IA-PC boot architecture flags (table 5-36). */
#define BOOT_LEGACY_DEVICES  BIT(0)
#define BOOT_VGA_NOT_PRESENT BIT(2)

/* C2/C3 latencies above these mean "not supported" (table 5-34). */
#define FADT_C2_NOT_SUPPORTED 101
#define FADT_C3_NOT_SUPPORTED 1001

/* MADT (5.2.12): flags and interrupt controller structure types. */
#define MADT_PCAT_COMPAT      BIT(0)
#define MADT_TYPE_LAPIC       0
#define MADT_TYPE_IOAPIC      1
#define MADT_TYPE_OVERRIDE    2
#define MADT_TYPE_LAPIC_NMI   4
#define MADT_LAPIC_ENABLED    BIT(0)
#define MADT_ALL_PROCESSORS   0xff
/* MPS INTI flags (table 5-50): polarity bits 1:0, trigger mode bits 3:2. */
#define INTI_ACTIVE_HIGH      0x1
#define INTI_EDGE             (0x1 << 2)
#define INTI_LEVEL            (0x3 << 2)
#define ISA_BUS               0
#define NMI_LINT              1

/* Alignments: the RSDP for the legacy scan (5.2.5.1), the FACS (5.2.10). */
#define RSDP_ALIGN  16
#define FACS_ALIGN  64
#define TABLE_ALIGN 16

/** The header every description table but the RSDP and FACS starts with. */
struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} PACKED;

/** Root System Description Pointer (5.2.5.3). */
struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;          /* over the first 20 bytes (ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
} PACKED;

/** Generic Address Structure (5.2.3.2). */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} PACKED;

/** Fixed ACPI Description Table, revision 6 (5.2.9, table 5-33). */
struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} PACKED;

/** Firmware ACPI Control Structure (5.2.10, table 5-37). */
struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} PACKED;

/** The fixed part of the MADT (5.2.12, table 5-43). */
struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} PACKED;

/** MADT Processor Local APIC structure (5.2.12.2). */
struct madt_lapic {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} PACKED;

/** MADT I/O APIC structure (5.2.12.3). */
struct madt_ioapic {
	uint8_t type;
	uint8_t length;
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} PACKED;

/** MADT Interrupt Source Override structure (5.2.12.5). */
struct madt_override {
	uint8_t type;
	uint8_t length;
	uint8_t bus;
	uint8_t source;
	uint32_t gsi;
	uint16_t flags;
} PACKED;

/** MADT Local APIC NMI structure (5.2.12.7). */
struct madt_lapic_nmi {
	uint8_t type;
	uint8_t length;
	uint8_t processor_uid;
	uint16_t flags;
	uint8_t lint;
} PACKED;

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT revision 6");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");
_Static_assert(sizeof(struct madt_lapic) == 8, "MADT local APIC");
_Static_assert(sizeof(struct madt_ioapic) == 12, "MADT I/O APIC");
_Static_assert(sizeof(struct madt_override) == 10, "MADT override");
_Static_assert(sizeof(struct madt_lapic_nmi) == 6, "MADT local APIC NMI");

/*
 * The DSDT's AML body (ACPI 6.0 chapter 20), assembled by hand. Its ASL:
 *
 *   Name (\_S5, Package (4) { 5, 5, 0, 0 })
 *   Scope (\_SB) {
 *       Device (PCI0) {
 *           Name (_HID, EisaId ("PNP0A03"))
 *           Name (_SEG, 0)
 *           Name (_BBN, 0)
 *           Name (_UID, 0)
 *       }
 *   }
 *
 * \_S5 gives SLP_TYP = ACPI_SLP_TYP_S5 for PM1a and PM1b: the OS powers off
 * by writing it with SLP_EN to PM1a_CNT. PCI0 has no _CRS on purpose: the
 * OS then gives the root bus all of I/O and memory space and bus numbers
 * 0-255, which fits a partition whose only PCI device is the host bridge
 * (no window to describe, nothing to allocate). A PkgLength below 64 is one
 * byte holding the length of the package including that byte (20.2.4).
 */
static const uint8_t dsdt_aml[] = {
	/* Name (\_S5, Package (4) { 5, 5, 0, 0 }) */
	0x08, '\\', '_', 'S', '5', '_',      /* NameOp, \_S5_ */
	0x12, 0x08, 0x04,                    /* PackageOp, PkgLength 8, 4 elements */
	0x0a, ACPI_SLP_TYP_S5,               /* BytePrefix 5: SLP_TYPa */
	0x0a, ACPI_SLP_TYP_S5,               /* BytePrefix 5: SLP_TYPb */
	0x00, 0x00,                          /* ZeroOp, ZeroOp: reserved */
	/* Scope (\_SB) { */
	0x10, 0x29, '\\', '_', 'S', 'B', '_', /* ScopeOp, PkgLength 41, \_SB_ */
	/* Device (PCI0) { */
	0x5b, 0x82, 0x21, 'P', 'C', 'I', '0', /* ExtOpPrefix DeviceOp, PkgLength 33 */
	0x08, '_', 'H', 'I', 'D',            /* Name (_HID, */
	0x0c, 0x41, 0xd0, 0x0a, 0x03,        /* DWordPrefix EisaId ("PNP0A03")) */
	0x08, '_', 'S', 'E', 'G', 0x00,      /* Name (_SEG, Zero) */
	0x08, '_', 'B', 'B', 'N', 0x00,      /* Name (_BBN, Zero) */
	0x08, '_', 'U', 'I', 'D', 0x00,      /* Name (_UID, Zero) */
	/* } } */
};

/** Where each table goes: byte offsets into the buffer. */
struct acpi_layout {
	size_t rsdp;
	size_t rsdt;
	size_t xsdt;
	size_t fadt;
	size_t facs;
	size_t madt;
	size_t madt_length;
	size_t dsdt;
	size_t end;
};

/** The number that makes a region's bytes sum to zero (5.2.5.3, 5.2.6). */
static uint8_t acpi_checksum(const uint8_t *bytes, size_t length)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < length; i++) {
		sum = (uint8_t)(sum + bytes[i]);
	}
	return (uint8_t)(0x100 - sum);
}

/** A table header; the checksum is left 0 for acpi_finish_table(). */
static struct acpi_header acpi_header_make(const char *signature, size_t length, uint8_t revision)
{
	struct acpi_header header = {
		.length = (uint32_t)length,
		.revision = revision,
		.oem_revision = OEM_REVISION,
		.creator_revision = CREATOR_REVISION,
	};

	memcpy(header.signature, signature, sizeof(header.signature));
	memcpy(header.oem_id, OEM_ID, sizeof(header.oem_id));
	memcpy(header.oem_table_id, OEM_TABLE_ID, sizeof(header.oem_table_id));
	memcpy(header.creator_id, CREATOR_ID, sizeof(header.creator_id));
	return header;
}

/** Sets the checksum of the table at @table (its header has the length). */
static void acpi_finish_table(uint8_t *table)
{
	struct acpi_header header;

	memcpy(&header, table, sizeof(header));
	table[offsetof(struct acpi_header, checksum)] = acpi_checksum(table, header.length);
}

/** A GAS for an I/O port register of @bits bits read with @access_size. */
static struct acpi_gas acpi_io_register(uint16_t port, uint8_t bits, uint8_t access_size)
{
	return (struct acpi_gas){
		.space_id = GAS_SYSTEM_IO,
		.bit_width = bits,
		.access_size = access_size,
		.address = port,
	};
}

/** The MADT's length for @cpus processors. */
static size_t acpi_madt_length(unsigned int cpus)
{
	return sizeof(struct acpi_madt) + cpus * sizeof(struct madt_lapic) +
	       sizeof(struct madt_ioapic) + 2 * sizeof(struct madt_override) +
	       sizeof(struct madt_lapic_nmi);
}

/** Places every table after the 16-byte aligned RSDP; the FACS 64-aligned. */
static void acpi_layout_plan(struct acpi_layout *l, uint64_t base, unsigned int cpus)
{
	size_t cursor;

	l->rsdp = (size_t)(ALIGN_UP(base, RSDP_ALIGN) - base);
	cursor = l->rsdp + sizeof(struct acpi_rsdp);
	l->facs = (size_t)(ALIGN_UP(base + cursor, FACS_ALIGN) - base);
	cursor = l->facs + sizeof(struct acpi_facs);
	l->fadt = cursor;
	cursor = (size_t)ALIGN_UP(cursor + sizeof(struct acpi_fadt), TABLE_ALIGN);
	l->madt = cursor;
	l->madt_length = acpi_madt_length(cpus);
	cursor = (size_t)ALIGN_UP(cursor + l->madt_length, TABLE_ALIGN);
	l->dsdt = cursor;
	cursor = (size_t)ALIGN_UP(cursor + sizeof(struct acpi_header) + sizeof(dsdt_aml), TABLE_ALIGN);
	l->rsdt = cursor;
	cursor = (size_t)ALIGN_UP(cursor + sizeof(struct acpi_header) + 2 * sizeof(uint32_t),
				  TABLE_ALIGN);
	l->xsdt = cursor;
	l->end = cursor + sizeof(struct acpi_header) + 2 * sizeof(uint64_t);
}

/** The RSDP: revision 2, pointing at both RSDT and XSDT, both checksums. */
static void acpi_build_rsdp(uint8_t *buffer, const struct acpi_layout *l, uint64_t base)
{
	struct acpi_rsdp rsdp = {
		.revision = RSDP_REVISION,
		.rsdt_address = (uint32_t)(base + l->rsdt),
		.length = sizeof(struct acpi_rsdp),
		.xsdt_address = base + l->xsdt,
	};
	uint8_t *out = buffer + l->rsdp;

	memcpy(rsdp.signature, "RSD PTR ", sizeof(rsdp.signature));
	memcpy(rsdp.oem_id, OEM_ID, sizeof(rsdp.oem_id));
	memcpy(out, &rsdp, sizeof(rsdp));
	out[offsetof(struct acpi_rsdp, checksum)] = acpi_checksum(out, 20);
	out[offsetof(struct acpi_rsdp, extended_checksum)] = acpi_checksum(out, sizeof(rsdp));
}

/** The RSDT and XSDT, each listing the FADT then the MADT. */
static void acpi_build_root_tables(uint8_t *buffer, const struct acpi_layout *l, uint64_t base)
{
	uint32_t rsdt_entries[2] = { (uint32_t)(base + l->fadt), (uint32_t)(base + l->madt) };
	uint64_t xsdt_entries[2] = { base + l->fadt, base + l->madt };
	struct acpi_header rsdt = acpi_header_make("RSDT", sizeof(rsdt) + sizeof(rsdt_entries),
						   RSDT_REVISION);
	struct acpi_header xsdt = acpi_header_make("XSDT", sizeof(xsdt) + sizeof(xsdt_entries),
						   XSDT_REVISION);

	memcpy(buffer + l->rsdt, &rsdt, sizeof(rsdt));
	memcpy(buffer + l->rsdt + sizeof(rsdt), rsdt_entries, sizeof(rsdt_entries));
	acpi_finish_table(buffer + l->rsdt);
	memcpy(buffer + l->xsdt, &xsdt, sizeof(xsdt));
	memcpy(buffer + l->xsdt + sizeof(xsdt), xsdt_entries, sizeof(xsdt_entries));
	acpi_finish_table(buffer + l->xsdt);
}

/**
 * The FADT's register blocks: PM1a event and control, the PM timer (no
 * PM1b, PM2 or GPE blocks), both as 32-bit port fields and as GAS.
 */
static void acpi_fadt_set_blocks(struct acpi_fadt *fadt, uint16_t pm_base)
{
	uint16_t evt = (uint16_t)(pm_base + (ACPI_PM1A_EVT - ACPI_PM_BASE));
	uint16_t cnt = (uint16_t)(pm_base + (ACPI_PM1A_CNT - ACPI_PM_BASE));
	uint16_t tmr = (uint16_t)(pm_base + (ACPI_PM_TMR - ACPI_PM_BASE));

	fadt->pm1a_evt_blk = evt;
	fadt->pm1a_cnt_blk = cnt;
	fadt->pm_tmr_blk = tmr;
	fadt->pm1_evt_len = ACPI_PM1_EVT_LEN;
	fadt->pm1_cnt_len = ACPI_PM1_CNT_LEN;
	fadt->pm_tmr_len = ACPI_PM_TMR_LEN;
	/* PM1 event = two 16-bit registers (status, enable): word accesses. */
	fadt->x_pm1a_evt_blk = acpi_io_register(evt, 8 * ACPI_PM1_EVT_LEN, GAS_ACCESS_WORD);
	fadt->x_pm1a_cnt_blk = acpi_io_register(cnt, 8 * ACPI_PM1_CNT_LEN, GAS_ACCESS_WORD);
	fadt->x_pm_tmr_blk = acpi_io_register(tmr, 8 * ACPI_PM_TMR_LEN, GAS_ACCESS_DWORD);
}

/**
 * The FADT. SMI_CMD 0 says the hardware is always in ACPI mode (5.2.9: no
 * SMI command port, ACPI_ENABLE/ACPI_DISABLE unused), so the OS never tries
 * to switch modes; SCI_EN reads 1 to match. IAPC_BOOT_ARCH: legacy devices
 * (the ISA-style COM1) present, no 8042 (only its reset pulse on port 0x64
 * is emulated, which needs no flag), no VGA. Flags: WBINVD works, C1 (HLT)
 * on every processor, no fixed sleep button (the power button is a fixed
 * feature, PWRBTN in PM1), the reset register is supported.
 */
static void acpi_build_fadt(uint8_t *buffer, const struct acpi_layout *l, uint64_t base,
			    uint16_t pm_base)
{
	struct acpi_fadt fadt = {
		.header = acpi_header_make("FACP", sizeof(fadt), FADT_REVISION),
		.firmware_ctrl = (uint32_t)(base + l->facs),
		.dsdt = (uint32_t)(base + l->dsdt),
		.sci_int = ACPI_SCI_IRQ,
		.p_lvl2_lat = FADT_C2_NOT_SUPPORTED,
		.p_lvl3_lat = FADT_C3_NOT_SUPPORTED,
		.iapc_boot_arch = BOOT_LEGACY_DEVICES | BOOT_VGA_NOT_PRESENT,
		.flags = FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_RESET_REG_SUP,
		.reset_reg = acpi_io_register(ACPI_RESET_PORT, 8, GAS_ACCESS_BYTE),
		.reset_value = ACPI_RESET_VALUE,
		.minor_version = FADT_MINOR,
		.x_firmware_ctrl = base + l->facs,
		.x_dsdt = base + l->dsdt,
	};

	acpi_fadt_set_blocks(&fadt, pm_base);
	memcpy(buffer + l->fadt, &fadt, sizeof(fadt));
	acpi_finish_table(buffer + l->fadt);
}

/** The FACS: no S4BIOS, no waking vector yet (the FACS has no checksum). */
static void acpi_build_facs(uint8_t *buffer, const struct acpi_layout *l)
{
	struct acpi_facs facs = {
		.length = sizeof(facs),
		.version = FACS_VERSION,
	};

	memcpy(facs.signature, "FACS", sizeof(facs.signature));
	memcpy(buffer + l->facs, &facs, sizeof(facs));
}

/** Appends @size bytes at *@cursor and advances it. */
static void acpi_append(uint8_t *buffer, size_t *cursor, const void *entry, size_t size)
{
	memcpy(buffer + *cursor, entry, size);
	*cursor += size;
}

/**
 * The MADT's entries after the processors: the I/O APIC (GSIs 0-23), ISA
 * IRQ 0 (the PIT) on GSI 2 edge/high as on every PC, ISA IRQ 9 (the SCI)
 * level/active-high, and LINT1 of every processor as NMI.
 */
static void acpi_madt_append_interrupts(uint8_t *buffer, size_t *cursor)
{
	struct madt_ioapic ioapic = { MADT_TYPE_IOAPIC, sizeof(ioapic), VIOAPIC_ID, 0,
				      (uint32_t)VIOAPIC_BASE, 0 };
	struct madt_override pit = { MADT_TYPE_OVERRIDE, sizeof(pit), ISA_BUS, ACPI_PIT_IRQ, ACPI_PIT_GSI,
				     INTI_ACTIVE_HIGH | INTI_EDGE };
	struct madt_override sci = { MADT_TYPE_OVERRIDE, sizeof(sci), ISA_BUS, ACPI_SCI_IRQ,
				     ACPI_SCI_IRQ, INTI_ACTIVE_HIGH | INTI_LEVEL };
	struct madt_lapic_nmi nmi = { MADT_TYPE_LAPIC_NMI, sizeof(nmi), MADT_ALL_PROCESSORS,
				      INTI_ACTIVE_HIGH | INTI_EDGE, NMI_LINT };

	acpi_append(buffer, cursor, &ioapic, sizeof(ioapic));
	acpi_append(buffer, cursor, &pit, sizeof(pit));
	acpi_append(buffer, cursor, &sci, sizeof(sci));
	acpi_append(buffer, cursor, &nmi, sizeof(nmi));
}

/**
 * The MADT: the local APIC address, PC-AT compatible 8259s present, one
 * enabled local APIC per vCPU (processor UID = APIC ID = index).
 */
static void acpi_build_madt(uint8_t *buffer, const struct acpi_layout *l, unsigned int cpus)
{
	struct acpi_madt madt = {
		.header = acpi_header_make("APIC", l->madt_length, MADT_REVISION),
		.lapic_address = (uint32_t)VLAPIC_DEFAULT_BASE,
		.flags = MADT_PCAT_COMPAT,
	};
	size_t cursor = l->madt;

	acpi_append(buffer, &cursor, &madt, sizeof(madt));
	for (unsigned int cpu = 0; cpu < cpus; cpu++) {
		struct madt_lapic lapic = { MADT_TYPE_LAPIC, sizeof(lapic), (uint8_t)cpu,
					    (uint8_t)cpu, MADT_LAPIC_ENABLED };

		acpi_append(buffer, &cursor, &lapic, sizeof(lapic));
	}
	acpi_madt_append_interrupts(buffer, &cursor);
	acpi_finish_table(buffer + l->madt);
}

/** The DSDT: the header and the hand-assembled AML. */
static void acpi_build_dsdt(uint8_t *buffer, const struct acpi_layout *l)
{
	struct acpi_header dsdt = acpi_header_make("DSDT", sizeof(dsdt) + sizeof(dsdt_aml),
						   DSDT_REVISION);

	memcpy(buffer + l->dsdt, &dsdt, sizeof(dsdt));
	memcpy(buffer + l->dsdt + sizeof(dsdt), dsdt_aml, sizeof(dsdt_aml));
	acpi_finish_table(buffer + l->dsdt);
}

/** Builds the tables into @buffer for guest-physical @base (acpi_tables.h). */
size_t acpi_build_tables(uint8_t *buffer, size_t buffer_size, uint64_t base,
			 const struct acpi_platform *platform, uint64_t *rsdp_gpa)
{
	struct acpi_layout layout;

	if (platform->cpu_count == 0 || platform->cpu_count > ACPI_TABLES_MAX_CPUS ||
	    base >= BIT(32)) {
		return 0;
	}
	acpi_layout_plan(&layout, base, platform->cpu_count);
	if (layout.end > buffer_size || base + layout.end > BIT(32)) {
		return 0;
	}
	memset(buffer, 0, layout.end);
	acpi_build_rsdp(buffer, &layout, base);
	acpi_build_root_tables(buffer, &layout, base);
	acpi_build_fadt(buffer, &layout, base, platform->pm_base);
	acpi_build_facs(buffer, &layout);
	acpi_build_madt(buffer, &layout, platform->cpu_count);
	acpi_build_dsdt(buffer, &layout);
	*rsdp_gpa = base + layout.rsdp;
	return layout.end;
}
