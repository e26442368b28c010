/*
 * Unit tests for a partition's RAM (hv/partition_memory.c, hv/partition_mem.c)
 * and for the isolation audit (hv/audit.c).
 *
 * Randomized worlds, seeded so that they repeat: a fake host-physical arena
 * of 64-128 MiB added to the ledger as RAM ranges with holes between them,
 * fragmented by random allocations of the hypervisor owners and of a foreign
 * partition, random MTRRs over it, and several partitions of random sizes
 * built (some refused for lack of memory), filled, copied into and out of,
 * and released in random order. A round that fails prints its seed;
 * TESSERA_SEED=<seed> reruns that round alone.
 *
 * After every step everything is checked by means written here, not by the
 * builder's own bookkeeping: the ledger extent by extent; each partition's
 * RAM pieces against layout_guest_ram(); its EPT page by page through
 * ept_translate() against the pieces and against mtrr_type_of_page() of each
 * frame (the reference for memory types); its leaf count against a count of
 * aligned blocks per piece and per run of one memory type (found page by
 * page); non-RAM guest addresses sampled at random and at every edge.
 *
 * Finally the audit is shown to fail for every way a hand-corrupted EPT can
 * break isolation, naming the partition and the guest-physical address.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/ept.h"
#include "arch/x86/mtrr.h"
#include "hv/alloc.h"
#include "hv/audit.h"
#include "hv/console.h"
#include "hv/layout.h"
#include "hv/partition.h"
#include "hv/phys.h"
#include "hv/vuart.h"
#include "tests/unit/support/fake_phys.h"
#include "tests/unit/support/fake_vmcs.h"

/* EPT entry bits, from the SDM (29.3.2), for the table walks written here. */
#define T_WRITE     BIT(1)
#define T_EXEC      BIT(2)
#define T_ACCESS    0x7ULL
#define T_MEMTYPE   (7ULL << 3)
#define T_PAGE_SIZE BIT(7)
#define T_ADDR      0x000ffffffffff000ULL

#define ARENA_MIN       MiB(64)
/* The arena of the hand-made (unfragmented, one RAM range) worlds. */
#define PLAIN_ARENA     MiB(32)
#define ARENA_MAX       MiB(128)
#define MAX_RAM_RANGES  3
#define MAX_HV_RUNS     96
#define MAX_PARTS       5
#define RANDOM_ROUNDS   8
#define FREE_POISON     0x5a
#define NON_RAM_SAMPLES 1500
#define PAGES_PER_2M    (MiB(2) / PAGE_SIZE)
#define MIN_PAGES       (MiB(1) / PAGE_SIZE)
#define COPY_MAX        MiB(3)
/* A partition that owns memory but is never built. */
#define FOREIGN_ID      15
/* Owners the checks count: free, the hypervisor's, every partition's. */
#define OWNER_SLOTS     OWNER_PARTITION(PARTITION_MAX)

/* The valid memory types, for random choices. */
static const uint8_t memory_types[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP,
					EPT_MT_WB };

/* ------------------------------------------------------------------------ */
/* Seeded randomness, and the seed of a round that did not finish.          */
/* ------------------------------------------------------------------------ */

static uint64_t random_state;

/** The round under way; reported if its test ends before the round does. */
static struct {
	bool running;
	uint64_t seed;
	const char *what;
} current_round;

/** Seeds the generator (0 would make xorshift stick at 0). */
static void random_seed(uint64_t seed)
{
	random_state = seed != 0 ? seed : 0x9e3779b97f4a7c15ULL;
}

/** The next pseudo-random number (xorshift64*). */
static uint64_t random_next(void)
{
	random_state ^= random_state >> 12;
	random_state ^= random_state << 25;
	random_state ^= random_state >> 27;
	return random_state * 0x2545F4914F6CDD1DULL;
}

/** A pseudo-random number in [lo, hi] (lo <= hi < UINT64_MAX). */
static uint64_t random_between(uint64_t lo, uint64_t hi)
{
	assert_true(lo <= hi && hi < UINT64_MAX);
	return lo + random_next() % (hi - lo + 1);
}

/** True with probability percent / 100. */
static bool random_chance(unsigned int percent)
{
	return random_next() % 100 < percent;
}

/** A random valid memory type, write-back half of the time. */
static uint8_t random_type(void)
{
	return random_chance(50) ? EPT_MT_WB :
				   memory_types[random_next() % ARRAY_SIZE(memory_types)];
}

/** The seed given in TESSERA_SEED, or 0 when there is none. */
static uint64_t seed_from_environment(void)
{
	const char *text = getenv("TESSERA_SEED");

	return text != NULL ? strtoull(text, NULL, 0) : 0;
}

/** Number of rounds to run: one when a seed is given, else count. */
static unsigned int round_count(unsigned int count)
{
	return seed_from_environment() != 0 ? 1 : count;
}

/** The seed of round i of a test (base distinguishes the tests). */
static uint64_t round_seed(uint64_t base, unsigned int i)
{
	uint64_t given = seed_from_environment();

	return given != 0 ? given : base + i * 0x9e3779b97f4a7c15ULL;
}

/** Starts a round: seeds the generator and remembers the seed. */
static void round_begin(const char *what, uint64_t seed)
{
	current_round.running = true;
	current_round.seed = seed;
	current_round.what = what;
	random_seed(seed);
}

/** Ends a round that passed. */
static void round_end(void)
{
	current_round.running = false;
}

/** Prints the seed of a round that did not end: its test failed. */
static void round_report_unfinished(void)
{
	if (current_round.running) {
		fprintf(stderr, "%s: FAILED with seed %#llx; rerun it alone with "
			"TESSERA_SEED=%#llx\n", current_round.what,
			(unsigned long long)current_round.seed,
			(unsigned long long)current_round.seed);
		current_round.running = false;
	}
}

/* ------------------------------------------------------------------------ */
/* Console capture.                                                          */
/* ------------------------------------------------------------------------ */

/** Everything the console printed since the last capture_clear(). */
static struct {
	char text[65536];
	size_t length;
} captured;

/** The console sink of the tests: appends to captured (truncating). */
static void capture_sink(void *ctx, const char *buf, size_t len)
{
	size_t room = sizeof(captured.text) - 1 - captured.length;
	size_t n = MIN(len, room);

	memcpy(captured.text + captured.length, buf, n);
	captured.length += n;
	captured.text[captured.length] = '\0';
}

/** Forgets what was captured. */
static void capture_clear(void)
{
	captured.length = 0;
	captured.text[0] = '\0';
}

/** Copies the captured line at *cursor into line and moves past it; false at the end. */
static bool next_captured_line(const char **cursor, char *line, size_t size)
{
	const char *end = strchr(*cursor, '\n');
	size_t length = end != NULL ? (size_t)(end - *cursor) : strlen(*cursor);

	if (**cursor == '\0') {
		return false;
	}
	snprintf(line, size, "%.*s", (int)length, *cursor);
	*cursor += length + (end != NULL ? 1 : 0);
	return true;
}

/** Whether one captured line contains a, b and c (c may be NULL). */
static bool captured_line_has(const char *a, const char *b, const char *c)
{
	const char *cursor = captured.text;
	char line[512];

	while (next_captured_line(&cursor, line, sizeof(line))) {
		if (strstr(line, a) != NULL && strstr(line, b) != NULL &&
		    (c == NULL || strstr(line, c) != NULL)) {
			return true;
		}
	}
	return false;
}

/** A size a log line gives: value units of 1 << shift bytes. */
struct size_figure {
	uint64_t value;
	unsigned int shift;
};

/** The unit shift of "KiB", "MiB" or "GiB" at text; 0 for anything else. */
static unsigned int unit_shift(const char *text)
{
	if (strncmp(text, " KiB", 4) == 0) {
		return 10;
	}
	if (strncmp(text, " MiB", 4) == 0) {
		return 20;
	}
	return strncmp(text, " GiB", 4) == 0 ? 30 : 0;
}

/** The sizes line gives as "N KiB/MiB/GiB", in order; returns how many (at most max). */
static size_t size_figures(const char *line, struct size_figure *figures, size_t max)
{
	size_t n = 0;

	for (const char *at = strstr(line, "iB"); at != NULL && n < max; at = strstr(at + 1, "iB")) {
		const char *unit = at - 2;
		const char *digits = unit;

		while (digits > line && digits[-1] >= '0' && digits[-1] <= '9') {
			digits--;
		}
		if (unit >= line && digits < unit && unit_shift(unit) != 0) {
			figures[n].value = strtoull(digits, NULL, 10);
			figures[n++].shift = unit_shift(unit);
		}
	}
	return n;
}

/** Whether figure gives bytes, rounded down or up to its unit. */
static bool figure_is(const struct size_figure *figure, uint64_t bytes)
{
	uint64_t unit = BIT(figure->shift);

	return figure->value == bytes >> figure->shift ||
	       figure->value == (bytes + unit - 1) >> figure->shift;
}

/**
 * The sizes of the first captured line containing name that gives at least
 * two; returns how many (0 if no line does).
 */
static size_t captured_figures(const char *name, struct size_figure *figures, size_t max)
{
	const char *cursor = captured.text;
	char line[512];

	while (next_captured_line(&cursor, line, sizeof(line))) {
		size_t n = strstr(line, name) != NULL ? size_figures(line, figures, max) : 0;

		if (n >= 2) {
			return n;
		}
	}
	return 0;
}

/**
 * Whether a captured line containing name gives the size asked and after it
 * the size free (any size when free_bytes is UINT64_MAX).
 */
static bool captured_sizes(const char *name, uint64_t asked_bytes, uint64_t free_bytes)
{
	const char *cursor = captured.text;
	char line[512];

	while (next_captured_line(&cursor, line, sizeof(line))) {
		struct size_figure f[8];
		size_t n = strstr(line, name) != NULL ? size_figures(line, f, 8) : 0;

		for (size_t i = 0; i < n; i++) {
			for (size_t j = i + 1; j < n && figure_is(&f[i], asked_bytes); j++) {
				if (free_bytes == UINT64_MAX || figure_is(&f[j], free_bytes)) {
					return true;
				}
			}
		}
	}
	return false;
}

/** "partition 'NAME'", as the log names a partition. */
static const char *quoted_name(const struct partition_config *config)
{
	static char text[CONFIG_NAME_MAX + 16];

	snprintf(text, sizeof(text), "partition '%s'", config->name);
	return text;
}

/* ------------------------------------------------------------------------ */
/* The world: arena, ledger, MTRRs, partitions.                              */
/* ------------------------------------------------------------------------ */

/** A run of pages the test gave a hypervisor (or foreign) owner. */
struct hv_run {
	uint64_t base;
	uint64_t pages;
	owner_t owner;
	uint8_t fill;
	bool freed;
};

