/*
 * The Linux/x86 boot protocol, loader side, as pure functions: check a
 * bzImage, decide where its pieces go in a partition's guest RAM, and build
 * the zero page (struct boot_params) the kernel reads at its 32-bit entry.
 *
 * Spec: the Linux kernel's Documentation/arch/x86/boot.rst ("The Linux/x86
 * Boot Protocol", cited below as boot.rst) and zero-page.rst. The caller
 * copies the bytes to the planned guest-physical addresses and starts the
 * vCPU as boot.rst's "32-bit Boot Protocol" says: protected mode, paging off,
 * flat 4 GiB segments (CS 0x10, DS/ES/SS 0x18), interrupts off,
 * ESI = plan.boot_params_gpa, EBP = EDI = EBX = 0, EIP = plan.kernel_gpa.
 *
 * Nothing here touches guest memory or hardware, so it is tested on the host.
 */
#ifndef TESSERA_HV_LINUX_BOOT_H
#define TESSERA_HV_LINUX_BOOT_H

#include "hv/layout.h"
#include "hv/types.h"

/* The zero page is one page (zero-page.rst). */
#define LINUX_BOOT_PARAMS_SIZE 4096

/* The oldest boot protocol accepted: 2.10 added init_size and pref_address. */
#define LINUX_MIN_PROTOCOL 0x020a

/* Room for a refusal reason, NUL included. */
#define LINUX_REASON_MAX 192

/* xloadflags bits (boot.rst, field xloadflags). */
#define LINUX_XLF_KERNEL_64               BIT(0) /* has the 64-bit entry at +0x200 */
#define LINUX_XLF_CAN_BE_LOADED_ABOVE_4G  BIT(1)

/*
 * Where the zero page goes: the base "X" of the real-mode segment in
 * boot.rst's "Memory Layout" and "Sample Boot Configuration", well above the
 * BIOS/MBR area below 0x1000. The zero page stands in for the real-mode
 * code, so the sample's segment layout follows: heap up to X + 0xe000, the
 * command line from there.
 */
#define LINUX_BOOT_PARAMS_GPA   0x10000ULL
#define LINUX_HEAP_END_OFFSET   0xe000ULL
#define LINUX_CMDLINE_GPA       (LINUX_BOOT_PARAMS_GPA + LINUX_HEAP_END_OFFSET)

/** What linux_image_parse() learned from a bzImage's setup header. */
struct linux_image {
	uint16_t version;          /* boot protocol, (major << 8) | minor */
	uint8_t setup_sects;       /* as in the file (0 means 4) */
	uint8_t loadflags;
	uint16_t xloadflags;
	bool kernel_64;            /* XLF_KERNEL_64 */
	bool can_load_above_4g;    /* XLF_CAN_BE_LOADED_ABOVE_4G */
	bool relocatable;          /* relocatable_kernel != 0 */
	uint8_t min_alignment;     /* log2 of the least alignment, 0 if none */
	uint32_t syssize;          /* protected-mode size in 16-byte paragraphs */
	uint32_t kernel_alignment; /* a power of two */
	uint32_t initrd_addr_max;  /* highest byte an initrd may occupy */
	uint32_t cmdline_size;     /* longest command line, NUL not counted */
	uint64_t pref_address;
	uint32_t init_size;        /* bytes the kernel needs from its start */
	uint32_t header_end;       /* file offset just past the setup header */
	uint64_t setup_size;       /* real-mode part incl. the boot sector */
	uint64_t kernel_size;      /* protected-mode part: the rest of the file */
	char reason[LINUX_REASON_MAX]; /* why parsing refused, if it did */
};

/** Where the pieces go in guest-physical memory, decided by linux_plan(). */
struct linux_plan {
	gpa_t boot_params_gpa;     /* the zero page: ESI at entry */
	gpa_t cmdline_gpa;         /* the command line, NUL-terminated */
	uint64_t cmdline_bytes;    /* bytes to copy there, NUL included */
	gpa_t kernel_gpa;          /* protected-mode part: code32_start and EIP */
	uint64_t kernel_reserved;  /* init_size bytes from kernel_gpa */
	gpa_t initrd_gpa;          /* 0 without an initrd */
	uint64_t initrd_size;
	bool quiet;                /* set QUIET_FLAG; false unless the caller sets it */
	char reason[LINUX_REASON_MAX]; /* why planning refused, if it did */
};

/**
 * Checks that image[0, size) is a bzImage Tessera can boot with the 32-bit
 * protocol (boot flag, "HdrS", protocol >= 2.10, LOADED_HIGH, a complete
 * setup and protected-mode part, sane alignment and sizes) and fills *out.
 * Returns NULL on success, else a one-line reason (kept in out->reason).
 */
const char *linux_image_parse(const void *image, uint64_t size,
			      struct linux_image *out);

/**
 * Places the zero page, the command line (cmdline_length bytes without its
 * NUL), the kernel's init_size area and an initrd of initrd_size bytes (0 for
 * none) in the partition's RAM regions ram[0, ram_count), ascending. Returns
 * NULL on success, else a one-line reason (kept in out->reason).
 */
const char *linux_plan(const struct linux_image *img,
		       const struct guest_region *ram, size_t ram_count,
		       uint64_t initrd_size, uint64_t cmdline_length,
		       struct linux_plan *out);

/**
 * Writes the command line as the kernel reads it, text and NUL, to
 * dst[0, dst_size) and returns how many bytes to copy to plan->cmdline_gpa
 * (plan->cmdline_bytes); returns 0, writing nothing, if cmdline is not the
 * length the plan was made for or dst is too small.
 */
size_t linux_cmdline_bytes(char *dst, size_t dst_size, const char *cmdline,
			   const struct linux_plan *plan);

/**
 * Builds the zero page for a parsed image (img from image) and its plan:
 * the setup header copied from the image, the loader's fields, the E820
 * map of the RAM regions ram[0, ram_count) and, for protocol >= 2.14, the
 * ACPI RSDP's address (0: the kernel scans for it).
 */
void linux_build_boot_params(uint8_t zero_page[LINUX_BOOT_PARAMS_SIZE],
			     const void *image, const struct linux_image *img,
			     const struct linux_plan *plan,
			     const struct guest_region *ram, size_t ram_count,
			     uint64_t initrd_size, uint64_t rsdp_gpa);

#endif /* TESSERA_HV_LINUX_BOOT_H */
