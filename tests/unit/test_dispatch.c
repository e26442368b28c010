/*
 * Host tests of the VM-exit path: the dispatcher (hv/dispatch.c) and the
 * handlers behind it for CPUID (hv/cpuid.c), port I/O (hv/io.c) and VMCALL
 * (hv/hypercall.c).
 *
 * Every exit is driven through exit_dispatch() with the fake VMCS of
 * tests/unit/support/fake_vmcs.c, exactly as the run loop would after a real
 * VM exit, and its effect is judged from the outside: the guest RIP, the
 * event injected through the VM-entry interruption-information field, the
 * partition's state and stop reason, and the lines on a capturing console.
 * The expected values (exception encodings, segment access rights, the
 * CPUID signature bytes) are written out here from the SDM and the ABI text,
 * not taken from the code under test.
 *
 * The host's own CPUID answers are faked, where Linux offers CPUID faulting
 * (arch_prctl(ARCH_SET_CPUID)), by emulating the trapped instruction in a
 * SIGSEGV handler: so leaf 1 can be checked against a host that has VMX and
 * lacks the hypervisor bit, whatever the machine running the tests has.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "hv/alloc.h"
#include "hv/console.h"
#include "hv/exit.h"
#include "hv/hypercall_abi.h"
#include "hv/log.h"
#include "hv/phys.h"
#include "hv/vcpu_events.h"
#include "tests/unit/support/fake_phys.h"
#include "tests/unit/support/console_capture.h"
#include "tests/unit/support/test_vcpu.h"
#include "tests/unit/support/fake_vmcs.h"

/* The partition every test runs in. */
#define PART_NAME   "guest-a"
#define PART_ID     5
#define PART_VCPUS  2
#define PART_MEMORY MiB(3)

/* Host memory: the partition's RAM and room to spare (small: it is poisoned). */
#define ARENA_SIZE MiB(8)

/* Where the exiting instruction is, and how long it is. */
#define TEST_RIP 0x7c00ULL
#define TEST_LEN 3
#define NEXT_RIP (TEST_RIP + TEST_LEN)

/* VM-entry interruption information (SDM 24.8.3), written out by hand. */
#define T_INJECT_UD    0x80000306U /* valid, hardware exception, vector 6 */
#define T_INJECT_GP_EC 0x80000b0dU /* valid, deliver error code, hw exc, 13 */

/* VM-exit interruption information (SDM 24.9.2): an NMI; a #PF. */
#define T_EXIT_INFO_NMI 0x80000202U /* valid, type 2 (NMI), vector 2 */
#define T_EXIT_INFO_PF  0x80000b0eU /* valid, error code, hw exception, 14 */

/* Segment access rights (SDM 24.4.1) and IA32_EFER bits. */
#define T_AR_CODE32    0xc09bU /* present, DPL 0, code, D=1, L=0 */
#define T_AR_CODE64    0xa09bU /* present, DPL 0, code, D=0, L=1 */
#define T_AR_DATA_DPL0 0xc093U
#define T_AR_DATA_DPL3 0xc0f3U
#define T_EFER_LME_LMA 0x500ULL

#define T_RFLAGS_IF (1ULL << 9)
#define T_RFLAGS_RESERVED (1ULL << 1)

/* Interruptibility state bits (SDM 24.4.2). */
#define T_BLOCKING_STI    1U
#define T_BLOCKING_MOV_SS 2U
#define T_BLOCKING_NMI    8U

/* The I/O exit qualification (SDM Table 28-5). */
#define T_IO_IN     (1U << 3)
#define T_IO_STRING (1U << 4)
#define T_CR0_PE 0x1ULL
#define T_CR0_PG 0x80000000ULL

/* A port no device claims (the POST code port). */
#define UNCLAIMED_PORT 0x80

static struct partition_config test_config;
static struct partition test_partition;

/* The faked host CPUID (see the top): its answers, and how often it was asked. */
#define FAKE_HOST_ECX 0x12345678U
#define FAKE_HOST_EDX 0x9abcdef0U
static struct cpuid_result fake_host_leaf1;
/* The fake host's highest basic leaf (CPUID 0 EAX). */
static uint32_t fake_host_max_leaf = 0x1f;
static volatile unsigned int fake_host_cpuid_count;
static volatile bool fake_cpuid_active;
static struct sigaction saved_segv_action;

/** Leaves CPUID faulting and puts the previous SIGSEGV handler back. */
static void fake_cpuid_stop(void)
{
	if (fake_cpuid_active) {
		syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
		sigaction(SIGSEGV, &saved_segv_action, NULL);
		fake_cpuid_active = false;
	}
}

/** SIGSEGV handler: emulates a faulted CPUID; anything else faults again. */
static void fake_cpuid_trap(int sig, siginfo_t *info, void *context)
{
	greg_t *gregs = ((ucontext_t *)context)->uc_mcontext.gregs;
	const uint8_t *ip = (const uint8_t *)gregs[REG_RIP];
	struct cpuid_result r = { 0, 0, 0, 0 };

	if (info->si_code != SI_KERNEL || ip[0] != 0x0f || ip[1] != 0xa2) {
		fake_cpuid_stop(); /* the instruction re-runs under the old handler */
		return;
	}
	if ((uint32_t)gregs[REG_RAX] == 1) {
		r = fake_host_leaf1;
	} else if ((uint32_t)gregs[REG_RAX] == 0) {
		r = (struct cpuid_result){ fake_host_max_leaf, 0, FAKE_HOST_ECX, FAKE_HOST_EDX };
	} else {
		/* Any other leaf echoes what was asked, to show it was passed on. */
		r.eax = (uint32_t)gregs[REG_RAX];
		r.ebx = (uint32_t)gregs[REG_RCX];
		r.ecx = FAKE_HOST_ECX;
		r.edx = FAKE_HOST_EDX;
	}
	fake_host_cpuid_count++;
	gregs[REG_RAX] = r.eax;
	gregs[REG_RBX] = r.ebx;
	gregs[REG_RCX] = r.ecx;
	gregs[REG_RDX] = r.edx;
	gregs[REG_RIP] += 2;
}

/** Makes CPUID trap to fake_cpuid_trap(); false where the host cannot. */
static bool fake_cpuid_start(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof(action));
	action.sa_sigaction = fake_cpuid_trap;
	action.sa_flags = SA_SIGINFO;
	sigemptyset(&action.sa_mask);
	fake_host_cpuid_count = 0;
	if (sigaction(SIGSEGV, &action, &saved_segv_action) != 0) {
		return false;
	}
	fake_cpuid_active = true;
	if (syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
		fake_cpuid_stop();
		return false;
	}
	return true;
}

/* The vCPUs' local APIC registers (virtual-APIC pages on hardware). */
static uint8_t test_apic_pages[PART_VCPUS][PAGE_SIZE] ALIGNED(PAGE_SIZE);

/** A running partition with vCPUs, a UART and no RAM yet. */
static void reset_partition(void)
{
	struct partition *p = &test_partition;

	memset(p, 0, sizeof(*p));
	p->id = PART_ID;
	p->config = &test_config;
	p->state = PARTITION_RUNNING;
	p->vcpu_count = PART_VCPUS;
	for (unsigned int i = 0; i < PART_VCPUS; i++) {
		p->vcpus[i].partition = p;
		p->vcpus[i].index = i;
		p->vcpus[i].state = VCPU_RUNNABLE;
		p->vcpus[i].apic_page = test_apic_pages[i];
		vcpu_events_init(&p->vcpus[i]);
	}
	vuart_init(&p->uart, test_config.name, NULL);
}

/** Gives the partition its RAM (two regions), zeroed. */
static void give_partition_ram(void)
{
	assert_int_equal(test_give_partition_ram(&test_partition, PART_ID, PART_MEMORY), 2);
}

/** Guest state of a flat 32-bit protected-mode guest at CPL 0. */
static void guest_mode_32bit(void)
{
	vmcs_write64(VMCS_GUEST_IA32_EFER, 0);
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE32);
	vmcs_write32(VMCS_GUEST_SS_ACCESS_RIGHTS, T_AR_DATA_DPL0);
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RFLAGS_RESERVED);
}

/** Guest state of a 64-bit guest (IA-32e mode, CS.L) at CPL 0. */
static void guest_mode_64bit(void)
{
	vmcs_write64(VMCS_GUEST_IA32_EFER, T_EFER_LME_LMA);
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE64);
}