/** Everything one round works on. */
struct world {
	uint64_t arena_bytes;
	struct mem_range ram[MAX_RAM_RANGES];
	size_t ram_count;
	uint64_t ram_pages;
	struct hv_run runs[MAX_HV_RUNS];
	size_t run_count;
	struct mtrr_state mtrr;
	struct partition parts[MAX_PARTS];
	struct partition_config configs[MAX_PARTS];
	uint64_t salts[MAX_PARTS];  /* pattern in a partition's RAM; 0: none */
	size_t part_count;
};

static struct world world;

/** What the randomized rounds exercised, to show the seeds cover enough. */
static struct {
	unsigned int built;
	unsigned int refused;
	unsigned int refused_after_ept;
	unsigned int pieced;
	uint64_t leaves_2m;
} seen;

/** One extent of the ledger. */
struct extent {
	uint64_t base;
	uint64_t pages;
	owner_t owner;
};

/** The whole ledger at one moment. */
struct ledger_snapshot {
	struct extent extents[ALLOC_MAX_EXTENTS];
	size_t count;
};

/** Starts a world: a fresh arena of arena_bytes, an empty ledger, no partitions. */
static void world_begin(uint64_t arena_bytes)
{
	memset(&world, 0, sizeof(world));
	world.arena_bytes = arena_bytes;
	fake_phys_init(arena_bytes);
	alloc_init();
}

/** Adds arena pages [first, end) to the ledger as a RAM range. */
static void world_add_range(uint64_t first, uint64_t end)
{
	struct mem_range *r = &world.ram[world.ram_count++];

	r->base = FAKE_PHYS_BASE + first * PAGE_SIZE;
	r->size = (end - first) * PAGE_SIZE;
	assert_true(alloc_add_free(hpa_init(r->base), r->size));
	world.ram_pages += end - first;
}

/** A world of arena_bytes of RAM in one range, MTRRs giving every page default_type. */
static void world_plain(uint64_t arena_bytes, uint8_t default_type)
{
	world_begin(arena_bytes);
	world_add_range(0, arena_bytes / PAGE_SIZE);
	world.mtrr = (struct mtrr_state){ .enabled = true, .default_type = default_type,
					  .phys_addr_bits = 40 };
}

/** Adds the arena as 1 to MAX_RAM_RANGES RAM ranges with holes between them. */
static void world_add_random_ram(void)
{
	uint64_t pages = world.arena_bytes / PAGE_SIZE;
	uint64_t count = random_between(1, MAX_RAM_RANGES);
	uint64_t segment = pages / count;

	for (uint64_t i = 0; i < count; i++) {
		bool hole = i > 0 || random_chance(30);
		uint64_t first = i * segment + (hole ? random_between(1, 256) : 0);
		uint64_t end = i + 1 == count ? pages : (i + 1) * segment;

		world_add_range(first, end);
	}
}

/** Appends a variable MTRR [base, base + size) of type (V set if valid). */
static void mtrr_add(struct mtrr_state *s, uint64_t base, uint64_t size, uint8_t type,
		     bool valid)
{
	uint64_t field = (BIT(s->phys_addr_bits) - 1) & PAGE_MASK;
	struct mtrr_variable *v = &s->variable[s->variable_count++];

	assert_true(s->variable_count <= MTRR_MAX_VARIABLE);
	v->base = base | type;
	v->mask = (~(size - 1) & field) | (valid ? MTRR_PHYSMASK_VALID : 0);
}

/**
 * Random MTRRs over the arena: a default type and up to ten variable ranges
 * of power-of-two sizes (4 KiB to 64 MiB) at aligned bases, overlapping at
 * times, some not valid; now and then the MTRRs are disabled altogether.
 */
static void world_random_mtrr(void)
{
	struct mtrr_state *s = &world.mtrr;
	uint64_t count = random_between(0, 10);

	*s = (struct mtrr_state){ .enabled = !random_chance(5),
				  .default_type = random_chance(70) ? EPT_MT_WB : random_type(),
				  .phys_addr_bits = (unsigned int)random_between(36, 46) };
	for (uint64_t i = 0; i < count; i++) {
		uint64_t size = BIT(random_between(12, 26));
		uint64_t slots = MAX(world.arena_bytes / size, 1);
		uint64_t base = FAKE_PHYS_BASE + random_between(0, slots - 1) * size;

		mtrr_add(s, base, size, random_type(), !random_chance(10));
	}
	assert_true(mtrr_state_valid(s, NULL));
}

/** A random length for a hypervisor run: mostly small, at times up to 4 MiB. */
static uint64_t random_run_pages(void)
{
	uint64_t pick = random_between(0, 9);

	if (pick < 5) {
		return random_between(1, 16);
	}
	return pick < 8 ? random_between(17, 512) : random_between(513, 1024);
}

/** A random owner for a run: the hypervisor's kinds, or the foreign partition. */
static owner_t random_run_owner(void)
{
	if (random_chance(10)) {
		return OWNER_PARTITION(FOREIGN_ID);
	}
	return (owner_t)random_between(OWNER_HYPERVISOR, OWNER_HV_LAST);
}

/** Gives run its pages: first fit, or reserved at a random place of the arena. */
static bool take_run(struct hv_run *run)
{
	hpa_t base;

	if (random_chance(50)) {
		uint64_t align = random_chance(70) ? 1 : random_chance(50) ? 16 : PAGES_PER_2M;

		if (!alloc_pages(run->pages, align, run->owner, &base)) {
			return false;
		}
		run->base = hpa_addr(base);
		return true;
	}
	run->base = FAKE_PHYS_BASE +
		    random_between(0, world.arena_bytes / PAGE_SIZE - 1) * PAGE_SIZE;
	return run->base + run->pages * PAGE_SIZE <= FAKE_PHYS_BASE + world.arena_bytes &&
	       alloc_reserve(hpa_init(run->base), run->pages * PAGE_SIZE, run->owner);
}

/**
 * Fragments free memory: random runs for the hypervisor owners and the
 * foreign partition (20 to 80 attempts for 128 MiB, fewer for less), each
 * filled with its own byte, about half freed again.
 */
static void world_fragment(void)
{
	uint64_t pages = world.arena_bytes / PAGE_SIZE;
	uint64_t attempts = random_between(pages / 1600, pages / 400);

	assert_true(attempts <= MAX_HV_RUNS);

	for (uint64_t i = 0; i < attempts; i++) {
		struct hv_run *run = &world.runs[world.run_count];

		run->pages = random_run_pages();
		run->owner = random_run_owner();
		if (take_run(run)) {
			run->fill = (uint8_t)(0x10 + world.run_count);
			memset(hpa_to_ptr(hpa_init(run->base)), run->fill, run->pages * PAGE_SIZE);
			world.run_count++;
		}
	}
	for (size_t i = 0; i < world.run_count; i++) {
		if (random_chance(50)) {
			alloc_free(hpa_init(world.runs[i].base), world.runs[i].pages,
				   world.runs[i].owner);
			world.runs[i].freed = true;
		}
	}
}

/** A random world of min to max bytes: arena, RAM ranges with holes, MTRRs, fragmentation. */
static void world_random(uint64_t min, uint64_t max)
{
	uint64_t arena_pages = random_between(min / PAGE_SIZE, max / PAGE_SIZE);

	world_begin(arena_pages * PAGE_SIZE);
	world_add_random_ram();
	world_random_mtrr();
	world_fragment();
}

/** Whether partition slot i holds a built partition. */
static bool is_built(size_t i)
{
	return world.parts[i].state == PARTITION_READY;
}

/** Whether every byte of [bytes, bytes + size) holds byte (compared a page at a time). */
static bool bytes_are(const uint8_t *bytes, uint64_t size, uint8_t byte)
{
	static uint8_t expected[PAGE_SIZE];

	memset(expected, byte, sizeof(expected));
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		if (memcmp(bytes + off, expected, MIN(size - off, PAGE_SIZE)) != 0) {
			return false;
		}
	}
	return true;
}

/** Whether every byte of host [hpa, hpa + size) holds byte. */
static bool host_bytes_are(uint64_t hpa, uint64_t size, uint8_t byte)
{
	assert_true(fake_phys_contains(hpa_init(hpa), size));
	return bytes_are(hpa_to_ptr(hpa_init(hpa)), size, byte);
}

/** Asserts every live hypervisor run still holds its fill byte. */
static void check_runs_intact(void)
{
	for (size_t i = 0; i < world.run_count; i++) {
		const struct hv_run *run = &world.runs[i];

		if (!run->freed) {
			assert_int_equal(alloc_range_owner(hpa_init(run->base), run->pages),
					 run->owner);
			assert_true(host_bytes_are(run->base, run->pages * PAGE_SIZE, run->fill));
		}
	}
}

/**
 * Writes FREE_POISON into every free page, so memory handed out unzeroed
 * shows (a fresh arena is poisoned already: this is for pages that came back
 * zeroed).
 */
static void poison_free_pages(void)
{
	hpa_t base;
	uint64_t pages;
	owner_t owner;

	for (size_t i = 0; alloc_extent_at(i, &base, &pages, &owner); i++) {
		if (owner == OWNER_FREE) {
			memset(hpa_to_ptr(base), FREE_POISON, pages * PAGE_SIZE);
		}
	}
}

/** Pages in the longest run of free pages. */
static uint64_t largest_free_run(void)
{
	hpa_t base;
	uint64_t pages;
	owner_t owner;
	uint64_t largest = 0;

	for (size_t i = 0; alloc_extent_at(i, &base, &pages, &owner); i++) {
		if (owner == OWNER_FREE) {
			largest = MAX(largest, pages);
		}
	}
	return largest;
}

/* ------------------------------------------------------------------------ */
/* Ledger checks.                                                            */
/* ------------------------------------------------------------------------ */

/** Copies the ledger into snap. */
static void ledger_take(struct ledger_snapshot *snap)
{
	hpa_t base;

	snap->count = 0;
	while (alloc_extent_at(snap->count, &base, &snap->extents[snap->count].pages,
			       &snap->extents[snap->count].owner)) {
		snap->extents[snap->count].base = hpa_addr(base);
		snap->count++;
		assert_true(snap->count <= ALLOC_MAX_EXTENTS);
	}
}

/** Asserts the ledger is exactly as in snap, extent by extent. */
static void assert_ledger_is(const struct ledger_snapshot *snap)
{
	static struct ledger_snapshot now;

	ledger_take(&now);
	assert_int_equal(now.count, snap->count);
	for (size_t i = 0; i < now.count; i++) {
		assert_int_equal(now.extents[i].base, snap->extents[i].base);
		assert_int_equal(now.extents[i].pages, snap->extents[i].pages);
		assert_int_equal(now.extents[i].owner, snap->extents[i].owner);
	}
}

/** Whether host [base, base + size) lies within one RAM range added. */
static bool is_world_ram(uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < world.ram_count; i++) {
		if (base >= world.ram[i].base &&
		    base + size <= world.ram[i].base + world.ram[i].size) {
			return true;
		}
	}
	return false;
}

/**
 * Asserts the ledger's extents are sorted, disjoint, merged and inside the
 * RAM added, and that free + every hypervisor owner + every partition owner
 * add up to all of that RAM, owner by owner as alloc_pages_owned() says.
 */
