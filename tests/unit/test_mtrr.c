/*
 * Unit tests for arch/x86/mtrr.c: MTRR memory typing.
 *
 * Hand-made cases check mtrr_type_of_page() against the rules of SDM
 * Vol. 3A, "MTRR Precedences" (fixed ranges, disabled MTRRs, FE clear,
 * overlaps, the default type, the 1 MiB edge, addresses above 4 GiB) and
 * against firmware layouts seen in practice. Randomized MTRR sets (fixed
 * seed, so repeatable) then check mtrr_type_of_page() against a reference
 * written here straight from the SDM's wording, and mtrr_uniform_run()
 * against a page-by-page walk: each run has one type, is maximal, and
 * consecutive runs cover the whole range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/ept.h"
#include "arch/x86/mtrr.h"

#define UC EPT_MT_UC
#define WC EPT_MT_WC
#define WT EPT_MT_WT
#define WP EPT_MT_WP
#define WB EPT_MT_WB

/* All eight type bytes of a fixed-range MTRR set to t. */
#define FIXED_ALL(t) (0x0101010101010101ULL * (t))

/* The valid types, for random choices. */
static const uint8_t valid_types[] = { UC, WC, WT, WP, WB };

/** One run: [start, end) of one type. */
struct run {
	uint64_t start;
	uint64_t end;
	uint8_t type;
};

/** An enabled state with no ranges: every page has default_type. */
static struct mtrr_state make_state(uint8_t default_type, unsigned int bits)
{
	return (struct mtrr_state){
		.enabled = true,
		.default_type = default_type,
		.phys_addr_bits = bits,
	};
}

/** The PhysMask value (V set) of a naturally aligned range of size bytes. */
static uint64_t mask_for(const struct mtrr_state *s, uint64_t size)
{
	uint64_t field = (BIT(s->phys_addr_bits) - 1) & PAGE_MASK;

	return (~(size - 1) & field) | MTRR_PHYSMASK_VALID;
}

/** Appends an enabled variable range [base, base + size) of type t. */
static void add_range(struct mtrr_state *s, uint64_t base, uint64_t size,
		      uint8_t t)
{
	assert_true(s->variable_count < MTRR_MAX_VARIABLE);
	s->variable[s->variable_count].base = base | t;
	s->variable[s->variable_count].mask = mask_for(s, size);
	s->variable_count++;
}

/**
 * The fixed-range MTRR (index in mtrr_state.fixed) and byte that type
 * address, from the SDM's table "Address Mapping for Fixed-Range MTRRs":
 * one 64K-granule MSR from 0, two 16K-granule ones from 80000H, eight
 * 4K-granule ones from C0000H.
 */
static void fixed_slot(uint64_t address, unsigned int *msr, unsigned int *byte)
{
	if (address < 0x80000) {
		*msr = 0;
		*byte = (unsigned int)(address / KiB(64));
	} else if (address < 0xc0000) {
		*msr = 1 + (unsigned int)((address - 0x80000) / KiB(128));
		*byte = (unsigned int)((address - 0x80000) / KiB(16)) % 8;
	} else {
		*msr = 3 + (unsigned int)((address - 0xc0000) / KiB(32));
		*byte = (unsigned int)((address - 0xc0000) / KiB(4)) % 8;
	}
}

/** Types [start, end) t in the fixed MTRRs (granule-aligned, below 1 MiB). */
static void set_fixed(struct mtrr_state *s, uint64_t start, uint64_t end,
		      uint8_t t)
{
	for (uint64_t a = start; a < end; a += PAGE_SIZE) {
		unsigned int msr;
		unsigned int byte;

		fixed_slot(a, &msr, &byte);
		s->fixed[msr] &= ~(0xffULL << (8 * byte));
		s->fixed[msr] |= (uint64_t)t << (8 * byte);
	}
}

/** A PC's fixed layout: WB RAM, the UC VGA window, ROMs from C0000 rom. */
static void set_pc_fixed(struct mtrr_state *s, uint8_t rom)
{
	s->fixed_enabled = true;
	set_fixed(s, 0, 0xa0000, WB);
	set_fixed(s, 0xa0000, 0xc0000, UC);
	set_fixed(s, 0xc0000, MiB(1), rom);
}

/**
 * Checks one run from base against a page-by-page walk with
 * mtrr_type_of_page(): every page of it has its type and the page after it
 * (unless it is limit) has another. Pages past max_walk pages are sampled
 * (stride) rather than walked. Returns the run.
 */
static struct run check_run(const struct mtrr_state *s, uint64_t base,
			    uint64_t limit, uint64_t max_walk)
{
	struct run run = { .start = base };
	uint64_t pages;
	uint64_t stride;

	run.end = mtrr_uniform_run(s, base, limit, &run.type);
	assert_int_equal(run.type, mtrr_type_of_page(s, base));
	assert_true(run.end > base && run.end <= limit);
	assert_true(IS_ALIGNED(run.end, PAGE_SIZE));
	pages = (run.end - base) / PAGE_SIZE;
	stride = pages > max_walk ? pages / max_walk : 1;
	for (uint64_t i = 0; i < pages; i += stride) {
		uint64_t page = base + i * PAGE_SIZE;

		assert_int_equal(mtrr_type_of_page(s, page), run.type);
	}
	assert_int_equal(mtrr_type_of_page(s, run.end - PAGE_SIZE), run.type);
	if (run.end < limit) {
		assert_int_not_equal(mtrr_type_of_page(s, run.end), run.type);
	}
	return run;
}

