/*
 * The dispatcher: the entry point of every VM exit. One table maps each basic
 * exit reason (SDM Vol. 3, Appendix C) to a handler; an exit nobody can
 * handle stops that partition with a diagnosis, never the hypervisor.
 */
#include "hv/exit.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_count.h"
#include "hv/log.h"
#include "hv/sched.h"
#include "hv/vcpu_events.h"

/** Logs the vCPU's last exits, oldest first, after a diagnosis line. */
static void exit_log_recent(const struct vcpu *vcpu)
{
	uint64_t count = MIN(vcpu->exit_count, (uint64_t)VCPU_RECENT_EXITS);

	for (uint64_t i = vcpu->exit_count - count; i < vcpu->exit_count; i++) {
		const struct exit_record *r = &vcpu->recent_exits[i % VCPU_RECENT_EXITS];

		log_info("  partition %s vcpu %u exit #%llu: %s, qualification 0x%llx, rip %#llx, gpa %#llx",
			 vcpu->partition->config->name, vcpu->index, (unsigned long long)i + 1,
			 exit_reason_name(exit_reason_basic(r->reason)),
			 (unsigned long long)r->qualification, (unsigned long long)r->guest_rip,
			 (unsigned long long)r->gpa);
	}
}

/** Stops the partition: an exit Tessera does not (yet) emulate. */
static enum exit_result exit_stop_unhandled(struct vcpu *vcpu, const struct vm_exit *exit)
{
	partition_stop(vcpu->partition, "%s (exit reason %u), qualification 0x%llx, guest rip %#llx",
		       exit_reason_name(exit->reason), exit->reason,
		       (unsigned long long)vmcs_readl(VMCS_EXIT_QUALIFICATION),
		       (unsigned long long)exit->guest_rip);
	exit_log_recent(vcpu);
	return EXIT_STOPPED;
}

/**
 * A triple fault: the guest machine would reset (shutdown). Tessera stops it
 * with a diagnosis and, when its configuration says on_crash = restart,
 * boots it again.
 */
static enum exit_result exit_handle_triple_fault(struct vcpu *vcpu, const struct vm_exit *exit)
{
	struct partition *p = vcpu->partition;

	exit_stop_unhandled(vcpu, exit);
	if (p->config->on_crash == CRASH_RESTART && partition_restart(p)) {
		return EXIT_RESCHEDULE;
	}
	return EXIT_STOPPED;
}

/** VMX instructions in a guest: VMX is not offered, so they are #UD. */
static enum exit_result exit_inject_ud(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vcpu_inject_exception(VECTOR_UD);
	return EXIT_RESUME;
}

/** An interrupt for the host arrived while the guest ran. */
static enum exit_result exit_handle_external_interrupt(struct vcpu *vcpu,
						       const struct vm_exit *exit)
{
	/*
	 * With "acknowledge interrupt on exit" the CPU already took the vector
	 * from the APIC, so the host completes it here; otherwise it is still
	 * pending and is taken through the IDT once interrupts are enabled.
	 */
	if (vmx_get_config()->has_ack_interrupt_on_exit) {
		lapic_eoi();
	} else {
		__asm__ volatile("sti; nop; cli" ::: "memory");
	}
	return EXIT_RESCHEDULE;
}

/**
 * An NMI arrived while the guest ran (NMI exiting): it was meant for the
 * host, so it is delivered to the host's own handler. Exceptions never exit
 * (the exception bitmap is empty), so anything else is a diagnosis.
 */
static enum exit_result exit_handle_exception_nmi(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint32_t info = vmcs_read32(VMCS_EXIT_INTERRUPTION_INFO);
	uint32_t type = (info >> VMCS_INTR_INFO_TYPE_SHIFT) & 7;

	if ((info & VMCS_INTR_INFO_VALID) != 0 && type == VMCS_INTR_TYPE_NMI) {
		host_deliver_nmi();
		return EXIT_RESUME;
	}
	return exit_stop_unhandled(vcpu, exit);
}

/** A deadline of the scheduler passed: slice end, console tick or a virtual timer. */
static enum exit_result exit_handle_preemption_timer(struct vcpu *vcpu,
						     const struct vm_exit *exit)
{
	return sched_deadline_passed(vcpu);
}

/**
 * Interrupt window, NMI window, TPR below threshold: the guest can now take
 * an event it could not before; the entry path injects it.
 */
