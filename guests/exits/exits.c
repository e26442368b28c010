/*
 * exits: drives every VM exit Tessera handles and checks what the guest gets
 * back, as README.md ("What a guest sees") promises it: CPUID, RDMSR/WRMSR,
 * port and string I/O, control-register writes, XSETBV, VMCALL, INVD/WBINVD
 * and the VMX and MONITOR instructions. Exceptions the hypervisor injects
 * are checked as the guest sees them: its own IDT (vectors.S) records
 * vector, error code and faulting EIP, then resumes after the instruction.
 *
 * Every check prints "ok: <what>" or "FAILED: <what>: expected X, got Y";
 * all checks run even after a failure, and the exit code is the number that
 * failed (0: all passed). HLT is left out: with interrupts off it stops the
 * partition, and this one has to stop through its exit code.
 */
#include "guests/common/check.h"
#include "guests/common/descriptors.h"
#include "guests/common/guest.h"

#define IDT_VECTORS 32 /* the exceptions: vectors.S has a handler for each */

#define VECTOR_UD 6
#define VECTOR_GP 13
#define NO_VECTOR 0xffffffffU

/* CPUID bits and leaves (SDM Vol. 2A, CPUID). */
#define CPUID_1_ECX_MONITOR    3
#define CPUID_1_ECX_VMX        5
#define CPUID_1_ECX_X2APIC     21
#define CPUID_1_ECX_XSAVE      26
#define CPUID_1_ECX_OSXSAVE    27
#define CPUID_1_ECX_AVX        28
#define CPUID_1_ECX_HYPERVISOR 31
#define CPUID_LEAF_MONITOR     0x5
#define CPUID_LEAF_POWER       0x6
#define CPUID_LEAF_PMU         0xa
#define CPUID_LEAF_TOPOLOGY    0xb

/* MSRs (SDM Vol. 4), spelled out here so the guest does not share the hypervisor's list. */
#define MSR_TSC             0x10
#define MSR_APIC_BASE       0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_TSC_ADJUST      0x3b
#define MSR_MCG_STATUS      0x17a       /* real on Intel, but CPUID hides the MCA: not offered */
#define MSR_AMD_PERF_CTL0   0xc0010000U /* outside both MSR-bitmap ranges: always exits */
#define MSR_MTRRCAP         0xfe
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_MISC_ENABLE     0x1a0
#define MSR_MTRR_PHYSBASE1  0x202
#define MSR_MTRR_PHYSMASK1  0x203
#define MSR_MTRR_FIX4K_C0000 0x268
#define MSR_PAT             0x277
#define MSR_MTRR_DEF_TYPE   0x2ff
#define MSR_LSTAR           0xc0000082U
#define MSR_KERNEL_GS_BASE  0xc0000102U

/* What Tessera's emulated MSRs hold at power-on (hv/msr.c, arch/x86/vmcs_init.c). */
#define MTRRCAP_EXPECTED       0x508ULL /* 8 variable ranges, fixed ranges, WC */
#define MTRR_DEF_TYPE_EXPECTED 0x806ULL /* enabled, write-back */
#define APIC_BASE_EXPECTED     0xfee00900ULL /* 0xfee00000, enabled, BSP */
#define APIC_BASE_ENABLE       0x800ULL
#define FEATURE_CONTROL_LOCKED 0x1ULL
#define MISC_ENABLE_EXPECTED   0x1801ULL
#define PAT_POWER_ON           0x0007040600070406ULL

/* A variable MTRR pair: 1 GiB of write-combining at 2 GiB, in 46 address bits. */
#define MTRR_BASE_2G_WC        0x80000001ULL
#define MTRR_BASE_BAD_TYPE     0x80000002ULL /* type 2 is reserved */
#define MTRR_MASK_1G_VALID     0x3fffc0000800ULL
#define MTRR_MASK_RESERVED_BIT 0x3fffc0000c00ULL /* bit 10 is reserved */
#define MTRR_FIXED_TYPES       0x0605040106050401ULL /* WB WP WT WC, each twice */
#define MTRR_FIXED_BAD_TYPE    0x0705040106050401ULL /* 7 is reserved */
#define MTRR_DEF_TYPE_BAD      0x802ULL
#define MTRR_DEF_TYPE_FIXED_ON 0xc06ULL /* enabled, fixed ranges on, write-back */

/* TSC_ADJUST moves the TSC by this much; RDTSC around it may add up to the slack. */
#define TSC_ADJUST_STEP (1ULL << 40)
#define TSC_WRITE_STEP  (1ULL << 36)
#define TSC_SLACK       (1ULL << 30)

/* Ports: the UART's scratch and line-status registers, and one nobody claims. */
#define UART_SCR        (UART_PORT + 7)
#define UART_LSR_IDLE   0x60 /* THR empty, transmitter empty */
#define PORT_UNCLAIMED  0x2c0
#define SCRATCH_VALUE   0x5a
#define STRING_IO_BATCH_TEST 1200 /* more than Tessera moves per exit (512) */
#define GUARD_BYTES     8

/* Control-register bits (SDM Vol. 3A, 2.5). */
#define CR0_PE     (1U << 0)
#define CR0_MP     (1U << 1)
#define CR0_ET     (1U << 4)
#define CR0_NE     (1U << 5)
#define CR0_NW     (1U << 29)
#define CR0_PG     (1U << 31)
#define CR4_OSFXSR  (1U << 9)
#define CR4_VMXE    (1U << 13)
#define CR4_SMXE    (1U << 14)
#define CR4_OSXSAVE (1U << 18)
#define CR3_TEST_VALUE 0x5000U /* paging is off: CR3 is only stored */

#define XCR0_X87 1ULL
#define XCR0_SSE 2ULL
#define XCR0_AVX 4ULL

#define UNKNOWN_CALL 0x7fff

