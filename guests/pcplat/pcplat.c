/*
 * pcplat: checks from inside a guest that Tessera gives a partition a PC
 * platform (hv/platform.h) wired as a PC wires it:
 *
 *  - the 8259 pair programmed with ICW1-ICW4 (vector base 0x20/0x28) and
 *    the 8254 channel 0 in mode 2 at about 1 kHz: IRQ0 reaches the CPU
 *    through the master PIC and LINT0 in ExtINT mode, waking HLT;
 *  - then, the PIC masked, IRQ0 through the I/O APIC's pin 2 (the MADT's
 *    override) with vector 0x30, ended by a local APIC EOI;
 *  - the RTC's date (BCD, 24-hour, as a BIOS leaves it) and the CMOS
 *    memory-size fields for this partition's RAM;
 *  - the PCI host bridge 00:00.0 through 0xCF8/0xCFC;
 *  - the ACPI tables: the RSDP found through the EBDA pointer at 0x40E,
 *    the FADT's PM1a control block, PM timer and reset register;
 *  - the PM timer counting;
 * and finally powers off through PM1a_CNT (SLP_TYP = S5, SLP_EN), which
 * Tessera reports as "powered off by the guest".
 *
 * The tick windows are timed by the local APIC's one-shot timer, which
 * counts at the TSC rate (CPUID 0x40000010), so a HLT never waits forever.
 * Each check prints "ok: ..." or "FAILED: ...: expected X, got Y"; with a
 * failure the guest stops with the number of failures instead of powering
 * off.
 */
#include "arch/x86/cmos.h"
#include "guests/common/check.h"
#include "guests/common/descriptors.h"
#include "guests/common/guest.h"
#include "guests/common/interrupt_stubs.h"
#include "hv/acpi_tables.h"

/* 8259A ports and commands (8259A data sheet). */
#define PIC_MASTER_CMD  0x20
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_CMD   0xa0
#define PIC_SLAVE_DATA  0xa1
#define ICW1_INIT_ICW4  0x11
#define ICW3_MASTER     0x04 /* slave on IR2 */
#define ICW3_SLAVE      0x02 /* cascade ID 2 */
#define ICW4_8086       0x01
#define OCW2_EOI        0x20
#define OCW3_READ_ISR   0x0b
#define PIC_ONLY_IRQ0   0xfe
#define PIC_ALL_MASKED  0xff

/* Vectors. */
#define VEC_PIC_BASE    0x20
#define VEC_PIC_SLAVE   0x28
#define VEC_PIC_IRQ0    VEC_PIC_BASE
#define VEC_PIC_SPURIOUS (VEC_PIC_BASE + 7)
#define VEC_IOAPIC_IRQ0 0x30
#define VEC_WINDOW_END  0x40
#define VEC_APIC_SPURIOUS 0xff

/* 8254: channel 0, lobyte/hibyte, mode 2; 1193 input clocks: 1000.15 Hz. */
#define PIT_CHANNEL0   0x40
#define PIT_CONTROL    0x43
#define PIT_CH0_MODE2  0x34
#define PIT_LATCH_1KHZ 1193

/* Local APIC (SDM Table 11-1). */
#define APIC_BASE_ADDRESS 0xfee00000U
#define APIC_EOI          0x0b0
#define APIC_SVR          0x0f0
#define APIC_LVT_TIMER    0x320
#define APIC_LVT_LINT0    0x350
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_DIVIDE 0x3e0
#define SVR_ENABLED       0x1ff
#define LVT_EXTINT        0x700
#define LVT_MASKED        0x10000
#define DIVIDE_BY_1       0xb

/* I/O APIC (82093AA): window at its MADT address, redirection entries from 0x10. */
#define IOAPIC_BASE       0xfec00000U
#define IOAPIC_IOREGSEL   0x00
#define IOAPIC_IOWIN      0x10
#define IOAPIC_VERSION    0x01
#define IOAPIC_VERSION_EXPECTED 0x00170020U
#define IOAPIC_REDIR(pin) (0x10 + 2 * (pin))
#define IOAPIC_PIT_PIN    2
#define RTE_MASKED        0x10000U

/* RTC register B as a PC BIOS leaves it: 24-hour, BCD, no interrupts. */
#define RTC_B_BIOS RTC_B_24_HOUR

/* PCI configuration mechanism #1 and the host bridge Tessera shows. */
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_ENABLE         0x80000000U
#define HOST_BRIDGE_ID     0x29c08086U /* device 29C0, vendor 8086 */

