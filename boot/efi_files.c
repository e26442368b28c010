/*
 * Reading Tessera's configuration and guest images from the volume the
 * firmware loaded Tessera from.
 */
#include "boot/efi_boot.h"
#include "hv/string.h"

#define EFI_PATH_MAX 256

/** Opens the root directory of the volume that holds Tessera's image. */
static EFI_FILE_HANDLE efi_open_boot_volume(EFI_HANDLE image, const char **error)
{
	static EFI_GUID loaded_image_guid = LOADED_IMAGE_PROTOCOL;
	static EFI_GUID file_system_guid = SIMPLE_FILE_SYSTEM_PROTOCOL;
	EFI_BOOT_SERVICES *bs = efi_system_table->BootServices;
	EFI_LOADED_IMAGE *loaded;
	EFI_FILE_IO_INTERFACE *volume;
	EFI_FILE_HANDLE root;

	if (EFI_ERROR(bs->HandleProtocol(image, &loaded_image_guid, (void **)&loaded))) {
		*error = "cannot find Tessera's own image";
		return NULL;
	}
	if (EFI_ERROR(bs->HandleProtocol(loaded->DeviceHandle, &file_system_guid,
					 (void **)&volume))) {
		*error = "the boot device has no FAT file system";
		return NULL;
	}
	if (EFI_ERROR(volume->OpenVolume(volume, &root))) {
		*error = "cannot open the boot volume";
		return NULL;
	}
	return root;
}

/** Converts a '\'-separated ASCII path to UCS-2; false when too long. */
static bool efi_path_to_wide(const char *path, CHAR16 *wide, size_t max)
{
	size_t len = strlen(path);

	if (len + 1 > max) {
		return false;
	}
	for (size_t i = 0; i <= len; i++) {
		wide[i] = (CHAR16)(path[i] == '/' ? '\\' : (unsigned char)path[i]);
	}
	return true;
}

/** Asks an open file for its size. */
static bool efi_file_size(EFI_FILE_HANDLE file, uint64_t *size)
{
	static EFI_GUID info_guid = EFI_FILE_INFO_ID;
	UINT8 buffer[SIZE_OF_EFI_FILE_INFO + EFI_PATH_MAX * sizeof(CHAR16)];
	UINTN buffer_size = sizeof(buffer);
	EFI_FILE_INFO *info = (EFI_FILE_INFO *)buffer;

	if (EFI_ERROR(file->GetInfo(file, &info_guid, &buffer_size, info))) {
		return false;
	}
	*size = info->FileSize;
	return true;
}

/** Reads the whole of an open file into fresh loader-data pages. */
static const void *efi_read_open_file(EFI_FILE_HANDLE file, uint64_t *size, const char **error)
{
	EFI_BOOT_SERVICES *bs = efi_system_table->BootServices;
	EFI_PHYSICAL_ADDRESS pages = 0;
	UINTN to_read;

	if (!efi_file_size(file, size)) {
		*error = "cannot read its size";
		return NULL;
	}
	/* At least one page so that an empty file still has an address. */
	if (EFI_ERROR(bs->AllocatePages(AllocateAnyPages, EfiLoaderData,
					EFI_SIZE_TO_PAGES(*size) + 1, &pages))) {
		*error = "not enough memory to load it";
		return NULL;
	}
	to_read = *size;
	if (EFI_ERROR(file->Read(file, &to_read, (void *)pages)) || to_read != *size) {
		bs->FreePages(pages, EFI_SIZE_TO_PAGES(*size) + 1);
		*error = "read error";
		return NULL;
	}
	((uint8_t *)pages)[*size] = 0;
	return (const void *)pages;
}

/** Reads a whole file of the boot volume into fresh pages; NULL on error. */
const void *efi_read_file(EFI_HANDLE image, const char *path, uint64_t *size,
			  const char **error)
{
	CHAR16 wide[EFI_PATH_MAX];
	EFI_FILE_HANDLE root;
	EFI_FILE_HANDLE file;
	const void *data;

	if (!efi_path_to_wide(path, wide, ARRAY_SIZE(wide))) {
		*error = "path too long";
		return NULL;
	}
	root = efi_open_boot_volume(image, error);
	if (root == NULL) {
		return NULL;
	}
	if (EFI_ERROR(root->Open(root, &file, wide, EFI_FILE_MODE_READ, 0))) {
		root->Close(root);
		*error = "file not found";
		return NULL;
	}
	data = efi_read_open_file(file, size, error);
	file->Close(file);
	root->Close(root);
	return data;
}