/** The configuration the test partition was built from. */
static void reset_config(void)
{
	memset(&test_config, 0, sizeof(test_config));
	snprintf(test_config.name, sizeof(test_config.name), "%s", PART_NAME);
	test_config.memory_bytes = PART_MEMORY;
	test_config.vcpus = PART_VCPUS;
}

/** Fresh fake VMCS, arena, console, partition; *state is vCPU 0. */
static int setup(void **state)
{
	fake_vmcs_reset();
	fake_vmx_config.has_ack_interrupt_on_exit = true;
	fake_lapic_eoi_count = 0;
	fake_host_nmi_count = 0;
	fake_phys_init_with_allocator(ARENA_SIZE);
	console_capture_start();
	log_set_level(LOG_INFO);
	reset_config();
	reset_partition();
	give_partition_ram();
	guest_mode_32bit();
	*state = &test_partition.vcpus[0];
	return 0;
}

/** Removes the sink, the arena and any CPUID fake a failed test left. */
static int teardown(void **state)
{
	fake_cpuid_stop();
	console_capture_stop();
	fake_phys_fini();
	return 0;
}

/** Fills the exit-information fields of the fake VMCS for one exit. */
static void set_exit(uint32_t full_reason, uint64_t qualification)
{
	vmcs_write32(VMCS_EXIT_REASON, full_reason);
	vmcs_writel(VMCS_EXIT_QUALIFICATION, qualification);
	vmcs_writel(VMCS_GUEST_RIP, TEST_RIP);
	vmcs_write32(VMCS_EXIT_INSTRUCTION_LENGTH, TEST_LEN);
}

/** Makes one exit happen and dispatches it. */
static enum exit_result run_exit(struct vcpu *vcpu, uint32_t full_reason, uint64_t qualification)
{
	set_exit(full_reason, qualification);
	return exit_dispatch(vcpu);
}

/** The guest RIP in the fake VMCS. */
static uint64_t guest_rip(void)
{
	return vmcs_readl(VMCS_GUEST_RIP);
}

/** The event the next VM entry would inject (0: none). */
static uint32_t injected_event(void)
{
	return vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO);
}

/** Asserts the partition was stopped with exactly this reason. */
static void assert_stopped_with(const char *reason)
{
	char line[STOP_REASON_MAX + 64];

	assert_int_equal(test_partition.state, PARTITION_STOPPED);
	for (unsigned int i = 0; i < PART_VCPUS; i++) {
		assert_int_equal(test_partition.vcpus[i].state, VCPU_STOPPED);
	}
	assert_string_equal(test_partition.stop_reason, reason);
	snprintf(line, sizeof(line), "tessera: partition %s stopped: %s\n", PART_NAME, reason);
	assert_non_null(strstr(captured.text, line));
}

/** Asserts the exit was handled in place: resumed past the instruction. */
static void assert_resumed_past(enum exit_result result)
{
	assert_int_equal(result, EXIT_RESUME);
	assert_int_equal(guest_rip(), NEXT_RIP);
	assert_int_equal(injected_event(), 0);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/* ------------------------------------------------------------------------
 * The dispatch table and the classification of every exit reason
 * ------------------------------------------------------------------------ */

/** What an exit did, judged from the outside. */
enum outcome {
	OUTCOME_ADVANCED,    /* resumed with RIP past the instruction */
	OUTCOME_INJECTED,    /* resumed at the same RIP with an exception */
	OUTCOME_STOPPED,     /* the partition was stopped with a reason */
	OUTCOME_RESCHEDULED, /* the scheduler picks next */
	OUTCOME_RESUMED,     /* resumed at the same RIP, nothing injected (yet) */
	OUTCOME_INCOHERENT,  /* none of the above, or a mixture */
};

/** Classifies the state after exit_dispatch() returned result. */
static enum outcome classify(enum exit_result result)
{
	bool running = test_partition.state == PARTITION_RUNNING;
	uint32_t event = injected_event();

	if (result == EXIT_STOPPED && !running && event == 0 &&
	    test_partition.stop_reason[0] != '\0') {
		return OUTCOME_STOPPED;
	}
	if (!running) {
		return OUTCOME_INCOHERENT;
	}
	if (result == EXIT_RESCHEDULE && event == 0) {
		return OUTCOME_RESCHEDULED;
	}
	if (result == EXIT_RESUME && event == 0 && guest_rip() == NEXT_RIP) {
		return OUTCOME_ADVANCED;
	}
	if (result == EXIT_RESUME && (event & 0x80000000U) && guest_rip() == TEST_RIP) {
		return OUTCOME_INJECTED;
	}
	if (result == EXIT_RESUME && event == 0 && guest_rip() == TEST_RIP) {
		return OUTCOME_RESUMED;
	}
	return OUTCOME_INCOHERENT;
}

/**
 * The outcome the design asks of each basic reason, for the exits the sweep
 * makes: RFLAGS.IF = 1, RAX = 0 and no exit interruption information (so
 * EXCEPTION_NMI is not an NMI).
 */
static enum outcome expected_outcome(uint32_t reason)
{
	switch (reason) {
	case EXIT_REASON_CPUID:
	case EXIT_REASON_VMCALL:
	case EXIT_REASON_IO_INSTRUCTION:
	case EXIT_REASON_INVD:
	case EXIT_REASON_WBINVD:
	case EXIT_REASON_CR_ACCESS: /* MOV to CR0 of RAX (0): accepted */
		return OUTCOME_ADVANCED;
	case EXIT_REASON_VMCLEAR:
	case EXIT_REASON_VMLAUNCH:
	case EXIT_REASON_VMPTRLD:
	case EXIT_REASON_VMPTRST:
	case EXIT_REASON_VMREAD:
	case EXIT_REASON_VMRESUME:
	case EXIT_REASON_VMWRITE:
	case EXIT_REASON_VMXOFF:
	case EXIT_REASON_VMXON:
	case EXIT_REASON_INVEPT:
	case EXIT_REASON_INVVPID:
	case EXIT_REASON_VMFUNC:
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
	case EXIT_REASON_MWAIT:   /* not offered by CPUID: #UD */
	case EXIT_REASON_MONITOR:
	case EXIT_REASON_XSETBV:  /* of XCR0 = 0 (RAX): #GP(0) */
		return OUTCOME_INJECTED;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
	case EXIT_REASON_HLT:
	case EXIT_REASON_PREEMPTION_TIMER:
	case EXIT_REASON_PAUSE:   /* PAUSE-loop exiting: another vCPU runs */
		return OUTCOME_RESCHEDULED;
	case EXIT_REASON_INTERRUPT_WINDOW: /* the entry path injects what waited */
	case EXIT_REASON_NMI_WINDOW:
	case EXIT_REASON_TPR_BELOW_THRESHOLD:
		return OUTCOME_RESUMED;
	default:
		return OUTCOME_STOPPED;
	}
}

/**
 * A qualification unique to each reason (bits 63:32) whose low bits are a
 * valid 1-byte OUT to an unclaimed port, for the I/O handler's sake.
 */
static uint64_t sweep_qualification(uint32_t reason)
{
	return ((uint64_t)(reason + 1) << 32) | ((uint64_t)UNCLAIMED_PORT << 16);
}

/**
 * Asserts a stop reason names the exit: its name ("UNKNOWN" for the SDM's
 * gaps), number, qualification and RIP.
 */
static void assert_stop_names_exit(uint32_t reason)
{
	const char *text = test_partition.stop_reason;
	char piece[64];

	assert_non_null(strstr(text, exit_reason_name(reason)));
	if (reason == EXIT_REASON_EPT_VIOLATION) {
		return; /* checked on its own below: names gpa, access and rip */
	}
	snprintf(piece, sizeof(piece), "(exit reason %u)", reason);
	assert_non_null(strstr(text, piece));
	snprintf(piece, sizeof(piece), "qualification 0x%llx",
		 (unsigned long long)sweep_qualification(reason));
	assert_non_null(strstr(text, piece));
	assert_non_null(strstr(text, "guest rip 0x7c00"));
}

/** Dispatches one basic reason in a fresh partition and checks its class. */
static void sweep_one_reason(uint32_t reason)
{
	struct vcpu *vcpu = &test_partition.vcpus[0];
	enum exit_result result;
	enum outcome got;

	fake_vmcs_reset();
	guest_mode_32bit();
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RFLAGS_RESERVED | T_RFLAGS_IF);
	reset_partition();
	memset(&captured, 0, sizeof(captured));
	result = run_exit(vcpu, reason, sweep_qualification(reason));
	got = classify(result);
	if (got != expected_outcome(reason)) {
		fail_msg("exit reason %u (%s): outcome %d, expected %d", reason,
			 exit_reason_name(reason), got, expected_outcome(reason));
	}
	if (got == OUTCOME_STOPPED) {
		assert_stop_names_exit(reason);
		assert_stopped_with(test_partition.stop_reason);
	}
}

