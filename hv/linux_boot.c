/*
 * The Linux/x86 boot protocol, loader side: see hv/linux_boot.h.
 *
 * Offsets are those of boot.rst's setup header table and zero-page.rst; the
 * setup header sits at the same offsets in the bzImage file and in the zero
 * page, so one set of HDR_ offsets serves both.
 */
#include "hv/linux_boot.h"
#include "hv/check.h"
#include "hv/platform.h"
#include "hv/vioapic.h"
#include "hv/vlapic.h"
#include "hv/format.h"
#include "hv/string.h"

/* Setup header fields (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_START           0x1f1 /* setup_sects, the header's first byte */
#define HDR_SETUP_SECTS     0x1f1 /* u8: setup size in 512-byte sectors */
#define HDR_SYSSIZE         0x1f4 /* u32: protected-mode size in paragraphs */
#define HDR_VID_MODE        0x1fa /* u16: video mode */
#define HDR_BOOT_FLAG       0x1fe /* u16: 0xAA55 */
#define HDR_JUMP            0x200 /* u8 0xEB, then u8 header length past 0x202 */
#define HDR_JUMP_LENGTH     0x201
#define HDR_MAGIC           0x202 /* u32: "HdrS" */
#define HDR_VERSION         0x206 /* u16: boot protocol version */
#define HDR_TYPE_OF_LOADER  0x210 /* u8 */
#define HDR_LOADFLAGS       0x211 /* u8 */
#define HDR_CODE32_START    0x214 /* u32 */
#define HDR_RAMDISK_IMAGE   0x218 /* u32 */
#define HDR_RAMDISK_SIZE    0x21c /* u32 */
#define HDR_HEAP_END_PTR    0x224 /* u16 */
#define HDR_EXT_LOADER_VER  0x226 /* u8 */
#define HDR_EXT_LOADER_TYPE 0x227 /* u8 */
#define HDR_CMD_LINE_PTR    0x228 /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c /* u32 */
#define HDR_KERNEL_ALIGN    0x230 /* u32: kernel_alignment */
#define HDR_RELOCATABLE     0x234 /* u8: relocatable_kernel */
#define HDR_MIN_ALIGNMENT   0x235 /* u8 */
#define HDR_XLOADFLAGS      0x236 /* u16 */
#define HDR_CMDLINE_SIZE    0x238 /* u32 */
#define HDR_PREF_ADDRESS    0x258 /* u64 */
#define HDR_INIT_SIZE       0x260 /* u32 */
/* A 2.10 header reaches at least past init_size. */
#define HDR_END_MIN         0x264
/*
 * The header may not run into the zero page's next field, edd_mbr_sig_buffer
 * at 0x290 (boot.rst, "The kernel_info": the header is limited to 144 bytes
 * by the hole in boot_params it is copied into).
 */
#define HDR_END_MAX         0x290
/* Bytes a file needs before boot_flag, the jump, "HdrS" and version can be read. */
#define HDR_PROBE_SIZE      0x208

#define BOOT_FLAG_MAGIC     0xaa55
#define HDRS_MAGIC          0x53726448 /* "HdrS" little-endian */
#define JUMP_SHORT_OPCODE   0xeb
#define SECTOR_SIZE         512
#define DEFAULT_SETUP_SECTS 4          /* what setup_sects 0 means */
#define PARAGRAPH_SIZE      16         /* syssize unit */

/* loadflags bits (boot.rst, field loadflags). */
#define LOADFLAG_LOADED_HIGH  0x01
#define LOADFLAG_QUIET        0x20
#define LOADFLAG_CAN_USE_HEAP 0x80

/* "Otherwise, enter 0xFF here" (boot.rst, type_of_loader): no assigned ID. */
#define LOADER_TYPE_UNDEFINED 0xff
/* vid_mode "normal" (boot.rst, "Special Command Line Options"). */
#define VID_MODE_NORMAL       0xffff

