/*
 * The interpreter's glue: from an EPT violation on a device's range to the
 * emulated instruction (hv/x86_decode.c, hv/x86_emulate.c) and back.
 */
#include "hv/mmio.h"
#include "hv/exit.h"
#include "hv/format.h"
#include "hv/guest_memory.h"
#include "hv/string.h"
#include "hv/vcpu_events.h"
#include "hv/vcpu_regs.h"
#include "hv/x86_emulate.h"
#include "arch/x86/msr.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

#define MAX_INSN_BYTES 15
#define AR_CS_LONG    (1U << 13)
#define AR_CS_DB      (1U << 14)
#define CR0_PE_BIT    1ULL
#define GPR_RSP 4

/** Claims [base, base + size) for a device; false when full or overlapping. */
bool mmio_map_add(struct mmio_map *map, gpa_t base, uint64_t size, const struct mmio_ops *ops,
		  void *device)
{
	for (unsigned int i = 0; i < map->count; i++) {
		const struct mmio_region *r = &map->regions[i];

		if (gpa_addr(base) < gpa_addr(r->base) + r->size &&
		    gpa_addr(r->base) < gpa_addr(base) + size) {
			return false;
		}
	}
	if (map->count == PARTITION_MAX_MMIO || size == 0) {
		return false;
	}
	map->regions[map->count++] = (struct mmio_region){ base, size, ops, device };
	return true;
}

/** The region that holds @gpa, or NULL. */
const struct mmio_region *mmio_map_find(const struct mmio_map *map, gpa_t gpa)
{
	for (unsigned int i = 0; i < map->count; i++) {
		const struct mmio_region *r = &map->regions[i];

		if (gpa_addr(gpa) >= gpa_addr(r->base) && gpa_addr(gpa) - gpa_addr(r->base) < r->size) {
			return r;
		}
	}
	return NULL;
}

/** The execution mode the guest's CS and EFER select. */
static enum x86_mode mmio_guest_mode(void)
{
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS);

	if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & EFER_LMA) && (cs_ar & AR_CS_LONG)) {
		return X86_MODE_64;
	}
	if ((vmcs_readl(VMCS_GUEST_CR0) & CR0_PE_BIT) && (cs_ar & AR_CS_DB)) {
		return X86_MODE_32;
	}
	return X86_MODE_16;
}

/** What the emulator's memory callbacks need. */
struct mmio_context {
	struct vcpu *vcpu;
	enum x86_mode mode;
	struct guest_paging_mode paging; /* read once: the instruction cannot change it */
	bool not_ram;      /* an operand was neither RAM nor a device */
};

/** The linear address of seg:offset (64-bit mode: only FS and GS have a base). */
static uint64_t mmio_linear(const struct mmio_context *c, enum x86_segment seg, uint64_t offset)
{
	uint64_t base = vmx_vmread(VMCS_GUEST_ES_BASE + 2 * (uint32_t)seg);

	if (c->mode == X86_MODE_64) {
		return (seg == X86_SEG_FS || seg == X86_SEG_GS) ? base + offset : offset;
	}
	return (base + offset) & 0xffffffffULL;
}

/** Routes one operand access to a device (when its GPA is claimed) or to RAM. */
static bool mmio_access(struct mmio_context *c, enum x86_segment seg, uint64_t offset, void *buf,
			unsigned int size, bool write)
{
	struct vcpu *vcpu = c->vcpu;
	uint64_t linear = mmio_linear(c, seg, offset);
	const struct mmio_region *region;
	uint32_t pf_error;
	gpa_t gpa;

	/* The same user/supervisor and SMAP rules as the CPU's own access. */
	if (guest_linear_to_physical(&c->paging, linear, vcpu_data_access(write),
				     partition_phys_read, vcpu->partition, &gpa, &pf_error) == WALK_OK &&
	    (region = mmio_map_find(&vcpu->partition->mmio, gpa)) != NULL) {
		uint64_t at = gpa_addr(gpa) - gpa_addr(region->base);
		void *device = region->device != NULL ? region->device : &vcpu->lapic;
		uint64_t value = 0;

		/* The local APIC may take an EOI, a TPR, an IPI or a timer here. */
		if (region->device == NULL) {
			vcpu_events_changed(vcpu);
		}
		if (write) {
			memcpy(&value, buf, size);
			region->ops->write(device, at, value, size);
		} else {
			value = region->ops->read(device, at, size);
			memcpy(buf, &value, size);
		}
		return true;
	}
	/* Not a device: RAM through the guest's paging, faults injected there. */
	return vcpu_access_linear(vcpu, linear, buf, size, write, &c->not_ram);
}

/** x86_emulate_ops.read_mem. */
static bool mmio_read_mem(void *ctx, enum x86_segment seg, uint64_t offset, void *buf,
			  unsigned int size)
{
	return mmio_access(ctx, seg, offset, buf, size, false);
}

/** x86_emulate_ops.write_mem. */
static bool mmio_write_mem(void *ctx, enum x86_segment seg, uint64_t offset, const void *buf,
			   unsigned int size)
{
	return mmio_access(ctx, seg, offset, (void *)buf, size, true);
}

static const struct x86_emulate_ops mmio_emulate_ops = {
	.read_mem = mmio_read_mem,
	.write_mem = mmio_write_mem,
};

/**
 * Reads up to MAX_INSN_BYTES of the instruction at CS:RIP into @bytes, the
 * second page only if the first does not hold the whole instruction (the CPU
 * faults on a following page only then). Returns the decode status; a fault
 * on the fetch is injected and reported as X86_DECODE_TRUNCATED.
 */