/** Every basic reason has a handler: the table has no hole. */
static void test_dispatch_table_has_handler_for_every_reason(void **state)
{
	for (uint32_t r = 0; r < EXIT_REASON_COUNT; r++) {
		if (exit_handlers[r] == NULL) {
			fail_msg("exit reason %u (%s) has no handler", r, exit_reason_name(r));
		}
	}
}

/** Each reason is handled as designed, or stops the partition naming it. */
static void test_dispatch_every_reason_handled_or_diagnosed(void **state)
{
	for (uint32_t r = 0; r < EXIT_REASON_COUNT; r++) {
		sweep_one_reason(r);
	}
}

/** VMX instructions: #UD (no error code), RIP stays on the instruction. */
static void test_dispatch_vmx_instructions_inject_ud(void **state)
{
	static const uint32_t vmx_reasons[] = {
		EXIT_REASON_VMCLEAR, EXIT_REASON_VMLAUNCH, EXIT_REASON_VMPTRLD,
		EXIT_REASON_VMPTRST, EXIT_REASON_VMREAD, EXIT_REASON_VMRESUME,
		EXIT_REASON_VMWRITE, EXIT_REASON_VMXOFF, EXIT_REASON_VMXON,
		EXIT_REASON_INVEPT, EXIT_REASON_INVVPID, EXIT_REASON_VMFUNC,
	};
	struct vcpu *vcpu = *state;

	for (size_t i = 0; i < ARRAY_SIZE(vmx_reasons); i++) {
		vmcs_write32(VMCS_ENTRY_INTERRUPTION_INFO, 0);
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, T_BLOCKING_STI);
		assert_int_equal(run_exit(vcpu, vmx_reasons[i], 0), EXIT_RESUME);
		assert_int_equal(injected_event(), T_INJECT_UD);
		assert_int_equal(guest_rip(), TEST_RIP);
		/* The instruction did not complete: its STI blocking stays. */
		assert_int_equal(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY), T_BLOCKING_STI);
	}
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** CPUID, VMCALL and I/O exits are handled and move RIP on. */
static void test_dispatch_cpuid_vmcall_io_handled(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rax = TESSERA_CPUID_LEAF_BASE;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_CPUID, 0));
	vcpu->regs.rax = TESSERA_HC_VERSION;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_VMCALL, 0));
	assert_int_equal(vcpu->regs.rbx, TESSERA_HC_ABI_VERSION);
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_IO_INSTRUCTION,
				     (uint64_t)UNCLAIMED_PORT << 16));
}

/** A triple fault stops the partition with its qualification and RIP. */
static void test_dispatch_triple_fault_stops_partition(void **state)
{
	assert_int_equal(run_exit(*state, EXIT_REASON_TRIPLE_FAULT, 0x2a), EXIT_STOPPED);
	assert_stopped_with("TRIPLE_FAULT (exit reason 2), qualification 0x2a, guest rip 0x7c00");
}

/** RDMSR and WRMSR inject #GP with error code 0 and leave RIP alone. */
static void test_dispatch_msr_access_injects_gp0(void **state)
{
	static const uint32_t reasons[] = { EXIT_REASON_RDMSR, EXIT_REASON_WRMSR };
	struct vcpu *vcpu = *state;

	for (size_t i = 0; i < ARRAY_SIZE(reasons); i++) {
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR, 0xdead);
		vcpu->regs.rax = 0x1111;
		vcpu->regs.rcx = 0xc0000080;
		vcpu->regs.rdx = 0x2222;
		assert_int_equal(run_exit(vcpu, reasons[i], 0), EXIT_RESUME);
		assert_int_equal(injected_event(), T_INJECT_GP_EC);
		assert_int_equal(vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR), 0);
		assert_int_equal(guest_rip(), TEST_RIP);
		assert_int_equal(vcpu->regs.rax, 0x1111);
		assert_int_equal(vcpu->regs.rdx, 0x2222);
	}
}

/** HLT with interrupts off can never wake: the partition stops. */
static void test_dispatch_hlt_with_interrupts_disabled_stops(void **state)
{
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RFLAGS_RESERVED);
	assert_int_equal(run_exit(*state, EXIT_REASON_HLT, 0), EXIT_STOPPED);
	assert_stopped_with("halted with interrupts disabled at guest rip 0x7c00");
}

/** HLT with interrupts on halts only this vCPU and yields. */
static void test_dispatch_hlt_with_interrupts_enabled_halts_vcpu(void **state)
{
	struct vcpu *vcpu = *state;

	vmcs_writel(VMCS_GUEST_RFLAGS, T_RFLAGS_RESERVED | T_RFLAGS_IF);
	assert_int_equal(run_exit(vcpu, EXIT_REASON_HLT, 0), EXIT_RESCHEDULE);
	assert_int_equal(vcpu->state, VCPU_HALTED);
	assert_int_equal(test_partition.vcpus[1].state, VCPU_RUNNABLE);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
	assert_int_equal(guest_rip(), NEXT_RIP);
	assert_int_equal(injected_event(), 0);
}

/** Runs one EPT violation and checks the exact stop reason. */
static void check_ept_violation(uint64_t qualification, const char *expected)
{
	struct vcpu *vcpu = &test_partition.vcpus[0];

	reset_partition();
	vmcs_write64(VMCS_GUEST_PHYSICAL_ADDRESS, 0xfee00030ULL);
	assert_int_equal(run_exit(vcpu, EXIT_REASON_EPT_VIOLATION, qualification), EXIT_STOPPED);
	assert_stopped_with(expected);
}

/** An EPT violation names the access, the guest-physical address and RIP. */
static void test_dispatch_ept_violation_names_gpa_access_rip(void **state)
{
	check_ept_violation(0x181, "EPT_VIOLATION: read of gpa 0xfee00030 at guest rip 0x7c00");
	check_ept_violation(0x182, "EPT_VIOLATION: write of gpa 0xfee00030 at guest rip 0x7c00");
	check_ept_violation(0x183, "EPT_VIOLATION: write of gpa 0xfee00030 at guest rip 0x7c00");
	check_ept_violation(0x084, "EPT_VIOLATION: instruction fetch of gpa 0xfee00030 "
			    "at guest rip 0x7c00");
}

/** An exit nobody emulates (RDPMC) stops the partition naming it. */
static void test_dispatch_unhandled_rdpmc_stops_naming_it(void **state)
{
	assert_int_equal(run_exit(*state, EXIT_REASON_RDPMC, 0), EXIT_STOPPED);
	assert_stopped_with("RDPMC (exit reason 15), qualification 0x0, guest rip 0x7c00");
}

/** A VM-entry failure (bit 31) is reported as such, not as the handler. */
static void test_dispatch_entry_failure_guest_state_stops(void **state)
{
	struct vcpu *vcpu = *state;
	uint32_t full = EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_ENTRY_FAIL_GUEST_STATE;

	assert_int_equal(run_exit(vcpu, full, 0), EXIT_STOPPED);
	assert_stopped_with("VM-entry failed: ENTRY_FAIL_GUEST_STATE (exit reason 33), "
			    "qualification 0x0, guest rip 0x7c00");
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_ENTRY_FAIL_GUEST_STATE], 1);
}

/** Entry failure with bit 31 over a reason that has a handler (CPUID). */
static void test_dispatch_entry_failure_bit_wins_over_handler(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rax = 0;
	assert_int_equal(run_exit(vcpu, EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_CPUID, 0),
			 EXIT_STOPPED);
	assert_stopped_with("VM-entry failed: CPUID (exit reason 10), qualification 0x0, "
			    "guest rip 0x7c00");
	assert_int_equal(guest_rip(), TEST_RIP);
}

/** A VMfail with a valid VMCS names the VM-instruction error and RIP. */
static void test_entry_vmfail_names_instruction_error(void **state)
{
	vmcs_write32(VMCS_INSTRUCTION_ERROR, 7);
	vmcs_writel(VMCS_GUEST_RIP, TEST_RIP);
	exit_report_entry_failure(*state, true);
	assert_stopped_with("VM-entry failed: VM-instruction error 7 "
			    "(VM entry with invalid control field(s)), guest rip 0x7c00");
}

