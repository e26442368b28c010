/*
 * Unit tests for hv/alloc.c: the page-frame allocator and ownership ledger.
 *
 * Besides targeted cases, a randomized run (fixed seed, so repeatable) checks
 * the ledger against a shadow model holding one owner per page: every
 * allocation must land where an independent first-fit search over the model
 * says, and after every step the ledger and the model must agree page for
 * page.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "hv/alloc.h"

/** Asserts a ledger call did not succeed (for readability). */
#define assert_refused(call) assert_false(call)

/**
 * Asserts the ledger's structural invariants: extents sorted, page-aligned,
 * non-empty, non-overlapping, merged (no two touching extents of one owner);
 * owners valid; and pages per owner adding up to total_pages.
 */
static void assert_ledger_sane(uint64_t total_pages)
{
	uint64_t prev_end = 0;
	owner_t prev_owner = OWNER_NONE;
	uint64_t pages_seen = 0;
	uint64_t pages_by_owner = 0;
	size_t count = alloc_extent_count();

	assert_true(count <= ALLOC_MAX_EXTENTS);
	for (size_t i = 0; i < count; i++) {
		hpa_t base;
		uint64_t pages;
		owner_t owner;

		assert_true(alloc_extent_at(i, &base, &pages, &owner));
		assert_true(IS_ALIGNED(hpa_addr(base), PAGE_SIZE));
		assert_true(pages > 0);
		assert_true(owner != OWNER_NONE);
		if (i > 0) {
			assert_true(hpa_addr(base) >= prev_end);
			assert_false(hpa_addr(base) == prev_end && owner == prev_owner);
		}
		prev_end = hpa_addr(base) + pages * PAGE_SIZE;
		prev_owner = owner;
		pages_seen += pages;
	}
	assert_false(alloc_extent_at(count, &(hpa_t){ 0 }, &(uint64_t){ 0 },
				     &(owner_t){ 0 }));
	assert_int_equal(pages_seen, total_pages);

	pages_by_owner += alloc_pages_owned(OWNER_FREE);
	pages_by_owner += alloc_pages_owned(OWNER_HYPERVISOR);
	for (owner_t p = 0; p < 8; p++) {
		pages_by_owner += alloc_pages_owned(OWNER_PARTITION(p));
	}
	assert_int_equal(pages_by_owner, total_pages);
}

/** Asserts extent i is [base, base + pages pages) owned by owner. */
static void assert_extent(size_t i, uint64_t base, uint64_t pages, owner_t owner)
{
	hpa_t got_base;
	uint64_t got_pages;
	owner_t got_owner;

	assert_true(alloc_extent_at(i, &got_base, &got_pages, &got_owner));
	assert_int_equal(hpa_addr(got_base), base);
	assert_int_equal(got_pages, pages);
	assert_int_equal(got_owner, owner);
}

/** Empties the ledger before each test. */
static int setup_empty_ledger(void **state)
{
	alloc_init();
	return 0;
}

/** Usable RAM is shrunk inward to whole pages. */
static void test_add_free_aligns_inward(void **state)
{
	assert_true(alloc_add_free(hpa_init(0x1001), 0x3000));
	assert_int_equal(alloc_extent_count(), 1);
	assert_extent(0, 0x2000, 2, OWNER_FREE);

	/* No whole page: nothing added, not an error. */
	assert_true(alloc_add_free(hpa_init(0x10001), 0x1000));
	assert_true(alloc_add_free(hpa_init(0x20000), 0xfff));
	assert_true(alloc_add_free(hpa_init(0x30000), 0));
	assert_int_equal(alloc_extent_count(), 1);
	assert_int_equal(alloc_owner_of(hpa_init(0x10000)), OWNER_NONE);
	assert_ledger_sane(2);
}

