/*
 * Saving and restoring guest extended state (SDM Vol. 1, Ch. 13).
 */
#include "arch/x86/fpu.h"
#include "arch/x86/cpu.h"
#include "hv/partition.h"
#include "hv/string.h"

#define CPUID_1_ECX_XSAVE (1U << 26)
#define CPUID_LEAF_XSAVE  0xd
#define FXSAVE_SIZE  512
#define FCW_RESET    0x037f
#define MXCSR_RESET  0x1f80
#define FXSAVE_MXCSR_OFFSET 24
#define XCR0_X87     BIT(0)
#define XCR0_SSE     BIT(1)
#define XCR0_AVX     BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR  BIT(4)
#define XCR0_AVX512  (BIT(5) | BIT(6) | BIT(7))

static bool fpu_has_xsave;
static uint64_t fpu_xcr0_supported;
static size_t fpu_area_size = FXSAVE_SIZE;

/** Sets up this CPU for saving guest state (CR4.OSXSAVE where XSAVE exists). */
void fpu_cpu_init(void)
{
	fpu_has_xsave = (cpu_cpuid(1, 0).ecx & CPUID_1_ECX_XSAVE) != 0;
	cpu_write_cr4(cpu_read_cr4() | CR4_OSFXSR | (fpu_has_xsave ? CR4_OSXSAVE : 0));
	if (fpu_has_xsave) {
		struct cpuid_result r = cpu_cpuid(CPUID_LEAF_XSAVE, 0);

		fpu_xcr0_supported = ((uint64_t)r.edx << 32) | r.eax;
		/* ECX: the area for every component the CPU supports. */
		fpu_area_size = ALIGN_UP(MAX((size_t)r.ecx, (size_t)FXSAVE_SIZE + 64), 64);
	}
}

/** Bytes a vCPU's save area needs (a multiple of 64). */
size_t fpu_state_size(void)
{
	return fpu_area_size;
}

/** Fills a save area with the state of a CPU after RESET. */
void fpu_state_init(void *area)
{
	uint8_t *bytes = area;
	uint16_t fcw = FCW_RESET;
	uint32_t mxcsr = MXCSR_RESET;

	/* An all-zero XSAVE header (XSTATE_BV = 0) means "initial state". */
	memset(area, 0, fpu_area_size);
	memcpy(bytes, &fcw, sizeof(fcw));
	memcpy(bytes + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}

/** Reads XCR0. */
static uint64_t fpu_read_xcr0(void)
{
	uint32_t lo;
	uint32_t hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

/** Makes @value the current XCR0 (the running vCPU's, checked). */
void fpu_load_xcr0(uint64_t value)
{
	if (fpu_has_xsave && fpu_read_xcr0() != value) {
		__asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)value),
				 "d"((uint32_t)(value >> 32)) : "memory");
	}
}

/** Saves @prev's registers (if any) and loads @next's. */
void fpu_switch(const struct vcpu *prev, const struct vcpu *next)
{
	if (fpu_has_xsave) {
		/*
		 * Every component the CPU has, whatever the guests enabled: SSE
		 * registers work with XCR0 = 1 too (CR4.OSFXSR), and XSAVE stores
		 * only what XCR0 enables at the time it runs.
		 */
		fpu_load_xcr0(fpu_xcr0_supported);
		if (prev != NULL) {
			__asm__ volatile("xsave64 %0" : "=m"(*(uint8_t *)prev->fpu_area)
					 : "a"(~0U), "d"(~0U) : "memory");
		}
		__asm__ volatile("xrstor64 %0" : : "m"(*(uint8_t *)next->fpu_area),
				 "a"(~0U), "d"(~0U) : "memory");
		fpu_load_xcr0(next->xcr0);
		return;
	}
	if (prev != NULL) {
		__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t *)prev->fpu_area) : : "memory");
	}
	__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t *)next->fpu_area) : "memory");
}

/** True when a guest may write @value to XCR0 (SDM 13.3). */
bool fpu_xcr0_valid(uint64_t value)
{
	if (!fpu_has_xsave || (value & ~fpu_xcr0_supported) != 0 || !(value & XCR0_X87)) {
		return false;
	}
	if ((value & XCR0_AVX) && !(value & XCR0_SSE)) {
		return false;
	}
	if (!!(value & XCR0_BNDREGS) != !!(value & XCR0_BNDCSR)) {
		return false;
	}
	if ((value & XCR0_AVX512) != 0 &&
	    ((value & XCR0_AVX512) != XCR0_AVX512 || !(value & XCR0_AVX))) {
		return false;
	}
	return true;
}