/**
 * Covers [base, limit) with consecutive runs, each checked by check_run();
 * stores up to max runs in runs (if not NULL) and returns how many there were.
 */
static size_t cover(const struct mtrr_state *s, uint64_t base, uint64_t limit,
		    uint64_t max_walk, struct run *runs, size_t max)
{
	size_t count = 0;
	uint64_t at = base;

	while (at < limit) {
		struct run run = check_run(s, at, limit, max_walk);

		if (runs != NULL && count < max) {
			runs[count] = run;
		}
		count++;
		at = run.end;
	}
	assert_int_equal(at, limit);
	return count;
}

/** Asserts [0, limit) falls into exactly the runs expected (count n). */
static void assert_runs(const struct mtrr_state *s, uint64_t limit,
			const struct run *expected, size_t n)
{
	struct run runs[32];
	size_t count = cover(s, 0, limit, 4096, runs, ARRAY_SIZE(runs));

	assert_int_equal(count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(runs[i].start, expected[i].start);
		assert_int_equal(runs[i].end, expected[i].end);
		assert_int_equal(runs[i].type, expected[i].type);
	}
}

/** E clear: every page is UC, whatever else the MTRRs say. */
static void test_disabled_is_uc(void **state)
{
	struct mtrr_state s = make_state(WB, 40);
	uint8_t type = WB;

	set_pc_fixed(&s, WB);
	add_range(&s, 0, GiB(4), WB);
	s.enabled = false;
	assert_int_equal(mtrr_type_of_page(&s, 0), UC);
	assert_int_equal(mtrr_type_of_page(&s, 0xa0000), UC);
	assert_int_equal(mtrr_type_of_page(&s, MiB(1)), UC);
	assert_int_equal(mtrr_type_of_page(&s, GiB(5)), UC);
	assert_int_equal(mtrr_uniform_run(&s, 0, BIT(40), &type), BIT(40));
	assert_int_equal(type, UC);
	/* Disabled registers are not examined: their contents are undefined. */
	s.default_type = 2;
	s.variable[0].mask |= 0x7ff;
	assert_true(mtrr_state_valid(&s, NULL));
}

/** Sets byte of fixed-range MTRR msr to WP, the rest WB; walks 1 MiB. */
static void check_fixed_byte(unsigned int msr, unsigned int byte)
{
	struct mtrr_state s = make_state(UC, 36);

	s.fixed_enabled = true;
	for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
		s.fixed[i] = FIXED_ALL(WB);
	}
	s.fixed[msr] &= ~(0xffULL << (8 * byte));
	s.fixed[msr] |= (uint64_t)WP << (8 * byte);
	for (uint64_t a = 0; a < MiB(1); a += PAGE_SIZE) {
		unsigned int m;
		unsigned int b;

		fixed_slot(a, &m, &b);
		assert_int_equal(mtrr_type_of_page(&s, a),
				 m == msr && b == byte ? WP : WB);
	}
	cover(&s, 0, MiB(2), 1024, NULL, 0);
}

/** Each of the 88 fixed-range type bytes types exactly its sub-range. */
static void test_fixed_range_bytes(void **state)
{
	for (unsigned int msr = 0; msr < MTRR_FIXED_COUNT; msr++) {
		for (unsigned int byte = 0; byte < 8; byte++) {
			check_fixed_byte(msr, byte);
		}
	}
}

