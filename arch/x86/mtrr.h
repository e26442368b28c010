/*
 * Memory type range registers (MTRRs; SDM Vol. 3A, "Memory Type Range
 * Registers (MTRRs)"): which memory type the host's firmware gave each page
 * of host-physical memory.
 *
 * Why a hypervisor needs them: while EPT is in use the MTRRs play no part in
 * a guest's accesses; the memory type of the EPT leaf takes their place and
 * is combined with the guest's PAT as the MTRR type would be (SDM Vol. 3C,
 * "EPT and Memory Typing"). Each EPT leaf must therefore carry the type the
 * MTRRs give the host memory behind it, or a guest could reach UC device
 * memory as WB. A large EPT page has one type, so the EPT builder maps large
 * pages only across runs of one type (mtrr_uniform_run()).
 *
 * Everything but mtrr_read() is pure computation over a struct mtrr_state,
 * so it runs in the host unit tests. The memory types are the EPT_MT_*
 * numbers of arch/x86/ept.h: the SDM encodes MTRR and EPT memory types alike
 * (0 UC, 1 WC, 4 WT, 5 WP, 6 WB; 2, 3 and 7 and above reserved), so a type
 * found here goes into an EPT leaf unchanged.
 */
#ifndef TESSERA_ARCH_X86_MTRR_H
#define TESSERA_ARCH_X86_MTRR_H

#include "hv/types.h"

/*
 * How many variable ranges a struct mtrr_state holds. IA32_MTRRCAP.VCNT is
 * 8 bits wide, but processors implement 8 or 10, and the MSR numbers leave
 * room for at most 40 pairs (0x200-0x24f) before the fixed-range MTRRs. 16
 * covers every known processor; mtrr_read() stores at most this many and
 * counts in variable_dropped any enabled range beyond it, which
 * mtrr_state_valid() refuses rather than silently ignoring its type.
 */
#define MTRR_MAX_VARIABLE 16

/* The fixed-range MTRRs: 11 registers of 8 type bytes for the first MiB. */
#define MTRR_FIXED_COUNT 11
#define MTRR_FIXED_LIMIT MiB(1)

/* IA32_MTRRCAP fields (SDM Vol. 3A, "MTRR Feature Identification"). */
#define MTRRCAP_VCNT_MASK 0xffULL
#define MTRRCAP_FIX       BIT(8)
#define MTRRCAP_WC        BIT(10)
#define MTRRCAP_SMRR      BIT(11)

/* IA32_MTRR_DEF_TYPE fields (SDM Vol. 3A, "IA32_MTRR_DEF_TYPE MSR"). */
#define MTRR_DEF_TYPE_TYPE_MASK 0xffULL
#define MTRR_DEF_TYPE_FE        BIT(10)
#define MTRR_DEF_TYPE_E         BIT(11)

/*
 * IA32_MTRR_PHYSBASEn / IA32_MTRR_PHYSMASKn fields (SDM Vol. 3A, "Variable
 * Range MTRRs"). PhysBase and PhysMask occupy bits MAXPHYADDR-1:12.
 */
#define MTRR_PHYSBASE_TYPE_MASK 0xffULL
#define MTRR_PHYSMASK_VALID     BIT(11)

/* The widest physical address the architecture allows (MAXPHYADDR). */
#define MTRR_MAX_PHYS_ADDR_BITS 52
/* The narrowest accepted; CPUID.80000008H absent means 36 (SDM). */
#define MTRR_MIN_PHYS_ADDR_BITS 32

/** One variable-range MTRR pair, as read from the MSRs. */
struct mtrr_variable {
	uint64_t base; /* IA32_MTRR_PHYSBASEn: PhysBase and Type */
	uint64_t mask; /* IA32_MTRR_PHYSMASKn: PhysMask and V (valid) */
};

