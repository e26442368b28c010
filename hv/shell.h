/*
 * The operator's shell on the serial line: a line editor, the commands and
 * their text and JSON replies.
 *
 * The shell touches no hardware and keeps no globals: bytes come in through
 * shell_input(), replies leave through the write callback, and everything the
 * commands need comes as plain data from a struct shell_backend that the
 * hypervisor implements. The backend never formats anything for the
 * operator; shell.c alone decides what text and what JSON a reply is, so the
 * two modes always say the same thing.
 *
 * Text mode echoes what is typed and shows the prompt "tessera> ". JSON mode
 * (command "mode json") is for programs: no echo and no prompt, every reply
 * and every event is one JSON object on one line, and every reply carries the
 * sequence number of its request (the shell counts non-empty lines from 1).
 *
 * Output that is not a reply (events: a partition's console line, a log line)
 * may arrive while the prompt and a half-typed line are on the screen. In
 * text mode an event first clears that line, so lines never mix; the prompt
 * stays hidden until shell_restore_prompt() (the caller decides when output
 * has paused) or the next keystroke shows it again with the typed text.
 *
 * "console NAME" attaches the terminal to a partition: from then on typed
 * bytes go to the backend's console_input() until Ctrl-] (0x1d), the
 * partition's raw output is written through shell_attached_output(), other
 * partitions' lines are counted (they stay in their logs) and log lines are
 * held and shown after detaching.
 */
#ifndef TESSERA_HV_SHELL_H
#define TESSERA_HV_SHELL_H

#include "arch/x86/exit_reasons.h"
#include "hv/log.h"
#include "hv/types.h"

/* Longest line the editor holds, including its terminating NUL. */
#define SHELL_LINE_MAX 128
/* Lines the history remembers. */
#define SHELL_HISTORY_MAX 8
/* Room for a partition name, a memory owner, a config section or key. */
#define SHELL_NAME_MAX 32
/* Room for a stop reason (a partition's STOP_REASON_MAX). */
#define SHELL_REASON_MAX 200
/* Room for a configuration value (an ioports list is the longest). */
#define SHELL_VALUE_MAX 256
/* Room for the error text a backend action returns. */
#define SHELL_ERROR_MAX 128
/* Most recent exits "trace" asks the backend for. */
#define SHELL_TRACE_MAX 32
/* Most bytes "mem" dumps at once. */
#define SHELL_MEM_MAX 4096
/* How long a "reboot" or "poweroff" waits for the same command to confirm it. */
#define SHELL_CONFIRM_MS 10000
/* Log lines held while attached, shown after detaching (older ones are counted). */
#define SHELL_HELD_MAX 2048
/* The byte that detaches an attached console: Ctrl-], as telnet and xl console. */
#define SHELL_DETACH_BYTE 0x1d

/** Life cycle of a partition as the operator sees it. */
enum shell_partition_state {
	SHELL_STATE_READY,   /* built, never started */
	SHELL_STATE_RUNNING,
	SHELL_STATE_PAUSED,
	SHELL_STATE_STOPPED,
};

/** One partition as "list" and "info" show it. */
struct shell_partition_info {
	char name[SHELL_NAME_MAX];
	enum shell_partition_state state;
	unsigned int vcpus;
	uint64_t memory_bytes;
	uint64_t uptime_ms;       /* since its last start; 0 when not running */
	uint64_t exits;           /* all its vCPUs together */
	unsigned int restarts;
	char stop_reason[SHELL_REASON_MAX]; /* empty if it never stopped */
	/* "info" only: */
	uint64_t console_buffer_bytes; /* its console ring */
	unsigned int stop_timeout_s;   /* power button to forced stop */
	bool stop_requested;           /* power button pressed, not stopped yet */
};

/** A vCPU's registers as "regs" shows them (the guest's view of CR0/CR4). */
struct shell_registers {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr0, cr2, cr3, cr4, efer;
	uint16_t cs, ds, es, fs, gs, ss, tr, ldtr;
};

/** What the physical console's UART saw go wrong while receiving, for "stats". */
struct shell_line_errors {
	uint64_t overruns;       /* LSR OE: a byte arrived into a full FIFO */
	uint64_t framing_errors; /* LSR FE: no stop bit (wrong speed, noise) */
	uint64_t parity_errors;  /* LSR PE */
	uint64_t breaks;         /* LSR BI: the line held at 0 */
};

/** What a physical CPU is doing, for "cpus". */
enum shell_cpu_state {
	SHELL_CPU_NOT_STARTED, /* Tessera has not brought it up */
	SHELL_CPU_IDLE,
	SHELL_CPU_RUNNING,     /* running vCPU "vcpu" of "partition" */
};