/** Spot checks of the SDM's fixed-range table at each register's edges. */
static void test_fixed_range_table_edges(void **state)
{
	static const struct {
		uint64_t address;
		unsigned int msr;
		unsigned int byte;
	} rows[] = {
		{ 0x00000, 0, 0 }, { 0x7f000, 0, 7 }, { 0x80000, 1, 0 },
		{ 0x9c000, 1, 7 }, { 0xa0000, 2, 0 }, { 0xbf000, 2, 7 },
		{ 0xc0000, 3, 0 }, { 0xc7000, 3, 7 }, { 0xc8000, 4, 0 },
		{ 0xd0000, 5, 0 }, { 0xd8000, 6, 0 }, { 0xe0000, 7, 0 },
		{ 0xe8000, 8, 0 }, { 0xf0000, 9, 0 }, { 0xf8000, 10, 0 },
		{ 0xff000, 10, 7 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct mtrr_state s = make_state(WB, 36);

		s.fixed_enabled = true;
		s.fixed[rows[i].msr] = (uint64_t)WT << (8 * rows[i].byte);
		uint64_t other = rows[i].address ^ 0x80000; /* another MSR's */

		assert_int_equal(mtrr_type_of_page(&s, rows[i].address), WT);
		assert_int_equal(mtrr_type_of_page(&s, other), UC);
	}
}

/** A PC's fixed layout and the runs it makes. */
static void test_fixed_layout_runs(void **state)
{
	struct mtrr_state s = make_state(WB, 39);
	uint8_t type;
	static const struct run expected[] = {
		{ 0, 0xa0000, WB }, { 0xa0000, 0xc0000, UC },
		{ 0xc0000, MiB(1), WP }, { MiB(1), GiB(1), WB },
	};

	set_pc_fixed(&s, WP);
	assert_runs(&s, GiB(1), expected, ARRAY_SIZE(expected));
	assert_int_equal(mtrr_uniform_run(&s, 0x50000, GiB(1), &type), 0xa0000);
	assert_int_equal(type, WB);
	assert_int_equal(mtrr_uniform_run(&s, 0xb3000, GiB(1), &type), 0xc0000);
	assert_int_equal(type, UC);
}

/** FE clear: the first MiB is typed by the variable ranges and default. */
static void test_fixed_disabled(void **state)
{
	struct mtrr_state s = make_state(UC, 36);
	uint8_t type;

	for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
		s.fixed[i] = FIXED_ALL(WT);
	}
	add_range(&s, 0, GiB(2), WB);
	assert_int_equal(mtrr_type_of_page(&s, 0), WB);
	assert_int_equal(mtrr_type_of_page(&s, 0xa0000), WB);
	assert_int_equal(mtrr_uniform_run(&s, 0, GiB(4), &type), GiB(2));
	assert_int_equal(type, WB);
	s.fixed_enabled = true;
	assert_int_equal(mtrr_type_of_page(&s, 0xa0000), WT);
	assert_int_equal(mtrr_uniform_run(&s, 0, GiB(4), &type), MiB(1));
	assert_int_equal(type, WT);
}

/** The 1 MiB edge: fixed ranges stop, variable ranges take over. */
static void test_one_mib_edge(void **state)
{
	struct mtrr_state s = make_state(UC, 36);
	static const struct run merged[] = {
		{ 0, GiB(1), WB }, { GiB(1), GiB(4), UC },
	};
	static const struct run split[] = {
		{ 0, MiB(1), WB }, { MiB(1), MiB(2), UC },
		{ MiB(2), GiB(1), WB }, { GiB(1), GiB(4), UC },
	};

	s.fixed_enabled = true;
	set_fixed(&s, 0, MiB(1), WB);
	add_range(&s, 0, GiB(1), WB);
	/* The same type on both sides: one run straight across 1 MiB. */
	assert_runs(&s, GiB(4), merged, ARRAY_SIZE(merged));
	/* A UC range over the first 2 MiB: the fixed ranges win below 1 MiB. */
	add_range(&s, 0, MiB(2), UC);
	assert_int_equal(mtrr_type_of_page(&s, MiB(1) - PAGE_SIZE), WB);
	assert_int_equal(mtrr_type_of_page(&s, MiB(1)), UC);
	assert_runs(&s, GiB(4), split, ARRAY_SIZE(split));
	/* The last fixed page on its own. */
	set_fixed(&s, 0xff000, MiB(1), WC);
	assert_int_equal(mtrr_uniform_run(&s, 0xfe000, GiB(4), NULL), 0xff000);
	assert_int_equal(mtrr_uniform_run(&s, 0xff000, GiB(4), NULL), MiB(1));
}

/**
 * Variable ranges of types outer, [512M, 1G), and inner, [768M, 1G), nested
 * (naturally aligned ranges never overlap partly); checks the overlap is
 * want, whichever pair comes first.
 */
static void check_overlap(uint8_t outer, uint8_t inner, uint8_t want,
			  bool inner_first)
{
	uint8_t default_type = outer == WC || inner == WC ? WP : WC;
	struct mtrr_state s = make_state(default_type, 40);

	if (inner_first) {
		add_range(&s, MiB(768), MiB(256), inner);
	}
	add_range(&s, MiB(512), MiB(512), outer);
	if (!inner_first) {
		add_range(&s, MiB(768), MiB(256), inner);
	}
	assert_int_equal(mtrr_type_of_page(&s, MiB(512)), outer);
	assert_int_equal(mtrr_type_of_page(&s, MiB(768) - PAGE_SIZE), outer);
	assert_int_equal(mtrr_type_of_page(&s, MiB(768)), want);
	assert_int_equal(mtrr_type_of_page(&s, GiB(1) - PAGE_SIZE), want);
	assert_int_equal(mtrr_type_of_page(&s, GiB(1)), s.default_type);
	cover(&s, MiB(256), GiB(2), 256, NULL, 0);
}