/* Zero-page fields outside the setup header (zero-page.rst). */
#define ZP_ACPI_RSDP_ADDR     0x070 /* u64 */
#define ZP_EXT_RAMDISK_IMAGE  0x0c0 /* u32: ramdisk_image bits 63:32 */
#define ZP_EXT_RAMDISK_SIZE   0x0c4 /* u32: ramdisk_size bits 63:32 */
#define ZP_EXT_CMD_LINE_PTR   0x0c8 /* u32: cmd_line_ptr bits 63:32 */
#define ZP_E820_ENTRIES       0x1e8 /* u8 */
#define ZP_E820_TABLE         0x2d0 /* struct e820_entry[128] */
#define E820_ENTRY_SIZE       20    /* u64 addr, u64 size, u32 type */
#define E820_MAX_ENTRIES      128   /* 0xa00 bytes of table */
#define E820_TYPE_RAM         1
#define E820_TYPE_RESERVED    2
#define E820_TYPE_ACPI        3     /* ACPI tables, reclaimable once read */

/* acpi_rsdp_addr is honoured from protocol 2.14 (boot.rst's version table). */
#define PROTOCOL_ACPI_RSDP    0x020e

/* The kernel never goes below the bzImage load address (boot.rst, LOADED_HIGH). */
#define KERNEL_FLOOR          LAYOUT_HIGH_RAM_BASE
/* The 32-bit entry runs with paging off: all the kernel needs is below 4 GiB. */
#define BOOT_CEILING          LAYOUT_ABOVE_4G

/*
 * What the E820 map reports reserved besides RAM: the legacy VGA and BIOS
 * window, and the hole's firmware area from the I/O APIC (0xfec00000) to the
 * end of the local APIC's page (0xfee00000), where a PC's chipset decodes
 * them. Nothing of the hole is RAM, but marking these keeps the kernel from
 * placing PCI resources over them.
 */
#define FIRMWARE_AREA_BASE    VIOAPIC_BASE
#define FIRMWARE_AREA_END     (VLAPIC_DEFAULT_BASE + PAGE_SIZE)

/** One range of the E820 map the zero page carries. */
struct e820_range {
	uint64_t base;
	uint64_t size;
	uint32_t type;
};

/** The little-endian 16-bit value at bytes[offset]. */
static uint16_t get16(const uint8_t *bytes, size_t offset)
{
	return (uint16_t)(bytes[offset] | (bytes[offset + 1] << 8));
}

/** The little-endian 32-bit value at bytes[offset]. */
static uint32_t get32(const uint8_t *bytes, size_t offset)
{
	return (uint32_t)get16(bytes, offset) |
	       ((uint32_t)get16(bytes, offset + 2) << 16);
}

/** The little-endian 64-bit value at bytes[offset]. */
static uint64_t get64(const uint8_t *bytes, size_t offset)
{
	return (uint64_t)get32(bytes, offset) |
	       ((uint64_t)get32(bytes, offset + 4) << 32);
}

/** Stores value little-endian in size bytes at bytes[offset]. */
static void put_le(uint8_t *bytes, size_t offset, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		bytes[offset + i] = (uint8_t)(value >> (8 * i));
	}
}

/** Formats a refusal into reason and returns it. */
static PRINTF_LIKE(2, 3) const char *refuse(char reason[LINUX_REASON_MAX],
					     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format_vsnprintf(reason, LINUX_REASON_MAX, fmt, ap);
	va_end(ap);
	return reason;
}

/** Whether value is a power of two (0 is not). */
static bool is_power_of_two(uint64_t value)
{
	return value != 0 && (value & (value - 1)) == 0;
}

/**
 * Checks the boot sector's signature, "HdrS", the protocol version and the
 * header's own length (the jump at 0x200, boot.rst field "jump").
 */