/** One physical CPU, for "cpus". */
struct shell_cpu_info {
	unsigned int index;
	uint32_t apic_id;
	enum shell_cpu_state state;
	char partition[SHELL_NAME_MAX]; /* SHELL_CPU_RUNNING only */
	unsigned int vcpu;
};

/** One remembered VM exit, for "trace". */
struct shell_exit_record {
	unsigned int vcpu;
	uint32_t reason;          /* the full exit-reason field */
	uint64_t qualification;
	uint64_t guest_rip;
	uint64_t gpa;             /* EPT exits only, else 0 */
};

/** What the isolation audit saw, for "audit". */
struct shell_audit_result {
	unsigned int partitions;
	uint64_t leaves;
	uint64_t mapped_bytes;
	unsigned int problems;
};

/** One range of host-physical memory and who owns it, for "memmap". */
struct shell_memmap_entry {
	uint64_t start;
	uint64_t size;
	char owner[SHELL_NAME_MAX]; /* "hypervisor", "free" or a partition name */
};

/** One configuration setting, for "config". */
struct shell_config_entry {
	/* The section header as in the file: "tessera" or "partition NAME". */
	char section[SHELL_NAME_MAX + 16];
	char key[SHELL_NAME_MAX];
	char value[SHELL_VALUE_MAX];
};

/**
 * A state change the operator asked for. Returns true when done; false with
 * a short reason in error[error_size] (e.g. "image is gone") when refused.
 * The shell has already checked that the partition exists and is in a state
 * the action applies to.
 */
typedef bool (*shell_action_fn)(void *ctx, unsigned int index, char *error, size_t error_size);

/**
 * An action on the whole machine (reboot, poweroff). With @now false it only
 * checks that it can be done. With @now true it does not return when it
 * works. Returns false with the reason in error[error_size] when it cannot.
 */
typedef bool (*shell_machine_fn)(void *ctx, bool now, char *error, size_t error_size);

/**
 * What the commands need from the hypervisor. Every member may be NULL: the
 * commands that need it then answer "not available in this build", so the
 * hypervisor can wire the shell up step by step. Partitions are addressed by
 * index, 0 to partition_count() - 1.
 */
struct shell_backend {
	unsigned int (*partition_count)(void *ctx);
	/* Fills *out; false if index names no partition. */
	bool (*partition_info)(void *ctx, unsigned int index, struct shell_partition_info *out);
	shell_action_fn start;
	shell_action_fn stop;       /* orderly: presses the power button of a running one */
	shell_action_fn force_stop; /* "stop -f": at once */
	shell_action_fn restart;
	shell_action_fn reset;      /* as restart, named as a hardware reset */
	shell_action_fn pause;
	shell_action_fn resume;
	/* Bytes of console output kept for the partition. */
	size_t (*log_length)(void *ctx, unsigned int index);
	/* Copies up to size kept bytes from offset (0 = oldest kept); returns the count. */
	size_t (*log_read)(void *ctx, unsigned int index, size_t offset, char *buf, size_t size);
	/* Adds the partition's exits per basic reason to counts[]; false if index is bad. */
	bool (*exit_counts)(void *ctx, unsigned int index, uint64_t counts[EXIT_REASON_COUNT]);
	/* Fills out[0 .. max) with its last exits, oldest first; returns how many. */
	unsigned int (*recent_exits)(void *ctx, unsigned int index, struct shell_exit_record *out,
				     unsigned int max);
	/* Runs the isolation audit now. */
	void (*audit)(void *ctx, struct shell_audit_result *out);
	/* Fills entry number index of the host memory map; false past the end. */
	bool (*memmap_entry)(void *ctx, unsigned int index, struct shell_memmap_entry *out);
	/* Fills setting number index of the configuration; false past the end. */
	bool (*config_entry)(void *ctx, unsigned int index, struct shell_config_entry *out);
	enum log_level (*get_loglevel)(void *ctx);
	void (*set_loglevel)(void *ctx, enum log_level level);
	/* Registers of vCPU @vcpu (the shell checked the number and the state). */
	bool (*registers)(void *ctx, unsigned int index, unsigned int vcpu,
			  struct shell_registers *out, char *error, size_t error_size);
	/* Copies guest RAM [gpa, gpa + size); false with the reason (not RAM, RAM freed). */
	bool (*read_memory)(void *ctx, unsigned int index, uint64_t gpa, void *buf, size_t size,
			    char *error, size_t error_size);
	/* Starts showing the partition's raw output through shell_attached_output(). */
	bool (*attach)(void *ctx, unsigned int index, char *error, size_t error_size);
	/* Stops showing it. */
	void (*detach)(void *ctx, unsigned int index);
	/* Types bytes into the partition's UART; returns how many it took. */
	size_t (*console_input)(void *ctx, unsigned int index, const char *bytes, size_t length);
	/* Receive errors of the physical console line; false if unknown. */
	bool (*line_errors)(void *ctx, struct shell_line_errors *out);
	/* Fills CPU number index (0 ..); false past the last one. */
	bool (*cpu_info)(void *ctx, unsigned int index, struct shell_cpu_info *out);
	shell_machine_fn reboot;
	shell_machine_fn poweroff;
	/* A clock in milliseconds, for confirmations; NULL: confirmations never expire. */
	uint64_t (*now_ms)(void *ctx);
};

