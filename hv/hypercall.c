/*
 * VMCALL: the hypercall ABI of hv/hypercall_abi.h. A bad call number or
 * argument returns an error status to the guest and never harms anything
 * outside the calling partition.
 */
#include "hv/exit.h"
#include "hv/exit_cache.h"
#include "hv/hypercall_abi.h"
#include "hv/vcpu_regs.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"

#define AR_CS_LONG   (1U << 13)

/** True when the guest runs 64-bit code (IA-32e mode and CS.L). */
static bool vcpu_in_64bit_mode(void)
{
	return (vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) != 0 &&
	       (vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS) & AR_CS_LONG) != 0;
}

/** TESSERA_HC_CONSOLE_WRITE: bytes from guest RAM to the partition's console. */
static int64_t hypercall_console_write(struct vcpu *vcpu, uint64_t gpa, uint64_t length)
{
	char bytes[TESSERA_HC_CONSOLE_WRITE_MAX];

	if (length > TESSERA_HC_CONSOLE_WRITE_MAX) {
		return TESSERA_HC_EINVAL;
	}
	/* Copied first, so that a buffer that is partly not RAM writes nothing. */
	if (!partition_copy_from_guest(vcpu->partition, bytes, gpa_init(gpa), length)) {
		return TESSERA_HC_EFAULT;
	}
	vuart_output(&vcpu->partition->uart, bytes, length);
	return TESSERA_HC_SUCCESS;
}

/** TESSERA_HC_PARTITION_INFO: who am I. */
static int64_t hypercall_partition_info(struct vcpu *vcpu)
{
	const struct partition *p = vcpu->partition;

	vcpu->regs.rbx = p->id;
	vcpu->regs.rcx = p->vcpu_count;
	vcpu->regs.rdx = p->config->memory_bytes >> 20;
	return TESSERA_HC_SUCCESS;
}

/**
 * The calls whose results are constants of the partition's life (its id,
 * size, the ABI version) are answered from the exit fast path next time.
 */
static void hypercall_remember(struct vcpu *vcpu, uint64_t call)
{
	struct exit_answer answer = { EXIT_CACHE_OUT_EAX | EXIT_CACHE_OUT_EBX,
				      (uint32_t)vcpu->regs.rax, (uint32_t)vcpu->regs.rbx, 0, 0 };

	if (call == TESSERA_HC_PARTITION_INFO) {
		answer.outputs |= EXIT_CACHE_OUT_ECX | EXIT_CACHE_OUT_EDX;
		answer.ecx = (uint32_t)vcpu->regs.rcx;
		answer.edx = (uint32_t)vcpu->regs.rdx;
	} else if (call != TESSERA_HC_VERSION) {
		return;
	}
	exit_cache_store(vcpu, EXIT_REASON_VMCALL, (uint32_t)call, 0, &answer);
}

/** VMCALL exit: run the call named in RAX and return its status in RAX. */
enum exit_result exit_handle_vmcall(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint64_t mask = vcpu_in_64bit_mode() ? ~0ULL : 0xffffffffULL;
	uint64_t call = vcpu->regs.rax & mask;
	int64_t status;

	if (vcpu_cpl() != 0) {
		vcpu_inject_exception(VECTOR_UD);
		return EXIT_RESUME;
	}
	switch (call) {
	case TESSERA_HC_VERSION:
		vcpu->regs.rbx = TESSERA_HC_ABI_VERSION;
		status = TESSERA_HC_SUCCESS;
		break;
	case TESSERA_HC_PARTITION_INFO:
		status = hypercall_partition_info(vcpu);
		break;
	case TESSERA_HC_CONSOLE_WRITE:
		status = hypercall_console_write(vcpu, vcpu->regs.rbx & mask, vcpu->regs.rcx & mask);
		break;
	case TESSERA_HC_STOP:
		if (vcpu->partition->state != PARTITION_STOPPED) {
			vcpu->partition->exit_code = (uint32_t)vcpu->regs.rbx;
		}
		partition_stop(vcpu->partition, "exit code %u", (uint32_t)vcpu->regs.rbx);
		return EXIT_STOPPED;
	default:
		status = TESSERA_HC_ENOSYS;
		break;
	}
	vcpu->regs.rax = (uint64_t)status & mask;
	hypercall_remember(vcpu, call);
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}
