/*
 * irq: checks from inside a guest that Tessera virtualizes the local APIC
 * (hv/vlapic.h) and injects its events correctly (hv/vcpu_events.c): the
 * registers at reset, the CPUID leaves that describe the APIC and its clock,
 * the timer in all three modes (one-shot, periodic, TSC-deadline) with the
 * divider and the mask, self IPIs and the STI shadow, IPI destinations,
 * priorities, nesting and EOI, the TPR, NMIs and NMI blocking, x2APIC mode
 * and its MSRs, and HLT: woken by a pending interrupt, not by one TPR masks,
 * and by a timer 10 ms away (hv/sched.c).
 *
 * Every vector has a handler (vectors.S). Interrupts and NMIs are logged in
 * order, with the TSC at entry and a second entry (vector | EVENT_DONE) just
 * before the IRET, after the EOI: a check compares the log with the order
 * the SDM (Vol. 3A, ch. 11) prescribes. Exceptions other than NMI only
 * occur under PROBE, which skips the faulting instruction.
 *
 * The TSC is the clock of every timing check: Tessera's APIC timer counts
 * at the TSC rate (CPUID 0x40000010 EBX = EAX), so N timer ticks at divide
 * by 1 are N TSC ticks. Lower bounds are exact; upper bounds leave room for
 * the exits and the scheduler between expiry and injection.
 *
 * Each check prints "ok: <what>" or "FAILED: <what>: expected X, got Y"; all
 * checks run even after a failure, and the exit code is the number that
 * failed (0: all passed). The guest only halts with interrupts enabled:
 * Tessera stops a partition that halts with IF=0.
 */
#include "guests/common/check.h"
#include "guests/common/descriptors.h"
#include "guests/common/guest.h"
#include "guests/common/interrupt_stubs.h"

#define VECTOR_NMI       2
#define VECTOR_GP        13
#define EVENT_DONE       0x100 /* logged after the EOI, just before the IRET */
#define EVENT_LOG_MAX    32

/* The vectors the checks use; the class (bits 7:4) decides priority. */
#define VEC_TIMER    0x40
#define VEC_SELF     0x41
#define VEC_MIDDLE   0x42 /* class 4 */
#define VEC_HIGH     0x52 /* class 5 */
#define VEC_LOW      0x32 /* class 3 */
#define VEC_TPR      0x45
#define VEC_X2_SELF  0x46
#define VEC_X2_TIMER 0x47
#define VEC_X2_ICR   0x48
#define VEC_X2_DEST  0x49
#define VEC_BY_ID    0x43
#define VEC_ALL      0x44
#define VEC_OTHERS   0x4a
#define VEC_WAKER    0x60 /* class 6: above a TPR of 0x50 */

/* MSRs (SDM Vol. 4). */
#define MSR_APIC_BASE    0x1b
#define MSR_TSC_ADJUST   0x3b
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800

/* IA32_APIC_BASE (SDM 11.4.4, 11.12.1). */
#define APIC_BASE_ADDRESS 0xfee00000U
#define APIC_BASE_BSP     0x100U
#define APIC_BASE_EXTD    0x400U
#define APIC_BASE_ENABLE  0x800U
#define APIC_BASE_XAPIC   (APIC_BASE_ADDRESS | APIC_BASE_ENABLE | APIC_BASE_BSP)
#define APIC_BASE_X2APIC  (APIC_BASE_XAPIC | APIC_BASE_EXTD)
#define APIC_BASE_OFF     (APIC_BASE_ADDRESS | APIC_BASE_BSP)

/* xAPIC register offsets (SDM Table 11-1); x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID            0x020
#define APIC_VERSION       0x030
#define APIC_TPR           0x080
#define APIC_PPR           0x0a0
#define APIC_EOI           0x0b0
#define APIC_LDR           0x0d0
#define APIC_DFR           0x0e0
#define APIC_SVR           0x0f0
#define APIC_ISR           0x100
#define APIC_IRR           0x200
#define APIC_ICR_LOW       0x300
#define APIC_ICR_HIGH      0x310
#define APIC_LVT_TIMER     0x320
#define APIC_LVT_THERMAL   0x330
#define APIC_LVT_PERF      0x340
#define APIC_LVT_LINT0     0x350
#define APIC_LVT_LINT1     0x360
#define APIC_LVT_ERROR     0x370
#define APIC_TIMER_INITIAL 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE  0x3e0
#define APIC_SELF_IPI      0x3f0 /* x2APIC only */
#define APIC_VECTOR_WORDS  8     /* ISR, TMR, IRR: 8 x 32 bits, 16 bytes apart */

/* Register values (SDM 11.4.7.1 power-up state; Tessera's version: hv/vlapic.h). */
#define APIC_VERSION_EXPECTED 0x00050014U
#define SVR_RESET             0xffU
#define SVR_ENABLED           0x1ffU /* software enable, spurious vector 0xff */
#define LVT_MASKED            0x10000U
#define TIMER_ONE_SHOT        (0U << 17)
#define TIMER_PERIODIC        (1U << 17)
#define TIMER_TSC_DEADLINE    (2U << 17)
#define DIVIDE_BY_1           0xbU
#define DIVIDE_BY_16          0x3U
#define X2APIC_LDR_ID0        0x1U /* cluster 0, bit 0 (SDM 11.12.10.2) */

/* ICR (SDM 11.6.1): shorthand self, NMI delivery, level assert. */
#define ICR_DELIVERY_NMI   (4U << 8)
#define ICR_LEVEL_ASSERT   (1U << 14)
#define ICR_SHORTHAND_SELF (1U << 18)
#define ICR_SHORTHAND_ALL  (2U << 18) /* all including self */
#define ICR_SHORTHAND_OTHERS (3U << 18) /* all excluding self */

/* CPUID (SDM Vol. 2A). */
#define CPUID_1_ECX_X2APIC       21
#define CPUID_1_ECX_TSC_DEADLINE 24
#define CPUID_1_EDX_APIC         9
#define CPUID_LEAF_TSC_CRYSTAL   0x15
#define CPUID_LEAF_FREQUENCY     0x16

/*
 * Timer counts, in timer ticks (TSC ticks at divide by 1). Bochs runs about
 * 25 M instructions per second and its TSC about 25 MHz, and one exit costs
 * some thousands of ticks: the counts are long enough that the guest is in
 * HLT before they expire, and short enough to keep the run brief.
 */
#define ONE_SHOT_COUNT   20000U
#define LATE_FACTOR      100U    /* the brief's bound: injected within 100 N */
#define PERIOD_COUNT     40000U
#define PERIODS          3U
#define DIVIDED_COUNT    4000U   /* x16: 64000 TSC ticks */
#define LONG_COUNT       1000000U /* never expires during a check: stopped first */
#define DEADLINE_TICKS   20000U
#define DEADLINE_FAR     1000000000ULL
#define TSC_ADJUST_STEP  (1ULL << 40)
#define SETTLE_TICKS     20000U  /* how long "nothing more arrives" is watched */
#define LONG_HALT_MS     10U

/** What a check may do inside a handler, before its EOI (interrupts still off). */
typedef void (*interrupt_hook_fn)(uint32_t vector);

/*
 * The PROBE record (see PROBE); global because the asm names them. The
 * handler resumes at probe_resume_eip, 0 when no check expects a fault.
 */
volatile uint32_t probe_resume_eip;
volatile uint32_t probe_fault_count;
static volatile uint32_t probe_fault_vector;
static volatile uint32_t probe_fault_error;

/* The event log: vectors in the order the handlers ran, and the TSC at entry. */
static volatile uint32_t event_log[EVENT_LOG_MAX];
static volatile uint64_t event_tsc[EVENT_LOG_MAX];
static volatile uint32_t event_count;
static volatile interrupt_hook_fn interrupt_hook;

/* The APIC's interface: EOI and the checks' helpers pick MMIO or MSRs by it. */
static volatile bool x2apic_active;