/** Overlapping variable ranges, pair by pair (SDM "MTRR Precedences"). */
static void test_overlap_precedence(void **state)
{
	static const uint8_t cases[][3] = {
		/* Identical types: that type. */
		{ WB, WB, WB }, { WT, WT, WT }, { WC, WC, WC }, { WP, WP, WP },
		{ UC, UC, UC },
		/* UC among them: UC. */
		{ UC, WB, UC }, { WB, UC, UC }, { UC, WT, UC }, { WC, UC, UC },
		{ UC, WP, UC },
		/* WT and WB: WT. */
		{ WT, WB, WT }, { WB, WT, WT },
		/* Undefined by the SDM: Tessera chooses UC. */
		{ WC, WB, UC }, { WB, WP, UC }, { WC, WT, UC }, { WP, WT, UC },
		{ WC, WP, UC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const uint8_t *c = cases[i];

		for (int first = 0; first < 2; first++) {
			check_overlap(c[0], c[1], c[2], first);
			check_overlap(c[1], c[0], c[2], first);
		}
	}
}

/** Three ranges over one page: the rules apply to the whole set. */
static void test_overlap_of_three(void **state)
{
	static const uint8_t cases[][4] = {
		{ WT, WB, WB, WT }, { WT, WT, WB, WT }, { WT, WB, UC, UC },
		{ WB, WB, WB, WB }, { WT, WB, WP, UC }, { WB, WC, WB, UC },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mtrr_state s = make_state(UC, 36);

		add_range(&s, GiB(1), GiB(1), cases[i][0]);
		add_range(&s, GiB(1), MiB(512), cases[i][1]);
		add_range(&s, GiB(1), MiB(2), cases[i][2]);
		assert_int_equal(mtrr_type_of_page(&s, GiB(1)), cases[i][3]);
	}
}

/** The default type fills what no enabled range maps; V clear disables. */
static void test_default_type(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(valid_types); i++) {
		uint8_t fill = valid_types[i];
		uint8_t other = fill == UC ? WB : UC;
		struct mtrr_state s = make_state(fill, 46);
		uint8_t type;

		assert_int_equal(mtrr_type_of_page(&s, 0), fill);
		assert_int_equal(mtrr_uniform_run(&s, 0, BIT(46), &type),
				 BIT(46));
		assert_int_equal(type, fill);
		add_range(&s, GiB(2), GiB(1), other);
		s.variable[0].mask &= ~MTRR_PHYSMASK_VALID;
		assert_int_equal(mtrr_type_of_page(&s, GiB(2)), fill);
		assert_int_equal(mtrr_uniform_run(&s, MiB(1), BIT(46), NULL),
				 BIT(46));
		s.variable[0].mask |= MTRR_PHYSMASK_VALID;
		assert_int_equal(mtrr_type_of_page(&s, GiB(2)), other);
		assert_int_equal(mtrr_type_of_page(&s, GiB(3)), fill);
	}
}

/** Ranges above 4 GiB, and runs that merge adjacent ranges of one type. */
static void test_above_4g(void **state)
{
	struct mtrr_state s = make_state(UC, 46);
	static const struct run expected[] = {
		{ 0, GiB(3), WB }, { GiB(3), GiB(4), UC },
		{ GiB(4), GiB(8) + MiB(512), WB },
		{ GiB(8) + MiB(512), BIT(46), UC },
	};

	add_range(&s, 0, GiB(4), WB);
	add_range(&s, GiB(4), GiB(4), WB);
	add_range(&s, GiB(8), MiB(512), WB);
	add_range(&s, GiB(3), GiB(1), UC);
	assert_int_equal(mtrr_type_of_page(&s, GiB(3) - PAGE_SIZE), WB);
	assert_int_equal(mtrr_type_of_page(&s, GiB(4) - PAGE_SIZE), UC);
	assert_int_equal(mtrr_type_of_page(&s, GiB(4)), WB);
	assert_int_equal(mtrr_type_of_page(&s, GiB(8) + MiB(511)), WB);
	assert_int_equal(mtrr_type_of_page(&s, GiB(8) + MiB(512)), UC);
	assert_int_equal(mtrr_type_of_page(&s, BIT(45)), UC);
	assert_runs(&s, BIT(46), expected, ARRAY_SIZE(expected));
}

/**
 * OVMF under QEMU: default WB, the PC fixed layout, and one variable range
 * making the 32-bit PCI hole 0xC0000000-0xFFFFFFFF UC.
 */
static void test_ovmf_layout(void **state)
{
	struct mtrr_state s = make_state(WB, 40);
	static const struct run expected[] = {
		{ 0, 0xa0000, WB }, { 0xa0000, 0xc0000, UC },
		{ 0xc0000, 0xc0000000, WB }, { 0xc0000000, GiB(4), UC },
		{ GiB(4), BIT(40), WB },
	};
	const char *problem = "unset";

	set_pc_fixed(&s, WB);
	s.variable_count = 8;
	s.variable[0].base = 0xc0000000 | UC;
	s.variable[0].mask = 0xffc0000000ULL | MTRR_PHYSMASK_VALID;
	assert_true(mtrr_state_valid(&s, &problem));
	assert_null(problem);
	assert_runs(&s, BIT(40), expected, ARRAY_SIZE(expected));
}

/**
 * A typical laptop: default UC, RAM made WB by a 8 GiB range and a 512 MiB
 * one, a UC range punching the PCI hole out of the first, another UC range
 * for graphics stolen memory below it; option ROMs WP, a UC window in the
 * fixed ranges; and a disabled pair holding garbage.
 */