/** Overlapping RAM is refused; touching RAM merges. */
static void test_add_free_overlap_and_merge(void **state)
{
	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_refused(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_refused(alloc_add_free(hpa_init(MiB(1) - PAGE_SIZE), 2 * PAGE_SIZE));
	assert_refused(alloc_add_free(hpa_init(MiB(2) - PAGE_SIZE), 2 * PAGE_SIZE));
	assert_refused(alloc_add_free(hpa_init(0), GiB(1)));
	assert_refused(alloc_add_free(hpa_init(MiB(1) + PAGE_SIZE), PAGE_SIZE));

	/* Touching on either side: one extent. */
	assert_true(alloc_add_free(hpa_init(MiB(2)), MiB(1)));
	assert_true(alloc_add_free(hpa_init(0), MiB(1)));
	assert_int_equal(alloc_extent_count(), 1);
	assert_extent(0, 0, MiB(3) / PAGE_SIZE, OWNER_FREE);

	/* A gap keeps them apart; filling it merges all three. */
	assert_true(alloc_add_free(hpa_init(MiB(4)), MiB(1)));
	assert_int_equal(alloc_extent_count(), 2);
	assert_true(alloc_add_free(hpa_init(MiB(3)), MiB(1)));
	assert_int_equal(alloc_extent_count(), 1);
	assert_ledger_sane(MiB(5) / PAGE_SIZE);
}

/** RAM beyond the 52-bit physical address space, or wrapping, is refused. */
static void test_add_free_limits(void **state)
{
	assert_refused(alloc_add_free(hpa_init(ALLOC_ADDRESS_LIMIT), PAGE_SIZE));
	assert_refused(alloc_add_free(hpa_init(ALLOC_ADDRESS_LIMIT - PAGE_SIZE),
				      2 * PAGE_SIZE));
	assert_refused(alloc_add_free(hpa_init(UINT64_MAX - PAGE_SIZE), MiB(1)));
	assert_refused(alloc_add_free(hpa_init(PAGE_SIZE), UINT64_MAX));
	assert_true(alloc_add_free(hpa_init(ALLOC_ADDRESS_LIMIT - PAGE_SIZE),
				   PAGE_SIZE));
	assert_ledger_sane(1);
}

/** Reserving takes known free pages, widened outward, and nothing else. */
static void test_reserve(void **state)
{
	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_true(alloc_add_free(hpa_init(MiB(3)), MiB(1)));

	/* A hypervisor image at an odd address and size: whole pages. */
	assert_true(alloc_reserve(hpa_init(MiB(1) + 0x1234), 0x2000,
				  OWNER_HYPERVISOR));
	assert_int_equal(alloc_pages_owned(OWNER_HYPERVISOR), 3);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0xfff)), OWNER_FREE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0x1000)), OWNER_HYPERVISOR);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0x3fff)), OWNER_HYPERVISOR);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0x4000)), OWNER_FREE);

	/* Already owned, partly owned, unknown, straddling a hole: refused. */
	assert_refused(alloc_reserve(hpa_init(MiB(1) + 0x2000), PAGE_SIZE,
				     OWNER_PARTITION(0)));
	assert_refused(alloc_reserve(hpa_init(MiB(1) + 0x3000), 0x2000,
				     OWNER_PARTITION(0)));
	assert_refused(alloc_reserve(hpa_init(0), PAGE_SIZE, OWNER_PARTITION(0)));
	assert_refused(alloc_reserve(hpa_init(MiB(2) - PAGE_SIZE), MiB(2),
				     OWNER_PARTITION(0)));
	assert_refused(alloc_reserve(hpa_init(MiB(3)), 0, OWNER_PARTITION(0)));
	assert_refused(alloc_reserve(hpa_init(UINT64_MAX - 5), 10,
				     OWNER_PARTITION(0)));

	/* A whole extent. */
	assert_true(alloc_reserve(hpa_init(MiB(3)), MiB(1), OWNER_PARTITION(0)));
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(0)), 256);
	assert_ledger_sane(512);
}

