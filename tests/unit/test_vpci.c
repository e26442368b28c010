/*
 * Host tests of hv/vpci.c: PCI configuration mechanism #1, the host bridge
 * at 00:00.0 and the reset control register.
 *
 * CONFIG_ADDRESS layout and byte lanes are the PCI Local Bus 3.0
 * specification's (3.2.2.3.2), the header its type 0 layout (6.1), the
 * reset bits the ICH9 data sheet's RST_CNT; the IDs are the Q35 MCH's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/acpi_tables.h"
#include "hv/vpci.h"

#define T_ADDRESS 0xcf8
#define T_RESET   0xcf9
#define T_DATA    0xcfc

/** CONFIG_ADDRESS for bus/device/function/register, enabled. */
#define T_CFG(bus, dev, fn, reg) \
	(0x80000000U | ((uint32_t)(bus) << 16) | ((uint32_t)(dev) << 11) | ((uint32_t)(fn) << 8) | (reg))

static struct vpci pci;

/** A fresh configuration space over dirty memory. */
static int setup(void **state)
{
	memset(&pci, 0xa5, sizeof(pci));
	vpci_init(&pci);
	return 0;
}

/** Reads @size bytes of configuration register @address at byte lane @lane. */
static uint32_t cfg_read(uint32_t address, unsigned int lane, unsigned int size)
{
	assert_int_equal(vpci_write(&pci, T_ADDRESS, 4, address), VPCI_NONE);
	return vpci_read(&pci, (uint16_t)(T_DATA + lane), size);
}

/** Writes @size bytes of configuration register @address at byte lane @lane. */
static void cfg_write(uint32_t address, unsigned int lane, unsigned int size, uint32_t value)
{
	assert_int_equal(vpci_write(&pci, T_ADDRESS, 4, address), VPCI_NONE);
	assert_int_equal(vpci_write(&pci, (uint16_t)(T_DATA + lane), size, value), VPCI_NONE);
}

/** 0xCF8-0xCFF and nothing else. */
static void test_vpci_handles_ports(void **state)
{
	for (uint16_t port = 0xcf8; port <= 0xcff; port++) {
		assert_true(vpci_handles_port(port));
	}
	assert_false(vpci_handles_port(0xcf7));
	assert_false(vpci_handles_port(0xd00));
	assert_false(vpci_handles_port(0x600));
}

/** CONFIG_ADDRESS reads back; reserved bits 30:24 and 1:0 read 0. */
static void test_vpci_address_register(void **state)
{
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0);
	vpci_write(&pci, T_ADDRESS, 4, 0x80000000);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x80000000);
	vpci_write(&pci, T_ADDRESS, 4, 0xffffffff);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x80fffffc);
	vpci_write(&pci, T_ADDRESS, 4, 0x12345678);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x00345678);
}

/** Byte and word accesses at 0xCF8-0xCFB are not CONFIG_ADDRESS. */
static void test_vpci_address_needs_dword_access(void **state)
{
	vpci_write(&pci, T_ADDRESS, 4, 0x80000000);
	vpci_write(&pci, T_ADDRESS, 1, 0x44);
	vpci_write(&pci, T_ADDRESS, 2, 0x4444);
	vpci_write(&pci, 0xcfb, 1, 0x01); /* the PCI mechanism probe's byte */
	vpci_write(&pci, 0xcfa, 2, 0x1234);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x80000000);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 1), 0xff);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 2), 0xffff);
	assert_int_equal(vpci_read(&pci, 0xcfa, 2), 0xffff);
	assert_int_equal(vpci_read(&pci, 0xcfb, 1), 0xff);
	/* A dword at 0xCF9 is not the reset register either. */
	assert_int_equal(vpci_write(&pci, T_RESET, 4, 0x06), VPCI_NONE);
	assert_int_equal(vpci_read(&pci, T_RESET, 4), 0xffffffff);
}