static const char *parse_signature(const uint8_t *bytes, uint64_t size,
				   struct linux_image *out)
{
	if (size < HDR_PROBE_SIZE) {
		return refuse(out->reason, "truncated: %llu bytes, too short for a setup header at 0x%x",
			      (unsigned long long)size, HDR_START);
	}
	if (get16(bytes, HDR_BOOT_FLAG) != BOOT_FLAG_MAGIC) {
		return refuse(out->reason, "not a Linux bzImage: no boot flag 0xAA55 at 0x%x",
			      HDR_BOOT_FLAG);
	}
	if (get32(bytes, HDR_MAGIC) != HDRS_MAGIC) {
		return refuse(out->reason, "not a Linux bzImage: no HdrS magic at 0x%x", HDR_MAGIC);
	}
	out->version = get16(bytes, HDR_VERSION);
	if (out->version < LINUX_MIN_PROTOCOL) {
		return refuse(out->reason, "boot protocol %u.%02u is older than %u.%02u",
			      (unsigned int)(out->version >> 8), (unsigned int)(out->version & 0xff),
			      (unsigned int)(LINUX_MIN_PROTOCOL >> 8),
			      (unsigned int)(LINUX_MIN_PROTOCOL & 0xff));
	}
	if (bytes[HDR_JUMP] != JUMP_SHORT_OPCODE) {
		return refuse(out->reason, "not a Linux bzImage: no short jump (0xEB) at 0x%x",
			      HDR_JUMP);
	}
	out->header_end = HDR_MAGIC + bytes[HDR_JUMP_LENGTH];
	if (out->header_end < HDR_END_MIN || out->header_end > HDR_END_MAX) {
		return refuse(out->reason, "setup header ends at 0x%x, outside 0x%x-0x%x",
			      out->header_end, HDR_END_MIN, HDR_END_MAX);
	}
	if (size < out->header_end) {
		return refuse(out->reason, "truncated: the setup header ends at 0x%x but the file has %llu bytes",
			      out->header_end, (unsigned long long)size);
	}
	return NULL;
}

/** Copies the header fields a loader reads into out (boot.rst, "Details of Header Fields"). */
static void read_header_fields(const uint8_t *bytes, struct linux_image *out)
{
	out->setup_sects = bytes[HDR_SETUP_SECTS];
	out->syssize = get32(bytes, HDR_SYSSIZE);
	out->loadflags = bytes[HDR_LOADFLAGS];
	out->initrd_addr_max = get32(bytes, HDR_INITRD_ADDR_MAX);
	out->kernel_alignment = get32(bytes, HDR_KERNEL_ALIGN);
	out->relocatable = bytes[HDR_RELOCATABLE] != 0;
	out->min_alignment = bytes[HDR_MIN_ALIGNMENT];
	/* xloadflags is 2.12+; in older headers the bytes are padding. */
	out->xloadflags = out->version >= 0x020c ? get16(bytes, HDR_XLOADFLAGS) : 0;
	out->kernel_64 = (out->xloadflags & LINUX_XLF_KERNEL_64) != 0;
	out->can_load_above_4g = (out->xloadflags & LINUX_XLF_CAN_BE_LOADED_ABOVE_4G) != 0;
	out->cmdline_size = get32(bytes, HDR_CMDLINE_SIZE);
	out->pref_address = get64(bytes, HDR_PREF_ADDRESS);
	out->init_size = get32(bytes, HDR_INIT_SIZE);
}

/**
 * Splits the file into the real-mode part (boot sector and setup_sects
 * sectors, 0 meaning 4) and the protected-mode part, which is the rest of
 * the file: loaders copy all of it, and signed kernels carry a signature
 * past the syssize paragraphs, so syssize is only checked as a lower bound.
 */
