/*
 * The UEFI side of Tessera: everything that runs while boot services exist.
 */
#ifndef TESSERA_BOOT_EFI_BOOT_H
#define TESSERA_BOOT_EFI_BOOT_H

#include <efi.h>
#include "hv/boot_info.h"

/** Routes console lines to the firmware console and, where needed, COM1. */
void efi_console_start(EFI_SYSTEM_TABLE *st);

/** The UART state the boot console used, which the hypervisor's console takes over. */
struct uart16550 *efi_console_uart(void);

/** Stops using the firmware console (before ExitBootServices). */
void efi_console_stop(void);

/** Reads a whole file of the boot volume into fresh pages; NULL on error. */
const void *efi_read_file(EFI_HANDLE image, const char *path, uint64_t *size,
			  const char **error);

/** Finds the ACPI RSDP in the configuration table; 0 when there is none. */
uint64_t efi_find_acpi_rsdp(EFI_SYSTEM_TABLE *st);

/** Takes the final memory map and ends boot services; false on failure. */
bool efi_exit_boot_services(EFI_HANDLE image, struct boot_info *info);

extern EFI_SYSTEM_TABLE *efi_system_table;

#endif /* TESSERA_BOOT_EFI_BOOT_H */