/** The host bridge's header as dwords: IDs, command/status, class, zeros. */
static void test_vpci_host_bridge_dwords(void **state)
{
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 0, 4), 0x29c08086);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 0, 4), 0x00000006);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 0, 4), 0x06000000);
	/* Header type 0, single function; no BIST; no latency timer. */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x0c), 0, 4), 0);
	for (uint32_t bar = 0x10; bar <= 0x24; bar += 4) {
		assert_int_equal(cfg_read(T_CFG(0, 0, 0, bar), 0, 4), 0);
	}
	/* Subsystem IDs, ROM, capabilities pointer, interrupt: all 0. */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x2c), 0, 4), 0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x30), 0, 4), 0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x34), 0, 4), 0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x3c), 0, 4), 0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0xfc), 0, 4), 0);
}

/** Bytes and words come from their lanes of the selected dword. */
static void test_vpci_host_bridge_byte_lanes(void **state)
{
	static const uint8_t id_bytes[4] = { 0x86, 0x80, 0xc0, 0x29 };

	for (unsigned int lane = 0; lane < 4; lane++) {
		assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), lane, 1), id_bytes[lane]);
	}
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 0, 2), 0x8086);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 2, 2), 0x29c0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 1, 2), 0xc080);
	/* Class: base 06 at 0x0B, subclass 00 at 0x0A, prog-if 00, revision 00. */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 3, 1), 0x06);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 2, 1), 0x00);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 0, 1), 0x00);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 2, 2), 0x0600);
	/* Header type at 0x0E: 0. Status at 0x06: 0. */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x0c), 2, 1), 0x00);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 2, 2), 0x0000);
	/* A dword at 0xCFE: two bytes of config, two past 0xCFF (not ours). */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 2, 4), 0xffff29c0);
}

/** Nothing else is on any bus: all ones at every size. */
static void test_vpci_absent_devices_read_all_ones(void **state)
{
	static const uint32_t absent[] = {
		T_CFG(0, 1, 0, 0), T_CFG(0, 0, 1, 0), T_CFG(0, 0, 7, 0),
		T_CFG(0, 31, 0, 0), T_CFG(1, 0, 0, 0), T_CFG(255, 31, 7, 0xfc),
	};

	for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
		assert_int_equal(cfg_read(absent[i], 0, 4), 0xffffffff);
		assert_int_equal(cfg_read(absent[i], 2, 2), 0xffff);
		assert_int_equal(cfg_read(absent[i], 3, 1), 0xff);
	}
	/* With the enable bit clear, even 00:00.0 is not reached. */
	assert_int_equal(cfg_read(0x00000000, 0, 4), 0xffffffff);
}

/** IDs, class and BARs are read-only. */
static void test_vpci_host_bridge_read_only_fields(void **state)
{
	cfg_write(T_CFG(0, 0, 0, 0x00), 0, 4, 0xffffffff);
	cfg_write(T_CFG(0, 0, 0, 0x08), 0, 4, 0xffffffff);
	cfg_write(T_CFG(0, 0, 0, 0x0c), 0, 4, 0xffffffff);
	cfg_write(T_CFG(0, 0, 0, 0x10), 0, 4, 0xffffffff); /* BAR sizing */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 0, 4), 0x29c08086);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 0, 4), 0x06000000);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x0c), 0, 4), 0);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x10), 0, 4), 0);
}

/** Command: memory and bus master stay on; PERR and SERR enables keep. */
static void test_vpci_host_bridge_command(void **state)
{
	cfg_write(T_CFG(0, 0, 0, 0x04), 0, 2, 0x0000);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 0, 4), 0x00000006);
	cfg_write(T_CFG(0, 0, 0, 0x04), 0, 4, 0xffffffff); /* status bits are RW1C: none set */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 0, 4), 0x00000146);
	cfg_write(T_CFG(0, 0, 0, 0x04), 1, 1, 0x00); /* SERR# enable off */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 0, 2), 0x0046);
}

/** Interrupt line is a scratch byte; the pin stays 0 (no interrupt). */
static void test_vpci_host_bridge_interrupt_line(void **state)
{
	cfg_write(T_CFG(0, 0, 0, 0x3c), 0, 4, 0xffffff0b);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x3c), 0, 4), 0x0000000b);
	cfg_write(T_CFG(0, 0, 0, 0x3c), 0, 1, 0xff);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x3c), 0, 1), 0xff);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x3c), 1, 1), 0x00);
}

