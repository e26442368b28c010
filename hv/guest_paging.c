/*
 * Guest linear-address translation in software: see hv/guest_paging.h.
 *
 * Every paging mode is a table of levels (struct gp_format, top level
 * first), and a walk is one loop over that table: read the entry, stop on P
 * = 0, check its reserved bits, fold its access rights into those of the
 * translation, then either stop at a page or descend to the next table.
 * Access rights are judged only once the walk reaches a page, because they
 * are those of all the entries together (SDM 4.6.1): a missing entry further
 * down is therefore reported as not present (P = 0) even when a higher entry
 * already forbade the access, as the CPU reports it.
 */
#include "hv/guest_paging.h"

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "hv/check.h"

/* Bits hi..lo of a 64-bit value (hi >= lo). */
#define GP_BITS(hi, lo) ((~0ULL >> (63 - (hi))) & ~((1ULL << (lo)) - 1))

/* Paging-structure entry bits shared by every mode (SDM 4.3, 4.4, 4.5). */
#define GP_P  BIT(0)  /* present */
#define GP_RW BIT(1)  /* read/write */
#define GP_US BIT(2)  /* user/supervisor */
#define GP_PS BIT(7)  /* page size, in an entry that may map a page */
#define GP_XD BIT(63) /* execute-disable, only with PAE entries and NXE */

/* PSE-36 (SDM 4.3, Table 4-4): a 4-MByte PDE holds address bits 39:32 in 20:13. */
#define GP_PSE36_SHIFT    13
#define GP_PSE36_MAX_BITS 40
#define GP_4M_FRAME       GP_BITS(31, 22)

#define GP_LINEAR_32 0xffffffffULL

/* struct gp_level flags. */
#define GP_LEVEL_PAGE       (1U << 0) /* PS = 1 maps a page here */
#define GP_LEVEL_NEEDS_PSE  (1U << 1) /* ... only with CR4.PSE = 1 (32-bit PDE) */
#define GP_LEVEL_PSE36      (1U << 2) /* the page's bits 39:32 sit in 20:13 */
#define GP_LEVEL_NO_RIGHTS  (1U << 3) /* no R/W, U/S or XD (PAE PDPTE) */

/**
 * One level of a paging-structure hierarchy: which linear-address bits index
 * it and which of its entries' bits are reserved whatever MAXPHYADDR and NXE
 * are (those two are added by gp_reserved_bits()).
 */
struct gp_level {
	uint8_t shift;          /* lowest linear-address bit of the index */
	uint8_t index_bits;     /* width of the index */
	uint8_t flags;          /* GP_LEVEL_* */
	uint64_t reserved;      /* in an entry referencing a table */
	uint64_t reserved_page; /* in an entry mapping a page */
};

/** A paging mode: its levels, top first, and the shape of its entries. */
struct gp_format {
	const struct gp_level *levels;
	unsigned int level_count;
	unsigned int entry_bytes;  /* 4 (32-bit paging) or 8 */
	unsigned int linear_bits;  /* 32 (wraps), 48 or 57 (must be canonical) */
	unsigned int address_top;  /* entry bits address_top-1:MAXPHYADDR reserved */
	bool has_xd;               /* bit 63 is XD with NXE, reserved without */
	uint64_t cr3_mask;         /* where CR3 holds the top table's address */
};

/* 32-bit paging (SDM 4.3): a PDE then a PTE, 1024 4-byte entries each. */
static const struct gp_level gp_levels_32bit[] = {
	{ .shift = 22, .index_bits = 10,
	  .flags = GP_LEVEL_PAGE | GP_LEVEL_NEEDS_PSE | GP_LEVEL_PSE36 },
	{ .shift = 12, .index_bits = 10 },
};

/*
 * PAE paging (SDM 4.4): four PDPTEs that carry only P (Table 4-8), then PDEs
 * that may map 2-MByte pages (Table 4-9), then PTEs.
 */
