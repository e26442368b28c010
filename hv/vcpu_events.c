/*
 * Event injection. An interrupt is taken from the local APIC only at the
 * moment it can be injected (RFLAGS.IF set, no STI or MOV SS shadow, no
 * other event on its way in), which is exactly when a CPU would acknowledge
 * it; otherwise the vCPU asks for an interrupt-window exit and tries again
 * there (SDM 25.2, 27.6.2). NMIs go first and use NMI-window exiting when
 * the guest blocks them.
 *
 * Interrupts come from the local APIC, or else from the legacy PIC through
 * vCPU 0's LINT0 in ExtINT mode (hv/platform.h); the PIC's vector is taken
 * by its acknowledge cycle only at injection, as INTA would.
 */
#include "hv/vcpu_events.h"
#include "hv/platform.h"
#include "hv/sched.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_defs.h"

#define VECTOR_NMI 2
#define WINDOW_EXITS (CPU_BASED_INTERRUPT_WINDOW_EXITING | CPU_BASED_NMI_WINDOW_EXITING)
#define SHADOW_BLOCKING (VMCS_INTERRUPTIBILITY_STI | VMCS_INTERRUPTIBILITY_MOV_SS)

/** The local APIC's clock: the host TSC. */
static uint64_t vcpu_events_now(void *ctx)
{
	return cpu_rdtsc();
}

/** Whether IPI @ipi from @from is for @target (SDM 11.6.1, 11.6.2). */
static bool vcpu_ipi_reaches(const struct vcpu *from, const struct vcpu *target,
			     const struct vlapic_ipi *ipi)
{
	switch (ipi->shorthand) {
	case VLAPIC_SHORTHAND_SELF:
		return target == from;
	case VLAPIC_SHORTHAND_ALL:
		return true;
	case VLAPIC_SHORTHAND_ALL_BUT_SELF:
		return target != from;
	default:
		return vlapic_matches_destination(&target->lapic, ipi->destination, ipi->logical);
	}
}

/**
 * An IPI to the partition's other vCPUs. Lowest-priority delivery goes to
 * the first vCPU that matches, which the SDM allows (11.6.2.4: the choice
 * is model specific).
 */
static void vcpu_send_ipi(void *ctx, const struct vlapic_ipi *ipi)
{
	struct vcpu *from = ctx;
	struct partition *p = from->partition;

	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		struct vcpu *target = &p->vcpus[i];

		if (!vcpu_ipi_reaches(from, target, ipi)) {
			continue;
		}
		vlapic_accept(&target->lapic, ipi->mode, ipi->vector, ipi->level);
		vcpu_events_changed(target);
		if (ipi->mode == VLAPIC_DELIVERY_LOWEST) {
			return;
		}
	}
}

/** Gives a new vCPU its local APIC in RESET state; see vcpu_events.h. */
void vcpu_events_init(struct vcpu *vcpu)
{
	struct vlapic *a = &vcpu->lapic;

	/* The APIC timer counts at the TSC rate, which CPUID 15H reports as the crystal. */
	vlapic_init(a, vcpu->apic_page, vcpu->index, vcpu->index == 0, tsc_hz, tsc_hz);
	a->now = vcpu_events_now;
	a->send_ipi = vcpu_send_ipi;
	a->level_eoi = platform_level_eoi;
	a->ctx = vcpu;
	vcpu->tpr_threshold = 0;
	vcpu_events_changed(vcpu);
}

/** Where the interrupt a vCPU takes next comes from. */
enum vcpu_interrupt_source {
	VCPU_INTERRUPT_NONE,
	VCPU_INTERRUPT_LAPIC,
	VCPU_INTERRUPT_PIC,   /* ExtINT through LINT0 */
};

/** The vector presented now and its source: the local APIC's first, else the PIC's; -1 for none. */
static int vcpu_pending_interrupt_from(const struct vcpu *vcpu,
				       enum vcpu_interrupt_source *source)
{
	int vector = vlapic_pending_vector(&vcpu->lapic);

	if (vector >= 0) {
		*source = VCPU_INTERRUPT_LAPIC;
		return vector;
	}
	vector = platform_extint_vector(vcpu);
	*source = vector >= 0 ? VCPU_INTERRUPT_PIC : VCPU_INTERRUPT_NONE;
	return vector;
}

/** The vector the vCPU's interrupt controllers present now, or -1. */
static int vcpu_pending_interrupt(const struct vcpu *vcpu)
{
	enum vcpu_interrupt_source source;

	return vcpu_pending_interrupt_from(vcpu, &source);
}

/** Turns the window exits on or off; a VMWRITE only when they change. */
static void vcpu_set_window_exits(struct vcpu *vcpu, uint32_t wanted)
{
	uint32_t controls = (vcpu->procbased_controls & ~WINDOW_EXITS) | wanted;

	if (controls != vcpu->procbased_controls) {
		vmcs_write32(VMCS_PROC_BASED_CONTROLS, controls);
		vcpu->procbased_controls = controls;
	}
}