/** A VMfail without a current VMCS reads nothing from it. */
static void test_entry_vmfail_without_vmcs(void **state)
{
	exit_report_entry_failure(*state, false);
	assert_stopped_with("VM-entry failed: no valid current VMCS");
}

/** Reasons past the table stop the partition; nothing is indexed with them. */
static void test_dispatch_reason_beyond_table_stops(void **state)
{
	struct vcpu *vcpu = *state;
	uint64_t counted = 0;

	assert_int_equal(run_exit(vcpu, EXIT_REASON_COUNT, 0), EXIT_STOPPED);
	assert_stopped_with("UNKNOWN (exit reason 86), qualification 0x0, guest rip 0x7c00");
	reset_partition();
	assert_int_equal(run_exit(vcpu, 0xffff, 0), EXIT_STOPPED);
	assert_stopped_with("UNKNOWN (exit reason 65535), qualification 0x0, guest rip 0x7c00");
	for (uint32_t r = 0; r < EXIT_REASON_COUNT; r++) {
		counted += vcpu->exits_by_reason[r];
	}
	assert_int_equal(counted, 0);
	assert_int_equal(vcpu->exit_count, 1);
}

/** Flag bits above the basic reason do not change which handler runs. */
static void test_dispatch_ignores_flag_bits_above_basic_reason(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rax = TESSERA_CPUID_LEAF_VERSION;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_BUS_LOCK_DETECTED | EXIT_REASON_CPUID, 0));
	assert_int_equal(vcpu->regs.rax, TESSERA_HC_ABI_VERSION);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_CPUID], 1);
}

/** An external interrupt is acknowledged with an EOI and yields. */
static void test_dispatch_external_interrupt_eoi_and_reschedule(void **state)
{
	assert_int_equal(run_exit(*state, EXIT_REASON_EXTERNAL_INTERRUPT, 0), EXIT_RESCHEDULE);
	assert_int_equal(fake_lapic_eoi_count, 1);
	assert_int_equal(guest_rip(), TEST_RIP);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** An NMI exit is the host's NMI: handed to the host, guest resumed as is. */
static void test_dispatch_nmi_goes_to_host(void **state)
{
	vmcs_write32(VMCS_EXIT_INTERRUPTION_INFO, T_EXIT_INFO_NMI);
	assert_int_equal(run_exit(*state, EXIT_REASON_EXCEPTION_NMI, 0), EXIT_RESUME);
	assert_int_equal(fake_host_nmi_count, 1);
	assert_int_equal(guest_rip(), TEST_RIP);
	assert_int_equal(injected_event(), 0);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** A guest exception exit (none is expected) stops the partition. */
static void test_dispatch_exception_exit_stops_partition(void **state)
{
	vmcs_write32(VMCS_EXIT_INTERRUPTION_INFO, T_EXIT_INFO_PF);
	assert_int_equal(run_exit(*state, EXIT_REASON_EXCEPTION_NMI, 0x1000), EXIT_STOPPED);
	assert_stopped_with("EXCEPTION_NMI (exit reason 0), qualification 0x1000, guest rip 0x7c00");
	assert_int_equal(fake_host_nmi_count, 0);
}

/** Total and per-reason counters of the vCPU that exited, and only it. */
static void test_dispatch_counts_exits_per_reason_and_total(void **state)
{
	struct vcpu *vcpu = *state;

	for (int i = 0; i < 3; i++) {
		vcpu->regs.rax = 0;
		run_exit(vcpu, EXIT_REASON_CPUID, 0);
	}
	run_exit(vcpu, EXIT_REASON_RDMSR, 0);
	run_exit(vcpu, EXIT_REASON_WRMSR, 0);
	run_exit(vcpu, EXIT_REASON_IO_INSTRUCTION, (uint64_t)UNCLAIMED_PORT << 16);
	assert_int_equal(vcpu->exit_count, 6);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_CPUID], 3);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_RDMSR], 1);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_WRMSR], 1);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_IO_INSTRUCTION], 1);
	assert_int_equal(vcpu->exits_by_reason[EXIT_REASON_HLT], 0);
	assert_int_equal(test_partition.vcpus[1].exit_count, 0);
	assert_int_equal(test_partition.vcpus[1].exits_by_reason[EXIT_REASON_CPUID], 0);
}

/** Counts occurrences of needle in the captured console text. */
static unsigned int count_captured(const char *needle)
{
	unsigned int n = 0;

	for (const char *s = strstr(captured.text, needle); s != NULL; s = strstr(s + 1, needle)) {
		n++;
	}
	return n;
}

/** The first stop reason stays; later stops neither overwrite nor log. */
static void test_dispatch_first_stop_reason_kept(void **state)
{
	static const char first[] =
		"TRIPLE_FAULT (exit reason 2), qualification 0x0, guest rip 0x7c00";
	struct vcpu *vcpu = *state;

	run_exit(vcpu, EXIT_REASON_TRIPLE_FAULT, 0);
	assert_int_equal(run_exit(vcpu, EXIT_REASON_RDPMC, 0), EXIT_STOPPED);
	vcpu->regs.rax = TESSERA_HC_STOP;
	vcpu->regs.rbx = 7;
	run_exit(vcpu, EXIT_REASON_VMCALL, 0);
	partition_stop(&test_partition, "a later reason");
	assert_stopped_with(first);
	assert_int_equal(count_captured(" stopped: "), 1);
}

/** Advancing RIP ends STI and MOV SS blocking but keeps NMI blocking. */
static void test_dispatch_advance_rip_ends_sti_blocking(void **state)
{
	struct vcpu *vcpu = *state;

	vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY, T_BLOCKING_STI | T_BLOCKING_MOV_SS | T_BLOCKING_NMI);
	vcpu->regs.rax = 0;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_CPUID, 0));
	assert_int_equal(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY), T_BLOCKING_NMI);
}

/* ------------------------------------------------------------------------
 * CPUID
 * ------------------------------------------------------------------------ */

/** Runs CPUID for leaf/subleaf with garbage in every upper half. */
static void run_cpuid(struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf)
{
	vcpu->regs.rax = 0xdeadbeef00000000ULL | leaf;
	vcpu->regs.rbx = 0xfeedfacecafef00dULL;
	vcpu->regs.rcx = 0xabad1dea00000000ULL | subleaf;
	vcpu->regs.rdx = 0x0123456789abcdefULL;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_CPUID, 0));
}

/** Asserts the four result registers, each zero-extended. */
static void assert_cpuid_regs(const struct vcpu *vcpu, uint32_t eax, uint32_t ebx,
			      uint32_t ecx, uint32_t edx)
{
	assert_int_equal(vcpu->regs.rax, (uint64_t)eax);
	assert_int_equal(vcpu->regs.rbx, (uint64_t)ebx);
	assert_int_equal(vcpu->regs.rcx, (uint64_t)ecx);
	assert_int_equal(vcpu->regs.rdx, (uint64_t)edx);
}

/** Leaf 0x40000000: the highest leaf and the signature "TesseraHV". */
static void test_cpuid_hypervisor_leaf_gives_signature(void **state)
{
	struct vcpu *vcpu = *state;
	uint32_t regs[3];
	char signature[12];

	run_cpuid(vcpu, 0x40000000, 0);
	assert_cpuid_regs(vcpu, TESSERA_CPUID_LEAF_MAX, TESSERA_CPUID_SIGNATURE_EBX,
			  TESSERA_CPUID_SIGNATURE_ECX, TESSERA_CPUID_SIGNATURE_EDX);
	assert_int_equal(vcpu->regs.rax, 0x40000010);
	regs[0] = (uint32_t)vcpu->regs.rbx;
	regs[1] = (uint32_t)vcpu->regs.rcx;
	regs[2] = (uint32_t)vcpu->regs.rdx;
	memcpy(signature, regs, sizeof(signature));
	assert_memory_equal(signature, "TesseraHV\0\0\0", 12);
	assert_memory_equal(signature, TESSERA_CPUID_SIGNATURE, strlen(TESSERA_CPUID_SIGNATURE));
}

/** Leaf 0x40000001: the ABI version in EAX, the rest zero. */
static void test_cpuid_abi_version_leaf(void **state)
{
	run_cpuid(*state, 0x40000001, 0);
	assert_cpuid_regs(*state, TESSERA_HC_ABI_VERSION, 0, 0, 0);
	assert_int_equal(TESSERA_HC_ABI_VERSION, 1);
}

