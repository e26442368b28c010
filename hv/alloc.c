/*
 * The page-frame allocator and ownership ledger: see hv/alloc.h.
 *
 * Every change to the ledger is expressed as "replace these extents by those
 * pieces" (ledger_splice), which also merges the pieces with touching
 * neighbours of the same owner. Keeping that one place responsible for the
 * merge invariant is what lets the rest assume that a range with one owner
 * lies within one extent.
 */
#include "hv/alloc.h"
#include "hv/spinlock.h"
#include "hv/check.h"
#include "hv/string.h"

/* Largest page count the ledger can express (ALLOC_ADDRESS_LIMIT in pages). */
#define ALLOC_PAGE_LIMIT (ALLOC_ADDRESS_LIMIT >> PAGE_SHIFT)

/** A run of pages with one owner. */
struct extent {
	/** Page-aligned host-physical address of the first page. */
	uint64_t base;
	/** Number of pages, never 0. */
	uint64_t pages;
	owner_t owner;
};

/** The ledger: extents sorted by base, non-overlapping, merged. */
static struct {
	struct extent extents[ALLOC_MAX_EXTENTS];
	size_t count;
} ledger;

static struct spinlock ledger_lock = SPINLOCK_INIT;

/*
 * Every check below runs with the ledger lock held; it is released before a
 * failure is reported, so that a host test that expects the failure can go
 * on using the ledger (in the hypervisor, a failed check halts anyway).
 */
