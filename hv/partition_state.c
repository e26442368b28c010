/*
 * A partition's run state: started, paused, resumed, stopped with a reason.
 * Stopping touches only that partition; the reason is kept for the console
 * and reported once. Every change is logged and told to one observer (the
 * operator's console, which turns them into events).
 */
#include <stdarg.h>
#include "hv/partition.h"
#include "hv/format.h"
#include "hv/log.h"
#include "arch/x86/cpu.h"
#include "arch/x86/exit_reasons.h"

static partition_observer_fn partition_observer;

/** Sets the one observer of state changes. */
void partition_set_observer(partition_observer_fn fn)
{
	partition_observer = fn;
}

/** Tells the observer, if any, what just happened to @p. */
static void partition_notify(struct partition *p, enum partition_change change)
{
	if (partition_observer != NULL) {
		partition_observer(p, change);
	}
}

/** As partition_start(), reporting @change (started or restarted) to the observer. */
void partition_mark_running(struct partition *p, enum partition_change change)
{
	p->state = PARTITION_RUNNING;
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		p->vcpus[i].state = VCPU_RUNNABLE;
	}
	p->started_at = cpu_rdtsc();
	p->shutdown_requested = false;
	log_info("partition '%s' started", p->config->name);
	partition_notify(p, change);
}

/** Marks the partition running and its vCPUs runnable. */
void partition_start(struct partition *p)
{
	partition_mark_running(p, PARTITION_CHANGE_STARTED);
}

/**
 * Logs (debug) how long the run that ends took and its exits, one line per
 * reason, which `make bench` reads: "bench: partition=NAME ran_ticks=N" and
 * "bench: partition=NAME exits reason=REASON count=N".
 */
static void partition_log_exits(const struct partition *p)
{
	log_debug("bench: partition=%s ran_ticks=%llu", p->config->name,
		  (unsigned long long)(cpu_rdtsc() - p->started_at));
	for (unsigned int reason = 0; reason < EXIT_REASON_COUNT; reason++) {
		uint64_t count = partition_exits_of_reason(p, reason);

		if (count > 0) {
			log_debug("bench: partition=%s exits reason=%s count=%llu", p->config->name,
				  exit_reason_name(reason), (unsigned long long)count);
		}
	}
}

/** Stops every vCPU of the partition and reports why, once. */
void partition_stop(struct partition *p, const char *fmt, ...)
{
	va_list ap;

	if (p->state == PARTITION_STOPPED) {
		return;
	}
	p->state = PARTITION_STOPPED;
	p->shutdown_requested = false;
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		p->vcpus[i].state = VCPU_STOPPED;
	}
	vuart_flush(&p->uart);
	va_start(ap, fmt);
	format_vsnprintf(p->stop_reason, sizeof(p->stop_reason), fmt, ap);
	va_end(ap);
	log_info("partition %s stopped: %s", p->config->name, p->stop_reason);
	partition_log_exits(p);
	/* Nothing runs there any more: its RAM goes back, scrubbed. */
	partition_memory_release(p);
	partition_notify(p, PARTITION_CHANGE_STOPPED);
}

/**
 * Stops scheduling a running partition. Its vCPUs keep their state (a
 * halted one stays halted), its RAM and devices stay as they are; only the
 * scheduler, which runs vCPUs of running partitions alone, passes it by.
 */
void partition_pause(struct partition *p)
{
	if (p->state != PARTITION_RUNNING) {
		return;
	}
	p->state = PARTITION_PAUSED;
	log_info("partition %s paused", p->config->name);
	partition_notify(p, PARTITION_CHANGE_PAUSED);
}

/** Schedules a paused partition again. */
void partition_resume(struct partition *p)
{
	if (p->state != PARTITION_PAUSED) {
		return;
	}
	p->state = PARTITION_RUNNING;
	log_info("partition %s resumed", p->config->name);
	partition_notify(p, PARTITION_CHANGE_RESUMED);
}

/**
 * Records a power-button request. The first press starts the clock; pressing
 * again while the partition still runs does not put the forced stop off.
 */
void partition_request_power_button(struct partition *p)
{
	if (p->state != PARTITION_RUNNING || p->shutdown_requested) {
		return;
	}
	p->shutdown_requested = true;
	p->shutdown_requested_at = cpu_rdtsc();
	log_info("partition %s: power button pressed; stopped by force in %u s unless it stops",
		 p->config->name, p->config->stop_timeout_s);
}

/** Whether a power-button request is older than the partition's stop_timeout. */
bool partition_stop_overdue(const struct partition *p, uint64_t now_tsc, uint64_t tsc_hz)
{
	if (!p->shutdown_requested ||
	    (p->state != PARTITION_RUNNING && p->state != PARTITION_PAUSED)) {
		return false;
	}
	/* A TSC that went backwards (it should not) counts as no time passed. */
	return now_tsc >= p->shutdown_requested_at &&
	       now_tsc - p->shutdown_requested_at >= (uint64_t)p->config->stop_timeout_s * tsc_hz;
}

/** Sends every byte the partition's UART transmits to @fn too (NULL: stop), across restarts. */
void partition_set_console_tap(struct partition *p,
			       void (*fn)(void *ctx, const char *bytes, size_t length), void *ctx)
{
	p->console_tap = fn;
	p->console_tap_ctx = ctx;
	vuart_set_raw_output(&p->uart, fn, ctx);
}