static enum x86_decode_status mmio_fetch_decode(struct mmio_context *c, uint64_t rip,
						uint8_t *bytes, unsigned int *length,
						struct x86_insn *insn)
{
	uint64_t linear = mmio_linear(c, X86_SEG_CS, rip);
	unsigned int in_page = (unsigned int)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
	unsigned int want = MIN(in_page, (unsigned int)MAX_INSN_BYTES);
	unsigned int access = ACCESS_FETCH | (vcpu_cpl() == 3 ? ACCESS_USER : 0);
	enum x86_decode_status status = X86_DECODE_TRUNCATED;

	for (*length = 0; status == X86_DECODE_TRUNCATED && *length < MAX_INSN_BYTES;) {
		uint32_t pf_error;
		uint64_t fault_linear;
		gpa_t gpa;
		enum guest_walk_result r = guest_read_linear(&c->paging, linear + *length, bytes + *length,
							     want - *length, access,
							     partition_phys_read, c->vcpu->partition,
							     &gpa, &pf_error, &fault_linear);

		if (r != WALK_OK) {
			if (r == WALK_PAGE_FAULT) {
				vmx_set_guest_cr2(c->vcpu, fault_linear);
				vcpu_inject_exception_error(14, pf_error);
			} else {
				vcpu_inject_exception_error(VECTOR_GP, 0);
			}
			return X86_DECODE_TRUNCATED;
		}
		*length = want;
		want = MAX_INSN_BYTES;
		status = x86_decode(bytes, *length, c->mode, insn);
	}
	return status;
}

/** Copies the vCPU's registers into the emulator's register file (and @before). */
static void mmio_load_regs(struct vcpu *vcpu, const struct vm_exit *exit, struct x86_regs *regs,
			   struct x86_regs *before)
{
	vcpu_read_gprs(vcpu, regs->gpr);
	regs->rip = exit->guest_rip;
	regs->rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
	*before = *regs;
}

/** Writes back what the emulator changed: RIP always, the rest when it moved. */
static void mmio_store_regs(struct vcpu *vcpu, const struct x86_regs *regs,
			    const struct x86_regs *before)
{
	vcpu_write_changed_gprs(vcpu, before->gpr, regs->gpr);
	vmcs_writel(VMCS_GUEST_RIP, regs->rip);
	if (regs->rflags != before->rflags) {
		vmcs_writel(VMCS_GUEST_RFLAGS, regs->rflags);
	}
}

/** Stops the partition, naming the instruction the interpreter cannot run. */
static int mmio_refuse(struct vcpu *vcpu, const struct vm_exit *exit, gpa_t gpa,
		       const uint8_t *bytes, unsigned int length, const char *why)
{
	char hex[3 * MAX_INSN_BYTES + 1] = "";
	size_t used = 0;

	for (unsigned int i = 0; i < length; i++) {
		used += (size_t)format_snprintf(hex + used, sizeof(hex) - used, i > 0 ? " %02x" : "%02x",
						bytes[i]);
	}
	partition_stop(vcpu->partition, "MMIO at gpa %#llx: %s: instruction bytes %s at guest rip %#llx",
		       (unsigned long long)gpa_addr(gpa), why, hex,
		       (unsigned long long)exit->guest_rip);
	return EXIT_STOPPED;
}

/** Emulates the instruction that touched a device's range (see mmio.h). */
int mmio_emulate(struct vcpu *vcpu, const struct vm_exit *exit, gpa_t gpa)
{
	struct mmio_context c = { .vcpu = vcpu, .mode = mmio_guest_mode(), .not_ram = false };
	uint8_t bytes[MAX_INSN_BYTES];
	unsigned int length = 0;
	struct x86_insn insn = { .reason = "the instruction could not be fetched" };
	struct x86_regs regs;
	struct x86_regs before;
	enum x86_decode_status decoded;
	enum x86_emulate_status result;

	vcpu_paging_mode(&c.paging);
	decoded = mmio_fetch_decode(&c, exit->guest_rip, bytes, &length, &insn);
	if (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & VMCS_INTR_INFO_VALID) {
		return EXIT_RESUME; /* the fetch faulted: the guest handles it */
	}
	if (decoded == X86_DECODE_INVALID) {
		vcpu_inject_exception(VECTOR_UD);
		return EXIT_RESUME;
	}
	if (decoded == X86_DECODE_TOO_LONG) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return EXIT_RESUME;
	}
	if (decoded != X86_DECODE_OK) {
		return mmio_refuse(vcpu, exit, gpa, bytes, length, insn.reason);
	}
	mmio_load_regs(vcpu, exit, &regs, &before);
	result = x86_emulate(&insn, &regs, &mmio_emulate_ops, &c);
	if (result == X86_EMULATE_OK) {
		mmio_store_regs(vcpu, &regs, &before);
		vcpu_end_instruction_blocking(vcpu);
		return EXIT_RESUME;
	}
	if (c.not_ram) {
		return mmio_refuse(vcpu, exit, gpa, bytes, insn.length, "an operand is neither RAM nor a device");
	}
	if (result == X86_EMULATE_FAULT) {
		/* Completed REP iterations stand, as on the CPU; RIP stays put. */
		mmio_store_regs(vcpu, &regs, &before);
		return EXIT_RESUME; /* the callback injected #PF or #GP */
	}
	return mmio_refuse(vcpu, exit, gpa, bytes, insn.length, "not emulated");
}
