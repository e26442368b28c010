/*
 * Reading the TSC frequency from CPUID (SDM Vol. 2A, CPUID leaves 15H and
 * 16H; SDM Vol. 3B 18.7.3 "Determining the Processor Base Frequency").
 */
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"

#define CPUID_LEAF_TSC_CRYSTAL 0x15
#define CPUID_LEAF_FREQUENCY   0x16

/** The TSC frequency from CPUID 15H/16H, or 0; see tsc.h. */
uint64_t tsc_hz_from_cpuid(void)
{
	uint32_t max_leaf = cpu_cpuid(0, 0).eax;

	if (max_leaf >= CPUID_LEAF_TSC_CRYSTAL) {
		struct cpuid_result r = cpu_cpuid(CPUID_LEAF_TSC_CRYSTAL, 0);

		/* EAX:EBX is the TSC/crystal ratio; ECX the crystal in Hz (0: not given). */
		if (r.eax != 0 && r.ebx != 0 && r.ecx != 0) {
			return (uint64_t)r.ecx * r.ebx / r.eax;
		}
	}
	if (max_leaf >= CPUID_LEAF_FREQUENCY) {
		/* The base frequency is the TSC's on processors with an invariant TSC. */
		uint32_t base_mhz = cpu_cpuid(CPUID_LEAF_FREQUENCY, 0).eax & 0xffff;

		if (base_mhz != 0) {
			return (uint64_t)base_mhz * 1000000;
		}
	}
	return 0;
}