/* Written by the handlers in vectors.S (see there). */
extern volatile uint32_t exception_count;
extern volatile uint32_t exception_vector;
extern volatile uint32_t exception_error_code;
extern volatile uint32_t exception_eip;
extern volatile uint32_t exception_expected_eip;
extern const uint32_t exception_stubs[IDT_VECTORS];

NORETURN void exception_unexpected(void);

/*
 * Wraps one instruction for a check: clears the record, notes where the
 * instruction is (label 2) and arms the handlers to resume just past it
 * (label 1). Faulting or not, execution goes on at label 1, which disarms
 * them. Every asm using it needs the "memory" clobber: the handlers write
 * the record behind the compiler's back.
 */
#define PROBE(insn)                                \
	"movl $0, exception_count\n\t"             \
	"movl $2f, exception_expected_eip\n\t"     \
	"movl $1f, exception_resume_eip\n"         \
	"2:\t" insn "\n"                           \
	"1:\tmovl $0, exception_resume_eip\n\t"

/** Registers a string instruction leaves behind: ESI or EDI, and ECX. */
struct string_io_result {
	uint32_t pointer;
	uint32_t count;
};

static struct idt_gate idt[IDT_VECTORS] ALIGNED(8);
static uint8_t io_buffer[STRING_IO_BATCH_TEST + 2 * GUARD_BYTES];
static uint64_t vmx_operand[2]; /* memory operand for the VMX instructions */

/* ---------------------------------------------------------------------- */
/* Reporting                                                              */
/* ---------------------------------------------------------------------- */

/** True for the vectors whose exceptions push an error code. */
static bool vector_has_error_code(uint32_t vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21 ||
	       vector == 29 || vector == 30;
}

/** The mnemonic of an exception vector, for messages. */
static const char *vector_name(uint32_t vector)
{
	static const char *const names[] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#CSO", "#TS",
		"#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	};

	return vector < ARRAY_SIZE(names) ? names[vector] : "reserved vector";
}

/** Prints one exception as "#GP(0x0) at 0x100123". */
static void print_exception(uint32_t vector, uint32_t error_code, uint32_t eip)
{
	guest_printf("%s", vector_name(vector));
	if (vector_has_error_code(vector)) {
		guest_printf("(0x%x)", error_code);
	}
	guest_printf(" at 0x%x", eip);
}

/** Prints what the handlers recorded since the last PROBE. */
static void print_recorded_exception(void)
{
	if (exception_count == 0) {
		guest_printf("no exception");
		return;
	}
	print_exception(exception_vector, exception_error_code, exception_eip);
	if (exception_count > 1) {
		guest_printf(" (%u exceptions)", exception_count);
	}
}

/** An exception with no PROBE armed: reported, then the partition stops. */
void exception_unexpected(void)
{
	checks_failed++;
	guest_printf("FAILED: unexpected exception: expected none, got ");
	print_exception(exception_vector, exception_error_code, exception_eip);
	guest_printf("\n");
	guest_stop(EXIT_UNEXPECTED_EXCEPTION);
}

/**
 * Part of a check that prints nothing when it holds: a refused write must
 * leave the old value. Only a change is reported (as a failure of @what).
 */
static void expect_kept(const char *what, uint64_t got, uint64_t before)
{
	if (got == before) {
		return;
	}
	check_fail(what);
	guest_printf("expected the old value 0x%llx kept, got 0x%llx\n",
		     (unsigned long long)before, (unsigned long long)got);
}

/** Checks the value a PROBE produced, which must not have faulted. */
static void check_probed_u64(const char *what, uint64_t got, uint64_t expected)
{
	if (exception_count == 0) {
		check_u64(what, got, expected);
		return;
	}
	check_fail(what);
	guest_printf("expected 0x%llx, got ", (unsigned long long)expected);
	print_recorded_exception();
	guest_printf("\n");
}

/** Checks that the last PROBE completed without an exception. */
static void check_no_exception(const char *what)
{
	if (exception_count == 0) {
		check_pass(what);
		return;
	}
	check_fail(what);
	guest_printf("expected no exception, got ");
	print_recorded_exception();
	guest_printf("\n");
}

/**
 * Checks that the last PROBE raised exactly one exception: this vector, this
 * error code (0 where the vector has none), at the probed instruction (a
 * fault leaves EIP on the instruction that caused it).
 */
static void check_exception(const char *what, uint32_t vector, uint32_t error_code)
{
	if (exception_count == 1 && exception_vector == vector &&
	    exception_error_code == error_code && exception_eip == exception_expected_eip) {
		check_pass(what);
		return;
	}
	check_fail(what);
	guest_printf("expected ");
	print_exception(vector, error_code, exception_expected_eip);
	guest_printf(", got ");
	print_recorded_exception();
	guest_printf("\n");
}

/* ---------------------------------------------------------------------- */
/* The guest's own exception handlers                                     */
/* ---------------------------------------------------------------------- */

/**
 * The handlers themselves, with exceptions the CPU raises without Tessera:
 * if these fail, the hypervisor checks below cannot be trusted either.
 */
static void check_handlers(void)
{
	uint16_t selector = SELECTOR_PAST_GDT;

	__asm__ volatile(PROBE("ud2") : : : "memory");
	check_exception("guest IDT: ud2 raises #UD", VECTOR_UD, 0);
	__asm__ volatile(PROBE("movw %0, %%ds") : : "r"(selector) : "memory");
	check_exception("guest IDT: a selector past the GDT raises #GP(selector)", VECTOR_GP,
			SELECTOR_PAST_GDT);
}

/* ---------------------------------------------------------------------- */
/* CPUID                                                                  */
/* ---------------------------------------------------------------------- */

