/*
 * The hypervisor's page tables identity-map physical memory, so converting
 * between host-physical addresses and pointers is a cast.
 */
#include "hv/phys.h"

/** The hypervisor's pointer to the byte at host-physical address hpa. */
void *hpa_to_ptr(hpa_t hpa)
{
	return (void *)(uintptr_t)hpa_addr(hpa);
}

/** The host-physical address of the byte the hypervisor's ptr points to. */
hpa_t ptr_to_hpa(const void *ptr)
{
	return hpa_init((uint64_t)(uintptr_t)ptr);
}