/** Leaf 0x40000010: TSC and APIC timer clock in kHz (the fake TSC runs at 1 GHz). */
static void test_cpuid_timing_leaf(void **state)
{
	run_cpuid(*state, 0x40000010, 0);
	assert_cpuid_regs(*state, 1000000, 1000000, 0, 0);
}

/** Leaves 15H and 16H: the TSC is its own crystal; base and maximum in MHz. */
static void test_cpuid_frequency_leaves(void **state)
{
	run_cpuid(*state, 0x15, 0);
	assert_cpuid_regs(*state, 1, 1, 1000000000, 0);
	run_cpuid(*state, 0x16, 0);
	assert_cpuid_regs(*state, 1000, 1000, 0, 0);
}

/** Unassigned hypervisor leaves 0x40000002..0x4fffffff read as zero. */
static void test_cpuid_unassigned_hypervisor_leaves_zero(void **state)
{
	static const uint32_t leaves[] = { 0x40000002, 0x40000003, 0x4000000f, 0x40000011,
					   0x40000100, 0x4000ffff, 0x4fffffff };

	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		run_cpuid(*state, leaves[i], 0);
		assert_cpuid_regs(*state, 0, 0, 0, 0);
	}
}

/*
 * Leaf 1 bits the policy hides, written out from the SDM (Vol. 2A, Table
 * 3-10/3-11): ECX DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2, xTPR, PDCM,
 * x2APIC, TSC-deadline, and OSXSAVE (it mirrors the guest's CR4, 0 here);
 * EDX DS, ACPI thermal, TM, PBE.
 */
#define T_LEAF1_ECX_HIDDEN 0x0800c1fcU
#define T_LEAF1_EDX_HIDDEN 0xa0604080U
/* Offered whatever the host has: x2APIC and TSC-deadline (ECX), APIC (EDX), all virtual. */
#define T_LEAF1_ECX_OFFERED 0x01200000U
#define T_LEAF1_EDX_APIC    0x00000200U

/** Dispatches a CPUID exit for leaf/subleaf while the host CPUID is faked. */
static enum exit_result run_cpuid_faked(struct vcpu *vcpu, uint32_t leaf, uint32_t subleaf)
{
	enum exit_result result;

	if (!fake_cpuid_start()) {
		skip(); /* no CPUID faulting here: the host cannot be faked */
	}
	vcpu->regs.rax = 0xffffffff00000000ULL | leaf;
	vcpu->regs.rbx = 0x00000000ffffffffULL;
	vcpu->regs.rcx = 0xffffffff00000000ULL | subleaf;
	/* No cmocka assertion in here: a failure must not leave CPUID trapping. */
	result = run_exit(vcpu, EXIT_REASON_CPUID, 0);
	fake_cpuid_stop();
	return result;
}

/** Leaf 1 from a faked host with VMX and without the hypervisor bit. */
static void test_cpuid_leaf1_fixed_whatever_host_says(void **state)
{
	static const struct cpuid_result hosts[] = {
		{ 0x000906ea, 0x01100800, 0x7ffefbff, 0xbfebfbff },
		{ 0x00000001, 0x00000002, 0xffffffff, 0x00000004 },
		{ 0x00050654, 0xff000000, 0x00000000, 0x00000000 },
	};
	struct vcpu *vcpu = *state;

	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
		const struct cpuid_result *h = &hosts[i];

		fake_host_leaf1 = *h;
		assert_resumed_past(run_cpuid_faked(vcpu, 1, 0));
		assert_int_equal(fake_host_cpuid_count, 2); /* leaf 0 for the last leaf, then 1 */
		assert_cpuid_regs(vcpu, h->eax, (h->ebx & 0xffffU) | (2U << 16),
				  (h->ecx & ~T_LEAF1_ECX_HIDDEN) | 0x80000000U | T_LEAF1_ECX_OFFERED,
				  (h->edx & ~T_LEAF1_EDX_HIDDEN) | T_LEAF1_EDX_APIC);
	}
}

/** A host whose last basic leaf is 0xd: the guest sees 0x16, and zeros in between. */
static void test_cpuid_basic_leaves_past_host_max(void **state)
{
	struct vcpu *vcpu = *state;

	fake_host_max_leaf = 0xd;
	assert_resumed_past(run_cpuid_faked(vcpu, 0, 0));
	assert_int_equal(vcpu->regs.rax, 0x16);
	assert_resumed_past(run_cpuid_faked(vcpu, 0x10, 0));
	assert_cpuid_regs(vcpu, 0, 0, 0, 0);
	assert_resumed_past(run_cpuid_faked(vcpu, 0x15, 0));
	assert_cpuid_regs(vcpu, 1, 1, 1000000000, 0);
	fake_host_max_leaf = 0x1f;
}

/** Tessera's own leaves are answered without asking the host. */
static void test_cpuid_hypervisor_leaves_not_forwarded_to_host(void **state)
{
	static const uint32_t leaves[] = { 0x40000000, 0x40000001, 0x40000002, 0x4fffffff };
	struct vcpu *vcpu = *state;

	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		assert_resumed_past(run_cpuid_faked(vcpu, leaves[i], 0));
		assert_int_equal(fake_host_cpuid_count, 0);
	}
	assert_int_equal(vcpu->regs.rax, 0);
}

/**
 * Other leaves go to the host with the guest's leaf and sub-leaf; a basic
 * one after asking for the host's last basic leaf, and none past it.
 */
static void test_cpuid_other_leaves_forwarded_with_subleaf(void **state)
{
	static const uint32_t basic[][2] = { { 7, 1 }, { 0xd, 1 }, { 0x14, 2 } };
	static const uint32_t other[][2] = { { 0x50000000, 0 }, { 0x80000008, 0 } };
	struct vcpu *vcpu = *state;

	for (size_t i = 0; i < ARRAY_SIZE(basic); i++) {
		assert_resumed_past(run_cpuid_faked(vcpu, basic[i][0], basic[i][1]));
		assert_int_equal(fake_host_cpuid_count, 2);
		assert_cpuid_regs(vcpu, basic[i][0], basic[i][1], FAKE_HOST_ECX, FAKE_HOST_EDX);
	}
	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		assert_resumed_past(run_cpuid_faked(vcpu, other[i][0], other[i][1]));
		assert_int_equal(fake_host_cpuid_count, 1);
		assert_cpuid_regs(vcpu, other[i][0], other[i][1], FAKE_HOST_ECX, FAKE_HOST_EDX);
	}
	assert_resumed_past(run_cpuid_faked(vcpu, 0x3fffffff, 9));
	assert_cpuid_regs(vcpu, 0, 0, 0, 0);
	assert_resumed_past(run_cpuid_faked(vcpu, 0, 0));
	assert_cpuid_regs(vcpu, 0x1f, 0, FAKE_HOST_ECX, FAKE_HOST_EDX);
}

/** Leaf 4 keeps the host's cache data but counts the partition's cores. */
static void test_cpuid_leaf4_counts_partition_cores(void **state)
{
	struct vcpu *vcpu = *state;

	assert_resumed_past(run_cpuid_faked(vcpu, 4, 3));
	assert_int_equal(fake_host_cpuid_count, 2);
	/* The fake host answers EAX = leaf; bits 31:26 = vCPUs - 1 = 1. */
	assert_cpuid_regs(vcpu, 4 | (1U << 26), 3, FAKE_HOST_ECX, FAKE_HOST_EDX);
}

/** Leaf 1 as the real host answers it, VMX hidden and "hypervisor" set. */
static void test_cpuid_leaf1_hides_vmx_sets_hypervisor(void **state)
{
	struct vcpu *vcpu = *state;
	struct cpuid_result host = cpu_cpuid(1, 0);
	/* EBX[31:24] is the APIC ID of whichever CPU the test runs on. */
	uint32_t ebx_mask = 0x00ffffff;

	run_cpuid(vcpu, 1, 0);
	assert_int_equal(vcpu->regs.rcx & (1U << 5), 0);
	assert_int_equal(vcpu->regs.rcx & (1ULL << 31), 1ULL << 31);
	assert_int_equal(vcpu->regs.rcx,
			 (host.ecx & ~T_LEAF1_ECX_HIDDEN) | (1U << 31) | T_LEAF1_ECX_OFFERED);
	assert_int_equal(vcpu->regs.rax, host.eax);
	assert_int_equal(vcpu->regs.rbx & ebx_mask, (host.ebx & 0xffffU) | (2U << 16));
	assert_int_equal(vcpu->regs.rbx >> 24, 0); /* vCPU 0's APIC ID */
	assert_int_equal(vcpu->regs.rdx, (host.edx & ~T_LEAF1_EDX_HIDDEN) | T_LEAF1_EDX_APIC);
}

