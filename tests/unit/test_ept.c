/*
 * Unit tests for arch/x86/ept.c: the EPT builder.
 *
 * The tables are checked by a walker written here from the SDM's entry
 * formats (29.3.2), independent of the builder's own walks: it checks every
 * entry's reserved bits, that non-present entries are entirely zero (table
 * pages were zeroed), that every table is a hypervisor-owned page referenced
 * once, and collects the leaves. The leaves are then compared with the
 * mappings requested, and their count per page size with a count computed
 * by a different method (aligned blocks, not a walk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "arch/x86/ept.h"
#include "hv/alloc.h"
#include "hv/phys.h"
#include "tests/unit/support/fake_phys.h"

/* Entry bits, from the SDM, for the independent walker. */
#define T_ACCESS     0x7ULL
#define T_MEMTYPE(e) (((e) >> 3) & 7)
#define T_IGNORE_PAT BIT(6)
#define T_PAGE_SIZE  BIT(7)
#define T_ADDR       0x000ffffffffff000ULL

/* An arbitrary host-physical base for mapped memory (never touched). */
#define TARGET_HPA GiB(64)

/** One mapping: a requested one, or a leaf found in the tables. */
struct mapping {
	uint64_t gpa;
	uint64_t hpa;
	uint64_t size;
	uint32_t access;
	uint8_t memtype;
};

/** What the independent walker found. */
struct walk {
	struct mapping *leaves;
	size_t leaf_count;
	size_t leaf_capacity;
	uint64_t leaves_by_size[3]; /* 4K, 2M, 1G */
	hpa_t tables[4096];
	size_t table_count;
};

/** Index into leaves_by_size for a page size. */
static size_t size_index(uint64_t size)
{
	return size == EPT_PAGE_SIZE_4K ? 0 : size == EPT_PAGE_SIZE_2M ? 1 : 2;
}

/** Records a table page, asserting it is valid and seen only once. */
static void walk_note_table(struct walk *walk, hpa_t table)
{
	assert_true(fake_phys_contains(table, PAGE_SIZE));
	assert_true(IS_ALIGNED(hpa_addr(table), PAGE_SIZE));
	assert_int_equal(alloc_owner_of(table), OWNER_HV_EPT);
	for (size_t i = 0; i < walk->table_count; i++) {
		assert_int_not_equal(hpa_addr(walk->tables[i]), hpa_addr(table));
	}
	assert_true(walk->table_count < ARRAY_SIZE(walk->tables));
	walk->tables[walk->table_count++] = table;
}

/** Records a leaf, asserting its reserved and ignored bits are clear. */
static void walk_note_leaf(struct walk *walk, uint64_t entry, uint64_t gpa,
			   uint64_t size)
{
	uint64_t hpa = entry & T_ADDR & ~(size - 1);

	/* Bits 29:12 (1G) or 20:12 (2M) are reserved; A/D, 11:8, 63:52 clear. */
	assert_int_equal(entry & ~(hpa | T_ACCESS | (7ULL << 3) | T_PAGE_SIZE), 0);
	assert_int_equal(entry & T_IGNORE_PAT, 0);
	assert_int_equal((entry & T_PAGE_SIZE) != 0, size != EPT_PAGE_SIZE_4K);
	assert_true((entry & T_ACCESS) != 0);
	if (walk->leaf_count == walk->leaf_capacity) {
		walk->leaf_capacity = walk->leaf_capacity * 2 + 64;
		walk->leaves = realloc(walk->leaves,
				       walk->leaf_capacity * sizeof(walk->leaves[0]));
		assert_non_null(walk->leaves);
	}
	walk->leaves[walk->leaf_count++] = (struct mapping){
		.gpa = gpa, .hpa = hpa, .size = size,
		.access = (uint32_t)(entry & T_ACCESS),
		.memtype = (uint8_t)T_MEMTYPE(entry),
	};
	walk->leaves_by_size[size_index(size)]++;
}

/** Walks the table at table at level (3 = PML4) covering gpa base onward. */
static void walk_table(struct walk *walk, hpa_t table, int level, uint64_t base)
{
	const uint64_t *entries = hpa_to_ptr(table);
	uint64_t size = 1ULL << (12 + 9 * level);

	walk_note_table(walk, table);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t entry = entries[i];

		if ((entry & T_ACCESS) == 0) {
			/* Not present: the rest must be zero (tables were zeroed). */
			assert_int_equal(entry, 0);
		} else if (level == 0 || (level < 3 && (entry & T_PAGE_SIZE))) {
			walk_note_leaf(walk, entry, base + i * size, size);
		} else {
			/* Referencing a table: full rights, bits 7:3 and 63:52 clear. */
			assert_int_equal(entry & ~T_ADDR, T_ACCESS);
			walk_table(walk, hpa_init(entry & T_ADDR), level - 1,
				   base + i * size);
		}
	}
}

