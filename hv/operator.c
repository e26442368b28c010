/*
 * The shell's backend: what each operator command asks of the hypervisor,
 * answered from the partition table, the ledger and the audit. The shell
 * formats; this file only gathers and acts.
 */
#include "hv/operator.h"
#include "hv/alloc.h"
#include "hv/audit.h"
#include "hv/console.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/partition.h"
#include "hv/shell.h"
#include "hv/string.h"

#define OPERATOR_POLL_MAX 64 /* bytes per poll: a paste cannot starve the guests */

static struct shell operator_shell;
static const struct tessera_config *operator_config;
static const struct mtrr_state *operator_mtrr;
static int (*operator_read_byte)(void);
static enum log_level operator_loglevel = LOG_INFO;

/** The partition the shell calls number @index (slots in configuration order). */
static struct partition *operator_partition(unsigned int index)
{
	if (partitions == NULL || operator_config == NULL ||
	    index >= operator_config->partition_count || partitions[index].config == NULL) {
		return NULL;
	}
	return &partitions[index];
}

/** shell_backend.partition_count. */
static unsigned int operator_partition_count(void *ctx)
{
	return operator_config->partition_count;
}

/** The shell's view of a partition's state. */
static enum shell_partition_state operator_state(const struct partition *p)
{
	switch (p->state) {
	case PARTITION_RUNNING:
		return SHELL_STATE_RUNNING;
	case PARTITION_STOPPED:
		return SHELL_STATE_STOPPED;
	default:
		return SHELL_STATE_READY;
	}
}

/** shell_backend.partition_info. */
static bool operator_partition_info(void *ctx, unsigned int index, struct shell_partition_info *out)
{
	const struct partition *p = operator_partition(index);

	if (p == NULL) {
		return false;
	}
	memset(out, 0, sizeof(*out));
	strlcpy(out->name, p->config->name, sizeof(out->name));
	out->state = operator_state(p);
	out->vcpus = p->config->vcpus;
	out->memory_bytes = p->config->memory_bytes;
	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		out->exits += p->vcpus[i].exit_count;
	}
	out->restarts = p->restarts;
	strlcpy(out->stop_reason, p->stop_reason, sizeof(out->stop_reason));
	return true;
}

/** shell_backend.start: a built partition starts, a stopped one boots again. */
static bool operator_start(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);

	if (p->state == PARTITION_READY) {
		partition_start(p);
		return true;
	}
	if (p->state == PARTITION_STOPPED && partition_restart(p)) {
		return true;
	}
	strlcpy(error, "it could not be built again (see the log)", error_size);
	return false;
}

/** shell_backend.force_stop (and stop, until guests get a power button). */
static bool operator_stop(void *ctx, unsigned int index, char *error, size_t error_size)
{
	/* Built but never started, or running: either way its RAM goes back. */
	partition_stop(operator_partition(index), "stopped by the operator");
	return true;
}

/** shell_backend.restart: stop at once, then boot from the kept image. */
static bool operator_restart(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);

	partition_stop(p, "restarted by the operator");
	if (!partition_restart(p)) {
		strlcpy(error, "it could not be built again (see the log)", error_size);
		return false;
	}
	return true;
}

/** shell_backend.log_length. */
static size_t operator_log_length(void *ctx, unsigned int index)
{
	const struct partition *p = operator_partition(index);

	return p == NULL || p->console_log.buffer == NULL ? 0 : ring_used(&p->console_log);
}

/** shell_backend.log_read. */
static size_t operator_log_read(void *ctx, unsigned int index, size_t offset, char *buf, size_t size)
{
	const struct partition *p = operator_partition(index);

	return p == NULL || p->console_log.buffer == NULL ? 0
		: ring_read_at(&p->console_log, offset, buf, size);
}

/** shell_backend.exit_counts. */
static bool operator_exit_counts(void *ctx, unsigned int index, uint64_t counts[EXIT_REASON_COUNT])
{
	const struct partition *p = operator_partition(index);

	if (p == NULL) {
		return false;
	}
	for (unsigned int v = 0; v < p->vcpu_count; v++) {
		for (unsigned int r = 0; r < EXIT_REASON_COUNT; r++) {
			counts[r] += p->vcpus[v].exits_by_reason[r];
		}
	}
	return true;
}

