/*
 * Reading a vCPU's VMCS that is not the current one (see vcpu_dump.h): make
 * it current, read, and give the CPU back the VMCS of the vCPU it is in the
 * middle of running, whose exit handling goes on after the console command.
 */
#include "arch/x86/vcpu_dump.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmx.h"
#include "hv/percpu.h"

/** Makes the VMCS of the vCPU this CPU is running current again. */
void vcpu_dump_restore_current_vmcs(void)
{
	struct vcpu *running = this_cpu()->current_vcpu;

	/* A rebuilt vCPU has a new VMCS: loading it is harmless, its exit path stops. */
	if (running != NULL && hpa_addr(running->vmcs) != 0) {
		vmx_vcpu_load(running);
	}
}

/** Fills *out for a vCPU that is not in the guest; false when it has no VMCS. */
bool vcpu_dump_read(struct vcpu *vcpu, struct vcpu_dump *out)
{
	/* CR2 is live in the CPU while the vCPU's context is loaded there. */
	uint64_t cr2 = this_cpu()->guest_context_owner == vcpu ? cpu_read_cr2() : vcpu->regs.cr2;
	bool loaded;

	if (hpa_addr(vcpu->vmcs) == 0) {
		return false;
	}
	loaded = vmx_vcpu_load(vcpu);
	if (loaded) {
		vcpu_dump_current_vmcs(vcpu, cr2, out);
	}
	vcpu_dump_restore_current_vmcs();
	return loaded;
}