/* What the hooks saw inside a handler, for the checks after it. */
static volatile uint32_t hook_events_seen;
static volatile uint32_t hook_register;
static volatile uint32_t hook_register2;

static struct idt_gate idt[INTERRUPT_VECTORS] ALIGNED(8);
static uint32_t timer_khz;

/*
 * Wraps one instruction that may fault: arms the handler to resume just
 * past it (label 1) and clears the record. Needs the "memory" clobber.
 */
#define PROBE(insn)                              \
	"movl $0, probe_fault_count\n\t"         \
	"movl $1f, probe_resume_eip\n\t"         \
	insn "\n"                                \
	"1:\tmovl $0, probe_resume_eip\n\t"

/* ---------------------------------------------------------------------- */
/* Reporting                                                              */
/* ---------------------------------------------------------------------- */

/** Prints a list of logged events as "[0x52 0x152 ...]". */
static void print_events(const volatile uint32_t *events, uint32_t count)
{
	guest_printf("[");
	for (uint32_t i = 0; i < count; i++) {
		guest_printf(i == 0 ? "0x%x" : " 0x%x", events[i]);
	}
	guest_printf("]");
}

/** Checks that the event log holds exactly @expected, in order. */
static void check_events(const char *what, const uint32_t *expected, uint32_t count)
{
	bool same = event_count == count;

	for (uint32_t i = 0; same && i < count; i++) {
		same = event_log[i] == expected[i];
	}
	if (same) {
		check_pass(what);
		return;
	}
	check_fail(what);
	guest_printf("expected ");
	print_events(expected, count);
	guest_printf(", got ");
	print_events(event_log, MIN(event_count, (uint32_t)EVENT_LOG_MAX));
	guest_printf("\n");
}

/** Checks that the last PROBE raised exactly one #GP(0). */
static void check_gp(const char *what)
{
	if (probe_fault_count == 1 && probe_fault_vector == VECTOR_GP && probe_fault_error == 0) {
		check_pass(what);
		return;
	}
	check_fail(what);
	if (probe_fault_count == 0) {
		guest_printf("expected #GP(0), got no exception\n");
		return;
	}
	guest_printf("expected #GP(0), got vector %u error code 0x%x (%u exceptions)\n",
		     probe_fault_vector, probe_fault_error, probe_fault_count);
}

/** Checks a value read under PROBE, which must not have faulted. */
static void check_probed(const char *what, uint64_t got, uint64_t expected)
{
	if (probe_fault_count == 0) {
		check_u64(what, got, expected);
		return;
	}
	check_fail(what);
	guest_printf("expected 0x%llx, got exception vector %u\n", (unsigned long long)expected,
		     probe_fault_vector);
}

/* ---------------------------------------------------------------------- */
/* MSRs, the APIC and the handlers                                        */
/* ---------------------------------------------------------------------- */

/** RDMSR without a probe: for MSRs that cannot fault here. */
static uint64_t rdmsr(uint32_t msr)
{
	uint32_t low;
	uint32_t high;

	__asm__ volatile("rdmsr" : "=a"(low), "=d"(high) : "c"(msr) : "memory");
	return ((uint64_t)high << 32) | low;
}

/** WRMSR without a probe: for writes that cannot fault here. */
static void wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
}

/** RDMSR under PROBE; the value means nothing if it faulted. */
static uint64_t probe_rdmsr(uint32_t msr)
{
	uint32_t low = 0;
	uint32_t high = 0;

	__asm__ volatile(PROBE("rdmsr") : "+a"(low), "+d"(high) : "c"(msr) : "memory");
	return ((uint64_t)high << 32) | low;
}

/** WRMSR under PROBE. */
static void probe_wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile(PROBE("wrmsr")
			 : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
}

/** Reads an xAPIC register with one aligned 32-bit MOV (the only access Tessera serves). */
static uint32_t apic_read(uint32_t offset)
{
	uint32_t value;

	__asm__ volatile("movl (%1), %0"
			 : "=r"(value) : "r"(APIC_BASE_ADDRESS + offset) : "memory");
	return value;
}

/** Writes an xAPIC register with one aligned 32-bit MOV. */
static void apic_write(uint32_t offset, uint32_t value)
{
	__asm__ volatile("movl %1, (%0)"
			 : : "r"(APIC_BASE_ADDRESS + offset), "r"(value) : "memory");
}

/** The x2APIC MSR of the register at xAPIC @offset (SDM 11.12.1.2). */
static uint32_t x2apic_msr(uint32_t offset)
{
	return MSR_X2APIC_FIRST + offset / 16;
}

/** EOI through the interface of the current mode (x2APIC: the value must be 0). */
static void apic_eoi(void)
{
	if (x2apic_active) {
		wrmsr(x2apic_msr(APIC_EOI), 0);
	} else {
		apic_write(APIC_EOI, 0);
	}
}

/** Whether @vector's bit is set in ISR or IRR (@base), read through MMIO. */
static uint32_t apic_vector_bit(uint32_t base, uint32_t vector)
{
	return (apic_read(base + (vector / 32) * 16) >> (vector % 32)) & 1;
}

/** An exception: skips the probed instruction, or stops the guest if none was probed. */
static void exception_taken(struct interrupt_frame *frame)
{
	if (probe_resume_eip == 0) {
		check_fail_unexpected_exception(frame->vector, frame->error_code, frame->eip);
	}
	probe_fault_count++;
	probe_fault_vector = frame->vector;
	probe_fault_error = frame->error_code;
	frame->eip = probe_resume_eip;
}

/** Appends one event and the TSC to the log (the log keeps its first entries). */
static void log_event(uint32_t event, uint64_t tsc)
{
	uint32_t index = event_count;

	if (index < EVENT_LOG_MAX) {
		event_log[index] = event;
		event_tsc[index] = tsc;
	}
	event_count = index + 1;
}

/**
 * Every vector's handler (vectors.S). An interrupt or NMI is logged, the
 * check's hook runs, an interrupt gets its EOI (not NMI, not the spurious
 * vector: SDM 11.9), and the log notes the end just before the IRET.
 */
void interrupt_dispatch(struct interrupt_frame *frame)
{
	uint64_t tsc = rdtsc();
	uint32_t vector = frame->vector;
	interrupt_hook_fn hook = interrupt_hook;

	if (vector < FIRST_EXTERNAL && vector != VECTOR_NMI) {
		exception_taken(frame);
		return;
	}
	log_event(vector, tsc);
	if (hook != NULL) {
		hook(vector);
	}
	if (vector != VECTOR_NMI && vector != (SVR_ENABLED & 0xff)) {
		apic_eoi();
	}
	log_event(vector | EVENT_DONE, rdtsc());
}

/* ---------------------------------------------------------------------- */
/* Helpers of the checks                                                  */
/* ---------------------------------------------------------------------- */

/** Empties the event log and removes the hook. */
static void log_reset(void)
{
	interrupt_hook = NULL;
	event_count = 0;
	hook_events_seen = 0;
	hook_register = 0;
	hook_register2 = 0;
}

/** How many times @vector's handler was entered since the last log_reset. */
static uint32_t entries_of(uint32_t vector)
{
	uint32_t count = 0;

	for (uint32_t i = 0; i < MIN(event_count, (uint32_t)EVENT_LOG_MAX); i++) {
		count += event_log[i] == vector;
	}
	return count;
}

/** The TSC at the @nth (0-based) entry of @vector's handler, or 0. */
static uint64_t entry_tsc(uint32_t vector, uint32_t nth)
{
	for (uint32_t i = 0; i < MIN(event_count, (uint32_t)EVENT_LOG_MAX); i++) {
		if (event_log[i] == vector && nth-- == 0) {
			return event_tsc[i];
		}
	}
	return 0;
}

/** Spins for @ticks of TSC without touching IF. */
static void spin_ticks(uint64_t ticks)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < ticks) {
		__asm__ volatile("" : : : "memory");
	}
}

