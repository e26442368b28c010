/*
 * The hypervisor proper, from hand-off on: take the machine, build the
 * partitions the configuration describes, and run them.
 */
#include "hv/boot_info.h"
#include "hv/alloc.h"
#include "hv/audit.h"
#include "hv/check.h"
#include "hv/phys.h"
#include "hv/console.h"
#include "hv/log.h"
#include "hv/operator.h"
#include "hv/panic.h"
#include "hv/partition.h"
#include "hv/sched.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpu_setup.h"
#include "arch/x86/fpu.h"
#include "arch/x86/image.h"
#include "arch/x86/lapic.h"
#include "arch/x86/vmx.h"
#include "drivers/uart16550.h"

/* Memory below 1 MiB stays untouched: real-mode structures live there. */
#define LOW_MEMORY_END MiB(1)

/*
 * The console UART's state: the boot loader's (boot_info.console_uart),
 * programmed again for the configured port and rate. One instance, since its
 * queues are large and the image's data is in the file.
 */
static struct uart16550 *console_uart;
static struct mtrr_state host_mtrr;

/**
 * Queues console bytes for the physical UART, which takes them as fast as
 * the line goes (hv_console_read_byte pumps it every console tick); only a
 * panic waits until they are out, since nothing runs after it.
 */
static void hv_serial_sink(void *ctx, const char *buf, size_t len)
{
	uart16550_write(ctx, buf, len);
	if (console_is_panicking()) {
		uart16550_flush(ctx);
	}
}

/** A byte the operator typed, or -1 (the shell's input); also moves queued output. */
static int hv_console_read_byte(void)
{
	uart16550_pump(console_uart);
	return uart16550_try_read(console_uart);
}

/** Opens the console UART the configuration names. */
static void hv_console_init(struct uart16550 *uart, const struct tessera_config *config)
{
	console_uart = uart;
	if (uart16550_init(console_uart, config->serial_port, config->serial_baud)) {
		console_set_sink(CONSOLE_SINK_SERIAL, hv_serial_sink, console_uart);
	}
	log_set_level(config->loglevel);
}

/** Gives the allocator the free RAM of the memory map; returns the address limit. */
static uint64_t hv_init_allocator(const struct boot_info *info)
{
	uint64_t limit = GiB(4);

	alloc_init();
	for (size_t i = 0; i < info->memory_count; i++) {
		const struct boot_mem_region *r = &info->memory[i];
		uint64_t base = MAX(r->base, LOW_MEMORY_END);
		uint64_t end = r->base + r->size;

		limit = MAX(limit, end);
		if (r->type == BOOT_MEM_USABLE && end > base) {
			alloc_add_free(hpa_init(base), end - base);
		}
	}
	log_info("memory: %llu MiB free for partitions and the hypervisor",
		 (unsigned long long)(alloc_pages_owned(OWNER_FREE) >> 8));
	return limit;
}

/** True for memory the firmware used until hand-off and Tessera may reuse. */
static bool boot_memory_reclaimable(enum boot_mem_type type)
{
	return type == BOOT_MEM_BOOT_SERVICES || type == BOOT_MEM_LOADER;
}

/** Keeps a boot file the loader read (one page more than the file, for a NUL). */
static void hv_keep_boot_file(const struct boot_file *f)
{
	if (f->data != NULL) {
		CHECK(alloc_reserve(ptr_to_hpa(f->data), f->size + 1, OWNER_HV_BOOT_FILES));
	}
}

/**
 * Takes back what the firmware and the loader used until hand-off, keeping
 * Tessera's image and the partitions' boot images. Runs on Tessera's own
 * stack and page tables: nothing uses the firmware's any more.
 */
static void hv_reclaim_boot_memory(const struct boot_info *info)
{
	uint64_t before = alloc_pages_owned(OWNER_FREE);

	for (size_t i = 0; i < info->memory_count; i++) {
		const struct boot_mem_region *r = &info->memory[i];
		uint64_t base = MAX(r->base, LOW_MEMORY_END);
		uint64_t end = r->base + r->size;

		if (boot_memory_reclaimable(r->type) && end > base) {
			alloc_add_free(hpa_init(base), end - base);
		}
	}
	/* Reserved at once: nothing allocates between adding and reserving. */
	CHECK(alloc_reserve(ptr_to_hpa(__tessera_image_start),
			    (uintptr_t)__tessera_image_end - (uintptr_t)__tessera_image_start,
			    OWNER_HV_IMAGE));
	for (unsigned int i = 0; i < info->config.partition_count; i++) {
		hv_keep_boot_file(&info->files[i].image);
		if (info->files[i].image.data != NULL) {
			hv_keep_boot_file(&info->files[i].initrd);
		}
	}
	log_info("memory: reclaimed %llu MiB the firmware used until hand-off",
		 (unsigned long long)((alloc_pages_owned(OWNER_FREE) - before) >> 8));
}

