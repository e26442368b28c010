/*
 * hello: the smoke test of the guest interface. It checks what a guest can
 * see of Tessera (the CPUID leaves and every hypercall) and stops the
 * partition with 0 when all is as hv/hypercall_abi.h says, or with the code
 * of the first check that failed after printing what it expected and got.
 *
 * Tessera prefixes every console line with the partition's name, so the
 * lines printed here carry no "hello:" of their own.
 */
#include "guests/common/guest.h"

/* The first byte of the image (guests/guest.ld). */
extern char guest_image_start[];

/* A call number no version of the ABI will use. */
#define UNKNOWN_CALL 0x7fff

/*
 * Far above any RAM a test partition has, and not wrapping around 4 GiB
 * together with the short length used here.
 */
#define ADDRESS_OUTSIDE_RAM 0xfffff000U

/* Values put in registers that a call must not change. */
#define SENTINEL_ECX 0x11111111U
#define SENTINEL_EDX 0x22222222U
#define SENTINEL_ESI 0x33333333U

/** The exit codes: one per check, so the code alone says what failed. */
enum hello_result {
	HELLO_PASSED = 0,
	HELLO_BAD_CPUID_SIGNATURE = 1,
	HELLO_BAD_CPUID_MAX_LEAF = 2,
	HELLO_BAD_CPUID_ABI_VERSION = 3,
	HELLO_BAD_VERSION_CALL = 4,
	HELLO_REGISTERS_NOT_PRESERVED = 5,
	HELLO_BAD_PARTITION_INFO = 6,
	HELLO_BAD_UNKNOWN_CALL = 7,
	HELLO_BAD_CONSOLE_WRITE = 8,
	HELLO_BAD_CONSOLE_WRITE_TOO_LONG = 9,
	HELLO_BAD_CONSOLE_WRITE_FAULT = 10,
};

/** One check: its name for the log, its test, and its exit code on failure. */
struct hello_check {
	const char *name;
	bool (*passes)(void);
	enum hello_result failure;
};

/** Says whether got is expected; if not, prints both. */
static bool expect_u32(const char *what, uint32_t got, uint32_t expected)
{
	if (got == expected) {
		return true;
	}
	guest_printf("FAILED: %s: expected 0x%08x, got 0x%08x\n", what,
		     expected, got);
	return false;
}

/** Says whether a call returned the expected status; if not, prints both. */
static bool expect_status(const char *what, int32_t got, int32_t expected)
{
	if (got == expected) {
		return true;
	}
	guest_printf("FAILED: %s: expected status %d (%s), got %d (%s)\n",
		     what, expected, hc_status_name(expected), got,
		     hc_status_name(got));
	return false;
}

/**
 * CPUID 0x40000000 carries the signature. All three registers are compared
 * before deciding, so that a failure shows every wrong one.
 */
static bool cpuid_signature_passes(void)
{
	struct cpuid_result leaf = cpuid(TESSERA_CPUID_LEAF_BASE);
	bool ebx_ok = expect_u32("signature EBX", leaf.ebx,
				 TESSERA_CPUID_SIGNATURE_EBX);
	bool ecx_ok = expect_u32("signature ECX", leaf.ecx,
				 TESSERA_CPUID_SIGNATURE_ECX);
	bool edx_ok = expect_u32("signature EDX", leaf.edx,
				 TESSERA_CPUID_SIGNATURE_EDX);

	return ebx_ok && ecx_ok && edx_ok;
}

/** CPUID 0x40000000 EAX is the highest hypervisor leaf. */
static bool cpuid_max_leaf_passes(void)
{
	struct cpuid_result leaf = cpuid(TESSERA_CPUID_LEAF_BASE);

	return expect_u32("CPUID 0x40000000 EAX (max leaf)", leaf.eax,
			  TESSERA_CPUID_LEAF_MAX);
}

/** CPUID 0x40000001 EAX is the hypercall ABI version. */
static bool cpuid_abi_version_passes(void)
{
	struct cpuid_result leaf = cpuid(TESSERA_CPUID_LEAF_BASE + 1);

	return expect_u32("CPUID 0x40000001 EAX (ABI version)", leaf.eax,
			  TESSERA_HC_ABI_VERSION);
}

/** TESSERA_HC_VERSION succeeds and reports the version this guest knows. */
static bool version_call_passes(void)
{
	uint32_t version = 0;
	int32_t status = hc_version(&version);

	if (!expect_status("TESSERA_HC_VERSION", status, TESSERA_HC_SUCCESS)) {
		return false;
	}
	return expect_u32("TESSERA_HC_VERSION EBX (ABI version)", version,
			  TESSERA_HC_ABI_VERSION);
}

/**
 * A call keeps the registers it has no output in: TESSERA_HC_VERSION writes
 * only EAX and EBX, so ECX, EDX and ESI must come back as they went in.
 */