/** Injects an external interrupt or NMI at the next entry. */
static void vcpu_inject_event(uint32_t type, uint8_t vector)
{
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO,
		     VMCS_INTR_INFO_VALID | (type << VMCS_INTR_INFO_TYPE_SHIFT) | vector);
}

/** The window exit that ends when a blocked NMI could be delivered. */
static uint32_t vcpu_nmi_window(void)
{
	/* Without virtual NMIs there is no NMI window: poll at interrupt windows. */
	return vmx_get_config()->has_nmi_window ? CPU_BASED_NMI_WINDOW_EXITING
						: CPU_BASED_INTERRUPT_WINDOW_EXITING;
}

/** Window exits still needed once an event went in: one for any interrupt left. */
static uint32_t vcpu_window_for_rest(const struct vcpu *vcpu)
{
	return vcpu_pending_interrupt(vcpu) >= 0 ? CPU_BASED_INTERRUPT_WINDOW_EXITING : 0;
}

/**
 * Injects the most urgent event the guest can take now and returns the
 * window exits wanted for what has to wait. NMIs are blocked by a previous
 * NMI until IRET and, like interrupts, by the STI and MOV SS shadows (the
 * entry checks of SDM 26.3.1.5 refuse an injection there).
 */
static uint32_t vcpu_deliver_one(struct vcpu *vcpu)
{
	uint32_t blocking = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);
	enum vcpu_interrupt_source source;
	int vector;

	if (vcpu->lapic.pending_nmi) {
		if (blocking & (SHADOW_BLOCKING | VMCS_INTERRUPTIBILITY_NMI)) {
			return vcpu_nmi_window() | vcpu_window_for_rest(vcpu);
		}
		vcpu->lapic.pending_nmi = false;
		vcpu_inject_event(VMCS_INTR_TYPE_NMI, VECTOR_NMI);
		return vcpu_window_for_rest(vcpu);
	}
	vector = vcpu_pending_interrupt_from(vcpu, &source);
	if (vector < 0) {
		return 0;
	}
	if ((blocking & SHADOW_BLOCKING) || !(vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF)) {
		return CPU_BASED_INTERRUPT_WINDOW_EXITING;
	}
	if (source == VCPU_INTERRUPT_PIC) {
		/* INTA: the PIC may answer with its spurious vector if the request went. */
		vector = platform_extint_acknowledge(vcpu);
	} else {
		vlapic_acknowledge(&vcpu->lapic, (uint8_t)vector);
	}
	vcpu_inject_event(VMCS_INTR_TYPE_EXTERNAL, (uint8_t)vector);
	return vcpu_window_for_rest(vcpu);
}

/** Injects what can go in and asks for windows for the rest; see vcpu_events.h. */
void vcpu_events_prepare(struct vcpu *vcpu)
{
	uint32_t windows;

	if (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & VMCS_INTR_INFO_VALID) {
		/*
		 * An exception or a re-injected event goes first; the rest waits
		 * for its own window, which opens after that delivery (SDM 26.7.6):
		 * an NMI's when NMIs are unblocked, whatever RFLAGS.IF says.
		 */
		windows = (vcpu->lapic.pending_nmi ? vcpu_nmi_window() : 0) |
			  vcpu_window_for_rest(vcpu);
	} else {
		windows = vcpu_deliver_one(vcpu);
	}
	vcpu_set_window_exits(vcpu, windows);
	/* A guest lowering CR8 below this exits, so a masked interrupt gets its turn. */
	if (vmx_get_config()->has_tpr_shadow) {
		uint8_t threshold = vlapic_tpr_threshold(&vcpu->lapic);

		if (threshold != vcpu->tpr_threshold) {
			vmcs_write32(VMCS_TPR_THRESHOLD, threshold);
			vcpu->tpr_threshold = threshold;
		}
	}
}

/** Runs the vCPU's virtual timers up to host TSC @now; vCPU 0 also runs the platform's. */
void vcpu_events_update_timers(struct vcpu *vcpu, uint64_t now)
{
	if (now >= vlapic_timer_next_deadline(&vcpu->lapic)) {
		vlapic_timer_update(&vcpu->lapic, now);
		vcpu_events_changed(vcpu);
	}
	if (vcpu->index == 0) {
		platform_update_timers(vcpu->partition, now);
	}
}

/** Host TSC of the vCPU's next timer expiry (vCPU 0: the platform's too), or UINT64_MAX. */
uint64_t vcpu_events_next_deadline(const struct vcpu *vcpu)
{
	uint64_t deadline = vlapic_timer_next_deadline(&vcpu->lapic);

	if (vcpu->index == 0) {
		deadline = MIN(deadline, platform_next_deadline(vcpu->partition));
	}
	return deadline;
}

/** True when a halted vCPU has something to wake for at host TSC @now. */
bool vcpu_events_wakes(struct vcpu *vcpu, uint64_t now)
{
	vcpu_events_update_timers(vcpu, now);
	return vcpu->lapic.pending_nmi || vcpu_pending_interrupt(vcpu) >= 0;
}