static const struct gp_level gp_levels_pae[] = {
	{ .shift = 30, .index_bits = 2, .flags = GP_LEVEL_NO_RIGHTS,
	  .reserved = GP_BITS(2, 1) | GP_BITS(8, 5) | BIT(63) },
	{ .shift = 21, .index_bits = 9, .flags = GP_LEVEL_PAGE,
	  .reserved_page = GP_BITS(20, 13) },
	{ .shift = 12, .index_bits = 9 },
};

/*
 * 5-level paging (SDM 4.5); 4-level paging is the same without the PML5.
 * PS is reserved in a PML5E and a PML4E; a PDPTE may map a 1-GByte page
 * (Table 4-16), a PDE a 2-MByte page (Table 4-18).
 */
static const struct gp_level gp_levels_5level[] = {
	{ .shift = 48, .index_bits = 9, .reserved = GP_PS },
	{ .shift = 39, .index_bits = 9, .reserved = GP_PS },
	{ .shift = 30, .index_bits = 9, .flags = GP_LEVEL_PAGE,
	  .reserved_page = GP_BITS(29, 13) },
	{ .shift = 21, .index_bits = 9, .flags = GP_LEVEL_PAGE,
	  .reserved_page = GP_BITS(20, 13) },
	{ .shift = 12, .index_bits = 9 },
};

static const struct gp_format gp_format_32bit = {
	.levels = gp_levels_32bit, .level_count = ARRAY_SIZE(gp_levels_32bit),
	.entry_bytes = 4, .linear_bits = 32, .address_top = 0,
	.has_xd = false, .cr3_mask = GP_BITS(31, 12),
};

/* PAE entries reserve bits 62:M, and CR3 bits 31:5 locate the PDPT. */
static const struct gp_format gp_format_pae = {
	.levels = gp_levels_pae, .level_count = ARRAY_SIZE(gp_levels_pae),
	.entry_bytes = 8, .linear_bits = 32, .address_top = 63,
	.has_xd = true, .cr3_mask = GP_BITS(31, 5),
};

/* 4- and 5-level entries reserve bits 51:M; bits 62:52 are ignored. */
static const struct gp_format gp_format_4level = {
	.levels = &gp_levels_5level[1], .level_count = 4,
	.entry_bytes = 8, .linear_bits = 48, .address_top = 52,
	.has_xd = true, .cr3_mask = GP_BITS(51, 12),
};

static const struct gp_format gp_format_5level = {
	.levels = gp_levels_5level, .level_count = ARRAY_SIZE(gp_levels_5level),
	.entry_bytes = 8, .linear_bits = 57, .address_top = 52,
	.has_xd = true, .cr3_mask = GP_BITS(51, 12),
};

/** One translation in progress. */
struct gp_walk {
	const struct guest_paging_mode *mode;
	const struct gp_format *format;
	unsigned int maxphyaddr;
	unsigned int access;
	guest_phys_read_fn read;
	void *ctx;
	/* Access rights of the entries so far: R/W, U/S set and XD clear in all. */
	bool writable;
	bool user;
	bool executable;
};

/** The guest's MAXPHYADDR, the default standing in for 0. */
static unsigned int gp_maxphyaddr(const struct guest_paging_mode *mode)
{
	unsigned int m = mode->maxphyaddr;

	if (m == 0) {
		m = GUEST_MAXPHYADDR_DEFAULT;
	}
	CHECK(m >= 32 && m <= 52);
	return m;
}

/** The paging mode CR0, CR4 and EFER select (SDM 4.1.1); NULL without paging. */
static const struct gp_format *gp_format_of(const struct guest_paging_mode *mode)
{
	if ((mode->cr0 & CR0_PG) == 0) {
		return NULL;
	}
	if ((mode->cr4 & CR4_PAE) == 0) {
		return &gp_format_32bit;
	}
	if ((mode->efer & EFER_LME) == 0) {
		return &gp_format_pae;
	}
	return (mode->cr4 & CR4_LA57) != 0 ? &gp_format_5level : &gp_format_4level;
}

/** Whether linear is canonical for a width of bits: bits 63:bits-1 all equal. */
static bool gp_canonical(uint64_t linear, unsigned int bits)
{
	uint64_t upper = linear >> (bits - 1);

	return upper == 0 || upper == (~0ULL >> (bits - 1));
}

