/*
 * The EPT builder: see arch/x86/ept.h.
 *
 * Levels are numbered from the bottom: 0 is a page table (its entries map
 * 4-KByte pages), 1 a page directory (2 MBytes per entry), 2 a
 * page-directory-pointer table (1 GByte per entry), 3 the PML4 (512 GBytes
 * per entry). Every walk below is a recursion over these levels restricted to
 * a guest-physical range, visiting only the entries that cover it.
 *
 * Large pages are never split yet: mapping inside an existing large page is
 * refused as an overlap. Splitting, when added, belongs in
 * ept_next_table(), the one place a walk descends through an entry.
 */
#include "arch/x86/ept.h"
#include "hv/alloc.h"
#include "hv/check.h"
#include "hv/phys.h"
#include "hv/string.h"

#define EPT_LEVEL_PT   0
#define EPT_LEVEL_PD   1
#define EPT_LEVEL_PDPT 2
#define EPT_LEVEL_PML4 3
#define EPT_LEVELS     4

#define EPT_ENTRIES_PER_TABLE 512
#define EPT_INDEX_BITS        9

/* EPT paging-structure entry fields (SDM 29.3.2). */
#define EPTE_ACCESS_MASK   ((uint64_t)EPT_RWX)
#define EPTE_MEMTYPE_SHIFT 3
#define EPTE_MEMTYPE_MASK  (7ULL << EPTE_MEMTYPE_SHIFT)
#define EPTE_IGNORE_PAT    BIT(6)
/* In a PDPTE or PDE: the entry maps a page rather than referencing a table. */
#define EPTE_PAGE_SIZE     BIT(7)
/* Bits 51:12; bits above the CPU's physical-address width must stay 0. */
#define EPTE_ADDR_MASK     0x000ffffffffff000ULL

/* The host-physical address space an entry can reference (52 bits). */
#define EPT_HPA_LIMIT (1ULL << 52)

/* EPTP fields (SDM Vol. 3C 25.6.11). */
#define EPTP_WALK_LENGTH_SHIFT 3
#define EPTP_ENABLE_AD         BIT(6)

/** Bytes of guest-physical address space one entry at level covers. */
static uint64_t ept_level_size(int level)
{
	return 1ULL << (PAGE_SHIFT + EPT_INDEX_BITS * level);
}

/** Index of the entry at level that translates gpa. */
static size_t ept_index(uint64_t gpa, int level)
{
	return (gpa >> (PAGE_SHIFT + EPT_INDEX_BITS * level)) &
	       (EPT_ENTRIES_PER_TABLE - 1);
}

/**
 * End of the piece of [gpa, end) that the entry at level translating gpa
 * covers.
 */
static uint64_t ept_entry_end(uint64_t gpa, uint64_t end, int level)
{
	uint64_t size = ept_level_size(level);

	return MIN(ALIGN_DOWN(gpa, size) + size, end);
}

/** The entries of the table page at table. */
static uint64_t *ept_table_entries(hpa_t table)
{
	return hpa_to_ptr(table);
}

/** Whether an entry is present: any of read, write, execute is set. */
static bool ept_entry_present(uint64_t entry)
{
	return (entry & EPTE_ACCESS_MASK) != 0;
}

/**
 * Whether a present entry at level maps a page (rather than referencing a
 * table). Bit 7 means "page" only in a PDPTE or PDE; in a PML4E it is
 * reserved and every PTE maps a page.
 */
static bool ept_entry_is_leaf(uint64_t entry, int level)
{
	if (level == EPT_LEVEL_PT) {
		return true;
	}
	return level != EPT_LEVEL_PML4 && (entry & EPTE_PAGE_SIZE) != 0;
}

/** The address an entry references: a table, or the page it maps. */
static hpa_t ept_entry_address(uint64_t entry)
{
	return hpa_init(entry & EPTE_ADDR_MASK);
}

/** The memory type of a leaf entry. */
static uint8_t ept_entry_memtype(uint64_t entry)
{
	return (uint8_t)((entry & EPTE_MEMTYPE_MASK) >> EPTE_MEMTYPE_SHIFT);
}

