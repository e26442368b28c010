/*
 * CPUID as a partition sees it (the policy): the host's answers, less what
 * Tessera does not virtualize, plus the hypervisor-present bit, a topology
 * that matches the partition's vCPUs, and Tessera's leaves at 0x40000000.
 * Hiding a feature matters as much as offering one: a guest that sees a
 * feature uses it, and an instruction or MSR Tessera does not handle would
 * then stop the partition.
 */
#include "hv/exit.h"
#include "hv/exit_cache.h"
#include "hv/hypercall_abi.h"
#include "hv/sched.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

#define CPUID_LEAF_FEATURES        0x1
#define CPUID_LEAF_CACHE_PARAMS    0x4
#define CPUID_LEAF_MONITOR         0x5
#define CPUID_LEAF_POWER           0x6
#define CPUID_LEAF_EXTENDED        0x7
#define CPUID_LEAF_PMU             0xa
#define CPUID_LEAF_TOPOLOGY        0xb
#define CPUID_LEAF_TOPOLOGY_V2     0x1f
#define CPUID_LEAF_EXT_FEATURES    0x80000001
#define CPUID_LEAF_HYPERVISOR_LAST 0x4fffffff
#define CPUID_LEAF_TSC_CRYSTAL     0x15
#define CPUID_LEAF_FREQUENCY       0x16
#define CPUID_LEAF_POWER_MGMT      0x80000007

/* Leaf 1 ECX: debug store, MONITOR/MWAIT, SMX, thermal, xTPR, PDCM. */
#define LEAF1_ECX_HIDDEN (BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | \
			  BIT(14) | BIT(15))
/* Leaf 1 ECX: x2APIC and the TSC-deadline timer, which the virtual APIC has. */
#define LEAF1_ECX_OFFERED (BIT(21) | BIT(24))
/* Leaf 1 EDX: APIC on chip, as IA32_APIC_BASE[11] says (SDM 11.4.3). */
#define LEAF1_EDX_APIC BIT(9)
/* Leaf 0x80000007 EDX: invariant TSC. */
#define POWER_EDX_INVARIANT_TSC BIT(8)
#define HZ_PER_KHZ 1000
#define HZ_PER_MHZ 1000000
#define LEAF1_ECX_OSXSAVE BIT(27)
/*
 * Leaf 1 EDX: machine-check exception and architecture (Tessera takes the
 * machine checks; a partition has no MCG or bank MSRs), debug store, thermal
 * monitor, pending-break enable.
 */
#define LEAF1_EDX_HIDDEN (BIT(7) | BIT(14) | BIT(21) | BIT(22) | BIT(29) | BIT(31))
/* Leaf 7 EBX: SGX, INVPCID (bit 10, when not enabled), RDT monitoring and allocation, PT. */
#define LEAF7_EBX_HIDDEN (BIT(2) | BIT(12) | BIT(15) | BIT(25))
#define LEAF7_EBX_INVPCID BIT(10)
/* Leaf 7 ECX: WAITPKG (UMWAIT/TPAUSE), SGX launch control. */
#define LEAF7_ECX_HIDDEN (BIT(5) | BIT(30))
#define EXT_EDX_RDTSCP BIT(27)

/** Tessera's own leaves, 0x40000000 and up. */
static struct cpuid_result cpuid_hypervisor_leaf(uint32_t leaf)
{
	struct cpuid_result r = { 0, 0, 0, 0 };

	if (leaf == TESSERA_CPUID_LEAF_BASE) {
		r.eax = TESSERA_CPUID_LEAF_MAX;
		r.ebx = TESSERA_CPUID_SIGNATURE_EBX;
		r.ecx = TESSERA_CPUID_SIGNATURE_ECX;
		r.edx = TESSERA_CPUID_SIGNATURE_EDX;
	} else if (leaf == TESSERA_CPUID_LEAF_VERSION) {
		r.eax = TESSERA_HC_ABI_VERSION;
	} else if (leaf == TESSERA_CPUID_LEAF_TIMING) {
		/* The APIC timer counts at the TSC rate (hv/vcpu_events.c). */
		r.eax = (uint32_t)(tsc_hz / HZ_PER_KHZ);
		r.ebx = (uint32_t)(tsc_hz / HZ_PER_KHZ);
	}
	return r; /* unassigned hypervisor leaves read as zero */
}

