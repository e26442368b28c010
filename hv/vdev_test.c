/*
 * The MMIO test device's register model (see vdev_test.h).
 */
#include "hv/vdev_test.h"
#include "hv/string.h"

/** True when [offset, offset + size) lies inside the scratch bytes. */
static bool vdev_test_in_scratch(uint64_t offset, unsigned int size)
{
	return offset < VDEV_TEST_SCRATCH_SIZE && size <= VDEV_TEST_SCRATCH_SIZE - offset;
}

/** A register read of 1-8 bytes. */
static uint64_t vdev_test_read(void *device, uint64_t offset, unsigned int size)
{
	struct vdev_test *t = device;
	uint64_t value = 0;

	if (vdev_test_in_scratch(offset, size)) {
		memcpy(&value, t->scratch + offset, size);
	} else if (offset == VDEV_TEST_ID_REG) {
		value = VDEV_TEST_ID;
	} else if (offset == VDEV_TEST_COUNT) {
		return t->accesses;
	}
	t->accesses++;
	return size == 8 ? value : value & ((1ULL << (8 * size)) - 1);
}

/** A register write of 1-8 bytes. */
static void vdev_test_write(void *device, uint64_t offset, uint64_t value, unsigned int size)
{
	struct vdev_test *t = device;

	if (vdev_test_in_scratch(offset, size)) {
		memcpy(t->scratch + offset, &value, size);
	}
	t->accesses++;
}

const struct mmio_ops vdev_test_ops = {
	.read = vdev_test_read,
	.write = vdev_test_write,
};