/* ACPI: the BDA's EBDA segment, the tables' fields (ACPI 6.0, 5.2.5.3, 5.2.9). */
#define BDA_EBDA_SEGMENT  0x40e
#define EBDA_SCAN_BYTES   1024
#define RSDP_CHECKSUM_LEN 20
#define RSDP_RSDT_OFFSET  16
#define SDT_LENGTH_OFFSET 4
#define SDT_HEADER_LEN    36
#define FADT_PM1A_CNT_BLK 64
#define FADT_PM_TMR_BLK   76
#define FADT_RESET_REG_ADDRESS 120 /* RESET_REG (a GAS at 116): its address */
#define FADT_RESET_VALUE  128

/* How long each tick window lasts, and what it must see at 1 kHz. */
#define WINDOW_MS         20U
#define MIN_TICKS         5U
#define MAX_TICKS         (WINDOW_MS + 2U)

static struct idt_gate idt[INTERRUPT_VECTORS] ALIGNED(8);

/* Interrupts seen, per source. */
static volatile uint32_t pic_ticks;
static volatile uint32_t ioapic_ticks;
static volatile uint32_t spurious_count;
static volatile uint32_t other_vector;
static volatile bool window_over;

static uint32_t tsc_khz;

/*
 * Guest-physical accesses go through asm: paging is off, so an address is
 * physical, and the compiler must neither assume anything about an integer
 * turned pointer (a constant like 0x40e looks out of bounds to it) nor
 * merge or drop device accesses.
 */

/** A 32-bit read of guest-physical memory or a device register. */
static uint32_t phys_read32(uint32_t address)
{
	uint32_t value;

	__asm__ volatile("movl (%1), %0" : "=r"(value) : "r"(address) : "memory");
	return value;
}

/** A 32-bit write of guest-physical memory or a device register. */
static void phys_write32(uint32_t address, uint32_t value)
{
	__asm__ volatile("movl %1, (%0)" : : "r"(address), "r"(value) : "memory");
}

/** A byte of guest-physical memory. */
static uint8_t phys_read8(uint32_t address)
{
	uint32_t value;

	__asm__ volatile("movzbl (%1), %0" : "=r"(value) : "r"(address) : "memory");
	return (uint8_t)value;
}

/** Whether the @length bytes at guest-physical @address are @expected. */
static bool phys_equal(uint32_t address, const char *expected, uint32_t length)
{
	for (uint32_t i = 0; i < length; i++) {
		if (phys_read8(address + i) != (uint8_t)expected[i]) {
			return false;
		}
	}
	return true;
}

/** A local APIC register write. */
static void apic_write(uint32_t offset, uint32_t value)
{
	phys_write32(APIC_BASE_ADDRESS + offset, value);
}

/** A local APIC register read. */
static uint32_t apic_read(uint32_t offset)
{
	return phys_read32(APIC_BASE_ADDRESS + offset);
}

/** An I/O APIC register through IOREGSEL/IOWIN. */
static uint32_t ioapic_read(uint32_t index)
{
	phys_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, index);
	return phys_read32(IOAPIC_BASE + IOAPIC_IOWIN);
}

/** Writes an I/O APIC register through IOREGSEL/IOWIN. */
static void ioapic_write(uint32_t index, uint32_t value)
{
	phys_write32(IOAPIC_BASE + IOAPIC_IOREGSEL, index);
	phys_write32(IOAPIC_BASE + IOAPIC_IOWIN, value);
}

/** A CMOS byte. */
static uint8_t cmos_read(uint8_t index)
{
	port_write8(CMOS_INDEX_PORT, index);
	return port_read8(CMOS_DATA_PORT);
}

/**
 * Every interrupt and exception (called by vectors.S with IF = 0). The
 * PIC's IRQ0 ends with an EOI to the master PIC (an ExtINT does not enter
 * the local APIC's ISR); the APIC's own vectors with an APIC EOI.
 */
void interrupt_dispatch(struct interrupt_frame *frame)
{
	switch (frame->vector) {
	case VEC_PIC_IRQ0:
		pic_ticks++;
		port_write8(PIC_MASTER_CMD, OCW2_EOI);
		return;
	case VEC_PIC_SPURIOUS:
	case VEC_APIC_SPURIOUS:
		spurious_count++;
		return;
	case VEC_IOAPIC_IRQ0:
		ioapic_ticks++;
		apic_write(APIC_EOI, 0);
		return;
	case VEC_WINDOW_END:
		window_over = true;
		apic_write(APIC_EOI, 0);
		return;
	default:
		break;
	}
	if (frame->vector < FIRST_EXTERNAL) {
		check_fail_unexpected_exception(frame->vector, frame->error_code, frame->eip);
	}
	other_vector = frame->vector;
}