/**
 * Leaf 0 passes the host's vendor through, zero-extended; its highest leaf
 * is at least 0x16, the TSC frequency leaf Tessera always answers.
 */
static void test_cpuid_other_leaves_pass_through(void **state)
{
	struct vcpu *vcpu = *state;
	struct cpuid_result host = cpu_cpuid(0, 0);

	run_cpuid(vcpu, 0, 0);
	assert_cpuid_regs(vcpu, host.eax > 0x16 ? host.eax : 0x16, host.ebx, host.ecx, host.edx);
}

/* ------------------------------------------------------------------------
 * Port I/O
 * ------------------------------------------------------------------------ */

/** An I/O exit qualification: size in bytes, direction, string, port. */
static uint64_t io_qual(uint16_t port, unsigned int size, bool in, bool string)
{
	return (uint64_t)(size - 1) | (in ? T_IO_IN : 0) | (string ? T_IO_STRING : 0) |
	       ((uint64_t)port << 16);
}

/** OUT of size bytes of value to port; must resume past the instruction. */
static void io_out(struct vcpu *vcpu, uint16_t port, unsigned int size, uint64_t value)
{
	vcpu->regs.rax = value;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_IO_INSTRUCTION,
				     io_qual(port, size, false, false)));
}

/** IN of size bytes from port with RAX preset; returns the new RAX. */
static uint64_t io_in(struct vcpu *vcpu, uint16_t port, unsigned int size, uint64_t rax)
{
	vcpu->regs.rax = rax;
	assert_resumed_past(run_exit(vcpu, EXIT_REASON_IO_INSTRUCTION,
				     io_qual(port, size, true, false)));
	return vcpu->regs.rax;
}

/** Writes a string to THR one OUT at a time. */
static void io_out_string(struct vcpu *vcpu, const char *text)
{
	for (const char *c = text; *c != '\0'; c++) {
		io_out(vcpu, 0x3f8, 1, 0xffffff00ULL | (uint8_t)*c);
	}
}

/** Bytes written to THR become "NAME: text" lines on the console. */
static void test_io_out_to_com1_emits_console_line(void **state)
{
	struct vcpu *vcpu = *state;

	io_out_string(vcpu, "ok");
	assert_int_equal(captured.length, 0);
	io_out_string(vcpu, "\r\nsecond line\n");
	assert_string_equal(captured.text, "guest-a: ok\nguest-a: second line\n");
	assert_int_equal(test_partition.uart.bytes_written, 16);
}

/** A 16-bit OUT writes its two bytes to two consecutive ports. */
static void test_io_out_word_splits_across_ports(void **state)
{
	struct vcpu *vcpu = *state;

	io_out(vcpu, 0x3f8, 2, 0x0f41);
	assert_int_equal(test_partition.uart.ier, 0x0f);
	assert_int_equal(test_partition.uart.line_length, 1);
	assert_int_equal(test_partition.uart.line[0], 'A');
	assert_int_equal(io_in(vcpu, 0x3f9, 1, 0), 0x0f);
}

/** An OUT to a port no device claims is dropped. */
static void test_io_out_to_unclaimed_port_dropped(void **state)
{
	struct vcpu *vcpu = *state;

	io_out(vcpu, UNCLAIMED_PORT, 4, 0x0a0a0a0a);
	io_out(vcpu, 0x2f8, 1, '\n');
	assert_int_equal(captured.length, 0);
	assert_int_equal(test_partition.uart.bytes_written, 0);
}

/** IN from an unclaimed port: all ones, merged as the operand size says. */
static void test_io_in_unclaimed_port_all_ones(void **state)
{
	struct vcpu *vcpu = *state;
	uint64_t rax = 0x1122334455667788ULL;

	assert_int_equal(io_in(vcpu, UNCLAIMED_PORT, 1, rax), 0x11223344556677ffULL);
	assert_int_equal(io_in(vcpu, UNCLAIMED_PORT, 2, rax), 0x112233445566ffffULL);
	assert_int_equal(io_in(vcpu, UNCLAIMED_PORT, 4, rax), 0x00000000ffffffffULL);
}

/** IN from LSR: transmitter holding register and shift register empty. */
static void test_io_in_lsr_shows_transmitter_empty(void **state)
{
	struct vcpu *vcpu = *state;

	assert_int_equal(io_in(vcpu, 0x3fd, 1, 0xaabbccddeeff0011ULL), 0xaabbccddeeff0060ULL);
}

/** A 32-bit IN at 0x3fc reads MCR, LSR, MSR and SCR, one byte each. */
static void test_io_in_dword_reads_four_ports(void **state)
{
	struct vcpu *vcpu = *state;

	io_out(vcpu, 0x3fc, 1, 0x03); /* MCR: DTR | RTS */
	io_out(vcpu, 0x3ff, 1, 0x5a); /* SCR */
	assert_int_equal(io_in(vcpu, 0x3fc, 4, ~0ULL), 0x5ab06003ULL);
}

/** Sets up an INS/OUTS exit: linear address, address size, RFLAGS.DF. */
static enum exit_result string_io(struct vcpu *vcpu, uint16_t port, unsigned int size, bool in,
				  bool rep, uint64_t linear, unsigned int address_size, bool df)
{
	vmcs_writel(VMCS_GUEST_LINEAR_ADDRESS, linear);
	vmcs_write32(VMCS_EXIT_INSTRUCTION_INFO, address_size << 7);
	vmcs_writel(VMCS_GUEST_RFLAGS, T_RFLAGS_RESERVED | (df ? (1ULL << 10) : 0));
	return run_exit(vcpu, EXIT_REASON_IO_INSTRUCTION,
			io_qual(port, size, in, true) | (rep ? (1U << 5) : 0));
}

/** Guest RAM at gpa as a host pointer. */
static uint8_t *ram_at(uint64_t gpa)
{
	return partition_gpa_to_ptr(&test_partition, gpa_init(gpa), 1);
}

/** OUTS and REP OUTSB send guest memory to the UART; RSI, RCX and RIP follow. */
static void test_io_outs_from_ram_to_com1(void **state)
{
	struct vcpu *vcpu = *state;

	memcpy(ram_at(0x100000), "hi\n", 3);
	vcpu->regs.rsi = 0x100000;
	assert_resumed_past(string_io(vcpu, 0x3f8, 1, false, false, 0x100000, 1, false));
	assert_int_equal(vcpu->regs.rsi, 0x100001);
	vcpu->regs.rcx = 2;
	assert_resumed_past(string_io(vcpu, 0x3f8, 1, false, true, 0x100001, 1, false));
	assert_string_equal(captured.text, "guest-a: hi\n");
	assert_int_equal(vcpu->regs.rsi, 0x100003);
	assert_int_equal(vcpu->regs.rcx, 0);
}

/** REP INSB/INSW fill memory from a port, forward and (DF = 1) backward. */
static void test_io_rep_ins_both_directions(void **state)
{
	struct vcpu *vcpu = *state;

	memset(ram_at(0x100000), 0, 16);
	vcpu->regs.rdi = 0x100000;
	vcpu->regs.rcx = 4;
	assert_resumed_past(string_io(vcpu, UNCLAIMED_PORT, 1, true, true, 0x100000, 1, false));
	assert_memory_equal(ram_at(0x100000), "\xff\xff\xff\xff\0", 5);
	assert_int_equal(vcpu->regs.rdi, 0x100004);
	vcpu->regs.rdi = 0x10000a;
	vcpu->regs.rcx = 2;
	assert_resumed_past(string_io(vcpu, UNCLAIMED_PORT, 2, true, true, 0x10000a, 1, true));
	assert_memory_equal(ram_at(0x100008), "\xff\xff\xff\xff\0", 5);
	assert_int_equal(vcpu->regs.rdi, 0x100006);
	assert_int_equal(vcpu->regs.rcx, 0);
}

/** With a 16-bit address size only the low 16 bits of RCX and RSI change. */
static void test_io_string_16bit_address_size(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rsi = 0xabcd0000ULL | 0x2000;
	vcpu->regs.rcx = 0x55550002ULL;
	assert_resumed_past(string_io(vcpu, UNCLAIMED_PORT, 1, false, true, 0x2000, 0, false));
	assert_int_equal(vcpu->regs.rcx, 0x55550000ULL);
	assert_int_equal(vcpu->regs.rsi, 0xabcd2002ULL);
}