static const char *parse_parts(uint64_t size, struct linux_image *out)
{
	uint64_t sectors = (out->setup_sects == 0 ? DEFAULT_SETUP_SECTS : out->setup_sects) + 1;
	uint64_t needed;

	out->setup_size = sectors * SECTOR_SIZE;
	if (size < out->setup_size) {
		return refuse(out->reason, "truncated: setup needs %llu sectors (%llu bytes) but the file has %llu bytes",
			      (unsigned long long)sectors, (unsigned long long)out->setup_size,
			      (unsigned long long)size);
	}
	if ((out->loadflags & LOADFLAG_LOADED_HIGH) == 0) {
		return refuse(out->reason, "not a bzImage: loadflags 0x%02x lacks LOADED_HIGH (a zImage loads at 0x10000)",
			      out->loadflags);
	}
	out->kernel_size = size - out->setup_size;
	if (out->kernel_size == 0) {
		return refuse(out->reason, "truncated: no protected-mode part after the %llu bytes of setup",
			      (unsigned long long)out->setup_size);
	}
	needed = (uint64_t)out->syssize * PARAGRAPH_SIZE;
	if (out->kernel_size < needed) {
		return refuse(out->reason, "truncated: syssize says the protected-mode part has %llu bytes but the file has %llu after setup",
			      (unsigned long long)needed, (unsigned long long)out->kernel_size);
	}
	return NULL;
}

/** Checks the fields the plan relies on: alignment, command line and init_size. */
static const char *parse_limits(struct linux_image *out)
{
	if (!is_power_of_two(out->kernel_alignment)) {
		return refuse(out->reason, "kernel_alignment 0x%x is not a power of two",
			      out->kernel_alignment);
	}
	if (out->cmdline_size == 0) {
		return refuse(out->reason, "cmdline_size is 0: the kernel takes no command line");
	}
	/* The protected-mode part is copied to the start of the init_size area. */
	if (out->init_size < out->kernel_size) {
		return refuse(out->reason, "init_size 0x%x is smaller than the protected-mode part (0x%llx bytes)",
			      out->init_size, (unsigned long long)out->kernel_size);
	}
	return NULL;
}

/** Checks a bzImage and fills *out; NULL on success, else the reason. */
const char *linux_image_parse(const void *image, uint64_t size,
			      struct linux_image *out)
{
	const uint8_t *bytes = image;
	const char *reason;

	memset(out, 0, sizeof(*out));
	reason = parse_signature(bytes, size, out);
	if (reason != NULL) {
		return reason;
	}
	read_header_fields(bytes, out);
	reason = parse_parts(size, out);
	if (reason != NULL) {
		return reason;
	}
	return parse_limits(out);
}

/** The end of a RAM region (one past its last byte). */
static uint64_t region_end(const struct guest_region *region)
{
	return gpa_addr(region->base) + region->size;
}

/** Whether [base, base + size) lies within one of the RAM regions. */
static bool ram_covers(const struct guest_region *ram, size_t ram_count,
		       uint64_t base, uint64_t size)
{
	for (size_t i = 0; i < ram_count; i++) {
		uint64_t start = gpa_addr(ram[i].base);

		if (base >= start && size <= ram[i].size &&
		    base - start <= ram[i].size - size) {
			return true;
		}
	}
	return false;
}

/** Whether [a, a + a_size) and [b, b + b_size) share a byte. */
static bool ranges_overlap(uint64_t a, uint64_t a_size, uint64_t b, uint64_t b_size)
{
	return a < b + b_size && b < a + a_size;
}

/**
 * Places the zero page and the command line in conventional memory: the
 * command line "anywhere between the end of the setup heap and 0xA0000"
 * (boot.rst, field cmd_line_ptr), which puts it from LINUX_CMDLINE_GPA up.
 */
static const char *plan_boot_data(const struct linux_image *img,
				  const struct guest_region *ram, size_t ram_count,
				  uint64_t cmdline_length, struct linux_plan *out)
{
	if (cmdline_length > img->cmdline_size) {
		return refuse(out->reason, "command line has %llu bytes, the kernel takes at most %u",
			      (unsigned long long)cmdline_length, img->cmdline_size);
	}
	out->boot_params_gpa = gpa_init(LINUX_BOOT_PARAMS_GPA);
	out->cmdline_gpa = gpa_init(LINUX_CMDLINE_GPA);
	out->cmdline_bytes = cmdline_length + 1;
	if (!ram_covers(ram, ram_count, LINUX_BOOT_PARAMS_GPA, LINUX_BOOT_PARAMS_SIZE)) {
		return refuse(out->reason, "no RAM for the zero page at 0x%llx",
			      LINUX_BOOT_PARAMS_GPA);
	}
	if (out->cmdline_bytes > LAYOUT_LOW_RAM_END - LINUX_CMDLINE_GPA ||
	    !ram_covers(ram, ram_count, LINUX_CMDLINE_GPA, out->cmdline_bytes)) {
		return refuse(out->reason, "no RAM for a command line of %llu bytes at 0x%llx below 640 KiB",
			      (unsigned long long)out->cmdline_bytes, LINUX_CMDLINE_GPA);
	}
	return NULL;
}

