/*
 * Guest-physical to host translation for a partition's RAM, as the
 * hypervisor itself needs it (hypercall buffers, image loading).
 */
#include "hv/partition.h"
#include "hv/phys.h"
#include "hv/string.h"

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

/** Bytes of RAM from @gpa to the end of its host piece; 0 if @gpa is not RAM. */
uint64_t partition_contiguous_bytes(const struct partition *p, gpa_t gpa)
{
	uint64_t at = gpa_addr(gpa);

	for (size_t i = 0; i < p->ram_count; i++) {
		uint64_t base = gpa_addr(p->ram[i].gpa);

		if (at >= base && at - base < p->ram[i].size) {
			return p->ram[i].size - (at - base);
		}
	}
	return 0;
}

/** True when every byte of [gpa, gpa + size) is the partition's RAM. */
static bool partition_range_is_ram(const struct partition *p, uint64_t gpa, uint64_t size)
{
	while (size > 0) {
		uint64_t piece = partition_contiguous_bytes(p, gpa_init(gpa));

		if (piece == 0) {
			return false;
		}
		piece = MIN(piece, size);
		gpa += piece;
		size -= piece;
	}
	return true;
}

/** Copies between guest RAM and a host buffer, piece by piece. */
static bool partition_copy(const struct partition *p, uint64_t at, uint8_t *buffer,
			   uint64_t size, bool to_guest)
{
	if (at + size < at || !partition_range_is_ram(p, at, size)) {
		return false;
	}
	while (size > 0) {
		uint64_t piece = MIN(partition_contiguous_bytes(p, gpa_init(at)), size);
		uint8_t *guest = partition_gpa_to_ptr(p, gpa_init(at), piece);

		if (to_guest) {
			memcpy(guest, buffer, piece);
		} else {
			memcpy(buffer, guest, piece);
		}
		buffer += piece;
		at += piece;
		size -= piece;
	}
	return true;
}

/** Copies bytes into guest RAM, across pieces; false if any byte is not RAM. */
bool partition_copy_to_guest(struct partition *p, gpa_t gpa, const void *src, uint64_t size)
{
	return partition_copy(p, gpa_addr(gpa), (uint8_t *)src, size, true);
}

/** Copies bytes out of guest RAM, across pieces; false if any byte is not RAM. */
bool partition_copy_from_guest(const struct partition *p, void *dst, gpa_t gpa, uint64_t size)
{
	return partition_copy(p, gpa_addr(gpa), dst, size, false);
}