static void check_ledger(void)
{
	uint64_t by_owner[OWNER_SLOTS] = { 0 };
	uint64_t total = 0;
	uint64_t owned = 0;
	static struct ledger_snapshot snap;

	ledger_take(&snap);
	for (size_t i = 0; i < snap.count; i++) {
		const struct extent *e = &snap.extents[i];
		const struct extent *prev = i > 0 ? &snap.extents[i - 1] : NULL;

		assert_true(e->pages > 0);
		assert_true(is_world_ram(e->base, e->pages * PAGE_SIZE));
		assert_true(prev == NULL || e->base >= prev->base + prev->pages * PAGE_SIZE);
		assert_true(prev == NULL || e->base > prev->base + prev->pages * PAGE_SIZE ||
			    e->owner != prev->owner);
		assert_true(e->owner < OWNER_SLOTS);
		by_owner[e->owner] += e->pages;
		total += e->pages;
	}
	for (owner_t owner = 0; owner < OWNER_SLOTS; owner++) {
		assert_int_equal(alloc_pages_owned(owner), by_owner[owner]);
		owned += alloc_pages_owned(owner);
	}
	assert_int_equal(total, world.ram_pages);
	assert_int_equal(owned, world.ram_pages);
}

/* ------------------------------------------------------------------------ */
/* RAM pieces and layout.                                                    */
/* ------------------------------------------------------------------------ */

/** The layout of p's RAM (asserting it is valid); returns the region count. */
static size_t regions_of(const struct partition *p, struct guest_region *out)
{
	size_t count = layout_guest_ram(p->config->memory_bytes, out,
					LAYOUT_MAX_GUEST_RAM_REGIONS);

	assert_true(count > 0);
	return count;
}

/** Whether [gpa, gpa + size) lies within one of the regions. */
static bool in_regions(const struct guest_region *regions, size_t count, uint64_t gpa,
		       uint64_t size)
{
	for (size_t i = 0; i < count; i++) {
		uint64_t base = gpa_addr(regions[i].base);

		if (gpa >= base && gpa - base < regions[i].size &&
		    size <= regions[i].size - (gpa - base)) {
			return true;
		}
	}
	return false;
}

/** Asserts p's pieces do not overlap in host memory. */
static void check_pieces_disjoint(const struct partition *p)
{
	for (size_t i = 0; i < p->ram_count; i++) {
		uint64_t a = hpa_addr(p->ram[i].hpa);

		for (size_t j = i + 1; j < p->ram_count; j++) {
			uint64_t b = hpa_addr(p->ram[j].hpa);

			assert_true(a + p->ram[i].size <= b || b + p->ram[j].size <= a);
		}
	}
}

/** Asserts piece r starts at gpa, fits in [gpa, end) and is backed by frames p owns. */
static void check_piece(const struct partition *p, const struct partition_ram *r, uint64_t gpa,
			uint64_t end)
{
	assert_int_equal(gpa_addr(r->gpa), gpa);
	assert_true(r->size > 0 && IS_ALIGNED(r->size, PAGE_SIZE) && r->size <= end - gpa);
	assert_true(IS_ALIGNED(hpa_addr(r->hpa), PAGE_SIZE));
	assert_true(fake_phys_contains(r->hpa, r->size));
	assert_int_equal(alloc_range_owner(r->hpa, r->size / PAGE_SIZE), OWNER_PARTITION(p->id));
}

/**
 * Asserts p's RAM pieces cover exactly its layout regions, gpa-contiguous and
 * in order, on disjoint frames it owns, and that it owns exactly memory_bytes.
 */
static void check_pieces(const struct partition *p)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = regions_of(p, regions);
	size_t piece = 0;

	assert_true(p->ram_count <= PARTITION_MAX_CHUNKS);
	for (size_t i = 0; i < count; i++) {
		uint64_t at = gpa_addr(regions[i].base);
		uint64_t end = at + regions[i].size;

		while (at < end) {
			assert_true(piece < p->ram_count);
			check_piece(p, &p->ram[piece], at, end);
			at += p->ram[piece++].size;
		}
	}
	assert_int_equal(piece, p->ram_count);
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(p->id)) * PAGE_SIZE,
			 p->config->memory_bytes);
	check_pieces_disjoint(p);
}

/* ------------------------------------------------------------------------ */
/* Independent EPT checks.                                                   */
/* ------------------------------------------------------------------------ */

/** Number of whole block-aligned blocks of block bytes in [start, end). */
static uint64_t aligned_blocks(uint64_t start, uint64_t end, uint64_t block)
{
	uint64_t first = ALIGN_UP(start, block);
	uint64_t last = ALIGN_DOWN(end, block);

	return last > first ? (last - first) / block : 0;
}

/**
 * The fewest leaves mapping [gpa, gpa + size) to hpa: a 1G (2M) leaf fits
 * exactly where a 1G (2M) aligned block lies within the range and gpa and
 * hpa agree modulo 1G (2M); 4K leaves cover the rest.
 */
static uint64_t optimal_leaves(uint64_t gpa, uint64_t hpa, uint64_t size, bool allow_2m,
			       bool allow_1g)
{
	uint64_t end = gpa + size;
	uint64_t n1g = allow_1g && IS_ALIGNED(gpa - hpa, GiB(1)) ?
			       aligned_blocks(gpa, end, GiB(1)) : 0;
	uint64_t n2m = allow_2m && IS_ALIGNED(gpa - hpa, MiB(2)) ?
			       aligned_blocks(gpa, end, MiB(2)) - n1g * (GiB(1) / MiB(2)) : 0;

	seen.leaves_2m += n2m;
	return n1g + n2m + (size - n1g * GiB(1) - n2m * MiB(2)) / PAGE_SIZE;
}

/**
 * The fewest leaves that can map piece r: its runs of one memory type are
 * found page by page with mtrr_type_of_page(), each needing optimal_leaves().
 */
static uint64_t optimal_piece_leaves(const struct partition_ram *r, const struct mtrr_state *mtrr,
				     bool allow_2m, bool allow_1g)
{
	uint64_t gpa = gpa_addr(r->gpa);
	uint64_t hpa = hpa_addr(r->hpa);
	uint64_t run = 0;
	uint8_t run_type = mtrr_type_of_page(mtrr, hpa);
	uint64_t total = 0;

	for (uint64_t off = PAGE_SIZE; off <= r->size; off += PAGE_SIZE) {
		uint8_t type = off < r->size ? mtrr_type_of_page(mtrr, hpa + off) : 0xff;

		if (type != run_type) {
			total += optimal_leaves(gpa + run, hpa + run, off - run, allow_2m, allow_1g);
			run = off;
			run_type = type;
		}
	}
	return total;
}

/**
 * Asserts every page of piece r translates to its frame (a byte inside the
 * page, to catch offset errors), read/write/execute, with the MTRR type of
 * that frame; returns the number of leaves starting in it (each must lie
 * wholly inside it, aligned in gpa and hpa).
 */
static uint64_t check_piece_translation(const struct partition *p, const struct partition_ram *r,
					const struct mtrr_state *mtrr)
{
	uint64_t leaves = 0;

	for (uint64_t off = 0; off < r->size; off += PAGE_SIZE) {
		uint64_t gpa = gpa_addr(r->gpa) + off;
		uint64_t frame = hpa_addr(r->hpa) + off;
		hpa_t hpa;
		uint32_t access;
		uint8_t memtype;
		uint64_t size;

		assert_true(ept_translate(&p->ept, gpa_init(gpa + 0x9a8), &hpa, &access, &memtype,
					  &size));
		assert_int_equal(hpa_addr(hpa), frame + 0x9a8);
		assert_int_equal(access, EPT_RWX);
		assert_int_equal(memtype, mtrr_type_of_page(mtrr, frame));
		/* A leaf may not reach into another piece or beyond RAM. */
		assert_true(off > 0 || IS_ALIGNED(gpa, size));
		if (IS_ALIGNED(gpa, size)) {
			assert_true(IS_ALIGNED(frame, size) && size <= r->size - off);
			leaves++;
		}
	}
	return leaves;
}

/** Counts leaves and bytes (ept_leaf_fn). */
static void count_leaf(void *ctx, gpa_t gpa, hpa_t hpa, uint64_t size, uint32_t access,
		       uint8_t memtype)
{
	uint64_t *counts = ctx;

	counts[0]++;
	counts[1] += size;
}

/**
 * Asserts p's EPT maps each piece exactly (page by page) with the MTRR types,
 * with the fewest leaves possible, and nothing else (leaf bytes add up to the
 * RAM size); returns the leaf count.
 */
static uint64_t check_ept_maps_pieces(const struct partition *p, const struct mtrr_state *mtrr)
{
	uint64_t leaves = 0;
	uint64_t optimal = 0;
	uint64_t counts[2] = { 0, 0 };

	for (size_t i = 0; i < p->ram_count; i++) {
		leaves += check_piece_translation(p, &p->ram[i], mtrr);
		optimal += optimal_piece_leaves(&p->ram[i], mtrr, p->ept.allow_2m,
						p->ept.allow_1g);
	}
	assert_int_equal(leaves, optimal);
	ept_for_each_leaf(&p->ept, count_leaf, counts);
	assert_int_equal(counts[0], leaves);
	assert_int_equal(counts[1], p->config->memory_bytes);
	assert_int_equal(alloc_range_owner(p->ept.pml4, 1), OWNER_HV_EPT);
	return leaves;
}

/** Asserts gpa translates exactly when it is RAM of the layout. */
static void check_gpa(const struct partition *p, const struct guest_region *regions,
		      size_t count, uint64_t gpa)
{
	bool ram = in_regions(regions, count, gpa, 1);

	assert_int_equal(ept_translate(&p->ept, gpa_init(gpa), NULL, NULL, NULL, NULL), ram);
}

/** Checks the edges of [base, end): the bytes either side of each end. */
static void check_edges(const struct partition *p, const struct guest_region *regions,
			size_t count, uint64_t base, uint64_t end)
{
	if (base > 0) {
		check_gpa(p, regions, count, base - 1);
	}
	check_gpa(p, regions, count, base);
	check_gpa(p, regions, count, end - 1);
	check_gpa(p, regions, count, end);
	check_gpa(p, regions, count, end + PAGE_SIZE);
}

/**
 * Asserts no address of [0, 4 GiB + RAM) translates unless it is RAM: every
 * region edge, the edges of the PC holes, and random samples, half of them
 * near an edge.
 */
static void check_non_ram(const struct partition *p)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = regions_of(p, regions);
	uint64_t limit = LAYOUT_ABOVE_4G + p->config->memory_bytes;

	for (size_t i = 0; i < count; i++) {
		check_edges(p, regions, count, gpa_addr(regions[i].base),
			    gpa_addr(regions[i].base) + regions[i].size);
	}
	check_edges(p, regions, count, LAYOUT_LOW_RAM_END, LAYOUT_HIGH_RAM_BASE);
	check_edges(p, regions, count, LAYOUT_MMIO_HOLE_BASE, LAYOUT_ABOVE_4G);
	check_edges(p, regions, count, LAYOUT_ABOVE_4G, limit);
	for (unsigned int i = 0; i < NON_RAM_SAMPLES; i++) {
		const struct guest_region *r = &regions[random_next() % count];
		uint64_t near = gpa_addr(r->base) + (random_chance(50) ? r->size : 0);
		uint64_t gpa = random_chance(50) ? random_between(0, limit - 1) :
			       near + random_between(0, MiB(8)) - MIN(near, MiB(4));

		check_gpa(p, regions, count, gpa);
	}
}

