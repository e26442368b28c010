/*
 * The answers the exit fast path serves (arch/x86/exit_fast.h): the full
 * path stores an answer after computing it, and whatever an answer depends
 * on forgets it when it changes.
 */
#ifndef TESSERA_HV_EXIT_CACHE_H
#define TESSERA_HV_EXIT_CACHE_H

#include "hv/partition.h"

/** The registers an answer writes, zero-extended: EXIT_CACHE_OUT_* and their values. */
struct exit_answer {
	uint32_t outputs;
	uint32_t eax, ebx, ecx, edx;
};

/**
 * Remembers @answer for exits of basic @reason with @key and @subkey (see
 * struct exit_cache_entry), evicting what shared its slot.
 */
void exit_cache_store(struct vcpu *vcpu, uint32_t reason, uint32_t key, uint32_t subkey,
		      const struct exit_answer *answer);

/**
 * A device of the partition changed in a way a guest may see through a port
 * read (an OUT, string I/O, an IN with side effects, operator input): every
 * vCPU forgets its remembered port reads.
 */
void partition_devices_changed(struct partition *p);

/** Forgets every answer for exits of basic @reason. */
void exit_cache_forget(struct vcpu *vcpu, uint32_t reason);

#endif /* TESSERA_HV_EXIT_CACHE_H */