/** Halts with interrupts enabled until one arrives; STI's shadow covers the HLT. */
static void halt_until_interrupt(void)
{
	__asm__ volatile("sti; hlt; cli" : : : "memory");
}

/** Lets @ticks of TSC pass with interrupts enabled, then disables them again. */
static void run_with_interrupts(uint64_t ticks)
{
	uint64_t start = rdtsc();

	__asm__ volatile("sti" : : : "memory");
	while (rdtsc() - start < ticks) {
		__asm__ volatile("pause" : : : "memory");
	}
	__asm__ volatile("cli" : : : "memory");
}

/** Spins with interrupts enabled until @vector's handler ran or @ticks passed. */
static void wait_with_interrupts(uint32_t vector, uint64_t ticks)
{
	uint64_t start = rdtsc();

	__asm__ volatile("sti" : : : "memory");
	while (entries_of(vector) == 0 && rdtsc() - start < ticks) {
		__asm__ volatile("pause" : : : "memory");
	}
	__asm__ volatile("cli" : : : "memory");
}

/** A fixed, edge-triggered self IPI through the xAPIC ICR (SDM 11.6.1). */
static void send_self_ipi(uint32_t vector)
{
	apic_write(APIC_ICR_LOW, ICR_SHORTHAND_SELF | ICR_LEVEL_ASSERT | vector);
}

/** An NMI to physical APIC ID 0 (this vCPU) through the xAPIC ICR. */
static void send_nmi_to_self_by_id(void)
{
	apic_write(APIC_ICR_HIGH, 0);
	apic_write(APIC_ICR_LOW, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT);
}

/** Stops the timer and sets its LVT entry (one-shot or periodic count-down). */
static void timer_setup(uint32_t lvt, uint32_t divide)
{
	apic_write(APIC_TIMER_INITIAL, 0);
	apic_write(APIC_LVT_TIMER, lvt);
	apic_write(APIC_TIMER_DIVIDE, divide);
}

/* ---------------------------------------------------------------------- */
/* Reset state and CPUID                                                  */
/* ---------------------------------------------------------------------- */

/** Every vector bit of ISR or IRR (@base) is clear. */
static bool apic_vector_reg_clear(uint32_t base)
{
	for (uint32_t i = 0; i < APIC_VECTOR_WORDS; i++) {
		if (apic_read(base + i * 16) != 0) {
			return false;
		}
	}
	return true;
}

/** The power-up state (SDM 11.4.7.1) and Tessera's version register. */
static void check_reset_state(void)
{
	static const struct {
		const char *what;
		uint32_t offset;
	} lvts[] = {
		{ "LVT timer reads 0x10000 (masked) at reset", APIC_LVT_TIMER },
		{ "LVT thermal reads 0x10000 (masked) at reset", APIC_LVT_THERMAL },
		{ "LVT performance reads 0x10000 (masked) at reset", APIC_LVT_PERF },
		{ "LVT LINT0 reads 0x10000 (masked) at reset", APIC_LVT_LINT0 },
		{ "LVT LINT1 reads 0x10000 (masked) at reset", APIC_LVT_LINT1 },
		{ "LVT error reads 0x10000 (masked) at reset", APIC_LVT_ERROR },
	};

	check_u64("IA32_APIC_BASE reads 0xfee00900 (enabled, BSP)", rdmsr(MSR_APIC_BASE),
		  APIC_BASE_XAPIC);
	check_u32("APIC ID register reads 0", apic_read(APIC_ID), 0);
	check_u32("APIC version register reads 0x00050014", apic_read(APIC_VERSION),
		  APIC_VERSION_EXPECTED);
	check_u32("SVR reads 0xff at reset", apic_read(APIC_SVR), SVR_RESET);
	check_u32("TPR reads 0 at reset", apic_read(APIC_TPR), 0);
	check_u32("PPR reads 0 at reset", apic_read(APIC_PPR), 0);
	check_u32("DFR reads 0xffffffff at reset", apic_read(APIC_DFR), 0xffffffffU);
	check_u32("LDR reads 0 at reset", apic_read(APIC_LDR), 0);
	for (size_t i = 0; i < ARRAY_SIZE(lvts); i++) {
		check_u32(lvts[i].what, apic_read(lvts[i].offset), LVT_MASKED);
	}
	check_u32("timer initial count reads 0 at reset", apic_read(APIC_TIMER_INITIAL), 0);
	check_u32("timer current count reads 0 at reset", apic_read(APIC_TIMER_CURRENT), 0);
	check_u32("timer divide configuration reads 0 at reset", apic_read(APIC_TIMER_DIVIDE), 0);
	check_u32("ISR and IRR are clear at reset",
		  apic_vector_reg_clear(APIC_ISR) && apic_vector_reg_clear(APIC_IRR), 1);
	probe_rdmsr(x2apic_msr(APIC_VERSION));
	check_gp("RDMSR 0x803 (x2APIC version) in xAPIC mode raises #GP(0)");
}

/** Leaf 1's APIC bits, Tessera's timing leaf, and the architectural 15H and 16H. */
static void check_cpuid(void)
{
	struct cpuid_result features = cpuid(1);
	struct cpuid_result timing = cpuid(TESSERA_CPUID_LEAF_TIMING);
	struct cpuid_result crystal = cpuid(CPUID_LEAF_TSC_CRYSTAL);
	uint32_t tsc_khz = timing.eax;

	check_bit("CPUID.1:ECX.x2APIC (bit 21) is set", features.ecx, CPUID_1_ECX_X2APIC, 1);
	check_bit("CPUID.1:ECX.TSC-deadline (bit 24) is set", features.ecx,
		  CPUID_1_ECX_TSC_DEADLINE, 1);
	check_bit("CPUID.1:EDX.APIC (bit 9) is set", features.edx, CPUID_1_EDX_APIC, 1);
	check_within("CPUID.0:EAX (highest basic leaf) is at least 0x16", cpuid(0).eax,
		     CPUID_LEAF_FREQUENCY, 0xffff);
	check_within("CPUID 0x40000010 EAX (TSC kHz) is not 0", tsc_khz, 1, UINT32_MAX);
	check_u32("CPUID 0x40000010 EBX (APIC timer kHz) equals EAX (TSC kHz)", timing.ebx, tsc_khz);
	check_u32("CPUID 0x40000010 ECX and EDX are 0", timing.ecx | timing.edx, 0);
	guest_printf("note: TSC and APIC timer at %u kHz\n", tsc_khz);
	timer_khz = timing.ebx != 0 ? timing.ebx : 1;
	if ((uint64_t)tsc_khz * 1000 > UINT32_MAX) {
		guest_printf("note: a TSC past 2^32 Hz: leaf 0x15 is scaled, not checked\n");
		return;
	}
	check_u32("CPUID 0x15 EAX (crystal ratio denominator) is 1", crystal.eax, 1);
	check_u32("CPUID 0x15 EBX (crystal ratio numerator) is 1", crystal.ebx, 1);
	check_u32("CPUID 0x15 ECX / 1000 (crystal kHz) equals the TSC kHz",
		  (uint32_t)divide_u64(crystal.ecx, 1000, NULL), tsc_khz);
	check_u32("CPUID 0x15 EDX is 0", crystal.edx, 0);
	check_u32("CPUID 0x16 EAX (base MHz) is the TSC kHz / 1000",
		  cpuid(CPUID_LEAF_FREQUENCY).eax, (uint32_t)divide_u64(tsc_khz, 1000, NULL));
}

/**
 * Software enable (SDM 11.4.7.2): while SVR bit 8 is clear an LVT write
 * cannot clear the mask bit; SVR = 0x1ff enables the APIC.
 */
