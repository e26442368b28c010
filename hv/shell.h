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
/* Room for a configuration value. */
#define SHELL_VALUE_MAX 128
/* Room for the error text a backend action returns. */
#define SHELL_ERROR_MAX 128
/* Most recent exits "trace" asks the backend for. */
#define SHELL_TRACE_MAX 32

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
	char section[SHELL_NAME_MAX]; /* "global" or a partition name */
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
	shell_action_fn stop;       /* orderly */
	shell_action_fn force_stop; /* "stop -f": at once */
	shell_action_fn restart;
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
};

/**
 * Prepares a shell in text mode with an empty line and history. Writes
 * nothing; call shell_prompt() when the operator should see a prompt.
 */
void shell_init(struct shell *s, const struct shell_backend *backend, void *backend_ctx,
		shell_write_fn write, void *write_ctx);

/** Feeds received bytes (any bytes at all) to the line editor. */
void shell_input(struct shell *s, const char *bytes, size_t length);

/** Shows the prompt and the line typed so far (text mode only). */
void shell_prompt(struct shell *s);

/** Reports that a partition changed state (e.g. "running", "stopped"). */
void shell_event_state(struct shell *s, const char *partition, const char *state);

/** Passes on a chunk of a partition's console output. */
void shell_event_console(struct shell *s, const char *partition, const char *text, size_t length);

/** Passes on one line of the hypervisor's log (without "tessera: " or newline). */
void shell_event_log(struct shell *s, const char *text, size_t length);

#endif /* TESSERA_HV_SHELL_H */
