/*
 * VMX operation on one CPU and the VMCS of each vCPU.
 */
#ifndef TESSERA_ARCH_X86_VMX_H
#define TESSERA_ARCH_X86_VMX_H

#include "arch/x86/vmx_caps.h"
#include "hv/partition.h"
#include "hv/percpu.h"

/** Reads every capability MSR of this CPU. */
void vmx_read_cap_msrs(struct vmx_cap_msrs *caps);

/** NULL when this CPU can run Tessera; otherwise the reason, for the refusal line. */
const char *vmx_probe(void);

/** Enables VMX on this CPU (feature control, CR0/CR4, VMXON). */
bool vmx_cpu_enable(struct percpu *cpu);

/** The configuration every VMCS is built with (valid after vmx_cpu_enable). */
const struct vmx_config *vmx_get_config(void);

/** The CR0 the CPU runs a guest with that sees @visible (VMX fixed bits applied). */
uint64_t vmx_guest_cr0(uint64_t visible);

/** The CR4 the CPU runs a guest with that sees @visible (VMX fixed bits applied). */
uint64_t vmx_guest_cr4(uint64_t visible);

/** CR4 bits a guest may set: what the CPU allows in VMX operation, less VMX/SMX. */
uint64_t vmx_guest_cr4_allowed(void);

/** Allocates and fills a vCPU's VMCS for its first entry at @entry. */
bool vmx_vcpu_create(struct vcpu *vcpu, uint64_t entry);

/** Makes the vCPU's VMCS current on this CPU (VMPTRLD when it is not). */
bool vmx_vcpu_load(struct vcpu *vcpu);

/** Arms the VMX-preemption timer to expire @tsc_ticks from the next entry. */
void vmx_arm_preemption_timer(uint64_t tsc_ticks);

/**
 * Takes @tsc_ticks that passed in VMX root operation off the saved
 * VMX-preemption timer value, which counts only while the guest runs.
 * Without "save VMX-preemption timer value" every entry re-arms it anyway.
 */
void vmx_preemption_timer_stood_still(uint64_t tsc_ticks);

/** Releases the VMCS of a vCPU. */
void vmx_vcpu_destroy(struct vcpu *vcpu);

/** Makes the vCPU's VMCS current on this CPU and enters the guest. */
enum vmx_enter_result vmx_vcpu_run(struct vcpu *vcpu);

/** Makes this CPU hold @next's guest context the VMCS does not switch (MSRs, FPU). */
void vmx_switch_guest_context(struct percpu *cpu, struct vcpu *next);

/** Sets the guest CR2 of @vcpu (live in the CPU when the vCPU's context is loaded). */
void vmx_set_guest_cr2(struct vcpu *vcpu, uint64_t value);

/** Text for a VM-instruction error number (SDM 31.4). */
const char *vmx_instruction_error_name(uint32_t error);

#endif /* TESSERA_ARCH_X86_VMX_H */
