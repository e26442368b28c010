/*
 * The hypercall ABI between Tessera and its guests: the one description both
 * sides compile against. It holds only constants, so it builds unchanged in
 * the 64-bit hypervisor and in 32-bit (-m32) or 64-bit guests.
 *
 * Discovery (CPUID, KVM convention)
 * ---------------------------------
 * CPUID.1:ECX bit 31 ("hypervisor present") is set, as under any hypervisor.
 * Then:
 *   leaf 0x40000000: EAX = highest hypervisor leaf (TESSERA_CPUID_LEAF_MAX),
 *                    EBX, ECX, EDX = the 12-byte signature "TesseraHV\0\0\0",
 *                    EBX holding the first four characters, little-endian.
 *   leaf 0x40000001: EAX = TESSERA_HC_ABI_VERSION; EBX, ECX, EDX = 0.
 *   leaf 0x40000010: EAX = the TSC frequency in kHz, EBX = the local APIC
 *                    timer's input clock in kHz (the convention VMware
 *                    introduced and KVM follows), ECX, EDX = 0. The TSC is
 *                    invariant (CPUID 0x80000007 EDX bit 8) and the same
 *                    values are in the architectural leaves 0x15 and 0x16.
 *   leaves 0x40000002-0x4000000f read as zero.
 * A guest checks the signature before issuing any VMCALL: on another
 * hypervisor, or on bare metal, VMCALL means something else or raises #UD.
 *
 * Calling convention
 * ------------------
 *   VMCALL with the call number in EAX and the arguments in EBX, ECX, EDX,
 *   ESI, in that order. The hypervisor writes a status to EAX (0 = success,
 *   negative = one of enum tessera_hc_status) and the results, if any, to
 *   EBX, ECX, EDX, ESI; every register not listed as an output of the call
 *   keeps its value, and RIP moves past the VMCALL.
 *
 *   A 64-bit guest (IA32_EFER.LMA = 1 and CS.L = 1) uses RAX, RBX, RCX, RDX
 *   and RSI: addresses are full 64-bit guest-physical addresses and the status
 *   is sign-extended to 64 bits. In any other mode the hypervisor reads only
 *   the low 32 bits of each register, since a 32-bit guest cannot set the
 *   upper halves.
 *
 *   Addresses passed to a call are guest-physical. The guest sees the effect
 *   of a call (bytes read, state changed) as complete when VMCALL returns.
 */
#ifndef TESSERA_HV_HYPERCALL_ABI_H
#define TESSERA_HV_HYPERCALL_ABI_H

#include <stdint.h>

/*
 * The ABI version, reported by TESSERA_HC_VERSION and CPUID 0x40000001. It
 * changes only when a call that exists changes meaning; adding a call does not
 * change it, since an old hypervisor answers the new call with ENOSYS.
 */
#define TESSERA_HC_ABI_VERSION 1

/** Hypercall numbers, passed in EAX/RAX. */
enum tessera_hc_call {
	/*
	 * TESSERA_HC_VERSION: the ABI version this hypervisor speaks.
	 *   in:     nothing
	 *   out:    EAX = 0, EBX = TESSERA_HC_ABI_VERSION
	 *   errors: none
	 *   64-bit: RBX = the version, zero-extended.
	 */
	TESSERA_HC_VERSION = 0,

	/*
	 * TESSERA_HC_PARTITION_INFO: describes the calling partition.
	 *   in:     nothing
	 *   out:    EAX = 0, EBX = partition id, ECX = number of vCPUs,
	 *           EDX = guest RAM size in MiB
	 *   errors: none
	 *   64-bit: RBX, RCX, RDX as above, zero-extended.
	 */
	TESSERA_HC_PARTITION_INFO = 1,

	/*
	 * TESSERA_HC_CONSOLE_WRITE: writes bytes to the partition's console.
	 *   in:     EBX = guest-physical address of the bytes,
	 *           ECX = their count, at most TESSERA_HC_CONSOLE_WRITE_MAX
	 *           (0 is allowed and writes nothing)
	 *   out:    EAX = 0
	 *   errors: TESSERA_HC_EINVAL if ECX > TESSERA_HC_CONSOLE_WRITE_MAX;
	 *           TESSERA_HC_EFAULT if any byte of [EBX, EBX + ECX) is not
	 *           RAM of the partition. On error nothing is written.
	 *   64-bit: RBX = 64-bit guest-physical address, RCX = count.
	 */
	TESSERA_HC_CONSOLE_WRITE = 2,

	/*
	 * TESSERA_HC_STOP: stops the whole partition, which the hypervisor then
	 * reports as stopped with the given exit code.
	 *   in:     EBX = exit code (32 bits; 0 conventionally means success)
	 *   out:    does not return: no vCPU of the partition runs again
	 *   errors: none
	 *   64-bit: the low 32 bits of RBX are the exit code.
	 */
	TESSERA_HC_STOP = 3,
};

/** Statuses returned in EAX/RAX: 0 or a negative error. */
enum tessera_hc_status {
	TESSERA_HC_SUCCESS = 0,
	/* The call number is not a call this hypervisor knows. */
	TESSERA_HC_ENOSYS = -1,
	/* An argument is out of range (for instance a length too large). */
	TESSERA_HC_EINVAL = -2,
	/* A guest-physical address range is not the partition's RAM. */
	TESSERA_HC_EFAULT = -3,
};

/* The most bytes one TESSERA_HC_CONSOLE_WRITE accepts. */
#define TESSERA_HC_CONSOLE_WRITE_MAX 4096

/* CPUID leaves of the hypervisor range. */
#define TESSERA_CPUID_LEAF_BASE    0x40000000U
#define TESSERA_CPUID_LEAF_VERSION 0x40000001U
#define TESSERA_CPUID_LEAF_TIMING  0x40000010U
#define TESSERA_CPUID_LEAF_MAX     TESSERA_CPUID_LEAF_TIMING

/*
 * The signature of leaf 0x40000000, "TesseraHV\0\0\0": as the three registers
 * hold it ("Tess", "eraH", "V\0\0\0", each little-endian), and as a C string
 * (its 9 characters; the 3 bytes after them in the registers are NUL).
 */
#define TESSERA_CPUID_SIGNATURE_EBX UINT32_C(0x73736554)
#define TESSERA_CPUID_SIGNATURE_ECX UINT32_C(0x48617265)
#define TESSERA_CPUID_SIGNATURE_EDX UINT32_C(0x00000056)
#define TESSERA_CPUID_SIGNATURE     "TesseraHV"

#endif /* TESSERA_HV_HYPERCALL_ABI_H */
