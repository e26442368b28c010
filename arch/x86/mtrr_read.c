/*
 * Reading this processor's MTRRs into a struct mtrr_state (see
 * arch/x86/mtrr.h). Hypervisor only: CPUID and RDMSR, so not part of the
 * host unit tests; everything it feeds is.
 *
 * The MTRRs are read on one processor. The SDM requires firmware to give
 * every processor identical MTRRs (SDM Vol. 3A, "MTRR Considerations in MP
 * Systems"); a caller that cares may read them on each and compare.
 */
#include "arch/x86/mtrr.h"

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* CPUID.01H:EDX bit 12: the MTRRs, IA32_MTRRCAP among them, exist. */
#define CPUID_1_EDX_MTRR (1U << 12)

/* CPUID leaves for the physical-address width. */
#define CPUID_EXT_MAX_LEAF   0x80000000U
#define CPUID_EXT_ADDR_SIZES 0x80000008U
/* What the SDM says to assume when CPUID.80000008H is absent. */
#define MTRR_DEFAULT_PHYS_ADDR_BITS 36

/*
 * The MSR numbers leave room for 40 variable pairs below the first
 * fixed-range MTRR (0x250); never read past them whatever VCNT says.
 */
#define MTRR_ARCH_MAX_VARIABLE \
	((MSR_IA32_MTRR_FIX64K_00000 - MSR_IA32_MTRR_PHYSBASE0) / 2)

/* The fixed-range MTRRs in the order of struct mtrr_state.fixed. */
static const uint32_t mtrr_fixed_msrs[MTRR_FIXED_COUNT] = {
	MSR_IA32_MTRR_FIX64K_00000, MSR_IA32_MTRR_FIX16K_80000,
	MSR_IA32_MTRR_FIX16K_A0000, MSR_IA32_MTRR_FIX4K_C0000,
	MSR_IA32_MTRR_FIX4K_C8000,  MSR_IA32_MTRR_FIX4K_D0000,
	MSR_IA32_MTRR_FIX4K_D8000,  MSR_IA32_MTRR_FIX4K_E0000,
	MSR_IA32_MTRR_FIX4K_E8000,  MSR_IA32_MTRR_FIX4K_F0000,
	MSR_IA32_MTRR_FIX4K_F8000,
};

/** MAXPHYADDR from CPUID.80000008H:EAX[7:0], or 36 if that leaf is absent. */
static unsigned int mtrr_read_phys_addr_bits(void)
{
	if (cpu_cpuid(CPUID_EXT_MAX_LEAF, 0).eax < CPUID_EXT_ADDR_SIZES) {
		return MTRR_DEFAULT_PHYS_ADDR_BITS;
	}
	return cpu_cpuid(CPUID_EXT_ADDR_SIZES, 0).eax & 0xff;
}

/**
 * Reads the first MTRR_MAX_VARIABLE of the vcnt variable pairs and counts
 * the enabled ones beyond, whose types would otherwise be lost without a
 * word (mtrr_state_valid() refuses a state with any).
 */
static void mtrr_read_variable(struct mtrr_state *s, unsigned int vcnt)
{
	unsigned int stored = vcnt;
	unsigned int present = vcnt;

	if (present > MTRR_ARCH_MAX_VARIABLE) {
		present = MTRR_ARCH_MAX_VARIABLE;
	}
	if (stored > MTRR_MAX_VARIABLE) {
		stored = MTRR_MAX_VARIABLE;
	}
	s->variable_count = stored;
	for (unsigned int n = 0; n < stored; n++) {
		s->variable[n].base = cpu_rdmsr(MSR_IA32_MTRR_PHYSBASE(n));
		s->variable[n].mask = cpu_rdmsr(MSR_IA32_MTRR_PHYSMASK(n));
	}
	for (unsigned int n = stored; n < present; n++) {
		uint64_t mask = cpu_rdmsr(MSR_IA32_MTRR_PHYSMASK(n));

		if (mask & MTRR_PHYSMASK_VALID) {
			s->variable_dropped++;
		}
	}
}

/** Reads this processor's MTRRs into *s. */
void mtrr_read(struct mtrr_state *s)
{
	uint64_t cap;
	uint64_t def_type;

	*s = (struct mtrr_state){ 0 };
	s->phys_addr_bits = mtrr_read_phys_addr_bits();
	if ((cpu_cpuid(1, 0).edx & CPUID_1_EDX_MTRR) == 0) {
		/* No MTRRs to read (RDMSR of them would fault): all UC. */
		return;
	}
	cap = cpu_rdmsr(MSR_IA32_MTRRCAP);
	def_type = cpu_rdmsr(MSR_IA32_MTRR_DEF_TYPE);
	s->enabled = (def_type & MTRR_DEF_TYPE_E) != 0;
	s->default_type = (uint8_t)(def_type & MTRR_DEF_TYPE_TYPE_MASK);
	/* Without IA32_MTRRCAP.FIX the fixed-range MSRs do not exist. */
	if (cap & MTRRCAP_FIX) {
		s->fixed_enabled = (def_type & MTRR_DEF_TYPE_FE) != 0;
		for (unsigned int i = 0; i < MTRR_FIXED_COUNT; i++) {
			s->fixed[i] = cpu_rdmsr(mtrr_fixed_msrs[i]);
		}
	}
	mtrr_read_variable(s, (unsigned int)(cap & MTRRCAP_VCNT_MASK));
}