/** Writes to absent functions change nothing anywhere. */
static void test_vpci_absent_writes_ignored(void **state)
{
	cfg_write(T_CFG(0, 0, 1, 0x04), 0, 2, 0x0000);
	cfg_write(T_CFG(0, 1, 0, 0x3c), 0, 1, 0x0a);
	cfg_write(T_CFG(0, 0, 0, 0x3c) & ~0x80000000U, 0, 1, 0x0a); /* disabled */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x04), 0, 2), 0x0006);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x3c), 0, 1), 0x00);
}

/** The sequence an OS uses to detect mechanism #1 finds it. */
static void test_vpci_mechanism_probe(void **state)
{
	uint32_t saved;

	vpci_write(&pci, 0xcfb, 1, 0x01);
	saved = vpci_read(&pci, T_ADDRESS, 4);
	vpci_write(&pci, T_ADDRESS, 4, 0x80000000);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x80000000);
	vpci_write(&pci, T_ADDRESS, 4, saved);
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x08), 2, 2), 0x0600); /* host bridge */
	assert_int_equal(cfg_read(T_CFG(0, 0, 0, 0x00), 0, 2), 0x8086);
}

/** 0xCF9: RST_CPU resets, hard with SYS_RST; RST_CPU does not stay set. */
static void test_vpci_reset_control(void **state)
{
	assert_int_equal(vpci_read(&pci, T_RESET, 1), 0x00);
	assert_int_equal(vpci_write(&pci, T_RESET, 1, 0x02), VPCI_NONE);
	assert_int_equal(vpci_read(&pci, T_RESET, 1), 0x02);
	assert_int_equal(vpci_write(&pci, T_RESET, 1, 0x06), VPCI_RESET_HARD);
	assert_int_equal(vpci_read(&pci, T_RESET, 1), 0x02);
	assert_int_equal(vpci_write(&pci, T_RESET, 1, 0x04), VPCI_RESET_SOFT);
	assert_int_equal(vpci_read(&pci, T_RESET, 1), 0x00);
	assert_int_equal(vpci_write(&pci, T_RESET, 1, 0x0e), VPCI_RESET_HARD);
	assert_int_equal(vpci_read(&pci, T_RESET, 1), 0x0a);
	assert_int_equal(vpci_write(&pci, T_RESET, 1, 0x08), VPCI_NONE);
	/* The reset register the FADT names does a hard reset here. */
	assert_int_equal(ACPI_RESET_PORT, 0xcf9);
	assert_int_equal(vpci_write(&pci, ACPI_RESET_PORT, 1, ACPI_RESET_VALUE), VPCI_RESET_HARD);
	/* The reset register does not disturb CONFIG_ADDRESS. */
	vpci_write(&pci, T_ADDRESS, 4, 0x80000010);
	vpci_write(&pci, T_RESET, 1, 0x02);
	assert_int_equal(vpci_read(&pci, T_ADDRESS, 4), 0x80000010);
}

/** Runs the PCI configuration and reset control tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_vpci_handles_ports, setup),
		cmocka_unit_test_setup(test_vpci_address_register, setup),
		cmocka_unit_test_setup(test_vpci_address_needs_dword_access, setup),
		cmocka_unit_test_setup(test_vpci_host_bridge_dwords, setup),
		cmocka_unit_test_setup(test_vpci_host_bridge_byte_lanes, setup),
		cmocka_unit_test_setup(test_vpci_absent_devices_read_all_ones, setup),
		cmocka_unit_test_setup(test_vpci_host_bridge_read_only_fields, setup),
		cmocka_unit_test_setup(test_vpci_host_bridge_command, setup),
		cmocka_unit_test_setup(test_vpci_host_bridge_interrupt_line, setup),
		cmocka_unit_test_setup(test_vpci_absent_writes_ignored, setup),
		cmocka_unit_test_setup(test_vpci_mechanism_probe, setup),
		cmocka_unit_test_setup(test_vpci_reset_control, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