/** Allocation is lowest-address first fit and honours alignment. */
static void test_alloc_first_fit_aligned(void **state)
{
	hpa_t page;

	assert_true(alloc_add_free(hpa_init(MiB(1) + PAGE_SIZE), 3 * PAGE_SIZE));
	assert_true(alloc_add_free(hpa_init(MiB(4)), MiB(4)));

	/* 4 pages do not fit in the first extent of 3. */
	assert_true(alloc_pages(4, 1, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), MiB(4));
	assert_true(alloc_pages(1, 1, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), MiB(1) + PAGE_SIZE);
	/* 2 pages aligned to 2 pages: only at MiB(1) + 2 pages. */
	assert_true(alloc_pages(2, 2, OWNER_PARTITION(1), &page));
	assert_int_equal(hpa_addr(page), MiB(1) + 2 * PAGE_SIZE);
	/* 2 MiB-aligned: MiB(4) is taken, so MiB(6). */
	assert_true(alloc_pages(1, 512, OWNER_PARTITION(1), &page));
	assert_int_equal(hpa_addr(page), MiB(6));
	/* Fills the rest of the first 2 MiB, right after the 4 pages. */
	assert_true(alloc_pages(508, 1, OWNER_PARTITION(2), &page));
	assert_int_equal(hpa_addr(page), MiB(4) + 4 * PAGE_SIZE);

	assert_int_equal(alloc_pages_owned(OWNER_HYPERVISOR), 5);
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(1)), 3);
	assert_ledger_sane(3 + 1024);
}

/** A maximum end address is honoured exactly. */
static void test_alloc_below(void **state)
{
	hpa_t page;

	assert_true(alloc_add_free(hpa_init(GiB(4) - MiB(1)), MiB(2)));

	assert_true(alloc_pages_below(256, 1, hpa_init(GiB(4)), OWNER_HYPERVISOR,
				      &page));
	assert_int_equal(hpa_addr(page), GiB(4) - MiB(1));
	/* Nothing left below 4 GiB. */
	assert_refused(alloc_pages_below(1, 1, hpa_init(GiB(4)), OWNER_HYPERVISOR,
					 &page));
	/* Unaligned limits count whole pages only. */
	assert_refused(alloc_pages_below(1, 1, hpa_init(GiB(4) + PAGE_SIZE - 1),
					 OWNER_HYPERVISOR, &page));
	assert_true(alloc_pages_below(1, 1, hpa_init(GiB(4) + PAGE_SIZE),
				      OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), GiB(4));
	/* A limit below all RAM. */
	assert_refused(alloc_pages_below(1, 1, hpa_init(MiB(1)), OWNER_HYPERVISOR,
					 &page));
	assert_true(alloc_pages(1, 1, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), GiB(4) + PAGE_SIZE);
	assert_ledger_sane(512);
}