/**
 * A leaf entry at level mapping the page at hpa. "Ignore PAT" stays 0 so the
 * guest's PAT type combines with the EPT memory type for the effective type
 * (SDM 29.3, "EPT and Memory Typing"); setting it would force the EPT type
 * on every guest mapping, e.g. make a guest's UC mapping of RAM write-back.
 */
static uint64_t ept_make_leaf(uint64_t hpa, int level, uint32_t access,
			      uint8_t memtype)
{
	uint64_t entry = hpa | access | ((uint64_t)memtype << EPTE_MEMTYPE_SHIFT);

	if (level != EPT_LEVEL_PT) {
		entry |= EPTE_PAGE_SIZE;
	}
	return entry;
}

/**
 * An entry referencing the table at table. It allows everything: the access
 * allowed is the AND over every level of the walk (SDM 29.3.3.2), so leaving
 * the decision to the leaves keeps one place for it.
 */
static uint64_t ept_make_table_entry(hpa_t table)
{
	return hpa_addr(table) | EPT_RWX;
}

/** Whether the EPT may use a leaf at level at all. */
static bool ept_level_allows_leaf(const struct ept *ept, int level)
{
	switch (level) {
	case EPT_LEVEL_PT:
		return true;
	case EPT_LEVEL_PD:
		return ept->allow_2m;
	case EPT_LEVEL_PDPT:
		return ept->allow_1g;
	default:
		return false;
	}
}

/** Allocates a zeroed (all not-present) table page for the EPT. */
static bool ept_alloc_table(struct ept *ept, hpa_t *table)
{
	if (!alloc_pages(1, 1, OWNER_HV_EPT, table)) {
		return false;
	}
	memset(ept_table_entries(*table), 0, PAGE_SIZE);
	ept->table_pages++;
	return true;
}

/**
 * Gives the table referenced by the entry at level (above 0), creating it if
 * the entry is not present. Returns false if a table is needed and none can
 * be allocated.
 */
static bool ept_next_table(struct ept *ept, uint64_t *entry, int level,
			   hpa_t *table)
{
	CHECK(level > EPT_LEVEL_PT);
	if (ept_entry_present(*entry)) {
		/* Overlaps were refused before; splitting would go here. */
		CHECK(!ept_entry_is_leaf(*entry, level));
		*table = ept_entry_address(*entry);
		return true;
	}
	if (!ept_alloc_table(ept, table)) {
		return false;
	}
	*entry = ept_make_table_entry(*table);
	return true;
}

/** Whether no page of [gpa, end) is mapped by the table at table at level. */
static bool ept_range_is_unmapped(hpa_t table, int level, uint64_t gpa,
				  uint64_t end)
{
	const uint64_t *entries = ept_table_entries(table);

	while (gpa < end) {
		uint64_t next = ept_entry_end(gpa, end, level);
		uint64_t entry = entries[ept_index(gpa, level)];

		if (ept_entry_present(entry)) {
			if (ept_entry_is_leaf(entry, level) ||
			    !ept_range_is_unmapped(ept_entry_address(entry),
						   level - 1, gpa, next)) {
				return false;
			}
		}
		gpa = next;
	}
	return true;
}

/** The attributes every leaf of one ept_map_range() call gets. */
struct ept_leaf_attrs {
	uint32_t access;
	uint8_t memtype;
};

/**
 * Maps [gpa, end) to hpa onward below the table at table at level, with the
 * largest leaves alignment and size allow. The range must be unmapped.
 * Returns false if table pages run out, leaving what it mapped so far.
 */
static bool ept_map_level(struct ept *ept, hpa_t table, int level, uint64_t gpa,
			  uint64_t end, uint64_t hpa,
			  const struct ept_leaf_attrs *attrs)
{
	uint64_t *entries = ept_table_entries(table);
	uint64_t size = ept_level_size(level);

	while (gpa < end) {
		uint64_t next = ept_entry_end(gpa, end, level);
		uint64_t *entry = &entries[ept_index(gpa, level)];
		hpa_t subtable;

		/* A leaf must cover its whole entry: both ends aligned. */
		if (ept_level_allows_leaf(ept, level) && IS_ALIGNED(gpa, size) &&
		    IS_ALIGNED(hpa, size) && next - gpa == size) {
			CHECK(!ept_entry_present(*entry));
			*entry = ept_make_leaf(hpa, level, attrs->access,
					       attrs->memtype);
		} else if (!ept_next_table(ept, entry, level, &subtable) ||
			   !ept_map_level(ept, subtable, level - 1, gpa, next,
					  hpa, attrs)) {
			return false;
		}
		hpa += next - gpa;
		gpa = next;
	}
	return true;
}

