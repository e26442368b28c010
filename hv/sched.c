/*
 * Round-robin over every runnable vCPU. Only the boot CPU runs vCPUs yet;
 * the cursor lives in per-CPU data so that each CPU keeps its own place once
 * the others are brought up.
 *
 * Time: a vCPU runs for a slice (SCHED_SLICES_PER_SECOND) unless it halts or
 * exits for good; a vCPU alone on the CPU runs without one until another
 * partition starts. The VMX-preemption timer is armed for the nearest
 * deadline, and with "save VMX-preemption timer value" it keeps counting
 * across exits, so a fast-path exit costs no clock read; an exit handled in
 * C takes the time it spent off the timer, which did not count it. The console is
 * served every tick (SCHED_TICKS_PER_SECOND) while it has work, and
 * SCHED_IDLE_TICKS_PER_SECOND while it has none, whatever the guests do, so
 * keystrokes are echoed promptly even while a guest never exits.
 */
#include "hv/sched.h"
#include "hv/exit.h"
#include "hv/log.h"
#include "hv/operator.h"
#include "hv/percpu.h"
#include "hv/vcpu_events.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmx_count.h"

/* When the firmware gave no clock at all: a plausible TSC rate. */
#define SCHED_FALLBACK_TSC_HZ 1000000000ULL

uint64_t tsc_hz;
static uint64_t sched_slice_tsc;
static uint64_t sched_tick_tsc;
static uint64_t sched_idle_tick_tsc;

/** Sets the clock the scheduler's time slices are measured in. */
void sched_init(uint64_t tsc_ticks_per_second)
{
	if (tsc_ticks_per_second < SCHED_TICKS_PER_SECOND) {
		log_warn("the TSC frequency is unknown; assuming %llu MHz",
			 SCHED_FALLBACK_TSC_HZ / 1000000);
		tsc_ticks_per_second = SCHED_FALLBACK_TSC_HZ;
	}
	tsc_hz = tsc_ticks_per_second;
	sched_slice_tsc = tsc_hz / SCHED_SLICES_PER_SECOND;
	sched_tick_tsc = tsc_hz / SCHED_TICKS_PER_SECOND;
	sched_idle_tick_tsc = tsc_hz / SCHED_IDLE_TICKS_PER_SECOND;
}

/** Whether the vCPU can run now; a halted one wakes for a deliverable event. */
static bool sched_can_run(struct vcpu *vcpu, uint64_t now)
{
	if (vcpu->state == VCPU_HALTED && vcpu_events_wakes(vcpu, now)) {
		vcpu->state = VCPU_RUNNABLE;
	}
	return vcpu->state == VCPU_RUNNABLE;
}

/** The next runnable vCPU after the cursor, or NULL when none can run. */
static struct vcpu *sched_pick_next(void)
{
	unsigned int slots = PARTITION_MAX * CONFIG_MAX_VCPUS;
	struct percpu *cpu = this_cpu();
	uint64_t now = cpu_rdtsc();

	/* The cursor names the slot to consider first: the one after the last run. */
	for (unsigned int n = 0; n < slots; n++) {
		unsigned int slot = (cpu->sched_cursor + n) % slots;
		struct partition *p = &partitions[slot / CONFIG_MAX_VCPUS];
		unsigned int index = slot % CONFIG_MAX_VCPUS;

		if (p->state == PARTITION_RUNNING && index < p->vcpu_count &&
		    sched_can_run(&p->vcpus[index], now)) {
			cpu->sched_cursor = (slot + 1) % slots;
			return &p->vcpus[index];
		}
	}
	return NULL;
}

/** True while some partition can still make progress (a paused one can resume). */
static bool sched_any_running(void)
{
	for (unsigned int i = 0; i < PARTITION_MAX; i++) {
		if (partitions[i].state == PARTITION_RUNNING ||
		    partitions[i].state == PARTITION_PAUSED) {
			return true;
		}
	}
	return false;
}

/**
 * Whether a vCPU other than @vcpu may want this CPU: one of a running
 * partition, runnable or halted (a halted one wakes on its timers). Alone,
 * a vCPU needs no time slice: ending it would only pick it again.
 */
static bool sched_has_company(const struct vcpu *vcpu)
{
	for (unsigned int i = 0; i < PARTITION_MAX; i++) {
		const struct partition *p = &partitions[i];

		for (unsigned int v = 0; p->state == PARTITION_RUNNING && v < p->vcpu_count; v++) {
			const struct vcpu *other = &p->vcpus[v];

			if (other != vcpu && other->state != VCPU_STOPPED) {
				return true;
			}
		}
	}
	return false;
}

/** Starts @vcpu's slice at @now; none (UINT64_MAX) while it is alone. */
static void sched_start_slice(struct vcpu *vcpu, uint64_t now)
{
	vcpu->slice_end = sched_has_company(vcpu) ? now + sched_slice_tsc : UINT64_MAX;
}