/** shell_backend.recent_exits: vCPU 0's ring, oldest first. */
static unsigned int operator_recent_exits(void *ctx, unsigned int index,
					  struct shell_exit_record *out, unsigned int max)
{
	const struct partition *p = operator_partition(index);
	const struct vcpu *v;
	uint64_t count;
	unsigned int n = 0;

	if (p == NULL || p->vcpu_count == 0) {
		return 0;
	}
	v = &p->vcpus[0];
	count = MIN(v->exit_count, (uint64_t)MIN(max, (unsigned int)VCPU_RECENT_EXITS));
	for (uint64_t i = v->exit_count - count; i < v->exit_count; i++, n++) {
		const struct exit_record *r = &v->recent_exits[i % VCPU_RECENT_EXITS];

		out[n] = (struct shell_exit_record){ 0, r->reason, r->qualification, r->guest_rip,
						     r->gpa };
	}
	return n;
}

/** shell_backend.audit: the isolation audit, now. */
static void operator_audit(void *ctx, struct shell_audit_result *out)
{
	struct audit_result r = audit_isolation(partitions, PARTITION_MAX, operator_mtrr);

	*out = (struct shell_audit_result){ r.partitions, r.leaves, r.mapped_bytes, r.problems };
}

/** shell_backend.memmap_entry: extent @index of the ownership ledger. */
static bool operator_memmap_entry(void *ctx, unsigned int index, struct shell_memmap_entry *out)
{
	hpa_t base;
	uint64_t pages;
	owner_t owner;

	if (!alloc_extent_at(index, &base, &pages, &owner)) {
		return false;
	}
	out->start = hpa_addr(base);
	out->size = pages * PAGE_SIZE;
	if (owner == OWNER_FREE) {
		strlcpy(out->owner, "free", sizeof(out->owner));
	} else if (owner_is_hypervisor(owner)) {
		strlcpy(out->owner, "hypervisor", sizeof(out->owner));
	} else if (operator_partition(owner - OWNER_PARTITION_BASE) != NULL) {
		strlcpy(out->owner, partitions[owner - OWNER_PARTITION_BASE].config->name,
			sizeof(out->owner));
	} else {
		format_snprintf(out->owner, sizeof(out->owner), "owner %u", owner);
	}
	return true;
}

/** shell_backend.get_loglevel. */
static enum log_level operator_get_loglevel(void *ctx)
{
	return operator_loglevel;
}

/** shell_backend.set_loglevel. */
static void operator_set_loglevel(void *ctx, enum log_level level)
{
	operator_loglevel = level;
	log_set_level(level);
}

static const struct shell_backend operator_backend = {
	.partition_count = operator_partition_count,
	.partition_info = operator_partition_info,
	.start = operator_start,
	.stop = operator_stop,
	.force_stop = operator_stop,
	.restart = operator_restart,
	.log_length = operator_log_length,
	.log_read = operator_log_read,
	.exit_counts = operator_exit_counts,
	.recent_exits = operator_recent_exits,
	.audit = operator_audit,
	.memmap_entry = operator_memmap_entry,
	.get_loglevel = operator_get_loglevel,
	.set_loglevel = operator_set_loglevel,
};

/** The shell's output: straight to the console, whole writes at a time. */
static void operator_write(void *ctx, const char *buf, size_t len)
{
	console_write_raw(buf, len);
}

/** Starts the shell on the console. */
void operator_init(const struct tessera_config *config, const struct mtrr_state *mtrr,
		   int (*read_byte)(void))
{
	operator_config = config;
	operator_mtrr = mtrr;
	operator_read_byte = read_byte;
	operator_loglevel = config->loglevel;
	shell_init(&operator_shell, &operator_backend, NULL, operator_write, NULL);
	/*
	 * No prompt yet: partition output would land on its line. The prompt
	 * follows the first command (until output goes through shell events).
	 */
	log_info("console: type 'help' and Enter for the operator's commands");
}

/** Feeds what the operator typed since the last call to the shell. */
void operator_poll(void)
{
	char bytes[OPERATOR_POLL_MAX];
	size_t count = 0;
	int c;

	if (operator_read_byte == NULL) {
		return;
	}
	while (count < sizeof(bytes) && (c = operator_read_byte()) >= 0) {
		bytes[count++] = (char)c;
	}
	if (count > 0) {
		shell_input(&operator_shell, bytes, count);
	}
}
