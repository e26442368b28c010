/*
 * bench: the guest half of `make bench`. It times the exits a guest causes
 * most often and prints machine-readable lines for tests/rig/bench:
 *
 *   bench: entry_tsc=N     the TSC at the first instruction of the image
 *   bench: iterations=N    how many times each operation below ran
 *   bench: cpuid_ticks=N   one CPUID(0x40000000) round trip to the hypervisor
 *   bench: vmcall_ticks=N  one VMCALL(TESSERA_HC_VERSION) round trip
 *   bench: mmio_ticks=N    one 32-bit read of the MMIO test device (interpreter)
 *   bench: loop_ticks=N    one iteration of an empty loop
 *
 * Every *_ticks value is a mean per iteration in TSC ticks. The loop's own
 * cost is already subtracted from cpuid_ticks and vmcall_ticks, so they are
 * the cost of the exit alone; loop_ticks is printed to show how much that was.
 *
 * Then two phases for the console's figures, which Tessera itself measures
 * (its "bench: echo_ticks" and "bench: console_line" debug lines):
 *
 *   bench: spinning        a CPU-bound loop (one exit per BENCH_SPIN_CHUNK
 *                          iterations, to look for input) while the rig
 *                          types into the shell; a byte on the partition's
 *                          own UART ("send bench x") ends it
 *   bench: flooding        console-write hypercalls as fast as they go, for
 *                          BENCH_FLOOD_TICKS; then "bench: flood done" and a
 *                          CPU-bound spin of BENCH_DRAIN_TICKS, so that the
 *                          console shows what it kept while the partition
 *                          still runs (and Tessera's figures come before the
 *                          news that it stopped)
 */
#include "guests/common/guest.h"
#include "hv/vdev_test.h"

/* Enough for a stable mean, few enough for Bochs (~25 M instructions/s). */
#define BENCH_ITERATIONS 1000

/* Iterations of the spin between two looks at the UART (~10 ms in Bochs). */
#define BENCH_SPIN_CHUNK 100000
/* The spin ends by itself after this many ticks (~80 s of TSC time in Bochs). */
#define BENCH_SPIN_MAX_TICKS 2000000000ULL
/* How long the flood lasts (~2 s of TSC time in Bochs at 25 MHz). */
#define BENCH_FLOOD_TICKS 50000000ULL
/* Long enough for the line to carry a 64 KiB console buffer (~8 s of TSC time). */
#define BENCH_DRAIN_TICKS 250000000ULL
#define BENCH_FLOOD_LINE "bench flood line: the console's throughput is measured on these bytes\n"
#define UART_RBR (UART_PORT + 0)
#define UART_LSR_DATA_READY 0x01

/* Exit codes: the numbers are only meaningful under Tessera. */
#define BENCH_NOT_TESSERA  1
#define BENCH_VMCALL_ERROR 2

/**
 * Reads the TSC after every earlier instruction has completed and before any
 * later one starts; RDTSC alone is not ordered and could be counted early.
 *
 * The textbook serializer is CPUID, but under VT-x CPUID always exits to the
 * hypervisor and would add the very cost being measured to every timestamp.
 * LFENCE, on Intel (the only vendor with VT-x), does not let later
 * instructions begin until earlier ones have completed, which is the ordering
 * RDTSC needs (Intel SDM, RDTSC). It exists wherever SSE2 does, which is on
 * every CPU with VT-x, and runs natively in a guest whatever CPUID says.
 * Inside the timed loops no fence is needed: VM exits and entries serialize.
 */
static inline uint64_t rdtsc_fenced(void)
{
	uint32_t low;
	uint32_t high;

	__asm__ volatile("lfence\n\trdtsc\n\tlfence"
			 : "=a"(low), "=d"(high)
			 :
			 : "memory");
	return ((uint64_t)high << 32) | low;
}

/** Total ticks of BENCH_ITERATIONS iterations of an empty loop. */
static uint64_t time_empty_loop(void)
{
	uint64_t start = rdtsc_fenced();

	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		/* A volatile asm: the compiler may not delete the loop. */
		__asm__ volatile("");
	}
	return rdtsc_fenced() - start;
}

/** Total ticks of BENCH_ITERATIONS CPUID(0x40000000), each an exit. */
static uint64_t time_cpuid_exits(void)
{
	uint64_t start = rdtsc_fenced();

	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		cpuid(TESSERA_CPUID_LEAF_BASE);
	}
	return rdtsc_fenced() - start;
}

/** Total ticks of BENCH_ITERATIONS VMCALL(TESSERA_HC_VERSION). */
static uint64_t time_vmcall_exits(void)
{
	uint64_t start = rdtsc_fenced();

	/*
	 * The call alone, as the CPUID loop times CPUID alone: hypercall()
	 * binds five registers both ways, which is the guest's cost, not the
	 * exit's. VERSION writes EAX (status) and EBX (the version).
	 */
	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		uint32_t status;
		uint32_t version;

		__asm__ volatile("vmcall"
				 : "=a"(status), "=b"(version)
				 : "a"(TESSERA_HC_VERSION)
				 : "memory");
	}
	return rdtsc_fenced() - start;
}

/** Total ticks of BENCH_ITERATIONS RDMSR(IA32_MTRRCAP), each an emulated MSR exit. */
static uint64_t time_rdmsr_exits(void)
{
	uint64_t start = rdtsc_fenced();

	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		uint32_t lo;
		uint32_t hi;

		__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xfeU));
	}
	return rdtsc_fenced() - start;
}