/** Leaf 1: features less what is hidden; APIC ID and count from the partition. */
static void cpuid_fix_features(const struct vcpu *vcpu, struct cpuid_result *r)
{
	r->ecx &= ~LEAF1_ECX_HIDDEN;
	r->ecx |= CPUID_1_ECX_HYPERVISOR | LEAF1_ECX_OFFERED;
	/* OSXSAVE mirrors the guest's own CR4.OSXSAVE, not the host's. */
	r->ecx &= ~LEAF1_ECX_OSXSAVE;
	if (vmcs_readl(VMCS_GUEST_CR4) & CR4_OSXSAVE) {
		r->ecx |= LEAF1_ECX_OSXSAVE;
	}
	r->edx &= ~(LEAF1_EDX_HIDDEN | LEAF1_EDX_APIC);
	if (vlapic_enabled(&vcpu->lapic)) {
		r->edx |= LEAF1_EDX_APIC;
	}
	r->ebx = (r->ebx & 0x0000ffffU) | ((uint32_t)vcpu->index << 24) |
		 ((uint32_t)vcpu->partition->vcpu_count << 16);
}

/** Leaves 0xB/0x1F: one thread per core, the partition's vCPUs as cores. */
static void cpuid_fix_topology(const struct vcpu *vcpu, uint32_t subleaf, struct cpuid_result *r)
{
	uint32_t count = vcpu->partition->vcpu_count;
	uint32_t core_bits = 0;

	while ((1U << core_bits) < count) {
		core_bits++;
	}
	r->edx = vcpu->index; /* x2APIC ID */
	if (subleaf == 0) {
		*r = (struct cpuid_result){ 0, 1, 1U << 8 /* SMT level, number 0 */, vcpu->index };
	} else if (subleaf == 1) {
		*r = (struct cpuid_result){ core_bits, count, (2U << 8) | 1, vcpu->index };
	} else {
		*r = (struct cpuid_result){ 0, 0, subleaf, vcpu->index };
	}
}

/** Applies the policy to the host's answer for a basic or extended leaf. */
static void cpuid_apply_policy(const struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf,
			       struct cpuid_result *r)
{
	const struct vmx_config *vmx = vmx_get_config();

	switch (leaf) {
	case CPUID_LEAF_FEATURES:
		cpuid_fix_features(vcpu, r);
		break;
	case CPUID_LEAF_CACHE_PARAMS:
		/* Cores per package (bits 31:26) and threads sharing (25:14). */
		r->eax = (r->eax & 0x3fffU) | ((vcpu->partition->vcpu_count - 1) << 26);
		break;
	case CPUID_LEAF_MONITOR:
	case CPUID_LEAF_POWER:
	case CPUID_LEAF_PMU:
		*r = (struct cpuid_result){ 0, 0, 0, 0 }; /* not virtualized */
		break;
	case CPUID_LEAF_EXTENDED:
		if (subleaf == 0) {
			r->ebx &= ~(LEAF7_EBX_HIDDEN | (vmx->has_invpcid ? 0 : LEAF7_EBX_INVPCID));
			r->ecx &= ~LEAF7_ECX_HIDDEN;
		}
		break;
	case CPUID_LEAF_TOPOLOGY:
	case CPUID_LEAF_TOPOLOGY_V2:
		cpuid_fix_topology(vcpu, subleaf, r);
		break;
	case CPUID_LEAF_EXT_FEATURES:
		r->edx &= vmx->has_rdtscp ? ~0U : ~EXT_EDX_RDTSCP;
		break;
	case CPUID_LEAF_POWER_MGMT:
		/* The guest's TSC never stops or changes rate: it is the host's, offset. */
		r->edx = POWER_EDX_INVARIANT_TSC;
		break;
	default:
		break;
	}
}

