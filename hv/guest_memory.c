/*
 * Guest memory through the guest's eyes: what the interpreter and string
 * I/O use to reach operands by linear address.
 */
#include "hv/guest_memory.h"
#include "hv/exit.h"
#include "hv/string.h"
#include "hv/vcpu_regs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

#define VECTOR_PF 14

/**
 * The vCPU's paging registers from the current VMCS. Without paging (CR0.PG
 * = 0) linear addresses are physical whatever CR3 and CR4 hold (SDM 4.1.1),
 * so those two are not read and left 0.
 */
void vcpu_paging_mode(struct guest_paging_mode *mode)
{
	mode->cr0 = vmcs_readl(VMCS_GUEST_CR0);
	mode->cr3 = 0;
	mode->cr4 = 0;
	if (mode->cr0 & CR0_PG) {
		mode->cr3 = vmcs_readl(VMCS_GUEST_CR3);
		mode->cr4 = vmcs_readl(VMCS_GUEST_CR4);
	}
	mode->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	mode->maxphyaddr = 0;
}

/**
 * guest_phys_read_fn over a partition's RAM (ctx is the partition). A range
 * inside one piece of RAM (every paging-structure entry, and most reads) is
 * copied straight from its host address; anything else piece by piece.
 */
bool partition_phys_read(void *ctx, gpa_t gpa, void *buf, unsigned int size)
{
	const void *src = partition_gpa_to_ptr(ctx, gpa, size);

	if (src != NULL) {
		memcpy(buf, src, size);
		return true;
	}
	return partition_copy_from_guest(ctx, buf, gpa, size);
}

/** The access flags of an explicit data access at the vCPU's CPL. */
unsigned int vcpu_data_access(bool write)
{
	unsigned int cpl = vcpu_cpl();

	return guest_data_access(write, cpl, cpl == 3 ? 0 : vmcs_readl(VMCS_GUEST_RFLAGS));
}

/** Turns a failed walk into the exception the CPU would raise. */
static void vcpu_raise_walk_fault(struct vcpu *vcpu, enum guest_walk_result result,
				  uint64_t linear, uint32_t pf_error)
{
	if (result == WALK_PAGE_FAULT) {
		vmx_set_guest_cr2(vcpu, linear);
		vcpu_inject_exception_error(VECTOR_PF, pf_error);
	} else {
		vcpu_inject_exception_error(VECTOR_GP, 0);
	}
}

/** Reads or writes bytes at a linear address with the paging and access given (see header). */
bool guest_access_linear(struct vcpu *vcpu, const struct guest_paging_mode *mode,
			 unsigned int access_flags, uint64_t linear, void *buf, unsigned int size,
			 bool *not_ram)
{
	bool write = (access_flags & ACCESS_KIND_MASK) == ACCESS_WRITE;
	uint8_t *bytes = buf;

	*not_ram = false;
	for (unsigned int done = 0; done < size;) {
		uint64_t at = linear + done;
		unsigned int piece = MIN(size - done, (unsigned int)(PAGE_SIZE - (at & (PAGE_SIZE - 1))));
		uint32_t pf_error;
		gpa_t gpa;
		enum guest_walk_result r = guest_linear_to_physical(mode, at, access_flags,
								    partition_phys_read,
								    vcpu->partition, &gpa, &pf_error);
		bool ok;

		if (r == WALK_PAGE_FAULT || r == WALK_NON_CANONICAL) {
			vcpu_raise_walk_fault(vcpu, r, at, pf_error);
			return false;
		}
		ok = r == WALK_OK &&
		     (write ? partition_copy_to_guest(vcpu->partition, gpa, bytes + done, piece)
			    : partition_copy_from_guest(vcpu->partition, bytes + done, gpa, piece));
		if (!ok) {
			*not_ram = true;
			return false;
		}
		done += piece;
	}
	return true;
}

/** Reads or writes bytes at a linear address for the current vCPU (see header). */
bool vcpu_access_linear(struct vcpu *vcpu, uint64_t linear, void *buf, unsigned int size,
			bool write, bool *not_ram)
{
	struct guest_paging_mode mode;

	vcpu_paging_mode(&mode);
	return guest_access_linear(vcpu, &mode, vcpu_data_access(write), linear, buf, size,
				   not_ram);
}