static void check_software_enable(void)
{
	apic_write(APIC_LVT_TIMER, VEC_TIMER);
	check_u32("LVT timer write while software-disabled keeps the mask (0x10040)",
		  apic_read(APIC_LVT_TIMER), LVT_MASKED | VEC_TIMER);
	apic_write(APIC_SVR, SVR_ENABLED);
	check_u32("SVR = 0x1ff (software enable) reads back", apic_read(APIC_SVR), SVR_ENABLED);
	apic_write(APIC_LVT_TIMER, VEC_TIMER);
	check_u32("LVT timer = 0x40 reads back once software-enabled", apic_read(APIC_LVT_TIMER),
		  VEC_TIMER);
}

/** The fewest TSC ticks one APIC register read (an MMIO exit) took, for the notes. */
static void note_exit_cost(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 5; i++) {
		uint64_t start = rdtsc();

		apic_read(APIC_VERSION);
		best = MIN(best, rdtsc() - start);
	}
	guest_printf("note: one APIC register read (an MMIO exit) takes %llu TSC ticks\n",
		     (unsigned long long)best);
}

/* ---------------------------------------------------------------------- */
/* The timer                                                              */
/* ---------------------------------------------------------------------- */

/** Arms a one-shot count-down of @count and returns the TSC just before. */
static uint64_t arm_count_down(uint32_t count)
{
	uint64_t start = rdtsc();

	apic_write(APIC_TIMER_INITIAL, count);
	return start;
}

/** Prints how late the first interrupt of @vector came after @due. */
static void note_latency(const char *what, uint32_t vector, uint64_t due)
{
	guest_printf("note: %s: injected %lld TSC ticks after expiry\n", what,
		     (long long)(entry_tsc(vector, 0) - due));
}

/** One-shot, the guest halted: one interrupt, N to 100 N TSC ticks after arming. */
static void check_one_shot_halted(void)
{
	uint64_t start;

	log_reset();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	start = arm_count_down(ONE_SHOT_COUNT);
	halt_until_interrupt();
	check_u32("one-shot timer: current count reads 0 after expiry",
		  apic_read(APIC_TIMER_CURRENT), 0);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("one-shot timer: HLT woken, vector 0x40 ran exactly once",
		  entries_of(VEC_TIMER), 1);
	check_within("one-shot timer: fired N to 100 N TSC ticks after arming (N = 20000)",
		     entry_tsc(VEC_TIMER, 0) - start, ONE_SHOT_COUNT,
		     (uint64_t)LATE_FACTOR * ONE_SHOT_COUNT);
	note_latency("one-shot timer, halted", VEC_TIMER, start + ONE_SHOT_COUNT);
}

/** One-shot while the guest spins without exits: the preemption-timer path. */
static void check_one_shot_running(void)
{
	uint64_t start;

	log_reset();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	start = arm_count_down(ONE_SHOT_COUNT);
	wait_with_interrupts(VEC_TIMER, (uint64_t)LATE_FACTOR * ONE_SHOT_COUNT);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("one-shot timer, guest spinning: vector 0x40 ran exactly once",
		  entries_of(VEC_TIMER), 1);
	check_within("one-shot timer, guest spinning: fired N to 100 N TSC ticks after arming",
		     entry_tsc(VEC_TIMER, 0) - start, ONE_SHOT_COUNT,
		     (uint64_t)LATE_FACTOR * ONE_SHOT_COUNT);
	note_latency("one-shot timer, spinning", VEC_TIMER, start + ONE_SHOT_COUNT);
}

/**
 * The current count of a running count-down falls by the TSC ticks since
 * the initial-count write, divided by @divisor (the timer's clock is the
 * TSC). The write and the read happen inside RDTSC brackets, which bound
 * the decrease exactly: floor((read - write) / divisor) for some instants
 * in those brackets.
 */
static void check_count_rate(const char *what, uint32_t divide, uint32_t divisor)
{
	uint64_t before_write;
	uint64_t after_write;
	uint64_t before_read;
	uint64_t after_read;
	uint32_t first;
	uint32_t second;

	timer_setup(LVT_MASKED | TIMER_ONE_SHOT | VEC_TIMER, divide);
	before_write = arm_count_down(LONG_COUNT);
	after_write = rdtsc();
	first = apic_read(APIC_TIMER_CURRENT);
	before_read = rdtsc();
	second = apic_read(APIC_TIMER_CURRENT);
	after_read = rdtsc();
	apic_write(APIC_TIMER_INITIAL, 0);
	check_u32("current count of a running timer decreases between two reads",
		  first > second && first < LONG_COUNT, 1);
	check_within(what, LONG_COUNT - second,
		     divide_u64(before_read - after_write, divisor, NULL),
		     divide_u64(after_read - before_write, divisor, NULL));
	check_u32("current count reads 0 once initial count 0 stopped the timer",
		  apic_read(APIC_TIMER_CURRENT), 0);
}

/** Writing the initial count again while counting restarts from the new count (SDM 11.5.4). */
static void check_count_restart(void)
{
	uint64_t before_write;
	uint32_t current;

	timer_setup(LVT_MASKED | TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	arm_count_down(LONG_COUNT);
	spin_ticks(SETTLE_TICKS);
	before_write = arm_count_down(LONG_COUNT);
	current = apic_read(APIC_TIMER_CURRENT);
	check_within("initial count written again while counting restarts the count-down",
		     LONG_COUNT - current, 0, rdtsc() - before_write);
	apic_write(APIC_TIMER_INITIAL, 0);
}

/** The one-shot checks. */
static void check_one_shot(void)
{
	check_one_shot_halted();
	check_one_shot_running();
	check_count_rate("current count falls at the TSC rate (divide by 1)", DIVIDE_BY_1, 1);
	check_count_restart();
}

/** In the periodic check's last expected interrupt: stop the timer at once. */
static void periodic_hook(uint32_t vector)
{
	if (vector == VEC_TIMER && entries_of(VEC_TIMER) == PERIODS) {
		apic_write(APIC_TIMER_INITIAL, 0);
	}
}

/**
 * Periodic: the k-th interrupt comes k periods after arming (the timer
 * reloads without drift, SDM 11.5.4), within half a period; so each is
 * more than half a period after the one before and none was skipped.
 */
static void check_periodic_times(uint64_t start)
{
	static const char *const names[PERIODS] = {
		"periodic timer: 1st interrupt 1 to 1.5 periods after arming (N = 40000)",
		"periodic timer: 2nd interrupt 2 to 2.5 periods after arming",
		"periodic timer: 3rd interrupt 3 to 3.5 periods after arming",
	};

	for (uint32_t k = 1; k <= PERIODS; k++) {
		uint64_t due = (uint64_t)k * PERIOD_COUNT;

		check_within(names[k - 1], entry_tsc(VEC_TIMER, k - 1) - start, due,
			     due + PERIOD_COUNT / 2);
	}
}

/** Periodic mode: three halts, three interrupts; stopped, no more arrive. */
static void check_periodic(void)
{
	uint64_t start;

	log_reset();
	timer_setup(TIMER_PERIODIC | VEC_TIMER, DIVIDE_BY_1);
	check_u32("LVT timer periodic (bits 18:17 = 01) reads 0x20040",
		  apic_read(APIC_LVT_TIMER), TIMER_PERIODIC | VEC_TIMER);
	interrupt_hook = periodic_hook;
	start = arm_count_down(PERIOD_COUNT);
	for (uint32_t i = 0; i < PERIODS; i++) {
		halt_until_interrupt();
	}
	check_u32("periodic timer: 3 halts woken by 3 interrupts", entries_of(VEC_TIMER), PERIODS);
	check_periodic_times(start);
	check_u32("periodic timer: current count reads 0 once stopped",
		  apic_read(APIC_TIMER_CURRENT), 0);
	run_with_interrupts(3ULL * PERIOD_COUNT);
	check_u32("periodic timer: no interrupt after initial count 0 (3 periods with IF=1)",
		  entries_of(VEC_TIMER), PERIODS);
}

/** Divide by 16: the count-down takes 16 TSC ticks per count (and not 32). */
static void check_divide(void)
{
	uint64_t start;

	log_reset();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_16);
	check_u32("divide configuration 0x3 (divide by 16) reads back",
		  apic_read(APIC_TIMER_DIVIDE), DIVIDE_BY_16);
	start = arm_count_down(DIVIDED_COUNT);
	halt_until_interrupt();
	check_within("timer divided by 16: fired 16 N to 32 N TSC ticks after arming (N = 4000)",
		     entry_tsc(VEC_TIMER, 0) - start, 16ULL * DIVIDED_COUNT,
		     32ULL * DIVIDED_COUNT - 1);
	check_count_rate("current count falls at the TSC rate / 16 (divide by 16)", DIVIDE_BY_16,
			 16);
	apic_write(APIC_TIMER_DIVIDE, DIVIDE_BY_1);
}