/**
 * Asserts the audit finds nothing wrong with the built partitions, each
 * alone and all together, sees exactly their leaves and RAM, and logs nothing.
 */
static void check_audit_clean(const uint64_t *leaves)
{
	struct audit_result all;
	uint64_t bytes = 0;
	uint64_t leaf_total = 0;
	unsigned int built = 0;

	for (size_t i = 0; i < world.part_count; i++) {
		struct audit_result one = audit_isolation(&world.parts[i], 1, &world.mtrr);

		if (is_built(i)) {
			assert_int_equal(one.problems, 0);
			assert_int_equal(one.partitions, 1);
			assert_int_equal(one.mapped_bytes, world.configs[i].memory_bytes);
			assert_int_equal(one.leaves, leaves[i]);
			bytes += one.mapped_bytes;
			leaf_total += one.leaves;
			built++;
		}
	}
	capture_clear();
	all = audit_isolation(world.parts, world.part_count, &world.mtrr);
	assert_int_equal(all.problems, 0);
	assert_int_equal(all.partitions, built);
	assert_int_equal(all.mapped_bytes, bytes);
	assert_int_equal(all.leaves, leaf_total);
	assert_int_equal(captured.length, 0);
}

/** Checks every invariant of the world: ledger, pieces, EPTs, audit. */
static void check_world(void)
{
	uint64_t leaves[MAX_PARTS] = { 0 };

	check_ledger();
	for (size_t i = 0; i < world.part_count; i++) {
		if (is_built(i)) {
			check_pieces(&world.parts[i]);
			leaves[i] = check_ept_maps_pieces(&world.parts[i], &world.mtrr);
			check_non_ram(&world.parts[i]);
		}
	}
	check_audit_clean(leaves);
}

/* ------------------------------------------------------------------------ */
/* Building and refusing.                                                    */
/* ------------------------------------------------------------------------ */

/** Sets up partition slot i (id, name, memory_bytes), not built yet. */
static struct partition *world_prepare(size_t i, unsigned int id, uint64_t memory_bytes)
{
	struct partition *p = &world.parts[i];
	struct partition_config *c = &world.configs[i];

	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "vm%zu-%u", i, id);
	c->memory_bytes = memory_bytes;
	c->vcpus = 1;
	memset(p, 0, sizeof(*p));
	p->id = id;
	p->config = c;
	vuart_init(&p->uart, c->name, NULL);
	world.part_count = MAX(world.part_count, i + 1);
	return p;
}

/** Asserts a freshly built p: zeroed frames, its EPT tables accounted for. */
static void check_fresh_build(const struct partition *p, uint64_t ept_before, bool allow_2m,
			      bool allow_1g)
{
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), ept_before + p->ept.table_pages);
	assert_int_equal(p->ept.allow_2m, allow_2m);
	assert_int_equal(p->ept.allow_1g, allow_1g);
	for (size_t i = 0; i < p->ram_count; i++) {
		assert_true(host_bytes_are(hpa_addr(p->ram[i].hpa), p->ram[i].size, 0));
	}
	assert_int_equal(captured.length, 0);
}

/**
 * After a refused build: releases the half-built partition as hv/partition.c
 * does, and asserts the ledger is exactly as before, the EPT flushed (if one
 * was started) and gone, and the refusal logged with the size asked and the
 * size free before the build.
 */
static void check_refusal(struct partition *p, uint64_t free_before,
			  const struct ledger_snapshot *before)
{
	bool had_ept = p->ept.table_pages > 0;
	unsigned int flushes = fake_ept_flush_count;

	partition_memory_release(p);
	assert_int_equal(fake_ept_flush_count, flushes + (had_ept ? 1 : 0));
	assert_int_equal(p->ept.table_pages, 0);
	assert_int_equal(p->ram_count, 0);
	assert_ledger_is(before);
	assert_true(captured_sizes(quoted_name(p->config), p->config->memory_bytes,
				   free_before * PAGE_SIZE));
	seen.refused++;
	seen.refused_after_ept += had_ept;
	/* The half-built RAM came back zeroed: poison it again for the next build. */
	poison_free_pages();
}

/**
 * Builds partition slot i. On success checks the fresh partition; on refusal
 * checks it changed nothing and was logged. Refusal must be for a reason:
 * more asked than free, or no free run that could hold it all.
 */
static bool world_build(size_t i, bool allow_2m, bool allow_1g)
{
	struct partition *p = &world.parts[i];
	uint64_t asked = p->config->memory_bytes / PAGE_SIZE;
	uint64_t free_before = alloc_pages_owned(OWNER_FREE);
	uint64_t ept_before = alloc_pages_owned(OWNER_HV_EPT);
	bool roomy = largest_free_run() >= asked + asked / 512 + 8;
	static struct ledger_snapshot before;

	ledger_take(&before);
	capture_clear();
	if (!partition_memory_build(p, &world.mtrr, allow_2m, allow_1g)) {
		assert_false(roomy);
		check_refusal(p, free_before, &before);
		return false;
	}
	assert_true(asked <= free_before);
	p->state = PARTITION_READY;
	check_fresh_build(p, ept_before, allow_2m, allow_1g);
	seen.built++;
	seen.pieced += p->ram_count > 2;
	return true;
}

/** Builds partition slot i, asserting success. */
static void world_build_ok(size_t i, bool allow_2m, bool allow_1g)
{
	assert_true(world_build(i, allow_2m, allow_1g));
}

/* ------------------------------------------------------------------------ */
/* Guest RAM contents: patterns and copies.                                  */
/* ------------------------------------------------------------------------ */

static uint64_t copy_words[COPY_MAX / 8];
static uint8_t copy_bytes[COPY_MAX];

/** The 64-bit word the pattern of salt puts at gpa (8-aligned). */
static uint64_t pattern_word(uint64_t salt, uint64_t gpa)
{
	return (gpa * 0x9e3779b97f4a7c15ULL) ^ salt;
}

/** The byte the pattern of salt puts at gpa. */
static uint8_t pattern_byte(uint64_t salt, uint64_t gpa)
{
	return (uint8_t)(pattern_word(salt, ALIGN_DOWN(gpa, 8)) >> (8 * (gpa & 7)));
}

/** Writes the pattern of salt into region r through copies of random spans. */
static void write_region_pattern(struct partition *p, const struct guest_region *r,
				 uint64_t salt)
{
	uint64_t at = gpa_addr(r->base);
	uint64_t end = at + r->size;

	while (at < end) {
		/* MIN() evaluates its arguments twice: draw the number first. */
		uint64_t drawn = 8 * random_between(1, COPY_MAX / 8);
		uint64_t span = MIN(end - at, drawn);

		for (uint64_t i = 0; i < span / 8; i++) {
			copy_words[i] = pattern_word(salt, at + 8 * i);
		}
		assert_true(partition_copy_to_guest(p, gpa_init(at), copy_words, span));
		at += span;
	}
}

/** Writes the pattern of salt into all of slot i's RAM through partition_copy_to_guest(). */
static void write_pattern(size_t i, uint64_t salt)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = regions_of(&world.parts[i], regions);

	for (size_t k = 0; k < count; k++) {
		write_region_pattern(&world.parts[i], &regions[k], salt);
	}
	world.salts[i] = salt;
}

/** Fails, naming the guest address, if the word at words[w] of piece r is not the pattern. */
static void check_pattern_word(const struct partition_ram *r, const uint64_t *words, uint64_t w,
			       uint64_t salt)
{
	uint64_t gpa = gpa_addr(r->gpa) + 8 * w;

	if (words[w] != pattern_word(salt, gpa)) {
		fail_msg("guest RAM at gpa %#llx holds %#llx, not its pattern %#llx",
			 (unsigned long long)gpa, (unsigned long long)words[w],
			 (unsigned long long)pattern_word(salt, gpa));
	}
}

/**
 * Asserts p's frames hold the pattern of salt where its pieces put each gpa:
 * every word, or (sampled) the first and last word of every page.
 */
static void check_pattern(const struct partition *p, uint64_t salt, bool every_word)
{
	const uint64_t per_page = PAGE_SIZE / 8;

	for (size_t i = 0; i < p->ram_count; i++) {
		const struct partition_ram *r = &p->ram[i];
		const uint64_t *words = hpa_to_ptr(r->hpa);

		for (uint64_t w = 0; w < r->size / 8; w += every_word ? 1 : per_page) {
			check_pattern_word(r, words, w, salt);
			if (!every_word) {
				check_pattern_word(r, words, w + per_page - 1, salt);
			}
		}
	}
}

/** A random guest address near a piece edge or a region edge of p. */
static uint64_t random_gpa_near_edge(const struct partition *p)
{
	const struct partition_ram *r = &p->ram[random_next() % p->ram_count];
	uint64_t edge = gpa_addr(r->gpa) + (random_chance(50) ? r->size : 0);
	uint64_t drawn = random_between(0, 3 * PAGE_SIZE);
	uint64_t back = MIN(edge, drawn);

	return edge - back + random_between(0, 16);
}

/** Whether bytes [0, size) of copy_bytes hold the pattern of salt from gpa. */
static bool buffer_has_pattern(uint64_t salt, uint64_t gpa, uint64_t size)
{
	for (uint64_t i = 0; i < size; i++) {
		if (copy_bytes[i] != pattern_byte(salt, gpa + i)) {
			return false;
		}
	}
	return true;
}

/** Asserts copy_bytes[0, size) all hold byte. */
static void assert_buffer_is(uint64_t size, uint8_t byte)
{
	assert_true(bytes_are(copy_bytes, size, byte));
}

/**
 * One read of [gpa, gpa + size): succeeds with the pattern exactly when the
 * range is RAM of one region, else fails leaving the buffer untouched.
 */
static void check_one_read(const struct partition *p, uint64_t salt, uint64_t gpa,
			   uint64_t size)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = regions_of(p, regions);
	bool ram = gpa + size >= gpa && in_regions(regions, count, gpa, size);

	memset(copy_bytes, 0xee, MIN(size, COPY_MAX));
	assert_int_equal(partition_copy_from_guest(p, copy_bytes, gpa_init(gpa), size), ram);
	if (ram) {
		assert_true(buffer_has_pattern(salt, gpa, size));
	} else {
		assert_buffer_is(MIN(size, COPY_MAX), 0xee);
	}
}

/**
 * One write of random bytes to [gpa, gpa + size): lands where the EPT maps
 * each byte exactly when the range is RAM, else fails and writes nothing.
 * The pattern is restored afterwards.
 */
