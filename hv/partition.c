/*
 * Building, starting and stopping partitions. A partition owns its RAM (from
 * the allocator, behind an EPT that maps exactly that RAM), its I/O and MSR
 * bitmaps, its vCPUs and its virtual devices.
 */
#include "hv/partition.h"
#include "hv/vcpu_events.h"
#include "hv/exit.h"
#include "hv/alloc.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"
#include "arch/x86/cpu.h"
#include "arch/x86/io_bitmap.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/rtc_read.h"
#include "arch/x86/vmx.h"

struct partition *partitions;

/** Allocates the (zeroed) partition table; false when memory is short. */
bool partition_table_init(void)
{
	uint64_t pages = ALIGN_UP(PARTITION_MAX * sizeof(struct partition), PAGE_SIZE) / PAGE_SIZE;
	hpa_t table;

	if (!alloc_pages(pages, 1, OWNER_HYPERVISOR, &table)) {
		return false;
	}
	partitions = memset(hpa_to_ptr(table), 0, pages * PAGE_SIZE);
	return true;
}
static uint16_t next_vpid = 1;

/** Resets the platform devices; the virtual RTC starts at the machine's wall-clock time. */
static void partition_reset_platform(struct partition *p)
{
	uint64_t now = cpu_rdtsc();
	struct vrtc_time wall;

	if (!rtc_read_wall_time(&wall, now)) {
		log_warn("partition '%s': the machine's RTC is unreadable; its clock starts at "
			 "%u-01-01", p->config->name, RTC_FALLBACK_YEAR);
	}
	platform_init(p, &wall, now);
}

/** Writes the platform's ACPI tables into the partition's fresh RAM. */
static bool partition_install_tables(struct partition *p)
{
	if (!platform_install_tables(p)) {
		log_error("partition '%s': its ACPI tables do not fit at %#llx", p->config->name,
			  (unsigned long long)PLATFORM_ACPI_BASE);
		return false;
	}
	return true;
}

/**
 * Makes every port exit except the configured ioports ranges, which the
 * configuration parser checked (no host, console or other partition's port).
 */
static void partition_build_io_bitmaps(struct partition *p)
{
	uint8_t *bitmaps = hpa_to_ptr(p->io_bitmaps);

	io_bitmap_init(bitmaps);
	for (unsigned int i = 0; i < p->config->ioport_count; i++) {
		const struct io_range *range = &p->config->ioports[i];

		io_bitmap_pass(bitmaps, range->first, range->last);
		if (range->first == range->last) {
			log_info("partition '%s': port 0x%x passed through to hardware",
				 p->config->name, range->first);
		} else {
			log_info("partition '%s': ports 0x%x-0x%x passed through to hardware",
				 p->config->name, range->first, range->last);
		}
	}
}

/** Ports exit unless passed (ioports); MSRs exit except those a guest may own (msr_bitmap.h). */
static bool partition_build_bitmaps(struct partition *p)
{
	owner_t owner = OWNER_HV_VMX;

	if (!alloc_pages(2, 1, owner, &p->io_bitmaps) ||
	    !alloc_pages(1, 1, owner, &p->msr_bitmap)) {
		log_error("partition '%s': no memory for its I/O and MSR bitmaps", p->config->name);
		return false;
	}
	partition_build_io_bitmaps(p);
	msr_bitmap_init(hpa_to_ptr(p->msr_bitmap), vmx_get_config()->has_rdtscp);
	return true;
}

/** Creates the partition's vCPUs; all start at boot_entry with boot_rsi in RSI. */
static bool partition_build_vcpus(struct partition *p)
{
	/* Secondary vCPUs need INIT/SIPI emulation, which does not exist yet. */
	if (p->config->vcpus != 1) {
		log_error("partition '%s': %u vCPUs asked, but this version runs exactly 1 "
			  "vCPU per partition", p->config->name, p->config->vcpus);
		return false;
	}
	for (unsigned int i = 0; i < p->config->vcpus; i++) {
		struct vcpu *v = &p->vcpus[i];

		memset(v, 0, sizeof(*v));
		v->partition = p;
		v->index = i;
		v->state = VCPU_STOPPED;
		/*
		 * VPID 0 belongs to VMX root operation. A VPID used again after
		 * the wrap is safe: its partition's combined mappings were
		 * flushed with its EPT (INVEPT, SDM 29.4.3.1).
		 */
		v->vpid = next_vpid++;
		if (next_vpid == 0) {
			next_vpid = 1;
		}
		vcpu_msrs_reset(v);
		p->vcpu_count = i + 1;
		if (!vmx_vcpu_create(v, gpa_addr(p->boot_entry))) {
			log_error("partition '%s': cannot create vCPU %u", p->config->name, i);
			return false;
		}
		v->regs.rsi = p->boot_rsi;
		vcpu_events_init(v);
	}
	return true;
}

/** Gives the partition its console output buffer, console_buffer bytes (kept across restarts). */
static bool partition_alloc_console_log(struct partition *p)
{
	uint64_t size = p->config->console_buffer_bytes;
	hpa_t buffer;

	/* The parser guarantees whole pages; a hand-made configuration may say 0. */
	if (size == 0) {
		size = CONFIG_DEFAULT_CONSOLE_BUFFER;
	}
	size = ALIGN_UP(size, PAGE_SIZE);
	if (!alloc_pages(size / PAGE_SIZE, 1, OWNER_HV_CONSOLE, &buffer)) {
		return false;
	}
	ring_init(&p->console_log, hpa_to_ptr(buffer), (size_t)size);
	return true;
}