static void test_laptop_layout(void **state)
{
	struct mtrr_state s = make_state(UC, 39);
	static const struct run expected[] = {
		{ 0, 0xa0000, WB }, { 0xa0000, 0xc0000, UC },
		{ 0xc0000, 0xd0000, WP }, { 0xd0000, 0xe0000, UC },
		{ 0xe0000, MiB(1), WP }, { MiB(1), 0x7c000000, WB },
		{ 0x7c000000, GiB(4), UC }, { GiB(4), GiB(8) + MiB(512), WB },
		{ GiB(8) + MiB(512), BIT(39), UC },
	};

	set_pc_fixed(&s, WP);
	set_fixed(&s, 0xd0000, 0xe0000, UC);
	add_range(&s, 0, GiB(8), WB);
	add_range(&s, GiB(8), MiB(512), WB);
	add_range(&s, GiB(2), GiB(2), UC);
	add_range(&s, 0x7c000000, MiB(64), UC);
	s.variable[s.variable_count++] =
		(struct mtrr_variable){ .base = 0xdead0fff, .mask = 0x7ff };
	assert_true(mtrr_state_valid(&s, NULL));
	assert_runs(&s, BIT(39), expected, ARRAY_SIZE(expected));
}

/**
 * Non-contiguous masks. PhysMask bits 35:32 and 13 over base 0: within the
 * first 4 GiB, every 8 KiB block whose bit 13 is clear.
 */
static void test_noncontiguous_mask(void **state)
{
	struct mtrr_state s = make_state(WB, 36);
	uint8_t type;

	s.variable_count = 1;
	s.variable[0].base = UC;
	s.variable[0].mask = 0xf00002000ULL | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_uniform_run(&s, 0, GiB(8), &type), 0x2000);
	assert_int_equal(type, UC);
	assert_int_equal(mtrr_uniform_run(&s, 0x1000, GiB(8), &type), 0x2000);
	assert_int_equal(mtrr_uniform_run(&s, 0x2000, GiB(8), &type), 0x4000);
	assert_int_equal(type, WB);
	assert_int_equal(mtrr_type_of_page(&s, GiB(4) - 0x4000), UC);
	/* The last non-matching block runs into the WB above 4 GiB. */
	assert_int_equal(mtrr_uniform_run(&s, GiB(4) - 0x2000, GiB(8), &type),
			 GiB(8));
	assert_int_equal(type, WB);
	/* Bits 20 and 13: from inside a bit-20 block, the next match is far. */
	s.variable[0].mask = 0x000102000ULL | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_uniform_run(&s, 0x103000, GiB(1), &type),
			 0x200000);
	assert_int_equal(type, WB);
	/* A pattern of the default's own type: no visible boundary. */
	s.variable[0].base = WB;
	assert_int_equal(mtrr_uniform_run(&s, 0, MiB(256), &type), MiB(256));
	cover(&s, 0, MiB(8), 4096, NULL, 0);
}

/** Runs at the edges: empty, unaligned, NULL type, the top of 2^64. */
static void test_run_edges(void **state)
{
	struct mtrr_state s = make_state(WB, 52);
	uint64_t top = ALIGN_DOWN(UINT64_MAX, PAGE_SIZE);
	uint8_t type = UC;

	add_range(&s, GiB(1), GiB(1), UC);
	assert_int_equal(mtrr_uniform_run(&s, GiB(1), GiB(1), &type), GiB(1));
	assert_int_equal(type, UC);
	assert_int_equal(mtrr_uniform_run(&s, GiB(3), GiB(2), &type), GiB(3));
	assert_int_equal(type, WB);
	assert_int_equal(mtrr_uniform_run(&s, GiB(1) + 123, GiB(3) + 5, &type),
			 GiB(2));
	assert_int_equal(type, UC);
	assert_int_equal(mtrr_uniform_run(&s, GiB(2), GiB(3) + 5, NULL),
			 GiB(3));
	assert_int_equal(mtrr_uniform_run(&s, top - PAGE_SIZE, UINT64_MAX,
					  &type), top);
	/* Patterns ending at, or never matching before, 2^64. */
	s.variable[0].base = 0;
	s.variable[0].mask = 0x3000 | MTRR_PHYSMASK_VALID;
	assert_int_equal(mtrr_uniform_run(&s, top - 2 * PAGE_SIZE, UINT64_MAX,
					  &type), top);
	assert_int_equal(mtrr_uniform_run(&s, top - 4 * PAGE_SIZE, UINT64_MAX,
					  &type), top - 3 * PAGE_SIZE);
	assert_int_equal(type, WB);
	assert_int_equal(mtrr_uniform_run(&s, top - 3 * PAGE_SIZE, UINT64_MAX,
					  &type), top - 2 * PAGE_SIZE);
	assert_int_equal(type, UC);
	cover(&s, top - MiB(1), UINT64_MAX & PAGE_MASK, 1024, NULL, 0);
}

/** Asserts s is refused with a problem containing want. */
static void assert_refused(const struct mtrr_state *s, const char *want)
{
	const char *problem = NULL;

	assert_false(mtrr_state_valid(s, &problem));
	assert_non_null(problem);
	if (strstr(problem, want) == NULL) {
		fail_msg("problem \"%s\" does not name \"%s\"", problem, want);
	}
	assert_false(mtrr_state_valid(s, NULL));
}

