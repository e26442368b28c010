/*
 * RDMSR and WRMSR of partitions that exit (arch/x86/msr_bitmap.c lets a
 * guest own the MSRs the VMCS or the scheduler switches). The platform MSRs
 * a partition may use are emulated here; any other raises #GP(0), as on a
 * CPU without that MSR.
 *
 * Virtual MTRRs: under EPT the guest's MTRRs do not decide memory types (the
 * EPT memory type, taken from the host MTRRs, and the guest PAT do; SDM Vol.
 * 3C, 29.3.7.2), so the guest gets MTRRs that say what EPT enforces for RAM
 * (enabled, write-back by default) and keeps whatever valid values it writes.
 */
#include "hv/exit.h"
#include "hv/exit_cache.h"
#include "hv/vcpu_events.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmx_defs.h"
#include "arch/x86/vmcs.h"

#define VMTRR_VARIABLE_COUNT 8
#define VMTRR_PHYS_ADDR_BITS 46  /* the guest-physical width Tessera's EPT serves */
#define MTRR_DEF_TYPE_VALID  (MTRR_DEF_TYPE_TYPE_MASK | MTRR_DEF_TYPE_FE | MTRR_DEF_TYPE_E)
/* Fast strings on; branch-trace store and PEBS unavailable (SDM Vol. 4, 2.1). */
#define MISC_ENABLE_GUEST    (BIT(0) | BIT(11) | BIT(12))

/** Fills a vCPU's emulated MSRs with their power-on state for Tessera. */
void vcpu_msrs_reset(struct vcpu *vcpu)
{
	struct mtrr_state *m = &vcpu->guest_mtrr;

	vcpu->tsc_adjust = 0;

	*m = (struct mtrr_state){ .enabled = true, .default_type = EPT_MT_WB,
				  .variable_count = VMTRR_VARIABLE_COUNT,
				  .phys_addr_bits = VMTRR_PHYS_ADDR_BITS };
}

/** True for the memory types an MTRR may hold (SDM 12.11.2). */
static bool mtrr_type_ok(uint64_t type)
{
	return type == EPT_MT_UC || type == EPT_MT_WC || type == EPT_MT_WT ||
	       type == EPT_MT_WP || type == EPT_MT_WB;
}

/** True when every byte of @value is an acceptable type. */
static bool bytes_are_types(uint64_t value, bool (*ok)(uint64_t))
{
	for (int i = 0; i < 8; i++) {
		if (!ok((value >> (8 * i)) & 0xff)) {
			return false;
		}
	}
	return true;
}

/** Reads a platform MSR (APIC base, TSC, feature control ...); false: #GP. */
static bool msr_read_platform(struct vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		*value = vlapic_get_base(&vcpu->lapic);
		return true;
	case MSR_IA32_TSC_DEADLINE:
		return vlapic_tsc_deadline_read(&vcpu->lapic, value);
	case MSR_IA32_FEATURE_CONTROL:
		*value = FEATURE_CONTROL_LOCK; /* locked with VMX off: no nesting */
		return true;
	case MSR_IA32_MISC_ENABLE:
		*value = MISC_ENABLE_GUEST;
		return true;
	case MSR_IA32_BIOS_SIGN_ID:
		*value = 0; /* no microcode update signature: the partition loads none */
		return true;
	case MSR_IA32_TSC:
		*value = cpu_rdtsc() + vmcs_read64(VMCS_TSC_OFFSET);
		return true;
	case MSR_IA32_TSC_ADJUST:
		*value = vcpu->tsc_adjust;
		return true;
	default:
		/* The x2APIC registers; #GP unless the APIC is in x2APIC mode. */
		return msr >= VLAPIC_X2APIC_MSR_FIRST && msr <= VLAPIC_X2APIC_MSR_LAST &&
		       vlapic_msr_read(&vcpu->lapic, msr, value);
	}
}

/** Moves the guest's TSC; the APIC's TSC-deadline timer counts in guest TSC too. */
static void msr_set_tsc_offset(struct vcpu *vcpu, uint64_t offset)
{
	vmcs_write64(VMCS_TSC_OFFSET, offset);
	vcpu->lapic.tsc_offset = offset;
	vcpu_events_changed(vcpu);
}