/** The MTRRs of one processor: what decides the memory type of a page. */
struct mtrr_state {
	/* IA32_MTRR_DEF_TYPE.E: when false every page is UC. */
	bool enabled;
	/* IA32_MTRR_DEF_TYPE.FE, and IA32_MTRRCAP.FIX says they exist. */
	bool fixed_enabled;
	/* IA32_MTRR_DEF_TYPE.Type: for pages no enabled MTRR maps. */
	uint8_t default_type;
	/*
	 * The fixed-range MTRRs in address order: FIX64K_00000,
	 * FIX16K_80000, FIX16K_A0000, FIX4K_C0000 ... FIX4K_F8000. Byte i of
	 * each (bits 8i+7:8i) types its i-th sub-range, lowest address first.
	 */
	uint64_t fixed[MTRR_FIXED_COUNT];
	/* The variable-range pairs 0 .. variable_count - 1. */
	struct mtrr_variable variable[MTRR_MAX_VARIABLE];
	/* How many pairs of variable[] are in use: min(VCNT, the maximum). */
	unsigned int variable_count;
	/* Enabled pairs beyond MTRR_MAX_VARIABLE, not stored: must be 0. */
	unsigned int variable_dropped;
	/* MAXPHYADDR (CPUID.80000008H:EAX[7:0]): the width of PhysMask. */
	unsigned int phys_addr_bits;
};

/**
 * The memory type (EPT_MT_*) the MTRRs give the page holding host-physical
 * address, by the rules of SDM Vol. 3A, "MTRR Precedences":
 *  - MTRRs disabled (E clear): UC;
 *  - below 1 MiB with fixed ranges enabled: the fixed-range type;
 *  - otherwise the enabled variable ranges that match: one, or several of one
 *    type: that type; UC among them: UC; only WT and WB: WT;
 *  - any other overlap is undefined by the SDM: UC, the type every other
 *    type may safely be strengthened to (SDM Vol. 3A, "Remapping Memory
 *    Types"): a slower guest, never a cached device register;
 *  - no match: the default type.
 * A reserved type in the state (refused by mtrr_state_valid()) counts as UC.
 */
uint8_t mtrr_type_of_page(const struct mtrr_state *s, uint64_t address);

/**
 * The run of pages from base on that share one memory type: stores the type
 * of page base in *type (if type is not NULL) and returns the end of the run,
 * exclusive and page-aligned: the first page after base of another type, or
 * limit if every page up to limit has base's type. base is rounded down to
 * its page and limit down to a page boundary; if base is then not below
 * limit the run is empty and base is returned.
 *
 * The end is found from the points where the type can change (the edges of
 * fixed-range sub-ranges, the points where each variable range starts or
 * stops matching), not page by page, so a run of many GiB costs a handful of
 * steps. A variable range whose PhysMask is not contiguous (legal, but
 * discouraged by the SDM) matches in many separate blocks: a run across them
 * costs a step per block, which may be many.
 */
uint64_t mtrr_uniform_run(const struct mtrr_state *s, uint64_t base,
			  uint64_t limit, uint8_t *type);

/**
 * Whether the MTRRs in force hold only what the SDM allows: a MAXPHYADDR
 * from MTRR_MIN_PHYS_ADDR_BITS to MTRR_MAX_PHYS_ADDR_BITS, no more variable
 * ranges than are stored, and, when the MTRRs are enabled, defined memory
 * types in IA32_MTRR_DEF_TYPE, the fixed-range MTRRs (if enabled) and every
 * enabled variable range, and no reserved bits in enabled PhysBase/PhysMask
 * pairs. Registers without effect (MTRRs disabled, FE clear, V clear) are
 * not examined: their contents are undefined after reset.
 *
 * On failure stores in *problem (if problem is not NULL) a sentence naming
 * the MSR at fault; on success stores NULL.
 */
bool mtrr_state_valid(const struct mtrr_state *s, const char **problem);

/**
 * Reads this processor's MTRRs into *s (hypervisor only: executes CPUID and
 * RDMSR). A processor without MTRRs (CPUID.01H:EDX.MTRR clear) reads as
 * MTRRs disabled, so every page is UC. Check the result with
 * mtrr_state_valid() before using it.
 */
void mtrr_read(struct mtrr_state *s);

#endif /* TESSERA_ARCH_X86_MTRR_H */