/** Reserved types and bits are refused, naming the MSR. */
static void test_state_valid(void **state)
{
	struct mtrr_state good = make_state(WB, 39);
	struct mtrr_state s;

	set_pc_fixed(&good, WP);
	for (unsigned int n = 0; n < MTRR_MAX_VARIABLE; n++) {
		add_range(&good, GiB(n), GiB(1), valid_types[n % 5]);
	}
	assert_true(mtrr_state_valid(&good, NULL));
	s = good;
	s.default_type = 2;
	assert_refused(&s, "IA32_MTRR_DEF_TYPE");
	s.default_type = 7;
	assert_refused(&s, "IA32_MTRR_DEF_TYPE");
	s.fixed_enabled = false;
	s.default_type = WB;
	s.fixed[4] |= 0x3ULL << 16;
	assert_true(mtrr_state_valid(&s, NULL)); /* FE clear: not in force */
	s.fixed_enabled = true;
	assert_refused(&s, "IA32_MTRR_FIX4K_C8000:");
	s = good;
	s.variable[7].base |= BIT(9);
	assert_refused(&s, "IA32_MTRR_PHYSBASE7:");
	s = good;
	s.variable[9].base |= BIT(39);
	assert_refused(&s, "IA32_MTRR_PHYSBASE9:");
	s = good;
	s.variable[11].mask |= BIT(3);
	assert_refused(&s, "IA32_MTRR_PHYSMASK11:");
	s = good;
	s.variable[1].mask |= BIT(39);
	assert_refused(&s, "IA32_MTRR_PHYSMASK1:");
	s.phys_addr_bits = 40;
	assert_true(mtrr_state_valid(&s, NULL));
	s.variable[1].mask &= ~MTRR_PHYSMASK_VALID;
	s.variable[1].base = 0xffffULL << 48 | 3;
	assert_true(mtrr_state_valid(&s, NULL)); /* V clear: not in force */
}

/** Every register is named right: each pair, each fixed-range MSR. */
static void test_state_valid_names(void **state)
{
	static const char *const fixed_names[MTRR_FIXED_COUNT] = {
		"FIX64K_00000", "FIX16K_80000", "FIX16K_A0000", "FIX4K_C0000",
		"FIX4K_C8000", "FIX4K_D0000", "FIX4K_D8000", "FIX4K_E0000",
		"FIX4K_E8000", "FIX4K_F0000", "FIX4K_F8000",
	};
	static const uint8_t reserved[] = { 2, 3, 7, 8, 0x16, 0xff };
	char name[32];

	for (unsigned int n = 0; n < MTRR_MAX_VARIABLE; n++) {
		struct mtrr_state s = make_state(WB, 36);

		s.variable_count = MTRR_MAX_VARIABLE;
		s.variable[n] = (struct mtrr_variable){
			.base = reserved[n % ARRAY_SIZE(reserved)],
			.mask = MTRR_PHYSMASK_VALID,
		};
		snprintf(name, sizeof(name), "IA32_MTRR_PHYSBASE%u:", n);
		assert_refused(&s, name);
	}
	for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
		struct mtrr_state s = make_state(WB, 36);
		uint64_t t = reserved[i % ARRAY_SIZE(reserved)];

		s.fixed_enabled = true;
		s.fixed[i] = t << (8 * (i % 8));
		snprintf(name, sizeof(name), "IA32_MTRR_%s:", fixed_names[i]);
		assert_refused(&s, name);
	}
}

/** The physical-address width and the count of variable ranges. */
static void test_state_valid_limits(void **state)
{
	static const unsigned int bad_bits[] = { 0, 12, 31, 53, 64, 1000 };
	struct mtrr_state s = make_state(WB, 32);

	assert_true(mtrr_state_valid(&s, NULL));
	s.phys_addr_bits = 52;
	assert_true(mtrr_state_valid(&s, NULL));
	for (size_t i = 0; i < ARRAY_SIZE(bad_bits); i++) {
		s.phys_addr_bits = bad_bits[i];
		assert_refused(&s, "MAXPHYADDR");
		/* Refused, yet answered without undefined shifts. */
		(void)mtrr_type_of_page(&s, GiB(1));
	}
	s.phys_addr_bits = 36;
	s.variable_count = MTRR_MAX_VARIABLE + 1;
	assert_refused(&s, "IA32_MTRRCAP");
	assert_int_equal(mtrr_type_of_page(&s, GiB(1)), WB);
	s.variable_count = MTRR_MAX_VARIABLE;
	s.variable_dropped = 1;
	assert_refused(&s, "IA32_MTRRCAP");
	s.enabled = false;
	assert_refused(&s, "IA32_MTRRCAP");
}

/** A reserved type in a refused state types its pages UC, never itself. */
static void test_reserved_types_read_as_uc(void **state)
{
	struct mtrr_state s = make_state(3, 36);

	assert_int_equal(mtrr_type_of_page(&s, GiB(1)), UC);
	s.default_type = WB;
	add_range(&s, GiB(1), GiB(1), 7);
	assert_int_equal(mtrr_type_of_page(&s, GiB(1)), UC);
	s.fixed_enabled = true;
	s.fixed[0] = 2;
	assert_int_equal(mtrr_type_of_page(&s, 0), UC);
}

