/*
 * The shell's backend: what each operator command asks of the hypervisor,
 * answered from the partition table, the ledger and the audit. The shell
 * formats; this file only gathers, acts and routes.
 *
 * Routing: once operator_init() has run, every partition line and log line
 * the console would print, and every partition state change, becomes a shell
 * event (shell.h). The shell is used by one CPU at a time (operator_lock);
 * an event raised while that CPU is inside the shell (a command that logs,
 * stops a partition, ...) waits in a small queue and follows the command's
 * reply, so no event lands inside a reply or a JSON object.
 *
 * Output: the shell writes through hv/console_streams.h, which hands it to
 * the UART as whole units ahead of partitions' output, and paces each
 * partition's output by what the line carries. A stopped partition's last
 * output goes out before the events that follow its stop.
 */
#include "hv/operator.h"
#include "hv/exit_cache.h"
#include "arch/x86/cpu.h"
#include "arch/x86/power.h"
#include "arch/x86/acpi.h"
#include "arch/x86/vcpu_dump.h"
#include "hv/alloc.h"
#include "hv/audit.h"
#include "hv/console.h"
#include "hv/console_events.h"
#include "hv/console_streams.h"
#include "hv/format.h"
#include "hv/log.h"
#include "hv/partition.h"
#include "hv/percpu.h"
#include "hv/phys.h"
#include "hv/sched.h"
#include "hv/shell.h"
#include "hv/spinlock.h"
#include "hv/string.h"

#define OPERATOR_POLL_MAX 64     /* bytes per poll: a paste cannot starve the guests */
/* Output must pause this long before the prompt is shown again (typing shows it at once). */
#define OPERATOR_PROMPT_QUIET_MS 100
/* The console stays on the fast tick this long after a keystroke. */
#define OPERATOR_ACTIVE_MS 1000
#define OPERATOR_NOBODY (-1)
/* make bench: the console line's throughput is logged per this much busy time. */
#define OPERATOR_THROUGHPUT_WINDOW_MS 100

static struct shell operator_shell;
static const struct tessera_config *operator_config;
static const struct mtrr_state *operator_mtrr;
static int (*operator_read_byte)(void);
static enum log_level operator_loglevel = LOG_INFO;
static struct uart16550 *operator_uart;
static uint64_t operator_acpi_rsdp;
static uint32_t operator_cpu_ids[MAX_CPUS];
static unsigned int operator_cpu_count;

static struct spinlock operator_lock;
static int operator_owner = OPERATOR_NOBODY; /* CPU inside the shell */
static struct console_queue operator_queue;
static uint64_t operator_last_output;     /* TSC of the last event shown in text mode */

/* make bench's figures (debug lines "bench: ..."). */
static uint64_t operator_last_poll;    /* TSC of the last poll */
static uint64_t operator_last_input;   /* TSC of the last poll that read a byte */
static uint64_t operator_echo_read;    /* TSC a keystroke was read at, 0: none timed */
static uint64_t operator_echo_gap;     /* ticks from the poll before it */
static uint64_t operator_echo_mark;    /* urgent bytes queued once its echo was */
static uint64_t operator_busy_since;   /* TSC since the UART's queues are not empty, or 0 */
static uint64_t operator_busy_sent;    /* bytes the UART had taken then */

static bool operator_power_buttons;       /* some partition's power button is pressed */

/* ------------------------------------------------------------------------
 * Partitions as the shell numbers them
 * ------------------------------------------------------------------------ */

/** The partition the shell calls number @index (slots in configuration order). */
static struct partition *operator_partition(unsigned int index)
{
	if (partitions == NULL || operator_config == NULL ||
	    index >= operator_config->partition_count || partitions[index].config == NULL) {
		return NULL;
	}
	return &partitions[index];
}

/** The index of the partition whose console prefix is @name, or -1. */
static int operator_partition_named(const char *name)
{
	for (unsigned int i = 0; operator_config != NULL && i < operator_config->partition_count; i++) {
		const struct partition *p = operator_partition(i);

		/* The UART's prefix is the configuration's name itself: compare pointers first. */
		if (p != NULL && (p->config->name == name || strcmp(p->config->name, name) == 0)) {
			return (int)i;
		}
	}
	return -1;
}

