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
 */
#include "guests/common/guest.h"
#include "hv/vdev_test.h"

/* Enough for a stable mean, few enough for Bochs (~25 M instructions/s). */
#define BENCH_ITERATIONS 1000

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
	return 0;
}