/** The masked timer counts down to 0 but raises nothing, not even once unmasked. */
static void check_masked_timer(void)
{
	log_reset();
	timer_setup(LVT_MASKED | TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	arm_count_down(ONE_SHOT_COUNT);
	run_with_interrupts(ONE_SHOT_COUNT + SETTLE_TICKS);
	check_u32("masked timer: the count-down still reaches 0", apic_read(APIC_TIMER_CURRENT), 0);
	check_u32("masked timer: expiry runs no handler (IF=1)", entries_of(VEC_TIMER), 0);
	check_u32("masked timer: expiry sets no IRR bit", apic_vector_bit(APIC_IRR, VEC_TIMER), 0);
	apic_write(APIC_LVT_TIMER, TIMER_ONE_SHOT | VEC_TIMER);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("masked timer: unmasking after the expiry raises nothing", event_count, 0);
}

/* ---------------------------------------------------------------------- */
/* TSC-deadline mode                                                      */
/* ---------------------------------------------------------------------- */

/** The MSR in and out of TSC-deadline mode (SDM 11.5.4.1). */
static void check_tsc_deadline_msr(void)
{
	uint64_t far;

	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	wrmsr(MSR_TSC_DEADLINE, rdtsc() + DEADLINE_FAR);
	check_u64("IA32_TSC_DEADLINE outside TSC-deadline mode: write ignored, reads 0",
		  rdmsr(MSR_TSC_DEADLINE), 0);
	apic_write(APIC_LVT_TIMER, TIMER_TSC_DEADLINE | VEC_TIMER);
	check_u32("LVT timer TSC-deadline (bits 18:17 = 10) reads 0x40040",
		  apic_read(APIC_LVT_TIMER), TIMER_TSC_DEADLINE | VEC_TIMER);
	check_u64("IA32_TSC_DEADLINE reads 0 when disarmed", rdmsr(MSR_TSC_DEADLINE), 0);
	far = rdtsc() + DEADLINE_FAR;
	wrmsr(MSR_TSC_DEADLINE, far);
	check_u64("IA32_TSC_DEADLINE reads back an armed deadline", rdmsr(MSR_TSC_DEADLINE), far);
	apic_write(APIC_TIMER_INITIAL, ONE_SHOT_COUNT);
	check_u32("initial count write ignored in TSC-deadline mode",
		  apic_read(APIC_TIMER_INITIAL), 0);
	check_u32("current count reads 0 in TSC-deadline mode", apic_read(APIC_TIMER_CURRENT), 0);
	wrmsr(MSR_TSC_DEADLINE, 0);
	check_u64("IA32_TSC_DEADLINE = 0 disarms", rdmsr(MSR_TSC_DEADLINE), 0);
	wrmsr(MSR_TSC_DEADLINE, far);
	apic_write(APIC_LVT_TIMER, TIMER_ONE_SHOT | VEC_TIMER);
	apic_write(APIC_LVT_TIMER, TIMER_TSC_DEADLINE | VEC_TIMER);
	check_u64("leaving TSC-deadline mode disarms the deadline", rdmsr(MSR_TSC_DEADLINE), 0);
}

/** A deadline N ticks ahead, the guest halted: fires once, not before it, then reads 0. */
static void check_tsc_deadline_halted(void)
{
	uint64_t deadline;

	log_reset();
	deadline = rdtsc() + DEADLINE_TICKS;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	halt_until_interrupt();
	check_u64("IA32_TSC_DEADLINE reads 0 after expiry", rdmsr(MSR_TSC_DEADLINE), 0);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("TSC-deadline timer: HLT woken, vector 0x40 ran exactly once",
		  entries_of(VEC_TIMER), 1);
	check_within("TSC-deadline timer: fired 0 to 100 N TSC ticks after the deadline",
		     entry_tsc(VEC_TIMER, 0) - deadline, 0,
		     (uint64_t)LATE_FACTOR * DEADLINE_TICKS);
	note_latency("TSC-deadline timer, halted", VEC_TIMER, deadline);
}

/** A deadline already passed fires at once. */
static void check_tsc_deadline_past(void)
{
	log_reset();
	wrmsr(MSR_TSC_DEADLINE, 1);
	check_u32("TSC deadline already passed: IRR bit 0x40 set at once (IF=0)",
		  apic_vector_bit(APIC_IRR, VEC_TIMER), 1);
	check_u64("TSC deadline already passed: the MSR reads 0", rdmsr(MSR_TSC_DEADLINE), 0);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("TSC deadline already passed: delivered once after STI", entries_of(VEC_TIMER), 1);
}

/**
 * The deadline is in the guest's TSC, which TSC_ADJUST moved 2^40 ahead of
 * the host's: it must still fire on time (spinning, so that a deadline
 * converted wrongly cannot hang the guest).
 */
static void check_tsc_deadline_adjusted(void)
{
	uint64_t deadline;

	wrmsr(MSR_TSC_ADJUST, TSC_ADJUST_STEP);
	log_reset();
	deadline = rdtsc() + DEADLINE_TICKS;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	wait_with_interrupts(VEC_TIMER, (uint64_t)LATE_FACTOR * DEADLINE_TICKS);
	check_within("TSC-deadline timer after TSC_ADJUST += 2^40: fired 0 to 100 N ticks late",
		     entry_tsc(VEC_TIMER, 0) - deadline, 0,
		     (uint64_t)LATE_FACTOR * DEADLINE_TICKS);
	wrmsr(MSR_TSC_DEADLINE, 0);
	wrmsr(MSR_TSC_ADJUST, 0);
}

/** TSC-deadline mode. */
static void check_tsc_deadline(void)
{
	check_tsc_deadline_msr();
	check_tsc_deadline_halted();
	check_tsc_deadline_past();
	check_tsc_deadline_adjusted();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
}

/* ---------------------------------------------------------------------- */
/* Self IPIs, priorities, nesting, TPR                                    */
/* ---------------------------------------------------------------------- */

/**
 * STI, then two reads of the event count: the first is the instruction in
 * STI's shadow, before which no interrupt may be delivered (SDM Vol. 3A,
 * 6.8.3); the pending one must come before the second.
 */
static void read_count_around_sti(uint32_t *in_shadow, uint32_t *after)
{
	uint32_t first;
	uint32_t second;

	__asm__ volatile("sti\n\t"
			 "movl %2, %0\n\t"
			 "nop\n\t"
			 "movl %2, %1\n\t"
			 "cli"
			 : "=&r"(first), "=&r"(second) : "m"(event_count) : "memory");
	*in_shadow = first;
	*after = second;
}

/** A self IPI with IF=0 waits in IRR until STI, and past its shadow; then runs once. */
static void check_self_ipi(void)
{
	uint32_t in_shadow;
	uint32_t after;

	log_reset();
	send_self_ipi(VEC_SELF);
	check_u32("self IPI: ICR low reads back 0x44041 (self, assert, fixed, idle)",
		  apic_read(APIC_ICR_LOW), ICR_SHORTHAND_SELF | ICR_LEVEL_ASSERT | VEC_SELF);
	check_u32("self IPI with IF=0: IRR bit 0x41 set (0x220 bit 1)",
		  apic_vector_bit(APIC_IRR, VEC_SELF), 1);
	check_u32("self IPI with IF=0: not delivered", event_count, 0);
	read_count_around_sti(&in_shadow, &after);
	check_u32("self IPI: not delivered before the instruction in STI's shadow", in_shadow, 0);
	check_u32("self IPI: delivered (and EOIed) right after STI's shadow", after, 2);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("self IPI: vector 0x41 ran exactly once", entries_of(VEC_SELF), 1);
	check_u32("self IPI: IRR and ISR clear after the EOI",
		  apic_vector_reg_clear(APIC_IRR) && apic_vector_reg_clear(APIC_ISR), 1);
}

/**
 * HLT with an interrupt already pending (sent with IF=0, then STI; HLT):
 * it returns at once. A timer 10 ms away is the safety net should it not.
 */
static void check_halt_pending(void)
{
	log_reset();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	arm_count_down(timer_khz * LONG_HALT_MS);
	send_self_ipi(VEC_SELF);
	halt_until_interrupt();
	apic_write(APIC_TIMER_INITIAL, 0);
	check_u32("STI; HLT with 0x41 already pending: woken by it, not by the 10 ms timer",
		  entries_of(VEC_SELF) == 1 && entries_of(VEC_TIMER) == 0, 1);
}

/**
 * HLT while the only pending interrupt is masked by TPR: the vCPU must stay
 * halted until an interrupt above TPR (the timer, vector 0x60) arrives.
 */
static void check_halt_tpr_masked(void)
{
	static const uint32_t expected[] = {
		VEC_WAKER, VEC_WAKER | EVENT_DONE, VEC_TPR, VEC_TPR | EVENT_DONE,
	};
	uint64_t start;

	log_reset();
	apic_write(APIC_TPR, 0x50);
	send_self_ipi(VEC_TPR);
	timer_setup(TIMER_ONE_SHOT | VEC_WAKER, DIVIDE_BY_1);
	start = arm_count_down(ONE_SHOT_COUNT);
	halt_until_interrupt();
	check_within("HLT with only a TPR-masked 0x45 pending sleeps until the 0x60 timer",
		     entry_tsc(VEC_WAKER, 0) - start, ONE_SHOT_COUNT,
		     (uint64_t)LATE_FACTOR * ONE_SHOT_COUNT);
	apic_write(APIC_TPR, 0);
	__asm__ volatile("sti; nop; cli" : : : "memory");
	check_events("HLT with TPR 0x50: 0x60 wakes it, 0x45 follows once TPR is 0", expected,
		     ARRAY_SIZE(expected));
}

/** Fixed IPIs by destination: APIC ID 0, all including self, all excluding self. */
static void check_ipi_destinations(void)
{
	static const uint32_t expected[] = {
		VEC_BY_ID, VEC_BY_ID | EVENT_DONE, VEC_ALL, VEC_ALL | EVENT_DONE,
	};

	log_reset();
	apic_write(APIC_ICR_HIGH, 0);
	apic_write(APIC_ICR_LOW, ICR_LEVEL_ASSERT | VEC_BY_ID);
	run_with_interrupts(SETTLE_TICKS);
	apic_write(APIC_ICR_LOW, ICR_SHORTHAND_ALL | ICR_LEVEL_ASSERT | VEC_ALL);
	run_with_interrupts(SETTLE_TICKS);
	apic_write(APIC_ICR_LOW, ICR_SHORTHAND_OTHERS | ICR_LEVEL_ASSERT | VEC_OTHERS);
	run_with_interrupts(SETTLE_TICKS);
	check_events("fixed IPIs to APIC ID 0 (0x43) and to all including self (0x44) arrive; "
		     "to all excluding self (0x4a) does not", expected, ARRAY_SIZE(expected));
}

/** Three pending self IPIs go in priority order, each after the previous EOI and IRET. */
static void check_priority(void)
{
	static const uint32_t expected[] = {
		VEC_HIGH, VEC_HIGH | EVENT_DONE, VEC_MIDDLE, VEC_MIDDLE | EVENT_DONE,
		VEC_LOW, VEC_LOW | EVENT_DONE,
	};

	log_reset();
	send_self_ipi(VEC_MIDDLE);
	send_self_ipi(VEC_HIGH);
	send_self_ipi(VEC_LOW);
	check_u32("priority: with IF=0, IRR holds 0x42, 0x52 and 0x32",
		  apic_vector_bit(APIC_IRR, VEC_MIDDLE) + apic_vector_bit(APIC_IRR, VEC_HIGH) +
		  apic_vector_bit(APIC_IRR, VEC_LOW), 3);
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
	check_events("priority: sent 0x42 0x52 0x32, run 0x52 then 0x42 then 0x32", expected,
		     ARRAY_SIZE(expected));
}

/** In 0x42's handler: a higher-class 0x52 preempts it once interrupts are on. */
static void preempt_hook(uint32_t vector)
{
	if (vector == VEC_HIGH) {
		hook_register = apic_vector_bit(APIC_ISR, VEC_MIDDLE) +
				apic_vector_bit(APIC_ISR, VEC_HIGH);
		return;
	}
	if (vector != VEC_MIDDLE) {
		return;
	}
	send_self_ipi(VEC_HIGH);
	hook_events_seen = event_count;
	__asm__ volatile("sti; nop; nop; cli" : : : "memory");
}

/** In 0x42's handler: a lower-class 0x32 must wait for the EOI, even with IF=1. */
static void wait_hook(uint32_t vector)
{
	if (vector != VEC_MIDDLE) {
		return;
	}
	send_self_ipi(VEC_LOW);
	run_with_interrupts(SETTLE_TICKS);
	hook_events_seen = event_count;
	hook_register = apic_vector_bit(APIC_IRR, VEC_LOW);
	hook_register2 = apic_read(APIC_PPR);
}

/** Nesting through ISR and PPR (SDM 11.8.3, 11.8.4). */
static void check_nesting(void)
{
	static const uint32_t preempted[] = {
		VEC_MIDDLE, VEC_HIGH, VEC_HIGH | EVENT_DONE, VEC_MIDDLE | EVENT_DONE,
	};
	static const uint32_t waited[] = {
		VEC_MIDDLE, VEC_MIDDLE | EVENT_DONE, VEC_LOW, VEC_LOW | EVENT_DONE,
	};

	log_reset();
	interrupt_hook = preempt_hook;
	send_self_ipi(VEC_MIDDLE);
	run_with_interrupts(SETTLE_TICKS);
	check_events("nesting: 0x52 sent in 0x42's handler preempts it after STI", preempted,
		     ARRAY_SIZE(preempted));
	check_u32("nesting: 0x52 not delivered inside 0x42's handler before its STI",
		  hook_events_seen, 1);
	check_u32("nesting: ISR holds 0x42 and 0x52 in the nested handler", hook_register, 2);

	log_reset();
	interrupt_hook = wait_hook;
	send_self_ipi(VEC_MIDDLE);
	run_with_interrupts(SETTLE_TICKS);
	check_events("nesting: 0x32 sent in 0x42's handler runs after its EOI and IRET", waited,
		     ARRAY_SIZE(waited));
	check_u32("nesting: 0x32 held in IRR inside 0x42's handler with IF=1", hook_register, 1);
	check_u32("nesting: PPR reads 0x40 inside 0x42's handler", hook_register2, 0x40);
	check_u32("nesting: nothing else ran inside 0x42's handler", hook_events_seen, 1);
}

/** In 0x45's handler: PPR and the ISR bit. */
static void tpr_hook(uint32_t vector)
{
	if (vector == VEC_TPR) {
		hook_register = apic_read(APIC_PPR);
		hook_register2 = apic_vector_bit(APIC_ISR, VEC_TPR);
	}
}

/** A self IPI 0x45 with TPR 0x50, 0x40, 0x3f (SDM 11.8.3.1: classes compared). */
static void check_tpr(void)
{
	uint32_t seen;

	log_reset();
	interrupt_hook = tpr_hook;
	apic_write(APIC_TPR, 0x50);
	check_u32("TPR = 0x50 reads back", apic_read(APIC_TPR), 0x50);
	check_u32("PPR reads 0x50 (TPR, nothing in service)", apic_read(APIC_PPR), 0x50);
	send_self_ipi(VEC_TPR);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("TPR 0x50: self IPI 0x45 not delivered with IF=1", event_count, 0);
	check_u32("TPR 0x50: 0x45 waits in IRR (0x220 bit 5)", apic_vector_bit(APIC_IRR, VEC_TPR),
		  1);
	apic_write(APIC_TPR, 0x40);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("TPR 0x40: 0x45 (same class 4) still not delivered", event_count, 0);
	__asm__ volatile("sti; nop" : : : "memory");
	apic_write(APIC_TPR, 0x3f);
	seen = event_count;
	__asm__ volatile("cli" : : : "memory");
	check_u32("TPR 0x3f: 0x45 delivered right after the TPR write", seen, 2);
	check_u32("TPR 0x3f: PPR reads 0x40 inside 0x45's handler (its class)", hook_register, 0x40);
	check_u32("TPR 0x3f: ISR bit of 0x45 set inside its handler", hook_register2, 1);
	check_u32("PPR reads 0x3f (TPR) after the EOI", apic_read(APIC_PPR), 0x3f);
	apic_write(APIC_TPR, 0);
	check_u32("TPR = 0 reads back, PPR 0", apic_read(APIC_TPR) | apic_read(APIC_PPR), 0);
}

/* ---------------------------------------------------------------------- */
/* NMI                                                                    */
/* ---------------------------------------------------------------------- */

/** In the first NMI's handler: a second NMI must wait for this handler's IRET. */
static void nmi_hook(uint32_t vector)
{
	if (vector != VECTOR_NMI || entries_of(VECTOR_NMI) != 1) {
		return;
	}
	send_nmi_to_self_by_id();
	spin_ticks(SETTLE_TICKS);
	hook_events_seen = event_count;
}

/** ICR delivery mode NMI to APIC ID 0: taken with IF=0; NMI blocking until IRET. */
static void check_nmi(void)
{
	static const uint32_t expected[] = {
		VECTOR_NMI, VECTOR_NMI | EVENT_DONE, VECTOR_NMI, VECTOR_NMI | EVENT_DONE,
	};
	uint32_t seen;

	log_reset();
	interrupt_hook = nmi_hook;
	send_nmi_to_self_by_id();
	seen = event_count;
	interrupt_hook = NULL;
	check_events("NMI: ICR NMI to APIC ID 0, then a second from its handler: two NMIs in turn",
		     expected, ARRAY_SIZE(expected));
	check_u32("NMI: both taken with IF=0 right after the ICR write", seen, 4);
	check_u32("NMI: the second NMI is held until the first handler's IRET",
		  hook_events_seen, 1);
}

/**
 * In the first NMI's handler: a second NMI, then a WRMSR that Tessera
 * answers with #GP (an x2APIC MSR in xAPIC mode). The #GP handler's IRET
 * ends NMI blocking (SDM Vol. 3A, 6.7.1: blocking lasts until the next
 * IRET, whichever handler executes it), so the second NMI nests here.
 */
static void nmi_exception_hook(uint32_t vector)
{
	if (vector != VECTOR_NMI || entries_of(VECTOR_NMI) != 1) {
		return;
	}
	send_nmi_to_self_by_id();
	probe_wrmsr(x2apic_msr(APIC_TPR), 0);
	hook_register = probe_fault_count == 1 && probe_fault_vector == VECTOR_GP;
	hook_events_seen = event_count;
}

/** A held NMI is taken after an exception handler's IRET inside the NMI handler. */
static void check_nmi_after_exception(void)
{
	static const uint32_t expected[] = {
		VECTOR_NMI, VECTOR_NMI, VECTOR_NMI | EVENT_DONE, VECTOR_NMI | EVENT_DONE,
	};

	uint32_t seen;

	log_reset();
	interrupt_hook = nmi_exception_hook;
	send_nmi_to_self_by_id();
	seen = event_count;
	interrupt_hook = NULL;
	check_u32("NMI: WRMSR 0x808 in xAPIC mode raises #GP(0) inside the NMI handler",
		  hook_register, 1);
	check_u32("NMI: held NMI taken right after the #GP handler's IRET (events logged by then)",
		  hook_events_seen, 3);
	check_u32("NMI: both NMIs done right after the ICR write (events logged by then)", seen, 4);
	check_events("NMI: held NMI nests after the IRET of a #GP handler inside the NMI handler",
		     expected, ARRAY_SIZE(expected));
	/* An MMIO exit lets a held-back NMI in before the next check. */
	apic_read(APIC_VERSION);
	check_u32("NMI: the second NMI arrived at the latest by the next APIC access",
		  entries_of(VECTOR_NMI), 2);
}

/* ---------------------------------------------------------------------- */
/* x2APIC                                                                 */
/* ---------------------------------------------------------------------- */

/** xAPIC -> x2APIC (SDM 11.12.5.1): the ID and LDR become the x2APIC ones. */
static bool check_x2apic_enter(void)
{
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_X2APIC);
	check_probed("IA32_APIC_BASE = 0xfee00d00 (x2APIC) reads back", rdmsr(MSR_APIC_BASE),
		     APIC_BASE_X2APIC);
	if (rdmsr(MSR_APIC_BASE) != APIC_BASE_X2APIC) {
		guest_printf("note: not in x2APIC mode: its checks are left out\n");
		return false;
	}
	x2apic_active = true;
	check_probed("x2APIC: RDMSR 0x802 (ID) reads 0", probe_rdmsr(x2apic_msr(APIC_ID)), 0);
	check_probed("x2APIC: RDMSR 0x803 (version) reads 0x00050014",
		     probe_rdmsr(x2apic_msr(APIC_VERSION)), APIC_VERSION_EXPECTED);
	check_probed("x2APIC: RDMSR 0x80d (LDR) reads 0x1 (cluster 0, bit 0)",
		     probe_rdmsr(x2apic_msr(APIC_LDR)), X2APIC_LDR_ID0);
	check_probed("x2APIC: RDMSR 0x80f (SVR) kept 0x1ff from xAPIC mode",
		     probe_rdmsr(x2apic_msr(APIC_SVR)), SVR_ENABLED);
	check_u32("x2APIC: xAPIC MMIO reads 0 (version at 0xfee00030)", apic_read(APIC_VERSION), 0);
	return true;
}