/** A long REP moves a batch per exit and runs again for the rest. */
static void test_io_long_rep_resumes(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rsi = 0x100000;
	vcpu->regs.rcx = 1000;
	assert_int_equal(string_io(vcpu, UNCLAIMED_PORT, 1, false, true, 0x100000, 1, false),
			 EXIT_RESUME);
	assert_int_equal(vcpu->regs.rcx, 1000 - 512);
	assert_int_equal(vcpu->regs.rsi, 0x100000 + 512);
	assert_int_equal(guest_rip(), TEST_RIP);
}

/** String I/O that reaches memory that is not RAM stops the partition. */
static void test_io_string_outside_ram_stops(void **state)
{
	struct vcpu *vcpu = *state;

	vcpu->regs.rsi = 0xc0000000;
	assert_int_equal(string_io(vcpu, 0x3f8, 1, false, false, 0xc0000000, 1, false),
			 EXIT_STOPPED);
	assert_stopped_with("string I/O on port 0x3f8 reached memory that is not RAM at linear "
			    "0xc0000000, guest rip 0x7c00");
	assert_int_equal(test_partition.uart.bytes_written, 0);
}

/** A not-present page raises #PF with CR2; nothing moves, RIP stays. */
static void test_io_string_page_fault(void **state)
{
	struct vcpu *vcpu = *state;

	memset(ram_at(0x200000), 0, PAGE_SIZE); /* an empty 32-bit page directory */
	vmcs_writel(VMCS_GUEST_CR3, 0x200000);
	vmcs_writel(VMCS_GUEST_CR0, T_CR0_PE | T_CR0_PG);
	vcpu->regs.rsi = 0x400000;
	assert_int_equal(string_io(vcpu, 0x3f8, 1, false, false, 0x400000, 1, false), EXIT_RESUME);
	assert_int_equal(vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO), 0x80000b0eU);
	assert_int_equal(vmcs_read32(VMCS_ENTRY_EXCEPTION_ERROR), 0);
	assert_int_equal(vcpu->regs.cr2, 0x400000);
	assert_int_equal(vcpu->regs.rsi, 0x400000);
	assert_int_equal(guest_rip(), TEST_RIP);
}

/* ------------------------------------------------------------------------
 * VMCALL
 * ------------------------------------------------------------------------ */

/** Issues a VMCALL with the given registers. */
static enum exit_result vmcall(struct vcpu *vcpu, uint64_t rax, uint64_t rbx, uint64_t rcx)
{
	vcpu->regs.rax = rax;
	vcpu->regs.rbx = rbx;
	vcpu->regs.rcx = rcx;
	vcpu->regs.rdx = 0x5555;
	vcpu->regs.rsi = 0x6666;
	return run_exit(vcpu, EXIT_REASON_VMCALL, 0);
}

/** A VMCALL that must complete with status in RAX and RIP advanced. */
static void vmcall_expect(struct vcpu *vcpu, uint64_t rax, uint64_t rbx, uint64_t rcx,
			  uint64_t status)
{
	assert_resumed_past(vmcall(vcpu, rax, rbx, rcx));
	assert_int_equal(vcpu->regs.rax, status);
}

/** Copies text into guest RAM at gpa. */
static void put_guest_bytes(uint64_t gpa, const void *bytes, size_t length)
{
	void *dest = partition_gpa_to_ptr(&test_partition, gpa_init(gpa), length);

	assert_non_null(dest);
	memcpy(dest, bytes, length);
}

/** The guest-physical end of the partition's last RAM region. */
static uint64_t ram_end(void)
{
	const struct partition_ram *last = &test_partition.ram[test_partition.ram_count - 1];

	return gpa_addr(last->gpa) + last->size;
}

/* 32-bit statuses: the negative errors as EAX holds them. */
#define EAX_ENOSYS 0xffffffffULL
#define EAX_EINVAL 0xfffffffeULL
#define EAX_EFAULT 0xfffffffdULL

/** VERSION: status 0 and the ABI version in EBX. */
static void test_vmcall_version(void **state)
{
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, TESSERA_HC_VERSION, 0x77, 0x88, 0);
	assert_int_equal(vcpu->regs.rbx, 1);
	assert_int_equal(vcpu->regs.rcx, 0x88);
	assert_int_equal(vcpu->regs.rdx, 0x5555);
	assert_int_equal(vcpu->regs.rsi, 0x6666);
}

/** PARTITION_INFO: id, vCPU count and RAM in MiB. */
static void test_vmcall_partition_info(void **state)
{
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, TESSERA_HC_PARTITION_INFO, ~0ULL, ~0ULL, 0);
	assert_int_equal(vcpu->regs.rbx, PART_ID);
	assert_int_equal(vcpu->regs.rcx, PART_VCPUS);
	assert_int_equal(vcpu->regs.rdx, 3);
	assert_int_equal(vcpu->regs.rsi, 0x6666);
}

/** CONSOLE_WRITE: the guest's bytes reach the console behind its name. */
static void test_vmcall_console_write_emits_line(void **state)
{
	static const char text[] = "hello from guest\n";
	struct vcpu *vcpu = *state;

	put_guest_bytes(0x1000, text, strlen(text));
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x1000, strlen(text), 0);
	assert_string_equal(captured.text, "guest-a: hello from guest\n");
	assert_int_equal(test_partition.uart.bytes_written, strlen(text));
}

/** CONSOLE_WRITE from RAM above 1 MiB (the second region). */
static void test_vmcall_console_write_from_high_region(void **state)
{
	static const char text[] = "up high\n";
	uint64_t gpa = ram_end() - strlen(text);

	put_guest_bytes(gpa, text, strlen(text));
	vmcall_expect(*state, TESSERA_HC_CONSOLE_WRITE, gpa, strlen(text), 0);
	assert_string_equal(captured.text, "guest-a: up high\n");
}

/** More than 4096 bytes is EINVAL, and nothing is written. */
static void test_vmcall_console_write_too_long_is_einval(void **state)
{
	struct vcpu *vcpu = *state;

	put_guest_bytes(0x100000, "x\n", 2);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x100000, TESSERA_HC_CONSOLE_WRITE_MAX + 1,
		      EAX_EINVAL);
	assert_int_equal(captured.length, 0);
	assert_int_equal(test_partition.uart.bytes_written, 0);
}

/** Exactly 4096 bytes is accepted. */
static void test_vmcall_console_write_max_length_accepted(void **state)
{
	vmcall_expect(*state, TESSERA_HC_CONSOLE_WRITE, 0x100000, TESSERA_HC_CONSOLE_WRITE_MAX, 0);
	assert_int_equal(test_partition.uart.bytes_written, TESSERA_HC_CONSOLE_WRITE_MAX);
}

/** A range crossing the end of a RAM region is EFAULT; one ending there is fine. */
static void test_vmcall_console_write_past_ram_end_is_efault(void **state)
{
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, ram_end() - 4, 8, EAX_EFAULT);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x9fffc, 8, EAX_EFAULT);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0xa0000, 1, EAX_EFAULT);
	assert_int_equal(test_partition.uart.bytes_written, 0);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, ram_end() - 8, 8, 0);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x9fff8, 8, 0);
	assert_int_equal(test_partition.uart.bytes_written, 16);
}

/** A range wrapping past 4 GiB is EFAULT, not a read from low RAM. */
static void test_vmcall_console_write_wrapping_4g_is_efault(void **state)
{
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0xfffffff8, 0x10, EAX_EFAULT);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0xffffffff, TESSERA_HC_CONSOLE_WRITE_MAX,
		      EAX_EFAULT);
	assert_int_equal(test_partition.uart.bytes_written, 0);
}

/** Length 0 succeeds whatever the address, and writes nothing. */
static void test_vmcall_console_write_zero_length_succeeds(void **state)
{
	vmcall_expect(*state, TESSERA_HC_CONSOLE_WRITE, 0xfffff000, 0, 0);
	assert_int_equal(captured.length, 0);
	assert_int_equal(test_partition.uart.bytes_written, 0);
}

/** An unknown call is ENOSYS; RIP moves on, other registers stay. */
static void test_vmcall_unknown_call_is_enosys(void **state)
{
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, 0x99, 0x77, 0x88, EAX_ENOSYS);
	assert_int_equal(vcpu->regs.rbx, 0x77);
	assert_int_equal(vcpu->regs.rcx, 0x88);
	vmcall_expect(vcpu, TESSERA_HC_STOP + 1, 0, 0, EAX_ENOSYS);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
}