/**
 * Halts with interrupts on until the local APIC's one-shot timer ends a
 * window of WINDOW_MS (at the TSC rate, divide by 1), counting whatever
 * the handlers count meanwhile.
 */
static void halt_for_window(void)
{
	window_over = false;
	apic_write(APIC_TIMER_INITIAL, tsc_khz * WINDOW_MS);
	while (!window_over) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/** The 8259 pair: ICW1-ICW4 as a PC BIOS programs them, only IRQ0 unmasked. */
static void program_pics(void)
{
	port_write8(PIC_MASTER_CMD, ICW1_INIT_ICW4);
	port_write8(PIC_MASTER_DATA, VEC_PIC_BASE);
	port_write8(PIC_MASTER_DATA, ICW3_MASTER);
	port_write8(PIC_MASTER_DATA, ICW4_8086);
	port_write8(PIC_SLAVE_CMD, ICW1_INIT_ICW4);
	port_write8(PIC_SLAVE_DATA, VEC_PIC_SLAVE);
	port_write8(PIC_SLAVE_DATA, ICW3_SLAVE);
	port_write8(PIC_SLAVE_DATA, ICW4_8086);
	port_write8(PIC_MASTER_DATA, PIC_ONLY_IRQ0);
	port_write8(PIC_SLAVE_DATA, PIC_ALL_MASKED);
	check_u32("8259 master IMR reads back 0xfe (only IRQ0 open)", port_read8(PIC_MASTER_DATA),
		  PIC_ONLY_IRQ0);
}

/** The local APIC: software-enabled, LINT0 in ExtINT mode, the window timer one-shot. */
static void program_lapic(void)
{
	struct cpuid_result timing = cpuid(0x40000010);

	tsc_khz = timing.ebx != 0 ? timing.ebx : 1;
	apic_write(APIC_SVR, SVR_ENABLED);
	apic_write(APIC_LVT_LINT0, LVT_EXTINT);
	apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
	apic_write(APIC_LVT_TIMER, VEC_WINDOW_END);
	check_u32("LVT LINT0 = ExtINT (0x700) reads back", apic_read(APIC_LVT_LINT0), LVT_EXTINT);
}

/** IRQ0 from the PIT through the master 8259 and LINT0, woken from HLT. */
static void check_pit_through_pic(void)
{
	program_pics();
	program_lapic();
	port_write8(PIT_CONTROL, PIT_CH0_MODE2);
	port_write8(PIT_CHANNEL0, PIT_LATCH_1KHZ & 0xff);
	port_write8(PIT_CHANNEL0, PIT_LATCH_1KHZ >> 8);
	halt_for_window();
	guest_printf("note: %u PIC ticks in %u ms\n", pic_ticks, WINDOW_MS);
	check_within("PIT mode 2 at 1 kHz: IRQ0 through the 8259 and LINT0 ExtINT wakes HLT "
		     "(5 or more ticks in 20 ms, at most 22)", pic_ticks, MIN_TICKS, MAX_TICKS);
	port_write8(PIC_MASTER_CMD, OCW3_READ_ISR);
	check_u32("8259 master ISR is empty after each EOI", port_read8(PIC_MASTER_CMD), 0);
}

/** With the PIC masked, IRQ0 through the I/O APIC's pin 2 as vector 0x30. */
static void check_pit_through_ioapic(void)
{
	uint32_t pic_before;

	port_write8(PIC_MASTER_DATA, PIC_ALL_MASKED);
	pic_before = pic_ticks;
	check_u32("I/O APIC version register reads 0x00170020 (24 entries, version 0x20)",
		  ioapic_read(IOAPIC_VERSION), IOAPIC_VERSION_EXPECTED);
	check_u32("I/O APIC pin 2 is masked after reset",
		  ioapic_read(IOAPIC_REDIR(IOAPIC_PIT_PIN)) & RTE_MASKED, RTE_MASKED);
	ioapic_write(IOAPIC_REDIR(IOAPIC_PIT_PIN) + 1, 0); /* destination APIC ID 0 */
	ioapic_write(IOAPIC_REDIR(IOAPIC_PIT_PIN), VEC_IOAPIC_IRQ0); /* fixed, edge, high */
	halt_for_window();
	guest_printf("note: %u I/O APIC ticks in %u ms\n", ioapic_ticks, WINDOW_MS);
	check_within("IRQ0 through I/O APIC pin 2 (GSI 2), vector 0x30 "
		     "(5 or more ticks in 20 ms, at most 22)", ioapic_ticks, MIN_TICKS, MAX_TICKS);
	check_u32("no PIC tick once the 8259 is masked", pic_ticks, pic_before);
	check_u32("no spurious or unexpected vector", spurious_count | other_vector, 0);
	ioapic_write(IOAPIC_REDIR(IOAPIC_PIT_PIN), RTE_MASKED);
}

/** Whether @byte is two BCD digits within [@low, @high]. */
static bool bcd_within(uint8_t byte, uint8_t low, uint8_t high)
{
	return (byte & 0x0f) <= 9 && (byte >> 4) <= 9 && byte >= low && byte <= high;
}

/** The RTC's date and time: BCD, 24-hour, in range, in the 21st century. */
static void check_rtc(void)
{
	uint8_t second, minute, hour, day, month, year, century;

	for (unsigned int i = 0; i < 100000 && (cmos_read(RTC_REG_A) & RTC_A_UIP) != 0; i++) {
		__asm__ volatile("pause");
	}
	second = cmos_read(RTC_SECONDS);
	minute = cmos_read(RTC_MINUTES);
	hour = cmos_read(RTC_HOURS);
	day = cmos_read(RTC_DAY);
	month = cmos_read(RTC_MONTH);
	year = cmos_read(RTC_YEAR);
	century = cmos_read(RTC_CENTURY);
	check_u32("RTC register B = 0x02 (BCD, 24-hour)", cmos_read(RTC_REG_B), RTC_B_BIOS);
	guest_printf("note: RTC %02x%02x-%02x-%02x %02x:%02x:%02x\n", century, year, month, day,
		     hour, minute, second);
	check_u32("RTC date and time are BCD in range, year 2024 to 2099",
		  century == 0x20 && bcd_within(year, 0x24, 0x99) && bcd_within(month, 1, 0x12) &&
		  bcd_within(day, 1, 0x31) && bcd_within(hour, 0, 0x23) &&
		  bcd_within(minute, 0, 0x59) && bcd_within(second, 0, 0x59), 1);
}

/** A little-endian CMOS word at @index. */
static uint32_t cmos_word(uint8_t index)
{
	return cmos_read(index) | (uint32_t)cmos_read((uint8_t)(index + 1)) << 8;
}

/**
 * The CMOS memory sizes a BIOS stores, for this partition's RAM laid out
 * as a PC's: 640 KiB base memory, the rest from 1 MiB (the VGA window and
 * BIOS area take none of it).
 */
static void check_cmos_memory(void)
{
	struct partition_info info;
	uint32_t memory_kib;
	uint32_t above_1m_kib;
	uint32_t ram_end_kib;

	if (hc_partition_info(&info) != TESSERA_HC_SUCCESS) {
		check_u32("TESSERA_HC_PARTITION_INFO succeeds", 1, 0);
		return;
	}
	memory_kib = info.memory_mib * 1024;
	above_1m_kib = memory_kib - 640;
	ram_end_kib = 1024 + above_1m_kib;
	check_u32("CMOS 0x15/0x16: 640 KiB base memory", cmos_word(CMOS_BASE_MEMORY_KIB), 640);
	check_u32("CMOS 0x17/0x18: KiB above 1 MiB", cmos_word(CMOS_EXT_MEMORY_KIB),
		  above_1m_kib);
	check_u32("CMOS 0x30/0x31: KiB above 1 MiB", cmos_word(CMOS_EXT_MEMORY_KIB_2),
		  above_1m_kib);
	check_u32("CMOS 0x34/0x35: 64 KiB blocks above 16 MiB", cmos_word(CMOS_MEMORY_ABOVE_16M),
		  ram_end_kib > 16384 ? (ram_end_kib - 16384) / 64 : 0);
}

/** PCI 00:00.0 through configuration mechanism #1: the host bridge. */
static void check_pci(void)
{
	port_write32(PCI_CONFIG_ADDRESS, PCI_ENABLE);
	check_u32("PCI CONFIG_ADDRESS reads back 0x80000000", port_read32(PCI_CONFIG_ADDRESS),
		  PCI_ENABLE);
	check_u32("PCI 00:00.0 vendor/device reads 8086:29c0", port_read32(PCI_CONFIG_DATA),
		  HOST_BRIDGE_ID);
	check_u32("PCI 00:00.0 device ID as a word at 0xcfe", port_read16(PCI_CONFIG_DATA + 2),
		  HOST_BRIDGE_ID >> 16);
	port_write32(PCI_CONFIG_ADDRESS, PCI_ENABLE | (1U << 11)); /* device 1 */
	check_u32("PCI 00:01.0 is absent (all ones)", port_read32(PCI_CONFIG_DATA), 0xffffffffU);
}

/** The RSDP in the EBDA's first KiB, by its signature and checksum; 0 if none. */
static uint32_t find_rsdp(void)
{
	uint32_t ebda = (uint32_t)(phys_read8(BDA_EBDA_SEGMENT) |
				   phys_read8(BDA_EBDA_SEGMENT + 1) << 8) << 4;

	for (uint32_t at = ebda; at < ebda + EBDA_SCAN_BYTES; at += 16) {
		uint8_t sum = 0;

		if (!phys_equal(at, "RSD PTR ", 8)) {
			continue;
		}
		for (uint32_t i = 0; i < RSDP_CHECKSUM_LEN; i++) {
			sum = (uint8_t)(sum + phys_read8(at + i));
		}
		if (sum == 0) {
			return at;
		}
	}
	return 0;
}

/** The table with @signature that the RSDT lists, or 0. */
static uint32_t find_table(uint32_t rsdt, const char *signature)
{
	uint32_t entries = (phys_read32(rsdt + SDT_LENGTH_OFFSET) - SDT_HEADER_LEN) / 4;

	for (uint32_t i = 0; i < entries; i++) {
		uint32_t table = phys_read32(rsdt + SDT_HEADER_LEN + 4 * i);

		if (phys_equal(table, signature, 4)) {
			return table;
		}
	}
	return 0;
}

/** The ACPI tables: RSDP via the EBDA, the FADT's PM ports and reset register. */
static void check_acpi_tables(void)
{
	uint32_t rsdp = find_rsdp();
	uint32_t fadt;

	check_u32("RSDP found in the EBDA's first KiB (BDA 0x40E)", rsdp != 0, 1);
	if (rsdp == 0) {
		return;
	}
	fadt = find_table(phys_read32(rsdp + RSDP_RSDT_OFFSET), "FACP");
	check_u32("the RSDT lists a FADT", fadt != 0, 1);
	if (fadt == 0) {
		return;
	}
	check_u32("FADT PM1a_CNT_BLK is the PM block's control port",
		  phys_read32(fadt + FADT_PM1A_CNT_BLK), ACPI_PM1A_CNT);
	check_u32("FADT PM_TMR_BLK is the PM timer's port", phys_read32(fadt + FADT_PM_TMR_BLK),
		  ACPI_PM_TMR);
	check_u32("FADT RESET_REG is port 0xcf9 with value 0x06",
		  phys_read32(fadt + FADT_RESET_REG_ADDRESS) |
		  (uint32_t)phys_read8(fadt + FADT_RESET_VALUE) << 16,
		  ACPI_RESET_PORT | ACPI_RESET_VALUE << 16);
}

/** The PM timer: 24 bits, counting. */
static void check_pm_timer(void)
{
	uint32_t first = port_read32(ACPI_PM_TMR);
	uint32_t second;

	for (unsigned int i = 0; i < 1000; i++) {
		__asm__ volatile("pause");
	}
	second = port_read32(ACPI_PM_TMR);
	check_u32("PM timer reads 24 bits", (first | second) >> ACPI_PM_TIMER_BITS, 0);
	check_u32("PM timer counts", second != first, 1);
	check_u32("PM1a_CNT reads SCI_EN (always in ACPI mode)",
		  port_read16(ACPI_PM1A_CNT) & ACPI_SCI_EN, ACPI_SCI_EN);
}

/** Runs every check, then powers off through ACPI S5, or stops with the failures. */
int guest_main(void)
{
	load_flat_gdt();
	load_idt_from_stubs(idt, interrupt_stubs, INTERRUPT_STUB_SIZE, INTERRUPT_VECTORS);
	check_pit_through_pic();
	check_pit_through_ioapic();
	check_rtc();
	check_cmos_memory();
	check_pci();
	check_acpi_tables();
	check_pm_timer();
	if (checks_failed != 0) {
		guest_printf("%u of %u checks failed\n", checks_failed,
			     checks_passed + checks_failed);
		return (int)checks_failed;
	}
	guest_printf("all %u checks passed; powering off through PM1a_CNT (S5)\n", checks_passed);
	port_write16(ACPI_PM1A_CNT,
		     (uint16_t)((ACPI_SLP_TYP_S5 << ACPI_SLP_TYP_SHIFT) | ACPI_SLP_EN));
	guest_printf("FAILED: still running after S5\n");
	return 1;
}
