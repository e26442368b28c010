/*
 * A partition's PCI configuration space through configuration mechanism #1
 * (PCI Local Bus 3.0, 3.2.2.3.2), and the chipset's reset control register.
 *
 *   0xCF8        CONFIG_ADDRESS, 32-bit accesses only: enable (bit 31), bus
 *                (23:16), device (15:11), function (10:8), register (7:2)
 *   0xCF9        reset control (ICH RST_CNT), a byte register: a write with
 *                RST_CPU (bit 2) resets, a hard reset with SYS_RST (bit 1)
 *   0xCFC-0xCFF  CONFIG_DATA: 1, 2 or 4 bytes at their lanes of the dword
 *                CONFIG_ADDRESS selects
 * Other accesses to 0xCF8-0xCFB (a byte at 0xCF8, a word at 0xCFA, ...)
 * are not these registers: they read all ones and writes are dropped.
 *
 * The bus holds one device, 00:00.0, a host bridge: Intel 82G33/P35 DRAM
 * controller (8086:29C0), the Q35 chipset's MCH, class 060000, header type
 * 0, no BARs, no capabilities. Linux has no PCI quirk or early fixup for
 * that ID and no MMCONFIG probe keyed on it, and it is the host bridge of
 * the virtual machines Linux boots most often; the one driver that matches
 * it (intel-agp) finds no integrated graphics at 00:02.0 and leaves it.
 * A host bridge (or an Intel device) on bus 0 is also what an OS's check
 * that mechanism #1 works looks for. Every other bus/device/function reads
 * all ones (nothing there) and ignores writes.
 */
#ifndef TESSERA_HV_VPCI_H
#define TESSERA_HV_VPCI_H

#include "hv/types.h"

#define VPCI_CONFIG_ADDRESS 0xCF8
#define VPCI_CONFIG_DATA    0xCFC
#define VPCI_PORT_FIRST     0xCF8
#define VPCI_PORT_LAST      0xCFF

#define VPCI_HOST_VENDOR_ID 0x8086
#define VPCI_HOST_DEVICE_ID 0x29C0
#define VPCI_HOST_CLASS     0x060000 /* bridge, host bridge, prog-if 0 */

/* Reset control register bits (ICH9 data sheet, RST_CNT at 0xCF9). */
#define VPCI_RST_SYS  BIT(1) /* with RST_CPU: hard reset, else INIT only */
#define VPCI_RST_CPU  BIT(2) /* writing 1 starts the reset; reads 0 */
#define VPCI_RST_FULL BIT(3) /* with SYS_RST: full power cycle */

/** What a guest write asks of the partition. */
enum vpci_action {
	VPCI_NONE,
	VPCI_RESET_SOFT, /* RST_CPU alone: reset the processors (INIT) */
	VPCI_RESET_HARD, /* RST_CPU with SYS_RST: reset the whole partition */
};

/** State of one partition's configuration mechanism and host bridge. */
struct vpci {
	uint32_t address;        /* CONFIG_ADDRESS as the guest last wrote it */
	uint8_t reset_control;   /* SYS_RST and FULL_RST as written */
	uint16_t host_command;   /* the host bridge's command register */
	uint8_t host_interrupt_line;
};

/** Resets the address register, the reset control and the host bridge. */
void vpci_init(struct vpci *pci);

/** True for 0xCF8-0xCFF (which includes the reset control port 0xCF9). */
bool vpci_handles_port(uint16_t port);

/** A guest IN of @size (1, 2, 4) bytes from @port. */
uint32_t vpci_read(struct vpci *pci, uint16_t port, unsigned size);

/** A guest OUT of @size (1, 2, 4) bytes to @port; says what to do next. */
enum vpci_action vpci_write(struct vpci *pci, uint16_t port, unsigned size, uint32_t value);

#endif /* TESSERA_HV_VPCI_H */