/** Too little memory, or too little of it contiguous, fails cleanly. */
static void test_alloc_too_little_memory(void **state)
{
	hpa_t page;

	assert_refused(alloc_pages(1, 1, OWNER_HYPERVISOR, &page));
	assert_true(alloc_add_free(hpa_init(MiB(1)), 4 * PAGE_SIZE));
	assert_true(alloc_add_free(hpa_init(MiB(2)), 4 * PAGE_SIZE));

	/* 8 pages free, but at most 4 contiguous. */
	assert_refused(alloc_pages(5, 1, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_pages(9, 1, OWNER_HYPERVISOR, &page));
	/* The only 2 MiB-aligned free run, at MiB(2), has 4 pages. */
	assert_refused(alloc_pages(8, 512, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_pages(1, 1024, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_pages(0, 1, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_pages(UINT64_MAX, 1, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_pages(1, 1ULL << 62, OWNER_HYPERVISOR, &page));
	assert_int_equal(alloc_pages_owned(OWNER_FREE), 8);

	assert_true(alloc_pages(4, 512, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), MiB(2));
	assert_ledger_sane(8);
}

/** Freeing returns pages and re-merges the free space. */
static void test_free_merges(void **state)
{
	hpa_t a;
	hpa_t b;
	hpa_t c;

	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_true(alloc_pages(1, 1, OWNER_HYPERVISOR, &a));
	assert_true(alloc_pages(1, 1, OWNER_PARTITION(0), &b));
	assert_true(alloc_pages(1, 1, OWNER_HYPERVISOR, &c));
	assert_int_equal(alloc_extent_count(), 4);

	alloc_free(b, 1, OWNER_PARTITION(0));
	assert_int_equal(alloc_extent_count(), 4);
	alloc_free(a, 1, OWNER_HYPERVISOR);
	assert_int_equal(alloc_extent_count(), 3);
	alloc_free(c, 1, OWNER_HYPERVISOR);
	assert_int_equal(alloc_extent_count(), 1);
	assert_extent(0, MiB(1), 256, OWNER_FREE);

	/* Freeing part of an allocation. */
	assert_true(alloc_pages(8, 1, OWNER_PARTITION(3), &a));
	alloc_free(hpa_init(hpa_addr(a) + 2 * PAGE_SIZE), 3, OWNER_PARTITION(3));
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(3)), 5);
	assert_int_equal(alloc_extent_count(), 4);
	assert_ledger_sane(256);
}

/** Double frees and frees of someone else's memory are CHECK failures. */
static void test_bad_free_checks(void **state)
{
	hpa_t a;
	hpa_t b;

	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_true(alloc_pages(4, 1, OWNER_PARTITION(0), &a));
	assert_true(alloc_pages(4, 1, OWNER_PARTITION(1), &b));

	expect_assert_failure(alloc_free(a, 4, OWNER_PARTITION(1)));
	expect_assert_failure(alloc_free(a, 5, OWNER_PARTITION(0)));
	expect_assert_failure(alloc_free(hpa_init(hpa_addr(a) + 1), 1,
					 OWNER_PARTITION(0)));
	expect_assert_failure(alloc_free(hpa_init(0), 1, OWNER_PARTITION(0)));
	expect_assert_failure(alloc_free(a, 0, OWNER_PARTITION(0)));
	expect_assert_failure(alloc_free(a, 4, OWNER_FREE));
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(0)), 4);

	alloc_free(a, 4, OWNER_PARTITION(0));
	expect_assert_failure(alloc_free(a, 4, OWNER_PARTITION(0)));
	expect_assert_failure(alloc_free(a, 1, OWNER_PARTITION(0)));
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(1)), 4);
	assert_ledger_sane(256);
}

/** Invalid owners and alignments are CHECK failures. */
static void test_bad_arguments_check(void **state)
{
	hpa_t page;

	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	expect_assert_failure(alloc_pages(1, 1, OWNER_FREE, &page));
	expect_assert_failure(alloc_pages(1, 1, OWNER_NONE, &page));
	expect_assert_failure(alloc_pages(1, 0, OWNER_HYPERVISOR, &page));
	expect_assert_failure(alloc_pages(1, 3, OWNER_HYPERVISOR, &page));
	expect_assert_failure(alloc_reserve(hpa_init(MiB(1)), 1, OWNER_FREE));
	assert_int_equal(alloc_pages_owned(OWNER_FREE), 256);
}

/** Owners of pages in, between and outside the known RAM. */
static void test_owner_of(void **state)
{
	hpa_t page;

	assert_int_equal(alloc_owner_of(hpa_init(0)), OWNER_NONE);
	assert_true(alloc_add_free(hpa_init(MiB(1)), MiB(1)));
	assert_true(alloc_add_free(hpa_init(MiB(4)), MiB(1)));
	assert_true(alloc_pages(1, 1, OWNER_PARTITION(7), &page));

	assert_int_equal(alloc_owner_of(hpa_init(0)), OWNER_NONE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) - 1)), OWNER_NONE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1))), OWNER_PARTITION(7));
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0xfff)), OWNER_PARTITION(7));
	assert_int_equal(alloc_owner_of(hpa_init(MiB(1) + 0x1000)), OWNER_FREE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(2) - 1)), OWNER_FREE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(2))), OWNER_NONE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(4) + 5)), OWNER_FREE);
	assert_int_equal(alloc_owner_of(hpa_init(MiB(5))), OWNER_NONE);
	assert_int_equal(alloc_owner_of(hpa_init(UINT64_MAX)), OWNER_NONE);
}

