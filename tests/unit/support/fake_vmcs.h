/*
 * Host stand-ins for the hardware below the exit handlers: a fake current
 * VMCS, a fixed VMX configuration and a local APIC that counts EOIs.
 */
#ifndef TESSERA_TESTS_UNIT_SUPPORT_FAKE_VMCS_H
#define TESSERA_TESTS_UNIT_SUPPORT_FAKE_VMCS_H

#include "arch/x86/vmcs.h"
#include "arch/x86/vmx_caps.h"
#include "hv/exit.h"

/** Clears every field of the fake VMCS. */
void fake_vmcs_reset(void);

/** The configuration vmx_get_config() returns; tests may change it. */
extern struct vmx_config fake_vmx_config;

/** EOIs signalled so far. */
extern unsigned int fake_lapic_eoi_count;

/** NMIs handed to the host so far. */
extern unsigned int fake_host_nmi_count;

/** EPT invalidations (INVEPT) so far. */
extern unsigned int fake_ept_flush_count;

/** The XCR0 last loaded through fpu_load_xcr0(). */
extern uint64_t fake_xcr0;

/** partition_restart() calls so far. */
extern unsigned int fake_restart_count;
/* The fake scheduler (fake_vmx.c): what a passed deadline answers, and how many passed. */
extern enum exit_result fake_deadline_result;
extern unsigned int fake_deadline_count;

#endif /* TESSERA_TESTS_UNIT_SUPPORT_FAKE_VMCS_H */