static void check_one_write(struct partition *p, uint64_t salt, uint64_t gpa, uint64_t size)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = regions_of(p, regions);
	bool ram = in_regions(regions, count, gpa, size);

	for (uint64_t i = 0; i < size; i++) {
		copy_bytes[i] = (uint8_t)random_next();
	}
	assert_int_equal(partition_copy_to_guest(p, gpa_init(gpa), copy_bytes, size), ram);
	for (uint64_t i = 0; i < size; i++) {
		hpa_t hpa;

		if (in_regions(regions, count, gpa + i, 1)) {
			assert_true(ept_translate(&p->ept, gpa_init(gpa + i), &hpa, NULL, NULL, NULL));
			assert_int_equal(*(uint8_t *)hpa_to_ptr(hpa),
					 ram ? copy_bytes[i] : pattern_byte(salt, gpa + i));
		}
	}
	if (ram) {
		for (uint64_t i = 0; i < size; i++) {
			copy_bytes[i] = pattern_byte(salt, gpa + i);
		}
		assert_true(partition_copy_to_guest(p, gpa_init(gpa), copy_bytes, size));
	}
}

/** Copies that wrap around the address space are refused and touch nothing. */
static void check_wrapping_copies(struct partition *p, uint64_t salt)
{
	uint64_t near = random_gpa_near_edge(p);
	/* Above one page, so that none of the sizes below wraps by itself. */
	uint64_t gpa = MAX(near, PAGE_SIZE + 1);
	uint64_t sizes[] = { UINT64_MAX, UINT64_MAX - gpa + 2, UINT64_MAX - gpa + 1 + PAGE_SIZE };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(copy_bytes, 0xee, PAGE_SIZE);
		assert_false(partition_copy_from_guest(p, copy_bytes, gpa_init(gpa), sizes[i]));
		assert_buffer_is(PAGE_SIZE, 0xee);
		assert_false(partition_copy_to_guest(p, gpa_init(gpa), copy_bytes, sizes[i]));
	}
	check_pattern(p, salt, false);
}

/**
 * Asserts partition_contiguous_bytes() at gpa: the bytes to the end of the
 * piece holding it (host-contiguous, as the EPT confirms), or 0 off RAM.
 */
static void check_contiguous(const struct partition *p, uint64_t gpa)
{
	uint64_t n = partition_contiguous_bytes(p, gpa_init(gpa));
	uint64_t expected = 0;
	hpa_t first;
	hpa_t last;

	for (size_t i = 0; i < p->ram_count; i++) {
		uint64_t base = gpa_addr(p->ram[i].gpa);

		if (gpa >= base && gpa < base + p->ram[i].size) {
			expected = base + p->ram[i].size - gpa;
		}
	}
	assert_int_equal(n, expected);
	if (n > 0) {
		assert_true(ept_translate(&p->ept, gpa_init(gpa), &first, NULL, NULL, NULL));
		assert_true(ept_translate(&p->ept, gpa_init(gpa + n - 1), &last, NULL, NULL, NULL));
		assert_int_equal(hpa_addr(last) - hpa_addr(first), n - 1);
		assert_ptr_equal(partition_gpa_to_ptr(p, gpa_init(gpa), n), hpa_to_ptr(first));
		assert_null(partition_gpa_to_ptr(p, gpa_init(gpa), n + 1));
	}
}

/**
 * Random reads and writes across piece boundaries and at region edges,
 * wrapping copies, and contiguous-byte queries, on built partition slot i.
 */
static void check_copies(size_t i)
{
	struct partition *p = &world.parts[i];
	uint64_t salt = world.salts[i];

	for (unsigned int k = 0; k < 60; k++) {
		uint64_t gpa = random_gpa_near_edge(p);
		uint64_t size = random_chance(80) ? random_between(1, 2 * PAGE_SIZE) :
						    random_between(1, COPY_MAX);

		if (random_chance(60)) {
			check_one_read(p, salt, gpa, size);
		} else {
			check_one_write(p, salt, gpa, MIN(size, 3 * PAGE_SIZE));
		}
		check_contiguous(p, gpa);
	}
	check_wrapping_copies(p, salt);
	check_pattern(p, salt, true);
}

/* ------------------------------------------------------------------------ */
/* Release.                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Releases slot i (through partition_stop() or directly) and asserts its RAM
 * was scrubbed and freed, its EPT flushed and destroyed, nothing else touched.
 */
static void world_release(size_t i)
{
	struct partition *p = &world.parts[i];
	struct partition_ram pieces[PARTITION_MAX_CHUNKS];
	size_t count = p->ram_count;
	uint64_t ept_after = alloc_pages_owned(OWNER_HV_EPT) - p->ept.table_pages;
	unsigned int flushes = fake_ept_flush_count;

	memcpy(pieces, p->ram, count * sizeof(pieces[0]));
	if (random_chance(50)) {
		partition_stop(p, "test %s", "release");
	} else {
		partition_memory_release(p);
		p->state = PARTITION_EMPTY;
	}
	assert_int_equal(fake_ept_flush_count, flushes + 1);
	assert_int_equal(p->ept.table_pages, 0);
	assert_int_equal(alloc_pages_owned(OWNER_HV_EPT), ept_after);
	assert_int_equal(p->ram_count, 0);
	assert_int_equal(alloc_pages_owned(OWNER_PARTITION(p->id)), 0);
	for (size_t k = 0; k < count; k++) {
		assert_int_equal(alloc_range_owner(pieces[k].hpa, pieces[k].size / PAGE_SIZE),
				 OWNER_FREE);
		assert_true(host_bytes_are(hpa_addr(pieces[k].hpa), pieces[k].size, 0));
		/* Poisoned again, so that a later build that does not zero shows. */
		memset(hpa_to_ptr(pieces[k].hpa), FREE_POISON, pieces[k].size);
	}
	assert_false(partition_copy_to_guest(p, gpa_init(0), copy_bytes, 1));
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(0)), 0);
	world.salts[i] = 0;
}

/** Asserts every partition still built holds its pattern (sampled). */
static void check_patterns_kept(void)
{
	for (size_t i = 0; i < world.part_count; i++) {
		if (is_built(i) && world.salts[i] != 0) {
			check_pattern(&world.parts[i], world.salts[i], false);
		}
	}
}

/* ------------------------------------------------------------------------ */
/* The randomized rounds.                                                    */
/* ------------------------------------------------------------------------ */

/**
 * A random RAM size for the next partition: mostly a share of what is free;
 * at times a little more than is free (refused up front), or all of it or a
 * little less (refused once the EPT tables or the pieces no longer fit).
 */
static uint64_t random_memory_bytes(size_t left)
{
	uint64_t free_pages = alloc_pages_owned(OWNER_FREE);
	uint64_t pick = random_between(0, 7);
	uint64_t short_by = random_between(0, 8);
	uint64_t pages;

	if (pick == 0) {
		pages = free_pages + random_between(1, 300);
	} else if (pick <= 2) {
		pages = free_pages - MIN(free_pages, short_by);
	} else {
		pages = random_between(MIN_PAGES, MAX(MIN_PAGES, 2 * free_pages / (left + 1)));
	}
	return MAX(pages, MIN_PAGES) * PAGE_SIZE;
}

/** Distinct random partition ids (none of them FOREIGN_ID) for count slots. */
static void random_ids(unsigned int *ids, size_t count)
{
	unsigned int pool[FOREIGN_ID];

	for (unsigned int i = 0; i < FOREIGN_ID; i++) {
		pool[i] = i;
	}
	for (size_t i = 0; i < count; i++) {
		size_t pick = i + random_next() % (FOREIGN_ID - i);
		unsigned int chosen = pool[pick];

		pool[pick] = pool[i];
		ids[i] = chosen;
	}
}

/** Builds 2 to MAX_PARTS partitions, checking the world after each; fills those built. */
static void build_random_partitions(void)
{
	unsigned int ids[MAX_PARTS];
	size_t count = random_between(2, MAX_PARTS);

	random_ids(ids, count);
	for (size_t i = 0; i < count; i++) {
		world_prepare(i, ids[i], random_memory_bytes(count - i));
		if (world_build(i, random_chance(75), random_chance(50))) {
			write_pattern(i, random_next() | 1);
		}
		check_world();
		check_patterns_kept();
	}
}

/** Releases the built partitions in random order, checking the world after each. */
static void release_random_order(void)
{
	size_t order[MAX_PARTS];

	for (size_t i = 0; i < world.part_count; i++) {
		size_t j = random_next() % (i + 1);

		order[i] = order[j];
		order[j] = i;
	}
	for (size_t i = 0; i < world.part_count; i++) {
		if (is_built(order[i])) {
			world_release(order[i]);
			check_world();
			check_patterns_kept();
		}
	}
}

/** One randomized round: world, builds, copies, releases, all checked. */
static void random_round(uint64_t seed)
{
	static struct ledger_snapshot initial;

	round_begin("test_random_worlds", seed);
	world_random(ARENA_MIN, ARENA_MAX);
	check_world();
	ledger_take(&initial);
	build_random_partitions();
	for (size_t i = 0; i < world.part_count; i++) {
		if (is_built(i)) {
			check_copies(i);
		}
	}
	release_random_order();
	assert_ledger_is(&initial);
	check_runs_intact();
	round_end();
}

/**
 * Random memory maps, MTRRs and partitions: every invariant holds after
 * every build, refusal and release; the seeds exercise refusals (also after
 * the EPT was started), pieced RAM and 2 MiB leaves.
 */
static void test_random_worlds(void **state)
{
	unsigned int rounds = round_count(RANDOM_ROUNDS);

	memset(&seen, 0, sizeof(seen));
	for (unsigned int i = 0; i < rounds; i++) {
		random_round(round_seed(0x7e55e7a0c0ffeeULL, i));
	}
	if (rounds > 1) {
		assert_true(seen.built >= 10);
		assert_true(seen.refused >= 3);
		assert_true(seen.refused_after_ept >= 2);
		assert_true(seen.pieced >= 3);
		assert_true(seen.leaves_2m >= 100);
	}
}

/* ------------------------------------------------------------------------ */
/* Deterministic builds and refusals.                                        */
/* ------------------------------------------------------------------------ */

/** Hands all but keep_pages free pages to the hypervisor, first fit. */
static void leave_free(uint64_t keep_pages)
{
	hpa_t ignored;

	assert_true(alloc_pages(alloc_pages_owned(OWNER_FREE) - keep_pages, 1, OWNER_HYPERVISOR,
				&ignored));
}

/** Asking for more than is free is refused up front: no EPT, nothing changed. */
static void test_refusal_more_than_free(void **state)
{
	struct partition *p;

	world_plain(PLAIN_ARENA, EPT_MT_WB);
	leave_free(MiB(8) / PAGE_SIZE);
	p = world_prepare(0, 3, MiB(16));
	assert_false(world_build(0, true, true));
	assert_true(captured_sizes(quoted_name(p->config), MiB(16), MiB(8)));
	check_world();
}

