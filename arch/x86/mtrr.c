/*
 * MTRR memory typing: see arch/x86/mtrr.h.
 *
 * A variable range matches an address when
 *     address AND PhysMask = PhysBase AND PhysMask
 * over bits MAXPHYADDR-1:12 (SDM Vol. 3A, "Variable Range MTRRs"). Where the
 * mask is contiguous (ones from MAXPHYADDR-1 down to some bit k) the range
 * is one naturally aligned block of 2^k bytes. The SDM permits other masks;
 * they match a repeating pattern of 2^k-byte blocks, k being the lowest set
 * bit of the mask. Nothing here assumes a contiguous mask: the boundaries of
 * a range are computed for any mask (variable_next_change()).
 */
#include "arch/x86/mtrr.h"

#include "arch/x86/ept.h"
#include "hv/check.h"

/* Returned by the boundary helpers when no boundary lies ahead. */
#define NO_BOUNDARY UINT64_MAX

/**
 * One group of fixed-range MTRRs of equal granule (SDM Vol. 3A, "Fixed
 * Range MTRRs", table "Address Mapping for Fixed-Range MTRRs").
 */
struct mtrr_fixed_block {
	uint64_t start;            /* first address the group maps */
	unsigned int granule_bits; /* log2 of the bytes one type byte maps */
	unsigned int first_msr;    /* its first MSR's index in .fixed[] */
};

/* From the top down, so that the first block not above an address holds it. */
static const struct mtrr_fixed_block mtrr_fixed_blocks[] = {
	{ .start = 0xc0000, .granule_bits = 12, .first_msr = 3 }, /* 8 x 32K */
	{ .start = 0x80000, .granule_bits = 14, .first_msr = 1 }, /* 2 x 128K */
	{ .start = 0x00000, .granule_bits = 16, .first_msr = 0 }, /* 1 x 512K */
};

/** Whether t is a memory type the SDM defines for MTRRs (0, 1, 4, 5, 6). */
static bool mtrr_type_defined(uint64_t t)
{
	return t == EPT_MT_UC || t == EPT_MT_WC || t == EPT_MT_WT ||
	       t == EPT_MT_WP || t == EPT_MT_WB;
}

/**
 * t as a type to hand out: a reserved type (possible only in a state
 * mtrr_state_valid() refuses) becomes UC, so that it never reaches an EPT
 * leaf, where it would cause an EPT misconfiguration.
 */
static uint8_t mtrr_usable_type(uint64_t t)
{
	return mtrr_type_defined(t) ? (uint8_t)t : EPT_MT_UC;
}

/**
 * The bits PhysBase and PhysMask occupy: MAXPHYADDR-1:12. An out-of-range
 * width (refused by mtrr_state_valid()) is clamped so that shifts stay
 * defined.
 */
static uint64_t mtrr_phys_field(const struct mtrr_state *s)
{
	unsigned int bits = MIN(s->phys_addr_bits, MTRR_MAX_PHYS_ADDR_BITS);

	return (BIT(bits) - 1) & PAGE_MASK;
}

/**
 * How many of s->variable[] to look at: variable_count, clamped to the array
 * for a state mtrr_state_valid() would refuse.
 */
static unsigned int mtrr_variable_count(const struct mtrr_state *s)
{
	if (s->variable_count > MTRR_MAX_VARIABLE) {
		return MTRR_MAX_VARIABLE;
	}
	return s->variable_count;
}

/** Whether the fixed-range MTRRs, not the variable ones, type address. */
static bool mtrr_fixed_applies(const struct mtrr_state *s, uint64_t address)
{
	return s->fixed_enabled && address < MTRR_FIXED_LIMIT;
}

/** The fixed-range group holding address (which is below 1 MiB). */
static const struct mtrr_fixed_block *mtrr_fixed_block_of(uint64_t address)
{
	size_t i = 0;

	while (mtrr_fixed_blocks[i].start > address) {
		i++;
	}
	return &mtrr_fixed_blocks[i];
}

/** The fixed-range type byte for address (which is below 1 MiB). */
static uint8_t mtrr_fixed_type(const struct mtrr_state *s, uint64_t address)
{
	const struct mtrr_fixed_block *block = mtrr_fixed_block_of(address);
	uint64_t granule = (address - block->start) >> block->granule_bits;
	uint64_t msr = s->fixed[block->first_msr + granule / 8];

	return mtrr_usable_type((msr >> (8 * (granule % 8))) & 0xff);
}

