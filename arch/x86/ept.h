/*
 * Extended page tables (EPT): the second-level translation from a partition's
 * guest-physical addresses to host-physical addresses (Intel SDM Vol. 3C,
 * 29.3).
 *
 * This module builds and inspects the four-level EPT paging structures
 * (PML4, page-directory-pointer table, page directory, page table). Table
 * pages come from the page allocator (hv/alloc.h), owned by
 * OWNER_HV_EPT, and are reached through hpa_to_ptr() (hv/phys.h), so the
 * whole builder runs in the host unit tests.
 *
 * The builder never touches the memory it maps; which host memory a
 * partition may be given is decided by its caller (and checked by the
 * isolation audit through ept_for_each_leaf()).
 *
 * Not thread-safe, and entries are written without regard for a CPU walking
 * the tables concurrently: build an EPT before its partition runs.
 */
#ifndef TESSERA_ARCH_X86_EPT_H
#define TESSERA_ARCH_X86_EPT_H

#include "hv/types.h"

/* Access rights of a mapping: bits 2:0 of an EPT entry (SDM 29.3.2). */
#define EPT_READ  (1U << 0)
#define EPT_WRITE (1U << 1)
#define EPT_EXEC  (1U << 2) /* supervisor-mode execute without MBEC */
#define EPT_RWX   (EPT_READ | EPT_WRITE | EPT_EXEC)

/*
 * EPT memory types (bits 5:3 of an EPT leaf entry; SDM 29.3, "EPT and Memory
 * Typing"). 2, 3 and 7 are reserved and cause an EPT misconfiguration.
 */
#define EPT_MT_UC 0 /* uncacheable: MMIO */
#define EPT_MT_WC 1 /* write-combining: frame buffers */
#define EPT_MT_WT 4 /* write-through */
#define EPT_MT_WP 5 /* write-protected */
#define EPT_MT_WB 6 /* write-back: ordinary RAM */

/* The page sizes an EPT leaf can map. */
#define EPT_PAGE_SIZE_4K PAGE_SIZE
#define EPT_PAGE_SIZE_2M MiB(2)
#define EPT_PAGE_SIZE_1G GiB(1)

/*
 * A four-level EPT translates bits 47:0 of a guest-physical address; higher
 * guest-physical addresses cannot be mapped.
 */
#define EPT_GPA_LIMIT (1ULL << 48)

/** One EPT hierarchy: the translation of one partition. */
struct ept {
	/** Host-physical address of the EPT PML4 table. */
	hpa_t pml4;
	/** Number of table pages (the PML4 included) this EPT holds. */
	uint64_t table_pages;
	/** Whether 2-MByte pages may be used (the CPU must support them). */
	bool allow_2m;
	/** Whether 1-GByte pages may be used (the CPU must support them). */
	bool allow_1g;
};

/**
 * Starts an empty EPT: allocates and zeroes its PML4. allow_2m and allow_1g
 * say which large pages the CPU supports (IA32_VMX_EPT_VPID_CAP bits 16 and
 * 17). Returns false if no page is left.
 */
bool ept_init(struct ept *ept, bool allow_2m, bool allow_1g);

/**
 * Maps guest-physical [gpa, gpa + size) to host-physical [hpa, hpa + size)
 * with the given access rights (EPT_READ, EPT_WRITE, EPT_EXEC) and memory
 * type (EPT_MT_*).
 *
 * gpa, hpa and size must be page-aligned and size non-zero. Each piece is
 * mapped with the largest page the alignment of both gpa and hpa and the
 * remaining size allow, among those the EPT was initialised to use.
 * The guest's PAT stays in force ("ignore PAT" is 0), combining with the
 * memory type as the MTRRs would.
 *
 * Returns false, leaving every existing mapping as it was, if the arguments
 * are invalid (misaligned, beyond EPT_GPA_LIMIT or the 52-bit physical
 * address space, write without read, execute-only, a reserved memory type),
 * if any part of the range is already mapped, or if table pages run out.
 * (After running out, table pages allocated meanwhile stay in the EPT, empty,
 * until ept_destroy().)
 */
bool ept_map_range(struct ept *ept, gpa_t gpa, hpa_t hpa, uint64_t size,
		   uint32_t access, uint8_t memtype);

/**
 * Translates gpa as the CPU would: on success gives the host-physical address
 * gpa maps to, the access rights allowed at every level, the leaf's memory
 * type and the size of the page mapping it. Any output pointer may be NULL.
 * Returns false if gpa is not mapped.
 */
bool ept_translate(const struct ept *ept, gpa_t gpa, hpa_t *hpa,
		   uint32_t *access, uint8_t *memtype, uint64_t *page_size);

/**
 * Returns every table page of the EPT to the allocator and leaves the EPT
 * empty (table_pages 0). Does nothing to an EPT already destroyed or never
 * initialised (all zero). The mapped memory itself is untouched.
 */
void ept_destroy(struct ept *ept);

/**
 * Drops every translation the CPUs may have cached for this EPT (INVEPT,
 * SDM 29.4.3.1): before its tables are freed or a mapping is taken away.
 */
void ept_flush_cached(const struct ept *ept);

/**
 * The extended-page-table pointer for the VMCS (SDM Vol. 3C 25.6.11): the
 * PML4 address, write-back paging-structure memory type, page-walk length 4,
 * and, if enable_ad, accessed and dirty flags (SDM 29.3, "Accessed and Dirty
 * Flags for EPT"). The caller must have checked that the CPU supports what it
 * asks for (IA32_VMX_EPT_VPID_CAP bits 6, 14 and 21).
 */
uint64_t ept_pointer(const struct ept *ept, bool enable_ad);

/** Receives one leaf of an EPT: size bytes at gpa map to hpa. */
typedef void (*ept_leaf_fn)(void *ctx, gpa_t gpa, hpa_t hpa, uint64_t size,
			    uint32_t access, uint8_t memtype);

/**
 * Calls fn for every leaf (mapped page) of the EPT in ascending
 * guest-physical order, with the access rights allowed at every level.
 */
void ept_for_each_leaf(const struct ept *ept, ept_leaf_fn fn, void *ctx);

#endif /* TESSERA_ARCH_X86_EPT_H */
