/*
 * Guest linear-address translation: the guest's own paging, walked in
 * software as the CPU walks it (Intel SDM Vol. 3A, Chapter 4), so that the
 * instruction interpreter can fetch the bytes and reach the memory operands
 * of an instruction that touched MMIO, and raise exactly the #PF (error code
 * and CR2) the CPU would have raised.
 *
 * Modelled:
 * - every paging mode (SDM 4.1.1): paging off (linear = physical, 32 bits),
 *   32-bit paging (4-KByte pages, 4-MByte pages with CR4.PSE, PSE-36 address
 *   bits 39:32), PAE paging (4-KByte and 2-MByte pages), 4-level and 5-level
 *   paging (CR4.LA57; 4-KByte, 2-MByte and 1-GByte pages);
 * - canonical addresses under 4-level and 5-level paging (a distinct result:
 *   the caller injects #GP(0), or #SS(0) for a stack access);
 * - the reserved bits of every entry, with the guest's MAXPHYADDR and XD
 *   reserved while IA32_EFER.NXE = 0;
 * - access rights (SDM 4.6.1): R/W with CR0.WP, U/S, XD, SMEP and SMAP;
 * - the #PF error code (SDM 4.7): P, W/R, U/S, RSVD and I/D.
 *
 * Not modelled, on purpose:
 * - protection keys (CR4.PKE/PKS): PK is never set in the error code and bits
 *   62:59 of a leaf entry are treated as the ignored bits they are without
 *   PKE; CET shadow stacks and HLAT likewise;
 * - the PDPTE registers of PAE paging. A real CPU reads the four PDPTEs when
 *   CR3 is loaded (SDM 4.4.1) and translates with those copies even if the
 *   guest rewrites its PDPT afterwards (under VMX they live in the VMCS's
 *   guest PDPTE fields). This walker reads them from memory at CR3 on every
 *   walk: the simpler model, and the same unless the guest changed its PDPT
 *   without reloading CR3. A PDPTE with a reserved bit set, which the CPU
 *   would refuse with #GP at the CR3 load, is reported here as a #PF with
 *   RSVD;
 * - accessed and dirty flags (SDM 4.8) are never written. The accesses the
 *   interpreter makes repeat those of an instruction the CPU itself started
 *   and already translated (setting A, and D for the write, on its way), and
 *   their target is MMIO, not memory a guest pages out by its dirty bits.
 *   Walking never writes guest memory, which also keeps it free of races with
 *   the guest's own updates of its tables;
 * - 1-GByte pages are taken as supported (CPUID.80000001H:EDX.Page1GB).
 *
 * The walker reads guest-physical memory only through a callback, never
 * writes it, and keeps no state: it runs unchanged in the host unit tests.
 */
#ifndef TESSERA_HV_GUEST_PAGING_H
#define TESSERA_HV_GUEST_PAGING_H

#include "hv/types.h"

/* The MAXPHYADDR taken when guest_paging_mode.maxphyaddr is 0. */
#define GUEST_MAXPHYADDR_DEFAULT 46

/**
 * The paging controls as the guest sees them: for CR0 and CR4, the bits the
 * guest believes it set (read shadows applied), since those are the bits its
 * page tables were written for.
 */
struct guest_paging_mode {
	uint64_t cr0;
	uint64_t cr3;
	uint64_t cr4;
	uint64_t efer;
	/** The guest's CPUID.80000008H:EAX[7:0], 32..52; 0 means the default. */
	unsigned int maxphyaddr;
};

/**
 * What an access does: bits 1:0 of an access_flags argument, ORed with the
 * ACCESS_USER, ACCESS_IMPLICIT and ACCESS_AC modifiers below.
 */
enum guest_access {
	ACCESS_READ = 0,
	ACCESS_WRITE = 1,
	ACCESS_FETCH = 2,
};

#define ACCESS_KIND_MASK 0x3U

/*
 * A user-mode access (SDM 4.6.1): made at CPL 3 and not implicit. Without it
 * the access is a supervisor-mode access.
 */
#define ACCESS_USER (1U << 2)

