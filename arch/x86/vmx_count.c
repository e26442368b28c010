/*
 * The counting build's tallies (see vmx_count.h). The fast path adds to
 * vmx_count_fast_* itself, in vmx_entry.S.
 */
#include "arch/x86/vmx_count.h"

#ifdef TESSERA_COUNT_VMX
#include "arch/x86/exit_reasons.h"
#include "hv/log.h"

#define NO_EXIT UINT32_MAX

uint64_t vmx_count_pending;
uint64_t vmx_count_fast_exits[EXIT_REASON_COUNT];
uint64_t vmx_count_fast_accesses[EXIT_REASON_COUNT];
static uint64_t vmx_count_full_exits[EXIT_REASON_COUNT];
static uint64_t vmx_count_full_accesses[EXIT_REASON_COUNT];
static uint32_t vmx_count_reason = NO_EXIT;

/** The exit the full path is serving. */
void vmx_count_exit(uint32_t reason)
{
	vmx_count_reason = reason < EXIT_REASON_COUNT ? reason : NO_EXIT;
}

/** Before an entry from the full path: what was counted goes to that exit. */
void vmx_count_entry(void)
{
	if (vmx_count_reason != NO_EXIT) {
		vmx_count_full_exits[vmx_count_reason]++;
		vmx_count_full_accesses[vmx_count_reason] += vmx_count_pending;
	}
	vmx_count_reason = NO_EXIT;
	vmx_count_pending = 0;
}

/** Logs the counts by reason and path. */
void vmx_count_report(void)
{
	for (uint32_t r = 0; r < EXIT_REASON_COUNT; r++) {
		if (vmx_count_fast_exits[r] != 0) {
			log_info("bench: vmx_accesses reason=%s path=fast exits=%llu accesses=%llu",
				 exit_reason_name(r), (unsigned long long)vmx_count_fast_exits[r],
				 (unsigned long long)vmx_count_fast_accesses[r]);
		}
		if (vmx_count_full_exits[r] != 0) {
			log_info("bench: vmx_accesses reason=%s path=full exits=%llu accesses=%llu",
				 exit_reason_name(r), (unsigned long long)vmx_count_full_exits[r],
				 (unsigned long long)vmx_count_full_accesses[r]);
		}
	}
}
#endif
