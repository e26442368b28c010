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

#define MAX_INSN_BYTES X86_MAX_INSN_LENGTH
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

/** The execution mode CS and EFER select, with the guest's CR0 and EFER in @paging. */
static enum x86_mode mmio_guest_mode(const struct guest_paging_mode *paging)
{
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_ACCESS_RIGHTS);

	if ((paging->efer & EFER_LMA) && (cs_ar & AR_CS_LONG)) {
		return X86_MODE_64;
	}
	if ((paging->cr0 & CR0_PE_BIT) && (cs_ar & AR_CS_DB)) {
		return X86_MODE_32;
	}
	return X86_MODE_16;
}

/** What the emulator's memory callbacks need: each VMCS field read once per exit. */
struct mmio_context {
	struct vcpu *vcpu;
	const struct mmio_region *exit_region; /* holds the exit's GPA: most operands' too */
	enum x86_mode mode;
	unsigned int cpl;
	uint64_t rflags;
	struct guest_paging_mode paging; /* the instruction cannot change any of these */
	uint64_t *seg_base;              /* X86_SEG_GS + 1 entries, the caller's */
	unsigned int seg_base_read;      /* bit n: seg_base[n] holds segment n's base */
	bool not_ram;                    /* an operand was neither RAM nor a device */
};

/** The base of segment @seg, read from the VMCS on the first use in this exit. */
static uint64_t mmio_segment_base(struct mmio_context *c, enum x86_segment seg)
{
	if ((c->seg_base_read & BIT(seg)) == 0) {
		c->seg_base[seg] = vmx_vmread(VMCS_GUEST_ES_BASE + 2 * (uint32_t)seg);
		c->seg_base_read |= (unsigned int)BIT(seg);
	}
	return c->seg_base[seg];
}

/** The linear address of seg:offset (64-bit mode: only FS and GS have a base). */
static uint64_t mmio_linear(struct mmio_context *c, enum x86_segment seg, uint64_t offset)
{
	if (c->mode == X86_MODE_64) {
		return (seg == X86_SEG_FS || seg == X86_SEG_GS) ? mmio_segment_base(c, seg) + offset
								: offset;
	}
	return (mmio_segment_base(c, seg) + offset) & 0xffffffffULL;
}

/**
 * Copies an operand of @size bytes. The sizes operands have (1, 2, 4 or 8)
 * are constants here, so that the compiler moves each in one instruction
 * rather than calling memcpy().
 */
static void mmio_copy_operand(void *dst, const void *src, unsigned int size)
{
	switch (size) {
	case 1:
		__builtin_memcpy(dst, src, 1);
		break;
	case 2:
		__builtin_memcpy(dst, src, 2);
		break;
	case 4:
		__builtin_memcpy(dst, src, 4);
		break;
	case 8:
		__builtin_memcpy(dst, src, 8);
		break;
	default:
		memcpy(dst, src, size);
		break;
	}
}

/** Sends one operand access to the device whose range holds @gpa. */
static void mmio_device_access(struct vcpu *vcpu, const struct mmio_region *region, gpa_t gpa,
			       void *buf, unsigned int size, bool write)
{
	uint64_t at = gpa_addr(gpa) - gpa_addr(region->base);
	void *device = region->device != NULL ? region->device : &vcpu->lapic;
	uint64_t value = 0;

	/* The local APIC may take an EOI, a TPR, an IPI or a timer here. */
	if (region->device == NULL) {
		vcpu_events_changed(vcpu);
	}
	if (write) {
		mmio_copy_operand(&value, buf, size);
		region->ops->write(device, at, value, size);
	} else {
		value = region->ops->read(device, at, size);
		mmio_copy_operand(buf, &value, size);
	}
}

/**
 * The claimed region that holds @gpa, or NULL: the exit's own region first.
 * Regions never overlap (mmio_map_add()), so that is the one mmio_map_find()
 * would return.
 */
static const struct mmio_region *mmio_region_of(const struct mmio_context *c, gpa_t gpa)
{
	const struct mmio_region *r = c->exit_region;

	if (gpa_addr(gpa) >= gpa_addr(r->base) && gpa_addr(gpa) - gpa_addr(r->base) < r->size) {
		return r;
	}
	return mmio_map_find(&c->vcpu->partition->mmio, gpa);
}

