/*
 * A partition: an isolated guest machine with its own memory, vCPUs, EPT and
 * virtual devices. Stopping one never affects another.
 */
#ifndef TESSERA_HV_PARTITION_H
#define TESSERA_HV_PARTITION_H

#include "arch/x86/ept.h"
#include "arch/x86/exit_fast.h"
#include "arch/x86/exit_reasons.h"
#include "arch/x86/guest_regs.h"
#include "arch/x86/msr_bitmap.h"
#include "arch/x86/mtrr.h"
#include "hv/boot_info.h"
#include "hv/config.h"
#include "hv/layout.h"
#include "hv/mmio.h"
#include "hv/platform.h"
#include "hv/vdev_test.h"
#include "hv/vlapic.h"
#include "hv/types.h"
#include "hv/vuart.h"

#define PARTITION_MAX CONFIG_MAX_PARTITIONS
#define STOP_REASON_MAX 200
/* Host pieces a partition's RAM may be made of when free memory is fragmented. */
#define PARTITION_MAX_CHUNKS 64

/** Life cycle of a partition. */
enum partition_state {
	PARTITION_EMPTY,   /* slot unused */
	PARTITION_READY,   /* memory and vCPUs built, not started */
	PARTITION_RUNNING,
	PARTITION_PAUSED,  /* as running, but not scheduled: vCPUs, RAM and devices keep still */
	PARTITION_STOPPED,
};

/** What just happened to a partition, for whoever watches (the operator's console). */
enum partition_change {
	PARTITION_CHANGE_STARTED,
	PARTITION_CHANGE_STOPPED,
	PARTITION_CHANGE_PAUSED,
	PARTITION_CHANGE_RESUMED,
	PARTITION_CHANGE_RESTARTED,
};

/** Scheduling state of one vCPU. */
enum vcpu_state {
	VCPU_RUNNABLE,
	VCPU_HALTED,  /* HLT: waits for an interrupt */
	VCPU_STOPPED,
};

struct partition;

/* How many of its last exits a vCPU remembers for diagnoses. */
#define VCPU_RECENT_EXITS 8

/** One VM exit as the ring of recent exits keeps it. */
struct exit_record {
	uint32_t reason;          /* the full exit-reason field */
	uint64_t qualification;
	uint64_t guest_rip;
	uint64_t gpa;             /* EPT exits only, else 0 */
};

/* What must happen before a vCPU's next VM entry (vcpu->fast.entry_work). */
#define VCPU_WORK_TIMER  BIT(0) /* arm the preemption timer for the next deadline */
#define VCPU_WORK_EVENTS BIT(1) /* an event may have become deliverable */

/** One virtual CPU of a partition. */
struct vcpu {
	struct partition *partition;
	unsigned int index;           /* within the partition */
	enum vcpu_state state;
	struct guest_regs regs;
	struct exit_fast_path fast;   /* right after regs: vmx_entry.S reaches both */
	hpa_t vmcs;
	bool launched;                /* VMLAUNCH done; VMRESUME from now on */
	bool interruptibility_checked; /* this exit already fixed the field */
	uint64_t slice_end;           /* TSC at which its time slice ends; UINT64_MAX: alone, none */
	uint16_t vpid;
	struct mtrr_state guest_mtrr; /* virtual MTRRs (hv/msr.c) */
	uint64_t lazy_msr_values[LAZY_MSR_COUNT]; /* while not loaded in a CPU */
	void *fpu_area;               /* FPU/SSE/AVX state while not loaded */
	uint64_t xcr0;                /* the guest's XCR0 */
	struct vlapic lapic;          /* its local APIC (hv/vcpu_events.c) */
	uint8_t *apic_page;           /* the APIC's registers; the virtual-APIC page */
	uint32_t procbased_controls;  /* as in its VMCS (the window exits change) */
	uint8_t tpr_threshold;        /* as in its VMCS */
	uint64_t tsc_adjust;          /* IA32_TSC_ADJUST as the guest sees it */
	uint64_t exit_count;          /* exits of the full path (the ring's index) */
	uint64_t fast_exits_retired;  /* fast-path exits of answers since forgotten */
	uint64_t exits_by_reason[EXIT_REASON_COUNT];
	struct exit_record recent_exits[VCPU_RECENT_EXITS];
	struct mmio_decode_cache mmio_decoded; /* MMIO instructions decoded (hv/mmio.c) */
};

_Static_assert(EXIT_REASON_CPUID_ASM == EXIT_REASON_CPUID &&
	       EXIT_REASON_VMCALL_ASM == EXIT_REASON_VMCALL &&
	       EXIT_REASON_RDMSR_ASM == EXIT_REASON_RDMSR &&
	       EXIT_REASON_IO_ASM == EXIT_REASON_IO_INSTRUCTION, "the fast path's exit reasons");
_Static_assert(__builtin_offsetof(struct vcpu, fast) ==
	       __builtin_offsetof(struct vcpu, regs) + GUEST_REGS_SIZE,
	       "the exit fast path finds its state right after the registers");

/** Every VM exit of the vCPU so far, the fast path's included. */
static inline uint64_t vcpu_exit_total(const struct vcpu *vcpu)
{
	uint64_t total = vcpu->exit_count + vcpu->fast_exits_retired;

	for (unsigned int i = 0; i < EXIT_CACHE_ENTRIES; i++) {
		total += vcpu->fast.cache[i].hits;
	}
	return total;
}

/** The vCPU's VM exits of one basic reason, the fast path's included. */
static inline uint64_t vcpu_exits_of_reason(const struct vcpu *vcpu, unsigned int reason)
{
	uint64_t count = vcpu->exits_by_reason[reason];

	for (unsigned int i = 0; i < EXIT_CACHE_ENTRIES; i++) {
		if (vcpu->fast.cache[i].reason == reason) {
			count += vcpu->fast.cache[i].hits;
		}
	}
	return count;
}

