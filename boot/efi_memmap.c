/*
 * The last thing done with the firmware: take its memory map and end boot
 * services, retrying when the map changed under us (UEFI 2.x, 7.4
 * ExitBootServices: a stale map key makes the call fail).
 */
#include "boot/efi_boot.h"
#include "hv/string.h"

#define EFI_ACPI_20_GUID ACPI_20_TABLE_GUID
#define EFI_ACPI_10_GUID ACPI_TABLE_GUID
#define EXIT_BOOT_SERVICES_TRIES 8

/* Room for the firmware's map; static so that taking it allocates nothing. */
static UINT8 efi_map_buffer[64 * 1024];

/** Finds the ACPI RSDP in the configuration table; 0 when there is none. */
uint64_t efi_find_acpi_rsdp(EFI_SYSTEM_TABLE *st)
{
	static EFI_GUID acpi20 = EFI_ACPI_20_GUID;
	static EFI_GUID acpi10 = EFI_ACPI_10_GUID;
	uint64_t found = 0;

	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];

		if (memcmp(&t->VendorGuid, &acpi20, sizeof(acpi20)) == 0) {
			return (uint64_t)t->VendorTable;
		}
		if (memcmp(&t->VendorGuid, &acpi10, sizeof(acpi10)) == 0) {
			found = (uint64_t)t->VendorTable;
		}
	}
	return found;
}

/** Translates a UEFI memory type into Tessera's view of it. */
static enum boot_mem_type efi_mem_type(UINT32 type)
{
	switch (type) {
	case EfiConventionalMemory:
		return BOOT_MEM_USABLE;
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BOOT_MEM_BOOT_SERVICES;
	case EfiLoaderCode:
	case EfiLoaderData:
		return BOOT_MEM_LOADER;
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
		return BOOT_MEM_RUNTIME;
	case EfiACPIReclaimMemory:
		return BOOT_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BOOT_MEM_ACPI_NVS;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return BOOT_MEM_MMIO;
	default:
		return BOOT_MEM_RESERVED;
	}
}

/** Copies the firmware's map into boot_info, merging adjacent equal ranges. */
static void efi_record_memory_map(struct boot_info *info, UINTN map_size, UINTN desc_size)
{
	info->memory_count = 0;
	for (UINTN at = 0; at + desc_size <= map_size; at += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const void *)(efi_map_buffer + at);
		struct boot_mem_region r = {
			.base = d->PhysicalStart,
			.size = d->NumberOfPages * EFI_PAGE_SIZE,
			.type = efi_mem_type(d->Type),
		};
		struct boot_mem_region *last = info->memory_count == 0
			? NULL : &info->memory[info->memory_count - 1];

		if (last != NULL && last->type == r.type && last->base + last->size == r.base) {
			last->size += r.size;
		} else if (info->memory_count < BOOT_MEM_MAX_REGIONS) {
			info->memory[info->memory_count++] = r;
		}
	}
}

/** Takes the final memory map and ends boot services; false on failure. */
bool efi_exit_boot_services(EFI_HANDLE image, struct boot_info *info)
{
	EFI_BOOT_SERVICES *bs = efi_system_table->BootServices;

	for (int attempt = 0; attempt < EXIT_BOOT_SERVICES_TRIES; attempt++) {
		UINTN map_size = sizeof(efi_map_buffer);
		UINTN map_key;
		UINTN desc_size;
		UINT32 desc_version;

		if (EFI_ERROR(bs->GetMemoryMap(&map_size, (EFI_MEMORY_DESCRIPTOR *)efi_map_buffer,
					       &map_key, &desc_size, &desc_version))) {
			return false;
		}
		/* Nothing between here and the call may allocate or print. */
		efi_record_memory_map(info, map_size, desc_size);
		if (!EFI_ERROR(bs->ExitBootServices(image, map_key))) {
			return true;
		}
	}
	return false;
}