/** CPUID of a leaf and sub-leaf (guest.h's cpuid() asks sub-leaf 0 only). */
static struct cpuid_result cpuid_subleaf(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_result r;

	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/** Checks all four registers of one CPUID leaf. */
static void check_cpuid_leaf(const char *what, uint32_t leaf, uint32_t subleaf,
			     struct cpuid_result expected)
{
	struct cpuid_result got = cpuid_subleaf(leaf, subleaf);

	if (got.eax == expected.eax && got.ebx == expected.ebx && got.ecx == expected.ecx &&
	    got.edx == expected.edx) {
		check_pass(what);
		return;
	}
	check_fail(what);
	guest_printf("expected eax=0x%x ebx=0x%x ecx=0x%x edx=0x%x, got eax=0x%x ebx=0x%x "
		     "ecx=0x%x edx=0x%x\n", expected.eax, expected.ebx, expected.ecx, expected.edx,
		     got.eax, got.ebx, got.ecx, got.edx);
}

/** Leaf 1: hypervisor present, VMX/MONITOR/x2APIC hidden, one vCPU with APIC ID 0. */
static void check_cpuid_features(void)
{
	struct cpuid_result r = cpuid(1);

	check_bit("CPUID.1:ECX.hypervisor (bit 31) is set", r.ecx, CPUID_1_ECX_HYPERVISOR, 1);
	check_bit("CPUID.1:ECX.VMX (bit 5) is clear", r.ecx, CPUID_1_ECX_VMX, 0);
	check_bit("CPUID.1:ECX.MONITOR (bit 3) is clear", r.ecx, CPUID_1_ECX_MONITOR, 0);
	check_bit("CPUID.1:ECX.x2APIC (bit 21) is set: the virtual APIC has it", r.ecx,
		  CPUID_1_ECX_X2APIC, 1);
	check_u32("CPUID.1:EBX[23:16] logical processors is 1", (r.ebx >> 16) & 0xff, 1);
	check_u32("CPUID.1:EBX[31:24] initial APIC ID is 0", r.ebx >> 24, 0);
}

/** Tessera's leaves, the topology of one vCPU, and leaves read as zero. */
static void check_cpuid_leaves(void)
{
	static const struct cpuid_result zero = { 0, 0, 0, 0 };

	check_cpuid_leaf("CPUID 0x40000000 is the max leaf and \"TesseraHV\"",
			 TESSERA_CPUID_LEAF_BASE, 0,
			 (struct cpuid_result){ TESSERA_CPUID_LEAF_MAX, TESSERA_CPUID_SIGNATURE_EBX,
						TESSERA_CPUID_SIGNATURE_ECX,
						TESSERA_CPUID_SIGNATURE_EDX });
	check_cpuid_leaf("CPUID 0x40000001 is the ABI version", TESSERA_CPUID_LEAF_VERSION, 0,
			 (struct cpuid_result){ TESSERA_HC_ABI_VERSION, 0, 0, 0 });
	/* Sub-leaf 0: the SMT level, one thread; sub-leaf 1: the core level, one core. */
	check_cpuid_leaf("CPUID 0xb.0 is one thread, x2APIC ID 0", CPUID_LEAF_TOPOLOGY, 0,
			 (struct cpuid_result){ 0, 1, 0x100, 0 });
	check_cpuid_leaf("CPUID 0xb.1 is one core, x2APIC ID 0", CPUID_LEAF_TOPOLOGY, 1,
			 (struct cpuid_result){ 0, 1, 0x201, 0 });
	check_cpuid_leaf("CPUID 0x5 (MONITOR) reads as zero", CPUID_LEAF_MONITOR, 0, zero);
	check_cpuid_leaf("CPUID 0x6 (power management) reads as zero", CPUID_LEAF_POWER, 0, zero);
	check_cpuid_leaf("CPUID 0xa (PMU) reads as zero", CPUID_LEAF_PMU, 0, zero);
}

/* ---------------------------------------------------------------------- */
/* MSRs                                                                   */
/* ---------------------------------------------------------------------- */

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

/** Checks that RDMSR of @msr returns @expected. */
static void check_rdmsr(const char *what, uint32_t msr, uint64_t expected)
{
	uint64_t value = probe_rdmsr(msr);

	check_probed_u64(what, value, expected);
}

/** Writes @value to @msr and checks that it reads back. */
static void check_wrmsr_reads_back(const char *what, uint32_t msr, uint64_t value)
{
	probe_wrmsr(msr, value);
	if (exception_count != 0) {
		check_no_exception(what);
		return;
	}
	check_rdmsr(what, msr, value);
}

/** Checks that writing @value to @msr raises #GP(0) and leaves the MSR as it was. */
static void check_wrmsr_refused(const char *what, uint32_t msr, uint64_t value)
{
	uint64_t before = probe_rdmsr(msr);

	probe_wrmsr(msr, value);
	check_exception(what, VECTOR_GP, 0);
	expect_kept(what, probe_rdmsr(msr), before);
}

/** The virtual MTRRs: capabilities, a variable pair, a fixed range, bad types. */
static void check_mtrrs(void)
{
	check_rdmsr("IA32_MTRRCAP reads 0x508", MSR_MTRRCAP, MTRRCAP_EXPECTED);
	check_rdmsr("IA32_MTRR_DEF_TYPE reads 0x806", MSR_MTRR_DEF_TYPE, MTRR_DEF_TYPE_EXPECTED);
	check_wrmsr_reads_back("IA32_MTRR_PHYSBASE1 keeps a written value", MSR_MTRR_PHYSBASE1,
			       MTRR_BASE_2G_WC);
	check_wrmsr_reads_back("IA32_MTRR_PHYSMASK1 keeps a written value", MSR_MTRR_PHYSMASK1,
			       MTRR_MASK_1G_VALID);
	check_wrmsr_reads_back("IA32_MTRR_FIX4K_C0000 keeps a written value",
			       MSR_MTRR_FIX4K_C0000, MTRR_FIXED_TYPES);
	check_wrmsr_reads_back("IA32_MTRR_DEF_TYPE keeps fixed ranges on", MSR_MTRR_DEF_TYPE,
			       MTRR_DEF_TYPE_FIXED_ON);
	check_wrmsr_reads_back("IA32_MTRR_DEF_TYPE back to 0x806", MSR_MTRR_DEF_TYPE,
			       MTRR_DEF_TYPE_EXPECTED);
	check_wrmsr_refused("IA32_MTRR_PHYSBASE1 with type 2 raises #GP(0)", MSR_MTRR_PHYSBASE1,
			    MTRR_BASE_BAD_TYPE);
	check_wrmsr_refused("IA32_MTRR_PHYSMASK1 with reserved bit 10 raises #GP(0)",
			    MSR_MTRR_PHYSMASK1, MTRR_MASK_RESERVED_BIT);
	check_wrmsr_refused("IA32_MTRR_FIX4K_C0000 with type 7 raises #GP(0)",
			    MSR_MTRR_FIX4K_C0000, MTRR_FIXED_BAD_TYPE);
	check_wrmsr_refused("IA32_MTRR_DEF_TYPE with type 2 raises #GP(0)", MSR_MTRR_DEF_TYPE,
			    MTRR_DEF_TYPE_BAD);
}

/** MSRs the guest has no such thing as: #GP(0) on read and on write. */
static void check_unknown_msrs(void)
{
	probe_rdmsr(MSR_MCG_STATUS);
	check_exception("RDMSR 0x17a (not offered) raises #GP(0)", VECTOR_GP, 0);
	probe_wrmsr(MSR_MCG_STATUS, 0);
	check_exception("WRMSR 0x17a (not offered) raises #GP(0)", VECTOR_GP, 0);
	probe_rdmsr(MSR_AMD_PERF_CTL0);
	check_exception("RDMSR 0xc0010000 (no such MSR) raises #GP(0)", VECTOR_GP, 0);
	probe_wrmsr(MSR_AMD_PERF_CTL0, 0);
	check_exception("WRMSR 0xc0010000 (no such MSR) raises #GP(0)", VECTOR_GP, 0);
}

/** APIC base, feature control, misc enable: the emulated platform MSRs. */
static void check_platform_msrs(void)
{
	check_rdmsr("IA32_APIC_BASE reads 0xfee00900", MSR_APIC_BASE, APIC_BASE_EXPECTED);
	check_wrmsr_reads_back("IA32_APIC_BASE enable bit can be cleared", MSR_APIC_BASE,
			       APIC_BASE_EXPECTED & ~APIC_BASE_ENABLE);
	check_wrmsr_reads_back("IA32_APIC_BASE enable bit can be set again", MSR_APIC_BASE,
			       APIC_BASE_EXPECTED);
	check_wrmsr_refused("IA32_APIC_BASE moved elsewhere raises #GP(0)", MSR_APIC_BASE,
			    APIC_BASE_EXPECTED - 0x100000);
	check_rdmsr("IA32_FEATURE_CONTROL reads 1 (locked, VMX off)", MSR_FEATURE_CONTROL,
		    FEATURE_CONTROL_LOCKED);
	check_wrmsr_refused("IA32_FEATURE_CONTROL write raises #GP(0)", MSR_FEATURE_CONTROL,
			    FEATURE_CONTROL_LOCKED);
	check_rdmsr("IA32_MISC_ENABLE reads 0x1801", MSR_MISC_ENABLE, MISC_ENABLE_EXPECTED);
}

/** MSRs the guest owns (no exit, or switched by the VMCS): they keep what is written. */
static void check_guest_msrs(void)
{
	check_rdmsr("IA32_PAT reads the power-on value", MSR_PAT, PAT_POWER_ON);
	check_wrmsr_reads_back("IA32_SYSENTER_ESP keeps a written value", MSR_SYSENTER_ESP,
			       0x12345678);
	check_wrmsr_reads_back("IA32_SYSENTER_EIP keeps a written value", MSR_SYSENTER_EIP,
			       0x00abcdef);
	check_wrmsr_reads_back("IA32_KERNEL_GS_BASE keeps a written value", MSR_KERNEL_GS_BASE,
			       0xffff800012345000ULL);
	check_wrmsr_reads_back("IA32_LSTAR keeps a written value", MSR_LSTAR,
			       0xffffffff81000000ULL);
}

/** Checks that the TSC moved by @step, plus the time taken (at most TSC_SLACK). */
static void check_tsc_moved(const char *what, uint64_t before, uint64_t after, uint64_t step)
{
	check_within_hex(what, after - before, step, step + TSC_SLACK);
}

/** TSC_ADJUST: a write moves the TSC by the difference, and reads back. */
static void check_tsc_adjust(void)
{
	uint64_t before;
	uint64_t after;

	check_rdmsr("IA32_TSC_ADJUST reads 0 at start", MSR_TSC_ADJUST, 0);
	before = rdtsc();
	probe_wrmsr(MSR_TSC_ADJUST, TSC_ADJUST_STEP);
	after = rdtsc();
	check_no_exception("IA32_TSC_ADJUST write");
	check_tsc_moved("RDTSC moved by the TSC_ADJUST written", before, after, TSC_ADJUST_STEP);
	check_rdmsr("IA32_TSC_ADJUST reads back", MSR_TSC_ADJUST, TSC_ADJUST_STEP);
	before = rdtsc();
	probe_wrmsr(MSR_TSC_ADJUST, 0);
	after = rdtsc();
	check_tsc_moved("RDTSC moved back with TSC_ADJUST = 0", before, after, -TSC_ADJUST_STEP);
}

/** IA32_TSC: reads between two RDTSCs; a write sets it and TSC_ADJUST follows. */
static void check_tsc_msr(void)
{
	uint64_t before = rdtsc();
	uint64_t msr = probe_rdmsr(MSR_TSC);
	uint64_t after = rdtsc();
	uint64_t adjust;

	check_within_hex("RDMSR IA32_TSC lies between two RDTSCs", msr, before, after);
	before = rdtsc();
	probe_wrmsr(MSR_TSC, before + TSC_WRITE_STEP);
	after = rdtsc();
	check_no_exception("WRMSR IA32_TSC");
	check_tsc_moved("RDTSC follows a WRMSR IA32_TSC", before, after, TSC_WRITE_STEP);
	adjust = probe_rdmsr(MSR_TSC_ADJUST);
	/* TSC_ADJUST moved by what was written less the time the write took. */
	check_within_hex("IA32_TSC_ADJUST followed the TSC write", adjust,
		     TSC_WRITE_STEP - TSC_SLACK, TSC_WRITE_STEP);
	probe_wrmsr(MSR_TSC_ADJUST, 0);
	check_no_exception("IA32_TSC_ADJUST back to 0");
}

/** Every MSR path: emulated, refused, passed to the guest. */
static void check_msrs(void)
{
	check_mtrrs();
	check_unknown_msrs();
	check_platform_msrs();
	check_guest_msrs();
	check_tsc_adjust();
	check_tsc_msr();
}

/* ---------------------------------------------------------------------- */
/* Port I/O                                                               */
/* ---------------------------------------------------------------------- */

/** IN of a byte, starting from @eax: the upper 24 bits must survive. */
static uint32_t in8(uint16_t port, uint32_t eax)
{
	__asm__ volatile("inb %1, %%al" : "+a"(eax) : "Nd"(port));
	return eax;
}

/** IN of a word, starting from @eax: the upper 16 bits must survive. */
static uint32_t in16(uint16_t port, uint32_t eax)
{
	__asm__ volatile("inw %1, %%ax" : "+a"(eax) : "Nd"(port));
	return eax;
}

/** The UART's scratch register keeps a byte; wider accesses reach the ports after it. */
static void check_uart_ports(void)
{
	port_write8(UART_SCR, SCRATCH_VALUE);
	check_u32("OUT/IN byte: UART scratch 0x3ff keeps 0x5a", in8(UART_SCR, 0), SCRATCH_VALUE);
	/* Each byte of a wide access is its own port: 0x400 and up are unclaimed. */
	port_write16(UART_SCR, 0x12a5);
	check_u32("OUT/IN word at 0x3ff: scratch byte, then an unclaimed 0xff",
		  in16(UART_SCR, 0), 0xffa5);
	port_write32(UART_SCR, 0x1234563c);
	check_u32("OUT/IN dword at 0x3ff: scratch byte, then unclaimed 0xffffff",
		  port_read32(UART_SCR), 0xffffff3c);
	check_u32("UART LSR (0x3fd) reads 0x60", in8(UART_LSR, 0), UART_LSR_IDLE);
}

/** A port no device claims reads all-ones at every size and ignores writes. */
static void check_unclaimed_port(void)
{
	port_write8(PORT_UNCLAIMED, 0);
	port_write16(PORT_UNCLAIMED, 0);
	port_write32(PORT_UNCLAIMED, 0);
	check_u32("IN byte of an unclaimed port is 0xff, EAX[31:8] kept",
		  in8(PORT_UNCLAIMED, 0x12345600), 0x123456ff);
	check_u32("IN word of an unclaimed port is 0xffff, EAX[31:16] kept",
		  in16(PORT_UNCLAIMED, 0x12340000), 0x1234ffff);
	check_u32("IN dword of an unclaimed port is 0xffffffff", port_read32(PORT_UNCLAIMED),
		  0xffffffffU);
}

/** REP INSB, forwards or (DF=1) backwards; DF is clear again after it. */
static struct string_io_result rep_insb(uint16_t port, uint8_t *to, uint32_t count, bool backwards)
{
	__asm__ volatile("testl %3, %3\n\tjz 1f\n\tstd\n"
			 "1:\trep insb\n\tcld"
			 : "+D"(to), "+c"(count) : "d"(port), "r"((uint32_t)backwards)
			 : "memory", "cc");
	return (struct string_io_result){ (uint32_t)(uintptr_t)to, count };
}

/** REP INSW, forwards or (DF=1) backwards. */
static struct string_io_result rep_insw(uint16_t port, uint8_t *to, uint32_t count, bool backwards)
{
	__asm__ volatile("testl %3, %3\n\tjz 1f\n\tstd\n"
			 "1:\trep insw\n\tcld"
			 : "+D"(to), "+c"(count) : "d"(port), "r"((uint32_t)backwards)
			 : "memory", "cc");
	return (struct string_io_result){ (uint32_t)(uintptr_t)to, count };
}

/** INSD without REP: one dword, ECX untouched. */
static struct string_io_result insd(uint16_t port, uint8_t *to)
{
	uint32_t count = 0x600dc0deU;

	__asm__ volatile("insl" : "+D"(to), "+c"(count) : "d"(port) : "memory");
	return (struct string_io_result){ (uint32_t)(uintptr_t)to, count };
}

/** REP OUTSB, forwards or (DF=1) backwards. */
static struct string_io_result rep_outsb(uint16_t port, const void *from, uint32_t count,
					 bool backwards)
{
	__asm__ volatile("testl %3, %3\n\tjz 1f\n\tstd\n"
			 "1:\trep outsb\n\tcld"
			 : "+S"(from), "+c"(count) : "d"(port), "r"((uint32_t)backwards)
			 : "memory", "cc");
	return (struct string_io_result){ (uint32_t)(uintptr_t)from, count };
}

/** Counts the bytes of io_buffer in [first, first + length) that equal @value. */
static uint32_t count_bytes(size_t first, size_t length, uint8_t value)
{
	uint32_t count = 0;

	for (size_t i = first; i < first + length; i++) {
		count += io_buffer[i] == value;
	}
	return count;
}

/**
 * Checks a string IN into io_buffer[GUARD_BYTES, GUARD_BYTES + length): all
 * 0xff, the guard bytes around it still 0, ECX and EDI as expected.
 */
static void check_string_in(const char *what, uint32_t length, struct string_io_result got,
			    uint32_t expected_ecx, uint32_t expected_edi)
{
	uint32_t filled = count_bytes(GUARD_BYTES, length, 0xff);
	uint32_t guards = count_bytes(0, GUARD_BYTES, 0) +
			  count_bytes(GUARD_BYTES + length, GUARD_BYTES, 0);

	if (filled == length && guards == 2 * GUARD_BYTES && got.count == expected_ecx &&
	    got.pointer == expected_edi) {
		check_pass(what);
		return;
	}
	check_fail(what);
	guest_printf("expected %u bytes of 0xff, %u guard bytes of 0, ECX 0x%x, EDI 0x%x, "
		     "got %u, %u, 0x%x, 0x%x\n", length, 2 * GUARD_BYTES, expected_ecx,
		     expected_edi, filled, guards, got.count, got.pointer);
}

/** Address of io_buffer[offset], as EDI/ESI hold it. */
static uint32_t buffer_address(size_t offset)
{
	return (uint32_t)(uintptr_t)&io_buffer[offset];
}

/** REP INSB/INSW and INSD from an unclaimed port, upwards (DF=0). */
static void check_string_in_upwards(void)
{
	uint8_t *start = &io_buffer[GUARD_BYTES];

	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSB x16 from an unclaimed port", 16,
			rep_insb(PORT_UNCLAIMED, start, 16, false), 0, buffer_address(GUARD_BYTES + 16));
	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSW x8 from an unclaimed port", 16,
			rep_insw(PORT_UNCLAIMED, start, 8, false), 0, buffer_address(GUARD_BYTES + 16));
	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("INSD without REP: one dword, ECX untouched", 4,
			insd(PORT_UNCLAIMED, start), 0x600dc0deU, buffer_address(GUARD_BYTES + 4));
}

