/*
 * What the UEFI loader (boot/) hands to the hypervisor (hv/) once boot
 * services have ended: the only channel between the two, so that hv/ never
 * reaches into boot/ or calls the firmware.
 */
#ifndef TESSERA_HV_BOOT_INFO_H
#define TESSERA_HV_BOOT_INFO_H

#include "hv/config.h"
#include "hv/types.h"

#define BOOT_MEM_MAX_REGIONS 512

/** What a range of the firmware's memory map holds, in Tessera's terms. */
enum boot_mem_type {
	BOOT_MEM_USABLE,        /* free RAM (EfiConventionalMemory) */
	BOOT_MEM_BOOT_SERVICES, /* RAM the firmware used until hand-off */
	BOOT_MEM_LOADER,        /* Tessera's image and the files it loaded */
	BOOT_MEM_RUNTIME,       /* UEFI runtime services: never touched */
	BOOT_MEM_ACPI_RECLAIM,
	BOOT_MEM_ACPI_NVS,
	BOOT_MEM_MMIO,
	BOOT_MEM_RESERVED,
};

/** One range of the memory map. */
struct boot_mem_region {
	uint64_t base;
	uint64_t size;
	enum boot_mem_type type;
};

/** A file read from the boot volume before hand-off (page-aligned copy). */
struct boot_file {
	const void *data;
	uint64_t size;
};

/** A partition's boot files: its image (flat or a Linux kernel) and its initrd. */
struct boot_files {
	struct boot_file image;  /* data NULL: not loaded, the partition is dropped */
	struct boot_file initrd; /* data NULL: none configured */
};

struct uart16550;

/** Everything the hypervisor learns from the firmware. */
struct boot_info {
	uint64_t entry_tsc;       /* TSC at efi_main's first instruction */
	uint64_t acpi_rsdp;       /* physical address, 0 when none */
	uint64_t tsc_hz;          /* TSC ticks per second */
	struct uart16550 *console_uart; /* the boot console's UART state, for the hypervisor's */
	struct tessera_config config;
	struct boot_files files[CONFIG_MAX_PARTITIONS]; /* per config partition */
	struct boot_mem_region memory[BOOT_MEM_MAX_REGIONS];
	size_t memory_count;
};

/** The hypervisor's entry after hand-off; never returns. */
NORETURN void hv_start(struct boot_info *info);

#endif /* TESSERA_HV_BOOT_INFO_H */