/** The shell's view of a partition's state. */
static enum shell_partition_state operator_state(const struct partition *p)
{
	switch (p->state) {
	case PARTITION_RUNNING:
		return SHELL_STATE_RUNNING;
	case PARTITION_PAUSED:
		return SHELL_STATE_PAUSED;
	case PARTITION_READY:
		return SHELL_STATE_READY;
	default:
		/* Stopped, or refused at boot (its slot was emptied again). */
		return SHELL_STATE_STOPPED;
	}
}

/** shell_backend.partition_count. */
static unsigned int operator_partition_count(void *ctx)
{
	return operator_config->partition_count;
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
		out->exits += vcpu_exit_total(&p->vcpus[i]);
	}
	/* Uptime counts from the last start or restart, paused time included. */
	if (p->state == PARTITION_RUNNING || p->state == PARTITION_PAUSED) {
		out->uptime_ms = (cpu_rdtsc() - p->started_at) / tsc_ticks_per_ms();
	}
	out->restarts = p->restarts;
	strlcpy(out->stop_reason, p->stop_reason, sizeof(out->stop_reason));
	if (p->state == PARTITION_EMPTY && out->stop_reason[0] == '\0') {
		strlcpy(out->stop_reason, "refused at boot (see the log)", sizeof(out->stop_reason));
	}
	out->console_buffer_bytes = p->console_log.size;
	out->stop_timeout_s = p->config->stop_timeout_s;
	out->stop_requested = p->shutdown_requested;
	return true;
}

/* ------------------------------------------------------------------------
 * Actions
 * ------------------------------------------------------------------------ */

/**
 * Boots a stopped partition again from its kept image. Building its vCPUs
 * leaves their VMCS current: the CPU gets back the VMCS of the vCPU whose
 * exit it is handling (if any), which goes on after this command.
 */
static bool operator_rebuild(struct partition *p, char *error, size_t error_size)
{
	bool built = partition_restart(p);

	vcpu_dump_restore_current_vmcs();
	if (!built) {
		strlcpy(error, "it could not be built again (see the log)", error_size);
	}
	return built;
}

/** shell_backend.start: a built partition starts, a stopped one boots again. */
static bool operator_start(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);

	if (p->state == PARTITION_READY) {
		partition_start(p);
		return true;
	}
	if (p->state == PARTITION_EMPTY) {
		strlcpy(error, "it was refused at boot (see the log)", error_size);
		return false;
	}
	return operator_rebuild(p, error, error_size);
}

/** shell_backend.stop: presses the partition's power button. */
static bool operator_stop(void *ctx, unsigned int index, char *error, size_t error_size)
{
	partition_request_power_button(operator_partition(index));
	operator_power_buttons = true;
	return true;
}

/** shell_backend.force_stop: at once; its RAM is scrubbed and freed. */
static bool operator_force_stop(void *ctx, unsigned int index, char *error, size_t error_size)
{
	partition_stop(operator_partition(index), "stopped by the operator");
	return true;
}

/** shell_backend.restart: stop at once, then boot from the kept image. */
static bool operator_restart(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);

	partition_stop(p, "restarted by the operator");
	return operator_rebuild(p, error, error_size);
}

/** shell_backend.reset: as restart, for the machine's reset button. */
static bool operator_reset(void *ctx, unsigned int index, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);

	partition_stop(p, "reset by the operator");
	return operator_rebuild(p, error, error_size);
}

/** shell_backend.pause. */
static bool operator_pause(void *ctx, unsigned int index, char *error, size_t error_size)
{
	partition_pause(operator_partition(index));
	return true;
}

/** shell_backend.resume. */
static bool operator_resume(void *ctx, unsigned int index, char *error, size_t error_size)
{
	partition_resume(operator_partition(index));
	return true;
}

/** Forces the stop of every partition whose power-button time is up. */
static void operator_check_power_buttons(void)
{
	uint64_t now = cpu_rdtsc();
	bool pending = false;

	for (unsigned int i = 0; i < operator_config->partition_count; i++) {
		struct partition *p = operator_partition(i);

		if (p == NULL || !p->shutdown_requested) {
			continue;
		}
		if (partition_stop_overdue(p, now, tsc_hz)) {
			partition_stop(p, "did not stop within %u s of the power-button request",
				       p->config->stop_timeout_s);
		} else {
			pending = true;
		}
	}
	operator_power_buttons = pending;
}

