/*
 * Memory as the running vCPU sees it: linear addresses through the guest's
 * own page tables, then its RAM.
 */
#ifndef TESSERA_HV_GUEST_MEMORY_H
#define TESSERA_HV_GUEST_MEMORY_H

#include "hv/guest_paging.h"
#include "hv/partition.h"

/** The vCPU's paging registers from the current VMCS (CR3 and CR4 only with CR0.PG = 1). */
void vcpu_paging_mode(struct guest_paging_mode *mode);

/* EFLAGS.AC (SDM Vol. 1, 3.4.3): lets SMAP admit supervisor data accesses. */
#define GUEST_RFLAGS_AC (1ULL << 18)

/**
 * The walker's access flags for an explicit data access made at privilege
 * level @cpl with @rflags (user at CPL 3, else EFLAGS.AC for SMAP). Inline:
 * the interpreter asks for every operand.
 */
static inline unsigned int guest_data_access(bool write, unsigned int cpl, uint64_t rflags)
{
	unsigned int flags = write ? ACCESS_WRITE : ACCESS_READ;

	if (cpl == 3) {
		flags |= ACCESS_USER;
	} else if (rflags & GUEST_RFLAGS_AC) {
		flags |= ACCESS_AC;
	}
	return flags;
}

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

/**
 * As vcpu_access_linear(), with the paging registers and the access flags
 * (guest_data_access(); the kind says read or write) the caller already has.
 */
bool guest_access_linear(struct vcpu *vcpu, const struct guest_paging_mode *mode,
			 unsigned int access_flags, uint64_t linear, void *buf, unsigned int size,
			 bool *not_ram);

#endif /* TESSERA_HV_GUEST_MEMORY_H */