/** TPR/PPR through MSRs, and the accesses that must raise #GP (SDM 11.12.1.3). */
static void check_x2apic_registers(void)
{
	probe_wrmsr(x2apic_msr(APIC_TPR), 0x20);
	check_probed("x2APIC: TPR (MSR 0x808) = 0x20 reads back",
		     probe_rdmsr(x2apic_msr(APIC_TPR)), 0x20);
	check_probed("x2APIC: PPR (MSR 0x80a) reads 0x20", probe_rdmsr(x2apic_msr(APIC_PPR)), 0x20);
	probe_wrmsr(x2apic_msr(APIC_TPR), 0x120);
	check_gp("x2APIC: TPR = 0x120 (reserved bit 8) raises #GP(0)");
	probe_wrmsr(x2apic_msr(APIC_TPR), 0);
	check_probed("x2APIC: TPR = 0 reads back", probe_rdmsr(x2apic_msr(APIC_TPR)), 0);
	probe_rdmsr(MSR_X2APIC_FIRST);
	check_gp("x2APIC: RDMSR 0x800 (reserved) raises #GP(0)");
	probe_wrmsr(x2apic_msr(APIC_ID), 0);
	check_gp("x2APIC: WRMSR 0x802 (ID, read-only) raises #GP(0)");
	probe_rdmsr(x2apic_msr(APIC_EOI));
	check_gp("x2APIC: RDMSR 0x80b (EOI, write-only) raises #GP(0)");
	probe_wrmsr(x2apic_msr(APIC_EOI), 1);
	check_gp("x2APIC: WRMSR 0x80b (EOI) of a non-zero value raises #GP(0)");
	probe_rdmsr(x2apic_msr(APIC_ICR_HIGH));
	check_gp("x2APIC: RDMSR 0x831 (no ICR high in x2APIC mode) raises #GP(0)");
}

