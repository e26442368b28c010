/*
 * A partition's RAM: host frames from the allocator (contiguous where the
 * free memory allows, in pieces where it does not), zeroed before first use,
 * mapped by the EPT at the guest-physical layout of hv/layout.c with the
 * memory type the host MTRRs give each frame, and scrubbed when returned.
 *
 * Under EPT the host MTRRs do not apply to guest accesses: the EPT memory
 * type replaces them (SDM Vol. 3C, 29.3.7 "EPT and Memory Typing"), so it
 * must be what the MTRRs say, or a guest could cache device memory.
 */
#include "hv/partition.h"
#include "hv/alloc.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/string.h"

#define PAGES_PER_2M (MiB(2) / PAGE_SIZE)

/**
 * Host frames for @pages such that host and guest addresses agree modulo
 * 2 MiB (only then can the EPT use 2 MiB pages); any frames when the chunk is
 * smaller than 2 MiB or no such block is free.
 */
static bool partition_alloc_congruent(uint64_t pages, gpa_t gpa, owner_t owner, hpa_t *out)
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

/** Maps one chunk, split where the MTRR memory type changes. */
static bool partition_map_chunk(struct partition *p, const struct partition_ram *r,
				const struct mtrr_state *mtrr)
{
	uint64_t start = hpa_addr(r->hpa);
	uint64_t end = start + r->size;

	for (uint64_t at = start; at < end;) {
		uint8_t type;
		uint64_t run_end = mtrr_uniform_run(mtrr, at, end, &type);

		if (!ept_map_range(&p->ept, gpa_init(gpa_addr(r->gpa) + (at - start)), hpa_init(at),
				   run_end - at, EPT_RWX, type)) {
			return false;
		}
		at = run_end;
	}
	return true;
}

/** Records, zeroes and maps a chunk the partition now owns. */
static bool partition_add_chunk(struct partition *p, gpa_t gpa, hpa_t hpa, uint64_t pages,
				const struct mtrr_state *mtrr)
{
	struct partition_ram *r;

	if (p->ram_count == PARTITION_MAX_CHUNKS) {
		alloc_free(hpa, pages, OWNER_PARTITION(p->id));
		log_error("partition '%s': free memory is too fragmented (more than %u pieces)",
			  p->config->name, PARTITION_MAX_CHUNKS);
		return false;
	}
	r = &p->ram[p->ram_count++];
	r->gpa = gpa;
	r->hpa = hpa;
	r->size = pages * PAGE_SIZE;
	/* A partition never sees what the previous owner of a frame left there. */
	memset(hpa_to_ptr(hpa), 0, r->size);
	return partition_map_chunk(p, r, mtrr);
}

/** Backs one guest region with host chunks, halving the chunk size on failure. */
static bool partition_add_region(struct partition *p, const struct guest_region *g,
				 const struct mtrr_state *mtrr)
{
	uint64_t gpa = gpa_addr(g->base);
	uint64_t remaining = g->size / PAGE_SIZE;
	uint64_t chunk = remaining;

	while (remaining > 0) {
		hpa_t hpa;

		chunk = MIN(chunk, remaining);
		if (partition_alloc_congruent(chunk, gpa_init(gpa), OWNER_PARTITION(p->id), &hpa)) {
			if (!partition_add_chunk(p, gpa_init(gpa), hpa, chunk, mtrr)) {
				return false;
			}
			gpa += chunk * PAGE_SIZE;
			remaining -= chunk;
		} else if (chunk == 1) {
			return false;
		} else {
			chunk = chunk > PAGES_PER_2M ? ALIGN_UP(chunk / 2, PAGES_PER_2M) : chunk / 2;
		}
	}
	return true;
}

/** Gives the partition its RAM and builds its EPT; false (logged) on refusal. */
bool partition_memory_build(struct partition *p, const struct mtrr_state *mtrr, bool allow_2m,
			    bool allow_1g)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(p->config->memory_bytes, regions, ARRAY_SIZE(regions));
	uint64_t asked = p->config->memory_bytes / PAGE_SIZE;
	uint64_t free_pages = alloc_pages_owned(OWNER_FREE);

	char asked_text[FORMAT_BYTES_MAX];
	char free_text[FORMAT_BYTES_MAX];

	format_bytes(asked_text, asked * PAGE_SIZE);
	format_bytes(free_text, free_pages * PAGE_SIZE);
	if (asked > free_pages) {
		log_error("partition '%s': asks for %s of RAM, but only %s are free", p->config->name,
			  asked_text, free_text);
		return false;
	}
	if (count == 0 || !ept_init(&p->ept, allow_2m, allow_1g)) {
		log_error("partition '%s': cannot set up its EPT", p->config->name);
		return false;
	}
	for (size_t i = 0; i < count; i++) {
		/* The numbers are those before the build: the half-built RAM goes back. */
		if (!partition_add_region(p, &regions[i], mtrr)) {
			log_error("partition '%s': cannot back %s of RAM (%s were free, too little "
				  "of it in pieces the EPT tables could also use)", p->config->name,
				  asked_text, free_text);
			return false;
		}
	}
	return true;
}

/** Scrubs the partition's RAM, returns it to the free pool and drops its EPT. */
void partition_memory_release(struct partition *p)
{
	for (size_t i = 0; i < p->ram_count; i++) {
		const struct partition_ram *r = &p->ram[i];

		/* The next owner must not read this partition's secrets. */
		memset(hpa_to_ptr(r->hpa), 0, r->size);
		alloc_free(r->hpa, r->size / PAGE_SIZE, OWNER_PARTITION(p->id));
	}
	p->ram_count = 0;
	if (hpa_addr(p->ept.pml4) != 0) {
		ept_flush_cached(&p->ept);
		ept_destroy(&p->ept);
	}
}