/** Walks a whole EPT, asserting table_pages counts exactly its tables. */
static void walk_ept(const struct ept *ept, struct walk *walk)
{
	*walk = (struct walk){ 0 };
	walk_table(walk, ept->pml4, 3, 0);
	assert_int_equal(walk->table_count, ept->table_pages);
}

/** Releases what walk_ept() allocated. */
static void walk_free(struct walk *walk)
{
	free(walk->leaves);
	walk->leaves = NULL;
}

/** The request of requests (count n) containing gpa, or NULL. */
static const struct mapping *find_request(const struct mapping *requests,
					  size_t n, uint64_t gpa)
{
	for (size_t i = 0; i < n; i++) {
		if (gpa >= requests[i].gpa && gpa - requests[i].gpa < requests[i].size) {
			return &requests[i];
		}
	}
	return NULL;
}

/**
 * Asserts the leaves of the EPT are exactly the requested mappings: every
 * leaf lies inside one request and maps what it asks, and together they
 * cover every requested byte (leaves never overlap, being distinct entries).
 */
static void assert_maps_exactly(const struct walk *walk,
				const struct mapping *requests, size_t n)
{
	uint64_t requested = 0;
	uint64_t mapped = 0;

	for (size_t i = 0; i < n; i++) {
		requested += requests[i].size;
	}
	for (size_t i = 0; i < walk->leaf_count; i++) {
		const struct mapping *leaf = &walk->leaves[i];
		const struct mapping *request = find_request(requests, n, leaf->gpa);

		assert_non_null(request);
		assert_true(leaf->gpa + leaf->size <= request->gpa + request->size);
		assert_int_equal(leaf->hpa, request->hpa + (leaf->gpa - request->gpa));
		assert_int_equal(leaf->access, request->access);
		assert_int_equal(leaf->memtype, request->memtype);
		assert_true(i == 0 || leaf->gpa >= walk->leaves[i - 1].gpa +
							   walk->leaves[i - 1].size);
		mapped += leaf->size;
	}
	assert_int_equal(mapped, requested);
}

/** Number of whole block-aligned blocks of block bytes in [start, end). */
static uint64_t aligned_blocks(uint64_t start, uint64_t end, uint64_t block)
{
	uint64_t first = ALIGN_UP(start, block);
	uint64_t last = ALIGN_DOWN(end, block);

	return last > first ? (last - first) / block : 0;
}

/**
 * The fewest leaves per page size that can map request, by counting blocks:
 * a 1G (2M) leaf fits exactly where a 1G (2M) aligned block lies within the
 * range and gpa and hpa agree modulo 1G (2M).
 */
static void optimal_leaves(const struct mapping *request, bool allow_2m,
			   bool allow_1g, uint64_t out[3])
{
	uint64_t end = request->gpa + request->size;
	uint64_t offset = request->gpa - request->hpa;
	uint64_t per_1g = EPT_PAGE_SIZE_1G / EPT_PAGE_SIZE_2M;

	out[2] = allow_1g && IS_ALIGNED(offset, EPT_PAGE_SIZE_1G) ?
			 aligned_blocks(request->gpa, end, EPT_PAGE_SIZE_1G) : 0;
	out[1] = allow_2m && IS_ALIGNED(offset, EPT_PAGE_SIZE_2M) ?
			 aligned_blocks(request->gpa, end, EPT_PAGE_SIZE_2M) -
				 per_1g * out[2] : 0;
	out[0] = request->size / PAGE_SIZE -
		 (EPT_PAGE_SIZE_2M / PAGE_SIZE) * out[1] -
		 (EPT_PAGE_SIZE_1G / PAGE_SIZE) * out[2];
}

/** Maps request into ept, asserting success. */
static void map_ok(struct ept *ept, const struct mapping *request)
{
	assert_true(ept_map_range(ept, gpa_init(request->gpa),
				  hpa_init(request->hpa), request->size,
				  request->access, request->memtype));
}

/**
 * Asserts ept_translate() of gpa agrees with the requests and, when
 * page_size is not 0, that the leaf mapping gpa has that size.
 */