/** Returns everything a partition owns to the allocator, scrubbing its RAM. */
static void partition_release(struct partition *p)
{
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		vmx_vcpu_destroy(&p->vcpus[i]);
	}
	partition_memory_release(p);
	if (hpa_addr(p->io_bitmaps) != 0) {
		alloc_free(p->io_bitmaps, 2, OWNER_HV_VMX);
	}
	if (hpa_addr(p->msr_bitmap) != 0) {
		alloc_free(p->msr_bitmap, 1, OWNER_HV_VMX);
	}
	if (p->console_log.buffer != NULL) {
		alloc_free(ptr_to_hpa(p->console_log.buffer), p->console_log.size / PAGE_SIZE,
			   OWNER_HV_CONSOLE);
		p->console_log.buffer = NULL;
	}
	p->vcpu_count = 0;
	p->state = PARTITION_EMPTY;
}

/** Builds a partition from its configuration and boot files; false on refusal. */
bool partition_create(struct partition *p, unsigned int id, const struct partition_config *config,
		      const struct boot_files *files, const struct mtrr_state *mtrr)
{
	const struct vmx_config *vmx = vmx_get_config();

	memset(p, 0, sizeof(*p));
	p->id = id;
	p->config = config;
	p->files = *files;
	p->mtrr = mtrr;
	if (!partition_alloc_console_log(p)) {
		log_error("partition '%s': no memory for its console buffer", config->name);
		return false;
	}
	vuart_init(&p->uart, config->name, &p->console_log);
	/* Each vCPU reaches its own local APIC at the same address (hv/mmio.c). */
	mmio_map_add(&p->mmio, gpa_init(VLAPIC_DEFAULT_BASE), PAGE_SIZE, &vlapic_mmio_ops, NULL);
	partition_reset_platform(p);
	mmio_map_add(&p->mmio, gpa_init(VIOAPIC_BASE), VIOAPIC_SIZE, &vioapic_mmio_ops,
		     &p->platform.ioapic);
	mmio_map_add(&p->mmio, gpa_init(LAYOUT_LOW_RAM_END), LAYOUT_HIGH_RAM_BASE - LAYOUT_LOW_RAM_END,
		     &platform_legacy_window_ops, &p->platform);
	if (config->test_device) {
		/* In the MMIO hole: never RAM, so every access reaches the device. */
		mmio_map_add(&p->mmio, gpa_init(VDEV_TEST_BASE), VDEV_TEST_SIZE, &vdev_test_ops,
			     &p->test_device);
		log_info("partition '%s': MMIO test device at %#llx", config->name,
			 (unsigned long long)VDEV_TEST_BASE);
	}
	if (!partition_memory_build(p, mtrr, vmx->has_ept_2m, vmx->has_ept_1g) ||
	    !partition_install_tables(p) || !partition_load_boot_files(p) ||
	    !partition_build_bitmaps(p) || !partition_build_vcpus(p)) {
		partition_release(p);
		return false;
	}
	p->state = PARTITION_READY;
	log_debug("bench: partition=%s ept_bytes=%llu", config->name,
		  (unsigned long long)(p->ept.table_pages * PAGE_SIZE));
	log_info("partition '%s': %llu MiB RAM, %u vCPU(s), entry %#llx, EPT %llu KiB",
		 config->name, (unsigned long long)(config->memory_bytes >> 20), p->vcpu_count,
		 (unsigned long long)gpa_addr(p->boot_entry),
		 (unsigned long long)(p->ept.table_pages * PAGE_SIZE / 1024));
	return true;
}

/**
 * Boots a stopped partition again from its kept image: fresh, zeroed RAM
 * (the old was scrubbed when it stopped), fresh vCPUs in their power-on
 * state, the same devices reset. False (logged, partition left stopped) when
 * its memory cannot be had again.
 */
bool partition_restart(struct partition *p)
{
	const struct vmx_config *vmx = vmx_get_config();

	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		vmx_vcpu_destroy(&p->vcpus[i]);
	}
	p->vcpu_count = 0;
	partition_memory_release(p);
	vuart_init(&p->uart, p->config->name, &p->console_log);
	/* A fresh UART has no tap: the operator's stays across the restart. */
	vuart_set_raw_output(&p->uart, p->console_tap, p->console_tap_ctx);
	memset(&p->test_device, 0, sizeof(p->test_device));
	partition_reset_platform(p);
	if (!partition_memory_build(p, p->mtrr, vmx->has_ept_2m, vmx->has_ept_1g) ||
	    !partition_install_tables(p) || !partition_load_boot_files(p) ||
	    !partition_build_vcpus(p)) {
		log_error("partition '%s': restart failed; it stays stopped", p->config->name);
		partition_memory_release(p);
		return false;
	}
	p->restarts++;
	p->exit_code = 0;
	p->stop_reason[0] = '\0';
	log_info("partition '%s' restarts (restart %u)", p->config->name, p->restarts);
	partition_mark_running(p, PARTITION_CHANGE_RESTARTED);
	return true;
}
