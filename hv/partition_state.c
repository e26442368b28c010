/*
 * A partition's run state: started, stopped with a reason. Stopping touches
 * only that partition; the reason is kept for the console and reported once.
 */
#include <stdarg.h>
#include "hv/partition.h"
#include "hv/format.h"
#include "hv/log.h"

/** Marks the partition running and its vCPUs runnable. */
void partition_start(struct partition *p)
{
	p->state = PARTITION_RUNNING;
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		p->vcpus[i].state = VCPU_RUNNABLE;
	}
	log_info("partition '%s' started", p->config->name);
}

/** Stops every vCPU of the partition and reports why, once. */
void partition_stop(struct partition *p, const char *fmt, ...)
{
	va_list ap;

	if (p->state == PARTITION_STOPPED) {
		return;
	}
	p->state = PARTITION_STOPPED;
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		p->vcpus[i].state = VCPU_STOPPED;
	}
	vuart_flush(&p->uart);
	va_start(ap, fmt);
	format_vsnprintf(p->stop_reason, sizeof(p->stop_reason), fmt, ap);
	va_end(ap);
	log_info("partition %s stopped: %s", p->config->name, p->stop_reason);
	/* Nothing runs there any more: its RAM goes back, scrubbed. */
	partition_memory_release(p);
}