/* ---------------------------------------------------------------------- */
/* Randomized MTRR sets.                                                  */
/* ---------------------------------------------------------------------- */

/** Deterministic pseudo-random numbers (xorshift64*), fixed seed per test. */
static uint64_t next_random(uint64_t *rng)
{
	*rng ^= *rng >> 12;
	*rng ^= *rng << 25;
	*rng ^= *rng >> 27;
	return *rng * 0x2545f4914f6cdd1dULL;
}

/** A random number in [0, n). */
static uint64_t random_below(uint64_t *rng, uint64_t n)
{
	return next_random(rng) % n;
}

/** A random valid type, UC, WT and WB (the defined overlaps) most often. */
static uint8_t random_type(uint64_t *rng)
{
	static const uint8_t weighted[] = {
		UC, UC, WB, WB, WB, WT, WT, WC, WP,
	};

	return weighted[random_below(rng, ARRAY_SIZE(weighted))];
}

/** Random fixed ranges: whole registers of one type, or bytes at random. */
static void random_fixed(struct mtrr_state *s, uint64_t *rng)
{
	uint8_t uniform = random_below(rng, 3) == 0 ? s->default_type :
						      random_type(rng);

	s->fixed_enabled = random_below(rng, 3) != 0;
	for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
		s->fixed[i] = FIXED_ALL(uniform);
		if (random_below(rng, 3) == 0) {
			for (unsigned int byte = 0; byte < 8; byte++) {
				uint64_t t = random_type(rng);

				s->fixed[i] &= ~(0xffULL << (8 * byte));
				s->fixed[i] |= t << (8 * byte);
			}
		}
	}
}

/**
 * A random variable range of at most 2^scale bytes inside
 * [region, region + 2^scale): naturally aligned, its mask sometimes with
 * holes (non-contiguous), its base sometimes with stray bits outside the
 * mask (ignored by the match), sometimes disabled.
 */
static struct mtrr_variable random_range(const struct mtrr_state *s,
					 uint64_t *rng, uint64_t region,
					 unsigned int scale, bool holes)
{
	uint64_t field = (BIT(s->phys_addr_bits) - 1) & PAGE_MASK;
	uint64_t size = BIT(12 + random_below(rng, scale - 11));
	uint64_t offset = ALIGN_DOWN(random_below(rng, BIT(scale)), size);
	uint64_t base = region + offset;
	uint64_t mask = ~(size - 1) & field;
	uint64_t valid = random_below(rng, 8) != 0 ? MTRR_PHYSMASK_VALID : 0;

	if (holes && random_below(rng, 4) == 0) {
		/* Clear about a quarter of the mask's low bits. */
		uint64_t holes_at = next_random(rng) & next_random(rng);

		mask &= ~(holes_at & (BIT(scale) - 1));
		if (random_below(rng, 2) == 0) {
			base |= next_random(rng) & ~mask & field;
		}
	}
	return (struct mtrr_variable){
		.base = (base & field) | random_type(rng),
		.mask = mask | valid,
	};
}

/**
 * A random MTRR set whose ranges cluster in a region of 2^scale bytes
 * (below 4 GiB, at 4 GiB or high up), so that windows of a few thousand
 * pages meet many boundaries. *region receives where.
 */
static struct mtrr_state random_state(uint64_t *rng, bool holes,
				      uint64_t *region, unsigned int *scale)
{
	static const unsigned int widths[] = { 36, 39, 40, 42, 46, 48, 52 };
	static const unsigned int scales[] = { 20, 22, 24, 26, 28, 32 };
	unsigned int width = widths[random_below(rng, ARRAY_SIZE(widths))];
	struct mtrr_state s = make_state(random_type(rng), width);
	uint64_t regions[] = { 0, GiB(4), BIT(s.phys_addr_bits) - GiB(4) };

	s.enabled = random_below(rng, 10) != 0;
	random_fixed(&s, rng);
	*scale = scales[random_below(rng, ARRAY_SIZE(scales))];
	*region = regions[random_below(rng, ARRAY_SIZE(regions))];
	s.variable_count =
		(unsigned int)random_below(rng, MTRR_MAX_VARIABLE + 1);
	for (unsigned int i = 0; i < s.variable_count; i++) {
		s.variable[i] = random_range(&s, rng, *region, *scale, holes);
	}
	return s;
}

/**
 * The type of address written straight from the SDM's wording, as a
 * reference for mtrr_type_of_page(): a list of matching types, then the
 * rules in the order the SDM gives them.
 */
