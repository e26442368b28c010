/*
 * VM-exit reasons: the basic exit reasons of SDM Vol. 3D, Appendix C
 * ("VMX Basic Exit Reasons", Table C-1) and the layout of the 32-bit
 * exit-reason VMCS field (SDM Vol. 3C, "Basic VM-Exit Information").
 *
 * Values the SDM leaves unassigned (35, 38, 42, 71, 82, 83) have no
 * enumerator; exit_reason_name() calls them "UNKNOWN". Reasons 72-85 belong
 * to recent extensions (ENQCMD, TDX, MSRLIST, USER_MSR, MSR_IMM) and appear
 * only in recent editions; no processor Tessera targets produces them, but
 * naming them keeps a log readable should one ever arrive.
 */
#ifndef TESSERA_ARCH_X86_EXIT_REASONS_H
#define TESSERA_ARCH_X86_EXIT_REASONS_H

#include "hv/types.h"

/** Basic exit reasons: bits 15:0 of the exit-reason field. */
enum exit_reason {
	EXIT_REASON_EXCEPTION_NMI = 0,
	EXIT_REASON_EXTERNAL_INTERRUPT = 1,
	EXIT_REASON_TRIPLE_FAULT = 2,
	EXIT_REASON_INIT_SIGNAL = 3,
	EXIT_REASON_SIPI = 4,
	EXIT_REASON_IO_SMI = 5,
	EXIT_REASON_OTHER_SMI = 6,
	EXIT_REASON_INTERRUPT_WINDOW = 7,
	EXIT_REASON_NMI_WINDOW = 8,
	EXIT_REASON_TASK_SWITCH = 9,
	EXIT_REASON_CPUID = 10,
	EXIT_REASON_GETSEC = 11,
	EXIT_REASON_HLT = 12,
	EXIT_REASON_INVD = 13,
	EXIT_REASON_INVLPG = 14,
	EXIT_REASON_RDPMC = 15,
	EXIT_REASON_RDTSC = 16,
	EXIT_REASON_RSM = 17,
	EXIT_REASON_VMCALL = 18,
	EXIT_REASON_VMCLEAR = 19,
	EXIT_REASON_VMLAUNCH = 20,
	EXIT_REASON_VMPTRLD = 21,
	EXIT_REASON_VMPTRST = 22,
	EXIT_REASON_VMREAD = 23,
	EXIT_REASON_VMRESUME = 24,
	EXIT_REASON_VMWRITE = 25,
	EXIT_REASON_VMXOFF = 26,
	EXIT_REASON_VMXON = 27,
	EXIT_REASON_CR_ACCESS = 28,
	EXIT_REASON_MOV_DR = 29,
	EXIT_REASON_IO_INSTRUCTION = 30,
	EXIT_REASON_RDMSR = 31,
	EXIT_REASON_WRMSR = 32,
	EXIT_REASON_ENTRY_FAIL_GUEST_STATE = 33,
	EXIT_REASON_ENTRY_FAIL_MSR_LOADING = 34,
	EXIT_REASON_MWAIT = 36,
	EXIT_REASON_MONITOR_TRAP_FLAG = 37,
	EXIT_REASON_MONITOR = 39,
	EXIT_REASON_PAUSE = 40,
	EXIT_REASON_ENTRY_FAIL_MACHINE_CHECK = 41,
	EXIT_REASON_TPR_BELOW_THRESHOLD = 43,
	EXIT_REASON_APIC_ACCESS = 44,
	EXIT_REASON_VIRTUALIZED_EOI = 45,
	EXIT_REASON_GDTR_IDTR_ACCESS = 46,
	EXIT_REASON_LDTR_TR_ACCESS = 47,
	EXIT_REASON_EPT_VIOLATION = 48,
	EXIT_REASON_EPT_MISCONFIG = 49,
	EXIT_REASON_INVEPT = 50,
	EXIT_REASON_RDTSCP = 51,
	EXIT_REASON_PREEMPTION_TIMER = 52,
	EXIT_REASON_INVVPID = 53,
	EXIT_REASON_WBINVD = 54, /* WBINVD or WBNOINVD */
	EXIT_REASON_XSETBV = 55,
	EXIT_REASON_APIC_WRITE = 56,
	EXIT_REASON_RDRAND = 57,
	EXIT_REASON_INVPCID = 58,
	EXIT_REASON_VMFUNC = 59,
	EXIT_REASON_ENCLS = 60,
	EXIT_REASON_RDSEED = 61,
	EXIT_REASON_PML_FULL = 62,
	EXIT_REASON_XSAVES = 63,
	EXIT_REASON_XRSTORS = 64,
	EXIT_REASON_PCONFIG = 65,
	EXIT_REASON_SPP_EVENT = 66,
	EXIT_REASON_UMWAIT = 67,
	EXIT_REASON_TPAUSE = 68,
	EXIT_REASON_LOADIWKEY = 69,
	EXIT_REASON_ENCLV = 70,
	EXIT_REASON_ENQCMD_PASID_FAIL = 72,
	EXIT_REASON_ENQCMDS_PASID_FAIL = 73,
	EXIT_REASON_BUS_LOCK = 74,
	EXIT_REASON_NOTIFY = 75, /* "instruction timeout" control */
	EXIT_REASON_SEAMCALL = 76,
	EXIT_REASON_TDCALL = 77,
	EXIT_REASON_RDMSRLIST = 78,
	EXIT_REASON_WRMSRLIST = 79,
	EXIT_REASON_URDMSR = 80,
	EXIT_REASON_UWRMSR = 81,
	EXIT_REASON_RDMSR_IMM = 84,   /* RDMSR with an immediate operand */
	EXIT_REASON_WRMSRNS_IMM = 85, /* WRMSRNS with an immediate operand */

	EXIT_REASON_COUNT = 86, /* highest basic exit reason + 1 */
};

/* Bits of the full 32-bit exit-reason field. */
#define EXIT_REASON_BASIC_MASK       0x0000ffffU
/* An instruction that exited for another reason also caused a bus lock. */
#define EXIT_REASON_BUS_LOCK_DETECTED (1U << 26)
/* The VM exit happened while the guest was in enclave mode. */
#define EXIT_REASON_ENCLAVE_MODE     (1U << 27)
/* An MTF VM exit is pending behind this SMM VM exit. */
#define EXIT_REASON_PENDING_MTF      (1U << 28)
/* This SMM VM exit came from VMX root operation. */
#define EXIT_REASON_FROM_VMX_ROOT    (1U << 29)
/* VM entry failed: the rest of the guest state was not loaded. */
#define EXIT_REASON_ENTRY_FAILURE    (1U << 31)

/** The basic exit reason of a full exit-reason field. */
static inline uint32_t exit_reason_basic(uint32_t exit_reason)
{
	return exit_reason & EXIT_REASON_BASIC_MASK;
}

/**
 * Name of a basic exit reason for logs and statistics, e.g. "HLT" or
 * "EPT_VIOLATION"; "UNKNOWN" for values the SDM does not assign. Never NULL.
 */
const char *exit_reason_name(uint32_t basic_reason);

#endif /* TESSERA_ARCH_X86_EXIT_REASONS_H */
