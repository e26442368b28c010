/*
 * The vCPU scheduler: each CPU runs its runnable vCPUs round-robin, a time
 * slice (the VMX-preemption timer) at a time.
 */
#ifndef TESSERA_HV_SCHED_H
#define TESSERA_HV_SCHED_H

#include "hv/types.h"

/* A time slice, in TSC ticks: also the VMX-preemption timer's bound. */
#define SCHED_SLICE_TSC 4000000ULL

/** Runs vCPUs on this CPU forever. */
NORETURN void sched_run(void);

#endif /* TESSERA_HV_SCHED_H */