/* ------------------------------------------------------------------------
 * Logs, exits, audit, memory map, configuration
 * ------------------------------------------------------------------------ */

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
	for (unsigned int r = 0; r < EXIT_REASON_COUNT; r++) {
		counts[r] += partition_exits_of_reason(p, r);
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

/** shell_backend.config_entry: the parsed configuration, defaults included. */
static bool operator_config_entry(void *ctx, unsigned int index, struct shell_config_entry *out)
{
	struct config_setting setting;

	if (!config_setting_at(operator_config, index, &setting)) {
		return false;
	}
	strlcpy(out->section, setting.section, sizeof(out->section));
	strlcpy(out->key, setting.key, sizeof(out->key));
	strlcpy(out->value, setting.value, sizeof(out->value));
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

/* ------------------------------------------------------------------------
 * Inspection: registers and memory of a partition that is not running
 * ------------------------------------------------------------------------ */

/** shell_backend.registers: from its guest_regs and its VMCS. */
static bool operator_registers(void *ctx, unsigned int index, unsigned int vcpu,
			       struct shell_registers *out, char *error, size_t error_size)
{
	struct partition *p = operator_partition(index);
	struct vcpu_dump d;

	if (vcpu >= p->vcpu_count || !vcpu_dump_read(&p->vcpus[vcpu], &d)) {
		format_snprintf(error, error_size, "vCPU %u was never built (see the log)", vcpu);
		return false;
	}
	*out = (struct shell_registers){
		.rax = d.rax, .rbx = d.rbx, .rcx = d.rcx, .rdx = d.rdx, .rsi = d.rsi,
		.rdi = d.rdi, .rbp = d.rbp, .rsp = d.rsp, .r8 = d.r8, .r9 = d.r9,
		.r10 = d.r10, .r11 = d.r11, .r12 = d.r12, .r13 = d.r13, .r14 = d.r14,
		.r15 = d.r15, .rip = d.rip, .rflags = d.rflags, .cr0 = d.cr0, .cr2 = d.cr2,
		.cr3 = d.cr3, .cr4 = d.cr4, .efer = d.efer, .cs = d.cs, .ds = d.ds,
		.es = d.es, .fs = d.fs, .gs = d.gs, .ss = d.ss, .tr = d.tr, .ldtr = d.ldtr,
	};
	return true;
}

/** shell_backend.read_memory: guest RAM, while the partition still has it. */
static bool operator_read_memory(void *ctx, unsigned int index, uint64_t gpa, void *buf,
				 size_t size, char *error, size_t error_size)
{
	const struct partition *p = operator_partition(index);

	if (p->ram_count == 0) {
		strlcpy(error, "its RAM was scrubbed and freed when it stopped", error_size);
		return false;
	}
	if (!partition_copy_from_guest(p, buf, gpa_init(gpa), size)) {
		format_snprintf(error, error_size, "0x%llx..0x%llx is not all in its RAM",
				(unsigned long long)gpa, (unsigned long long)(gpa + size - 1));
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------------
 * A partition's console: typing into it, attaching to it
 * ------------------------------------------------------------------------ */

/** shell_backend.console_input: into its UART's receive backlog. */
static size_t operator_console_input(void *ctx, unsigned int index, const char *bytes,
				     size_t length)
{
	struct partition *p = operator_partition(index);

	/* Input changes what the UART's status registers read. */
	partition_devices_changed(p);
	return vuart_receive(&p->uart, (const uint8_t *)bytes, length);
}

/**
 * shell_backend.attach: its stream now shows its output raw, from here on
 * (the shell replays what was kept before).
 */
static bool operator_attach(void *ctx, unsigned int index, char *error, size_t error_size)
{
	if (operator_partition(index) == NULL) {
		return false;
	}
	console_streams_attach(index);
	return true;
}

/** shell_backend.detach. */
static void operator_detach(void *ctx, unsigned int index)
{
}

/** shell_backend.line_errors: what the console UART counted. */
static bool operator_line_errors(void *ctx, struct shell_line_errors *out)
{
	if (operator_uart == NULL) {
		return false;
	}
	*out = (struct shell_line_errors){ operator_uart->errors.overruns,
					   operator_uart->errors.framing_errors,
					   operator_uart->errors.parity_errors,
					   operator_uart->errors.breaks };
	return true;
}

/* ------------------------------------------------------------------------
 * The machine
 * ------------------------------------------------------------------------ */

/**
 * shell_backend.cpu_info: CPU 0 is the boot CPU, the only one that runs
 * vCPUs; the others are the MADT's enabled processors, not brought up.
 */
static bool operator_cpu_info(void *ctx, unsigned int index, struct shell_cpu_info *out)
{
	uint32_t boot_id = cpu_apic_id();
	unsigned int other = 0;

	if (index == 0) {
		const struct vcpu *running = this_cpu()->current_vcpu;

		*out = (struct shell_cpu_info){ .index = 0, .apic_id = boot_id,
						.state = running != NULL ? SHELL_CPU_RUNNING :
									   SHELL_CPU_IDLE };
		if (running != NULL) {
			strlcpy(out->partition, running->partition->config->name,
				sizeof(out->partition));
			out->vcpu = running->index;
		}
		return true;
	}
	for (unsigned int i = 0; i < MIN(operator_cpu_count, (unsigned int)MAX_CPUS); i++) {
		if (operator_cpu_ids[i] != boot_id && ++other == index) {
			*out = (struct shell_cpu_info){ .index = index, .apic_id = operator_cpu_ids[i],
							.state = SHELL_CPU_NOT_STARTED };
			return true;
		}
	}
	return false;
}

/** Lets the last console bytes leave the UART before the machine goes. */
static void operator_say_goodbye(const char *what)
{
	log_info("%s the machine (asked by the operator)", what);
	if (operator_uart != NULL) {
		console_streams_urgent_end();
		uart16550_flush(operator_uart);
	}
}

/** shell_backend.reboot: always possible (the last resort is a triple fault). */
static bool operator_reboot(void *ctx, bool now, char *error, size_t error_size)
{
	if (now) {
		operator_say_goodbye("rebooting");
		power_reboot(operator_acpi_rsdp);
	}
	return true;
}

/** shell_backend.poweroff: ACPI S5, when the firmware's tables say how. */
static bool operator_poweroff(void *ctx, bool now, char *error, size_t error_size)
{
	const char *problem = "";

	if (!power_off_possible(operator_acpi_rsdp, &problem)) {
		format_snprintf(error, error_size,
				"needs the firmware's ACPI _S5 values, not available (%s)", problem);
		return false;
	}
	if (now) {
		operator_say_goodbye("powering off");
		power_off(operator_acpi_rsdp, &problem);
		strlcpy(error, problem, error_size);
		return false;
	}
	return true;
}

/** shell_backend.now_ms: TSC time, for confirmations. */
static uint64_t operator_now_ms(void *ctx)
{
	return cpu_rdtsc() / tsc_ticks_per_ms();
}

static const struct shell_backend operator_backend = {
	.partition_count = operator_partition_count,
	.partition_info = operator_partition_info,
	.start = operator_start,
	.stop = operator_stop,
	.force_stop = operator_force_stop,
	.restart = operator_restart,
	.reset = operator_reset,
	.pause = operator_pause,
	.resume = operator_resume,
	.log_length = operator_log_length,
	.log_read = operator_log_read,
	.exit_counts = operator_exit_counts,
	.recent_exits = operator_recent_exits,
	.audit = operator_audit,
	.memmap_entry = operator_memmap_entry,
	.config_entry = operator_config_entry,
	.get_loglevel = operator_get_loglevel,
	.set_loglevel = operator_set_loglevel,
	.registers = operator_registers,
	.read_memory = operator_read_memory,
	.attach = operator_attach,
	.detach = operator_detach,
	.console_input = operator_console_input,
	.line_errors = operator_line_errors,
	.cpu_info = operator_cpu_info,
	.reboot = operator_reboot,
	.poweroff = operator_poweroff,
	.now_ms = operator_now_ms,
};

/* ------------------------------------------------------------------------
 * Events: delivered at once, or queued while this CPU is inside the shell
 * ------------------------------------------------------------------------ */

/** The word a state event names a change with. */
static const char *operator_change_word(enum partition_change change)
{
	static const char *const words[] = {
		[PARTITION_CHANGE_STARTED] = "started",
		[PARTITION_CHANGE_STOPPED] = "stopped",
		[PARTITION_CHANGE_PAUSED] = "paused",
		[PARTITION_CHANGE_RESUMED] = "resumed",
		[PARTITION_CHANGE_RESTARTED] = "restarted",
	};

	return (unsigned int)change < ARRAY_SIZE(words) ? words[change] : "changed";
}

/** console_event_fn: hands one event to the shell (the caller is inside it). */
static void operator_deliver(void *ctx, const struct console_event *e, const char *payload)
{
	struct shell *s = &operator_shell;
	/* Log events name no partition. */
	const char *name = e->kind == CONSOLE_EVENT_LOG ? "" : partitions[e->partition].config->name;

	if (s->mode == SHELL_MODE_TEXT && !s->attached.active) {
		operator_last_output = cpu_rdtsc();
	}
	switch ((enum console_event_kind)e->kind) {
	case CONSOLE_EVENT_LOG:
		shell_event_log(s, payload, e->length);
		break;
	case CONSOLE_EVENT_LINE:
		/* In JSON mode the partition's tap sends its bytes as they are. */
		if (s->mode == SHELL_MODE_TEXT) {
			shell_event_console(s, name, payload, e->length);
		}
		break;
	case CONSOLE_EVENT_CHUNK:
		/* After "mode text" the UART's lines say it, partial ones included. */
		if (s->mode == SHELL_MODE_JSON) {
			shell_event_console(s, name, payload, e->length);
		}
		break;
	case CONSOLE_EVENT_STATE:
		shell_event_state(s, name, operator_change_word((enum partition_change)e->change),
				  (enum shell_partition_state)e->state, payload);
		break;
	}
}

/** Delivers every queued event, including those raised while delivering. */
static void operator_drain_queue(void)
{
	uint64_t dropped;

	if (console_streams_stopping()) {
		return; /* they follow a stopped partition's last output */
	}
	dropped = console_queue_drain(&operator_queue, operator_deliver, NULL);

	if (dropped > 0) {
		char text[96];
		int n = format_snprintf(text, sizeof(text),
					"%llu console events were lost while the shell was busy",
					(unsigned long long)dropped);

		shell_event_log(&operator_shell, text, (size_t)MAX(n, 0));
	}
}

/** Enters the shell; false when this CPU is inside it already (the event must wait). */
static bool operator_enter(void)
{
	int me = (int)this_cpu()->index;

	if (__atomic_load_n(&operator_owner, __ATOMIC_ACQUIRE) == me) {
		return false;
	}
	spin_lock(&operator_lock);
	__atomic_store_n(&operator_owner, me, __ATOMIC_RELEASE);
	return true;
}

/** Leaves the shell, after delivering what was queued meanwhile. */
static void operator_leave(void)
{
	operator_drain_queue();
	console_streams_urgent_end();
	__atomic_store_n(&operator_owner, OPERATOR_NOBODY, __ATOMIC_RELEASE);
	spin_unlock(&operator_lock);
}

/** Delivers an event now, or after the command this CPU is running. */
static void operator_event(const struct console_event *e, const char *payload)
{
	if (!operator_enter()) {
		console_queue_push(&operator_queue, e, payload);
		return;
	}
	/* While a stopped partition's output is still going out, events wait behind it. */
	if (console_streams_stopping()) {
		console_queue_push(&operator_queue, e, payload);
	} else {
		operator_deliver(NULL, e, payload);
	}
	operator_leave();
}

/** Delivers a log line, a console line or a chunk of partition @partition. */
static void operator_text_event(enum console_event_kind kind, unsigned int partition,
				const char *text, size_t length)
{
	struct console_event e = { .kind = (uint8_t)kind, .partition = (uint8_t)partition,
				   .length = (uint16_t)MIN(length, (size_t)UINT16_MAX) };

	operator_event(&e, text);
}

/**
 * console_router.line: a partition's line is taken (its stream shows the
 * same bytes, paced by the line); anything else prints as before.
 */
static bool operator_route_line(void *ctx, const char *prefix, const char *text, size_t len)
{
	return operator_partition_named(prefix) >= 0;
}

/** console_router.log: a log line. */
static bool operator_route_log(void *ctx, const char *text, size_t len)
{
	operator_text_event(CONSOLE_EVENT_LOG, 0, text, len);
	return true;
}

static const struct console_router operator_router = {
	.line = operator_route_line,
	.log = operator_route_log,
	.ctx = NULL,
};

/** partition_observer_fn: every state change becomes an event (after its last output). */
static void operator_observe(struct partition *p, enum partition_change change)
{
	unsigned int index = (unsigned int)(p - partitions);
	const char *reason = change == PARTITION_CHANGE_STOPPED ? p->stop_reason : "";
	struct console_event e = { .kind = CONSOLE_EVENT_STATE, .partition = (uint8_t)index,
				   .change = (uint8_t)change, .state = (uint8_t)operator_state(p),
				   .length = (uint16_t)strlen(reason) };

	/* A stop waits for its last output (console_stream_release(), hv/console_streams.c). */
	operator_event(&e, reason);
}

/* ------------------------------------------------------------------------
 * Starting and polling
 * ------------------------------------------------------------------------ */

/** Starts the shell on the console and routes the console's lines to it. */
void operator_init(const struct tessera_config *config, const struct mtrr_state *mtrr,
		   int (*read_byte)(void))
{
	operator_config = config;
	operator_mtrr = mtrr;
	operator_read_byte = read_byte;
	operator_loglevel = config->loglevel;
	shell_init(&operator_shell, &operator_backend, NULL, console_streams_write, NULL);
	console_streams_init(&operator_shell, config->partition_count);
	for (unsigned int i = 0; i < config->partition_count; i++) {
		struct partition *p = operator_partition(i);

		if (p != NULL) {
			console_streams_add(p);
		}
	}
	partition_set_observer(operator_observe);
	console_set_router(&operator_router);
	/* The prompt follows at the first poll without output (operator_poll). */
	log_info("console: type 'help' and Enter for the operator's commands");
}

/** Tells the operator about the console UART and the firmware's ACPI tables. */
void operator_set_platform(struct uart16550 *console_uart, uint64_t acpi_rsdp)
{
	operator_uart = console_uart;
	console_streams_set_uart(console_uart);
	operator_acpi_rsdp = acpi_rsdp;
	operator_cpu_count = acpi_rsdp != 0 ? acpi_cpu_apic_ids(acpi_rsdp, operator_cpu_ids,
								 MAX_CPUS) : 0;
}

/** Whether a poll without keystrokes has anything to do. */
static bool operator_has_work(void)
{
	return console_streams_busy() || operator_power_buttons || operator_echo_read != 0 ||
	       shell_prompt_hidden(&operator_shell);
}

/**
 * make bench: times a printable keystroke from the poll that read it to its
 * echo leaving the driver for the UART (the pump runs at every poll and write,
 * so that is seen at the poll it happened in); logs "bench: echo_ticks=N
 * poll_gap_ticks=M", M being the ticks since the poll before, which bounds
 * how long the byte waited in the UART unread.
 */
static void operator_time_echo(uint64_t now, const char *typed, size_t count)
{
	if (operator_uart == NULL) {
		return;
	}
	if (operator_echo_read != 0 && operator_uart->urgent.sent >= operator_echo_mark) {
		log_debug("bench: echo_ticks=%llu poll_gap_ticks=%llu",
			  (unsigned long long)(cpu_rdtsc() - operator_echo_read),
			  (unsigned long long)operator_echo_gap);
		operator_echo_read = 0;
	}
	/*
	 * One printable keystroke: its echo is all the shell writes (Enter would
	 * time the command's reply too). Only text mode echoes, and not attached.
	 */
	if (count == 1 && typed[0] >= 0x20 && typed[0] < 0x7f && operator_echo_read == 0 &&
	    operator_shell.mode == SHELL_MODE_TEXT && !operator_shell.attached.active) {
		operator_echo_read = now;
		operator_echo_gap = now - operator_last_poll;
		operator_echo_mark = UINT64_MAX; /* set once the echo is queued */
	}
}

/**
 * make bench: while the console has output to send (queued for the UART or
 * unread in a partition's stream), logs every window the bytes the line
 * carried, the ticks it took and the longest gap between two polls in it
 * ("bench: console_line bytes=N ticks=M max_poll_gap=G"); an idle moment
 * starts over.
 */
static void operator_time_line(uint64_t now)
{
	static uint64_t max_gap;
	static uint64_t sent_at_last_poll;
	uint64_t sent;

	if (operator_uart == NULL) {
		return;
	}
	sent = operator_uart->urgent.sent + operator_uart->bulk.sent;
	max_gap = MAX(max_gap, now - operator_last_poll);
	if (operator_uart->urgent.count + operator_uart->bulk.count == 0 &&
	    !console_streams_pending()) {
		operator_busy_since = 0;
	} else if (operator_busy_since == 0) {
		/* The output came after the last poll, which saw none: count from there. */
		operator_busy_since = operator_last_poll;
		operator_busy_sent = sent_at_last_poll;
		max_gap = now - operator_last_poll;
	} else if (now - operator_busy_since >=
		   OPERATOR_THROUGHPUT_WINDOW_MS * tsc_ticks_per_ms()) {
		log_debug("bench: console_line bytes=%llu ticks=%llu max_poll_gap=%llu",
			  (unsigned long long)(sent - operator_busy_sent),
			  (unsigned long long)(now - operator_busy_since),
			  (unsigned long long)max_gap);
		operator_busy_since = now;
		operator_busy_sent = sent;
		max_gap = 0;
	}
	sent_at_last_poll = sent;
}

/**
 * Whether the console is active at TSC @now: the operator typed within the
 * last OPERATOR_ACTIVE_MS (more may follow faster than an idle tick reads
 * the UART's 16-byte FIFO), or there is work or output to move.
 */
static bool operator_active(uint64_t now)
{
	return now - operator_last_input < OPERATOR_ACTIVE_MS * tsc_ticks_per_ms() ||
	       operator_has_work() ||
	       (operator_uart != NULL &&
		(operator_uart->urgent.count != 0 || uart16550_bulk_queued(operator_uart) != 0));
}

/** Whether output paused long enough, and the line carried it, for the prompt to return. */
static bool operator_output_paused(void)
{
	/* Events are shown here, partitions' lines by the streams: the later one counts. */
	uint64_t last = MAX(operator_last_output, console_streams_shown_at());

	return cpu_rdtsc() - last >= OPERATOR_PROMPT_QUIET_MS * tsc_ticks_per_ms() &&
	       (operator_uart == NULL || uart16550_bulk_queued(operator_uart) == 0);
}

/** Feeds what the operator typed since the last call to the shell; housekeeping. */
bool operator_poll(void)
{
	char bytes[OPERATOR_POLL_MAX];
	size_t count = 0;
	uint64_t now;
	int c;

	if (operator_read_byte == NULL) {
		return false;
	}
	while (count < sizeof(bytes) && (c = operator_read_byte()) >= 0) {
		bytes[count++] = (char)c;
	}
	now = cpu_rdtsc();
	if (count > 0) {
		operator_last_input = now;
	}
	operator_time_line(now);
	if ((count == 0 && !operator_has_work()) || !operator_enter()) {
		operator_last_poll = now;
		return operator_active(now);
	}
	operator_time_echo(now, bytes, count);
	operator_last_poll = now;
	if (operator_power_buttons) {
		operator_check_power_buttons();
	}
	/*
	 * Typing shows the prompt again at once; output, only once it pauses
	 * and the line carried it: a prompt drawn between every two lines would
	 * flicker and cost bytes, and one drawn before queued lines is erased.
	 */
	if (count > 0 || operator_output_paused()) {
		shell_restore_prompt(&operator_shell);
	}
	shell_input(&operator_shell, bytes, count);
	/* The reply first: it is one unit, and bulk bytes may follow any unit. */
	console_streams_urgent_end();
	if (operator_echo_mark == UINT64_MAX && operator_uart != NULL) {
		operator_echo_mark = operator_uart->urgent.queued;
		operator_time_echo(now, bytes, 0);
	}
	console_streams_feed();
	operator_leave();
	return operator_active(now);
}