static enum exit_result exit_handle_event_window(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vcpu->fast.entry_work |= VCPU_WORK_EVENTS;
	return EXIT_RESUME;
}

/** HLT: with interrupts off the vCPU can never wake, so it is stopped. */
static enum exit_result exit_handle_hlt(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vcpu_advance_rip(vcpu, exit);
	if ((vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_IF) == 0) {
		partition_stop(vcpu->partition, "halted with interrupts disabled at guest rip %#llx",
			       (unsigned long long)exit->guest_rip);
		return EXIT_STOPPED;
	}
	vcpu->state = VCPU_HALTED;
	return EXIT_RESCHEDULE;
}

/**
 * PAUSE-loop exiting: the guest spins, most likely on a lock held by a vCPU
 * that is not running; skip the PAUSE and let the scheduler run another.
 */
static enum exit_result exit_handle_pause(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESCHEDULE;
}

/** INVD, WBINVD: caches are coherent for the guest; INVD acts as WBINVD. */
static enum exit_result exit_skip_instruction(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}

/**
 * An EPT violation: on a range a virtual device claims, the interpreter
 * emulates the access; anywhere else the guest reached for memory that is
 * not its own, and the partition stops with GPA, access and RIP.
 */
static enum exit_result exit_handle_ept_violation(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint64_t q = exit->qualification;
	gpa_t gpa = exit->gpa;
	const struct mmio_region *region = mmio_map_find(&vcpu->partition->mmio, gpa);

	if (region != NULL) {
		return (enum exit_result)mmio_emulate(vcpu, exit, region);
	}

	partition_stop(vcpu->partition, "EPT_VIOLATION: %s of gpa %#llx at guest rip %#llx",
		       (q & 4) ? "instruction fetch" : (q & 2) ? "write" : "read",
		       (unsigned long long)gpa_addr(gpa),
		       (unsigned long long)exit->guest_rip);
	exit_log_recent(vcpu);
	return EXIT_STOPPED;
}

/*
 * Every reason defaults to a diagnosed stop; the entries below override that
 * default, which is what -Woverride-init would warn about.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
/** An EPT misconfiguration: Tessera built a bad entry; stop with the GPA. */
static enum exit_result exit_handle_ept_misconfig(struct vcpu *vcpu, const struct vm_exit *exit)
{
	partition_stop(vcpu->partition,
		       "%s (exit reason %u), qualification 0x%llx, guest rip %#llx, gpa %#llx",
		       exit_reason_name(exit->reason), exit->reason,
		       (unsigned long long)vmcs_readl(VMCS_EXIT_QUALIFICATION),
		       (unsigned long long)exit->guest_rip,
		       (unsigned long long)gpa_addr(exit->gpa));
	return EXIT_STOPPED;
}

const exit_handler_fn exit_handlers[EXIT_REASON_COUNT] = {
	[0 ... EXIT_REASON_COUNT - 1] = exit_stop_unhandled,
	[EXIT_REASON_EXCEPTION_NMI] = exit_handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = exit_handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT] = exit_handle_triple_fault,
	[EXIT_REASON_CPUID] = exit_handle_cpuid,
	[EXIT_REASON_HLT] = exit_handle_hlt,
	[EXIT_REASON_INVD] = exit_skip_instruction,
	[EXIT_REASON_WBINVD] = exit_skip_instruction,
	[EXIT_REASON_VMCALL] = exit_handle_vmcall,
	[EXIT_REASON_VMCLEAR] = exit_inject_ud,
	[EXIT_REASON_VMLAUNCH] = exit_inject_ud,
	[EXIT_REASON_VMPTRLD] = exit_inject_ud,
	[EXIT_REASON_VMPTRST] = exit_inject_ud,
	[EXIT_REASON_VMREAD] = exit_inject_ud,
	[EXIT_REASON_VMRESUME] = exit_inject_ud,
	[EXIT_REASON_VMWRITE] = exit_inject_ud,
	[EXIT_REASON_VMXOFF] = exit_inject_ud,
	[EXIT_REASON_VMXON] = exit_inject_ud,
	[EXIT_REASON_INVEPT] = exit_inject_ud,
	[EXIT_REASON_INVVPID] = exit_inject_ud,
	[EXIT_REASON_VMFUNC] = exit_inject_ud,
	[EXIT_REASON_CR_ACCESS] = exit_handle_cr_access,
	[EXIT_REASON_IO_INSTRUCTION] = exit_handle_io,
	[EXIT_REASON_RDMSR] = exit_handle_rdmsr,
	[EXIT_REASON_WRMSR] = exit_handle_wrmsr,
	[EXIT_REASON_EPT_VIOLATION] = exit_handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = exit_handle_ept_misconfig,
	[EXIT_REASON_PREEMPTION_TIMER] = exit_handle_preemption_timer,
	[EXIT_REASON_XSETBV] = exit_handle_xsetbv,
	[EXIT_REASON_PAUSE] = exit_handle_pause,
	[EXIT_REASON_INTERRUPT_WINDOW] = exit_handle_event_window,
	[EXIT_REASON_NMI_WINDOW] = exit_handle_event_window,
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = exit_handle_event_window,
	[EXIT_REASON_MWAIT] = exit_inject_ud,   /* MONITOR/MWAIT are not offered (CPUID) */
	[EXIT_REASON_MONITOR] = exit_inject_ud,
};
#pragma GCC diagnostic pop