/* The bit of a type in a set of types. */
#define MTRR_TYPE_BIT(t) (1U << (t))

/** Whether variable range v is enabled and matches address. */
static bool mtrr_variable_matches(const struct mtrr_variable *v,
				  uint64_t field, uint64_t address)
{
	return (v->mask & MTRR_PHYSMASK_VALID) != 0 &&
	       ((address ^ v->base) & v->mask & field) == 0;
}

/**
 * The type the variable ranges give address, by SDM Vol. 3A, "MTRR
 * Precedences": collect the types of every matching range as a set (one bit
 * per type), then apply the rules to the set.
 */
static uint8_t mtrr_variable_type(const struct mtrr_state *s, uint64_t address)
{
	uint64_t field = mtrr_phys_field(s);
	unsigned int count = mtrr_variable_count(s);
	uint32_t seen = 0;

	for (unsigned int i = 0; i < count; i++) {
		const struct mtrr_variable *v = &s->variable[i];
		uint64_t t = v->base & MTRR_PHYSBASE_TYPE_MASK;

		if (mtrr_variable_matches(v, field, address)) {
			seen |= MTRR_TYPE_BIT(mtrr_usable_type(t));
		}
	}
	if (seen == 0) {
		return mtrr_usable_type(s->default_type);
	}
	if ((seen & (seen - 1)) == 0) {
		/* One range, or several of the same type. */
		return (uint8_t)__builtin_ctz(seen);
	}
	if (seen & MTRR_TYPE_BIT(EPT_MT_UC)) {
		return EPT_MT_UC;
	}
	if (seen == (MTRR_TYPE_BIT(EPT_MT_WT) | MTRR_TYPE_BIT(EPT_MT_WB))) {
		return EPT_MT_WT;
	}
	/* WC or WP with another type: undefined; UC (see mtrr.h). */
	return EPT_MT_UC;
}

/** The memory type the MTRRs give the page holding address. */
uint8_t mtrr_type_of_page(const struct mtrr_state *s, uint64_t address)
{
	if (!s->enabled) {
		return EPT_MT_UC;
	}
	if (mtrr_fixed_applies(s, address)) {
		return mtrr_fixed_type(s, address);
	}
	return mtrr_variable_type(s, address);
}

/** The bits above bit j (none when j is 63: the shift wraps to 0 - 1). */
static uint64_t mtrr_bits_above(unsigned int j)
{
	return ~((BIT(j) << 1) - 1);
}

/**
 * The least x >= from with x AND mask = match (match has no bit outside
 * mask), or NO_BOUNDARY if there is none below 2^64.
 *
 * Combine from's free bits (those outside mask) with match's fixed bits and
 * find the highest bit j where that differs from from. If match sets bit j
 * (from has it clear), the answer keeps from's bits above j, sets bit j and
 * below it takes match's fixed bits with the free ones clear. If match
 * clears bit j (from has it set), nothing keeping from's bits above j can
 * qualify: do the same at the lowest free bit above j that from has clear;
 * with none left, nothing below 2^64 qualifies.
 */
static uint64_t mtrr_next_match(uint64_t mask, uint64_t match, uint64_t from)
{
	uint64_t candidate = (from & ~mask) | match;
	unsigned int j;

	if (candidate == from) {
		return from;
	}
	j = 63 - (unsigned int)__builtin_clzll(candidate ^ from);
	if ((match & BIT(j)) == 0) {
		uint64_t free_zeros = ~mask & ~from & mtrr_bits_above(j);

		if (free_zeros == 0) {
			return NO_BOUNDARY;
		}
		j = (unsigned int)__builtin_ctzll(free_zeros);
	}
	/* from's bits above j, bit j set, match's fixed bits below. */
	return (from & mtrr_bits_above(j)) | BIT(j) | (match & (BIT(j) - 1));
}

/**
 * The first page after page address where whether variable range v matches
 * changes, or NO_BOUNDARY. While it matches: the end of address's aligned
 * block of 2^k bytes, k the lowest set bit of the mask, since adding 2^k
 * flips bit k. While it does not: the next page that matches.
 */
