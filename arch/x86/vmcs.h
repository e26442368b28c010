/*
 * Typed VMCS accessors: a field of the wrong width is rejected at compile
 * time (the encoding's bits 14:13 give the width, SDM Appendix B), so a
 * 16-bit selector can never be written through a 64-bit accessor by mistake.
 */
#ifndef TESSERA_ARCH_X86_VMCS_H
#define TESSERA_ARCH_X86_VMCS_H

#include "arch/x86/vmcs_fields.h"
#include "arch/x86/vmx_ops.h"

/* A compile-time error (negative array size) when cond is false. */
#define VMCS_REQUIRE(cond) ((void)sizeof(char[1 - 2 * !(cond)]))
#define VMCS_REQUIRE_WIDTH(f, w) VMCS_REQUIRE(VMCS_FIELD_WIDTH(f) == (w))

#define vmcs_read16(f) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_16), (uint16_t)vmx_vmread(f))
#define vmcs_read32(f) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_32), (uint32_t)vmx_vmread(f))
#define vmcs_read64(f) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_64), (uint64_t)vmx_vmread(f))
#define vmcs_readl(f) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_NATURAL), (uint64_t)vmx_vmread(f))

#define vmcs_write16(f, v) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_16), vmx_vmwrite(f, (uint16_t)(v)))
#define vmcs_write32(f, v) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_32), vmx_vmwrite(f, (uint32_t)(v)))
#define vmcs_write64(f, v) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_64), vmx_vmwrite(f, (uint64_t)(v)))
#define vmcs_writel(f, v) (VMCS_REQUIRE_WIDTH(f, VMCS_WIDTH_NATURAL), vmx_vmwrite(f, (uint64_t)(v)))

/*
 * The guest's view of CR0 or CR4 (SDM 25.3): the read shadow for the bits
 * the host owns (guest/host mask), the register itself for the others, which
 * the guest changes without an exit.
 */
#define vmcs_guest_visible_cr(real, mask, shadow) \
	((vmcs_readl(real) & ~vmcs_readl(mask)) | (vmcs_readl(shadow) & vmcs_readl(mask)))
#define vmcs_guest_visible_cr0() \
	vmcs_guest_visible_cr(VMCS_GUEST_CR0, VMCS_CR0_GUEST_HOST_MASK, VMCS_CR0_READ_SHADOW)
#define vmcs_guest_visible_cr4() \
	vmcs_guest_visible_cr(VMCS_GUEST_CR4, VMCS_CR4_GUEST_HOST_MASK, VMCS_CR4_READ_SHADOW)

#endif /* TESSERA_ARCH_X86_VMCS_H */