/** Receives the shell's output bytes. */
typedef void (*shell_write_fn)(void *ctx, const char *buf, size_t len);

/** How replies are written. */
enum shell_mode {
	SHELL_MODE_TEXT,
	SHELL_MODE_JSON,
};

/** Where the line editor is within an escape sequence. */
enum shell_escape_state {
	SHELL_ESCAPE_NONE,
	SHELL_ESCAPE_STARTED,  /* after ESC */
	SHELL_ESCAPE_SEQUENCE, /* after ESC [ or ESC O, before the final byte */
};

/** The partition the terminal is attached to ("console NAME"), if any. */
struct shell_attachment {
	bool active;
	unsigned int index;
	char name[SHELL_NAME_MAX];
	uint64_t refused_bytes;     /* typed bytes its UART did not take */
	uint64_t other_lines;       /* other partitions' lines not shown */
	char held[SHELL_HELD_MAX];  /* log lines to show after detaching, each ending in \n */
	size_t held_length;
	uint64_t held_dropped;      /* log lines that did not fit */
};

/** One shell: its line editor, history, mode and where it writes. */
struct shell {
	const struct shell_backend *backend;
	void *backend_ctx;
	shell_write_fn write;
	void *write_ctx;
	enum shell_mode mode;
	uint64_t sequence;          /* of the request being answered */
	char line[SHELL_LINE_MAX];
	size_t line_length;
	bool line_overflowed;       /* bytes were dropped: refuse the line */
	bool last_was_cr;           /* swallow the LF of a CR LF */
	enum shell_escape_state escape;
	size_t escape_param_length; /* parameter bytes seen in the sequence */
	char history[SHELL_HISTORY_MAX][SHELL_LINE_MAX];
	unsigned int history_count;
	unsigned int history_newest; /* slot of the newest line */
	unsigned int history_browse; /* 0: editing; k: showing the k-th newest */
	char draft[SHELL_LINE_MAX];  /* the line being typed when browsing began */
	bool prompt_shown;           /* the prompt and line are on the screen */
	char confirm_command[SHELL_NAME_MAX]; /* "reboot"/"poweroff" awaiting its repeat */
	uint64_t confirm_deadline_ms;
	struct shell_attachment attached;
};

/**
 * Prepares a shell in text mode with an empty line and history. Writes
 * nothing; call shell_prompt() when the operator should see a prompt.
 */
void shell_init(struct shell *s, const struct shell_backend *backend, void *backend_ctx,
		shell_write_fn write, void *write_ctx);

/** Feeds received bytes (any bytes at all) to the line editor. */
void shell_input(struct shell *s, const char *bytes, size_t length);

/** Shows the prompt and the line typed so far (text mode, not attached). */
void shell_prompt(struct shell *s);

/** Shows the prompt and typed line again if an event cleared them. */
void shell_restore_prompt(struct shell *s);

/** Whether an event cleared the prompt and it has not been shown since. */
bool shell_prompt_hidden(const struct shell *s);

/** Whether the terminal is attached to partition @index ("console NAME"). */
bool shell_attached_to(const struct shell *s, unsigned int index);

/**
 * Reports a partition's state change: @change is what happened ("started",
 * "stopped", "paused", "resumed", "restarted"), @state the state it is in now,
 * @reason why it stopped (or ""). JSON mode only: in text mode the log line
 * of the change says it already. A stop of the attached partition detaches.
 */
void shell_event_state(struct shell *s, const char *partition, const char *change,
		       enum shell_partition_state state, const char *reason);

/**
 * Passes on a chunk of a partition's console output: text mode shows it as
 * "NAME: line" per line; JSON mode as one console event whose data is the
 * chunk (end a chunk only where shell_utf8_complete_length() says).
 */
void shell_event_console(struct shell *s, const char *partition, const char *text, size_t length);

/** Passes on one line of the hypervisor's log (without "tessera: " or newline). */
void shell_event_log(struct shell *s, const char *text, size_t length);

/** Writes raw output of the attached partition (nothing when not attached). */
void shell_attached_output(struct shell *s, const char *bytes, size_t length);

/**
 * The length of the longest prefix of text[0 .. length) that does not end
 * inside a UTF-8 sequence: where a console chunk may end so that the JSON
 * encoder sees whole characters. Invalid bytes count as complete.
 */
size_t shell_utf8_complete_length(const char *text, size_t length);

#endif /* TESSERA_HV_SHELL_H */
