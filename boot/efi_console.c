/*
 * Console output before hand-off: the firmware's console (screen, and on many
 * machines a serial port too) plus Tessera's own UART driver.
 *
 * When the firmware's ConOut already includes a serial port (OVMF, servers
 * with console redirection) writing to the UART as well would print every
 * line twice on the serial line, so the UART is then left to the firmware
 * until hand-off.
 */
#include "boot/efi_boot.h"
#include "drivers/uart16550.h"
#include "hv/console.h"

#define DEVICE_PATH_TYPE_MESSAGING 0x03
#define DEVICE_PATH_SUBTYPE_UART   0x0e
#define DEVICE_PATH_TYPE_END       0x7f

EFI_SYSTEM_TABLE *efi_system_table;
static struct uart16550 boot_uart;

/** Writes console bytes to the firmware console, converting to UCS-2. */
static void efi_console_sink(void *ctx, const char *buf, size_t len)
{
	CHAR16 wide[64];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			wide[n++] = L'\r';
		}
		wide[n++] = (CHAR16)(unsigned char)buf[i];
		if (n >= ARRAY_SIZE(wide) - 3 || i + 1 == len) {
			wide[n] = 0;
			efi_system_table->ConOut->OutputString(efi_system_table->ConOut, wide);
			n = 0;
		}
	}
}

/** Writes console bytes to the UART. */
static void efi_uart_sink(void *ctx, const char *buf, size_t len)
{
	uart16550_write(ctx, buf, len);
}

/** True when the ConOut variable's device paths include a UART node. */
static bool efi_conout_has_serial(void)
{
	static EFI_GUID global = EFI_GLOBAL_VARIABLE;
	static UINT8 paths[2048];
	UINTN size = sizeof(paths);
	UINT32 attributes;
	EFI_STATUS status;

	status = efi_system_table->RuntimeServices->GetVariable(L"ConOut", &global, &attributes,
								 &size, paths);
	if (EFI_ERROR(status)) {
		return false;
	}
	for (UINTN at = 0; at + 4 <= size;) {
		UINT16 node_len = (UINT16)(paths[at + 2] | (paths[at + 3] << 8));

		if (paths[at] == DEVICE_PATH_TYPE_MESSAGING &&
		    paths[at + 1] == DEVICE_PATH_SUBTYPE_UART) {
			return true;
		}
		if (node_len < 4) {
			break;
		}
		at += node_len;
	}
	return false;
}

/** Routes console lines to the firmware console and, where needed, COM1. */
void efi_console_start(EFI_SYSTEM_TABLE *st)
{
	efi_system_table = st;
	console_set_sink(CONSOLE_SINK_FIRMWARE, efi_console_sink, NULL);
	if (!efi_conout_has_serial() &&
	    uart16550_init(&boot_uart, UART_COM1_PORT, UART_DEFAULT_BAUD)) {
		console_set_sink(CONSOLE_SINK_SERIAL, efi_uart_sink, &boot_uart);
	}
}

/** The UART state the boot console used, which the hypervisor's console takes over. */
struct uart16550 *efi_console_uart(void)
{
	return &boot_uart;
}

/** Stops using the firmware console (before ExitBootServices). */
void efi_console_stop(void)
{
	console_set_sink(CONSOLE_SINK_FIRMWARE, NULL, NULL);
	console_set_sink(CONSOLE_SINK_SERIAL, NULL, NULL);
}