/** REP INSB/INSW with DF=1: they fill downwards from the last element. */
static void check_string_in_downwards(void)
{
	uint8_t *start = &io_buffer[GUARD_BYTES];

	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSB x16 with DF=1 (downwards)", 16,
			rep_insb(PORT_UNCLAIMED, start + 15, 16, true), 0,
			buffer_address(GUARD_BYTES - 1));
	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSW x8 with DF=1 (downwards)", 16,
			rep_insw(PORT_UNCLAIMED, start + 14, 8, true), 0,
			buffer_address(GUARD_BYTES - 2));
}

/** A REP INSB longer than Tessera moves in one exit resumes where it stopped. */
static void check_string_in_batches(void)
{
	uint8_t *start = &io_buffer[GUARD_BYTES];

	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSB x1200 (several exits' worth)", STRING_IO_BATCH_TEST,
			rep_insb(PORT_UNCLAIMED, start, STRING_IO_BATCH_TEST, false), 0,
			buffer_address(GUARD_BYTES + STRING_IO_BATCH_TEST));
	memset(io_buffer, 0, sizeof(io_buffer));
	check_string_in("REP INSB x1200 with DF=1 (several exits' worth)", STRING_IO_BATCH_TEST,
			rep_insb(PORT_UNCLAIMED, start + STRING_IO_BATCH_TEST - 1,
				 STRING_IO_BATCH_TEST, true), 0, buffer_address(GUARD_BYTES - 1));
}