/** Writes a platform MSR; false: #GP (read-only, reserved bits, no such MSR). */
static bool msr_write_platform(struct vcpu *vcpu, uint32_t msr, uint64_t value)
{
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		vcpu_events_changed(vcpu);
		vcpu_cpuid_changed(vcpu); /* CPUID.1:EDX.APIC follows the enable bit */
		return vlapic_set_base(&vcpu->lapic, value);
	case MSR_IA32_TSC_DEADLINE:
		vcpu_events_changed(vcpu);
		return vlapic_tsc_deadline_write(&vcpu->lapic, value);
	case MSR_IA32_MISC_ENABLE:
	case MSR_IA32_BIOS_SIGN_ID: /* 0, then CPUID, latches the signature (SDM Vol. 3A, "Microcode Update Facilities") */
		return true; /* writes change nothing a partition can observe */
	case MSR_IA32_TSC:
		/* Writing the TSC moves the offset; TSC_ADJUST follows (SDM 18.17.3). */
		vcpu->tsc_adjust += value - (cpu_rdtsc() + vmcs_read64(VMCS_TSC_OFFSET));
		msr_set_tsc_offset(vcpu, value - cpu_rdtsc());
		return true;
	case MSR_IA32_TSC_ADJUST:
		msr_set_tsc_offset(vcpu, vmcs_read64(VMCS_TSC_OFFSET) + (value - vcpu->tsc_adjust));
		vcpu->tsc_adjust = value;
		return true;
	default:
		if (msr >= VLAPIC_X2APIC_MSR_FIRST && msr <= VLAPIC_X2APIC_MSR_LAST) {
			vcpu_events_changed(vcpu);
			return vlapic_msr_write(&vcpu->lapic, msr, value);
		}
		return false; /* MTRRCAP and FEATURE_CONTROL are read-only; others do not exist */
	}
}

/** Index of a fixed-range MTRR in address order, or -1. */
static int fixed_mtrr_index(uint32_t msr)
{
	if (msr == MSR_IA32_MTRR_FIX64K_00000) {
		return 0;
	}
	if (msr == MSR_IA32_MTRR_FIX16K_80000 || msr == MSR_IA32_MTRR_FIX16K_A0000) {
		return 1 + (int)(msr - MSR_IA32_MTRR_FIX16K_80000);
	}
	if (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr <= MSR_IA32_MTRR_FIX4K_F8000) {
		return 3 + (int)(msr - MSR_IA32_MTRR_FIX4K_C0000);
	}
	return -1;
}

/** True for a variable-range MTRR MSR of the guest; sets pair and is_mask. */
static bool variable_mtrr(uint32_t msr, unsigned int *pair, bool *is_mask)
{
	if (msr < MSR_IA32_MTRR_PHYSBASE0 ||
	    msr >= MSR_IA32_MTRR_PHYSBASE(VMTRR_VARIABLE_COUNT)) {
		return false;
	}
	*pair = (msr - MSR_IA32_MTRR_PHYSBASE0) / 2;
	*is_mask = ((msr - MSR_IA32_MTRR_PHYSBASE0) & 1) != 0;
	return true;
}

/** Reads an emulated MSR; false when the guest has no such MSR. */
static bool msr_read(struct vcpu *vcpu, uint32_t msr, uint64_t *value)
{
	const struct mtrr_state *m = &vcpu->guest_mtrr;
	int fixed = fixed_mtrr_index(msr);
	unsigned int pair;
	bool is_mask;

	if (msr == MSR_IA32_MTRRCAP) {
		*value = VMTRR_VARIABLE_COUNT | MTRRCAP_FIX | MTRRCAP_WC;
	} else if (msr == MSR_IA32_MTRR_DEF_TYPE) {
		*value = m->default_type | (m->fixed_enabled ? MTRR_DEF_TYPE_FE : 0) |
			 (m->enabled ? MTRR_DEF_TYPE_E : 0);
	} else if (fixed >= 0) {
		*value = m->fixed[fixed];
	} else if (variable_mtrr(msr, &pair, &is_mask)) {
		*value = is_mask ? m->variable[pair].mask : m->variable[pair].base;
	} else {
		return msr_read_platform(vcpu, msr, value);
	}
	return true;
}