/** Reports a VM entry that failed while loading guest state (SDM 26.8). */
static enum exit_result exit_report_entry_failure_exit(struct vcpu *vcpu,
						       const struct vm_exit *exit)
{
	partition_stop(vcpu->partition,
		       "VM-entry failed: %s (exit reason %u), qualification 0x%llx, guest rip %#llx",
		       exit_reason_name(exit->reason), exit->reason,
		       (unsigned long long)vmcs_readl(VMCS_EXIT_QUALIFICATION),
		       (unsigned long long)exit->guest_rip);
	return EXIT_STOPPED;
}

/* Reasons whose handlers use the exit qualification (SDM 28.2.1). */
static const bool exit_uses_qualification[EXIT_REASON_COUNT] = {
	[EXIT_REASON_EXCEPTION_NMI] = true, [EXIT_REASON_TASK_SWITCH] = true,
	[EXIT_REASON_CR_ACCESS] = true, [EXIT_REASON_MOV_DR] = true,
	[EXIT_REASON_IO_INSTRUCTION] = true, [EXIT_REASON_APIC_ACCESS] = true,
	[EXIT_REASON_EPT_VIOLATION] = true,
};

/*
 * Reasons that can happen while an event is being delivered, leaving it
 * undelivered in the IDT-vectoring information (SDM 28.2.4); no exit caused
 * by an instruction can.
 */
static const bool exit_during_event_delivery[EXIT_REASON_COUNT] = {
	[EXIT_REASON_EXCEPTION_NMI] = true, [EXIT_REASON_EXTERNAL_INTERRUPT] = true,
	[EXIT_REASON_TRIPLE_FAULT] = true, [EXIT_REASON_TASK_SWITCH] = true,
	[EXIT_REASON_APIC_ACCESS] = true, [EXIT_REASON_EPT_VIOLATION] = true,
	[EXIT_REASON_EPT_MISCONFIG] = true, [EXIT_REASON_PML_FULL] = true,
	[EXIT_REASON_SPP_EVENT] = true,
};

/** Notes the exit in the vCPU's ring of recent exits (for diagnoses). */
static void exit_record(struct vcpu *vcpu, const struct vm_exit *exit)
{
	struct exit_record *r = &vcpu->recent_exits[vcpu->exit_count % VCPU_RECENT_EXITS];

	r->reason = exit->full_reason;
	r->qualification = exit->qualification;
	r->guest_rip = exit->guest_rip;
	r->gpa = gpa_addr(exit->gpa);
}

/**
 * An exit during event delivery (IDT-vectoring information valid) left the
 * event undelivered: unless the handler injected something itself, the same
 * event goes in again on the next entry (SDM 28.2.4, 27.6).
 */
static void exit_reinject_vectoring_event(void)
{
	uint32_t idt_info = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	uint32_t type = (idt_info >> VMCS_INTR_INFO_TYPE_SHIFT) & 7;

	if (!(idt_info & VMCS_INTR_INFO_VALID) ||
	    (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & VMCS_INTR_INFO_VALID)) {
		return;
	}
	if (idt_info & VMCS_INTR_INFO_DELIVER_ERROR) {
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR, vmcs_read32(VMCS_IDT_VECTORING_ERROR));
	}
	/* Software interrupts and exceptions need their instruction length again. */
	if (type == VMCS_INTR_TYPE_SOFT_INTERRUPT || type == VMCS_INTR_TYPE_PRIV_SOFT_EXCEPTION ||
	    type == VMCS_INTR_TYPE_SOFT_EXCEPTION) {
		vmcs_write32(VMCS_ENTRY_INSTRUCTION_LENGTH, vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
	}
	/* Bit 12 (NMI unblocking due to IRET) is undefined in this field. */
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, idt_info & ~(1U << 12));
}