/** A full ledger refuses what needs more extents, and nothing else breaks. */
static void test_ledger_capacity(void **state)
{
	hpa_t page;

	/* ALLOC_MAX_EXTENTS runs of 2 pages, each separated by a hole. */
	for (uint64_t i = 0; i < ALLOC_MAX_EXTENTS; i++) {
		assert_true(alloc_add_free(hpa_init(i * 4 * PAGE_SIZE), 2 * PAGE_SIZE));
	}
	assert_int_equal(alloc_extent_count(), ALLOC_MAX_EXTENTS);
	assert_refused(alloc_add_free(hpa_init(GiB(1)), PAGE_SIZE));
	/* Touching an extent needs no new one. */
	assert_true(alloc_add_free(hpa_init(2 * PAGE_SIZE), PAGE_SIZE));

	/* Splitting a run needs a new extent: refused, ledger unchanged. */
	assert_refused(alloc_pages(1, 1, OWNER_HYPERVISOR, &page));
	assert_refused(alloc_reserve(hpa_init(4 * PAGE_SIZE), PAGE_SIZE,
				     OWNER_HYPERVISOR));
	assert_int_equal(alloc_pages_owned(OWNER_FREE), 2 * ALLOC_MAX_EXTENTS + 1);

	/* Taking a whole run does not. */
	assert_true(alloc_pages(3, 1, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), 0);
	assert_true(alloc_pages(2, 1, OWNER_HYPERVISOR, &page));
	assert_int_equal(hpa_addr(page), 4 * PAGE_SIZE);

	/* Freeing part of a run would split it: a fatal, not a silent leak. */
	expect_assert_failure(alloc_free(page, 1, OWNER_HYPERVISOR));
	alloc_free(page, 2, OWNER_HYPERVISOR);
	assert_ledger_sane(2 * ALLOC_MAX_EXTENTS + 1);
}

/* ------------------------------------------------------------------------ */
/* The randomized run against a shadow model. */

#define SHADOW_BASE  (GiB(4) - MiB(32)) /* straddles 4 GiB, for limits */
#define SHADOW_PAGES 16384u             /* 64 MiB */
#define SHADOW_END   (SHADOW_BASE + (uint64_t)SHADOW_PAGES * PAGE_SIZE)
#define RANDOM_SEED  0x7e55e7a2024ULL
#define RANDOM_STEPS 3000
/*
 * Every live range splits at most one extent in three, so with at most 256
 * RAM runs the ledger never exceeds 256 + 2 * MAX_LIVE extents: the run
 * stays clear of ALLOC_MAX_EXTENTS (test_ledger_capacity covers that).
 */
#define MAX_LIVE     256

/** A live allocation the randomized run may free. */
struct live_range {
	uint64_t page; /* shadow page index */
	uint64_t count;
	owner_t owner;
};

/** What the run exercised, so a change of seed cannot make it vacuous. */
struct run_stats {
	unsigned allocs;
	unsigned allocs_refused;
	unsigned allocs_below_limit;
	unsigned frees;
	unsigned reserves;
	unsigned reserves_refused;
	size_t most_extents;
};

/** The shadow model and the randomized run's state. */
static struct {
	owner_t owner[SHADOW_PAGES]; /* OWNER_NONE: not RAM */
	uint64_t total_pages;
	struct live_range live[MAX_LIVE];
	size_t live_count;
	uint64_t random_state;
	struct run_stats seen;
} shadow;

/** Next number of a xorshift64* generator: repeatable from its seed. */
static uint64_t random_next(void)
{
	shadow.random_state ^= shadow.random_state >> 12;
	shadow.random_state ^= shadow.random_state << 25;
	shadow.random_state ^= shadow.random_state >> 27;
	return shadow.random_state * 0x2545F4914F6CDD1DULL;
}

/** A random number in [low, high]. */
static uint64_t random_between(uint64_t low, uint64_t high)
{
	return low + random_next() % (high - low + 1);
}

