/*
 * escape: tries one memory access that a partition must never be able to
 * make, the kind of access a guest would try to break out of its partition.
 * Tessera must stop the partition at that access with an EPT violation
 * naming the access and the guest-physical address. If the access completes
 * instead, this guest prints "ESCAPED: ..." and stops with exit code 1,
 * which fails the test that runs it.
 *
 * One source, several guests: the guest folder's GUEST_DEFINES picks the
 * attempt (guests/escape-read-hv, guests/escape-write-other,
 * guests/escape-hole). Every address below lies outside the RAM of a
 * partition of up to 16 MiB (GPA [0, 0xA0000) and [0x100000, 0x1060000),
 * hv/layout.h), the size the isolation test gives it.
 *
 * Tessera prefixes every console line with the partition's name, so the
 * lines printed here carry no "escape:" of their own.
 */
#include "guests/common/guest.h"

#if defined(ESCAPE_READ_HV)
/*
 * In the Bochs rig (OVMF, 512 MiB), the hypervisor's own image lies at
 * host-physical 0x1e000000. If Tessera mapped guest-physical addresses
 * one-to-one onto host-physical ones, this read would return Tessera's code,
 * and a write there would take over the hypervisor.
 */
#define ESCAPE_GPA      0x1e000000U
#define ESCAPE_IS_WRITE false
#define ESCAPE_TARGET   "where the hypervisor's image lies in host memory"
#elif defined(ESCAPE_WRITE_OTHER)
/*
 * 64 MiB: above this partition's RAM but well inside the host's, where
 * Tessera allocates the frames of other partitions. Under a one-to-one
 * mapping this write would corrupt another partition's memory, which is
 * the worse of the two breaches, so this attempt writes rather than reads.
 */
#define ESCAPE_GPA      0x04000000U
#define ESCAPE_IS_WRITE true
#define ESCAPE_TARGET   "where other partitions' frames lie in host memory"
#elif defined(ESCAPE_HOLE)
/*
 * The HPET's registers, in the MMIO hole between 3 GiB and 4 GiB. A
 * partition that reached the physical HPET could disturb the host's timers.
 * Tessera emulates no HPET (the I/O APIC at 0xfec00000 is the partition's
 * own virtual one now), so this must be as unmapped as any other address
 * that is not the partition's RAM.
 */
#define ESCAPE_GPA      0xfed00000U
#define ESCAPE_IS_WRITE false
#define ESCAPE_TARGET   "the HPET in the MMIO hole"
#else
#error "build with one of -DESCAPE_READ_HV, -DESCAPE_WRITE_OTHER, -DESCAPE_HOLE"
#endif

/* What the write attempt stores: "ESC!", easy to spot in a memory dump. */
#define ESCAPE_MARKER 0x21435345U

/* The exit code when the access completed: isolation is broken. */
#define ESCAPE_SUCCEEDED 1

/**
 * The dword at ESCAPE_GPA (paging is off: the pointer is the guest-physical
 * address). Volatile, so the compiler emits the access exactly as written.
 */
static volatile uint32_t *escape_target(void)
{
	return (volatile uint32_t *)(uintptr_t)ESCAPE_GPA;
}

/** Reads ESCAPE_GPA; returns only if the read completed. */
static void try_read(void)
{
	uint32_t value;

	guest_printf("trying to read gpa 0x%08x (%s)\n", ESCAPE_GPA,
		     ESCAPE_TARGET);
	value = *escape_target();
	guest_printf("ESCAPED: read gpa 0x%08x and got 0x%08x\n", ESCAPE_GPA,
		     value);
}

/** Writes ESCAPE_GPA; returns only if the write completed. */
static void try_write(void)
{
	guest_printf("trying to write gpa 0x%08x (%s)\n", ESCAPE_GPA,
		     ESCAPE_TARGET);
	*escape_target() = ESCAPE_MARKER;
	guest_printf("ESCAPED: wrote 0x%08x to gpa 0x%08x\n", ESCAPE_MARKER,
		     ESCAPE_GPA);
}

/** Makes the one attempt; reaching the return means isolation failed. */
int guest_main(void)
{
	if (ESCAPE_IS_WRITE) {
		try_write();
	} else {
		try_read();
	}
	return ESCAPE_SUCCEEDED;
}
