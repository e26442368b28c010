/*
 * The page-frame allocator and ownership ledger.
 *
 * The ledger records, for every page of usable RAM the firmware reported, who
 * owns it: nobody (free), the hypervisor, or one partition. It is the single
 * source of truth for "which memory belongs to whom", which the isolation
 * audit later checks every EPT against.
 *
 * It is pure bookkeeping: it never reads or writes the memory it manages
 * (callers zero what they allocate through hpa_to_ptr()), so it runs
 * unchanged in the host unit tests.
 *
 * Representation: a table of extents (base, page count, owner) sorted by base
 * address, never overlapping, covering exactly the RAM added; two extents
 * that touch never share an owner (they are merged). Consequently a range
 * owned entirely by one owner always lies within a single extent. The table
 * has a fixed capacity and lives in static storage.
 *
 * Every public function takes the ledger's lock: partitions are built,
 * stopped and restarted while other CPUs run.
 */
#ifndef TESSERA_HV_ALLOC_H
#define TESSERA_HV_ALLOC_H

#include "hv/types.h"

/** Who owns a page of RAM. */
typedef uint16_t owner_t;

#define OWNER_FREE           ((owner_t)0)
/* The hypervisor, by what it keeps there (owners 1-15). */
#define OWNER_HYPERVISOR     ((owner_t)1) /* per-CPU data and stacks */
#define OWNER_HV_IMAGE       ((owner_t)2) /* Tessera's own image */
#define OWNER_HV_PAGE_TABLES ((owner_t)3) /* the hypervisor's own page tables */
#define OWNER_HV_VMX         ((owner_t)4) /* VMXON regions, VMCSs, I/O and MSR bitmaps */
#define OWNER_HV_EPT         ((owner_t)5) /* EPT paging structures */
#define OWNER_HV_BOOT_FILES  ((owner_t)6) /* partition images kept for restarts */
#define OWNER_HV_CONSOLE     ((owner_t)7) /* partitions' console output buffers */
#define OWNER_HV_LAST        OWNER_HV_CONSOLE
#define OWNER_PARTITION_BASE ((owner_t)16)
/* Partition i (0-based) owns its memory as OWNER_PARTITION(i). */
#define OWNER_PARTITION(i)   ((owner_t)(OWNER_PARTITION_BASE + (i)))
/* Not an owner: the answer for an address the ledger does not know as RAM. */
#define OWNER_NONE           ((owner_t)0xffff)

/* Maximum number of extents the ledger can hold. */
#define ALLOC_MAX_EXTENTS 1024

/*
 * The ledger only manages addresses below this bound (the architectural
 * maximum physical-address width, 52 bits), which also keeps its arithmetic
 * far from overflow.
 */
#define ALLOC_ADDRESS_LIMIT (1ULL << 52)

/** A range of physical addresses: [base, base + size). */
struct mem_range {
	uint64_t base;
	uint64_t size;
};

/** Empties the ledger: it knows no RAM at all. */
void alloc_init(void);

/**
 * Adds usable RAM [base, base + size) as free. The range is shrunk inward to
 * whole pages; a range holding no whole page adds nothing and succeeds.
 * Returns false, changing nothing, if the range overlaps RAM already known,
 * reaches ALLOC_ADDRESS_LIMIT, or the ledger is full.
 */
bool alloc_add_free(hpa_t base, uint64_t size);

/**
 * Gives [base, base + size), widened outward to whole pages, to owner, e.g.
 * the hypervisor's own image. Returns false, changing nothing, unless every
 * page of it is known RAM and free (or the ledger is full).
 */
bool alloc_reserve(hpa_t base, uint64_t size, owner_t owner);

/**
 * Allocates count physically contiguous pages for owner, starting at a
 * multiple of align_pages pages (a power of two; 1 for any page). First fit:
 * the lowest suitable address wins. Returns false if no free run fits.
 */
bool alloc_pages(uint64_t count, uint64_t align_pages, owner_t owner,
		 hpa_t *out);

/**
 * As alloc_pages(), but the whole allocation must also end at or below
 * limit, for structures that must sit low (e.g. limit 4 GiB).
 */
bool alloc_pages_below(uint64_t count, uint64_t align_pages, hpa_t limit,
		       owner_t owner, hpa_t *out);

/**
 * Returns count pages at base to the free pool. CHECKs that every one of
 * them is currently owned by expected_owner, so a double free, or freeing
 * someone else's memory, stops the hypervisor instead of corrupting the
 * ledger.
 */
void alloc_free(hpa_t base, uint64_t count, owner_t expected_owner);

/** Owner of the page containing page; OWNER_NONE if it is not known RAM. */
owner_t alloc_owner_of(hpa_t page);

/** Number of pages owner holds (OWNER_FREE: the free pages). */
uint64_t alloc_pages_owned(owner_t owner);

/**
 * The one owner of every page of [base, base + pages pages); OWNER_NONE when
 * the pages have several owners or are not all known RAM.
 */
owner_t alloc_range_owner(hpa_t base, uint64_t pages);

/** True for the owners that stand for the hypervisor itself. */
static inline bool owner_is_hypervisor(owner_t owner)
{
	return owner >= OWNER_HYPERVISOR && owner < OWNER_PARTITION_BASE;
}

/** What a hypervisor owner keeps, for the ledger ("EPT tables"); NULL otherwise. */
const char *owner_hypervisor_name(owner_t owner);

/** Number of extents in the ledger, for printing it. */
size_t alloc_extent_count(void);

/**
 * Extent i in address order (0 <= i < alloc_extent_count()). Returns false
 * when i is out of range.
 */
bool alloc_extent_at(size_t i, hpa_t *base, uint64_t *pages, owner_t *owner);

#endif /* TESSERA_HV_ALLOC_H */