/**
 * The TSC and crystal leaves, which Tessera always answers so that a guest
 * need not calibrate: 15H with the TSC as its own crystal (ratio 1/1; the
 * APIC timer counts at that crystal, as on processors that report it), 16H
 * with the base frequency in MHz.
 */
static struct cpuid_result cpuid_frequency_leaf(uint32_t leaf)
{
	uint64_t crystal_hz = MIN(tsc_hz, (uint64_t)UINT32_MAX);
	uint32_t mhz = (uint32_t)(tsc_hz / HZ_PER_MHZ);

	if (leaf == CPUID_LEAF_TSC_CRYSTAL) {
		/* EBX/EAX is TSC/crystal; a TSC beyond 32 bits of Hz runs at a ratio. */
		uint32_t ratio = (uint32_t)(tsc_hz / crystal_hz);

		return (struct cpuid_result){ 1, ratio, (uint32_t)(tsc_hz / ratio), 0 };
	}
	return (struct cpuid_result){ mhz, mhz, 0, 0 };
}

/**
 * The highest basic leaf: the host's, but at least 16H, since Tessera
 * answers 15H and 16H itself. Leaves between the host's last and 16H read
 * as zero: a CPU answers a leaf beyond its last with the last one's data.
 */
static struct cpuid_result cpuid_basic_leaf(const struct vcpu *vcpu, uint32_t leaf,
					    uint32_t subleaf)
{
	uint32_t host_max = cpu_cpuid(0, 0).eax;
	struct cpuid_result r;

	if (leaf == CPUID_LEAF_TSC_CRYSTAL || leaf == CPUID_LEAF_FREQUENCY) {
		return cpuid_frequency_leaf(leaf);
	}
	if (leaf > host_max) {
		return (struct cpuid_result){ 0, 0, 0, 0 };
	}
	r = cpu_cpuid(leaf, subleaf);
	if (leaf == 0) {
		r.eax = MAX(host_max, (uint32_t)CPUID_LEAF_FREQUENCY);
	}
	cpuid_apply_policy(vcpu, leaf, subleaf, &r);
	return r;
}

/** Answers one CPUID leaf for a vCPU. */
static struct cpuid_result cpuid_for_guest(const struct vcpu *vcpu, uint32_t leaf,
					   uint32_t subleaf)
{
	struct cpuid_result r;

	if (leaf >= TESSERA_CPUID_LEAF_BASE && leaf <= CPUID_LEAF_HYPERVISOR_LAST) {
		return cpuid_hypervisor_leaf(leaf);
	}
	if (leaf < TESSERA_CPUID_LEAF_BASE) {
		return cpuid_basic_leaf(vcpu, leaf, subleaf);
	}
	r = cpu_cpuid(leaf, subleaf);
	cpuid_apply_policy(vcpu, leaf, subleaf, &r);
	return r;
}

/** Forgets every remembered answer: what the policy depends on has changed. */
void vcpu_cpuid_changed(struct vcpu *vcpu)
{
	exit_cache_forget(vcpu, EXIT_REASON_CPUID);
}

/** CPUID exit: answer from the partition's view and skip the instruction. */
enum exit_result exit_handle_cpuid(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint32_t leaf = (uint32_t)vcpu->regs.rax;
	uint32_t subleaf = (uint32_t)vcpu->regs.rcx;
	struct cpuid_result r = cpuid_for_guest(vcpu, leaf, subleaf);

	/* CPUID writes the full 64-bit registers, zero-extending (SDM Vol. 2A). */
	vcpu->regs.rax = r.eax;
	vcpu->regs.rbx = r.ebx;
	vcpu->regs.rcx = r.ecx;
	vcpu->regs.rdx = r.edx;
	/* Keyed on the sub-leaf even where it is ignored: never wrong, at worst a miss. */
	exit_cache_store(vcpu, EXIT_REASON_CPUID, leaf, subleaf,
			 &(struct exit_answer){ EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EBX |
						EXIT_CACHE_OUT_ECX | EXIT_CACHE_OUT_EDX,
						r.eax, r.ebx, r.ecx, r.edx });
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}
