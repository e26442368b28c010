/*
 * From host-physical addresses to pointers and back.
 *
 * After ExitBootServices the hypervisor owns physical memory and its own page
 * tables identity-map it, so on the machine an hpa_t is directly a pointer
 * (arch/x86/phys.c). The host unit tests have no such luxury: there an arena
 * stands for a window of host-physical memory (tests/unit/support/fake_phys.c).
 * Code that must reach memory by its physical address (page tables, VMCS,
 * guest images) goes through these two functions and nothing else.
 */
#ifndef TESSERA_HV_PHYS_H
#define TESSERA_HV_PHYS_H

#include "hv/types.h"

/** The hypervisor's pointer to the byte at host-physical address hpa. */
void *hpa_to_ptr(hpa_t hpa);

/** The host-physical address of the byte the hypervisor's ptr points to. */
hpa_t ptr_to_hpa(const void *ptr);

#endif /* TESSERA_HV_PHYS_H */