static bool registers_preserved_passes(void)
{
	struct hypercall_regs regs = {
		.eax = TESSERA_HC_VERSION,
		.ecx = SENTINEL_ECX,
		.edx = SENTINEL_EDX,
		.esi = SENTINEL_ESI,
	};
	bool ecx_ok;
	bool edx_ok;
	bool esi_ok;

	hypercall(&regs);
	ecx_ok = expect_u32("ECX after VMCALL", regs.ecx, SENTINEL_ECX);
	edx_ok = expect_u32("EDX after VMCALL", regs.edx, SENTINEL_EDX);
	esi_ok = expect_u32("ESI after VMCALL", regs.esi, SENTINEL_ESI);
	return ecx_ok && edx_ok && esi_ok;
}

/**
 * TESSERA_HC_PARTITION_INFO succeeds and describes a partition that can
 * exist: at least one vCPU and the 1 MiB this guest is running in.
 */
static bool partition_info_passes(void)
{
	struct partition_info info = { .id = 0 };
	int32_t status = hc_partition_info(&info);

	if (!expect_status("TESSERA_HC_PARTITION_INFO", status,
			   TESSERA_HC_SUCCESS)) {
		return false;
	}
	guest_printf("partition id %u, %u vCPU(s), %u MiB\n", info.id,
		     info.vcpu_count, info.memory_mib);
	if (info.vcpu_count == 0 || info.memory_mib == 0) {
		guest_printf("FAILED: partition info: expected vCPUs >= 1 and "
			     "memory >= 1 MiB\n");
		return false;
	}
	return true;
}

/** An unknown call number gets TESSERA_HC_ENOSYS and nothing else happens. */
static bool unknown_call_passes(void)
{
	struct hypercall_regs regs = { .eax = UNKNOWN_CALL };

	return expect_status("call 0x7fff", hypercall(&regs),
			     TESSERA_HC_ENOSYS);
}

/** TESSERA_HC_CONSOLE_WRITE of a whole line succeeds. */
static bool console_write_passes(void)
{
	static const char line[] = "this line came through "
				   "TESSERA_HC_CONSOLE_WRITE\n";

	/* sizeof - 1: the NUL is not part of the output. */
	return expect_status("TESSERA_HC_CONSOLE_WRITE",
			     hc_console_write(line, sizeof(line) - 1),
			     TESSERA_HC_SUCCESS);
}

/** One byte more than TESSERA_HC_CONSOLE_WRITE_MAX is refused with EINVAL. */
static bool console_write_too_long_passes(void)
{
	/* The guest's own image is RAM, so only the length is wrong. */
	return expect_status("TESSERA_HC_CONSOLE_WRITE of MAX + 1 bytes",
			     hc_console_write(guest_image_start,
					      TESSERA_HC_CONSOLE_WRITE_MAX + 1),
			     TESSERA_HC_EINVAL);
}

/** A buffer outside the partition's RAM is refused with EFAULT. */
static bool console_write_fault_passes(void)
{
	return expect_status("TESSERA_HC_CONSOLE_WRITE outside RAM",
			     hc_console_write((const void *)ADDRESS_OUTSIDE_RAM,
					      16),
			     TESSERA_HC_EFAULT);
}

/* The signature comes first: the hypercalls mean nothing without it. */
static const struct hello_check hello_checks[] = {
	{ "CPUID signature", cpuid_signature_passes,
	  HELLO_BAD_CPUID_SIGNATURE },
	{ "CPUID max leaf", cpuid_max_leaf_passes, HELLO_BAD_CPUID_MAX_LEAF },
	{ "CPUID ABI version", cpuid_abi_version_passes,
	  HELLO_BAD_CPUID_ABI_VERSION },
	{ "TESSERA_HC_VERSION", version_call_passes, HELLO_BAD_VERSION_CALL },
	{ "registers preserved", registers_preserved_passes,
	  HELLO_REGISTERS_NOT_PRESERVED },
	{ "TESSERA_HC_PARTITION_INFO", partition_info_passes,
	  HELLO_BAD_PARTITION_INFO },
	{ "unknown call", unknown_call_passes, HELLO_BAD_UNKNOWN_CALL },
	{ "TESSERA_HC_CONSOLE_WRITE", console_write_passes,
	  HELLO_BAD_CONSOLE_WRITE },
	{ "TESSERA_HC_CONSOLE_WRITE too long", console_write_too_long_passes,
	  HELLO_BAD_CONSOLE_WRITE_TOO_LONG },
	{ "TESSERA_HC_CONSOLE_WRITE outside RAM", console_write_fault_passes,
	  HELLO_BAD_CONSOLE_WRITE_FAULT },
};

/** Runs the checks in order and stops at the first that fails. */
int guest_main(void)
{
	guest_printf("hello from a Tessera test guest\n");
	for (size_t i = 0; i < ARRAY_SIZE(hello_checks); i++) {
		const struct hello_check *check = &hello_checks[i];

		if (!check->passes()) {
			guest_printf("check \"%s\" failed: exit code %u\n",
				     check->name, (uint32_t)check->failure);
			return check->failure;
		}
		guest_printf("ok: %s\n", check->name);
	}
	guest_printf("all checks passed\n");
	return HELLO_PASSED;
}