/** Reads the entry_bytes-wide entry at gpa; false if it is not in RAM. */
static bool gp_read_entry(const struct gp_walk *w, uint64_t gpa, uint64_t *entry)
{
	uint32_t narrow;

	if (w->format->entry_bytes == sizeof(narrow)) {
		if (!w->read(w->ctx, gpa_init(gpa), &narrow, sizeof(narrow))) {
			return false;
		}
		*entry = narrow;
		return true;
	}
	return w->read(w->ctx, gpa_init(gpa), entry, sizeof(*entry));
}

/** Whether entry, at level index i, maps a page rather than a table. */
static bool gp_maps_page(const struct gp_walk *w, unsigned int i, uint64_t entry)
{
	const struct gp_level *level = &w->format->levels[i];

	if (i + 1 == w->format->level_count) {
		return true;
	}
	if ((level->flags & GP_LEVEL_PAGE) == 0 || (entry & GP_PS) == 0) {
		return false;
	}
	/* 32-bit paging ignores PS unless CR4.PSE = 1 (SDM 4.3). */
	return (level->flags & GP_LEVEL_NEEDS_PSE) == 0 ||
	       (w->mode->cr4 & CR4_PSE) != 0;
}

/**
 * The reserved bits of a present entry at level (SDM 4.3-4.5): the level's
 * own, the address bits above MAXPHYADDR, XD while NXE = 0, and for a PSE-36
 * page the address bits above MAXPHYADDR (capped at 40) in bits 21:13.
 */
static uint64_t gp_reserved_bits(const struct gp_walk *w,
				 const struct gp_level *level, bool page)
{
	uint64_t reserved = page ? level->reserved_page : level->reserved;
	unsigned int top = w->format->address_top;

	if (top > w->maxphyaddr) {
		reserved |= GP_BITS(top - 1, w->maxphyaddr);
	}
	if (w->format->has_xd && (w->mode->efer & EFER_NXE) == 0) {
		reserved |= GP_XD;
	}
	if (page && (level->flags & GP_LEVEL_PSE36) != 0) {
		unsigned int m = MIN(w->maxphyaddr, GP_PSE36_MAX_BITS);

		reserved |= GP_BITS(21, GP_PSE36_SHIFT + m - 32);
	}
	return reserved;
}

/** Folds the access rights entry grants into those of the walk (SDM 4.6.1). */
static void gp_fold_rights(struct gp_walk *w, const struct gp_level *level,
			   uint64_t entry)
{
	if ((level->flags & GP_LEVEL_NO_RIGHTS) != 0) {
		return;
	}
	w->writable = w->writable && (entry & GP_RW) != 0;
	w->user = w->user && (entry & GP_US) != 0;
	/* With NXE = 0 a set bit 63 was refused as reserved already. */
	if (w->format->has_xd && (entry & GP_XD) != 0) {
		w->executable = false;
	}
}

/** The guest-physical address of linear within the page entry maps. */
static uint64_t gp_page_address(const struct gp_walk *w,
				const struct gp_level *level, uint64_t entry,
				uint64_t linear)
{
	uint64_t offset = linear & GP_BITS(level->shift - 1, 0);
	uint64_t frame;

	if ((level->flags & GP_LEVEL_PSE36) != 0) {
		/* Reserved-bit checks left only bits that fit MAXPHYADDR. */
		frame = (entry & GP_4M_FRAME) |
			(((entry >> GP_PSE36_SHIFT) & 0xff) << 32);
	} else {
		frame = entry & GP_BITS(w->maxphyaddr - 1, level->shift);
	}
	return frame | offset;
}

/** Whether SMAP forbids this supervisor data access to a user page (SDM 4.6.1). */
static bool gp_smap_blocks(const struct gp_walk *w)
{
	if ((w->mode->cr4 & CR4_SMAP) == 0) {
		return false;
	}
	return (w->access & ACCESS_AC) == 0 || (w->access & ACCESS_IMPLICIT) != 0;
}