static uint8_t reference_type(const struct mtrr_state *s, uint64_t address)
{
	uint64_t field = (BIT(s->phys_addr_bits) - 1) & PAGE_MASK;
	uint8_t matched[MTRR_MAX_VARIABLE];
	size_t n = 0;
	bool same = true;
	bool has_uc = false;
	bool only_wt_wb = true;

	if (!s->enabled) {
		return UC;
	}
	if (s->fixed_enabled && address < MiB(1)) {
		unsigned int msr;
		unsigned int byte;

		fixed_slot(address, &msr, &byte);
		return (uint8_t)(s->fixed[msr] >> (8 * byte));
	}
	for (unsigned int i = 0; i < s->variable_count; i++) {
		const struct mtrr_variable *v = &s->variable[i];

		uint64_t mask = v->mask & field;

		if ((v->mask & MTRR_PHYSMASK_VALID) &&
		    (address & mask) == (v->base & mask)) {
			matched[n++] = (uint8_t)v->base;
		}
	}
	if (n == 0) {
		return s->default_type;
	}
	for (size_t i = 0; i < n; i++) {
		same = same && matched[i] == matched[0];
		has_uc = has_uc || matched[i] == UC;
		only_wt_wb = only_wt_wb &&
			     (matched[i] == WT || matched[i] == WB);
	}
	return same ? matched[0] : has_uc ? UC : only_wt_wb ? WT : UC;
}

/** A page near something interesting in s: a range's edge, 1 MiB, 0. */
static uint64_t random_anchor(const struct mtrr_state *s, uint64_t *rng,
			      uint64_t region, unsigned int scale)
{
	uint64_t pick = random_below(rng, 4);

	if (pick == 0 && s->variable_count > 0) {
		const struct mtrr_variable *v =
			&s->variable[random_below(rng, s->variable_count)];
		uint64_t mask = v->mask & PAGE_MASK;
		uint64_t start = v->base & mask;

		return random_below(rng, 2) ? start : start + (mask & -mask);
	}
	if (pick == 1) {
		return random_below(rng, 2) ? 0 : MiB(1);
	}
	return region + ALIGN_DOWN(random_below(rng, BIT(scale)), PAGE_SIZE);
}

/**
 * Random windows near interesting points of random states, each covered by
 * runs fully walked page by page; and mtrr_type_of_page() against the
 * reference at every page of every window.
 */
static void check_random_windows(bool holes, uint64_t seed, unsigned int states)
{
	uint64_t rng = seed;

	for (unsigned int n = 0; n < states; n++) {
		uint64_t region;
		unsigned int scale;
		struct mtrr_state s =
			random_state(&rng, holes, &region, &scale);

		assert_true(mtrr_state_valid(&s, NULL));
		for (unsigned int w = 0; w < 16; w++) {
			uint64_t at = random_anchor(&s, &rng, region, scale);
			uint64_t shift = PAGE_SIZE * random_below(&rng, 64);
			uint64_t base = at > shift ? at - shift : 0;
			uint64_t pages = 1 + random_below(&rng, 3000);
			uint64_t limit = base + pages * PAGE_SIZE;

			cover(&s, base, limit, UINT64_MAX, NULL, 0);
			for (uint64_t a = base; a < limit; a += PAGE_SIZE) {
				assert_int_equal(mtrr_type_of_page(&s, a),
						 reference_type(&s, a));
			}
		}
	}
}

/** Random sets with contiguous masks, walked page by page. */
static void test_random_windows(void **state)
{
	check_random_windows(false, 0x6d7472722d31ULL, 160);
}

/** Random sets with non-contiguous masks too, walked page by page. */
static void test_random_windows_with_holes(void **state)
{
	check_random_windows(true, 0x6d7472722d32ULL, 240);
}

/**
 * Whole physical address spaces of random sets with contiguous masks,
 * covered by runs: each checked at its ends and at sampled pages, and few
 * (each range adds at most two boundaries, the fixed ranges 88): proof that
 * the runs come from boundaries, not from walking GiBs of pages.
 */
static void test_random_whole_address_space(void **state)
{
	uint64_t rng = 0x6d7472722d33ULL;

	for (unsigned int n = 0; n < 300; n++) {
		uint64_t region;
		unsigned int scale;
		struct mtrr_state s =
			random_state(&rng, false, &region, &scale);
		size_t count = cover(&s, 0, BIT(s.phys_addr_bits), 64, NULL, 0);

		assert_true(count <= 88 + 2 * s.variable_count + 1);
	}
}

/** Runs the MTRR tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disabled_is_uc),
		cmocka_unit_test(test_fixed_range_bytes),
		cmocka_unit_test(test_fixed_range_table_edges),
		cmocka_unit_test(test_fixed_layout_runs),
		cmocka_unit_test(test_fixed_disabled),
		cmocka_unit_test(test_one_mib_edge),
		cmocka_unit_test(test_overlap_precedence),
		cmocka_unit_test(test_overlap_of_three),
		cmocka_unit_test(test_default_type),
		cmocka_unit_test(test_above_4g),
		cmocka_unit_test(test_ovmf_layout),
		cmocka_unit_test(test_laptop_layout),
		cmocka_unit_test(test_noncontiguous_mask),
		cmocka_unit_test(test_run_edges),
		cmocka_unit_test(test_state_valid),
		cmocka_unit_test(test_state_valid_names),
		cmocka_unit_test(test_state_valid_limits),
		cmocka_unit_test(test_reserved_types_read_as_uc),
		cmocka_unit_test(test_random_windows),
		cmocka_unit_test(test_random_windows_with_holes),
		cmocka_unit_test(test_random_whole_address_space),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
