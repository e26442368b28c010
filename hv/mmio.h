/*
 * Memory-mapped virtual devices: guest-physical ranges that no RAM backs and
 * a device claims. A guest access there is an EPT violation that the
 * interpreter turns into a call of the device's read or write.
 */
#ifndef TESSERA_HV_MMIO_H
#define TESSERA_HV_MMIO_H

#include "hv/types.h"
#include "hv/x86_decode.h"

struct vcpu;
struct vm_exit;

/** A device's register accesses (offset within its range, 1-8 bytes). */
struct mmio_ops {
	uint64_t (*read)(void *device, uint64_t offset, unsigned int size);
	void (*write)(void *device, uint64_t offset, uint64_t value, unsigned int size);
};

/**
 * One claimed range of a partition's guest-physical space. A NULL device is
 * the accessing vCPU's own local APIC: the one device a PC has per CPU, all
 * at the same address.
 */
struct mmio_region {
	gpa_t base;
	uint64_t size;
	const struct mmio_ops *ops;
	void *device;
};

#define PARTITION_MAX_MMIO 8

/** The partition's claimed ranges. */
struct mmio_map {
	struct mmio_region regions[PARTITION_MAX_MMIO];
	unsigned int count;
};

/** Claims [base, base + size) for a device; false when full or overlapping. */
bool mmio_map_add(struct mmio_map *map, gpa_t base, uint64_t size, const struct mmio_ops *ops,
		  void *device);

/** The region that holds @gpa, or NULL. */
const struct mmio_region *mmio_map_find(const struct mmio_map *map, gpa_t gpa);

/* Instructions a vCPU keeps decoded (a power of two: the slot is masked). */
#define MMIO_DECODE_CACHE_ENTRIES 8

/**
 * One instruction as decoded, with the bytes it was decoded from; its mode is
 * insn.mode, and insn.length 0 marks an empty entry. Decoding is a pure
 * function of the bytes and the mode, so an entry is right wherever the same
 * bytes are fetched in the same mode, whatever the guest rewrote meanwhile:
 * the bytes are fetched and compared on every use, and nothing ever has to
 * forget an entry.
 */
struct mmio_decoded {
	uint8_t bytes[X86_MAX_INSN_LENGTH];
	bool supported;     /* x86_emulate_supported(&insn), asked once */
	uint16_t gprs_used; /* x86_insn_gprs_used(&insn): the registers to load */
	struct x86_insn insn;
};

/** A vCPU's decoded MMIO instructions, by a hash of their linear address. */
struct mmio_decode_cache {
	struct mmio_decoded entries[MMIO_DECODE_CACHE_ENTRIES];
};

/**
 * Emulates the instruction that made an EPT violation at exit->gpa inside
 * @region, the claimed region that holds it: fetches it through the guest's
 * page tables, decodes, runs it against the device and guest memory, writes
 * registers back and advances RIP. The decode of an instruction seen before
 * comes from the vCPU's struct mmio_decode_cache once the bytes fetched now
 * compare equal. A fault while emulating is injected into the guest; an
 * instruction the interpreter does not handle stops the partition, naming
 * its bytes. Returns the exit result.
 */
int mmio_emulate(struct vcpu *vcpu, const struct vm_exit *exit, const struct mmio_region *region);

#endif /* TESSERA_HV_MMIO_H */