/** Whether the rights the walk gathered allow the access (SDM 4.6.1). */
static bool gp_access_allowed(const struct gp_walk *w)
{
	unsigned int kind = w->access & ACCESS_KIND_MASK;

	if ((w->access & ACCESS_USER) != 0) {
		if (!w->user) {
			return false;
		}
		return kind == ACCESS_READ ||
		       (kind == ACCESS_WRITE ? w->writable : w->executable);
	}
	if (kind == ACCESS_FETCH) {
		return w->executable && !(w->user && (w->mode->cr4 & CR4_SMEP) != 0);
	}
	if (w->user && gp_smap_blocks(w)) {
		return false;
	}
	/* CR0.WP = 0 lets supervisor writes ignore R/W. */
	return kind == ACCESS_READ || w->writable ||
	       (w->mode->cr0 & CR0_WP) == 0;
}

/**
 * The #PF error code for the walk's access with the cause bits (P, RSVD)
 * given. I/D is set for fetches only with SMEP, or with PAE entries and NXE
 * (SDM 4.7); W/R and U/S describe the access, not the entries.
 */
static uint32_t gp_error_code(const struct gp_walk *w, uint32_t cause)
{
	unsigned int kind = w->access & ACCESS_KIND_MASK;
	uint32_t code = cause;
	bool pae_nxe = (w->mode->cr4 & CR4_PAE) != 0 &&
		       (w->mode->efer & EFER_NXE) != 0;

	if (kind == ACCESS_WRITE) {
		code |= PF_ERR_W;
	}
	if ((w->access & ACCESS_USER) != 0) {
		code |= PF_ERR_U;
	}
	if (kind == ACCESS_FETCH && ((w->mode->cr4 & CR4_SMEP) != 0 || pae_nxe)) {
		code |= PF_ERR_ID;
	}
	return code;
}

/** Reports a page fault with the cause bits given. */
static enum guest_walk_result gp_fault(const struct gp_walk *w, uint32_t cause,
				       uint32_t *pf_error_code)
{
	*pf_error_code = gp_error_code(w, cause);
	return WALK_PAGE_FAULT;
}

/** Walks the guest's tables for linear (SDM 4.3-4.5: one loop, all modes). */
static enum guest_walk_result gp_walk(struct gp_walk *w, uint64_t linear,
				      gpa_t *gpa, uint32_t *pf_error_code)
{
	const struct gp_format *format = w->format;
	uint64_t table = w->mode->cr3 & format->cr3_mask &
			 GP_BITS(w->maxphyaddr - 1, 0);

	for (unsigned int i = 0; i < format->level_count; i++) {
		const struct gp_level *level = &format->levels[i];
		uint64_t index = (linear >> level->shift) &
				 GP_BITS(level->index_bits - 1, 0);
		uint64_t entry_gpa = table + index * format->entry_bytes;
		uint64_t entry;
		bool page;

		if (!gp_read_entry(w, entry_gpa, &entry)) {
			*gpa = gpa_init(entry_gpa);
			return WALK_BAD_PHYSICAL;
		}
		if ((entry & GP_P) == 0) {
			return gp_fault(w, 0, pf_error_code);
		}
		page = gp_maps_page(w, i, entry);
		if ((entry & gp_reserved_bits(w, level, page)) != 0) {
			return gp_fault(w, PF_ERR_P | PF_ERR_RSVD, pf_error_code);
		}
		gp_fold_rights(w, level, entry);
		if (page) {
			if (!gp_access_allowed(w)) {
				return gp_fault(w, PF_ERR_P, pf_error_code);
			}
			*gpa = gpa_init(gp_page_address(w, level, entry, linear));
			return WALK_OK;
		}
		table = entry & GP_BITS(w->maxphyaddr - 1, PAGE_SHIFT);
	}
	/* The last level of every format maps a page: never reached. */
	CHECK(false);
	return WALK_BAD_PHYSICAL;
}