/** Host-physical address of shadow page index page. */
static uint64_t shadow_addr(uint64_t page)
{
	return SHADOW_BASE + page * PAGE_SIZE;
}

/** Whether shadow pages [page, page + count) all have owner. */
static bool shadow_all_owned_by(uint64_t page, uint64_t count, owner_t owner)
{
	for (uint64_t i = page; i < page + count; i++) {
		if (i >= SHADOW_PAGES || shadow.owner[i] != owner) {
			return false;
		}
	}
	return true;
}

/** Gives shadow pages [page, page + count) to owner. */
static void shadow_set(uint64_t page, uint64_t count, owner_t owner)
{
	for (uint64_t i = page; i < page + count; i++) {
		shadow.owner[i] = owner;
	}
}

/**
 * First fit by brute force over the model: the lowest aligned run of count
 * free pages ending at or below limit. Independent of the ledger's extents.
 */
static bool shadow_first_fit(uint64_t count, uint64_t align_pages,
			     uint64_t limit, uint64_t *page)
{
	uint64_t first = (ALIGN_UP(SHADOW_BASE, align_pages * PAGE_SIZE) -
			  SHADOW_BASE) / PAGE_SIZE;

	for (uint64_t p = first; p + count <= SHADOW_PAGES; p += align_pages) {
		if (shadow_addr(p + count) > limit) {
			return false;
		}
		if (shadow_all_owned_by(p, count, OWNER_FREE)) {
			*page = p;
			return true;
		}
	}
	return false;
}

/** Asserts the ledger says exactly what the model says, page for page. */
static void assert_ledger_matches_shadow(void)
{
	uint64_t covered = 0;

	assert_ledger_sane(shadow.total_pages);
	for (size_t i = 0; i < alloc_extent_count(); i++) {
		hpa_t base;
		uint64_t pages;
		owner_t owner;

		assert_true(alloc_extent_at(i, &base, &pages, &owner));
		assert_true(hpa_addr(base) >= SHADOW_BASE);
		assert_true(hpa_addr(base) + pages * PAGE_SIZE <= SHADOW_END);
		assert_true(shadow_all_owned_by((hpa_addr(base) - SHADOW_BASE) /
							PAGE_SIZE,
						pages, owner));
		covered += pages;
		/* alloc_owner_of() at and around the extent's edges. */
		assert_int_equal(alloc_owner_of(base), owner);
		assert_int_equal(alloc_owner_of(hpa_init(hpa_addr(base) +
							 pages * PAGE_SIZE - 1)),
				 owner);
	}
	assert_int_equal(covered, shadow.total_pages);
	for (int probe = 0; probe < 8; probe++) {
		uint64_t p = random_between(0, SHADOW_PAGES - 1);

		assert_int_equal(alloc_owner_of(hpa_init(shadow_addr(p) + 7)),
				 shadow.owner[p]);
	}
}

/** Adds random RAM in random order: runs that touch, and runs with holes. */
static void random_add_ram(void)
{
	struct live_range runs[256];
	size_t n = 0;
	uint64_t page = random_between(0, 16);

	while (n < ARRAY_SIZE(runs)) {
		uint64_t count = random_between(1, 128);

		if (page + count > SHADOW_PAGES) {
			break;
		}
		runs[n++] = (struct live_range){ .page = page, .count = count };
		page += count + (random_next() % 2 ? 0 : random_between(1, 40));
	}
	/* Shuffle so runs are inserted at random positions. */
	for (size_t i = n; i > 1; i--) {
		size_t j = random_next() % i;
		struct live_range tmp = runs[i - 1];

		runs[i - 1] = runs[j];
		runs[j] = tmp;
	}
	for (size_t i = 0; i < n; i++) {
		/* Unaligned edges inside the neighbouring pages: shrunk away. */
		uint64_t base = shadow_addr(runs[i].page) - random_between(0, 4095);
		uint64_t end = shadow_addr(runs[i].page + runs[i].count) +
			       random_between(0, 4095);

		assert_true(alloc_add_free(hpa_init(base), end - base));
		shadow_set(runs[i].page, runs[i].count, OWNER_FREE);
		shadow.total_pages += runs[i].count;
		/* The same range again, or a page of it, overlaps. */
		assert_refused(alloc_add_free(hpa_init(shadow_addr(runs[i].page)),
					      PAGE_SIZE));
	}
}