/** Checks a variable-range MTRR value: valid type, no reserved bit set. */
static bool variable_mtrr_value_ok(uint64_t value, bool is_mask)
{
	uint64_t address_bits = ((1ULL << VMTRR_PHYS_ADDR_BITS) - 1) & PAGE_MASK;
	uint64_t allowed = address_bits | (is_mask ? MTRR_PHYSMASK_VALID : MTRR_PHYSBASE_TYPE_MASK);

	return (value & ~allowed) == 0 && (is_mask || mtrr_type_ok(value & MTRR_PHYSBASE_TYPE_MASK));
}

/** Writes an emulated MSR; false (#GP) for no such MSR or an invalid value. */
static bool msr_write(struct vcpu *vcpu, uint32_t msr, uint64_t value)
{
	struct mtrr_state *m = &vcpu->guest_mtrr;
	int fixed = fixed_mtrr_index(msr);
	unsigned int pair;
	bool is_mask;

	if (msr == MSR_IA32_MTRR_DEF_TYPE) {
		if ((value & ~MTRR_DEF_TYPE_VALID) != 0 || !mtrr_type_ok(value & MTRR_DEF_TYPE_TYPE_MASK)) {
			return false;
		}
		m->default_type = value & MTRR_DEF_TYPE_TYPE_MASK;
		m->fixed_enabled = (value & MTRR_DEF_TYPE_FE) != 0;
		m->enabled = (value & MTRR_DEF_TYPE_E) != 0;
	} else if (fixed >= 0) {
		if (!bytes_are_types(value, mtrr_type_ok)) {
			return false;
		}
		m->fixed[fixed] = value;
	} else if (variable_mtrr(msr, &pair, &is_mask)) {
		if (!variable_mtrr_value_ok(value, is_mask)) {
			return false;
		}
		*(is_mask ? &m->variable[pair].mask : &m->variable[pair].base) = value;
	} else {
		return msr_write_platform(vcpu, msr, value);
	}
	return true;
}

/**
 * Whether the value an MSR read gave stays what it is until a WRMSR: true
 * for every emulated MSR but the clocks (TSC, TSC deadline) and the x2APIC
 * registers, which interrupts and timers change.
 */
static bool msr_read_is_stable(uint32_t msr)
{
	return msr != MSR_IA32_TSC && msr != MSR_IA32_TSC_DEADLINE &&
	       (msr < VLAPIC_X2APIC_MSR_FIRST || msr > VLAPIC_X2APIC_MSR_LAST);
}

/** RDMSR exit: EDX:EAX <- MSR[ECX], or #GP(0). */
enum exit_result exit_handle_rdmsr(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint32_t msr = (uint32_t)vcpu->regs.rcx;
	uint64_t value;

	if (!msr_read(vcpu, msr, &value)) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return EXIT_RESUME;
	}
	vcpu->regs.rax = (uint32_t)value;
	vcpu->regs.rdx = value >> 32;
	if (msr_read_is_stable(msr)) {
		exit_cache_store(vcpu, EXIT_REASON_RDMSR, msr, 0,
				 &(struct exit_answer){ EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EDX,
							(uint32_t)value, 0, 0,
							(uint32_t)(value >> 32) });
	}
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}

/** WRMSR exit: MSR[ECX] <- EDX:EAX, or #GP(0). */
enum exit_result exit_handle_wrmsr(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint64_t value = ((vcpu->regs.rdx & 0xffffffffULL) << 32) | (vcpu->regs.rax & 0xffffffffULL);

	if (!msr_write(vcpu, (uint32_t)vcpu->regs.rcx, value)) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return EXIT_RESUME;
	}
	/* One MSR write may change what others read (TSC and TSC_ADJUST). */
	exit_cache_forget(vcpu, EXIT_REASON_RDMSR);
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}