/** REP OUTSB: a console line through the UART, and DF=1 into the scratch register. */
static void check_string_out(void)
{
	static const char line[] = "this line came through REP OUTSB\n";
	static const char bytes[] = "ABC";
	uint32_t length = sizeof(line) - 1;
	struct string_io_result r = rep_outsb(UART_THR, line, length, false);

	check_u32("REP OUTSB of a line: ECX is 0 after", r.count, 0);
	check_u32("REP OUTSB of a line: ESI advanced past it", r.pointer,
		  (uint32_t)(uintptr_t)(line + length));
	/* Backwards the bytes go C, B, A: the scratch register ends with 'A'. */
	r = rep_outsb(UART_SCR, &bytes[2], 3, true);
	check_u32("REP OUTSB with DF=1: the last byte sent is the lowest", in8(UART_SCR, 0), 'A');
	check_u32("REP OUTSB with DF=1: ESI moved down past the start", r.pointer,
		  (uint32_t)(uintptr_t)bytes - 1);
	check_u32("REP OUTSB with DF=1: ECX is 0 after", r.count, 0);
}

/** Port I/O of every size, and the string forms. */
static void check_port_io(void)
{
	check_uart_ports();
	check_unclaimed_port();
	check_string_in_upwards();
	check_string_in_downwards();
	check_string_in_batches();
	check_string_out();
}