/** SELF IPI (MSR 0x83f) and the 64-bit ICR (MSR 0x830) with shorthand self. */
static void check_x2apic_ipis(void)
{
	static const uint32_t expected[] = {
		VEC_X2_SELF, VEC_X2_SELF | EVENT_DONE, VEC_X2_ICR, VEC_X2_ICR | EVENT_DONE,
	};
	uint64_t icr = ICR_SHORTHAND_SELF | ICR_LEVEL_ASSERT | VEC_X2_ICR;
	uint32_t seen;

	log_reset();
	__asm__ volatile("sti; nop" : : : "memory");
	wrmsr(x2apic_msr(APIC_SELF_IPI), VEC_X2_SELF);
	seen = event_count;
	__asm__ volatile("cli" : : : "memory");
	check_u32("x2APIC: SELF IPI (MSR 0x83f) of 0x46 delivered right after the WRMSR", seen, 2);
	wrmsr(x2apic_msr(APIC_ICR_LOW), icr);
	check_u64("x2APIC: ICR (MSR 0x830) reads back 0x44048", rdmsr(x2apic_msr(APIC_ICR_LOW)), icr);
	run_with_interrupts(SETTLE_TICKS);
	check_events("x2APIC: self IPIs 0x46 (SELF IPI MSR) and 0x48 (ICR MSR), each once", expected,
		     ARRAY_SIZE(expected));
	check_u64("x2APIC: ISR word 2 (MSR 0x812) clear after the EOIs (MSR 0x80b)",
		  rdmsr(x2apic_msr(APIC_ISR + 0x20)), 0);
	log_reset();
	/* Destination x2APIC ID 0 in bits 63:32, no shorthand, physical. */
	wrmsr(x2apic_msr(APIC_ICR_LOW), ICR_LEVEL_ASSERT | VEC_X2_DEST);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("x2APIC: fixed IPI 0x49 to x2APIC ID 0 through the ICR arrives once",
		  entries_of(VEC_X2_DEST), 1);
}

