/*
 * Events for a vCPU: its local APIC, the interrupts and NMIs it has pending,
 * and their injection at VM entry (SDM Vol. 3C, 27.6 "Event Injection",
 * 25.2 "Other Causes of VM Exits": interrupt- and NMI-window exiting).
 */
#ifndef TESSERA_HV_VCPU_EVENTS_H
#define TESSERA_HV_VCPU_EVENTS_H

#include "hv/partition.h"

/** Gives a new vCPU its local APIC in RESET state (after vmx_vcpu_create). */
void vcpu_events_init(struct vcpu *vcpu);

/**
 * Before an entry: injects the most urgent deliverable event (NMI, then the
 * highest-priority interrupt) unless one is already being injected, and
 * asks for an interrupt- or NMI-window exit for whatever must wait.
 */
void vcpu_events_prepare(struct vcpu *vcpu);

/** Runs the vCPU's virtual timers up to host TSC @now. */
void vcpu_events_update_timers(struct vcpu *vcpu, uint64_t now);

/** Host TSC of the vCPU's next timer expiry, or UINT64_MAX. */
uint64_t vcpu_events_next_deadline(const struct vcpu *vcpu);

/** True when a halted vCPU has something to wake for at host TSC @now. */
bool vcpu_events_wakes(struct vcpu *vcpu, uint64_t now);

/** Something about the vCPU's interrupts changed: look again before the next entry. */
static inline void vcpu_events_changed(struct vcpu *vcpu)
{
	vcpu->fast.entry_work |= VCPU_WORK_EVENTS | VCPU_WORK_TIMER;
}

#endif /* TESSERA_HV_VCPU_EVENTS_H */
