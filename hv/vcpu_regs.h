/*
 * A vCPU's general-purpose registers by architectural number.
 */
#ifndef TESSERA_HV_VCPU_REGS_H
#define TESSERA_HV_VCPU_REGS_H

#include "hv/partition.h"

/** Reads general-purpose register @index (0 RAX ... 15 R15) in full. */
uint64_t vcpu_read_gpr(struct vcpu *vcpu, unsigned int index);

/** Writes general-purpose register @index (0 RAX ... 15 R15) in full. */
void vcpu_write_gpr(struct vcpu *vcpu, unsigned int index, uint64_t value);

/** Copies all sixteen registers, by number, into @gpr (one VMREAD, for RSP). */
void vcpu_read_gprs(struct vcpu *vcpu, uint64_t gpr[16]);

/** Writes back the registers whose value in @gpr differs from @before. */
void vcpu_write_changed_gprs(struct vcpu *vcpu, const uint64_t before[16], const uint64_t gpr[16]);

/** The current privilege level of the guest in the current VMCS. */
unsigned int vcpu_cpl(void);

#endif /* TESSERA_HV_VCPU_REGS_H */