/** The timer through MSRs 0x832 (LVT), 0x83e (divide), 0x838 (initial), 0x839 (current). */
static void check_x2apic_timer(void)
{
	uint64_t start;

	log_reset();
	wrmsr(x2apic_msr(APIC_TIMER_INITIAL), 0);
	wrmsr(x2apic_msr(APIC_LVT_TIMER), TIMER_ONE_SHOT | VEC_X2_TIMER);
	wrmsr(x2apic_msr(APIC_TIMER_DIVIDE), DIVIDE_BY_1);
	check_u64("x2APIC: LVT timer (MSR 0x832) reads 0x47", rdmsr(x2apic_msr(APIC_LVT_TIMER)),
		  VEC_X2_TIMER);
	start = rdtsc();
	wrmsr(x2apic_msr(APIC_TIMER_INITIAL), ONE_SHOT_COUNT);
	halt_until_interrupt();
	check_u64("x2APIC: current count (MSR 0x839) reads 0 after expiry",
		  rdmsr(x2apic_msr(APIC_TIMER_CURRENT)), 0);
	run_with_interrupts(SETTLE_TICKS);
	check_u32("x2APIC timer: HLT woken, vector 0x47 ran exactly once",
		  entries_of(VEC_X2_TIMER), 1);
	check_within("x2APIC timer: fired N to 100 N TSC ticks after arming",
		     entry_tsc(VEC_X2_TIMER, 0) - start, ONE_SHOT_COUNT,
		     (uint64_t)LATE_FACTOR * ONE_SHOT_COUNT);
}

/**
 * Back to xAPIC (SDM 11.12.5, "Local x2APIC State Transitions"): not
 * directly, only through the disabled state; EXTD without EN is invalid.
 */
static void check_x2apic_leave(void)
{
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_XAPIC);
	check_gp("x2APIC -> xAPIC directly (clear bit 10 only) raises #GP(0)");
	check_u64("IA32_APIC_BASE still reads 0xfee00d00 after the refused write",
		  rdmsr(MSR_APIC_BASE), APIC_BASE_X2APIC);
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_OFF);
	check_probed("x2APIC -> disabled (0xfee00100) is allowed", rdmsr(MSR_APIC_BASE),
		     APIC_BASE_OFF);
	x2apic_active = false;
	check_bit("CPUID.1:EDX.APIC (bit 9) is clear while the APIC is disabled", cpuid(1).edx,
		  CPUID_1_EDX_APIC, 0);
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_X2APIC);
	check_gp("disabled -> x2APIC directly raises #GP(0)");
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_OFF | APIC_BASE_EXTD);
	check_gp("IA32_APIC_BASE with EXTD but not EN raises #GP(0)");
	probe_wrmsr(MSR_APIC_BASE, APIC_BASE_XAPIC);
	check_probed("disabled -> xAPIC (0xfee00900) is allowed", rdmsr(MSR_APIC_BASE),
		     APIC_BASE_XAPIC);
	check_u32("xAPIC again: version register reads 0x00050014", apic_read(APIC_VERSION),
		  APIC_VERSION_EXPECTED);
	apic_write(APIC_SVR, SVR_ENABLED);
	check_u32("xAPIC again: SVR = 0x1ff reads back", apic_read(APIC_SVR), SVR_ENABLED);
}

/** x2APIC mode, and back. */
static void check_x2apic(void)
{
	if (!check_x2apic_enter()) {
		return;
	}
	check_x2apic_registers();
	check_x2apic_ipis();
	check_x2apic_timer();
	check_x2apic_leave();
}

/* ---------------------------------------------------------------------- */
/* A long halt                                                            */
/* ---------------------------------------------------------------------- */

/**
 * The only partition halts with nothing to do but a timer 10 ms away
 * (CPUID 0x40000010 EBX gives its clock): the scheduler idles and must
 * still wake it when the timer expires.
 */
static void check_long_halt(void)
{
	uint32_t count = timer_khz * LONG_HALT_MS;
	uint64_t start;

	log_reset();
	timer_setup(TIMER_ONE_SHOT | VEC_TIMER, DIVIDE_BY_1);
	start = arm_count_down(count);
	halt_until_interrupt();
	check_u32("10 ms one-shot: the halted guest woke once", entries_of(VEC_TIMER), 1);
	check_within("10 ms one-shot: woken 10 to 15 ms after arming (in TSC ticks)",
		     entry_tsc(VEC_TIMER, 0) - start, count, count + count / 2);
	note_latency("10 ms one-shot, halted", VEC_TIMER, start + count);
}

/** Runs every group of checks; the exit code is the number that failed. */
int guest_main(void)
{
	load_flat_gdt();
	load_idt_from_stubs(idt, interrupt_stubs, INTERRUPT_STUB_SIZE, INTERRUPT_VECTORS);
	guest_printf("checking the virtual local APIC and event injection\n");
	check_reset_state();
	check_cpuid();
	check_software_enable();
	note_exit_cost();
	check_one_shot();
	check_periodic();
	check_divide();
	check_tsc_deadline();
	check_masked_timer();
	check_self_ipi();
	check_halt_pending();
	check_halt_tpr_masked();
	check_ipi_destinations();
	check_priority();
	check_nesting();
	check_tpr();
	check_nmi();
	check_nmi_after_exception();
	check_x2apic();
	check_long_halt();
	return check_summary();
}