/** Checks that access_flags is one access kind with consistent modifiers. */
static void gp_check_access_flags(unsigned int access_flags)
{
	unsigned int known = ACCESS_KIND_MASK | ACCESS_USER | ACCESS_IMPLICIT |
			     ACCESS_AC;

	CHECK((access_flags & ~known) == 0);
	CHECK((access_flags & ACCESS_KIND_MASK) <= ACCESS_FETCH);
	CHECK((access_flags & (ACCESS_USER | ACCESS_IMPLICIT)) !=
	      (ACCESS_USER | ACCESS_IMPLICIT));
}

/**
 * Translates linear with paging on (format). Kept out of line so that the
 * common case without paging, which the interpreter meets on every access of
 * a guest that has not turned paging on, costs a few instructions.
 */
__attribute__((noinline))
static enum guest_walk_result gp_translate(const struct guest_paging_mode *mode,
					   const struct gp_format *format, uint64_t linear,
					   unsigned int access_flags, guest_phys_read_fn read,
					   void *ctx, gpa_t *gpa, uint32_t *pf_error_code)
{
	struct gp_walk w = {
		.mode = mode, .format = format,
		.maxphyaddr = gp_maxphyaddr(mode), .access = access_flags,
		.read = read, .ctx = ctx,
		.writable = true, .user = true, .executable = true,
	};

	*gpa = gpa_init(0);
	if (format->linear_bits == 32) {
		linear &= GP_LINEAR_32;
	} else if (!gp_canonical(linear, format->linear_bits)) {
		return WALK_NON_CANONICAL;
	}
	return gp_walk(&w, linear, gpa, pf_error_code);
}

/** Translates linear through the guest's paging: see hv/guest_paging.h. */
enum guest_walk_result guest_linear_to_physical(const struct guest_paging_mode *mode,
						uint64_t linear,
						unsigned int access_flags,
						guest_phys_read_fn read, void *ctx,
						gpa_t *gpa, uint32_t *pf_error_code)
{
	const struct gp_format *format = gp_format_of(mode);

	gp_check_access_flags(access_flags);
	*pf_error_code = 0;
	/* Outside IA-32e mode, linear addresses are 32 bits (SDM 4.1.1). */
	if (format == NULL) {
		*gpa = gpa_init(linear & GP_LINEAR_32);
		return WALK_OK;
	}
	return gp_translate(mode, format, linear, access_flags, read, ctx, gpa, pf_error_code);
}

/** Whether linear addresses of mode wrap at 4 GBytes (no IA-32e paging). */
static bool gp_linear_wraps_32(const struct guest_paging_mode *mode)
{
	const struct gp_format *format = gp_format_of(mode);

	return format == NULL || format->linear_bits == 32;
}

/** Reads linear page by page through the guest's paging: see hv/guest_paging.h. */
enum guest_walk_result guest_read_linear(const struct guest_paging_mode *mode,
					 uint64_t linear, void *buf,
					 unsigned int size,
					 unsigned int access_flags,
					 guest_phys_read_fn read, void *ctx,
					 gpa_t *gpa, uint32_t *pf_error_code,
					 uint64_t *fault_linear)
{
	uint8_t *out = buf;
	gpa_t first = gpa_init(0);
	bool wraps = gp_linear_wraps_32(mode);

	CHECK(size > 0);
	*fault_linear = 0;
	for (unsigned int done = 0; done < size;) {
		uint64_t at = wraps ? (linear + done) & GP_LINEAR_32 : linear + done;
		unsigned int chunk = (unsigned int)MIN(size - done,
						       PAGE_SIZE - (at & ~PAGE_MASK));
		enum guest_walk_result result = guest_linear_to_physical(
			mode, at, access_flags, read, ctx, gpa, pf_error_code);

		if (result == WALK_OK && !read(ctx, *gpa, out + done, chunk)) {
			result = WALK_BAD_PHYSICAL;
		}
		if (result != WALK_OK) {
			*fault_linear = at;
			return result;
		}
		if (done == 0) {
			first = *gpa;
		}
		done += chunk;
	}
	*gpa = first;
	return WALK_OK;
}