/** Prints who owns how much memory: the ledger in one short table. */
static void hv_print_ledger(void)
{
	log_info("memory ledger: free %llu KiB", (unsigned long long)(alloc_pages_owned(OWNER_FREE) * 4));
	for (owner_t o = OWNER_HYPERVISOR; o <= OWNER_HV_LAST; o++) {
		log_info("memory ledger: hypervisor, %s: %llu KiB", owner_hypervisor_name(o),
			 (unsigned long long)(alloc_pages_owned(o) * 4));
	}
	for (unsigned int i = 0; i < PARTITION_MAX; i++) {
		uint64_t pages = alloc_pages_owned(OWNER_PARTITION(i));

		if (pages > 0) {
			log_info("memory ledger: partition %s: %llu KiB",
				 partitions[i].config->name, (unsigned long long)(pages * 4));
		}
	}
}

/**
 * Runs the isolation audit over every partition. A partition whose EPT fails
 * it is stopped before it runs: the others are unaffected by its tables.
 */
static void hv_audit(void)
{
	struct audit_result total = { 0, 0, 0, 0 };

	for (unsigned int i = 0; i < PARTITION_MAX; i++) {
		struct audit_result r = audit_isolation(&partitions[i], 1, &host_mtrr);

		if (r.problems > 0) {
			partition_stop(&partitions[i], "isolation audit found %u problem(s)",
				       r.problems);
		}
		total.partitions += r.partitions;
		total.leaves += r.leaves;
		total.mapped_bytes += r.mapped_bytes;
		total.problems += r.problems;
	}
	log_info("isolation audit: %u partition(s), %llu EPT leaves, %llu KiB mapped, %u problem(s)",
		 total.partitions, (unsigned long long)total.leaves,
		 (unsigned long long)(total.mapped_bytes / 1024), total.problems);
}

/** Builds and starts every partition of the configuration. */
static void hv_start_partitions(struct boot_info *info)
{
	const struct tessera_config *config = &info->config;

	for (unsigned int i = 0; i < config->partition_count; i++) {
		const struct partition_config *pc = &config->partitions[i];
		struct partition *p = &partitions[i];

		if (info->files[i].image.data == NULL) {
			continue; /* already reported before hand-off */
		}
		if (!partition_create(p, i, pc, &info->files[i], &host_mtrr)) {
			log_error("partition '%s' refused; the others still start", pc->name);
			continue;
		}
		if (pc->autostart) {
			partition_start(p);
		}
	}
}

/** Continues on the boot CPU's own stack. */
static NORETURN void hv_main(void *arg)
{
	struct boot_info *info = arg;

	const char *mtrr_problem = NULL;

	if (!vmx_cpu_enable(this_cpu())) {
		panic("cannot enter VMX operation on the boot CPU");
	}
	fpu_cpu_init();
	mtrr_read(&host_mtrr);
	if (!mtrr_state_valid(&host_mtrr, &mtrr_problem)) {
		log_warn("the firmware's MTRRs are invalid (%s): such memory is mapped uncached",
			 mtrr_problem);
	}
	hv_reclaim_boot_memory(info);
	if (!partition_table_init()) {
		panic("no memory for the partition table");
	}
	hv_start_partitions(info);
	hv_print_ledger();
	hv_audit();
	operator_init(&info->config, &host_mtrr, hv_console_read_byte);
	operator_set_platform(console_uart, info->acpi_rsdp);
	log_debug("boot took %llu TSC ticks until the first VM entry",
		  (unsigned long long)(cpu_rdtsc() - info->entry_tsc));
	sched_run();
}

/** The hypervisor's entry after hand-off; never returns. */
void hv_start(struct boot_info *info)
{
	struct percpu *cpu;
	uint64_t phys_limit;

	cpu_cli();
	hv_console_init(info->console_uart, &info->config);
	sched_init(info->tsc_hz);
	log_info("boot services ended; Tessera owns the machine");
	lapic_quiesce();
	phys_limit = hv_init_allocator(info);
	cpu = cpu_setup_boot_cpu(phys_limit);
	if (cpu == NULL) {
		panic("cannot set up the boot CPU");
	}
	cpu_switch_stack(cpu, hv_main, info);
}
