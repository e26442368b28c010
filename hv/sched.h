/*
 * The vCPU scheduler: each CPU runs its runnable vCPUs round-robin, a time
 * slice at a time. One deadline drives everything a running guest must not
 * delay: the end of its slice, the operator's console tick and its virtual
 * timers; the VMX-preemption timer is armed for the nearest of them.
 */
#ifndef TESSERA_HV_SCHED_H
#define TESSERA_HV_SCHED_H

#include "hv/exit.h"

/** TSC ticks per second, measured or reported at boot. */
extern uint64_t tsc_hz;

/** TSC ticks per millisecond (at least 1, however slow the clock). */
static inline uint64_t tsc_ticks_per_ms(void)
{
	return tsc_hz >= 1000 ? tsc_hz / 1000 : 1;
}

/* Time slices and the console tick, as fractions of a second. */
#define SCHED_SLICES_PER_SECOND 100
#define SCHED_TICKS_PER_SECOND  1000
/* While the console is idle: a keystroke is still echoed within 4 ms. */
#define SCHED_IDLE_TICKS_PER_SECOND 250

/** Sets the clock the scheduler's time slices are measured in. */
void sched_init(uint64_t tsc_ticks_per_second);

/**
 * The nearest deadline of the running vCPU (slice end, console tick, its
 * virtual timers), in TSC ticks; the exit path arms the preemption timer
 * for it before the next entry.
 */
uint64_t sched_next_deadline(const struct vcpu *vcpu);

/**
 * A deadline passed while @vcpu ran: serves the console and the vCPU's
 * timers. EXIT_RESUME while its slice lasts, EXIT_RESCHEDULE when it is
 * over, EXIT_STOPPED when a console command stopped or rebuilt the
 * partition meanwhile (its VMCS must not be touched again).
 */
enum exit_result sched_deadline_passed(struct vcpu *vcpu);

/** Runs vCPUs on this CPU forever. */
NORETURN void sched_run(void);

#endif /* TESSERA_HV_SCHED_H */
