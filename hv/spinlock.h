/*
 * Ticket spinlock: fair between CPUs, which matters once every CPU shares the
 * console and the allocator.
 */
#ifndef TESSERA_HV_SPINLOCK_H
#define TESSERA_HV_SPINLOCK_H

#include "hv/types.h"

/** A ticket lock; zero-initialised means unlocked. */
struct spinlock {
	uint32_t next;
	uint32_t owner;
};

#define SPINLOCK_INIT { 0, 0 }

/** Takes the lock, spinning until this caller's ticket comes up. */
static inline void spin_lock(struct spinlock *lock)
{
	uint32_t ticket = __atomic_fetch_add(&lock->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&lock->owner, __ATOMIC_ACQUIRE) != ticket) {
		__builtin_ia32_pause();
	}
}

/** Releases the lock to the next ticket. */
static inline void spin_unlock(struct spinlock *lock)
{
	__atomic_store_n(&lock->owner, lock->owner + 1, __ATOMIC_RELEASE);
}

#endif /* TESSERA_HV_SPINLOCK_H */
