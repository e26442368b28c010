/*
 * The state the VM-exit fast path (arch/x86/vmx_entry.S) works on. It sits
 * right after the guest registers in struct vcpu, so the exit stub reaches
 * both from the one pointer it has. The offsets are shared with the
 * assembly, hence the defines.
 *
 * The fast path answers an exit from a small cache of answers the full path
 * computed before: CPUID (keyed on leaf and sub-leaf), RDMSR of an MSR whose
 * value only a WRMSR changes, and the hypercalls whose results are
 * constants of the partition. Each answer is a pure function of its key
 * until something it depends on changes, and those changes forget it
 * (hv/exit_cache.c). A hit costs five VMREADs and VMWRITEs (VMCALL: six,
 * for the CPL) and no call; a miss, or any work pending before the next
 * entry, takes the full path. What an answer writes is fixed per reason:
 * CPUID all of EAX-EDX, RDMSR EAX and EDX, VMCALL EAX and EBX, and ECX and
 * EDX only with EXIT_CACHE_OUT_ECX | EXIT_CACHE_OUT_EDX, IN one of AL, AX
 * or EAX. Pure port reads (hv/io.c) cost a sixth VMREAD, the qualification.
 */
#ifndef TESSERA_ARCH_X86_EXIT_FAST_H
#define TESSERA_ARCH_X86_EXIT_FAST_H

#include "arch/x86/guest_regs.h"

/* The basic exit reasons the fast path serves (exit_reasons.h has them as an enum). */
#define EXIT_REASON_CPUID_ASM  10
#define EXIT_REASON_VMCALL_ASM 18
#define EXIT_REASON_RDMSR_ASM  31
#define EXIT_REASON_IO_ASM     30

/*
 * An I/O answer's key: the exit qualification's port (31:16), REP (5),
 * string (4), direction (3) and size (2:0) (SDM Table 28-5); only IN
 * without string or REP is ever stored.
 */
#define EXIT_CACHE_IO_KEY_MASK 0xffff003f

/* SS access rights: DPL, which is the CPL (SDM 24.4.1). */
#define VMX_AR_DPL_MASK_ASM 0x60

#define EXIT_CACHE_ENTRIES 16 /* a power of two: the index is masked */
#define EXIT_CACHE_ENTRY_SHIFT 6

/* Registers an answer writes (exit_cache_entry.outputs). */
#define EXIT_CACHE_OUT_EAX 1
#define EXIT_CACHE_OUT_EBX 2
#define EXIT_CACHE_OUT_ECX 4
#define EXIT_CACHE_OUT_EDX 8
/* An IN writes AL or AX (merging) or EAX (zero-extending) only. */
#define EXIT_CACHE_OUT_AL  16
#define EXIT_CACHE_OUT_AX  32

/* struct exit_cache_entry */
#define EXIT_CACHE_REASON  0
#define EXIT_CACHE_KEY     4
#define EXIT_CACHE_SUBKEY  8
#define EXIT_CACHE_OUTPUTS 12
#define EXIT_CACHE_EAX     16
#define EXIT_CACHE_EBX     20
#define EXIT_CACHE_ECX     24
#define EXIT_CACHE_EDX     28
#define EXIT_CACHE_HITS    32

/* struct exit_fast_path, as offsets from the guest registers */
#define FAST_ENTRY_WORK (GUEST_REGS_SIZE + 0)
#define FAST_CACHE      (GUEST_REGS_SIZE + 64)

#ifndef __ASSEMBLER__
#include "hv/types.h"

/** One remembered answer: the exit it is for, its key, what it writes. */
struct exit_cache_entry {
	uint32_t reason;  /* basic exit reason; 0 = empty (never served fast) */
	uint32_t key;     /* CPUID leaf, VMCALL number (EAX) or RDMSR index (ECX) */
	uint32_t subkey;  /* CPUID sub-leaf (ECX); 0 for the others */
	uint32_t outputs; /* EXIT_CACHE_OUT_*: the registers written, zero-extended */
	uint32_t eax, ebx, ecx, edx;
	uint64_t hits;    /* exits this entry answered */
	uint64_t reserved[3];
};

/** What the fast path reads and counts; follows struct guest_regs in struct vcpu. */
struct exit_fast_path {
	uint32_t entry_work;  /* VCPU_WORK_*: any bit sends exits down the full path */
	uint32_t reserved[15];
	struct exit_cache_entry cache[EXIT_CACHE_ENTRIES];
};

_Static_assert(sizeof(struct exit_cache_entry) == 1 << EXIT_CACHE_ENTRY_SHIFT,
	       "exit_cache_entry layout");
_Static_assert(__builtin_offsetof(struct exit_cache_entry, hits) == EXIT_CACHE_HITS,
	       "exit_cache_entry layout");
_Static_assert(__builtin_offsetof(struct exit_fast_path, cache) == FAST_CACHE - GUEST_REGS_SIZE,
	       "exit_fast_path layout");

/** The cache slot of an answer; vmx_entry.S computes the same. */
static inline unsigned int exit_cache_slot(uint32_t reason, uint32_t key, uint32_t subkey)
{
	return (key + subkey + reason) & (EXIT_CACHE_ENTRIES - 1);
}
#endif

#endif /* TESSERA_ARCH_X86_EXIT_FAST_H */