/** A random owner that may hold pages. */
static owner_t random_owner(void)
{
	uint64_t pick = random_between(0, 6);

	return pick == 0 ? OWNER_HYPERVISOR : OWNER_PARTITION(pick - 1);
}

/** Remembers a live range for later freeing (the caller made room). */
static void remember_live(uint64_t page, uint64_t count, owner_t owner)
{
	assert_true(shadow.live_count < MAX_LIVE);
	shadow.live[shadow.live_count++] = (struct live_range){
		.page = page, .count = count, .owner = owner
	};
}

/** One random allocation, checked against the model's first fit. */
static void random_alloc(void)
{
	uint64_t count = random_next() % 8 ? random_between(1, 16) :
					     random_between(1, 2048);
	uint64_t align = 1ULL << random_between(0, 9);
	uint64_t limit = random_next() % 3 ? ALLOC_ADDRESS_LIMIT :
					     shadow_addr(random_between(0, SHADOW_PAGES));
	owner_t owner = random_owner();
	uint64_t expected;
	bool fits = shadow_first_fit(count, align, limit, &expected);
	hpa_t got = hpa_init(0);

	if (shadow.live_count == MAX_LIVE) {
		return;
	}
	assert_int_equal(alloc_pages_below(count, align, hpa_init(limit), owner,
					   &got),
			 fits);
	if (!fits) {
		shadow.seen.allocs_refused++;
		return;
	}
	shadow.seen.allocs++;
	shadow.seen.allocs_below_limit += limit != ALLOC_ADDRESS_LIMIT;
	assert_int_equal(hpa_addr(got), shadow_addr(expected));
	assert_true(IS_ALIGNED(hpa_addr(got), align * PAGE_SIZE));
	assert_true(hpa_addr(got) + count * PAGE_SIZE <= limit);
	shadow_set(expected, count, owner);
	remember_live(expected, count, owner);
}

/**
 * Frees a random live range: all of it, a prefix of it, or a suffix of it
 * (so what stays allocated is always still tracked).
 */
static void random_free(void)
{
	size_t i;
	struct live_range *range;
	struct live_range freed;

	if (shadow.live_count == 0) {
		return;
	}
	i = random_next() % shadow.live_count;
	range = &shadow.live[i];
	freed = *range;
	if (range->count > 1 && random_next() % 4 == 0) {
		uint64_t cut = random_between(1, range->count - 1);

		if (random_next() % 2) {
			/* Free the prefix; the rest stays. */
			freed.count = cut;
			range->page += cut;
			range->count -= cut;
		} else {
			/* Free the suffix; the start stays. */
			freed.page += cut;
			freed.count -= cut;
			range->count = cut;
		}
	} else {
		shadow.live[i] = shadow.live[--shadow.live_count];
	}

	alloc_free(hpa_init(shadow_addr(freed.page)), freed.count, freed.owner);
	shadow_set(freed.page, freed.count, OWNER_FREE);
	shadow.seen.frees++;

	/* Sometimes (it is noisy in cmocka's output) free it again. */
	if (random_next() % 8 == 0) {
		expect_assert_failure(alloc_free(hpa_init(shadow_addr(freed.page)),
						 freed.count, freed.owner));
	}
}

/** Reserves a random range; succeeds exactly when it is all free. */
static void random_reserve(void)
{
	uint64_t page = random_between(0, SHADOW_PAGES - 1);
	uint64_t count = random_between(1, MIN(64, SHADOW_PAGES - page));
	owner_t owner = random_owner();
	bool all_free = shadow_all_owned_by(page, count, OWNER_FREE);

	if (shadow.live_count == MAX_LIVE) {
		return;
	}
	/* An unaligned start inside the first page: widened to it. */
	assert_int_equal(alloc_reserve(hpa_init(shadow_addr(page) + 100),
				       count * PAGE_SIZE - 100, owner),
			 all_free);
	if (all_free) {
		shadow_set(page, count, owner);
		remember_live(page, count, owner);
		shadow.seen.reserves++;
	} else {
		shadow.seen.reserves_refused++;
	}
}