/* ---------------------------------------------------------------------- */
/* Control registers                                                      */
/* ---------------------------------------------------------------------- */

/** MOV from CR0: the guest's view (the read shadow for the bits Tessera owns). */
static uint32_t read_cr0(void)
{
	uint32_t value;

	__asm__ volatile("mov %%cr0, %0" : "=r"(value));
	return value;
}

/** MOV from CR3. */
static uint32_t read_cr3(void)
{
	uint32_t value;

	__asm__ volatile("mov %%cr3, %0" : "=r"(value));
	return value;
}

/** MOV from CR4: the guest's view (the read shadow for the bits Tessera owns). */
static uint32_t read_cr4(void)
{
	uint32_t value;

	__asm__ volatile("mov %%cr4, %0" : "=r"(value));
	return value;
}

/** MOV to CR0 under PROBE. */
static void probe_write_cr0(uint32_t value)
{
	__asm__ volatile(PROBE("mov %0, %%cr0") : : "r"(value) : "memory");
}

/** MOV to CR3 under PROBE. */
static void probe_write_cr3(uint32_t value)
{
	__asm__ volatile(PROBE("mov %0, %%cr3") : : "r"(value) : "memory");
}

/** MOV to CR4 under PROBE. */
static void probe_write_cr4(uint32_t value)
{
	__asm__ volatile(PROBE("mov %0, %%cr4") : : "r"(value) : "memory");
}

/** Writes CR0 and checks that it reads back what was written. */
static void check_cr0_write(const char *what, uint32_t value)
{
	probe_write_cr0(value);
	check_probed_u64(what, read_cr0(), value);
}