static void assert_translates(const struct ept *ept,
			      const struct mapping *requests, size_t n,
			      uint64_t gpa, uint64_t page_size)
{
	const struct mapping *request = find_request(requests, n, gpa);
	hpa_t hpa;
	uint32_t access;
	uint8_t memtype;
	uint64_t got_size;

	if (request == NULL) {
		assert_false(ept_translate(ept, gpa_init(gpa), &hpa, &access,
					   &memtype, &got_size));
		return;
	}
	assert_true(ept_translate(ept, gpa_init(gpa), &hpa, &access, &memtype,
				  &got_size));
	assert_int_equal(hpa_addr(hpa), request->hpa + (gpa - request->gpa));
	assert_int_equal(access, request->access);
	assert_int_equal(memtype, request->memtype);
	if (page_size != 0) {
		assert_int_equal(got_size, page_size);
	}
}

/**
 * Asserts translation at every leaf's first and last byte, one byte either
 * side of it, and around every request.
 */
static void assert_translates_all_edges(const struct ept *ept,
					const struct walk *walk,
					const struct mapping *requests, size_t n)
{
	const struct mapping *leaves = walk->leaves;

	for (size_t i = 0; i < walk->leaf_count; i++) {
		uint64_t start = leaves[i].gpa;
		uint64_t end = start + leaves[i].size;
		/* Leaves are in order: a mapped neighbouring byte is a neighbour's. */
		bool next_touches = i + 1 < walk->leaf_count &&
				    leaves[i + 1].gpa == end;
		bool prev_touches = i > 0 &&
				    leaves[i - 1].gpa + leaves[i - 1].size == start;

		assert_translates(ept, requests, n, start, leaves[i].size);
		assert_translates(ept, requests, n, end - 1, leaves[i].size);
		if (end < EPT_GPA_LIMIT) {
			assert_translates(ept, requests, n, end,
					  next_touches ? leaves[i + 1].size : 0);
		}
		if (start > 0) {
			assert_translates(ept, requests, n, start - 1,
					  prev_touches ? leaves[i - 1].size : 0);
		}
	}
	for (size_t i = 0; i < n; i++) {
		assert_translates(ept, requests, n, requests[i].gpa + 0x123, 0);
		assert_translates(ept, requests, n,
				  requests[i].gpa + requests[i].size + PAGE_SIZE, 0);
	}
}

/**
 * Builds a fresh EPT holding the requests, checks it in every way (and, if
 * leaves_by_size is not NULL, its leaf count per page size), and destroys
 * it, checking every table page came back.
 */
static void check_mappings(const struct mapping *requests, size_t n,
			   bool allow_2m, bool allow_1g,
			   const uint64_t *leaves_by_size)
{
	uint64_t free_before = alloc_pages_owned(OWNER_FREE);
	struct ept ept;
	struct walk walk;

	assert_true(ept_init(&ept, allow_2m, allow_1g));
	for (size_t i = 0; i < n; i++) {
		map_ok(&ept, &requests[i]);
	}
	walk_ept(&ept, &walk);
	assert_maps_exactly(&walk, requests, n);
	for (size_t i = 0; leaves_by_size != NULL && i < 3; i++) {
		assert_int_equal(walk.leaves_by_size[i], leaves_by_size[i]);
	}
	assert_translates_all_edges(&ept, &walk, requests, n);

	ept_destroy(&ept);
	assert_int_equal(ept.table_pages, 0);
	assert_int_equal(alloc_pages_owned(OWNER_FREE), free_before);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 0);
	walk_free(&walk);
}

/** Maps one request alone and asserts the optimal leaf count per size. */
static void check_single_mapping(uint64_t gpa, uint64_t hpa, uint64_t size,
				 bool allow_2m, bool allow_1g)
{
	const struct mapping request = { .gpa = gpa, .hpa = hpa, .size = size,
					 .access = EPT_RWX, .memtype = EPT_MT_WB };
	uint64_t expected[3];

	optimal_leaves(&request, allow_2m, allow_1g, expected);
	check_mappings(&request, 1, allow_2m, allow_1g, expected);
}

/** A fresh arena and allocator for each test. */
static int setup_arena(void **state)
{
	fake_phys_init_with_allocator(FAKE_PHYS_DEFAULT_SIZE);
	return 0;
}

/** Releases the arena. */
static int teardown_arena(void **state)
{
	fake_phys_fini();
	return 0;
}