/** Total ticks of BENCH_ITERATIONS reads of the virtual UART's line status. */
static uint64_t time_uart_lsr_reads(void)
{
	uint64_t start = rdtsc_fenced();

	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		(void)port_read8(UART_LSR);
	}
	return rdtsc_fenced() - start;
}

/** Total ticks of BENCH_ITERATIONS 32-bit reads of the MMIO test device's ID. */
static uint64_t time_mmio_reads(void)
{
	volatile const uint32_t *id =
		(volatile const uint32_t *)(uintptr_t)(VDEV_TEST_BASE + VDEV_TEST_ID_REG);
	uint64_t start = rdtsc_fenced();

	for (uint32_t i = 0; i < BENCH_ITERATIONS; i++) {
		(void)*id;
	}
	return rdtsc_fenced() - start;
}

/**
 * The mean ticks per iteration of a timed loop, less the empty loop's total.
 * Clamped at 0 (noise can make a cheap operation look cheaper than nothing)
 * and at UINT32_MAX, which no sane mean reaches.
 */
static uint32_t mean_ticks(uint64_t total, uint64_t loop_total)
{
	uint64_t mean;

	if (total <= loop_total) {
		return 0;
	}
	mean = divide_u64(total - loop_total, BENCH_ITERATIONS, NULL);
	return mean > UINT32_MAX ? UINT32_MAX : (uint32_t)mean;
}

/**
 * Says whether Tessera answers CPUID and VMCALL, so that the timed loops
 * measure working exits (elsewhere, VMCALL would raise #UD). This also
 * warms up both exit paths, so the first timed iteration is not an outlier.
 */
static uint32_t check_tessera(void)
{
	struct cpuid_result leaf = cpuid(TESSERA_CPUID_LEAF_BASE);
	uint32_t version = 0;
	int32_t status;

	if (leaf.ebx != TESSERA_CPUID_SIGNATURE_EBX ||
	    leaf.ecx != TESSERA_CPUID_SIGNATURE_ECX ||
	    leaf.edx != TESSERA_CPUID_SIGNATURE_EDX) {
		guest_printf("bench: error=not running under Tessera\n");
		return BENCH_NOT_TESSERA;
	}
	status = hc_version(&version);
	if (status != TESSERA_HC_SUCCESS) {
		guest_printf("bench: error=TESSERA_HC_VERSION returned "
			     "%d (%s)\n", status, hc_status_name(status));
		return BENCH_VMCALL_ERROR;
	}
	return 0;
}

/** Spins (CPU-bound) until a byte arrives on the UART, or for BENCH_SPIN_MAX_TICKS. */
static void spin_until_input(void)
{
	uint64_t start = rdtsc_fenced();

	guest_printf("bench: spinning\n");
	while (rdtsc_fenced() - start < BENCH_SPIN_MAX_TICKS) {
		for (uint32_t i = 0; i < BENCH_SPIN_CHUNK; i++) {
			__asm__ volatile("");
		}
		if ((port_read8(UART_LSR) & UART_LSR_DATA_READY) != 0) {
			(void)port_read8(UART_RBR);
			return;
		}
	}
}

/** Writes console output as fast as the hypercall takes it, for BENCH_FLOOD_TICKS. */
static void flood_console(void)
{
	static char batch[TESSERA_HC_CONSOLE_WRITE_MAX];
	uint32_t line = sizeof(BENCH_FLOOD_LINE) - 1;
	uint32_t used = 0;
	uint64_t start;

	while (used + line <= sizeof(batch)) {
		memcpy(batch + used, BENCH_FLOOD_LINE, line);
		used += line;
	}
	guest_printf("bench: flooding\n");
	start = rdtsc_fenced();
	while (rdtsc_fenced() - start < BENCH_FLOOD_TICKS) {
		(void)hc_console_write(batch, used);
	}
	guest_printf("bench: flood done\n");
	start = rdtsc_fenced();
	while (rdtsc_fenced() - start < BENCH_DRAIN_TICKS) {
		for (uint32_t i = 0; i < BENCH_SPIN_CHUNK; i++) {
			__asm__ volatile("");
		}
	}
}

/** Times the loops, then prints the results (printing is itself exits). */
int guest_main(void)
{
	uint32_t error = check_tessera();
	uint64_t loop_total;
	uint64_t cpuid_total;
	uint64_t vmcall_total;
	uint64_t rdmsr_total;
	uint64_t lsr_total;
	uint64_t mmio_total;

	if (error != 0) {
		return (int)error;
	}
	loop_total = time_empty_loop();
	cpuid_total = time_cpuid_exits();
	vmcall_total = time_vmcall_exits();
	rdmsr_total = time_rdmsr_exits();
	lsr_total = time_uart_lsr_reads();
	mmio_total = time_mmio_reads();

	guest_printf("bench: entry_tsc=%llu\n", guest_entry_tsc);
	guest_printf("bench: iterations=%u\n", BENCH_ITERATIONS);
	guest_printf("bench: cpuid_ticks=%u\n",
		     mean_ticks(cpuid_total, loop_total));
	guest_printf("bench: vmcall_ticks=%u\n",
		     mean_ticks(vmcall_total, loop_total));
	guest_printf("bench: rdmsr_ticks=%u\n", mean_ticks(rdmsr_total, loop_total));
	guest_printf("bench: uart_lsr_ticks=%u\n", mean_ticks(lsr_total, loop_total));
	guest_printf("bench: mmio_ticks=%u\n", mean_ticks(mmio_total, loop_total));
	guest_printf("bench: loop_ticks=%u\n", mean_ticks(loop_total, 0));
	spin_until_input();
	flood_console();
	return 0;
}
