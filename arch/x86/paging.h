/*
 * The hypervisor's own page tables: an identity map of physical memory with
 * W^X — Tessera's text read-execute, everything else no-execute, stack guard
 * pages not mapped at all.
 */
#ifndef TESSERA_ARCH_X86_PAGING_H
#define TESSERA_ARCH_X86_PAGING_H

#include "hv/types.h"

#define PAGING_MAX_GUARDS 16

/** Declares a page that must stay unmapped (a stack guard page). */
bool paging_add_guard_page(hpa_t page);

/** Builds the identity map of [0, phys_limit) and switches CR3 to it. */
bool paging_init(uint64_t phys_limit);

#endif /* TESSERA_ARCH_X86_PAGING_H */