/** ept_init() allocates one zeroed, hypervisor-owned PML4. */
static void test_init_allocates_zeroed_pml4(void **state)
{
	struct ept ept;
	const uint64_t *pml4;

	assert_true(ept_init(&ept, true, true));
	assert_int_equal(ept.table_pages, 1);
	assert_true(ept.allow_2m && ept.allow_1g);
	assert_int_equal(alloc_owner_of(ept.pml4), OWNER_HV_EPT);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 1);
	pml4 = hpa_to_ptr(ept.pml4);
	for (size_t i = 0; i < 512; i++) {
		assert_int_equal(pml4[i], 0);
	}
	assert_false(ept_translate(&ept, gpa_init(0), NULL, NULL, NULL, NULL));
	ept_destroy(&ept);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 0);
	/* A second destroy, or one of a zeroed EPT, does nothing. */
	ept_destroy(&ept);
	ept = (struct ept){ 0 };
	ept_destroy(&ept);
}

/** A single 4-KByte page needs a table at every level. */
static void test_map_single_page(void **state)
{
	struct ept ept;
	hpa_t hpa;
	uint32_t access;
	uint8_t memtype;
	uint64_t page_size;

	assert_true(ept_init(&ept, true, true));
	assert_true(ept_map_range(&ept, gpa_init(0x7000), hpa_init(0x123456000),
				  PAGE_SIZE, EPT_READ | EPT_EXEC, EPT_MT_WB));
	assert_int_equal(ept.table_pages, 4);
	assert_true(ept_translate(&ept, gpa_init(0x7abc), &hpa, &access, &memtype,
				  &page_size));
	assert_int_equal(hpa_addr(hpa), 0x123456abc);
	assert_int_equal(access, EPT_READ | EPT_EXEC);
	assert_int_equal(memtype, EPT_MT_WB);
	assert_int_equal(page_size, PAGE_SIZE);
	assert_false(ept_translate(&ept, gpa_init(0x6fff), NULL, NULL, NULL, NULL));
	assert_false(ept_translate(&ept, gpa_init(0x8000), NULL, NULL, NULL, NULL));
	assert_false(ept_translate(&ept, gpa_init(EPT_GPA_LIMIT), NULL, NULL, NULL,
				   NULL));
	ept_destroy(&ept);
}

/** The largest page alignment of both addresses and the size allow. */
static void test_largest_page_sizes(void **state)
{
	/* Everything 1G-aligned: only 1G leaves. */
	check_single_mapping(0, TARGET_HPA, GiB(4), true, true);
	/* 4K edges around a 1G middle. */
	check_single_mapping(GiB(1) - PAGE_SIZE, TARGET_HPA + GiB(1) - PAGE_SIZE,
			     GiB(1) + 2 * PAGE_SIZE, true, true);
	/* 4K, 2M, 1G, 2M, 4K. */
	check_single_mapping(GiB(1) - MiB(2) - PAGE_SIZE,
			     TARGET_HPA + GiB(1) - MiB(2) - PAGE_SIZE,
			     GiB(1) + MiB(4) + 2 * PAGE_SIZE, true, true);
	/* gpa and hpa agree modulo 2M only: no 1G leaf. */
	check_single_mapping(GiB(1), TARGET_HPA + MiB(2), GiB(2), true, true);
	/* gpa and hpa agree modulo 4K only: all 4K. */
	check_single_mapping(0, TARGET_HPA + PAGE_SIZE, MiB(8), true, true);
	/* hpa aligned but gpa not. */
	check_single_mapping(PAGE_SIZE, TARGET_HPA, MiB(4), true, true);
	/* Large enough but too short once aligned. */
	check_single_mapping(MiB(1), TARGET_HPA + MiB(1), MiB(2), true, true);
	/* Crossing a 512-GByte PML4 entry boundary. */
	check_single_mapping(GiB(512) - GiB(1) - PAGE_SIZE,
			     TARGET_HPA - PAGE_SIZE, GiB(2) + 2 * PAGE_SIZE,
			     true, true);
	/* At the very top of the 48-bit guest-physical space. */
	check_single_mapping(EPT_GPA_LIMIT - GiB(1) - MiB(2) - PAGE_SIZE,
			     TARGET_HPA + GiB(3) - MiB(2) - PAGE_SIZE,
			     GiB(1) + MiB(2) + PAGE_SIZE, true, true);
}

/** With large pages disabled, smaller ones are used instead. */
static void test_large_pages_disabled(void **state)
{
	/* No 1G: 2M leaves only. */
	check_single_mapping(0, TARGET_HPA, GiB(2), true, false);
	/* No 2M but 1G: 1G in the middle, 4K around it. */
	check_single_mapping(GiB(1) - MiB(2), TARGET_HPA - MiB(2),
			     GiB(1) + MiB(4), false, true);
	/* Neither. */
	check_single_mapping(0, TARGET_HPA, MiB(16), false, false);
}