static uint64_t mtrr_variable_next_change(const struct mtrr_variable *v,
					  uint64_t field, uint64_t address)
{
	uint64_t mask = v->mask & field;

	if ((v->mask & MTRR_PHYSMASK_VALID) == 0 || mask == 0) {
		/* Disabled, or matching every address: never changes. */
		return NO_BOUNDARY;
	}
	if (mtrr_variable_matches(v, field, address)) {
		uint64_t block = mask & -mask;
		uint64_t next = ALIGN_DOWN(address, block) + block;

		/* 0: the block is the last below 2^64. */
		return next == 0 ? NO_BOUNDARY : next;
	}
	/* address is below a page-aligned limit: the next page cannot wrap. */
	return mtrr_next_match(mask, v->base & mask, address + PAGE_SIZE);
}

/**
 * The end (at most limit) of the stretch from page address over which no
 * input to mtrr_type_of_page() changes: one fixed-range sub-range below
 * 1 MiB, else up to the next point where a variable range starts or stops
 * matching.
 */
static uint64_t mtrr_segment_end(const struct mtrr_state *s, uint64_t address,
				 uint64_t limit)
{
	uint64_t field = mtrr_phys_field(s);
	unsigned int count = mtrr_variable_count(s);
	uint64_t end = limit;

	if (!s->enabled) {
		return limit;
	}
	if (mtrr_fixed_applies(s, address)) {
		uint64_t granule =
			BIT(mtrr_fixed_block_of(address)->granule_bits);

		return MIN(ALIGN_DOWN(address, granule) + granule, limit);
	}
	for (unsigned int i = 0; i < count; i++) {
		end = MIN(end, mtrr_variable_next_change(&s->variable[i], field,
							 address));
	}
	return end;
}

/** The type of page base and the end of the run of pages sharing it. */
uint64_t mtrr_uniform_run(const struct mtrr_state *s, uint64_t base,
			  uint64_t limit, uint8_t *type)
{
	uint8_t run_type;
	uint64_t end;

	base = ALIGN_DOWN(base, PAGE_SIZE);
	limit = ALIGN_DOWN(limit, PAGE_SIZE);
	run_type = mtrr_type_of_page(s, base);
	if (type != NULL) {
		*type = run_type;
	}
	if (base >= limit) {
		return base;
	}
	/* The type is constant within a segment; go on while it is the same. */
	end = base;
	do {
		uint64_t next = mtrr_segment_end(s, end, limit);

		/* A step that failed to advance would hang the boot: stop. */
		CHECK(next > end);
		end = next;
	} while (end < limit && mtrr_type_of_page(s, end) == run_type);
	return end;
}

/* What can be wrong with a variable-range pair (the columns below). */
enum mtrr_variable_problem {
	MTRR_BAD_BASE_TYPE,
	MTRR_BAD_BASE_BITS,
	MTRR_BAD_MASK_BITS,
	MTRR_VARIABLE_PROBLEMS
};

/* The sentences for pair n, one per enum mtrr_variable_problem. */
#define MTRR_VARIABLE_PROBLEM_TEXTS(n) {                                      \
	"IA32_MTRR_PHYSBASE" #n ": reserved memory type",                      \
	"IA32_MTRR_PHYSBASE" #n ": reserved bit set (11:8, >= MAXPHYADDR)",    \
	"IA32_MTRR_PHYSMASK" #n ": reserved bit set (10:0, >= MAXPHYADDR)",    \
}

static const char *const mtrr_variable_problems[][MTRR_VARIABLE_PROBLEMS] = {
	MTRR_VARIABLE_PROBLEM_TEXTS(0), MTRR_VARIABLE_PROBLEM_TEXTS(1),
	MTRR_VARIABLE_PROBLEM_TEXTS(2), MTRR_VARIABLE_PROBLEM_TEXTS(3),
	MTRR_VARIABLE_PROBLEM_TEXTS(4), MTRR_VARIABLE_PROBLEM_TEXTS(5),
	MTRR_VARIABLE_PROBLEM_TEXTS(6), MTRR_VARIABLE_PROBLEM_TEXTS(7),
	MTRR_VARIABLE_PROBLEM_TEXTS(8), MTRR_VARIABLE_PROBLEM_TEXTS(9),
	MTRR_VARIABLE_PROBLEM_TEXTS(10), MTRR_VARIABLE_PROBLEM_TEXTS(11),
	MTRR_VARIABLE_PROBLEM_TEXTS(12), MTRR_VARIABLE_PROBLEM_TEXTS(13),
	MTRR_VARIABLE_PROBLEM_TEXTS(14), MTRR_VARIABLE_PROBLEM_TEXTS(15),
};
_Static_assert(ARRAY_SIZE(mtrr_variable_problems) == MTRR_MAX_VARIABLE,
	       "one row of problem sentences per stored variable range");

