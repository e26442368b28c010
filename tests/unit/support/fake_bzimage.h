/*
 * A synthetic bzImage for the host tests of the Linux loader (hv/linux_boot.c,
 * hv/partition_boot.c): built field by field at the offsets of boot.rst's
 * setup header table, shaped like a 64-bit distribution kernel's.
 */
#ifndef TESSERA_TESTS_UNIT_SUPPORT_FAKE_BZIMAGE_H
#define TESSERA_TESTS_UNIT_SUPPORT_FAKE_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Setup header offsets (boot.rst, "The Real-Mode Kernel Header"). */
#define T_SETUP_SECTS     0x1f1
#define T_ROOT_FLAGS      0x1f2
#define T_SYSSIZE         0x1f4
#define T_VID_MODE        0x1fa
#define T_ROOT_DEV        0x1fc
#define T_BOOT_FLAG       0x1fe
#define T_JUMP            0x200
#define T_HEADER          0x202
#define T_VERSION         0x206
#define T_KERNEL_VERSION  0x20e
#define T_TYPE_OF_LOADER  0x210
#define T_LOADFLAGS       0x211
#define T_CODE32_START    0x214
#define T_RAMDISK_IMAGE   0x218
#define T_RAMDISK_SIZE    0x21c
#define T_HEAP_END_PTR    0x224
#define T_EXT_LOADER_VER  0x226
#define T_EXT_LOADER_TYPE 0x227
#define T_CMD_LINE_PTR    0x228
#define T_INITRD_ADDR_MAX 0x22c
#define T_KERNEL_ALIGN    0x230
#define T_RELOCATABLE     0x234
#define T_MIN_ALIGNMENT   0x235
#define T_XLOADFLAGS      0x236
#define T_CMDLINE_SIZE    0x238
#define T_PREF_ADDRESS    0x258
#define T_INIT_SIZE       0x260
#define T_HANDOVER_OFFSET 0x264
#define T_KERNEL_INFO     0x268

/* The synthetic image: 4 setup sectors + boot sector, 4 KiB of kernel. */
#define T_SETUP_BYTES     2560 /* 5 sectors of 512 bytes */
#define T_KERNEL_BYTES    4096
#define T_IMAGE_BYTES     (T_SETUP_BYTES + T_KERNEL_BYTES)
/* A marker byte just before the setup header, which must not reach the zero page. */
#define T_SENTINEL        0x1ef
#define T_HEADER_END      0x26c /* 0x202 + the jump's 0x6a, as in 2.15 kernels */
#define T_PREF            0x1000000ULL
#define T_ALIGN           0x200000U
#define T_INIT_BYTES      0x2000000U
#define T_INITRD_MAX      0x7fffffffU
#define T_CMDLINE_MAX     2047U

/** Stores value little-endian in size bytes at buf[offset]. */
void t_put(uint8_t *buf, size_t offset, uint64_t value, size_t size);

/** The little-endian value of size bytes at buf[offset]. */
uint64_t t_get(const uint8_t *buf, size_t offset, size_t size);

/**
 * Builds a protocol 2.15 bzImage like a 64-bit distribution kernel's, with
 * marker bytes around the header (0x1ef, 0x26c-0x28f) that must not reach
 * the zero page and a patterned protected-mode part.
 */
void fake_bzimage_build(uint8_t *image, size_t size);

#endif /* TESSERA_TESTS_UNIT_SUPPORT_FAKE_BZIMAGE_H */
