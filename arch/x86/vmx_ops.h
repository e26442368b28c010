/*
 * The VMX instructions (SDM Vol. 3, Ch. 31). Each returns true on success:
 * VMfailInvalid sets CF, VMfailValid sets ZF (SDM 31.2).
 *
 * On the host (unit tests) vmread/vmwrite come from a fake VMCS instead.
 */
#ifndef TESSERA_ARCH_X86_VMX_OPS_H
#define TESSERA_ARCH_X86_VMX_OPS_H

#include "arch/x86/vmx_count.h"
#include "hv/types.h"

#ifdef TESSERA_HOST
uint64_t vmx_vmread(uint32_t field);
bool vmx_vmwrite(uint32_t field, uint64_t value);
#else

/** Enters VMX operation with the given VMXON region. */
static inline bool vmx_vmxon(hpa_t region)
{
	uint64_t pa = hpa_addr(region);
	bool failed;

	__asm__ volatile("vmxon %1" : "=@ccbe"(failed) : "m"(pa) : "memory");
	return !failed;
}

/** Makes a VMCS inactive and not current, and writes it back to memory. */
static inline bool vmx_vmclear(hpa_t vmcs)
{
	uint64_t pa = hpa_addr(vmcs);
	bool failed;

	__asm__ volatile("vmclear %1" : "=@ccbe"(failed) : "m"(pa) : "memory");
	return !failed;
}

/** Makes a VMCS current on this CPU. */
static inline bool vmx_vmptrld(hpa_t vmcs)
{
	uint64_t pa = hpa_addr(vmcs);
	bool failed;

	__asm__ volatile("vmptrld %1" : "=@ccbe"(failed) : "m"(pa) : "memory");
	return !failed;
}

/** Reads a field of the current VMCS (0 if the field does not exist). */
static inline uint64_t vmx_vmread(uint32_t field)
{
	uint64_t value = 0;

	vmx_count_access();
	__asm__ volatile("vmread %1, %0" : "+r"(value) : "r"((uint64_t)field) : "cc");
	return value;
}

/** Writes a field of the current VMCS. */
static inline bool vmx_vmwrite(uint32_t field, uint64_t value)
{
	bool failed;

	vmx_count_access();
	__asm__ volatile("vmwrite %2, %1"
			 : "=@ccbe"(failed)
			 : "r"((uint64_t)field), "rm"(value)
			 : "memory");
	return !failed;
}

/** INVEPT descriptor (SDM 31.3, INVEPT). */
struct invept_descriptor {
	uint64_t eptp;
	uint64_t reserved;
};

#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXTS   2

/** Invalidates cached EPT translations. */
static inline bool vmx_invept(uint64_t type, uint64_t eptp)
{
	struct invept_descriptor d = { .eptp = eptp, .reserved = 0 };
	bool failed;

	__asm__ volatile("invept %1, %2" : "=@ccbe"(failed) : "m"(d), "r"(type) : "memory");
	return !failed;
}
#endif /* TESSERA_HOST */

#endif /* TESSERA_ARCH_X86_VMX_OPS_H */