/*
 * An implicit supervisor-mode access (GDT, LDT, IDT, TSS): supervisor-mode
 * whatever the CPL, and under SMAP it may not reach a user-mode page even
 * with EFLAGS.AC = 1. Never combined with ACCESS_USER. (Newer SDM revisions
 * let EFLAGS.AC exempt implicit accesses made at CPL < 3 as well; a caller
 * wanting that passes ACCESS_AC without ACCESS_IMPLICIT at CPL < 3.)
 */
#define ACCESS_IMPLICIT (1U << 3)

/*
 * EFLAGS.AC = 1: with CR4.SMAP = 1, explicit supervisor-mode data accesses may
 * reach user-mode pages (SDM 4.6.1). Meaningless for user-mode accesses and
 * instruction fetches.
 */
#define ACCESS_AC (1U << 4)

/* The page-fault error code (SDM 4.7). */
#define PF_ERR_P    (1U << 0) /* 0: not present; 1: protection or reserved bit */
#define PF_ERR_W    (1U << 1) /* the access was a write */
#define PF_ERR_U    (1U << 2) /* the access was a user-mode access */
#define PF_ERR_RSVD (1U << 3) /* a reserved bit was set in some entry */
#define PF_ERR_ID   (1U << 4) /* an instruction fetch, with SMEP or PAE and NXE */
#define PF_ERR_PK   (1U << 5) /* protection keys: never set by this walker */

/**
 * Reads size bytes of guest-physical memory at gpa into buf; returns false,
 * leaving buf undefined, if any of them is not the partition's RAM.
 */
typedef bool (*guest_phys_read_fn)(void *ctx, gpa_t gpa, void *buf,
				   unsigned int size);

/** How a translation ended. */
enum guest_walk_result {
	/** Translated: *gpa is the guest-physical address. */
	WALK_OK,
	/** The guest's tables say no: inject #PF(*pf_error_code), CR2 = linear. */
	WALK_PAGE_FAULT,
	/**
	 * A paging-structure entry (or, for guest_read_linear, the data) is not
	 * in RAM: *gpa is the guest-physical address that was not. The CPU
	 * would have faulted on its own walk, so this is the guest's doing;
	 * what to do with it is the caller's policy.
	 */
	WALK_BAD_PHYSICAL,
	/** Not canonical under 4- or 5-level paging: inject #GP(0) (#SS(0)). */
	WALK_NON_CANONICAL,
};

/**
 * Translates linear to a guest-physical address through the guest's paging
 * as mode describes it, for an access described by access_flags (an enum
 * guest_access value ORed with ACCESS_USER / ACCESS_IMPLICIT / ACCESS_AC).
 * Without 4- or 5-level paging, only bits 31:0 of linear count.
 *
 * Always sets *gpa (0 unless WALK_OK or WALK_BAD_PHYSICAL) and
 * *pf_error_code (0 unless WALK_PAGE_FAULT).
 */
enum guest_walk_result guest_linear_to_physical(const struct guest_paging_mode *mode,
						uint64_t linear,
						unsigned int access_flags,
						guest_phys_read_fn read, void *ctx,
						gpa_t *gpa, uint32_t *pf_error_code);

/**
 * Reads size (> 0) bytes at linear into buf through the guest's paging,
 * translating every 4-KByte linear page the range touches on its own, in
 * ascending order, as the CPU does for an access that crosses a page
 * boundary. Linear addresses wrap at 4 GBytes without 4- or 5-level paging.
 *
 * On WALK_OK, *gpa is the guest-physical address of the first byte and
 * *fault_linear is 0. On anything else, *fault_linear is the linear address
 * at which the failing piece starts (the CR2 value of a #PF: linear itself,
 * or the start of a later page), and *gpa and *pf_error_code are as
 * guest_linear_to_physical() sets them for that piece; buf then holds the
 * pieces before it.
 *
 * For an instruction fetch, ask for the bytes the instruction needs (or
 * retry with fewer): the CPU faults on a following page only if the
 * instruction really extends into it.
 */
enum guest_walk_result guest_read_linear(const struct guest_paging_mode *mode,
					 uint64_t linear, void *buf,
					 unsigned int size,
					 unsigned int access_flags,
					 guest_phys_read_fn read, void *ctx,
					 gpa_t *gpa, uint32_t *pf_error_code,
					 uint64_t *fault_linear);

#endif /* TESSERA_HV_GUEST_PAGING_H */
