/*
 * Configuration mechanism #1, the host bridge's configuration header and
 * the reset control register (see vpci.h). The configuration header is the
 * type 0 layout of PCI Local Bus 3.0, 6.1.
 */
#include "hv/vpci.h"
#include "hv/acpi_tables.h"
#include "hv/string.h"

/* CONFIG_ADDRESS fields (PCI 3.0, figure 3-2); 30:24 and 1:0 are reserved. */
#define ADDRESS_ENABLE    BIT(31)
#define ADDRESS_BDF_SHIFT 8
#define ADDRESS_BDF_MASK  0xffffU /* bus, device, function */
#define ADDRESS_REG_MASK  0xfcU
#define ADDRESS_WRITABLE  (ADDRESS_ENABLE | 0x00fffffcU)

/* Configuration header offsets (PCI 3.0, 6.1). */
#define CFG_VENDOR_DEVICE  0x00
#define CFG_COMMAND_STATUS 0x04
#define CFG_CLASS_REVISION 0x08
#define CFG_INTERRUPT      0x3c

/*
 * Command: memory space and bus master read as set and cannot be cleared,
 * as on the Q35 MCH (a host bridge always decodes memory and masters);
 * parity error response and SERR# enable keep what is written. Status: no
 * capabilities list, no error ever.
 */
#define COMMAND_RESET    0x0006U
#define COMMAND_WRITABLE 0x0140U
#define HOST_REVISION    0x00

/** Resets the address register, the reset control and the host bridge. */
void vpci_init(struct vpci *pci)
{
	memset(pci, 0, sizeof(*pci));
	pci->host_command = COMMAND_RESET;
}

/** True for 0xCF8-0xCFF (which includes the reset control port 0xCF9). */
bool vpci_handles_port(uint16_t port)
{
	return port >= VPCI_PORT_FIRST && port <= VPCI_PORT_LAST;
}

/** True when CONFIG_ADDRESS is enabled and selects 00:00.0, the host bridge. */
static bool vpci_selects_host_bridge(const struct vpci *pci)
{
	return (pci->address & ADDRESS_ENABLE) != 0 &&
	       ((pci->address >> ADDRESS_BDF_SHIFT) & ADDRESS_BDF_MASK) == 0;
}

/** The host bridge's configuration dword at dword-aligned @offset. */
static uint32_t vpci_host_dword(const struct vpci *pci, unsigned int offset)
{
	switch (offset) {
	case CFG_VENDOR_DEVICE:
		return VPCI_HOST_VENDOR_ID | ((uint32_t)VPCI_HOST_DEVICE_ID << 16);
	case CFG_COMMAND_STATUS:
		return pci->host_command;
	case CFG_CLASS_REVISION:
		return ((uint32_t)VPCI_HOST_CLASS << 8) | HOST_REVISION;
	case CFG_INTERRUPT:
		/* Interrupt line: a scratch byte for the OS; pin 0: none. */
		return pci->host_interrupt_line;
	default:
		/* Header type 0 single-function, BARs, pointers: all zero. */
		return 0;
	}
}

/** A byte write to the host bridge's configuration space at @offset. */
static void vpci_host_write_byte(struct vpci *pci, unsigned int offset, uint8_t byte)
{
	if (offset == CFG_COMMAND_STATUS || offset == CFG_COMMAND_STATUS + 1) {
		unsigned int shift = 8 * (offset - CFG_COMMAND_STATUS);
		uint16_t writable = (uint16_t)(COMMAND_WRITABLE & (0xffU << shift));

		pci->host_command = (uint16_t)((pci->host_command & ~writable) |
					       (((unsigned int)byte << shift) & writable));
	} else if (offset == CFG_INTERRUPT) {
		pci->host_interrupt_line = byte;
	}
}

/** The configuration byte behind data port @port (0xCFC-0xCFF). */
static uint8_t vpci_data_read_byte(const struct vpci *pci, uint16_t port)
{
	unsigned int offset = (pci->address & ADDRESS_REG_MASK) + (port - VPCI_CONFIG_DATA);

	if (!vpci_selects_host_bridge(pci)) {
		return 0xff; /* disabled, or no device there: master abort */
	}
	return (uint8_t)(vpci_host_dword(pci, offset & ADDRESS_REG_MASK) >> (8 * (offset & 3)));
}

/** A read of CONFIG_DATA: bytes past 0xCFF are not ours and read all ones. */
static uint32_t vpci_data_read(const struct vpci *pci, uint16_t port, unsigned int size)
{
	uint32_t value = 0;

	for (unsigned int i = 0; i < size && i < sizeof(value); i++) {
		uint16_t byte_port = (uint16_t)(port + i);
		uint32_t byte = byte_port <= VPCI_PORT_LAST ? vpci_data_read_byte(pci, byte_port) : 0xff;

		value |= byte << (8 * i);
	}
	return value;
}

/** A write of CONFIG_DATA, byte lane by byte lane. */
static void vpci_data_write(struct vpci *pci, uint16_t port, unsigned int size, uint32_t value)
{
	if (!vpci_selects_host_bridge(pci)) {
		return;
	}
	for (unsigned int i = 0; i < size && i < sizeof(value) && port + i <= VPCI_PORT_LAST; i++) {
		unsigned int offset = (pci->address & ADDRESS_REG_MASK) + (port + i - VPCI_CONFIG_DATA);

		vpci_host_write_byte(pci, offset, (uint8_t)(value >> (8 * i)));
	}
}

/** A guest IN of @size (1, 2, 4) bytes from @port. */
uint32_t vpci_read(struct vpci *pci, uint16_t port, unsigned size)
{
	if (port == VPCI_CONFIG_ADDRESS && size == 4) {
		return pci->address;
	}
	if (port == ACPI_RESET_PORT && size == 1) {
		return pci->reset_control;
	}
	if (port >= VPCI_CONFIG_DATA && port <= VPCI_PORT_LAST) {
		return vpci_data_read(pci, port, size);
	}
	return (uint32_t)bytes_mask(size); /* nothing answers */
}

/**
 * A write to the reset control register: RST_CPU starts a reset, hard when
 * SYS_RST is set in the same write (ICH9 RST_CNT); RST_CPU itself does not
 * stay set.
 */
static enum vpci_action vpci_reset_control_write(struct vpci *pci, uint8_t value)
{
	pci->reset_control = value & (VPCI_RST_SYS | VPCI_RST_FULL);
	if ((value & VPCI_RST_CPU) == 0) {
		return VPCI_NONE;
	}
	return (value & VPCI_RST_SYS) != 0 ? VPCI_RESET_HARD : VPCI_RESET_SOFT;
}

/** A guest OUT of @size (1, 2, 4) bytes to @port; says what to do next. */
enum vpci_action vpci_write(struct vpci *pci, uint16_t port, unsigned size, uint32_t value)
{
	if (port == VPCI_CONFIG_ADDRESS && size == 4) {
		pci->address = value & ADDRESS_WRITABLE;
	} else if (port == ACPI_RESET_PORT && size == 1) {
		return vpci_reset_control_write(pci, (uint8_t)value);
	} else if (port >= VPCI_CONFIG_DATA && port <= VPCI_PORT_LAST) {
		vpci_data_write(pci, port, size, value);
	}
	return VPCI_NONE;
}
