/*
 * The host's hv/phys.h: host-physical memory is an mmap'd arena.
 */
#include <string.h>
#include <sys/mman.h>

#include "hv/alloc.h"
#include "hv/check.h"
#include "hv/phys.h"
#include "tests/unit/support/fake_phys.h"

static uint8_t *fake_phys_arena;
static uint64_t fake_phys_arena_size;

/** (Re)creates the arena with size bytes (a multiple of PAGE_SIZE), poisoned. */
void fake_phys_init(uint64_t size)
{
	void *arena;

	CHECK(size > 0 && IS_ALIGNED(size, PAGE_SIZE));
	fake_phys_fini();
	arena = mmap(NULL, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	CHECK(arena != MAP_FAILED);
	memset(arena, FAKE_PHYS_POISON, size);
	fake_phys_arena = arena;
	fake_phys_arena_size = size;
}

/** Releases the arena; hpa_to_ptr() fails until the next fake_phys_init(). */
void fake_phys_fini(void)
{
	if (fake_phys_arena != NULL) {
		CHECK(munmap(fake_phys_arena, fake_phys_arena_size) == 0);
	}
	fake_phys_arena = NULL;
	fake_phys_arena_size = 0;
}

/** Size of the current arena in bytes (0 when there is none). */
uint64_t fake_phys_size(void)
{
	return fake_phys_arena_size;
}

/** Whether [hpa, hpa + size) lies entirely within the arena. */
bool fake_phys_contains(hpa_t hpa, uint64_t size)
{
	uint64_t addr = hpa_addr(hpa);

	return fake_phys_arena != NULL && addr >= FAKE_PHYS_BASE &&
	       addr - FAKE_PHYS_BASE <= fake_phys_arena_size &&
	       size <= fake_phys_arena_size - (addr - FAKE_PHYS_BASE);
}

/** Creates the arena and gives all of it to an empty page allocator. */
void fake_phys_init_with_allocator(uint64_t size)
{
	fake_phys_init(size);
	alloc_init();
	CHECK(alloc_add_free(hpa_init(FAKE_PHYS_BASE), size));
}

/** The arena byte standing for host-physical address hpa. */
void *hpa_to_ptr(hpa_t hpa)
{
	/* A 1-byte range: the address itself must be inside the arena. */
	CHECK(fake_phys_contains(hpa, 1));
	return fake_phys_arena + (hpa_addr(hpa) - FAKE_PHYS_BASE);
}

/** The host-physical address an arena byte stands for. */
hpa_t ptr_to_hpa(const void *ptr)
{
	const uint8_t *byte = ptr;

	CHECK(fake_phys_arena != NULL && byte >= fake_phys_arena &&
	      byte < fake_phys_arena + fake_phys_arena_size);
	return hpa_init(FAKE_PHYS_BASE + (uint64_t)(byte - fake_phys_arena));
}