/** Exactly as much free as asked: the EPT tables do not fit; all undone. */
static void test_refusal_tables_do_not_fit(void **state)
{
	world_plain(PLAIN_ARENA, EPT_MT_WB);
	leave_free(MiB(4) / PAGE_SIZE);
	world_prepare(0, 2, MiB(4));
	assert_false(world_build(0, true, false));
	/* Not refused up front: the EPT had been started and was flushed. */
	assert_int_equal(seen.refused_after_ept, 1);
	check_world();
	/* A little less fits. */
	world_prepare(0, 2, MiB(4) - 64 * PAGE_SIZE);
	world_build_ok(0, true, false);
	check_world();
}

/**
 * A refusal after the EPT was started (here: the tables do not fit) gives
 * the memory free when the partition asked, not what is left while its
 * half-built RAM is still held: "cannot back 4 MiB of RAM (0 MiB free)"
 * would send the operator looking for 4 MiB that are in fact free.
 */
static void test_refusal_logs_free_memory_before_the_build(void **state)
{
	world_plain(PLAIN_ARENA, EPT_MT_WB);
	leave_free(MiB(4) / PAGE_SIZE);
	world_prepare(0, 2, MiB(4));
	assert_false(world_build(0, true, false));
	assert_int_equal(seen.refused_after_ept, 1);
	assert_true(captured_sizes(quoted_name(&world.configs[0]), MiB(4), MiB(4)));
}

/**
 * The refusal's figures never contradict it: asked 1.5 MiB with 1.17 MiB
 * free must not read "asks for 1 MiB of RAM, but only 1 MiB are free".
 */
static void test_refusal_sizes_do_not_contradict(void **state)
{
	struct size_figure f[8];
	size_t n;

	world_plain(PLAIN_ARENA, EPT_MT_WB);
	leave_free(300);
	world_prepare(0, 2, 384 * PAGE_SIZE);
	assert_false(world_build(0, true, true));
	n = captured_figures(quoted_name(&world.configs[0]), f, ARRAY_SIZE(f));
	assert_true(n >= 2);
	assert_true(f[0].value << f[0].shift > f[1].value << f[1].shift);
}

/** Free memory in single pages: more than PARTITION_MAX_CHUNKS pieces are refused. */
static void test_refusal_too_fragmented(void **state)
{
	hpa_t base;

	world_plain(PLAIN_ARENA, EPT_MT_WB);
	leave_free(600);
	assert_true(alloc_pages(600, 1, OWNER_HV_BOOT_FILES, &base));
	for (uint64_t i = 0; i < 600; i += 2) {
		alloc_free(hpa_init(hpa_addr(base) + i * PAGE_SIZE), 1, OWNER_HV_BOOT_FILES);
	}
	world_prepare(0, 9, MiB(1));
	assert_false(world_build(0, true, true));
	assert_true(captured_line_has(quoted_name(&world.configs[0]), "fragmented", NULL));
	check_world();
}

/**
 * On unfragmented memory the RAM is one piece per region, congruent with its
 * gpa modulo 2 MiB, so the EPT needs no more leaves than if host and guest
 * addresses were equal.
 */
static void test_unfragmented_build_is_ideal(void **state)
{
	const uint64_t sizes[] = { MiB(1), MiB(3) + PAGE_SIZE, MiB(14), MiB(24) + 5 * PAGE_SIZE };

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct partition *p;
		uint64_t ideal = 0;

		world_plain(PLAIN_ARENA, EPT_MT_WB);
		p = world_prepare(0, 1, sizes[i]);
		world_build_ok(0, true, true);
		check_world();
		assert_true(p->ram_count <= 2);
		for (size_t k = 0; k < p->ram_count; k++) {
			ideal += optimal_leaves(gpa_addr(p->ram[k].gpa), gpa_addr(p->ram[k].gpa),
						p->ram[k].size, true, true);
		}
		assert_int_equal(audit_isolation(p, 1, &world.mtrr).leaves, ideal);
	}
}

/** Without large pages every leaf is a 4 KiB page. */
static void test_no_large_pages(void **state)
{
	struct partition *p;

	world_plain(PLAIN_ARENA, EPT_MT_WB);
	p = world_prepare(0, 4, MiB(20));
	world_build_ok(0, false, false);
	check_world();
	assert_int_equal(audit_isolation(p, 1, &world.mtrr).leaves, MiB(20) / PAGE_SIZE);
}

/**
 * Leaves follow the MTRRs page by page: small UC/WC/WP ranges inside 2 MiB
 * blocks, WT over WB (WT wins), WP over WC (undefined: UC), with the fewest
 * leaves the type runs allow.
 */
static void test_memory_types_follow_mtrrs(void **state)
{
	struct partition *p;
	struct mtrr_state *s = &world.mtrr;

	world_plain(PLAIN_ARENA, EPT_MT_WB);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(4) + 3 * PAGE_SIZE, PAGE_SIZE, EPT_MT_UC, true);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(6) + KiB(64), KiB(64), EPT_MT_WC, true);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(8), MiB(8), EPT_MT_WT, true);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(8), MiB(2), EPT_MT_WB, true);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(20), MiB(1), EPT_MT_WP, true);
	mtrr_add(s, FAKE_PHYS_BASE + MiB(20) + KiB(512), KiB(512), EPT_MT_WC, true);
	assert_true(mtrr_state_valid(s, NULL));
	p = world_prepare(0, 5, MiB(26));
	world_build_ok(0, true, true);
	check_world();
	assert_int_equal(mtrr_type_of_page(s, FAKE_PHYS_BASE + MiB(8)), EPT_MT_WT);
	assert_int_equal(mtrr_type_of_page(s, FAKE_PHYS_BASE + MiB(21) - PAGE_SIZE), EPT_MT_UC);
	assert_true(audit_isolation(p, 1, &world.mtrr).leaves > MiB(26) / MiB(2));
}

/** MTRRs disabled: every leaf is UC. */
static void test_memory_types_disabled_mtrrs(void **state)
{
	world_plain(PLAIN_ARENA, EPT_MT_WB);
	world.mtrr.enabled = false;
	world_prepare(0, 6, MiB(10));
	world_build_ok(0, true, true);
	check_world();
	assert_int_equal(world.parts[0].ram_count, 2);
	assert_true(ept_translate(&world.parts[0].ept, gpa_init(MiB(5)), NULL, NULL, NULL, NULL));
}

/** Release scrubs a pattern, frees every frame and drops the EPT after a flush. */
static void test_release_scrubs_and_flushes(void **state)
{
	random_seed(0x5c2b);
	world_plain(PLAIN_ARENA, EPT_MT_WB);
	world_prepare(0, 7, MiB(12) + 3 * PAGE_SIZE);
	world_prepare(1, 8, MiB(9));
	world_build_ok(0, true, false);
	world_build_ok(1, false, false);
	write_pattern(0, 0x1234567);
	write_pattern(1, 0x7654321);
	check_pattern(&world.parts[0], world.salts[0], true);
	world_release(0);
	check_world();
	check_pattern(&world.parts[1], world.salts[1], true);
	world_release(1);
	check_world();
	assert_int_equal(alloc_pages_owned(OWNER_FREE), world.ram_pages);
}

/* ------------------------------------------------------------------------ */
/* Copies on hand-made pieces (above 4 GiB, at the top of the EPT's reach).  */
/* ------------------------------------------------------------------------ */

/** Hand-made pieces: gpa-adjacent but not host-adjacent, host-adjacent, high. */
static const struct partition_ram handmade_pieces[] = {
	{ { 0 }, { FAKE_PHYS_BASE + 5 * PAGE_SIZE }, 3 * PAGE_SIZE },
	{ { 3 * PAGE_SIZE }, { FAKE_PHYS_BASE + 1 * PAGE_SIZE }, 2 * PAGE_SIZE },
	{ { MiB(1) }, { FAKE_PHYS_BASE + 20 * PAGE_SIZE }, PAGE_SIZE },
	{ { MiB(1) + PAGE_SIZE }, { FAKE_PHYS_BASE + 21 * PAGE_SIZE }, PAGE_SIZE },
	{ { GiB(4) }, { FAKE_PHYS_BASE + 30 * PAGE_SIZE }, 4 * PAGE_SIZE },
	{ { EPT_GPA_LIMIT - 2 * PAGE_SIZE }, { FAKE_PHYS_BASE + 40 * PAGE_SIZE }, 2 * PAGE_SIZE },
};

/** A partition made of handmade_pieces over a zeroed 1 MiB arena. */
static struct partition *handmade_partition(void)
{
	struct partition *p;

	world_plain(MiB(1), EPT_MT_WB);
	memset(hpa_to_ptr(hpa_init(FAKE_PHYS_BASE)), 0, MiB(1));
	p = world_prepare(0, 0, MiB(1));
	memcpy(p->ram, handmade_pieces, sizeof(handmade_pieces));
	p->ram_count = ARRAY_SIZE(handmade_pieces);
	return p;
}

/** The host byte behind gpa in the hand-made pieces (NULL if none). */
static uint8_t *handmade_byte(uint64_t gpa)
{
	for (size_t i = 0; i < ARRAY_SIZE(handmade_pieces); i++) {
		const struct partition_ram *r = &handmade_pieces[i];

		if (gpa >= gpa_addr(r->gpa) && gpa - gpa_addr(r->gpa) < r->size) {
			return hpa_to_ptr(hpa_init(hpa_addr(r->hpa) + gpa - gpa_addr(r->gpa)));
		}
	}
	return NULL;
}

/** A write then a read of [gpa, gpa + size) that must both succeed, byte-exact. */
static void handmade_round_trip(struct partition *p, uint64_t gpa, uint64_t size)
{
	for (uint64_t i = 0; i < size; i++) {
		copy_bytes[i] = (uint8_t)(gpa + i * 7 + 1);
	}
	assert_true(partition_copy_to_guest(p, gpa_init(gpa), copy_bytes, size));
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(*handmade_byte(gpa + i), copy_bytes[i]);
	}
	memset(copy_bytes, 0, size);
	assert_true(partition_copy_from_guest(p, copy_bytes, gpa_init(gpa), size));
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(copy_bytes[i], (uint8_t)(gpa + i * 7 + 1));
	}
}

/** A write and a read of [gpa, gpa + size) that must both be refused, touching nothing. */
static void handmade_refused(struct partition *p, uint64_t gpa, uint64_t size)
{
	assert_true(host_bytes_are(FAKE_PHYS_BASE, MiB(1), 0));
	memset(copy_bytes, 0xee, PAGE_SIZE);
	assert_false(partition_copy_from_guest(p, copy_bytes, gpa_init(gpa), size));
	assert_buffer_is(PAGE_SIZE, 0xee);
	assert_false(partition_copy_to_guest(p, gpa_init(gpa), copy_bytes, size));
	assert_true(host_bytes_are(FAKE_PHYS_BASE, MiB(1), 0));
}

