/*
 * The fpu guest: checks that its SSE registers survive while other
 * partitions run on the same CPU. It fills XMM0-XMM7 with a pattern unique
 * to its partition, spins across many time slices (the VMX-preemption timer
 * hands the CPU to the other partitions meanwhile), then reads them back.
 * Tessera itself never touches these registers, so only its switching of
 * guest FPU state between vCPUs keeps them intact.
 */
#include "guests/common/guest.h"

#define CR4_OSFXSR (1U << 9)
#define SPIN_ITERATIONS 6000000U /* some 20 M instructions: several time slices */
#define XMM_COUNT 8

/** Lets SSE instructions run (CR4.OSFXSR), as an OS would at boot. */
static void enable_sse(void)
{
	uint32_t cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | CR4_OSFXSR));
}

/** Loads XMM0-XMM7 from 8 x 16 bytes. */
static void load_xmm(const uint32_t *values)
{
	__asm__ volatile("movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\t"
			 "movdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
			 "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\t"
			 "movdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7"
			 : : "r"(values) : "memory");
}

/** Stores XMM0-XMM7 to 8 x 16 bytes. */
static void store_xmm(uint32_t *values)
{
	__asm__ volatile("movdqu %%xmm0, 0(%0)\n\tmovdqu %%xmm1, 16(%0)\n\t"
			 "movdqu %%xmm2, 32(%0)\n\tmovdqu %%xmm3, 48(%0)\n\t"
			 "movdqu %%xmm4, 64(%0)\n\tmovdqu %%xmm5, 80(%0)\n\t"
			 "movdqu %%xmm6, 96(%0)\n\tmovdqu %%xmm7, 112(%0)"
			 : : "r"(values) : "memory");
}

/** Spins without touching memory or vector registers. */
static void spin(void)
{
	for (uint32_t i = 0; i < SPIN_ITERATIONS; i++) {
		__asm__ volatile("" ::: "memory");
	}
}

/** Fills, waits, compares; exit code 0 when every byte came back. */
int guest_main(void)
{
	struct partition_info info;
	uint32_t expected[XMM_COUNT * 4];
	uint32_t got[XMM_COUNT * 4];

	if (hc_partition_info(&info) != 0) {
		return 2;
	}
	for (uint32_t i = 0; i < XMM_COUNT * 4; i++) {
		expected[i] = 0x9e3779b1U * (i + 1) ^ (info.id << 24) ^ 0x00c0ffeeU;
	}
	enable_sse();
	load_xmm(expected);
	guest_printf("loaded XMM0-XMM7 with partition %u's pattern; spinning\n", info.id);
	spin();
	store_xmm(got);
	for (uint32_t i = 0; i < XMM_COUNT * 4; i++) {
		if (got[i] != expected[i]) {
			guest_printf("XMM%u dword %u changed: expected %08x, got %08x\n", i / 4, i % 4,
				     expected[i], got[i]);
			return 1;
		}
	}
	guest_printf("XMM0-XMM7 intact\n");
	return 0;
}