/** Routes one operand access to a device (when its GPA is claimed) or to RAM. */
static bool mmio_access(struct mmio_context *c, enum x86_segment seg, uint64_t offset, void *buf,
			unsigned int size, bool write)
{
	struct vcpu *vcpu = c->vcpu;
	uint64_t linear = mmio_linear(c, seg, offset);
	/* The same user/supervisor and SMAP rules as the CPU's own access. */
	unsigned int access = guest_data_access(write, c->cpl, c->rflags);
	const struct mmio_region *region;
	uint32_t pf_error;
	gpa_t gpa;

	if (guest_linear_to_physical(&c->paging, linear, access, partition_phys_read,
				     vcpu->partition, &gpa, &pf_error) == WALK_OK &&
	    (region = mmio_region_of(c, gpa)) != NULL) {
		mmio_device_access(vcpu, region, gpa, buf, size, write);
		return true;
	}
	/* Not a device: RAM through the guest's paging, faults injected there. */
	return guest_access_linear(vcpu, &c->paging, access, linear, buf, size, &c->not_ram);
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

/** The walker's access flags of an instruction fetch at the guest's CPL. */
static unsigned int mmio_fetch_access(const struct mmio_context *c)
{
	return ACCESS_FETCH | (c->cpl == 3 ? ACCESS_USER : 0);
}

/** Whether the @piece (1, 2, 4 or 8) bytes at @a + *at and @b + *at are equal; moves *at on. */
static inline bool mmio_same_piece(const uint8_t *a, const uint8_t *b, unsigned int *at,
				   unsigned int piece)
{
	uint64_t x = 0;
	uint64_t y = 0;

	/* A constant size: the compiler loads the piece in one instruction, no call. */
	switch (piece) {
	case 8:
		__builtin_memcpy(&x, a + *at, 8);
		__builtin_memcpy(&y, b + *at, 8);
		break;
	case 4:
		__builtin_memcpy(&x, a + *at, 4);
		__builtin_memcpy(&y, b + *at, 4);
		break;
	case 2:
		__builtin_memcpy(&x, a + *at, 2);
		__builtin_memcpy(&y, b + *at, 2);
		break;
	default:
		x = a[*at];
		y = b[*at];
		break;
	}
	*at += piece;
	return x == y;
}

/**
 * Whether the @length (1-15) bytes at @a and @b are equal: compared in
 * pieces of 8, 4, 2 and 1 bytes, a handful of instructions where memcmp()
 * would take a loop iteration per byte.
 */
static bool mmio_same_bytes(const uint8_t *a, const uint8_t *b, unsigned int length)
{
	unsigned int at = 0;

	return ((length & 8) == 0 || mmio_same_piece(a, b, &at, 8)) &&
	       ((length & 4) == 0 || mmio_same_piece(a, b, &at, 4)) &&
	       ((length & 2) == 0 || mmio_same_piece(a, b, &at, 2)) &&
	       ((length & 1) == 0 || mmio_same_piece(a, b, &at, 1));
}

/** The decode-cache slot of the instruction at @linear. */
static unsigned int mmio_decode_slot(uint64_t linear)
{
	return (unsigned int)(linear ^ (linear >> 3)) & (MMIO_DECODE_CACHE_ENTRIES - 1);
}

/**
 * The instruction at CS:RIP (linear @linear) from the vCPU's decode cache, or
 * NULL. A hit needs the entry's mode, and the entry's bytes found at @linear
 * in the first page of the fetch: the same translation and the same bytes of
 * RAM as mmio_fetch_decode() would read (the whole MIN(rest of the page, 15)
 * bytes in RAM), so its answer can only be the same as a fresh decode's. An
 * instruction that crosses a page, or a fetch that faults, takes that path.
 */
static const struct mmio_decoded *mmio_decoded_lookup(struct mmio_context *c, uint64_t linear)
{
	const struct mmio_decoded *entry =
		&c->vcpu->mmio_decoded.entries[mmio_decode_slot(linear)];
	unsigned int in_page = (unsigned int)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
	unsigned int want = MIN(in_page, (unsigned int)MAX_INSN_BYTES);
	unsigned int length = entry->insn.length;
	const uint8_t *code;
	uint32_t pf_error;
	gpa_t gpa;

	// cppcheck-suppress knownConditionTrueFalse ; mmio_decoded_store() fills entries
	if (length == 0 || length > want || entry->insn.mode != c->mode ||
	    guest_linear_to_physical(&c->paging, linear, mmio_fetch_access(c), partition_phys_read,
				     c->vcpu->partition, &gpa, &pf_error) != WALK_OK) {
		return NULL;
	}
	code = partition_gpa_to_ptr(c->vcpu->partition, gpa, want);
	if (code == NULL || !mmio_same_bytes(code, entry->bytes, length)) {
		return NULL;
	}
	return entry;
}

/** Remembers a successful decode of @bytes at @linear, replacing what shared its slot. */
static const struct mmio_decoded *mmio_decoded_store(struct vcpu *vcpu, uint64_t linear,
						     const uint8_t *bytes,
						     const struct x86_insn *insn)
{
	struct mmio_decoded *entry = &vcpu->mmio_decoded.entries[mmio_decode_slot(linear)];

	memcpy(entry->bytes, bytes, insn->length);
	entry->insn = *insn;
	entry->supported = x86_emulate_supported(insn);
	entry->gprs_used = x86_insn_gprs_used(insn);
	return entry;
}

/**
 * Reads up to MAX_INSN_BYTES of the instruction at CS:RIP into @bytes, the
 * second page only if the first does not hold the whole instruction (the CPU
 * faults on a following page only then). Returns the decode status; a fault
 * on the fetch is injected, *faulted set, and X86_DECODE_TRUNCATED returned.
 */
static enum x86_decode_status mmio_fetch_decode(struct mmio_context *c, uint64_t linear,
						uint8_t *bytes, unsigned int *length,
						struct x86_insn *insn, bool *faulted)
{
	unsigned int in_page = (unsigned int)(PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
	unsigned int want = MIN(in_page, (unsigned int)MAX_INSN_BYTES);
	enum x86_decode_status status = X86_DECODE_TRUNCATED;

	*faulted = false;
	for (*length = 0; status == X86_DECODE_TRUNCATED && *length < MAX_INSN_BYTES;) {
		uint32_t pf_error;
		uint64_t fault_linear;
		gpa_t gpa;
		enum guest_walk_result r = guest_read_linear(&c->paging, linear + *length, bytes + *length,
							     want - *length, mmio_fetch_access(c),
							     partition_phys_read, c->vcpu->partition,
							     &gpa, &pf_error, &fault_linear);

		if (r != WALK_OK) {
			if (r == WALK_PAGE_FAULT) {
				vmx_set_guest_cr2(c->vcpu, fault_linear);
				vcpu_inject_exception_error(14, pf_error);
			} else {
				vcpu_inject_exception_error(VECTOR_GP, 0);
			}
			*faulted = true;
			return X86_DECODE_TRUNCATED;
		}
		*length = want;
		want = MAX_INSN_BYTES;
		status = x86_decode(bytes, *length, c->mode, insn);
	}
	return status;
}

/**
 * Copies into the emulator's register file the registers the instruction
 * uses (x86_insn_gprs_used(): the emulator touches no others; RSP costs a
 * VMREAD), the rest 0; none written yet.
 */
static void mmio_load_regs(struct vcpu *vcpu, const struct vm_exit *exit,
			   const struct mmio_decoded *decoded, struct x86_regs *regs)
{
	*regs = (struct x86_regs){ .rip = exit->guest_rip };
	for (unsigned int used = decoded->gprs_used; used != 0; used &= used - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(used);

		regs->gpr[i] = vcpu_read_gpr(vcpu, i);
	}
	regs->rflags = vmcs_readl(VMCS_GUEST_RFLAGS);
}

/** Writes back what the emulator changed: the registers it wrote, RIP, and RFLAGS if it moved. */
static void mmio_store_regs(struct vcpu *vcpu, const struct x86_regs *regs, uint64_t rflags_before)
{
	for (unsigned int written = regs->written; written != 0; written &= written - 1) {
		unsigned int i = (unsigned int)__builtin_ctz(written);

		vcpu_write_gpr(vcpu, i, regs->gpr[i]);
	}
	vmcs_writel(VMCS_GUEST_RIP, regs->rip);
	if (regs->rflags != rflags_before) {
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

/**
 * Fetches and decodes the instruction at @linear, which the decode cache did
 * not hold, and remembers it. NULL when there is nothing to emulate: a fault
 * or #UD/#GP was injected (*result EXIT_RESUME) or the partition was stopped
 * (*result EXIT_STOPPED). Out of line: the common case, a hit, then pays
 * nothing for the buffers here.
 */
__attribute__((noinline))
static const struct mmio_decoded *mmio_decode_miss(struct mmio_context *c,
						   const struct vm_exit *exit, uint64_t linear,
						   int *result)
{
	uint8_t bytes[MAX_INSN_BYTES];
	unsigned int length = 0;
	struct x86_insn insn = { .reason = "the instruction could not be fetched" };
	enum x86_decode_status decoded;
	bool faulted;

	decoded = mmio_fetch_decode(c, linear, bytes, &length, &insn, &faulted);
	*result = EXIT_RESUME;
	if (faulted) {
		return NULL; /* the guest handles the fault */
	}
	if (decoded == X86_DECODE_INVALID) {
		vcpu_inject_exception(VECTOR_UD);
		return NULL;
	}
	if (decoded == X86_DECODE_TOO_LONG) {
		vcpu_inject_exception_error(VECTOR_GP, 0);
		return NULL;
	}
	if (decoded != X86_DECODE_OK) {
		*result = mmio_refuse(c->vcpu, exit, exit->gpa, bytes, length, insn.reason);
		return NULL;
	}
	return mmio_decoded_store(c->vcpu, linear, bytes, &insn);
}

/**
 * The decoded instruction at the guest's RIP: from the decode cache, else
 * fetched and decoded (mmio_decode_miss(), which says what NULL means).
 */
static const struct mmio_decoded *mmio_decode(struct mmio_context *c, const struct vm_exit *exit,
					      int *result)
{
	uint64_t linear = mmio_linear(c, X86_SEG_CS, exit->guest_rip);
	const struct mmio_decoded *cached = mmio_decoded_lookup(c, linear);

	if (cached != NULL) {
		return cached;
	}
	return mmio_decode_miss(c, exit, linear, result);
}

/** Emulates the instruction that touched a device's range (see mmio.h). */
int mmio_emulate(struct vcpu *vcpu, const struct vm_exit *exit, const struct mmio_region *region)
{
	uint64_t seg_base[X86_SEG_GS + 1]; /* each written before it is read (seg_base_read) */
	struct mmio_context c = {
		.vcpu = vcpu, .exit_region = region, .cpl = vcpu_cpl(), .seg_base = seg_base,
	};
	gpa_t gpa = exit->gpa;
	const struct mmio_decoded *decoded;
	struct x86_regs regs;
	enum x86_emulate_status result;
	int stopped_or_injected = EXIT_RESUME;

	vcpu_paging_mode(&c.paging);
	c.mode = mmio_guest_mode(&c.paging);
	decoded = mmio_decode(&c, exit, &stopped_or_injected);
	if (decoded == NULL) {
		return stopped_or_injected;
	}
	mmio_load_regs(vcpu, exit, decoded, &regs);
	c.rflags = regs.rflags;
	result = decoded->supported
			 ? x86_emulate_checked(&decoded->insn, &regs, &mmio_emulate_ops, &c)
			 : X86_EMULATE_UNSUPPORTED;
	if (result == X86_EMULATE_OK) {
		mmio_store_regs(vcpu, &regs, c.rflags);
		vcpu_end_instruction_blocking(vcpu);
		return EXIT_RESUME;
	}
	if (c.not_ram) {
		return mmio_refuse(vcpu, exit, gpa, decoded->bytes, decoded->insn.length,
				   "an operand is neither RAM nor a device");
	}
	if (result == X86_EMULATE_FAULT) {
		/* Completed REP iterations stand, as on the CPU; RIP stays put. */
		mmio_store_regs(vcpu, &regs, c.rflags);
		return EXIT_RESUME; /* the callback injected #PF or #GP */
	}
	return mmio_refuse(vcpu, exit, gpa, decoded->bytes, decoded->insn.length, "not emulated");
}