/** Whether the kernel's init_size area fits at addr: RAM from 1 MiB to 4 GiB. */
static bool kernel_fits(const struct guest_region *ram, size_t ram_count,
			uint64_t addr, uint64_t size)
{
	return addr >= KERNEL_FLOOR && addr <= BOOT_CEILING &&
	       size <= BOOT_CEILING - addr && ram_covers(ram, ram_count, addr, size);
}

/** The part of a RAM region the kernel may use, [1 MiB, 4 GiB); false if none. */
static bool kernel_window(const struct guest_region *region, uint64_t *start,
			  uint64_t *end)
{
	uint64_t base = gpa_addr(region->base);

	*start = base > KERNEL_FLOOR ? base : KERNEL_FLOOR;
	/* Not MIN(): cppcheck 2.10 folds a ternary against 2^32 to 0. */
	*end = region_end(region);
	if (*end > BOOT_CEILING) {
		*end = BOOT_CEILING;
	}
	return *start < *end;
}

/**
 * The lowest address aligned to align from 1 MiB where size bytes of RAM
 * below 4 GiB are free, or 0 if there is none.
 */
static uint64_t lowest_kernel_slot(const struct guest_region *ram, size_t ram_count,
				   uint64_t size, uint64_t align)
{
	for (size_t i = 0; i < ram_count; i++) {
		uint64_t start;
		uint64_t end;

		if (!kernel_window(&ram[i], &start, &end)) {
			continue;
		}
		/* No overflow: start < 2^48 and align < 2^32. */
		start = ALIGN_UP(start, align);
		if (start <= end && size <= end - start) {
			return start;
		}
	}
	return 0;
}

/** The size of the largest stretch of RAM between 1 MiB and 4 GiB, for refusals. */
static uint64_t largest_kernel_window(const struct guest_region *ram, size_t ram_count)
{
	uint64_t largest = 0;

	for (size_t i = 0; i < ram_count; i++) {
		uint64_t start;
		uint64_t end;

		if (kernel_window(&ram[i], &start, &end)) {
			largest = MAX(largest, end - start);
		}
	}
	return largest;
}

/**
 * Places the kernel's init_size area. boot.rst (field pref_address): "a
 * relocating bootloader should attempt to load at this address if
 * possible"; a kernel that is not relocatable "will unconditionally move
 * itself and run at this address", so it is loaded right there. Otherwise
 * the fallback is the lowest kernel_alignment-aligned address from 1 MiB,
 * the bzImage load address (boot.rst, "Loading The Rest of The Kernel"),
 * rather than from 16 MiB: 16 MiB is only the usual pref_address, already
 * tried, and starting low lets small partitions boot. The address is
 * aligned, so the runtime start (align_up(load_address, kernel_alignment),
 * boot.rst field init_size) is the load address and init_size counts from it.
 */
static const char *plan_kernel(const struct linux_image *img,
			       const struct guest_region *ram, size_t ram_count,
			       struct linux_plan *out)
{
	uint64_t size = img->init_size;
	uint64_t preferred = img->pref_address;
	uint64_t slot;

