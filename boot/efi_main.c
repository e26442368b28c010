/*
 * Tessera's UEFI entry point: everything that needs the firmware happens
 * here, then the machine is handed to the hypervisor for good.
 *
 * Order matters: every check that can refuse (no VT-x, no configuration)
 * runs before ExitBootServices, so that a refusal returns to the firmware
 * with the machine as it was and the firmware can boot its next option.
 */
#include "boot/efi_boot.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/vmx.h"
#include "hv/log.h"

#define CONFIG_PATH "\\tessera\\tessera.conf"

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

static struct boot_info boot_info;

/* How long the TSC is watched against the firmware's timer when CPUID is silent. */
#define TSC_CALIBRATION_US 10000

/**
 * The TSC frequency: from CPUID when the CPU reports it, otherwise measured
 * across the firmware's Stall(), whose timer is the only calibrated clock
 * Tessera can trust before it owns the machine.
 */
static uint64_t boot_tsc_hz(EFI_SYSTEM_TABLE *st)
{
	uint64_t hz = tsc_hz_from_cpuid();
	uint64_t start;

	if (hz != 0) {
		return hz;
	}
	start = cpu_rdtsc();
	uefi_call_wrapper(st->BootServices->Stall, 1, TSC_CALIBRATION_US);
	return (cpu_rdtsc() - start) * (1000000 / TSC_CALIBRATION_US);
}

/** Reports one configuration error on the console. */
static void boot_report_config_error(void *ctx, const char *message)
{
	log_error("%s", message);
}

/** Reads and parses the configuration; false when there is nothing to run. */
static bool boot_load_config(EFI_HANDLE image, struct tessera_config *config)
{
	const char *error = NULL;
	uint64_t size;
	const char *text = efi_read_file(image, CONFIG_PATH, &size, &error);

	if (text == NULL) {
		log_error("cannot read %s: %s", CONFIG_PATH, error);
		return false;
	}
	config_parse("tessera.conf", text, size, config, boot_report_config_error, NULL);
	if (config->partition_count == 0) {
		log_error("%s defines no valid partition (%u refused): nothing to run",
			  CONFIG_PATH, config->refused_count);
		return false;
	}
	return true;
}

/** Reads one boot file of a partition; false (logged) when it cannot. */
static bool boot_load_file(EFI_HANDLE image, const struct partition_config *p, const char *what,
			   const char *path, struct boot_file *out)
{
	const char *error = NULL;
	uint64_t size = 0;

	out->data = efi_read_file(image, path, &size, &error);
	out->size = size;
	if (out->data == NULL) {
		log_error("partition '%s': cannot load %s %s: %s", p->name, what, path, error);
		return false;
	}
	log_info("partition '%s': loaded %s (%llu bytes)", p->name, path, (unsigned long long)size);
	return true;
}

/**
 * Loads every partition's image and initrd; a partition with a file that
 * fails is dropped (its image left NULL), the others go on.
 */
static void boot_load_images(EFI_HANDLE image, struct boot_info *info)
{
	for (unsigned int i = 0; i < info->config.partition_count; i++) {
		const struct partition_config *p = &info->config.partitions[i];
		struct boot_files *files = &info->files[i];
		const char *what = p->format == IMAGE_LINUX ? "kernel" : "image";

		if (!boot_load_file(image, p, what, p->image, &files->image)) {
			continue;
		}
		if (p->initrd[0] != '\0' &&
		    !boot_load_file(image, p, "initrd", p->initrd, &files->initrd)) {
			/* Loader memory: reclaimed with the rest after hand-off. */
			files->image.data = NULL;
		}
	}
}

/** Tessera's UEFI entry point. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	const char *why_not;
	uint64_t loading_started;

	boot_info.entry_tsc = cpu_rdtsc();
	efi_console_start(st);
	log_info("Tessera %s, a hypervisor for x86-64 with VT-x", TESSERA_VERSION);
	why_not = vmx_probe();
	if (why_not != NULL) {
		log_error("VT-x is not available: %s", why_not);
		efi_console_stop();
		return EFI_UNSUPPORTED;
	}
	if (!boot_load_config(image, &boot_info.config)) {
		efi_console_stop();
		return EFI_LOAD_ERROR;
	}
	log_set_level(boot_info.config.loglevel);
	loading_started = cpu_rdtsc();
	boot_load_images(image, &boot_info);
	log_debug("bench: entry_tsc=%llu image_load_ticks=%llu",
		  (unsigned long long)boot_info.entry_tsc,
		  (unsigned long long)(cpu_rdtsc() - loading_started));
	boot_info.acpi_rsdp = efi_find_acpi_rsdp(st);
	boot_info.tsc_hz = boot_tsc_hz(st);
	boot_info.console_uart = efi_console_uart();
	log_info("taking over the machine (ACPI RSDP at %#llx, TSC %llu kHz)",
		 (unsigned long long)boot_info.acpi_rsdp,
		 (unsigned long long)(boot_info.tsc_hz / 1000));
	efi_console_stop();
	if (!efi_exit_boot_services(image, &boot_info)) {
		efi_console_start(st);
		log_error("the firmware refused ExitBootServices; returning to it");
		efi_console_stop();
		return EFI_ABORTED;
	}
	hv_start(&boot_info);
}