/** Serves the operator's console when its tick is due (boot CPU only). */
static void sched_console_tick(struct percpu *cpu, uint64_t now)
{
	if (cpu->index != 0 || now < cpu->next_console_tick) {
		return;
	}
	/* The next tick is set first: a command may run a while and stop a partition. */
	cpu->next_console_tick = now + sched_tick_tsc;
	if (!operator_poll()) {
		cpu->next_console_tick = now + sched_idle_tick_tsc;
	}
}

/** The nearest deadline of the running vCPU; see sched.h. */
uint64_t sched_next_deadline(const struct vcpu *vcpu)
{
	uint64_t deadline = MIN(vcpu->slice_end, vcpu_events_next_deadline(vcpu));
	const struct percpu *cpu = this_cpu();

	if (cpu->index == 0) {
		deadline = MIN(deadline, cpu->next_console_tick);
	}
	return deadline;
}

/** A deadline passed while @vcpu ran; see sched.h. */
enum exit_result sched_deadline_passed(struct vcpu *vcpu)
{
	struct partition *p = vcpu->partition;
	unsigned int restarts = p->restarts;
	uint64_t now = cpu_rdtsc();

	sched_console_tick(this_cpu(), now);
	vcpu_events_update_timers(vcpu, now);
	/* A command may have started another partition: the slice starts then. */
	if (vcpu->slice_end == UINT64_MAX) {
		sched_start_slice(vcpu, now);
	}
	/* A command may have stopped or rebuilt the partition meanwhile. */
	// cppcheck-suppress knownConditionTrueFalse ; operator_poll() may restart it
	if (p->restarts != restarts ||
	    (p->state != PARTITION_RUNNING && p->state != PARTITION_PAUSED)) {
		return EXIT_STOPPED;
	}
	/* Paused: its VMCS and any event being delivered stay as they are. */
	if (p->state == PARTITION_PAUSED) {
		return EXIT_RESCHEDULE;
	}
	vcpu->fast.entry_work |= VCPU_WORK_TIMER;
	if (vcpu->state != VCPU_RUNNABLE || now >= vcpu->slice_end) {
		return EXIT_RESCHEDULE;
	}
	return EXIT_RESUME;
}

/** Does what must happen before the next entry (vcpu->fast.entry_work). */
static void sched_prepare_entry(struct vcpu *vcpu)
{
	if (vcpu->fast.entry_work & VCPU_WORK_EVENTS) {
		vcpu_events_prepare(vcpu);
	}
	if (vcpu->fast.entry_work & VCPU_WORK_TIMER) {
		uint64_t now = cpu_rdtsc();
		uint64_t deadline = sched_next_deadline(vcpu);

		vmx_arm_preemption_timer(deadline > now ? deadline - now : 0);
	}
	/* Without a saved timer value every entry restarts the count: re-arm it. */
	vcpu->fast.entry_work = vmx_get_config()->has_save_preemption_timer ? 0 : VCPU_WORK_TIMER;
}

/** Runs one vCPU until its slice ends, it halts, or its partition stops. */
static void sched_run_vcpu(struct vcpu *vcpu)
{
	struct percpu *cpu = this_cpu();

	if (!vmx_vcpu_load(vcpu)) {
		exit_report_entry_failure(vcpu, false);
		return;
	}
	cpu->current_vcpu = vcpu;
	vmx_switch_guest_context(cpu, vcpu);
	sched_start_slice(vcpu, cpu_rdtsc());
	vcpu->fast.entry_work |= VCPU_WORK_TIMER | VCPU_WORK_EVENTS;
	for (;;) {
		enum vmx_enter_result entered;
		uint64_t exited_at;

		if (vcpu->fast.entry_work != 0) {
			sched_prepare_entry(vcpu);
		}
		entered = vmx_vcpu_run(vcpu);
		exited_at = cpu_rdtsc();
		if (entered != VMX_ENTER_EXITED) {
			exit_report_entry_failure(vcpu, entered == VMX_ENTER_FAIL_VALID);
			break;
		}
		if (exit_dispatch(vcpu) != EXIT_RESUME) {
			break;
		}
		/*
		 * The VMX-preemption timer stood still while the exit was handled
		 * (its value is saved and reloaded across exits): take that time
		 * off, or a guest whose exits take long would push every deadline out.
		 */
		vmx_preemption_timer_stood_still(cpu_rdtsc() - exited_at);
		/* No preemption timer: only exits give the scheduler the CPU back. */
		if (!vmx_get_config()->has_preemption_timer &&
		    cpu_rdtsc() >= sched_next_deadline(vcpu) &&
		    sched_deadline_passed(vcpu) != EXIT_RESUME) {
			break;
		}
	}
	cpu->current_vcpu = NULL;
}

/** Runs vCPUs on this CPU forever. */
void sched_run(void)
{
	bool idle_reported = false;

	for (;;) {
		struct vcpu *vcpu = sched_pick_next();

		sched_console_tick(this_cpu(), cpu_rdtsc());
		if (vcpu != NULL) {
			idle_reported = false;
			sched_run_vcpu(vcpu);
			continue;
		}
		if (!idle_reported && !sched_any_running()) {
			vmx_count_report();
			log_info("all partitions stopped");
			idle_reported = true;
		}
		cpu_relax();
	}
}