static const char *const mtrr_fixed_problems[MTRR_FIXED_COUNT] = {
	"IA32_MTRR_FIX64K_00000: reserved memory type",
	"IA32_MTRR_FIX16K_80000: reserved memory type",
	"IA32_MTRR_FIX16K_A0000: reserved memory type",
	"IA32_MTRR_FIX4K_C0000: reserved memory type",
	"IA32_MTRR_FIX4K_C8000: reserved memory type",
	"IA32_MTRR_FIX4K_D0000: reserved memory type",
	"IA32_MTRR_FIX4K_D8000: reserved memory type",
	"IA32_MTRR_FIX4K_E0000: reserved memory type",
	"IA32_MTRR_FIX4K_E8000: reserved memory type",
	"IA32_MTRR_FIX4K_F0000: reserved memory type",
	"IA32_MTRR_FIX4K_F8000: reserved memory type",
};

/** The problem with one enabled variable-range pair n, or NULL. */
static const char *mtrr_variable_problem(const struct mtrr_state *s,
					 unsigned int n)
{
	const struct mtrr_variable *v = &s->variable[n];
	uint64_t field = mtrr_phys_field(s);

	if ((v->mask & MTRR_PHYSMASK_VALID) == 0) {
		return NULL; /* V clear: the pair has no effect */
	}
	if (!mtrr_type_defined(v->base & MTRR_PHYSBASE_TYPE_MASK)) {
		return mtrr_variable_problems[n][MTRR_BAD_BASE_TYPE];
	}
	if (v->base & ~(field | MTRR_PHYSBASE_TYPE_MASK)) {
		return mtrr_variable_problems[n][MTRR_BAD_BASE_BITS];
	}
	if (v->mask & ~(field | MTRR_PHYSMASK_VALID)) {
		return mtrr_variable_problems[n][MTRR_BAD_MASK_BITS];
	}
	return NULL;
}

/** The problem with the fixed-range MTRRs, or NULL. */
static const char *mtrr_fixed_problem(const struct mtrr_state *s)
{
	for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
		for (unsigned int byte = 0; byte < 8; byte++) {
			uint64_t t = (s->fixed[i] >> (8 * byte)) & 0xff;

			if (!mtrr_type_defined(t)) {
				return mtrr_fixed_problems[i];
			}
		}
	}
	return NULL;
}

/** The first problem mtrr_state_valid() finds in s, or NULL. */
static const char *mtrr_find_problem(const struct mtrr_state *s)
{
	const char *problem = NULL;

	if (s->phys_addr_bits < MTRR_MIN_PHYS_ADDR_BITS ||
	    s->phys_addr_bits > MTRR_MAX_PHYS_ADDR_BITS) {
		return "CPUID.80000008H: physical-address width (MAXPHYADDR) "
		       "outside 32..52";
	}
	if (s->variable_count > MTRR_MAX_VARIABLE || s->variable_dropped != 0) {
		return "IA32_MTRRCAP: more variable ranges in use than the 16 "
		       "Tessera stores (MTRR_MAX_VARIABLE)";
	}
	if (!s->enabled) {
		return NULL; /* E clear: all UC, whatever the rest says */
	}
	if (!mtrr_type_defined(s->default_type)) {
		return "IA32_MTRR_DEF_TYPE: reserved default memory type";
	}
	if (s->fixed_enabled) {
		problem = mtrr_fixed_problem(s);
	}
	for (unsigned int n = 0; n < s->variable_count && !problem; n++) {
		problem = mtrr_variable_problem(s, n);
	}
	return problem;
}

/** Whether the MTRRs in force hold only what the SDM allows. */
bool mtrr_state_valid(const struct mtrr_state *s, const char **problem)
{
	const char *found = mtrr_find_problem(s);

	if (problem != NULL) {
		*problem = found;
	}
	return found == NULL;
}
