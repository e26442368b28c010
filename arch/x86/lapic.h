/*
 * The host's local APIC, only as far as root mode needs it: silence the
 * firmware's interrupt sources at hand-off and acknowledge interrupts.
 */
#ifndef TESSERA_ARCH_X86_LAPIC_H
#define TESSERA_ARCH_X86_LAPIC_H

/** Masks the local APIC's LVT entries and the legacy PICs. */
void lapic_quiesce(void);

/** Signals end-of-interrupt to the local APIC. */
void lapic_eoi(void);

/** Runs the host's NMI handler for an NMI that caused a VM exit. */
void host_deliver_nmi(void);

#endif /* TESSERA_ARCH_X86_LAPIC_H */
