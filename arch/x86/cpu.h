/*
 * Thin inline wrappers around x86 instructions that C cannot express:
 * CPUID, MSRs, control registers, port I/O, TSC, and friends.
 */
#ifndef TESSERA_ARCH_X86_CPU_H
#define TESSERA_ARCH_X86_CPU_H

#include "hv/types.h"

#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_EM (1ULL << 2)
#define CR0_TS (1ULL << 3)
#define CR0_ET (1ULL << 4)
#define CR0_NE (1ULL << 5)
#define CR0_WP (1ULL << 16)
#define CR0_AM (1ULL << 18)
#define CR0_NW (1ULL << 29)
#define CR0_CD (1ULL << 30)
#define CR0_PG (1ULL << 31)

#define CR4_PSE  (1ULL << 4)
#define CR4_PAE  (1ULL << 5)
#define CR4_PGE  (1ULL << 7)
#define CR4_OSFXSR (1ULL << 9)
#define CR4_LA57 (1ULL << 12)
#define CR4_VMXE (1ULL << 13)
#define CR4_SMXE (1ULL << 14)
#define CR4_OSXSAVE (1ULL << 18)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define CR4_PKE  (1ULL << 22)

#define RFLAGS_IF       (1ULL << 9)
#define RFLAGS_RESERVED (1ULL << 1)

#define CPUID_1_ECX_VMX        (1U << 5)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)

/** The four registers CPUID returns. */
struct cpuid_result {
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
};

/** Executes CPUID for a leaf and sub-leaf. */
static inline struct cpuid_result cpu_cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_result r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/** Reads a model-specific register. */
static inline uint64_t cpu_rdmsr(uint32_t msr)
{
	uint32_t lo;
	uint32_t hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

/** Writes a model-specific register. */
static inline void cpu_wrmsr(uint32_t msr, uint64_t value)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			 : "memory");
}

/** Reads the time-stamp counter. */
static inline uint64_t cpu_rdtsc(void)
{
	uint32_t lo;
	uint32_t hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#define DEFINE_CR_ACCESSORS(n)                                             \
	static inline uint64_t cpu_read_cr##n(void)                        \
	{                                                                  \
		uint64_t v;                                                \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));          \
		return v;                                                  \
	}                                                                  \
	static inline void cpu_write_cr##n(uint64_t v)                     \
	{                                                                  \
		__asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/** Reads RFLAGS. */
static inline uint64_t cpu_read_rflags(void)
{
	uint64_t v;

	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

/** Writes a byte to an I/O port. */
static inline void cpu_outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

/** Reads a byte from an I/O port. */
static inline uint8_t cpu_inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/** Writes a word to an I/O port. */
static inline void cpu_outw(uint16_t port, uint16_t value)
{
	__asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port));
}

/** Spin-wait hint. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/** Disables interrupts. */
static inline void cpu_cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/** Stops this CPU for good: interrupts off, HLT forever. */
static inline NORETURN void cpu_halt_forever(void)
{
	for (;;) {
		__asm__ volatile("cli; hlt" ::: "memory");
	}
}

#endif /* TESSERA_ARCH_X86_CPU_H */