/**
 * Clears every leaf in [gpa, end) below the table at table at level; each
 * must lie entirely within the range. Empty tables are kept.
 */
static void ept_clear_leaves(hpa_t table, int level, uint64_t gpa, uint64_t end)
{
	uint64_t *entries = ept_table_entries(table);

	while (gpa < end) {
		uint64_t next = ept_entry_end(gpa, end, level);
		uint64_t *entry = &entries[ept_index(gpa, level)];

		if (!ept_entry_present(*entry)) {
			/* Nothing mapped here. */
		} else if (ept_entry_is_leaf(*entry, level)) {
			CHECK(next - gpa == ept_level_size(level));
			*entry = 0;
		} else {
			ept_clear_leaves(ept_entry_address(*entry), level - 1,
					 gpa, next);
		}
		gpa = next;
	}
}

/** Whether access is a combination the builder may put in a leaf. */
static bool ept_access_is_valid(uint32_t access)
{
	/*
	 * Write without read is an EPT misconfiguration; execute-only is one
	 * too unless IA32_VMX_EPT_VPID_CAP bit 0 says otherwise, which this
	 * builder does not know (SDM 29.3.3.1). So reads are required.
	 */
	return (access & ~EPT_RWX) == 0 && (access & EPT_READ) != 0;
}

/** Whether memtype is an EPT memory type that is not reserved. */
static bool ept_memtype_is_valid(uint8_t memtype)
{
	switch (memtype) {
	case EPT_MT_UC:
	case EPT_MT_WC:
	case EPT_MT_WT:
	case EPT_MT_WP:
	case EPT_MT_WB:
		return true;
	default:
		return false;
	}
}

/** Whether a mapping request is well-formed (see ept_map_range()). */
static bool ept_mapping_is_valid(uint64_t gpa, uint64_t hpa, uint64_t size,
				 uint32_t access, uint8_t memtype)
{
	return size != 0 && IS_ALIGNED(gpa, PAGE_SIZE) &&
	       IS_ALIGNED(hpa, PAGE_SIZE) && IS_ALIGNED(size, PAGE_SIZE) &&
	       gpa < EPT_GPA_LIMIT && size <= EPT_GPA_LIMIT - gpa &&
	       hpa < EPT_HPA_LIMIT && size <= EPT_HPA_LIMIT - hpa &&
	       ept_access_is_valid(access) && ept_memtype_is_valid(memtype);
}

/** Starts an empty EPT: allocates and zeroes its PML4. */
bool ept_init(struct ept *ept, bool allow_2m, bool allow_1g)
{
	*ept = (struct ept){ .allow_2m = allow_2m, .allow_1g = allow_1g };
	return ept_alloc_table(ept, &ept->pml4);
}

/** Maps guest-physical [gpa, gpa + size) to host-physical hpa onward. */
bool ept_map_range(struct ept *ept, gpa_t gpa, hpa_t hpa, uint64_t size,
		   uint32_t access, uint8_t memtype)
{
	uint64_t start = gpa_addr(gpa);
	const struct ept_leaf_attrs attrs = { .access = access,
					      .memtype = memtype };

	CHECK(ept->table_pages > 0);
	if (!ept_mapping_is_valid(start, hpa_addr(hpa), size, access, memtype)) {
		return false;
	}
	/* Checked up front so that a refusal changes nothing. */
	if (!ept_range_is_unmapped(ept->pml4, EPT_LEVEL_PML4, start,
				   start + size)) {
		return false;
	}
	if (!ept_map_level(ept, ept->pml4, EPT_LEVEL_PML4, start, start + size,
			   hpa_addr(hpa), &attrs)) {
		/* The range was unmapped before: every leaf in it is ours. */
		ept_clear_leaves(ept->pml4, EPT_LEVEL_PML4, start, start + size);
		return false;
	}
	return true;
}

