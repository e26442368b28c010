/*
 * The MMIO test device: registers with simple, exactly predictable
 * behaviour, so that a guest can check every instruction form the
 * interpreter emulates against a device (tests, and an operator's check that
 * MMIO emulation works on a machine). A partition gets it with
 * `test_device = yes`.
 *
 * Registers (offsets from VDEV_TEST_BASE):
 *   0x00-0x3f  scratch: 64 bytes that keep what is written, at any size and
 *              alignment (little-endian, as memory would)
 *   0x40       ID, read-only 32 bits: VDEV_TEST_ID
 *   0x48       accesses so far, read-only 64 bits (this read not counted)
 *   elsewhere  reads 0, writes ignored
 */
#ifndef TESSERA_HV_VDEV_TEST_H
#define TESSERA_HV_VDEV_TEST_H

#include "hv/mmio.h"

#define VDEV_TEST_BASE    0xf0000000ULL
#define VDEV_TEST_SIZE    0x1000ULL
#define VDEV_TEST_ID      0x54534554U /* "TEST" in memory order */
#define VDEV_TEST_SCRATCH 0x00
#define VDEV_TEST_SCRATCH_SIZE 64
#define VDEV_TEST_ID_REG  0x40
#define VDEV_TEST_COUNT   0x48

/** State of one partition's test device. */
struct vdev_test {
	uint8_t scratch[VDEV_TEST_SCRATCH_SIZE];
	uint64_t accesses;
};

/** The device's register model. */
extern const struct mmio_ops vdev_test_ops;

#endif /* TESSERA_HV_VDEV_TEST_H */
