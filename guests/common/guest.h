/*
 * The small runtime every in-tree test guest links: UART output, a printf
 * subset, CPUID and RDTSC, and the Tessera hypercalls.
 *
 * Guests run in flat 32-bit protected mode with paging off, so a pointer's
 * value is also the guest-physical address a hypercall expects.
 */
#ifndef TESSERA_GUESTS_COMMON_GUEST_H
#define TESSERA_GUESTS_COMMON_GUEST_H

#include "hv/hypercall_abi.h"
#include "hv/types.h"

/* The 16550 UART Tessera emulates for every partition. */
#define UART_PORT     0x3f8
#define UART_THR      (UART_PORT + 0) /* transmit holding register */
#define UART_LSR      (UART_PORT + 5) /* line status register */
#define UART_LSR_THRE 0x20            /* THR empty: ready for a byte */

/** The four registers one CPUID leaf returns. */
struct cpuid_result {
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
};

/**
 * The registers of one VMCALL: the call number and arguments go in, the
 * status and results come back in the same fields (hv/hypercall_abi.h).
 */
struct hypercall_regs {
	uint32_t eax;
	uint32_t ebx;
	uint32_t ecx;
	uint32_t edx;
	uint32_t esi;
};

/** The calling partition, as TESSERA_HC_PARTITION_INFO describes it. */
struct partition_info {
	uint32_t id;
	uint32_t vcpu_count;
	uint32_t memory_mib;
};

/** The TSC as read by the first instruction of the image (start.S). */
extern uint64_t guest_entry_tsc;

/** Each guest's own code; start.S stops the partition with its result. */
int guest_main(void);

/*
 * Port I/O of each width: port_read8(), port_read16() and port_read32() are
 * IN, port_write8(), port_write16() and port_write32() are OUT. The "a"
 * constraint makes the operand AL, AX or EAX by its type, and the assembler
 * takes the width of IN and OUT from that register.
 */
#define DEFINE_PORT_IO(bits)                                                     \
	static inline uint##bits##_t port_read##bits(uint16_t port)              \
	{                                                                        \
		uint##bits##_t value;                                            \
                                                                                 \
		__asm__ volatile("in %1, %0" : "=a"(value) : "Nd"(port));        \
		return value;                                                    \
	}                                                                        \
                                                                                 \
	static inline void port_write##bits(uint16_t port, uint##bits##_t value) \
	{                                                                        \
		__asm__ volatile("out %0, %1" : : "a"(value), "Nd"(port));       \
	}

DEFINE_PORT_IO(8)
DEFINE_PORT_IO(16)
DEFINE_PORT_IO(32)

#undef DEFINE_PORT_IO

/**
 * Runs CPUID for a leaf (sub-leaf 0). Volatile: under Tessera the leaves
 * 0x40000000 and up exit to the hypervisor, and the bench guest counts on
 * every call really executing.
 */
static inline struct cpuid_result cpuid(uint32_t leaf)
{
	struct cpuid_result result;

	__asm__ volatile("cpuid"
			 : "=a"(result.eax), "=b"(result.ebx),
			   "=c"(result.ecx), "=d"(result.edx)
			 : "a"(leaf), "c"(0));
	return result;
}

/** Reads the time-stamp counter; not ordered against other instructions. */
static inline uint64_t rdtsc(void)
{
	uint32_t low;
	uint32_t high;

	__asm__ volatile("rdtsc" : "=a"(low), "=d"(high));
	return ((uint64_t)high << 32) | low;
}

/**
 * Issues one VMCALL with every register of the ABI bound both ways: the
 * hypervisor may write any of EAX, EBX, ECX, EDX and ESI, so all are outputs
 * and the compiler keeps nothing of its own in them across the call. The
 * "memory" clobber makes pending stores visible before the hypervisor reads
 * guest memory, and keeps later loads after it. Returns the status (EAX).
 */
static inline int32_t hypercall(struct hypercall_regs *regs)
{
	__asm__ volatile("vmcall"
			 : "+a"(regs->eax), "+b"(regs->ebx), "+c"(regs->ecx),
			   "+d"(regs->edx), "+S"(regs->esi)
			 :
			 : "memory", "cc");
	return (int32_t)regs->eax;
}

/** Writes one byte to the UART, waiting (boundedly) until it can take it. */
void uart_putc(char c);

/** Writes a NUL-terminated string to the UART. */
void uart_puts(const char *s);

/**
 * printf to the UART. Conversions: %d %u %x %c %s %%, the length modifiers
 * l and ll (ll for 64-bit values), the flag 0 and a field width.
 */
void guest_printf(const char *fmt, ...) PRINTF_LIKE(1, 2);

/** Divides a 64-bit value without libgcc, which 32-bit guests do not link. */
uint64_t divide_u64(uint64_t dividend, uint32_t divisor, uint32_t *remainder);

/** A short name for a hypercall status, for messages. */
const char *hc_status_name(int32_t status);

/** TESSERA_HC_VERSION: stores the ABI version; returns the status. */
int32_t hc_version(uint32_t *abi_version);

/** TESSERA_HC_PARTITION_INFO: fills *info; returns the status. */
int32_t hc_partition_info(struct partition_info *info);

/** TESSERA_HC_CONSOLE_WRITE of count bytes at bytes; returns the status. */
int32_t hc_console_write(const void *bytes, uint32_t count);

/** TESSERA_HC_STOP: stops the partition with exit_code; never returns. */
NORETURN void guest_stop(uint32_t exit_code);

/* The compiler may emit calls to these even in freestanding code. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* TESSERA_GUESTS_COMMON_GUEST_H */