/** Writes CR4 and checks that it reads back what was written. */
static void check_cr4_write(const char *what, uint32_t value)
{
	probe_write_cr4(value);
	check_probed_u64(what, read_cr4(), value);
}

/**
 * CR0: MP is the guest's own bit (no exit); NE belongs to Tessera (VMX fixes
 * it to 1), so writing it exits and the guest sees it through the read
 * shadow. The invalid writes flip NE too, so that they surely exit and it is
 * Tessera's check that refuses them, not the CPU's.
 */
static void check_cr0(void)
{
	uint32_t cr0 = read_cr0();

	check_u32("CR0 reads PE|ET (0x11) at entry", cr0, CR0_PE | CR0_ET);
	check_cr0_write("CR0.MP set reads back", cr0 | CR0_MP);
	check_cr0_write("CR0.MP cleared reads back", cr0);
	check_cr0_write("CR0.NE set (exits) reads back", cr0 | CR0_NE);
	check_cr0_write("CR0.NE cleared (exits) reads back", cr0);
	probe_write_cr0((cr0 | CR0_NE | CR0_PG) & ~CR0_PE);
	check_exception("CR0 with PG=1 and PE=0 raises #GP(0)", VECTOR_GP, 0);
	probe_write_cr0(cr0 | CR0_NE | CR0_NW);
	check_exception("CR0 with NW=1 and CD=0 raises #GP(0)", VECTOR_GP, 0);
	check_u32("CR0 unchanged by the refused writes", read_cr0(), cr0);
}

/** CR4: OSFXSR is the guest's; VMXE and SMXE are refused; the shadow hides VMXE. */
static void check_cr4(void)
{
	uint32_t cr4 = read_cr4();

	check_u32("CR4 reads 0 at entry (VMXE hidden by the read shadow)", cr4, 0);
	check_cr4_write("CR4.OSFXSR set reads back", cr4 | CR4_OSFXSR);
	check_cr4_write("CR4.OSFXSR cleared reads back", cr4);
	probe_write_cr4(cr4 | CR4_VMXE);
	check_exception("CR4.VMXE raises #GP(0)", VECTOR_GP, 0);
	probe_write_cr4(cr4 | CR4_SMXE);
	check_exception("CR4.SMXE raises #GP(0)", VECTOR_GP, 0);
	check_u32("CR4 unchanged by the refused writes", read_cr4(), cr4);
}

/** CR3: with paging off it is only stored, but the value must come back. */
static void check_cr3(void)
{
	uint32_t cr3 = read_cr3();

	probe_write_cr3(CR3_TEST_VALUE);
	check_probed_u64("CR3 keeps a written value", read_cr3(), CR3_TEST_VALUE);
	probe_write_cr3(cr3);
	check_probed_u64("CR3 restored", read_cr3(), cr3);
}

/** The control-register exits. */
static void check_control_registers(void)
{
	check_cr0();
	check_cr4();
	check_cr3();
}

/* ---------------------------------------------------------------------- */
/* XSETBV                                                                 */
/* ---------------------------------------------------------------------- */