/** A 32-bit guest: upper halves of RAX, RBX and RCX are ignored. */
static void test_vmcall_32bit_ignores_upper_halves(void **state)
{
	static const char text[] = "low\n";
	struct vcpu *vcpu = *state;

	vmcall_expect(vcpu, 0x1234567800000000ULL | TESSERA_HC_VERSION, 0, 0, 0);
	assert_int_equal(vcpu->regs.rbx, 1);
	put_guest_bytes(0x2000, text, strlen(text));
	vmcall_expect(vcpu, 0xffffffff00000000ULL | TESSERA_HC_CONSOLE_WRITE,
		      0xabcdef0100002000ULL, 0x0000000100000000ULL | strlen(text), 0);
	assert_string_equal(captured.text, "guest-a: low\n");
}

/** STOP: the partition stops with the exit code, flushing its UART. */
static void test_vmcall_stop_records_exit_code(void **state)
{
	struct vcpu *vcpu = *state;

	io_out_string(vcpu, "bye");
	assert_int_equal(vmcall(vcpu, TESSERA_HC_STOP, 42, 0), EXIT_STOPPED);
	assert_int_equal(test_partition.exit_code, 42);
	assert_stopped_with("exit code 42");
	assert_non_null(strstr(captured.text, "guest-a: bye\ntessera: partition guest-a stopped"));
}

/** VMCALL from CPL 3 is #UD, and the call is not made. */
static void test_vmcall_from_cpl3_injects_ud(void **state)
{
	struct vcpu *vcpu = *state;

	vmcs_write32(VMCS_GUEST_SS_ACCESS_RIGHTS, T_AR_DATA_DPL3);
	assert_int_equal(vmcall(vcpu, TESSERA_HC_STOP, 9, 0), EXIT_RESUME);
	assert_int_equal(injected_event(), T_INJECT_UD);
	assert_int_equal(guest_rip(), TEST_RIP);
	assert_int_equal(test_partition.state, PARTITION_RUNNING);
	assert_int_equal(test_partition.exit_code, 0);
	assert_int_equal(vcpu->regs.rax, TESSERA_HC_STOP);
	assert_int_equal(vmcall(vcpu, TESSERA_HC_VERSION, 0x77, 0), EXIT_RESUME);
	assert_int_equal(vcpu->regs.rbx, 0x77);
}

/** A 64-bit guest: full registers in, sign-extended status out. */
static void test_vmcall_64bit_uses_full_registers(void **state)
{
	static const char text[] = "long mode\n";
	struct vcpu *vcpu = *state;

	guest_mode_64bit();
	vmcall_expect(vcpu, 1ULL << 32, 0, 0, (uint64_t)(int64_t)TESSERA_HC_ENOSYS);
	assert_int_equal(vcpu->regs.rax, ~0ULL);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x100003000ULL, 4,
		      (uint64_t)(int64_t)TESSERA_HC_EFAULT);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x3000, 1ULL << 32,
		      (uint64_t)(int64_t)TESSERA_HC_EINVAL);
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0xfffffffffffffff0ULL, 0x20,
		      (uint64_t)(int64_t)TESSERA_HC_EFAULT);
	put_guest_bytes(0x3000, text, strlen(text));
	vmcall_expect(vcpu, TESSERA_HC_CONSOLE_WRITE, 0x3000, strlen(text), 0);
	assert_string_equal(captured.text, "guest-a: long mode\n");
}

/** A 64-bit STOP takes the low 32 bits of RBX as the exit code. */
static void test_vmcall_64bit_stop_uses_low_32_bits(void **state)
{
	guest_mode_64bit();
	assert_int_equal(vmcall(*state, TESSERA_HC_STOP, 0xffffffff00000003ULL, 0), EXIT_STOPPED);
	assert_int_equal(test_partition.exit_code, 3);
	assert_stopped_with("exit code 3");
}

/** Compatibility mode (LMA without CS.L) is 32-bit for the ABI. */
static void test_vmcall_compatibility_mode_is_32bit(void **state)
{
	struct vcpu *vcpu = *state;

	guest_mode_64bit();
	vmcs_write32(VMCS_GUEST_CS_ACCESS_RIGHTS, T_AR_CODE32);
	vmcall_expect(vcpu, 0xffffffff00000000ULL | TESSERA_HC_VERSION, 0, 0, 0);
	assert_int_equal(vcpu->regs.rbx, 1);
	vmcall_expect(vcpu, 0x99, 0, 0, EAX_ENOSYS);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/** Runs the exit-path tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_dispatch_table_has_handler_for_every_reason),
		TEST(test_dispatch_every_reason_handled_or_diagnosed),
		TEST(test_dispatch_vmx_instructions_inject_ud),
		TEST(test_dispatch_cpuid_vmcall_io_handled),
		TEST(test_dispatch_triple_fault_stops_partition),
		TEST(test_dispatch_msr_access_injects_gp0),
		TEST(test_dispatch_hlt_with_interrupts_disabled_stops),
		TEST(test_dispatch_hlt_with_interrupts_enabled_halts_vcpu),
		TEST(test_dispatch_ept_violation_names_gpa_access_rip),
		TEST(test_dispatch_unhandled_rdpmc_stops_naming_it),
		TEST(test_dispatch_entry_failure_guest_state_stops),
		TEST(test_dispatch_entry_failure_bit_wins_over_handler),
		TEST(test_entry_vmfail_names_instruction_error),
		TEST(test_entry_vmfail_without_vmcs),
		TEST(test_dispatch_reason_beyond_table_stops),
		TEST(test_dispatch_ignores_flag_bits_above_basic_reason),
		TEST(test_dispatch_external_interrupt_eoi_and_reschedule),
		TEST(test_dispatch_nmi_goes_to_host),
		TEST(test_dispatch_exception_exit_stops_partition),
		TEST(test_dispatch_counts_exits_per_reason_and_total),
		TEST(test_dispatch_first_stop_reason_kept),
		TEST(test_dispatch_advance_rip_ends_sti_blocking),
		TEST(test_cpuid_hypervisor_leaf_gives_signature),
		TEST(test_cpuid_abi_version_leaf),
		TEST(test_cpuid_timing_leaf),
		TEST(test_cpuid_frequency_leaves),
		TEST(test_cpuid_basic_leaves_past_host_max),
		TEST(test_cpuid_unassigned_hypervisor_leaves_zero),
		TEST(test_cpuid_leaf1_hides_vmx_sets_hypervisor),
		TEST(test_cpuid_leaf1_fixed_whatever_host_says),
		TEST(test_cpuid_hypervisor_leaves_not_forwarded_to_host),
		TEST(test_cpuid_leaf4_counts_partition_cores),
		TEST(test_cpuid_other_leaves_forwarded_with_subleaf),
		TEST(test_cpuid_other_leaves_pass_through),
		TEST(test_io_out_to_com1_emits_console_line),
		TEST(test_io_out_word_splits_across_ports),
		TEST(test_io_out_to_unclaimed_port_dropped),
		TEST(test_io_in_unclaimed_port_all_ones),
		TEST(test_io_in_lsr_shows_transmitter_empty),
		TEST(test_io_in_dword_reads_four_ports),
		TEST(test_io_outs_from_ram_to_com1),
		TEST(test_io_rep_ins_both_directions),
		TEST(test_io_string_16bit_address_size),
		TEST(test_io_long_rep_resumes),
		TEST(test_io_string_outside_ram_stops),
		TEST(test_io_string_page_fault),
		TEST(test_vmcall_version),
		TEST(test_vmcall_partition_info),
		TEST(test_vmcall_console_write_emits_line),
		TEST(test_vmcall_console_write_from_high_region),
		TEST(test_vmcall_console_write_too_long_is_einval),
		TEST(test_vmcall_console_write_max_length_accepted),
		TEST(test_vmcall_console_write_past_ram_end_is_efault),
		TEST(test_vmcall_console_write_wrapping_4g_is_efault),
		TEST(test_vmcall_console_write_zero_length_succeeds),
		TEST(test_vmcall_unknown_call_is_enosys),
		TEST(test_vmcall_32bit_ignores_upper_halves),
		TEST(test_vmcall_stop_records_exit_code),
		TEST(test_vmcall_from_cpl3_injects_ud),
		TEST(test_vmcall_64bit_uses_full_registers),
		TEST(test_vmcall_64bit_stop_uses_low_32_bits),
		TEST(test_vmcall_compatibility_mode_is_32bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
