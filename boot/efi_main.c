#include <efi.h>
#include "hv/types.h"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	st->ConOut->OutputString(st->ConOut, L"tessera: hello\r\n");
	return EFI_UNSUPPORTED;
}