/** XSETBV under PROBE. */
static void probe_xsetbv(uint32_t xcr, uint64_t value)
{
	__asm__ volatile(PROBE("xsetbv")
			 : : "c"(xcr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
}

/** XGETBV of XCR0 (never exits: it reads what Tessera loaded for this vCPU). */
static uint64_t xgetbv0(void)
{
	uint32_t low;
	uint32_t high;

	__asm__ volatile("xgetbv" : "=a"(low), "=d"(high) : "c"(0));
	return ((uint64_t)high << 32) | low;
}

/** Sets XCR0 and checks that XGETBV reads it back. */
static void check_xcr0_accepted(const char *what, uint64_t value)
{
	probe_xsetbv(0, value);
	if (exception_count != 0) {
		check_no_exception(what);
		return;
	}
	check_u64(what, xgetbv0(), value);
}

/** Checks that XSETBV of @value to @xcr raises #GP(0) and leaves XCR0 alone. */
static void check_xsetbv_refused(const char *what, uint32_t xcr, uint64_t value)
{
	uint64_t before = xgetbv0();

	probe_xsetbv(xcr, value);
	check_exception(what, VECTOR_GP, 0);
	expect_kept(what, xgetbv0(), before);
}

/** CR4.OSXSAVE turns XSETBV on; CPUID.1:ECX.OSXSAVE follows it. */
static void check_osxsave(void)
{
	check_bit("CPUID.1:ECX.OSXSAVE is clear while CR4.OSXSAVE is", cpuid(1).ecx,
		  CPUID_1_ECX_OSXSAVE, 0);
	probe_xsetbv(0, XCR0_X87 | XCR0_SSE);
	check_exception("XSETBV with CR4.OSXSAVE clear raises #UD", VECTOR_UD, 0);
	check_cr4_write("CR4.OSXSAVE set reads back", read_cr4() | CR4_OSXSAVE);
	check_bit("CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE", cpuid(1).ecx, CPUID_1_ECX_OSXSAVE, 1);
}

/** XSETBV: valid XCR0 values take effect, invalid ones raise #GP(0). */
static void check_xsetbv(void)
{
	uint32_t ecx = cpuid(1).ecx;

	if ((ecx & (1U << CPUID_1_ECX_XSAVE)) == 0) {
		guest_printf("note: CPUID.1:ECX.XSAVE is clear: no XSETBV to check\n");
		return;
	}
	check_osxsave();
	check_xcr0_accepted("XSETBV XCR0 = 3 (x87|SSE) reads back", XCR0_X87 | XCR0_SSE);
	check_xsetbv_refused("XSETBV XCR0 = 0 raises #GP(0)", 0, 0);
	check_xsetbv_refused("XSETBV XCR0 = 5 (AVX without SSE) raises #GP(0)", 0,
			     XCR0_X87 | XCR0_AVX);
	check_xsetbv_refused("XSETBV XCR0 = 2 (SSE without x87) raises #GP(0)", 0, XCR0_SSE);
	check_xsetbv_refused("XSETBV of XCR1 raises #GP(0)", 1, XCR0_X87);
	if (ecx & (1U << CPUID_1_ECX_AVX)) {
		check_xcr0_accepted("XSETBV XCR0 = 7 (x87|SSE|AVX) reads back",
				    XCR0_X87 | XCR0_SSE | XCR0_AVX);
		check_xcr0_accepted("XSETBV XCR0 = 3 again reads back", XCR0_X87 | XCR0_SSE);
	}
}

/* ---------------------------------------------------------------------- */
/* Other instructions                                                     */
/* ---------------------------------------------------------------------- */

/** VMXON. */
static void probe_vmxon(void)
{
	__asm__ volatile(PROBE("vmxon %0") : : "m"(vmx_operand[0]) : "memory");
}

/** VMXOFF. */
static void probe_vmxoff(void)
{
	__asm__ volatile(PROBE("vmxoff") : : : "memory");
}

/** VMCLEAR. */
static void probe_vmclear(void)
{
	__asm__ volatile(PROBE("vmclear %0") : : "m"(vmx_operand[0]) : "memory");
}

/** VMPTRLD. */
static void probe_vmptrld(void)
{
	__asm__ volatile(PROBE("vmptrld %0") : : "m"(vmx_operand[0]) : "memory");
}

/** VMPTRST. */
static void probe_vmptrst(void)
{
	__asm__ volatile(PROBE("vmptrst %0") : "=m"(vmx_operand[0]) : : "memory");
}

/** VMREAD of field 0 into EBX. */
static void probe_vmread(void)
{
	__asm__ volatile(PROBE("vmread %%eax, %%ebx") : : "a"(0) : "ebx", "memory", "cc");
}

/** VMWRITE of EBX to field 0. */
static void probe_vmwrite(void)
{
	__asm__ volatile(PROBE("vmwrite %%ebx, %%eax") : : "a"(0), "b"(0) : "memory", "cc");
}

/** VMLAUNCH. */
static void probe_vmlaunch(void)
{
	__asm__ volatile(PROBE("vmlaunch") : : : "memory", "cc");
}

/** VMRESUME. */
static void probe_vmresume(void)
{
	__asm__ volatile(PROBE("vmresume") : : : "memory", "cc");
}

/** INVEPT, single-context type. */
static void probe_invept(void)
{
	__asm__ volatile(PROBE("invept %0, %%eax") : : "m"(vmx_operand), "a"(1) : "memory", "cc");
}

/** INVVPID, single-context type. */
static void probe_invvpid(void)
{
	__asm__ volatile(PROBE("invvpid %0, %%eax") : : "m"(vmx_operand), "a"(1) : "memory", "cc");
}

/** MONITOR on io_buffer. */
static void probe_monitor(void)
{
	__asm__ volatile(PROBE("monitor") : : "a"(io_buffer), "c"(0), "d"(0) : "memory");
}

/** MWAIT with no hints. */
static void probe_mwait(void)
{
	__asm__ volatile(PROBE("mwait") : : "a"(0), "c"(0) : "memory");
}

/** An instruction that must raise #UD, and its check's name. */
struct ud_probe {
	const char *what;
	void (*run)(void);
};

/** VMX is not offered: every VMX instruction is #UD. */
static void check_vmx_instructions(void)
{
	static const struct ud_probe probes[] = {
		{ "VMXON raises #UD", probe_vmxon },
		{ "VMXOFF raises #UD", probe_vmxoff },
		{ "VMCLEAR raises #UD", probe_vmclear },
		{ "VMPTRLD raises #UD", probe_vmptrld },
		{ "VMPTRST raises #UD", probe_vmptrst },
		{ "VMREAD raises #UD", probe_vmread },
		{ "VMWRITE raises #UD", probe_vmwrite },
		{ "VMLAUNCH raises #UD", probe_vmlaunch },
		{ "VMRESUME raises #UD", probe_vmresume },
		{ "INVEPT raises #UD", probe_invept },
		{ "INVVPID raises #UD", probe_invvpid },
	};

	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		probes[i].run();
		check_exception(probes[i].what, VECTOR_UD, 0);
	}
}

/**
 * MONITOR/MWAIT are not offered: #UD. MWAIT runs only once MONITOR has been
 * refused: after a MONITOR that worked, it could wait for a write that never
 * comes.
 */
static void check_monitor_mwait(void)
{
	probe_monitor();
	check_exception("MONITOR raises #UD", VECTOR_UD, 0);
	if (exception_count != 1 || exception_vector != VECTOR_UD) {
		guest_printf("note: MWAIT not tried after MONITOR did not raise #UD\n");
		return;
	}
	probe_mwait();
	check_exception("MWAIT raises #UD", VECTOR_UD, 0);
}

/** VMCALL of an unknown number, INVD, WBINVD. */
static void check_misc_instructions(void)
{
	struct hypercall_regs regs = { .eax = UNKNOWN_CALL };

	check_u32("VMCALL 0x7fff (unknown) returns ENOSYS (-1)", (uint32_t)hypercall(&regs),
		  (uint32_t)TESSERA_HC_ENOSYS);
	__asm__ volatile(PROBE("invd") : : : "memory");
	check_no_exception("INVD completes");
	__asm__ volatile(PROBE("wbinvd") : : : "memory");
	check_no_exception("WBINVD completes");
}

/** Runs every group of checks; the exit code is the number that failed. */
int guest_main(void)
{
	load_flat_gdt();
	load_idt_from_table(idt, exception_stubs, IDT_VECTORS);
	guest_printf("checking every VM exit Tessera handles\n");
	check_handlers();
	check_cpuid_features();
	check_cpuid_leaves();
	check_msrs();
	check_port_io();
	check_control_registers();
	check_xsetbv();
	check_misc_instructions();
	check_vmx_instructions();
	check_monitor_mwait();
	return check_summary();
}
