/*
 * The exit fast path's answers (arch/x86/exit_fast.h). An entry's hits are
 * added to the vCPU's counters when the entry goes, so statistics count
 * every exit whichever path served it.
 */
#include "hv/exit_cache.h"
#include "hv/check.h"

/** Moves an entry's hits into the vCPU's counters and empties it. */
static void exit_cache_retire(struct vcpu *vcpu, struct exit_cache_entry *e)
{
	if (e->reason != 0 && e->reason < EXIT_REASON_COUNT) {
		vcpu->exits_by_reason[e->reason] += e->hits;
		vcpu->fast_exits_retired += e->hits;
	}
	*e = (struct exit_cache_entry){ 0 };
}

/** Remembers an answer; see exit_cache.h. */
void exit_cache_store(struct vcpu *vcpu, uint32_t reason, uint32_t key, uint32_t subkey,
		      const struct exit_answer *answer)
{
	struct exit_cache_entry *e = &vcpu->fast.cache[exit_cache_slot(reason, key, subkey)];
	const uint32_t all = EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EBX | EXIT_CACHE_OUT_ECX |
			     EXIT_CACHE_OUT_EDX;

	/* The fast path writes a fixed set per reason (arch/x86/exit_fast.h). */
	CHECK((reason == EXIT_REASON_CPUID && answer->outputs == all) ||
	      (reason == EXIT_REASON_RDMSR && subkey == 0 &&
	       answer->outputs == (EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EDX)) ||
	      (reason == EXIT_REASON_VMCALL && subkey == 0 &&
	       (answer->outputs == (EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EBX) ||
		answer->outputs == all)) ||
	      (reason == EXIT_REASON_IO_INSTRUCTION && subkey == 0 &&
	       (answer->outputs == EXIT_CACHE_OUT_AL || answer->outputs == EXIT_CACHE_OUT_AX ||
		answer->outputs == EXIT_CACHE_OUT_EAX)));
	exit_cache_retire(vcpu, e);
	e->reason = reason;
	e->key = key;
	e->subkey = subkey;
	e->outputs = answer->outputs;
	e->eax = answer->eax;
	e->ebx = answer->ebx;
	e->ecx = answer->ecx;
	e->edx = answer->edx;
}

/** A device of the partition changed: every vCPU forgets its remembered port reads. */
void partition_devices_changed(struct partition *p)
{
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		exit_cache_forget(&p->vcpus[i], EXIT_REASON_IO_INSTRUCTION);
	}
}

/** Forgets every answer for exits of @reason. */
void exit_cache_forget(struct vcpu *vcpu, uint32_t reason)
{
	for (unsigned int i = 0; i < EXIT_CACHE_ENTRIES; i++) {
		if (vcpu->fast.cache[i].reason == reason) {
			exit_cache_retire(vcpu, &vcpu->fast.cache[i]);
		}
	}
}