	if (img->relocatable && preferred <= BOOT_CEILING) {
		preferred = ALIGN_UP(preferred, img->kernel_alignment);
	}
	if (kernel_fits(ram, ram_count, preferred, size)) {
		slot = preferred;
	} else if (!img->relocatable) {
		return refuse(out->reason, "not relocatable and its preferred address 0x%llx (init_size 0x%x) is not RAM between 1 MiB and 4 GiB",
			      (unsigned long long)img->pref_address, img->init_size);
	} else {
		slot = lowest_kernel_slot(ram, ram_count, size, img->kernel_alignment);
	}
	if (slot == 0) {
		return refuse(out->reason, "kernel needs init_size 0x%x bytes at 0x%llx or 0x%x-aligned from 1 MiB, partition has 0x%llx bytes of RAM there at most",
			      img->init_size, (unsigned long long)img->pref_address,
			      img->kernel_alignment,
			      (unsigned long long)largest_kernel_window(ram, ram_count));
	}
	out->kernel_gpa = gpa_init(slot);
	out->kernel_reserved = size;
	return NULL;
}

/**
 * The highest page-aligned address at which size bytes end at or below
 * ceiling, stay at or above floor and miss the kernel's area; 0 if none.
 */
static uint64_t initrd_slot_in(uint64_t floor, uint64_t ceiling, uint64_t size,
			       const struct linux_plan *plan)
{
	uint64_t kernel = gpa_addr(plan->kernel_gpa);

	/* Two tries: at the top, then just below the kernel if it was in the way. */
	for (int attempt = 0; attempt < 2; attempt++) {
		uint64_t slot;

		if (ceiling <= floor || size > ceiling - floor) {
			return 0;
		}
		slot = ALIGN_DOWN(ceiling - size, PAGE_SIZE);
		if (slot < floor) {
			return 0;
		}
		if (!ranges_overlap(slot, size, kernel, plan->kernel_reserved)) {
			return slot;
		}
		ceiling = kernel;
	}
	return 0;
}

/**
 * Places the initrd page-aligned and as high as it may go, as boot.rst
 * advises ("an initrd should be placed near end of memory", option mem=):
 * below initrd_addr_max (the highest byte it may occupy) and below 4 GiB,
 * where the 32-bit ramdisk_image reaches, and from 1 MiB up, leaving
 * conventional memory to the zero page and the kernel's early use.
 */
static const char *plan_initrd(const struct linux_image *img,
			       const struct guest_region *ram, size_t ram_count,
			       uint64_t initrd_size, struct linux_plan *out)
{
	uint64_t limit = MIN((uint64_t)img->initrd_addr_max + 1, BOOT_CEILING);

	out->initrd_size = initrd_size;
	if (initrd_size == 0) {
		return NULL;
	}
	for (size_t i = ram_count; i > 0; i--) {
		const struct guest_region *region = &ram[i - 1];
		uint64_t floor = MAX(gpa_addr(region->base), LAYOUT_HIGH_RAM_BASE);
		uint64_t slot = initrd_slot_in(floor, MIN(region_end(region), limit),
					       initrd_size, out);

		if (slot != 0) {
			out->initrd_gpa = gpa_init(slot);
			return NULL;
		}
	}
	return refuse(out->reason, "initrd of 0x%llx bytes does not fit in RAM from 1 MiB below 0x%llx beside the kernel at 0x%llx-0x%llx",
		      (unsigned long long)initrd_size, (unsigned long long)limit,
		      (unsigned long long)gpa_addr(out->kernel_gpa),
		      (unsigned long long)(gpa_addr(out->kernel_gpa) + out->kernel_reserved - 1));
}

/** Decides where the zero page, command line, kernel and initrd go. */
const char *linux_plan(const struct linux_image *img,
		       const struct guest_region *ram, size_t ram_count,
		       uint64_t initrd_size, uint64_t cmdline_length,
		       struct linux_plan *out)
{
	const char *reason;

	memset(out, 0, sizeof(*out));
	reason = plan_boot_data(img, ram, ram_count, cmdline_length, out);
	if (reason == NULL) {
		reason = plan_kernel(img, ram, ram_count, out);
	}
	if (reason == NULL) {
		reason = plan_initrd(img, ram, ram_count, initrd_size, out);
	}
	return reason;
}

