/*
 * A one-vCPU partition without RAM and a clean fake VMCS: the fixture of the
 * exit-handler tests that need no guest memory.
 */
#ifndef TESSERA_TESTS_UNIT_SUPPORT_TEST_VCPU_H
#define TESSERA_TESTS_UNIT_SUPPORT_TEST_VCPU_H

#include "hv/partition.h"

/** The fixture's partition and its configuration. */
extern struct partition test_vcpu_partition;
extern struct partition_config test_vcpu_config;

/** Resets the fake VMCS and a running partition named @name; returns vCPU 0. */
struct vcpu *test_vcpu_setup(const char *name);

/**
 * Gives @p @bytes of zeroed RAM from the fake arena (fake_phys.h), one piece
 * per region of the partition layout, owned by partition @id; returns how
 * many pieces.
 */
size_t test_give_partition_ram(struct partition *p, unsigned int id, uint64_t bytes);

#endif /* TESSERA_TESTS_UNIT_SUPPORT_TEST_VCPU_H */
