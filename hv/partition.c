/*
 * Building, starting and stopping partitions. A partition owns its RAM (from
 * the allocator, behind an EPT that maps exactly that RAM), its I/O and MSR
 * bitmaps, its vCPUs and its virtual devices.
 */
#include "hv/partition.h"
#include "hv/alloc.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"
#include "arch/x86/vmx.h"

#define PAGES_PER_2M 512

struct partition partitions[PARTITION_MAX];
static uint16_t next_vpid = 1;

/**
 * Host frames for a guest region such that host and guest addresses agree
 * modulo 2 MiB: only then can the EPT map the region with 2 MiB pages.
 */
static bool partition_alloc_frames(uint64_t pages, gpa_t gpa, owner_t owner, hpa_t *out)
{
	uint64_t skew = (gpa_addr(gpa) % MiB(2)) / PAGE_SIZE;
	hpa_t block;

	if (pages >= PAGES_PER_2M && alloc_pages(pages + skew, PAGES_PER_2M, owner, &block)) {
		if (skew > 0) {
			alloc_free(block, skew, owner);
		}
		*out = hpa_init(hpa_addr(block) + skew * PAGE_SIZE);
		return true;
	}
	return alloc_pages(pages, 1, owner, out);
}

/** Allocates, zeroes and maps one guest RAM region. */
static bool partition_alloc_region(struct partition *p, const struct guest_region *g)
{
	struct partition_ram *r = &p->ram[p->ram_count];

	if (!partition_alloc_frames(g->size / PAGE_SIZE, g->base, OWNER_PARTITION(p->id), &r->hpa)) {
		return false;
	}
	r->gpa = g->base;
	r->size = g->size;
	p->ram_count++;
	/* A partition never sees what the previous owner of a page left there. */
	memset(hpa_to_ptr(r->hpa), 0, g->size);
	return ept_map_range(&p->ept, r->gpa, r->hpa, r->size, EPT_RWX, EPT_MT_WB);
}

/** Gives the partition its RAM, laid out as hv/layout.c says. */
static bool partition_build_memory(struct partition *p)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(p->config->memory_bytes, regions, ARRAY_SIZE(regions));
	const struct vmx_config *vmx = vmx_get_config();

	if (!ept_init(&p->ept, vmx->has_ept_2m, vmx->has_ept_1g)) {
		log_error("partition '%s': no memory for its EPT", p->config->name);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		if (!partition_alloc_region(p, &regions[i])) {
			log_error("partition '%s': not enough free memory for %llu MiB of RAM "
				  "(%llu MiB free)", p->config->name,
				  (unsigned long long)(p->config->memory_bytes >> 20),
				  (unsigned long long)(alloc_pages_owned(OWNER_FREE) >> 8));
			return false;
		}
	}
	return true;
}

/** Copies the flat image to its load address in guest RAM. */
static bool partition_load_image(struct partition *p)
{
	void *dest = partition_gpa_to_ptr(p, gpa_init(p->config->load), p->image_size);

	if (dest == NULL) {
		log_error("partition '%s': image of %llu bytes does not fit in RAM at %#llx",
			  p->config->name, (unsigned long long)p->image_size,
			  (unsigned long long)p->config->load);
		return false;
	}
	memcpy(dest, p->image, p->image_size);
	return true;
}

/** Bitmaps with every bit set: every port and every MSR exits. */
static bool partition_build_bitmaps(struct partition *p)
{
	owner_t owner = OWNER_HYPERVISOR;

	if (!alloc_pages(2, 1, owner, &p->io_bitmaps) ||
	    !alloc_pages(1, 1, owner, &p->msr_bitmap)) {
		log_error("partition '%s': no memory for its I/O and MSR bitmaps", p->config->name);
		return false;
	}
	memset(hpa_to_ptr(p->io_bitmaps), 0xff, 2 * PAGE_SIZE);
	memset(hpa_to_ptr(p->msr_bitmap), 0xff, PAGE_SIZE);
	return true;
}

/** Creates the partition's vCPUs; all start at the configured entry. */
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
		v->vpid = next_vpid++;
		p->vcpu_count = i + 1;
		if (!vmx_vcpu_create(v, p->config->entry)) {
			log_error("partition '%s': cannot create vCPU %u", p->config->name, i);
			return false;
		}
	}
	return true;
}

/** Returns everything a partition owns to the allocator, scrubbing its RAM. */
static void partition_release(struct partition *p)
{
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		if (hpa_addr(p->vcpus[i].vmcs) != 0) {
			vmx_vcpu_destroy(&p->vcpus[i]);
		}
	}
	for (size_t i = 0; i < p->ram_count; i++) {
		memset(hpa_to_ptr(p->ram[i].hpa), 0, p->ram[i].size);
		alloc_free(p->ram[i].hpa, p->ram[i].size / PAGE_SIZE, OWNER_PARTITION(p->id));
	}
	if (hpa_addr(p->io_bitmaps) != 0) {
		alloc_free(p->io_bitmaps, 2, OWNER_HYPERVISOR);
	}
	if (hpa_addr(p->msr_bitmap) != 0) {
		alloc_free(p->msr_bitmap, 1, OWNER_HYPERVISOR);
	}
	ept_destroy(&p->ept);
	p->ram_count = 0;
	p->vcpu_count = 0;
	p->state = PARTITION_EMPTY;
}

/** Builds a partition from its configuration and image; false on refusal. */
bool partition_create(struct partition *p, unsigned int id, const struct partition_config *config,
		      const void *image, uint64_t image_size)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->config = config;
	p->image = image;
	p->image_size = image_size;
	vuart_init(&p->uart, config->name);
	if (config->on_crash == CRASH_RESTART) {
		log_warn("partition '%s': on_crash = restart is not supported yet; it will stop",
			 config->name);
	}
	if (!partition_build_memory(p) || !partition_load_image(p) ||
	    !partition_build_bitmaps(p) || !partition_build_vcpus(p)) {
		partition_release(p);
		return false;
	}
	p->state = PARTITION_READY;
	log_debug("bench: partition=%s ept_bytes=%llu", config->name,
		  (unsigned long long)(p->ept.table_pages * PAGE_SIZE));
	log_info("partition '%s': %llu MiB RAM, %u vCPU(s), entry %#llx, EPT %llu KiB",
		 config->name, (unsigned long long)(config->memory_bytes >> 20), p->vcpu_count,
		 (unsigned long long)config->entry,
		 (unsigned long long)(p->ept.table_pages * PAGE_SIZE / 1024));
	return true;
}
