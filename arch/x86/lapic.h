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

#endif /* TESSERA_ARCH_X86_LAPIC_H */