/** Odd sizes and several mappings next to each other. */
static void test_odd_sizes_and_neighbours(void **state)
{
	const struct mapping requests[] = {
		{ 0, TARGET_HPA, 3 * PAGE_SIZE, EPT_RWX, EPT_MT_WB },
		{ 3 * PAGE_SIZE, GiB(100) + PAGE_SIZE, MiB(2) + PAGE_SIZE,
		  EPT_READ, EPT_MT_UC },
		{ MiB(2) + 4 * PAGE_SIZE, GiB(200) + 4 * PAGE_SIZE,
		  GiB(1) + MiB(6) + 5 * PAGE_SIZE, EPT_READ | EPT_WRITE, EPT_MT_WC },
		{ GiB(4), GiB(5), GiB(1) + PAGE_SIZE, EPT_READ | EPT_EXEC, EPT_MT_WT },
		{ GiB(7) + MiB(2), GiB(9) + MiB(2), MiB(2), EPT_RWX, EPT_MT_WP },
	};

	check_mappings(requests, ARRAY_SIZE(requests), true, true, NULL);
	check_mappings(requests, ARRAY_SIZE(requests), true, false, NULL);
	check_mappings(requests, ARRAY_SIZE(requests), false, false, NULL);
}

/** Deterministic pseudo-random numbers for the randomized cases. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545F4914F6CDD1DULL;
}

/**
 * A random hpa for gpa: agreeing with it modulo 1G, modulo 2M only, or
 * modulo 4K only (*small is then set: only 4K leaves are possible).
 */
static uint64_t random_hpa_for(uint64_t gpa, uint64_t *random, bool *small)
{
	uint64_t pick = next_random(random) % 4;
	uint64_t base = TARGET_HPA + (next_random(random) % 16) * GiB(1);

	*small = pick == 3;
	if (pick < 2) {
		return base + gpa % GiB(1);
	}
	if (pick == 2) {
		return base + (gpa + MiB(2) * (1 + next_random(random) % 511)) % GiB(1);
	}
	return base + (gpa + PAGE_SIZE * (1 + next_random(random) % 511)) % MiB(2);
}

/** Random sizes and alignments: leaf counts always optimal, maps exact. */
static void test_randomized_page_sizes(void **state)
{
	uint64_t random = 0xe9700d5eedULL;
	uint64_t leaves_seen[3] = { 0 };
	unsigned mixed_rounds = 0;

	for (int round = 0; round < 300; round++) {
		/* Addresses near large-page boundaries, to hit every case. */
		uint64_t gpa = (next_random(&random) % 1024) * GiB(1) -
			       (next_random(&random) % 3) * MiB(2) +
			       (next_random(&random) % 3) * PAGE_SIZE + GiB(1);
		bool small;
		uint64_t hpa = random_hpa_for(gpa, &random, &small);
		bool large = !small && next_random(&random) % 3 == 0;
		uint64_t size = large ? (next_random(&random) % 3) * GiB(1) +
						(next_random(&random) % 1024) * MiB(2) +
						(next_random(&random) % 4) * PAGE_SIZE +
						PAGE_SIZE :
					(next_random(&random) % 2048 + 1) * PAGE_SIZE;
		/*
		 * Large sizes only where large leaves keep the leaf count sane
		 * (test_large_pages_disabled covers large sizes without 2M).
		 */
		bool allow_2m = large || next_random(&random) % 4 != 0;
		bool allow_1g = next_random(&random) % 4 != 0;

		const struct mapping request = { .gpa = gpa, .hpa = hpa,
						 .size = size };
		uint64_t expected[3];

		check_single_mapping(gpa, hpa, size, allow_2m, allow_1g);
		optimal_leaves(&request, allow_2m, allow_1g, expected);
		for (size_t i = 0; i < 3; i++) {
			leaves_seen[i] += expected[i];
		}
		mixed_rounds += expected[0] > 0 && expected[1] + expected[2] > 0;
	}
	/* The seed must keep exercising every page size and mixtures. */
	assert_true(leaves_seen[0] > 1000);
	assert_true(leaves_seen[1] > 1000);
	assert_true(leaves_seen[2] > 20);
	assert_true(mixed_rounds > 20);
}

/** Asserts n mappings of a and b are equal, field by field. */
static void assert_mappings_equal(const struct mapping *a,
				  const struct mapping *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(a[i].gpa, b[i].gpa);
		assert_int_equal(a[i].hpa, b[i].hpa);
		assert_int_equal(a[i].size, b[i].size);
		assert_int_equal(a[i].access, b[i].access);
		assert_int_equal(a[i].memtype, b[i].memtype);
	}
}

/** Snapshot of an EPT for "nothing changed" checks. */
struct ept_snapshot {
	struct walk walk;
	uint64_t table_pages;
	uint64_t free_pages;
};