/** Translates gpa as the CPU would. */
bool ept_translate(const struct ept *ept, gpa_t gpa, hpa_t *hpa,
		   uint32_t *access, uint8_t *memtype, uint64_t *page_size)
{
	uint64_t addr = gpa_addr(gpa);
	hpa_t table = ept->pml4;
	uint64_t allowed = EPT_RWX;

	if (ept->table_pages == 0 || addr >= EPT_GPA_LIMIT) {
		return false;
	}
	for (int level = EPT_LEVEL_PML4; level >= EPT_LEVEL_PT; level--) {
		uint64_t entry = ept_table_entries(table)[ept_index(addr, level)];
		uint64_t size = ept_level_size(level);

		if (!ept_entry_present(entry)) {
			return false;
		}
		allowed &= entry;
		if (!ept_entry_is_leaf(entry, level)) {
			table = ept_entry_address(entry);
			continue;
		}
		if (hpa != NULL) {
			*hpa = hpa_init(hpa_addr(ept_entry_address(entry)) +
					(addr & (size - 1)));
		}
		if (access != NULL) {
			*access = (uint32_t)allowed;
		}
		if (memtype != NULL) {
			*memtype = ept_entry_memtype(entry);
		}
		if (page_size != NULL) {
			*page_size = size;
		}
		return true;
	}
	return false; /* Not reached: every page-table entry is a leaf. */
}

/** Frees the table at table at level and every table below it. */
static void ept_free_tables(struct ept *ept, hpa_t table, int level)
{
	const uint64_t *entries = ept_table_entries(table);

	/* Page tables reference no tables: every present PTE is a leaf. */
	if (level > EPT_LEVEL_PT) {
		for (size_t i = 0; i < EPT_ENTRIES_PER_TABLE; i++) {
			if (ept_entry_present(entries[i]) &&
			    !ept_entry_is_leaf(entries[i], level)) {
				ept_free_tables(ept,
						ept_entry_address(entries[i]),
						level - 1);
			}
		}
	}
	alloc_free(table, 1, OWNER_HV_EPT);
	ept->table_pages--;
}

/** Returns every table page of the EPT to the allocator. */
void ept_destroy(struct ept *ept)
{
	if (ept->table_pages == 0) {
		return;
	}
	ept_free_tables(ept, ept->pml4, EPT_LEVEL_PML4);
	/* Every table is reachable from the PML4; anything left leaked. */
	CHECK(ept->table_pages == 0);
	ept->pml4 = hpa_init(0);
}

/** The extended-page-table pointer for the VMCS. */
uint64_t ept_pointer(const struct ept *ept, bool enable_ad)
{
	uint64_t eptp = hpa_addr(ept->pml4) | EPT_MT_WB |
			((uint64_t)(EPT_LEVELS - 1) << EPTP_WALK_LENGTH_SHIFT);

	CHECK(ept->table_pages > 0);
	if (enable_ad) {
		eptp |= EPTP_ENABLE_AD;
	}
	return eptp;
}

/**
 * Calls fn for every leaf below the table at table at level, whose first
 * entry translates base; allowed is the access the levels above allow.
 */
static void ept_walk_leaves(hpa_t table, int level, uint64_t base,
			    uint64_t allowed, ept_leaf_fn fn, void *ctx)
{
	const uint64_t *entries = ept_table_entries(table);
	uint64_t size = ept_level_size(level);

	for (size_t i = 0; i < EPT_ENTRIES_PER_TABLE; i++) {
		uint64_t entry = entries[i];
		uint64_t gpa = base + i * size;

		if (!ept_entry_present(entry)) {
			continue;
		}
		if (ept_entry_is_leaf(entry, level)) {
			fn(ctx, gpa_init(gpa), ept_entry_address(entry), size,
			   (uint32_t)(allowed & entry & EPTE_ACCESS_MASK),
			   ept_entry_memtype(entry));
		} else {
			ept_walk_leaves(ept_entry_address(entry), level - 1, gpa,
					allowed & entry, fn, ctx);
		}
	}
}

/** Calls fn for every leaf of the EPT in ascending guest-physical order. */
void ept_for_each_leaf(const struct ept *ept, ept_leaf_fn fn, void *ctx)
{
	if (ept->table_pages == 0) {
		return;
	}
	ept_walk_leaves(ept->pml4, EPT_LEVEL_PML4, 0, EPT_RWX, fn, ctx);
}