/** Copies across pieces succeed byte-exact; any byte off RAM, or a wrap, refuses all. */
static void test_copies_on_handmade_pieces(void **state)
{
	struct partition *p = handmade_partition();

	handmade_refused(p, 5 * PAGE_SIZE - 3, 4);                /* off the end of piece 1 */
	handmade_refused(p, MiB(1) - 1, 2);                        /* just before RAM */
	handmade_refused(p, MiB(1) + PAGE_SIZE, PAGE_SIZE + 1);    /* one byte too far */
	handmade_refused(p, GiB(4) - 1, 5);
	handmade_refused(p, GiB(4) + 4 * PAGE_SIZE - 1, 2);
	handmade_refused(p, EPT_GPA_LIMIT - 1, 2);
	handmade_refused(p, EPT_GPA_LIMIT - PAGE_SIZE, UINT64_MAX);
	handmade_refused(p, MiB(1), UINT64_MAX - MiB(1) + 2);      /* ends at 1: wraps */
	handmade_refused(p, 0, UINT64_MAX);
	handmade_refused(p, UINT64_MAX, 2);
	handmade_round_trip(p, 0, 5 * PAGE_SIZE);                  /* pieces 0 and 1 whole */
	handmade_round_trip(p, 3 * PAGE_SIZE - 5, 10);             /* across 0 -> 1 */
	handmade_round_trip(p, MiB(1) + PAGE_SIZE - 1, 2);         /* across host-adjacent */
	handmade_round_trip(p, GiB(4) + 17, 4 * PAGE_SIZE - 17);
	handmade_round_trip(p, EPT_GPA_LIMIT - 2 * PAGE_SIZE, 2 * PAGE_SIZE);
	handmade_round_trip(p, EPT_GPA_LIMIT - 1, 1);
	/* Nothing to copy is not a refusal. */
	assert_true(partition_copy_to_guest(p, gpa_init(MiB(1)), copy_bytes, 0));
}

/** Contiguous bytes end at each piece, even where the next piece follows in gpa. */
static void test_contiguous_bytes_on_handmade_pieces(void **state)
{
	struct partition *p = handmade_partition();

	assert_int_equal(partition_contiguous_bytes(p, gpa_init(0)), 3 * PAGE_SIZE);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(3 * PAGE_SIZE - 1)), 1);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(3 * PAGE_SIZE)), 2 * PAGE_SIZE);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(5 * PAGE_SIZE)), 0);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(MiB(1))), PAGE_SIZE);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(GiB(4) + 5)),
			 4 * PAGE_SIZE - 5);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(GiB(4) - 1)), 0);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(EPT_GPA_LIMIT - 1)), 1);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(EPT_GPA_LIMIT)), 0);
	assert_int_equal(partition_contiguous_bytes(p, gpa_init(UINT64_MAX)), 0);
	assert_ptr_equal(partition_gpa_to_ptr(p, gpa_init(3 * PAGE_SIZE), 2 * PAGE_SIZE),
			 handmade_byte(3 * PAGE_SIZE));
	assert_null(partition_gpa_to_ptr(p, gpa_init(2 * PAGE_SIZE), 2 * PAGE_SIZE));
	assert_null(partition_gpa_to_ptr(p, gpa_init(GiB(4)), UINT64_MAX));
}

/* ------------------------------------------------------------------------ */
/* The audit must fail when isolation is broken.                             */
/* ------------------------------------------------------------------------ */

#define AUDIT_SEEDS     3
#define AUDIT_ARENA_MIN MiB(20)
#define AUDIT_ARENA_MAX MiB(32)

/**
 * Walks ept's tables (here, from the SDM's formats) down to the entry at
 * level stop translating gpa, or to a leaf met before it; stores the entry's
 * level in *level. NULL when an entry on the way is not present.
 */
static uint64_t *find_entry(const struct ept *ept, uint64_t gpa, int stop, int *level)
{
	uint64_t table = hpa_addr(ept->pml4);

	for (int at = 3; at >= 0; at--) {
		uint64_t *entries = hpa_to_ptr(hpa_init(table));
		uint64_t *entry = &entries[(gpa >> (PAGE_SHIFT + 9 * at)) & 511];

		if ((*entry & T_ACCESS) == 0) {
			return NULL;
		}
		if (at == stop || at == 0 || (at < 3 && (*entry & T_PAGE_SIZE) != 0)) {
			*level = at;
			return entry;
		}
		table = *entry & T_ADDR;
	}
	return NULL;
}

/** Bytes an entry at level covers. */
static uint64_t level_size(int level)
{
	return 1ULL << (PAGE_SHIFT + 9 * level);
}

/** The leaf entry mapping gpa in p's EPT; *start gets the gpa where its page begins. */
static uint64_t *leaf_at(const struct partition *p, uint64_t gpa, uint64_t *start)
{
	int level;
	uint64_t *entry = find_entry(&p->ept, gpa, 0, &level);

	assert_non_null(entry);
	*start = ALIGN_DOWN(gpa, level_size(level));
	return entry;
}

/** A random page of p's RAM at or above 2 MiB (so no leaf at gpa 0 is chosen). */
static uint64_t random_ram_page(const struct partition *p)
{
	uint64_t end = LAYOUT_HIGH_RAM_BASE + p->config->memory_bytes - LAYOUT_LOW_RAM_END;

	return random_between(MiB(2) / PAGE_SIZE, end / PAGE_SIZE - 1) * PAGE_SIZE;
}

/**
 * A fragmented random world with three partitions built (the middle one
 * without large pages) and checked clean: the ground to break.
 */
static void audit_world(uint64_t seed)
{
	struct hv_run *vmcs;
	hpa_t page;

	round_begin("audit breakage", seed);
	world_random(AUDIT_ARENA_MIN, AUDIT_ARENA_MAX);
	/* At least one hypervisor page to leak into a partition, whatever the seed. */
	assert_true(alloc_pages(1, 1, OWNER_HV_VMX, &page));
	vmcs = &world.runs[world.run_count++];
	*vmcs = (struct hv_run){ .base = hpa_addr(page), .pages = 1, .owner = OWNER_HV_VMX };
	for (size_t i = 0; i < 3; i++) {
		uint64_t free_pages = alloc_pages_owned(OWNER_FREE);
		uint64_t pages = random_between(MiB(2) / PAGE_SIZE,
						MAX(MiB(2) / PAGE_SIZE, free_pages / 6));

		world_prepare(i, (unsigned int)(3 * i + 1), pages * PAGE_SIZE);
		world_build_ok(i, i != 1, random_chance(50));
	}
	check_world();
}

/** A plain world (all WB, unfragmented) with three partitions, for 2 MiB leaves. */
static void audit_world_plain(uint64_t seed)
{
	round_begin("audit breakage (plain)", seed);
	world_plain(PLAIN_ARENA, EPT_MT_WB);
	for (size_t i = 0; i < 3; i++) {
		world_prepare(i, (unsigned int)(3 * i + 2), MiB(8) + i * PAGE_SIZE);
		world_build_ok(i, i != 1, true);
	}
	check_world();
}

/**
 * Asserts the audit of the world counts a problem, logs a line naming p and
 * the guest-physical address gpa, and finds nothing wrong with the others.
 */
static void assert_audit_flags(const struct partition *p, uint64_t gpa)
{
	struct audit_result result;
	char where[48];

	capture_clear();
	result = audit_isolation(world.parts, world.part_count, &world.mtrr);
	assert_true(result.problems > 0);
	snprintf(where, sizeof(where), "gpa %#llx", (unsigned long long)gpa);
	assert_true(captured_line_has("isolation audit", quoted_name(p->config), where));
	for (size_t i = 0; i < world.part_count; i++) {
		if (&world.parts[i] != p && is_built(i)) {
			assert_int_equal(audit_isolation(&world.parts[i], 1, &world.mtrr).problems, 0);
			assert_false(captured_line_has(quoted_name(&world.configs[i]), "", NULL));
		}
	}
}

/** Maps host frame into p's EPT at hole gpa, with the frame's MTRR type. */
static void map_extra(struct partition *p, uint64_t gpa, uint64_t frame)
{
	assert_true(ept_map_range(&p->ept, gpa_init(gpa), hpa_init(frame), PAGE_SIZE, EPT_RWX,
				  mtrr_type_of_page(&world.mtrr, frame)));
}

/** A page of the world's hypervisor runs still owned (the first one). */
static uint64_t some_hypervisor_frame(void)
{
	for (size_t i = 0; i < world.run_count; i++) {
		if (!world.runs[i].freed && owner_is_hypervisor(world.runs[i].owner)) {
			return world.runs[i].base + (world.runs[i].pages - 1) * PAGE_SIZE;
		}
	}
	fail_msg("no hypervisor run left");
	return 0;
}

/** A free page of the world. */
static uint64_t some_free_frame(void)
{
	hpa_t base;
	uint64_t pages;
	owner_t owner;

	for (size_t i = 0; alloc_extent_at(i, &base, &pages, &owner); i++) {
		if (owner == OWNER_FREE) {
			return hpa_addr(base) + (pages - 1) * PAGE_SIZE;
		}
	}
	fail_msg("no free page left");
	return 0;
}

/** Runs breakage on partition slot `victim` of AUDIT_SEEDS random worlds. */
static void run_breakage(void (*breakage)(size_t victim), uint64_t base_seed)
{
	for (unsigned int i = 0; i < round_count(AUDIT_SEEDS); i++) {
		audit_world(round_seed(base_seed, i));
		breakage(random_next() % 3);
		round_end();
	}
}

/** Breakage: a hypervisor page (one of the world's, then the EPT's own PML4) in a hole. */
static void break_hypervisor_frame(size_t victim)
{
	struct partition *p = &world.parts[victim];

	map_extra(p, LAYOUT_LOW_RAM_END, some_hypervisor_frame());
	assert_audit_flags(p, LAYOUT_LOW_RAM_END);
	map_extra(p, LAYOUT_MMIO_HOLE_BASE, hpa_addr(p->ept.pml4));
	assert_audit_flags(p, LAYOUT_MMIO_HOLE_BASE);
}

/** Breakage: another partition's page mapped into a hole. */
static void break_other_partition_frame(size_t victim)
{
	struct partition *p = &world.parts[victim];
	const struct partition *other = &world.parts[(victim + 1) % 3];
	const struct partition_ram *r = &other->ram[random_next() % other->ram_count];

	map_extra(p, LAYOUT_MMIO_HOLE_BASE + MiB(2), hpa_addr(r->hpa) + r->size - PAGE_SIZE);
	assert_audit_flags(p, LAYOUT_MMIO_HOLE_BASE + MiB(2));
}

/** Breakage: a free page, the foreign partition's... no: a free page, then host memory that is no RAM. */
static void break_free_or_absent_frame(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t above = LAYOUT_ABOVE_4G + p->config->memory_bytes;

	map_extra(p, above, some_free_frame());
	assert_audit_flags(p, above);
	map_extra(p, 0xb8000, FAKE_PHYS_BASE + world.arena_bytes + MiB(2));
	assert_audit_flags(p, 0xb8000);
}