/** Takes a snapshot of ept. */
static void snapshot(const struct ept *ept, struct ept_snapshot *snap)
{
	walk_ept(ept, &snap->walk);
	snap->table_pages = ept->table_pages;
	snap->free_pages = alloc_pages_owned(OWNER_FREE);
}

/** Asserts ept is as in snap (same leaves, no table added), then frees it. */
static void assert_unchanged(const struct ept *ept, struct ept_snapshot *snap)
{
	struct walk now;

	walk_ept(ept, &now);
	assert_int_equal(ept->table_pages, snap->table_pages);
	assert_int_equal(alloc_pages_owned(OWNER_FREE), snap->free_pages);
	assert_int_equal(now.leaf_count, snap->walk.leaf_count);
	assert_mappings_equal(now.leaves, snap->walk.leaves, now.leaf_count);
	walk_free(&now);
	walk_free(&snap->walk);
}

/**
 * Starts ept with a 1G page at 1G, a 4K page at 3G + 2M + 4K and a 2M page
 * at 3G + 4M.
 */
static void map_one_of_each_size(struct ept *ept)
{
	assert_true(ept_init(ept, true, true));
	assert_true(ept_map_range(ept, gpa_init(GiB(1)), hpa_init(TARGET_HPA),
				  GiB(1), EPT_RWX, EPT_MT_WB));
	assert_true(ept_map_range(ept, gpa_init(GiB(3) + MiB(2) + PAGE_SIZE),
				  hpa_init(TARGET_HPA + PAGE_SIZE), PAGE_SIZE,
				  EPT_RWX, EPT_MT_WB));
	assert_true(ept_map_range(ept, gpa_init(GiB(3) + MiB(4)),
				  hpa_init(TARGET_HPA + MiB(4)), MiB(2), EPT_RWX,
				  EPT_MT_WB));
}

/** Mapping over an existing mapping, even partly, is refused. */
static void test_overlap_refused(void **state)
{
	struct ept ept;
	struct ept_snapshot snap;
	const struct {
		uint64_t gpa;
		uint64_t size;
	} overlaps[] = {
		{ GiB(1), GiB(1) },                       /* the same 1G page */
		{ GiB(1) + PAGE_SIZE, PAGE_SIZE },        /* inside a 1G page */
		{ GiB(1) - PAGE_SIZE, 2 * PAGE_SIZE },    /* straddling its start */
		{ GiB(2) - PAGE_SIZE, 2 * PAGE_SIZE },    /* straddling its end */
		{ 0, GiB(4) },                            /* covering everything */
		{ GiB(3) + MiB(2) + PAGE_SIZE, PAGE_SIZE }, /* a 4K page */
		{ GiB(3) + MiB(2), MiB(2) },              /* a 2M range with 4K in it */
		{ GiB(3) + MiB(4), PAGE_SIZE },           /* the 2M page */
	};

	map_one_of_each_size(&ept);

	for (size_t i = 0; i < ARRAY_SIZE(overlaps); i++) {
		snapshot(&ept, &snap);
		assert_false(ept_map_range(&ept, gpa_init(overlaps[i].gpa),
					   hpa_init(TARGET_HPA), overlaps[i].size,
					   EPT_RWX, EPT_MT_WB));
		assert_unchanged(&ept, &snap);
	}

	/* Right next to existing mappings is fine. */
	assert_true(ept_map_range(&ept, gpa_init(GiB(2)), hpa_init(TARGET_HPA),
				  PAGE_SIZE, EPT_RWX, EPT_MT_WB));
	assert_true(ept_map_range(&ept, gpa_init(GiB(1) - PAGE_SIZE),
				  hpa_init(TARGET_HPA), PAGE_SIZE, EPT_RWX,
				  EPT_MT_WB));
	assert_true(ept_map_range(&ept, gpa_init(GiB(3) + MiB(2)),
				  hpa_init(TARGET_HPA), PAGE_SIZE, EPT_RWX,
				  EPT_MT_WB));
	ept_destroy(&ept);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 0);
}