#define LEDGER_CHECK(c) \
	((c) ? (void)0 : (spin_unlock(&ledger_lock), check_failed(__FILE__, __LINE__, #c)))

/** First address past the extent. */
static uint64_t extent_end(const struct extent *extent)
{
	return extent->base + (extent->pages << PAGE_SHIFT);
}

/** The extent [base, end) owned by owner; both page-aligned. */
static struct extent extent_between(uint64_t base, uint64_t end, owner_t owner)
{
	return (struct extent){ .base = base,
				.pages = (end - base) >> PAGE_SHIFT,
				.owner = owner };
}

/** Whether lower ends exactly where upper starts and both share an owner. */
static bool extents_can_merge(const struct extent *lower,
			      const struct extent *upper)
{
	return extent_end(lower) == upper->base && lower->owner == upper->owner;
}

/** Whether owner may be given pages (free and "nobody" are not owners). */
static bool owner_is_assignable(owner_t owner)
{
	return owner != OWNER_FREE && owner != OWNER_NONE;
}

/** Index of the first extent whose base is above addr (binary search). */
static size_t ledger_upper_bound(uint64_t addr)
{
	size_t low = 0;
	size_t high = ledger.count;

	while (low < high) {
		size_t mid = low + (high - low) / 2;

		if (ledger.extents[mid].base <= addr) {
			low = mid + 1;
		} else {
			high = mid;
		}
	}
	return low;
}

/** Index of the extent containing addr, or ledger.count if there is none. */
static size_t ledger_find(uint64_t addr)
{
	size_t i = ledger_upper_bound(addr);

	if (i > 0 && addr < extent_end(&ledger.extents[i - 1])) {
		return i - 1;
	}
	return ledger.count;
}

/**
 * Replaces the removed extents starting at index first by the n pieces
 * (sorted, covering the same addresses as the removed extents plus, for an
 * insertion, new ones). Touching neighbours with the same owner as the first
 * or last piece are absorbed into it, so the table stays merged; the pieces
 * themselves must not be mergeable with one another. Returns false, changing
 * nothing, if the result would not fit in the table.
 */
static bool ledger_splice(size_t first, size_t removed, struct extent *pieces,
			  size_t n)
{
	size_t low = first;
	size_t high = first + removed;
	size_t new_count;

	if (low > 0 && extents_can_merge(&ledger.extents[low - 1], &pieces[0])) {
		low--;
		pieces[0].pages += ledger.extents[low].pages;
		pieces[0].base = ledger.extents[low].base;
	}
	if (high < ledger.count &&
	    extents_can_merge(&pieces[n - 1], &ledger.extents[high])) {
		pieces[n - 1].pages += ledger.extents[high].pages;
		high++;
	}

	/* Extents [low, high) are replaced by the n pieces. */
	new_count = ledger.count - (high - low) + n;
	if (new_count > ALLOC_MAX_EXTENTS) {
		return false;
	}
	memmove(&ledger.extents[low + n], &ledger.extents[high],
		(ledger.count - high) * sizeof(ledger.extents[0]));
	memcpy(&ledger.extents[low], pieces, n * sizeof(pieces[0]));
	ledger.count = new_count;
	return true;
}

/**
 * Gives the pages [start, end), which lie within extent i, to owner: the
 * extent is split into up to three pieces. Returns false, changing nothing,
 * if the ledger has no room for the split.
 */
static bool ledger_retag(size_t i, uint64_t start, uint64_t end, owner_t owner)
{
	const struct extent old = ledger.extents[i];
	struct extent pieces[3];
	size_t n = 0;

	LEDGER_CHECK(start >= old.base && start < end && end <= extent_end(&old));
	/* The pieces would be unmerged neighbours of one owner. */
	LEDGER_CHECK(owner != old.owner);

	if (start > old.base) {
		pieces[n++] = extent_between(old.base, start, old.owner);
	}
	pieces[n++] = extent_between(start, end, owner);
	if (end < extent_end(&old)) {
		pieces[n++] = extent_between(end, extent_end(&old), old.owner);
	}
	return ledger_splice(i, 1, pieces, n);
}

/** Empties the ledger: it knows no RAM at all. */
void alloc_init(void)
{
	ledger.count = 0;
}

/** alloc_add_free() with the ledger lock held. */
static bool alloc_add_free_locked(hpa_t base, uint64_t size)
{
	uint64_t addr = hpa_addr(base);
	uint64_t start;
	uint64_t end;
	size_t i;
	struct extent piece;

	if (addr >= ALLOC_ADDRESS_LIMIT || size > ALLOC_ADDRESS_LIMIT - addr) {
		return false;
	}
	start = ALIGN_UP(addr, PAGE_SIZE);
	end = ALIGN_DOWN(addr + size, PAGE_SIZE);
	if (end <= start) {
		return true;
	}

	/* The new extent goes before extent i; it must fit in the gap. */
	i = ledger_upper_bound(start);
	if (i > 0 && extent_end(&ledger.extents[i - 1]) > start) {
		return false;
	}
	if (i < ledger.count && ledger.extents[i].base < end) {
		return false;
	}
	piece = extent_between(start, end, OWNER_FREE);
	return ledger_splice(i, 0, &piece, 1);
}

/** Adds usable RAM [base, base + size), shrunk inward to whole pages. */
bool alloc_add_free(hpa_t base, uint64_t size)
{
	bool result;

	spin_lock(&ledger_lock);
	result = alloc_add_free_locked(base, size);
	spin_unlock(&ledger_lock);
	return result;
}

/** alloc_reserve() with the ledger lock held. */
static bool alloc_reserve_locked(hpa_t base, uint64_t size, owner_t owner)
{
	uint64_t addr = hpa_addr(base);
	uint64_t start;
	uint64_t end;
	size_t i;

	LEDGER_CHECK(owner_is_assignable(owner));
	if (size == 0 || addr >= ALLOC_ADDRESS_LIMIT ||
	    size > ALLOC_ADDRESS_LIMIT - addr) {
		return false;
	}
	start = ALIGN_DOWN(addr, PAGE_SIZE);
	end = ALIGN_UP(addr + size, PAGE_SIZE);

	/* Free pages of one range are one extent (the ledger is merged). */
	i = ledger_find(start);
	if (i == ledger.count || ledger.extents[i].owner != OWNER_FREE ||
	    end > extent_end(&ledger.extents[i])) {
		return false;
	}
	return ledger_retag(i, start, end, owner);
}

/** Gives the free range [base, base + size), widened to pages, to owner. */
bool alloc_reserve(hpa_t base, uint64_t size, owner_t owner)
{
	bool result;

	spin_lock(&ledger_lock);
	result = alloc_reserve_locked(base, size, owner);
	spin_unlock(&ledger_lock);
	return result;
}

/** Allocates count contiguous aligned pages, anywhere. */
bool alloc_pages(uint64_t count, uint64_t align_pages, owner_t owner,
		 hpa_t *out)
{
	return alloc_pages_below(count, align_pages,
				 hpa_init(ALLOC_ADDRESS_LIMIT), owner, out);
}

/** alloc_pages_below() with the ledger lock held. */
static bool alloc_pages_below_locked(uint64_t count, uint64_t align_pages, hpa_t limit,
		       owner_t owner, hpa_t *out)
{
	uint64_t limit_addr = MIN(hpa_addr(limit), ALLOC_ADDRESS_LIMIT);
	uint64_t bytes;
	uint64_t align;

	LEDGER_CHECK(owner_is_assignable(owner));
	LEDGER_CHECK(align_pages != 0 && (align_pages & (align_pages - 1)) == 0);
	if (count == 0 || count > ALLOC_PAGE_LIMIT ||
	    align_pages > ALLOC_PAGE_LIMIT) {
		return false;
	}
	bytes = count << PAGE_SHIFT;
	align = align_pages << PAGE_SHIFT;

	/* Extents are sorted, so the first fit is the lowest one. */
	for (size_t i = 0; i < ledger.count; i++) {
		const struct extent *extent = &ledger.extents[i];
		uint64_t start = ALIGN_UP(extent->base, align);
		uint64_t end = MIN(extent_end(extent), limit_addr);

		if (extent->base >= limit_addr) {
			break;
		}
		if (extent->owner != OWNER_FREE || start >= end ||
		    bytes > end - start) {
			continue;
		}
		if (!ledger_retag(i, start, start + bytes, owner)) {
			return false;
		}
		*out = hpa_init(start);
		return true;
	}
	return false;
}

/** Allocates count contiguous aligned pages ending at or below limit. */
bool alloc_pages_below(uint64_t count, uint64_t align_pages, hpa_t limit,
		       owner_t owner, hpa_t *out)
{
	bool result;

	spin_lock(&ledger_lock);
	result = alloc_pages_below_locked(count, align_pages, limit, owner, out);
	spin_unlock(&ledger_lock);
	return result;
}

/** alloc_free() with the ledger lock held. */
static void alloc_free_locked(hpa_t base, uint64_t count, owner_t expected_owner)
{
	uint64_t start = hpa_addr(base);
	size_t i;
	bool freed;

	LEDGER_CHECK(owner_is_assignable(expected_owner));
	LEDGER_CHECK(IS_ALIGNED(start, PAGE_SIZE));
	LEDGER_CHECK(count > 0 && count <= ALLOC_PAGE_LIMIT);

	/* Pages of one owner that touch are one extent (the ledger is merged). */
	i = ledger_find(start);
	LEDGER_CHECK(i < ledger.count);
	LEDGER_CHECK(ledger.extents[i].owner == expected_owner);
	LEDGER_CHECK(count <= (extent_end(&ledger.extents[i]) - start) >> PAGE_SHIFT);

	/*
	 * Freeing from the middle of an extent splits it in three; if the
	 * ledger is full the free cannot be recorded and the pages would leak
	 * silently, so that is fatal too.
	 */
	freed = ledger_retag(i, start, start + (count << PAGE_SHIFT), OWNER_FREE);
	LEDGER_CHECK(freed);
}

/** Returns count pages at base, CHECKing they belong to expected_owner. */
void alloc_free(hpa_t base, uint64_t count, owner_t expected_owner)
{
	spin_lock(&ledger_lock);
	alloc_free_locked(base, count, expected_owner);
	spin_unlock(&ledger_lock);
}

/** The one owner of a whole range of pages, or OWNER_NONE. */
owner_t alloc_range_owner(hpa_t base, uint64_t pages)
{
	size_t i;
	owner_t owner = OWNER_NONE;

	spin_lock(&ledger_lock);
	i = ledger_find(hpa_addr(base));
	/* Merged extents: a range with one owner lies within one extent. */
	if (i < ledger.count && pages <= ledger.extents[i].pages &&
	    hpa_addr(base) + (pages << PAGE_SHIFT) <= extent_end(&ledger.extents[i])) {
		owner = ledger.extents[i].owner;
	}
	spin_unlock(&ledger_lock);
	return owner;
}

/** What a hypervisor owner keeps, for the ledger; NULL otherwise. */
const char *owner_hypervisor_name(owner_t owner)
{
	static const char *const names[] = {
		[OWNER_HYPERVISOR] = "per-CPU data and stacks",
		[OWNER_HV_IMAGE] = "Tessera's image",
		[OWNER_HV_PAGE_TABLES] = "page tables",
		[OWNER_HV_VMX] = "VMX structures",
		[OWNER_HV_EPT] = "EPT tables",
		[OWNER_HV_BOOT_FILES] = "boot images",
		[OWNER_HV_CONSOLE] = "console buffers",
	};

	return owner < ARRAY_SIZE(names) ? names[owner] : NULL;
}

/** alloc_owner_of() with the ledger lock held. */
static owner_t alloc_owner_of_locked(hpa_t page)
{
	size_t i = ledger_find(hpa_addr(page));

	return i < ledger.count ? ledger.extents[i].owner : OWNER_NONE;
}

/** Owner of the page containing page; OWNER_NONE if it is not known RAM. */
owner_t alloc_owner_of(hpa_t page)
{
	owner_t result;

	spin_lock(&ledger_lock);
	result = alloc_owner_of_locked(page);
	spin_unlock(&ledger_lock);
	return result;
}

/** alloc_pages_owned() with the ledger lock held. */
static uint64_t alloc_pages_owned_locked(owner_t owner)
{
	uint64_t pages = 0;

	for (size_t i = 0; i < ledger.count; i++) {
		if (ledger.extents[i].owner == owner) {
			pages += ledger.extents[i].pages;
		}
	}
	return pages;
}

/** Number of pages owner holds. */
uint64_t alloc_pages_owned(owner_t owner)
{
	uint64_t result;

	spin_lock(&ledger_lock);
	result = alloc_pages_owned_locked(owner);
	spin_unlock(&ledger_lock);
	return result;
}

/** Number of extents in the ledger. */
size_t alloc_extent_count(void)
{
	return ledger.count;
}

/** alloc_extent_at() with the ledger lock held. */
static bool alloc_extent_at_locked(size_t i, hpa_t *base, uint64_t *pages, owner_t *owner)
{
	if (i >= ledger.count) {
		return false;
	}
	*base = hpa_init(ledger.extents[i].base);
	*pages = ledger.extents[i].pages;
	*owner = ledger.extents[i].owner;
	return true;
}

/** Extent i in address order; false when i is out of range. */
bool alloc_extent_at(size_t i, hpa_t *base, uint64_t *pages, owner_t *owner)
{
	bool result;

	spin_lock(&ledger_lock);
	result = alloc_extent_at_locked(i, base, pages, owner);
	spin_unlock(&ledger_lock);
	return result;
}