/** Reads the exit, counts it and runs its handler. */
enum exit_result exit_dispatch(struct vcpu *vcpu)
{
	enum exit_result result;
	struct vm_exit exit = {
		.full_reason = vmcs_read32(VMCS_EXIT_REASON),
		.guest_rip = vmcs_readl(VMCS_GUEST_RIP),
	};

	exit.reason = exit_reason_basic(exit.full_reason);
	vmx_count_exit(exit.reason);
	if (exit.reason < EXIT_REASON_COUNT && exit_uses_qualification[exit.reason]) {
		exit.qualification = vmcs_readl(VMCS_EXIT_QUALIFICATION);
	}
	/* The GPA field is meaningful only for EPT exits (SDM 28.2.1). */
	if (exit.reason == EXIT_REASON_EPT_VIOLATION || exit.reason == EXIT_REASON_EPT_MISCONFIG) {
		exit.gpa = gpa_init(vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS));
	}
	exit_record(vcpu, &exit);
	vcpu->exit_count++;
	if (exit.reason < EXIT_REASON_COUNT) {
		vcpu->exits_by_reason[exit.reason]++;
	}
	if (exit.full_reason & EXIT_REASON_ENTRY_FAILURE) {
		return exit_report_entry_failure_exit(vcpu, &exit);
	}
	if (exit.reason >= EXIT_REASON_COUNT) {
		return exit_stop_unhandled(vcpu, &exit);
	}
	result = exit_handlers[exit.reason](vcpu, &exit);
	if (result != EXIT_STOPPED && exit_during_event_delivery[exit.reason]) {
		exit_reinject_vectoring_event();
	}
	return result;
}

/** Reports a failed VMLAUNCH/VMRESUME (VMfail) and stops the partition. */
void exit_report_entry_failure(struct vcpu *vcpu, bool valid_vmcs)
{
	if (!valid_vmcs) {
		partition_stop(vcpu->partition, "VM-entry failed: no valid current VMCS");
		return;
	}
	uint32_t error = vmcs_read32(VMCS_INSTRUCTION_ERROR);

	partition_stop(vcpu->partition, "VM-entry failed: VM-instruction error %u (%s), guest rip %#llx",
		       error, vmx_instruction_error_name(error),
		       (unsigned long long)vmcs_readl(VMCS_GUEST_RIP));
}

/**
 * The instruction completed: STI and MOV SS blocking end with it (SDM
 * 24.4.2); blocking by SMI is cleared too (see vmx_vcpu_run).
 */
void vcpu_end_instruction_blocking(struct vcpu *vcpu)
{
	const uint32_t ends = VMCS_INTERRUPTIBILITY_STI | VMCS_INTERRUPTIBILITY_MOV_SS |
			      VMCS_INTERRUPTIBILITY_SMI;
	uint32_t interruptibility = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	if (interruptibility & ends) {
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, interruptibility & ~ends);
	}
	vcpu->interruptibility_checked = true;
}

/** Moves the guest past the instruction that exited. */
void vcpu_advance_rip(struct vcpu *vcpu, const struct vm_exit *exit)
{
	vmcs_writel(VMCS_GUEST_RIP,
		    exit->guest_rip + vmcs_read32(VMCS_EXIT_INSTRUCTION_LENGTH));
	vcpu_end_instruction_blocking(vcpu);
}

/** Injects a hardware exception without error code (#UD, #DE, ...). */
void vcpu_inject_exception(uint8_t vector)
{
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO,
		     VMCS_INTR_INFO_VALID | (VMCS_INTR_TYPE_HW_EXCEPTION << VMCS_INTR_INFO_TYPE_SHIFT) |
		     vector);
}

/** Injects a hardware exception with an error code (#GP(0), ...). */
void vcpu_inject_exception_error(uint8_t vector, uint32_t error_code)
{
	vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR, error_code);
	vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO,
		     VMCS_INTR_INFO_VALID | VMCS_INTR_INFO_DELIVER_ERROR |
		     (VMCS_INTR_TYPE_HW_EXCEPTION << VMCS_INTR_INFO_TYPE_SHIFT) | vector);
}
