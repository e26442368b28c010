/*
 * CPUID as a partition sees it: the host's answers, with VMX hidden, the
 * hypervisor-present bit set, and Tessera's leaves at 0x40000000.
 */
#include "hv/exit.h"
#include "hv/hypercall_abi.h"
#include "arch/x86/cpu.h"

#define CPUID_LEAF_FEATURES 1
#define CPUID_LEAF_HYPERVISOR_LAST 0x4fffffff

/** Answers one CPUID leaf for a partition. */
static struct cpuid_result cpuid_for_guest(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_result r = { 0, 0, 0, 0 };

	if (leaf == TESSERA_CPUID_LEAF_BASE) {
		r.eax = TESSERA_CPUID_LEAF_MAX;
		r.ebx = TESSERA_CPUID_SIGNATURE_EBX;
		r.ecx = TESSERA_CPUID_SIGNATURE_ECX;
		r.edx = TESSERA_CPUID_SIGNATURE_EDX;
		return r;
	}
	if (leaf == TESSERA_CPUID_LEAF_MAX) {
		r.eax = TESSERA_HC_ABI_VERSION;
		return r;
	}
	if (leaf > TESSERA_CPUID_LEAF_MAX && leaf <= CPUID_LEAF_HYPERVISOR_LAST) {
		return r; /* unassigned hypervisor leaves read as zero */
	}
	r = cpu_cpuid(leaf, subleaf);
	if (leaf == CPUID_LEAF_FEATURES) {
		/* VMX is not offered to partitions (no nested virtualization). */
		r.ecx &= ~CPUID_1_ECX_VMX;
		r.ecx |= CPUID_1_ECX_HYPERVISOR;
	}
	return r;
}

/** CPUID exit: answer from the partition's view and skip the instruction. */
enum exit_result exit_handle_cpuid(struct vcpu *vcpu, const struct vm_exit *exit)
{
	struct cpuid_result r = cpuid_for_guest((uint32_t)vcpu->regs.rax, (uint32_t)vcpu->regs.rcx);

	/* CPUID writes the full 64-bit registers, zero-extending (SDM Vol. 2A). */
	vcpu->regs.rax = r.eax;
	vcpu->regs.rbx = r.ebx;
	vcpu->regs.rcx = r.ecx;
	vcpu->regs.rdx = r.edx;
	vcpu_advance_rip(exit);
	return EXIT_RESUME;
}