/** Writes the command line and its NUL to dst; returns the bytes to copy. */
size_t linux_cmdline_bytes(char *dst, size_t dst_size, const char *cmdline,
			   const struct linux_plan *plan)
{
	size_t length = strnlen(cmdline, plan->cmdline_bytes);

	if (plan->cmdline_bytes == 0 || length + 1 != plan->cmdline_bytes ||
	    dst_size < plan->cmdline_bytes) {
		return 0;
	}
	memcpy(dst, cmdline, length);
	dst[length] = '\0';
	return length + 1;
}

/** Adds the reserved range [base, end) to ranges unless it overlaps RAM. */
static size_t add_reserved(struct e820_range *ranges, size_t count, uint64_t base,
			   uint64_t end, const struct guest_region *ram, size_t ram_count)
{
	for (size_t i = 0; i < ram_count; i++) {
		if (ranges_overlap(base, end - base, gpa_addr(ram[i].base), ram[i].size)) {
			return count;
		}
	}
	ranges[count] = (struct e820_range){
		.base = base, .size = end - base, .type = E820_TYPE_RESERVED
	};
	return count + 1;
}

/** Sorts ranges by base address (a handful of entries: insertion sort). */
static void sort_ranges(struct e820_range *ranges, size_t count)
{
	for (size_t i = 1; i < count; i++) {
		struct e820_range moving = ranges[i];
		size_t j = i;

		for (; j > 0 && ranges[j - 1].base > moving.base; j--) {
			ranges[j] = ranges[j - 1];
		}
		ranges[j] = moving;
	}
}

/**
 * Adds RAM region r to ranges as type 1, less the platform's ACPI tables
 * (PLATFORM_ACPI_BASE, in conventional memory), which are type 3 so that the
 * kernel reads them before it reuses their page.
 */
static size_t add_ram(struct e820_range *ranges, size_t count, const struct guest_region *r)
{
	uint64_t base = gpa_addr(r->base);
	uint64_t end = base + r->size;
	uint64_t acpi_end = PLATFORM_ACPI_BASE + PLATFORM_ACPI_SIZE;

	if (base > PLATFORM_ACPI_BASE || end < acpi_end) {
		ranges[count] = (struct e820_range){
			.base = base, .size = r->size, .type = E820_TYPE_RAM
		};
		return count + 1;
	}
	if (base < PLATFORM_ACPI_BASE) {
		ranges[count++] = (struct e820_range){
			.base = base, .size = PLATFORM_ACPI_BASE - base, .type = E820_TYPE_RAM
		};
	}
	ranges[count++] = (struct e820_range){
		.base = PLATFORM_ACPI_BASE, .size = PLATFORM_ACPI_SIZE, .type = E820_TYPE_ACPI
	};
	if (end > acpi_end) {
		ranges[count++] = (struct e820_range){
			.base = acpi_end, .size = end - acpi_end, .type = E820_TYPE_RAM
		};
	}
	return count;
}

/**
 * Writes the E820 map (zero-page.rst: e820_entries at 0x1e8, the table at
 * 0x2d0): each RAM region as type 1 but the ACPI tables as type 3, and as
 * type 2 the legacy window [640 KiB, 1 MiB) and the firmware area of the
 * hole, ascending.
 */
static void write_e820(uint8_t *zero_page, const struct guest_region *ram,
		       size_t ram_count)
{
	/* Each region, the tables' split adding two, and the two reserved areas. */
	struct e820_range ranges[LAYOUT_MAX_GUEST_RAM_REGIONS + 4];
	size_t count = 0;

	CHECK(ram_count <= LAYOUT_MAX_GUEST_RAM_REGIONS);
	for (size_t i = 0; i < ram_count; i++) {
		count = add_ram(ranges, count, &ram[i]);
	}
	count = add_reserved(ranges, count, LAYOUT_LOW_RAM_END, LAYOUT_HIGH_RAM_BASE,
			     ram, ram_count);
	count = add_reserved(ranges, count, FIRMWARE_AREA_BASE, FIRMWARE_AREA_END,
			     ram, ram_count);
	sort_ranges(ranges, count);
	for (size_t i = 0; i < count; i++) {
		size_t entry = ZP_E820_TABLE + i * E820_ENTRY_SIZE;

		put_le(zero_page, entry, ranges[i].base, 8);
		put_le(zero_page, entry + 8, ranges[i].size, 8);
		put_le(zero_page, entry + 16, ranges[i].type, 4);
	}
	zero_page[ZP_E820_ENTRIES] = (uint8_t)count;
}

