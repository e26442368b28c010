/*
 * Fake host-physical memory for the host unit tests.
 *
 * An arena of the test process stands for host-physical addresses
 * [FAKE_PHYS_BASE, FAKE_PHYS_BASE + size). hpa_to_ptr() and ptr_to_hpa()
 * (hv/phys.h) translate within it and CHECK-fail for anything outside, so
 * code under test that reaches for memory it was never given is caught.
 *
 * The base is deliberately not 0 (and above 4 GiB), so that code confusing an
 * offset with an address, or truncating addresses to 32 bits, fails.
 */
#ifndef TESSERA_TESTS_UNIT_SUPPORT_FAKE_PHYS_H
#define TESSERA_TESTS_UNIT_SUPPORT_FAKE_PHYS_H

#include "hv/types.h"

#define FAKE_PHYS_BASE         0x100000000ULL
#define FAKE_PHYS_DEFAULT_SIZE MiB(64)

/* Every byte of a fresh arena holds this, so unzeroed memory shows. */
#define FAKE_PHYS_POISON 0xA5

/** (Re)creates the arena with size bytes (a multiple of PAGE_SIZE), poisoned. */
void fake_phys_init(uint64_t size);

/** Releases the arena; hpa_to_ptr() fails until the next fake_phys_init(). */
void fake_phys_fini(void);

/** Size of the current arena in bytes (0 when there is none). */
uint64_t fake_phys_size(void);

/** Whether [hpa, hpa + size) lies entirely within the arena. */
bool fake_phys_contains(hpa_t hpa, uint64_t size);

/**
 * Creates the arena and hands all of it to a freshly emptied page allocator
 * (hv/alloc.h) as free RAM: the usual setup of a test that allocates.
 */
void fake_phys_init_with_allocator(uint64_t size);

#endif /* TESSERA_TESTS_UNIT_SUPPORT_FAKE_PHYS_H */