/** Malformed requests are refused without allocating anything. */
static void test_invalid_requests_refused(void **state)
{
	struct ept ept;
	struct ept_snapshot snap;
	const struct mapping bad[] = {
		{ 0x800, TARGET_HPA, PAGE_SIZE, EPT_RWX, EPT_MT_WB },
		{ 0, TARGET_HPA + 0x800, PAGE_SIZE, EPT_RWX, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE + 1, EPT_RWX, EPT_MT_WB },
		{ 0, TARGET_HPA, 0, EPT_RWX, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, 0, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_WRITE, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_WRITE | EPT_EXEC, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_EXEC, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_RWX | 8, EPT_MT_WB },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_RWX, 2 },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_RWX, 3 },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_RWX, 7 },
		{ 0, TARGET_HPA, PAGE_SIZE, EPT_RWX, 8 },
		{ EPT_GPA_LIMIT, TARGET_HPA, PAGE_SIZE, EPT_RWX, EPT_MT_WB },
		{ EPT_GPA_LIMIT - PAGE_SIZE, TARGET_HPA, 2 * PAGE_SIZE, EPT_RWX,
		  EPT_MT_WB },
		{ 0, (1ULL << 52) - PAGE_SIZE, 2 * PAGE_SIZE, EPT_RWX, EPT_MT_WB },
		{ PAGE_SIZE, TARGET_HPA, UINT64_MAX & PAGE_MASK, EPT_RWX, EPT_MT_WB },
	};

	assert_true(ept_init(&ept, true, true));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snapshot(&ept, &snap);
		assert_false(ept_map_range(&ept, gpa_init(bad[i].gpa),
					   hpa_init(bad[i].hpa), bad[i].size,
					   bad[i].access, bad[i].memtype));
		assert_unchanged(&ept, &snap);
	}
	ept_destroy(&ept);
}

/** Every valid access and memory type reaches the leaf unchanged. */
static void test_access_and_memtypes(void **state)
{
	const uint32_t accesses[] = { EPT_READ, EPT_READ | EPT_WRITE,
				      EPT_READ | EPT_EXEC, EPT_RWX };
	const uint8_t memtypes[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP,
				     EPT_MT_WB };
	struct mapping requests[ARRAY_SIZE(accesses) * ARRAY_SIZE(memtypes)];
	size_t n = 0;

	for (size_t a = 0; a < ARRAY_SIZE(accesses); a++) {
		for (size_t m = 0; m < ARRAY_SIZE(memtypes); m++, n++) {
			/* Alternate 4K, 2M and 1G leaves. */
			uint64_t size = n % 3 == 0 ? PAGE_SIZE :
					n % 3 == 1 ? MiB(2) : GiB(1);

			requests[n] = (struct mapping){
				.gpa = n * GiB(1), .hpa = TARGET_HPA + n * GiB(1),
				.size = size, .access = accesses[a],
				.memtype = memtypes[m],
			};
		}
	}
	check_mappings(requests, n, true, true, NULL);
}

/** ept_for_each_leaf() reports exactly what the independent walker finds. */
struct collected {
	struct mapping leaves[64];
	size_t count;
};

/** Collects one leaf (ept_leaf_fn). */
static void collect_leaf(void *ctx, gpa_t gpa, hpa_t hpa, uint64_t size,
			 uint32_t access, uint8_t memtype)
{
	struct collected *collected = ctx;

	assert_true(collected->count < ARRAY_SIZE(collected->leaves));
	collected->leaves[collected->count++] = (struct mapping){
		.gpa = gpa_addr(gpa), .hpa = hpa_addr(hpa), .size = size,
		.access = access, .memtype = memtype,
	};
}

/** ept_for_each_leaf() agrees with the independent walker, in order. */
static void test_for_each_leaf(void **state)
{
	struct ept ept;
	struct walk walk;
	struct collected collected = { .count = 0 };

	assert_true(ept_init(&ept, true, true));
	ept_for_each_leaf(&ept, collect_leaf, &collected);
	assert_int_equal(collected.count, 0);

	assert_true(ept_map_range(&ept, gpa_init(GiB(600)), hpa_init(TARGET_HPA),
				  GiB(1) + MiB(2) + PAGE_SIZE, EPT_READ, EPT_MT_WB));
	assert_true(ept_map_range(&ept, gpa_init(PAGE_SIZE), hpa_init(MiB(1)),
				  2 * PAGE_SIZE, EPT_RWX, EPT_MT_UC));
	ept_for_each_leaf(&ept, collect_leaf, &collected);
	walk_ept(&ept, &walk);
	assert_int_equal(collected.count, 5);
	assert_int_equal(collected.count, walk.leaf_count);
	assert_mappings_equal(collected.leaves, walk.leaves, walk.leaf_count);
	walk_free(&walk);
	ept_destroy(&ept);
}

/**
 * Leaves all but free_pages pages of the allocator owned by a partition, so
 * the EPT runs out of table pages.
 */
static void leave_free_pages(uint64_t free_pages)
{
	hpa_t ignored;

	assert_true(alloc_pages(alloc_pages_owned(OWNER_FREE) - free_pages, 1,
				OWNER_PARTITION(0), &ignored));
}