/** One piece of a partition's RAM: contiguous in guest and host memory. */
struct partition_ram {
	gpa_t gpa;
	hpa_t hpa;
	uint64_t size;
};

/** A partition and everything it owns. */
struct partition {
	unsigned int id;
	enum partition_state state;
	const struct partition_config *config;
	struct boot_files files;      /* image and initrd, kept for restarts */
	gpa_t boot_entry;             /* first instruction, set by partition_load_boot_files() */
	uint64_t boot_rsi;            /* RSI at it (Linux: the zero page), else 0 */
	struct partition_ram ram[PARTITION_MAX_CHUNKS];
	size_t ram_count;
	struct ept ept;
	hpa_t io_bitmaps;             /* two pages: ports 0-0x7fff, 0x8000-0xffff */
	hpa_t msr_bitmap;
	struct vcpu vcpus[CONFIG_MAX_VCPUS];
	unsigned int vcpu_count;
	struct vuart uart;
	struct byte_ring console_log; /* its console output, newest bytes (console_buffer) */
	/* Who takes its UART's raw output (the operator's console), kept across restarts. */
	void (*console_tap)(void *ctx, const char *bytes, size_t length);
	void *console_tap_ctx;
	struct mmio_map mmio;          /* device ranges of its guest-physical space */
	struct vdev_test test_device;  /* with test_device = yes */
	struct platform platform;      /* PIC, PIT, RTC, I/O APIC, ACPI, PCI (hv/platform.h) */
	const struct mtrr_state *mtrr; /* the host's, for rebuilding the EPT */
	unsigned int restarts;
	uint64_t exit_code;
	char stop_reason[STOP_REASON_MAX];
	uint64_t started_at;            /* TSC of its last start or restart */
	bool shutdown_requested;        /* power button pressed, not stopped yet */
	uint64_t shutdown_requested_at; /* TSC of that request */
};

/** The partition's VM exits of one basic reason, over its vCPUs, the fast path's included. */
static inline uint64_t partition_exits_of_reason(const struct partition *p, unsigned int reason)
{
	uint64_t count = 0;

	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		count += vcpu_exits_of_reason(&p->vcpus[i], reason);
	}
	return count;
}

/** Builds a partition from its configuration and boot files; false on refusal. */
bool partition_create(struct partition *p, unsigned int id, const struct partition_config *config,
		      const struct boot_files *files, const struct mtrr_state *mtrr);

/**
 * Copies the boot files into the partition's fresh RAM, as a flat image or
 * by the Linux boot protocol, and sets boot_entry and boot_rsi; false
 * (logged, naming the file and why) when they do not fit or are refused.
 */
bool partition_load_boot_files(struct partition *p);

/** Gives the partition its RAM and builds its EPT; false (logged) on refusal. */
bool partition_memory_build(struct partition *p, const struct mtrr_state *mtrr, bool allow_2m,
			    bool allow_1g);

/** Scrubs the partition's RAM, returns it to the free pool and drops its EPT. */
void partition_memory_release(struct partition *p);

/** Copies bytes into guest RAM, across pieces; false if any byte is not RAM. */
bool partition_copy_to_guest(struct partition *p, gpa_t gpa, const void *src, uint64_t size);

/** Copies bytes out of guest RAM, across pieces; false if any byte is not RAM. */
bool partition_copy_from_guest(const struct partition *p, void *dst, gpa_t gpa, uint64_t size);

/** Bytes of RAM from @gpa to the end of its host piece; 0 if @gpa is not RAM. */
uint64_t partition_contiguous_bytes(const struct partition *p, gpa_t gpa);

/** Boots a stopped partition again from its kept image; false if it cannot. */
bool partition_restart(struct partition *p);

/** Marks the partition running and its vCPUs runnable. */
void partition_start(struct partition *p);

/** As partition_start(), reporting @change (started or restarted) to the observer. */
void partition_mark_running(struct partition *p, enum partition_change change);

/** Stops scheduling a running partition; its vCPUs keep their state. */
void partition_pause(struct partition *p);

/** Schedules a paused partition again. */
void partition_resume(struct partition *p);

/**
 * Asks a running partition to power itself off (the ACPI power button):
 * records when; the operator's console forces the stop once the
 * partition's stop_timeout has passed (partition_stop_overdue()).
 */
void partition_request_power_button(struct partition *p);

/** Whether a power-button request is older than the partition's stop_timeout. */
bool partition_stop_overdue(const struct partition *p, uint64_t now_tsc, uint64_t tsc_hz);

/** Receives every state change of every partition (NULL: nobody). */
typedef void (*partition_observer_fn)(struct partition *p, enum partition_change change);

/** Sets the one observer of state changes. */
void partition_set_observer(partition_observer_fn fn);

/** Sends every byte the partition's UART transmits to @fn too (NULL: stop), across restarts. */
void partition_set_console_tap(struct partition *p,
			       void (*fn)(void *ctx, const char *bytes, size_t length), void *ctx);

/** Stops every vCPU of the partition and reports why, once. */
void partition_stop(struct partition *p, const char *fmt, ...) PRINTF_LIKE(2, 3);

/** Translates a guest-physical range inside the partition's RAM to a pointer. */
void *partition_gpa_to_ptr(const struct partition *p, gpa_t gpa, uint64_t size);

/** The partition table: PARTITION_MAX entries, from partition_table_init(). */
extern struct partition *partitions;

/** Allocates the (zeroed) partition table; false when memory is short. */
bool partition_table_init(void);

#endif /* TESSERA_HV_PARTITION_H */
