/*
 * Round-robin over every runnable vCPU. Only the boot CPU runs vCPUs yet;
 * the cursor lives in per-CPU data so that each CPU keeps its own place once
 * the others are brought up.
 */
#include "hv/sched.h"
#include "hv/exit.h"
#include "hv/log.h"
#include "hv/operator.h"
#include "hv/percpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmx.h"

/** The next runnable vCPU after the cursor, or NULL when none can run. */
static struct vcpu *sched_pick_next(void)
{
	unsigned int slots = PARTITION_MAX * CONFIG_MAX_VCPUS;
	struct percpu *cpu = this_cpu();

	/* The cursor names the slot to consider first: the one after the last run. */
	for (unsigned int n = 0; n < slots; n++) {
		unsigned int slot = (cpu->sched_cursor + n) % slots;
		struct partition *p = &partitions[slot / CONFIG_MAX_VCPUS];
		unsigned int index = slot % CONFIG_MAX_VCPUS;

		if (p->state == PARTITION_RUNNING && index < p->vcpu_count &&
		    p->vcpus[index].state == VCPU_RUNNABLE) {
			cpu->sched_cursor = (slot + 1) % slots;
			return &p->vcpus[index];
		}
	}
	return NULL;
}

/** True while some partition can still make progress. */
static bool sched_any_running(void)
{
	for (unsigned int i = 0; i < PARTITION_MAX; i++) {
		if (partitions[i].state == PARTITION_RUNNING) {
			return true;
		}
	}
	return false;
}

/** Runs one vCPU until its slice ends, it halts, or its partition stops. */
static void sched_run_vcpu(struct vcpu *vcpu)
{
	uint64_t slice_start = cpu_rdtsc();

	this_cpu()->current_vcpu = vcpu;
	vmx_switch_guest_context(this_cpu(), vcpu);
	/*
	 * The VMX-preemption timer ends a slice of a guest that never exits;
	 * one that exits often is measured here, so it cannot keep the CPU.
	 */
	while (cpu_rdtsc() - slice_start < SCHED_SLICE_TSC) {
		enum vmx_enter_result entered = vmx_vcpu_run(vcpu);

		if (entered != VMX_ENTER_EXITED) {
			exit_report_entry_failure(vcpu, entered == VMX_ENTER_FAIL_VALID);
			break;
		}
		if (exit_dispatch(vcpu) != EXIT_RESUME) {
			break;
		}
	}
	this_cpu()->current_vcpu = NULL;
}

/** Runs vCPUs on this CPU forever. */
void sched_run(void)
{
	bool idle_reported = false;

	for (;;) {
		struct vcpu *vcpu = sched_pick_next();

		/* Between slices: keystrokes wait at most one slice. */
		operator_poll();
		if (vcpu != NULL) {
			idle_reported = false;
			sched_run_vcpu(vcpu);
			continue;
		}
		if (!idle_reported && !sched_any_running()) {
			log_info("all partitions stopped");
			idle_reported = true;
		}
		cpu_relax();
	}
}
