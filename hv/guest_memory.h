/*
 * Memory as the running vCPU sees it: linear addresses through the guest's
 * own page tables, then its RAM.
 */
#ifndef TESSERA_HV_GUEST_MEMORY_H
#define TESSERA_HV_GUEST_MEMORY_H

#include "hv/guest_paging.h"
#include "hv/partition.h"

/** The vCPU's paging registers from the current VMCS. */
void vcpu_paging_mode(struct guest_paging_mode *mode);

/** The walker's access flags for an explicit data access at the vCPU's CPL (user, AC). */
unsigned int vcpu_data_access(bool write);

/** guest_phys_read_fn over a partition's RAM (ctx is the partition). */
bool partition_phys_read(void *ctx, gpa_t gpa, void *buf, unsigned int size);

/**
 * Reads (write = false) or writes @size bytes at @linear for the current
 * vCPU, byte ranges split at page boundaries as the CPU does. On a fault it
 * injects #PF (with CR2) or #GP(0) and returns false; memory that is not the
 * partition's RAM also returns false, with *not_ram set.
 */
bool vcpu_access_linear(struct vcpu *vcpu, uint64_t linear, void *buf, unsigned int size,
			bool write, bool *not_ram);

#endif /* TESSERA_HV_GUEST_MEMORY_H */
