/*
 * Host stand-ins for arch/x86/vmx.c and arch/x86/lapic.c.
 */
#include "tests/unit/support/fake_vmcs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ept.h"
#include "arch/x86/fpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/vmx.h"
#include "hv/partition.h"
#include "hv/sched.h"

struct vmx_config fake_vmx_config = { .has_ack_interrupt_on_exit = true };
unsigned int fake_lapic_eoi_count;
unsigned int fake_host_nmi_count;
unsigned int fake_ept_flush_count;
uint64_t fake_xcr0;
unsigned int fake_restart_count;

/** The configuration every VMCS is built with. */
const struct vmx_config *vmx_get_config(void)
{
	return &fake_vmx_config;
}

/** Counts an end-of-interrupt. */
void lapic_eoi(void)
{
	fake_lapic_eoi_count++;
}

/** Counts an NMI handed to the host. */
void host_deliver_nmi(void)
{
	fake_host_nmi_count++;
}

/** Counts an INVEPT. */
void ept_flush_cached(const struct ept *ept)
{
	fake_ept_flush_count++;
}

/** Host stand-in: NE must be 1, as on every VMX CPU. */
uint64_t vmx_guest_cr0(uint64_t visible)
{
	return visible | CR0_NE;
}

/** Host stand-in: VMXE must be 1 in VMX operation. */
uint64_t vmx_guest_cr4(uint64_t visible)
{
	return visible | CR4_VMXE;
}

/** Host stand-in: the CR4 bits of a Haswell, less VMXE and SMXE. */
uint64_t vmx_guest_cr4_allowed(void)
{
	return 0x1727ffULL & ~(CR4_VMXE | CR4_SMXE);
}

/** Host stand-in: x87, SSE and AVX are what the "CPU" supports. */
bool fpu_xcr0_valid(uint64_t value)
{
	return (value & ~7ULL) == 0 && (value & 1) && (!(value & 4) || (value & 2));
}

/** Host stand-in: remembers the last XCR0 loaded. */
void fpu_load_xcr0(uint64_t value)
{
	fake_xcr0 = value;
}

/** Host stand-in for hv/partition.c: counts restarts and marks the partition running. */
bool partition_restart(struct partition *p)
{
	fake_restart_count++;
	p->restarts++;
	p->state = PARTITION_RUNNING;
	return true;
}

/** Host stand-in: the guest's CR2 is kept in its register file. */
void vmx_set_guest_cr2(struct vcpu *vcpu, uint64_t value)
{
	vcpu->regs.cr2 = value;
}

/* The fake scheduler's clock rate (hv/sched.c measures the real one). */
uint64_t tsc_hz = 1000000000ULL;

/* What the fake scheduler answers when a deadline passes. */
enum exit_result fake_deadline_result = EXIT_RESCHEDULE;
unsigned int fake_deadline_count;

/** Host stand-in for hv/sched.c: counts the deadlines and answers as told. */
enum exit_result sched_deadline_passed(struct vcpu *vcpu)
{
	fake_deadline_count++;
	return fake_deadline_result;
}