/**
 * Fills the header fields a loader writes (boot.rst, "Details of Header
 * Fields" and the sample configuration): no assigned loader ID, the heap
 * of the sample's real-mode segment, the addresses the plan chose.
 */
static void write_loader_fields(uint8_t *zero_page, const struct linux_image *img,
				const struct linux_plan *plan)
{
	uint64_t initrd = gpa_addr(plan->initrd_gpa);
	uint64_t cmdline = gpa_addr(plan->cmdline_gpa);

	/* 0xFF is not type 0xE, so the ext_loader fields stay 0 ("if not written, it is zero"). */
	zero_page[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	zero_page[HDR_EXT_LOADER_VER] = 0;
	zero_page[HDR_EXT_LOADER_TYPE] = 0;
	/* Keep LOADED_HIGH (read); KASLR_FLAG is the kernel's, KEEP_SEGMENTS obsolete. */
	zero_page[HDR_LOADFLAGS] = (uint8_t)((img->loadflags & LOADFLAG_LOADED_HIGH) |
					     LOADFLAG_CAN_USE_HEAP |
					     (plan->quiet ? LOADFLAG_QUIET : 0));
	put_le(zero_page, HDR_HEAP_END_PTR, LINUX_HEAP_END_OFFSET - 0x200, 2);
	put_le(zero_page, HDR_VID_MODE, VID_MODE_NORMAL, 2);
	put_le(zero_page, HDR_CODE32_START, gpa_addr(plan->kernel_gpa), 4);
	put_le(zero_page, HDR_RAMDISK_IMAGE, initrd, 4);
	put_le(zero_page, HDR_RAMDISK_SIZE, plan->initrd_size, 4);
	put_le(zero_page, ZP_EXT_RAMDISK_IMAGE, initrd >> 32, 4);
	put_le(zero_page, ZP_EXT_RAMDISK_SIZE, plan->initrd_size >> 32, 4);
	put_le(zero_page, HDR_CMD_LINE_PTR, cmdline, 4);
	put_le(zero_page, ZP_EXT_CMD_LINE_PTR, cmdline >> 32, 4);
}

/** Builds the zero page for a parsed image and its plan. */
void linux_build_boot_params(uint8_t zero_page[LINUX_BOOT_PARAMS_SIZE],
			     const void *image, const struct linux_image *img,
			     const struct linux_plan *plan,
			     const struct guest_region *ram, size_t ram_count,
			     uint64_t initrd_size, uint64_t rsdp_gpa)
{
	const uint8_t *bytes = image;

	CHECK(img->header_end > HDR_START && img->header_end <= HDR_END_MAX);
	CHECK(initrd_size == plan->initrd_size);
	CHECK(gpa_addr(plan->kernel_gpa) < BOOT_CEILING);
	/* boot.rst, "32-bit Boot Protocol": zero it, then copy the header in. */
	memset(zero_page, 0, LINUX_BOOT_PARAMS_SIZE);
	memcpy(zero_page + HDR_START, bytes + HDR_START, img->header_end - HDR_START);
	write_loader_fields(zero_page, img, plan);
	write_e820(zero_page, ram, ram_count);
	/*
	 * Older kernels ignore acpi_rsdp_addr and find the RSDP by scanning the
	 * EBDA and 0xE0000-0xFFFFF, which then must hold it.
	 */
	if (img->version >= PROTOCOL_ACPI_RSDP && rsdp_gpa != 0) {
		put_le(zero_page, ZP_ACPI_RSDP_ADDR, rsdp_gpa, 8);
	}
}
