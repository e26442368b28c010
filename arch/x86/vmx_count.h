/*
 * Counting VMREADs and VMWRITEs per VM exit, for make bench's counting build
 * (-DTESSERA_COUNT_VMX, built apart in build/count/). Every VMREAD and
 * VMWRITE, in C (vmx_ops.h) and in the exit stub (vmx_entry.S), adds one to
 * vmx_count_pending; when the guest is entered again the pending count goes
 * to the exit it served, by basic reason and by path (fast or full). In the
 * normal build all of this compiles to nothing.
 */
#ifndef TESSERA_ARCH_X86_VMX_COUNT_H
#define TESSERA_ARCH_X86_VMX_COUNT_H

#include "hv/types.h"

#ifdef TESSERA_COUNT_VMX
extern uint64_t vmx_count_pending;

/** One VMREAD or VMWRITE. */
static inline void vmx_count_access(void)
{
	vmx_count_pending++;
}

/** The exit the full path is serving (hv/dispatch.c). */
void vmx_count_exit(uint32_t reason);

/** Before an entry from the full path: what was counted goes to that exit. */
void vmx_count_entry(void);

/** Logs the counts by reason and path ("bench: vmx_accesses ..."). */
void vmx_count_report(void);
#else
static inline void vmx_count_access(void)
{
}

static inline void vmx_count_exit(uint32_t reason)
{
	UNUSED(reason);
}

static inline void vmx_count_entry(void)
{
}

static inline void vmx_count_report(void)
{
}
#endif

#endif /* TESSERA_ARCH_X86_VMX_COUNT_H */