/** Breakage: the partition's own page mapped a second time, in a hole. */
static void break_own_frame_twice(size_t victim)
{
	struct partition *p = &world.parts[victim];

	map_extra(p, LAYOUT_MMIO_HOLE_BASE + PAGE_SIZE, hpa_addr(p->ram[0].hpa));
	assert_audit_flags(p, LAYOUT_MMIO_HOLE_BASE + PAGE_SIZE);
}

/**
 * Breakage: two leaves of the partition's own RAM swap their frames (same
 * owner, same byte count: only their places are wrong). Below 640 KiB every
 * leaf is a 4 KiB page; gpa 0 is left alone.
 */
static void break_swapped_frames(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t pages = LAYOUT_LOW_RAM_END / PAGE_SIZE;
	uint64_t first = random_between(1, pages - 2) * PAGE_SIZE;
	uint64_t second = random_between(first / PAGE_SIZE + 1, pages - 1) * PAGE_SIZE;
	uint64_t start;
	uint64_t *a = leaf_at(p, first, &start);
	uint64_t *b = leaf_at(p, second, &start);
	uint64_t address = *a & T_ADDR;

	*a = (*a & ~T_ADDR) | (*b & T_ADDR);
	*b = (*b & ~T_ADDR) | address;
	assert_audit_flags(p, first);
}

/**
 * Breakage: a page the EPT maps right where the pieces say, but which the
 * ledger has given away since (freed, then maybe taken by the hypervisor or
 * another partition): only the ownership check can see it.
 */
static void break_page_given_away(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t gpa = random_ram_page(p);
	uint64_t start;
	hpa_t frame;
	uint64_t pick = random_between(0, 2);
	owner_t taker = pick == 0 ? OWNER_HV_VMX : OWNER_PARTITION(world.parts[(victim + 1) % 3].id);

	leaf_at(p, gpa, &start);
	assert_true(ept_translate(&p->ept, gpa_init(gpa), &frame, NULL, NULL, NULL));
	alloc_free(frame, 1, OWNER_PARTITION(p->id));
	if (pick < 2) {
		assert_true(alloc_reserve(frame, PAGE_SIZE, taker));
	}
	assert_audit_flags(p, start);
}

/** Breakage: a leaf whose memory type (bits 5:3) is flipped to another valid type. */
static void break_memory_type(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t start;
	uint64_t *leaf = leaf_at(p, random_ram_page(p), &start);
	uint8_t type = (uint8_t)((*leaf & T_MEMTYPE) >> 3);
	uint8_t other = memory_types[(random_next() % 4 + 1 +
				      (type == EPT_MT_WB ? 4 : type == EPT_MT_WP ? 3 :
				       type == EPT_MT_WT ? 2 : type)) % 5];

	assert_int_not_equal(other, type);
	*leaf = (*leaf & ~T_MEMTYPE) | ((uint64_t)other << 3);
	assert_audit_flags(p, start);
}

/** Breakage: a leaf entry cleared, so a page of RAM is left unmapped. */
static void break_unmapped_leaf(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t start;
	uint64_t *leaf = leaf_at(p, random_ram_page(p), &start);

	*leaf = 0;
	assert_audit_flags(p, start);
}

/** Breakage: write access taken from a leaf. */
static void break_leaf_access(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t start;
	uint64_t *leaf = leaf_at(p, random_ram_page(p), &start);

	*leaf &= ~T_WRITE;
	assert_audit_flags(p, start);
}

/** Breakage: execute access taken from the table entry above some 4 KiB leaves. */
static void break_table_access(size_t victim)
{
	struct partition *p = &world.parts[1];   /* built without large pages */
	uint64_t gpa = ALIGN_DOWN(random_ram_page(p), MiB(2));
	int level;
	uint64_t *entry = find_entry(&p->ept, gpa, 1, &level);

	assert_non_null(entry);
	assert_int_equal(level, 1);
	assert_int_equal(*entry & T_PAGE_SIZE, 0);
	*entry &= ~T_EXEC;
	assert_audit_flags(p, gpa);
}

/**
 * Replaces p's EPT by a fresh one mapping all its RAM page by page with the
 * MTRR types, except the page at skip; returns the original EPT.
 */
static struct ept rebuild_ept_without(struct partition *p, uint64_t skip)
{
	struct ept original = p->ept;

	assert_true(ept_init(&p->ept, original.allow_2m, original.allow_1g));
	for (size_t i = 0; i < p->ram_count; i++) {
		for (uint64_t off = 0; off < p->ram[i].size; off += PAGE_SIZE) {
			uint64_t gpa = gpa_addr(p->ram[i].gpa) + off;
			uint64_t frame = hpa_addr(p->ram[i].hpa) + off;

			if (gpa != skip) {
				map_extra(p, gpa, frame);
			}
		}
	}
	return original;
}

/** Breakage: a fresh EPT for the partition that skips one page of its RAM. */
static void break_fresh_ept_skips_page(size_t victim)
{
	struct partition *p = &world.parts[victim];
	uint64_t skip = random_ram_page(p);
	struct ept original = rebuild_ept_without(p, skip);

	assert_audit_flags(p, skip);
	ept_destroy(&p->ept);
	p->ept = original;
}

/** The first 2 MiB leaf of p's EPT at or above 2 MiB; *start gets its gpa. NULL if none. */
static uint64_t *first_2m_leaf(const struct partition *p, uint64_t *start)
{
	for (uint64_t gpa = MiB(2); gpa < p->config->memory_bytes; gpa += MiB(2)) {
		int level;
		uint64_t *entry = find_entry(&p->ept, gpa, 0, &level);

		if (entry != NULL && level == 1) {
			*start = gpa;
			return entry;
		}
	}
	return NULL;
}

/** Breakage (plain world): a 2 MiB leaf across which the MTRRs now change type. */
static void break_large_leaf_across_types(size_t victim)
{
	struct partition *p = &world.parts[victim == 1 ? 0 : victim];
	uint64_t start;
	uint64_t *leaf = first_2m_leaf(p, &start);

	if (leaf == NULL) {
		/* The last one built may have found no 2 MiB-aligned room; the first always does. */
		p = &world.parts[0];
		leaf = first_2m_leaf(p, &start);
	}
	assert_non_null(leaf);
	mtrr_add(&world.mtrr, (*leaf & T_ADDR) + MiB(1), PAGE_SIZE, EPT_MT_UC, true);
	assert_audit_flags(p, start);
}

/** The audit flags a hypervisor page mapped into a partition. */
static void test_audit_flags_hypervisor_frame(void **state)
{
	run_breakage(break_hypervisor_frame, 0xa0d17001);
}

/** The audit flags another partition's page mapped into a partition. */
static void test_audit_flags_other_partition_frame(void **state)
{
	run_breakage(break_other_partition_frame, 0xa0d17002);
}

/** The audit flags a free page, and memory that is no RAM, mapped into a partition. */
static void test_audit_flags_free_and_absent_frames(void **state)
{
	run_breakage(break_free_or_absent_frame, 0xa0d17003);
}

/** The audit flags the partition's own page mapped where its pieces do not say. */
static void test_audit_flags_own_frame_twice(void **state)
{
	run_breakage(break_own_frame_twice, 0xa0d17004);
}

/** The audit flags two leaves that swapped frames (same bytes, same owner). */
static void test_audit_flags_swapped_frames(void **state)
{
	run_breakage(break_swapped_frames, 0xa0d17005);
}

/** The audit flags a mapped page the ledger no longer gives the partition. */
static void test_audit_flags_page_given_away(void **state)
{
	run_breakage(break_page_given_away, 0xa0d1700c);
}

/** The audit flags a leaf with a wrong memory type. */
static void test_audit_flags_wrong_memory_type(void **state)
{
	run_breakage(break_memory_type, 0xa0d17006);
}

/** The audit flags a 2 MiB leaf whose frames no longer have one memory type. */
static void test_audit_flags_large_leaf_across_types(void **state)
{
	for (unsigned int i = 0; i < round_count(AUDIT_SEEDS); i++) {
		audit_world_plain(round_seed(0xa0d17007, i));
		break_large_leaf_across_types(random_next() % 3);
		round_end();
	}
}

/** The audit flags a page of RAM left unmapped (leaf cleared), naming it. */
static void test_audit_flags_unmapped_leaf(void **state)
{
	run_breakage(break_unmapped_leaf, 0xa0d17008);
}

/** The audit flags a fresh EPT that skips one page of RAM, naming it. */
static void test_audit_flags_fresh_ept_missing_page(void **state)
{
	run_breakage(break_fresh_ept_skips_page, 0xa0d17009);
}

/** The audit flags a leaf with reduced access rights. */
static void test_audit_flags_reduced_leaf_access(void **state)
{
	run_breakage(break_leaf_access, 0xa0d1700a);
}

/** The audit flags leaves whose rights a table entry above them reduces. */
static void test_audit_flags_reduced_table_access(void **state)
{
	run_breakage(break_table_access, 0xa0d1700b);
}

/* ------------------------------------------------------------------------ */

/** Captures the console; fake_ept_flush_count and the counters start afresh. */
static int setup(void **state)
{
	round_report_unfinished();
	capture_clear();
	console_set_sink(CONSOLE_SINK_SERIAL, capture_sink, NULL);
	console_set_sink(CONSOLE_SINK_FIRMWARE, NULL, NULL);
	memset(&seen, 0, sizeof(seen));
	return 0;
}

/** Reports the seed of a failed round, removes the sink, drops the arena. */
static int teardown(void **state)
{
	round_report_unfinished();
	console_set_sink(CONSOLE_SINK_SERIAL, NULL, NULL);
	fake_phys_fini();
	return 0;
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

/** Runs the partition memory and audit tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_random_worlds),
		TEST(test_refusal_more_than_free),
		TEST(test_refusal_tables_do_not_fit),
		TEST(test_refusal_logs_free_memory_before_the_build),
		TEST(test_refusal_sizes_do_not_contradict),
		TEST(test_refusal_too_fragmented),
		TEST(test_unfragmented_build_is_ideal),
		TEST(test_no_large_pages),
		TEST(test_memory_types_follow_mtrrs),
		TEST(test_memory_types_disabled_mtrrs),
		TEST(test_release_scrubs_and_flushes),
		TEST(test_copies_on_handmade_pieces),
		TEST(test_contiguous_bytes_on_handmade_pieces),
		TEST(test_audit_flags_hypervisor_frame),
		TEST(test_audit_flags_other_partition_frame),
		TEST(test_audit_flags_free_and_absent_frames),
		TEST(test_audit_flags_own_frame_twice),
		TEST(test_audit_flags_swapped_frames),
		TEST(test_audit_flags_page_given_away),
		TEST(test_audit_flags_wrong_memory_type),
		TEST(test_audit_flags_large_leaf_across_types),
		TEST(test_audit_flags_unmapped_leaf),
		TEST(test_audit_flags_fresh_ept_missing_page),
		TEST(test_audit_flags_reduced_leaf_access),
		TEST(test_audit_flags_reduced_table_access),
	};

	atexit(round_report_unfinished);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
