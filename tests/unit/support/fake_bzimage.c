/* The synthetic bzImage of fake_bzimage.h. */
#include <string.h>

#include "tests/unit/support/fake_bzimage.h"

/** Stores value little-endian in size bytes at buf[offset]. */
void t_put(uint8_t *buf, size_t offset, uint64_t value, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		buf[offset + i] = (uint8_t)(value >> (8 * i));
	}
}

/** The little-endian value of size bytes at buf[offset]. */
uint64_t t_get(const uint8_t *buf, size_t offset, size_t size)
{
	uint64_t value = 0;

	for (size_t i = size; i > 0; i--) {
		value = (value << 8) | buf[offset + i - 1];
	}
	return value;
}

/**
 * Builds a protocol 2.15 bzImage like a 64-bit distribution kernel's, with
 * marker bytes around the header (0x1ef, 0x26c-0x28f) that must not reach
 * the zero page and a patterned protected-mode part.
 */
void fake_bzimage_build(uint8_t *image, size_t size)
{
	memset(image, 0, size);
	for (size_t i = 0; i < T_SETUP_BYTES; i++) {
		image[i] = (uint8_t)(0x40 + i % 7);
	}
	for (size_t i = T_SETUP_BYTES; i < size; i++) {
		image[i] = (uint8_t)(i * 13);
	}
	image[T_SETUP_SECTS] = 4;
	t_put(image, T_ROOT_FLAGS, 1, 2);
	t_put(image, T_SYSSIZE, T_KERNEL_BYTES / 16, 4);
	t_put(image, 0x1f8, 0, 2);
	t_put(image, T_VID_MODE, 0, 2);
	t_put(image, T_ROOT_DEV, 0x0801, 2);
	t_put(image, T_BOOT_FLAG, 0xaa55, 2);
	image[T_JUMP] = 0xeb;
	image[T_JUMP + 1] = T_HEADER_END - 0x202;
	memcpy(image + T_HEADER, "HdrS", 4);
	t_put(image, T_VERSION, 0x020f, 2);
	t_put(image, 0x208, 0, 4);
	t_put(image, 0x20c, 0x1000, 2);
	t_put(image, T_KERNEL_VERSION, 0x3a0, 2);
	image[T_TYPE_OF_LOADER] = 0;
	image[T_LOADFLAGS] = 0x01;
	t_put(image, 0x212, 0x8000, 2);
	t_put(image, T_CODE32_START, 0x100000, 4);
	t_put(image, T_RAMDISK_IMAGE, 0, 8);
	t_put(image, 0x220, 0, 4);
	t_put(image, T_HEAP_END_PTR, 0, 4);
	t_put(image, T_CMD_LINE_PTR, 0, 4);
	t_put(image, T_INITRD_ADDR_MAX, T_INITRD_MAX, 4);
	t_put(image, T_KERNEL_ALIGN, T_ALIGN, 4);
	image[T_RELOCATABLE] = 1;
	image[T_MIN_ALIGNMENT] = 0x15;
	t_put(image, T_XLOADFLAGS, 0x7f, 2);
	t_put(image, T_CMDLINE_SIZE, T_CMDLINE_MAX, 4);
	t_put(image, 0x23c, 0, 4);
	t_put(image, 0x240, 0, 8);
	t_put(image, 0x248, 0x3b5, 4);
	t_put(image, 0x24c, 0x7a1d2c, 4);
	t_put(image, 0x250, 0, 8);
	t_put(image, T_PREF_ADDRESS, T_PREF, 8);
	t_put(image, T_INIT_SIZE, T_INIT_BYTES, 4);
	t_put(image, T_HANDOVER_OFFSET, 0x190, 4);
	t_put(image, T_KERNEL_INFO, 0x7b0040, 4);
	image[T_SENTINEL] = 0xff;
	memset(image + T_HEADER_END, 0xcc, 0x290 - T_HEADER_END);
}