/** Frees a live range under the wrong owner: CHECK, ledger unchanged. */
static void random_wrong_owner_free(void)
{
	const struct live_range *range;
	owner_t wrong;

	if (shadow.live_count == 0) {
		return;
	}
	range = &shadow.live[random_next() % shadow.live_count];
	wrong = range->owner == OWNER_HYPERVISOR ? OWNER_PARTITION(0) :
						   OWNER_HYPERVISOR;
	expect_assert_failure(alloc_free(hpa_init(shadow_addr(range->page)),
					 range->count, wrong));
}

/** Resets the model and its generator to the fixed seed: no RAM at all. */
static void shadow_reset(void)
{
	shadow.random_state = RANDOM_SEED;
	shadow.total_pages = 0;
	shadow.live_count = 0;
	shadow.seen = (struct run_stats){ 0 };
	for (size_t i = 0; i < SHADOW_PAGES; i++) {
		shadow.owner[i] = OWNER_NONE;
	}
}

/** One random operation. */
static void random_step(void)
{
	uint64_t pick = random_between(0, 99);

	if (pick < 50) {
		random_alloc();
	} else if (pick < 85) {
		random_free();
	} else if (pick < 95) {
		random_reserve();
	} else {
		random_wrong_owner_free();
	}
}

/** Asserts the run exercised every path (a new seed must not skip any). */
static void assert_run_was_thorough(void)
{
	print_message("randomized: %u allocs (%u below a limit), %u refused, "
		      "%u frees, %u reserves, %u refused, up to %zu extents\n",
		      shadow.seen.allocs, shadow.seen.allocs_below_limit,
		      shadow.seen.allocs_refused, shadow.seen.frees,
		      shadow.seen.reserves, shadow.seen.reserves_refused,
		      shadow.seen.most_extents);
	assert_true(shadow.seen.allocs > 500);
	assert_true(shadow.seen.allocs_refused > 20);
	assert_true(shadow.seen.allocs_below_limit > 100);
	assert_true(shadow.seen.frees > 500);
	assert_true(shadow.seen.reserves > 20);
	assert_true(shadow.seen.reserves_refused > 20);
	assert_true(shadow.seen.most_extents > 300);
}

/** Random RAM, then random operations, each checked against the model. */
static void test_randomized_against_shadow(void **state)
{
	shadow_reset();
	random_add_ram();
	assert_ledger_matches_shadow();

	for (int step = 0; step < RANDOM_STEPS; step++) {
		random_step();
		assert_ledger_matches_shadow();
		shadow.seen.most_extents = MAX(shadow.seen.most_extents,
					       alloc_extent_count());
	}
	assert_run_was_thorough();

	/* Free everything: back to the RAM as added, merged as it was. */
	while (shadow.live_count > 0) {
		const struct live_range *range = &shadow.live[--shadow.live_count];

		alloc_free(hpa_init(shadow_addr(range->page)), range->count,
			   range->owner);
		shadow_set(range->page, range->count, OWNER_FREE);
	}
	assert_ledger_matches_shadow();
}

/* Every test starts from an empty ledger. */
#define TEST(f) cmocka_unit_test_setup(f, setup_empty_ledger)

/** Runs the allocator tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_add_free_aligns_inward),
		TEST(test_add_free_overlap_and_merge),
		TEST(test_add_free_limits),
		TEST(test_reserve),
		TEST(test_alloc_first_fit_aligned),
		TEST(test_alloc_below),
		TEST(test_alloc_too_little_memory),
		TEST(test_free_merges),
		TEST(test_bad_free_checks),
		TEST(test_bad_arguments_check),
		TEST(test_owner_of),
		TEST(test_ledger_capacity),
		TEST(test_randomized_against_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
