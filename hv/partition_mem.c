/*
 * Guest-physical to host translation for a partition's RAM, as the
 * hypervisor itself needs it (hypercall buffers, image loading).
 */
#include "hv/partition.h"
#include "hv/phys.h"

/** Translates a guest-physical range inside the partition's RAM to a pointer. */
void *partition_gpa_to_ptr(const struct partition *p, gpa_t gpa, uint64_t size)
{
	uint64_t start = gpa_addr(gpa);

	for (size_t i = 0; i < p->ram_count; i++) {
		const struct partition_ram *r = &p->ram[i];
		uint64_t base = gpa_addr(r->gpa);

		/* Written to avoid overflow: start + size may wrap. */
		if (start >= base && start - base < r->size && size <= r->size - (start - base)) {
			return hpa_to_ptr(hpa_init(hpa_addr(r->hpa) + (start - base)));
		}
	}
	return NULL;
}
