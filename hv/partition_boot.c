/*
 * Putting a partition's boot files into its fresh RAM: a flat image at its
 * load address, or a Linux kernel, its initrd and command line where the
 * Linux/x86 boot protocol wants them (hv/linux_boot.h decides, this file
 * copies). Runs at every start and restart, from the copies Tessera keeps.
 */
#include "hv/check.h"
#include "hv/linux_boot.h"
#include "hv/log.h"
#include "hv/partition.h"
#include "hv/string.h"

/** Copies the flat image to its load address; the vCPUs start at entry. */
static bool partition_load_flat(struct partition *p)
{
	const struct boot_file *image = &p->files.image;

	if (!partition_copy_to_guest(p, gpa_init(p->config->load), image->data, image->size)) {
		log_error("partition '%s': image of %llu bytes does not fit in RAM at %#llx",
			  p->config->name, (unsigned long long)image->size,
			  (unsigned long long)p->config->load);
		return false;
	}
	p->boot_entry = gpa_init(p->config->entry);
	p->boot_rsi = 0;
	return true;
}

/** Whether the command line holds word, delimited by spaces or its ends. */
static bool cmdline_has_word(const char *cmdline, const char *word)
{
	size_t length = strlen(word);

	for (const char *at = cmdline; *at != '\0'; at++) {
		bool starts = at == cmdline || at[-1] == ' ';

		if (starts && strncmp(at, word, length) == 0 &&
		    (at[length] == '\0' || at[length] == ' ')) {
			return true;
		}
	}
	return false;
}

/** Parses the kernel and plans its placement; false (logged) on refusal. */
static bool partition_plan_linux(struct partition *p, const struct guest_region *ram,
				 size_t ram_count, struct linux_image *img,
				 struct linux_plan *plan)
{
	const struct partition_config *config = p->config;
	const char *why = linux_image_parse(p->files.image.data, p->files.image.size, img);

	if (why != NULL) {
		log_error("partition '%s': kernel %s refused: %s", config->name, config->image, why);
		return false;
	}
	why = linux_plan(img, ram, ram_count, p->files.initrd.size, strlen(config->cmdline), plan);
	if (why != NULL) {
		log_error("partition '%s': kernel %s cannot be placed in its %llu MiB: %s",
			  config->name, config->image,
			  (unsigned long long)(config->memory_bytes >> 20), why);
		return false;
	}
	plan->quiet = cmdline_has_word(config->cmdline, "quiet");
	return true;
}

/** Copies the kernel's protected-mode part, the initrd and the command line. */
static bool partition_copy_linux(struct partition *p, const struct linux_image *img,
				 const struct linux_plan *plan)
{
	const uint8_t *image = p->files.image.data;
	char cmdline[CONFIG_CMDLINE_MAX];
	size_t cmdline_bytes = linux_cmdline_bytes(cmdline, sizeof(cmdline), p->config->cmdline,
						   plan);

	CHECK(cmdline_bytes == plan->cmdline_bytes);
	if (plan->initrd_size > 0 &&
	    !partition_copy_to_guest(p, plan->initrd_gpa, p->files.initrd.data, plan->initrd_size)) {
		return false;
	}
	return partition_copy_to_guest(p, plan->kernel_gpa, image + img->setup_size,
				       img->kernel_size) &&
	       partition_copy_to_guest(p, plan->cmdline_gpa, cmdline, cmdline_bytes);
}

/** Builds the zero page where the plan puts it. */
static bool partition_write_zero_page(struct partition *p, const struct linux_image *img,
				      const struct linux_plan *plan,
				      const struct guest_region *ram, size_t ram_count)
{
	uint8_t *zero_page = partition_gpa_to_ptr(p, plan->boot_params_gpa, LINUX_BOOT_PARAMS_SIZE);

	if (zero_page == NULL) {
		return false;
	}
	linux_build_boot_params(zero_page, p->files.image.data, img, plan, ram, ram_count,
				plan->initrd_size, p->platform.rsdp_gpa);
	return true;
}

/**
 * Boots a Linux kernel by the 32-bit boot protocol (boot.rst): the vCPU
 * starts at the protected-mode part with ESI pointing to the zero page, in
 * the flat 32-bit state every partition starts in.
 */
static bool partition_load_linux(struct partition *p)
{
	struct guest_region ram[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t ram_count = layout_guest_ram(p->config->memory_bytes, ram, ARRAY_SIZE(ram));
	struct linux_image img;
	struct linux_plan plan;

	CHECK(ram_count > 0);
	if (!partition_plan_linux(p, ram, ram_count, &img, &plan)) {
		return false;
	}
	if (!partition_copy_linux(p, &img, &plan) ||
	    !partition_write_zero_page(p, &img, &plan, ram, ram_count)) {
		log_error("partition '%s': kernel, initrd or zero page not copied to its RAM",
			  p->config->name);
		return false;
	}
	p->boot_entry = plan.kernel_gpa;
	p->boot_rsi = gpa_addr(plan.boot_params_gpa);
	log_info("partition '%s': Linux boot protocol %u.%02u, kernel at %#llx, initrd %llu bytes "
		 "at %#llx", p->config->name, img.version >> 8, img.version & 0xff,
		 (unsigned long long)gpa_addr(plan.kernel_gpa),
		 (unsigned long long)plan.initrd_size,
		 (unsigned long long)gpa_addr(plan.initrd_gpa));
	return true;
}

/** Copies the boot files into fresh RAM and sets where the vCPUs start. */
bool partition_load_boot_files(struct partition *p)
{
	if (p->config->format == IMAGE_LINUX) {
		return partition_load_linux(p);
	}
	return partition_load_flat(p);
}