/** Running out of table pages refuses the mapping and undoes it. */
static void test_out_of_table_pages(void **state)
{
	struct ept ept;
	const struct mapping kept = { .gpa = 0, .hpa = TARGET_HPA,
				      .size = PAGE_SIZE, .access = EPT_RWX,
				      .memtype = EPT_MT_WB };
	struct walk walk;

	/* 1 PML4 + 3 tables for the kept page + 3 more: too few below. */
	leave_free_pages(7);
	assert_true(ept_init(&ept, true, true));
	map_ok(&ept, &kept);
	assert_int_equal(ept.table_pages, 4);

	/* Needs a PDPT, a PD and two page tables: one short. */
	assert_false(ept_map_range(&ept, gpa_init(GiB(512) + MiB(2) - PAGE_SIZE),
				   hpa_init(TARGET_HPA), 2 * PAGE_SIZE, EPT_RWX,
				   EPT_MT_WB));
	/* The kept mapping is intact and the failed one left no leaf. */
	walk_ept(&ept, &walk);
	assert_maps_exactly(&walk, &kept, 1);
	assert_int_equal(walk.leaf_count, 1);
	walk_free(&walk);
	assert_false(ept_translate(&ept, gpa_init(GiB(512) + MiB(2) - PAGE_SIZE),
				   NULL, NULL, NULL, NULL));

	/* The tables it did allocate are reused by a mapping that fits. */
	assert_true(ept_map_range(&ept, gpa_init(GiB(512) + MiB(2) - PAGE_SIZE),
				  hpa_init(TARGET_HPA), PAGE_SIZE, EPT_RWX,
				  EPT_MT_WB));
	assert_int_equal(ept.table_pages, 7);
	ept_destroy(&ept);
	assert_int_equal(alloc_pages_owned(OWNER_FREE), 7);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 0);

	/* Not even a PML4. */
	leave_free_pages(0);
	assert_false(ept_init(&ept, true, true));
	assert_int_equal(ept.table_pages, 0);
}

/** Two EPTs share the allocator without disturbing each other. */
static void test_two_epts(void **state)
{
	struct ept first;
	struct ept second;
	hpa_t hpa;

	assert_true(ept_init(&first, true, true));
	assert_true(ept_init(&second, false, false));
	assert_true(ept_map_range(&first, gpa_init(0), hpa_init(GiB(8)), MiB(4),
				  EPT_RWX, EPT_MT_WB));
	assert_true(ept_map_range(&second, gpa_init(0), hpa_init(GiB(16)), MiB(4),
				  EPT_RWX, EPT_MT_WB));
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT),
			 first.table_pages + second.table_pages);
	ept_destroy(&first);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), second.table_pages);
	assert_true(ept_translate(&second, gpa_init(MiB(3)), &hpa, NULL, NULL, NULL));
	assert_int_equal(hpa_addr(hpa), GiB(16) + MiB(3));
	ept_destroy(&second);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), 0);
}

/** The EPTP: WB, walk length 4 encoded as 3, A/D on request, the PML4. */
static void test_ept_pointer(void **state)
{
	struct ept ept;
	uint64_t eptp;

	assert_true(ept_init(&ept, true, true));
	eptp = ept_pointer(&ept, false);
	assert_int_equal(eptp & 7, 6);          /* bits 2:0: write-back */
	assert_int_equal((eptp >> 3) & 7, 3);   /* bits 5:3: length - 1 */
	assert_int_equal(eptp & BIT(6), 0);     /* bit 6: A/D off */
	assert_int_equal(eptp & 0xf80, 0);      /* bits 11:7 reserved */
	assert_int_equal(eptp & ~0xfffULL, hpa_addr(ept.pml4));
	assert_int_equal(eptp, hpa_addr(ept.pml4) | 0x1e);
	assert_int_equal(ept_pointer(&ept, true), hpa_addr(ept.pml4) | 0x5e);
	ept_destroy(&ept);
}

/** Runs the EPT tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_init_allocates_zeroed_pml4,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_map_single_page, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_largest_page_sizes, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_large_pages_disabled,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_odd_sizes_and_neighbours,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_randomized_page_sizes,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_overlap_refused, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_invalid_requests_refused,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_access_and_memtypes,
						setup_arena, teardown_arena),
		cmocka_unit_test_setup_teardown(test_for_each_leaf, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_out_of_table_pages, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_two_epts, setup_arena,
						teardown_arena),
		cmocka_unit_test_setup_teardown(test_ept_pointer, setup_arena,
						teardown_arena),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
