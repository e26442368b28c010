/*
 * The one-vCPU fixture of the exit-handler tests (see test_vcpu.h).
 */
#include <stdio.h>
#include <string.h>

#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

struct partition test_vcpu_partition;
struct partition_config test_vcpu_config;

/** Resets the fake VMCS and a running partition named @name; returns vCPU 0. */
struct vcpu *test_vcpu_setup(const char *name)
{
	struct vcpu *vcpu = &test_vcpu_partition.vcpus[0];

	fake_vmcs_reset();
	memset(&test_vcpu_config, 0, sizeof(test_vcpu_config));
	snprintf(test_vcpu_config.name, sizeof(test_vcpu_config.name), "%s", name);
	test_vcpu_config.memory_bytes = MiB(16);
	memset(&test_vcpu_partition, 0, sizeof(test_vcpu_partition));
	test_vcpu_partition.config = &test_vcpu_config;
	test_vcpu_partition.state = PARTITION_RUNNING;
	test_vcpu_partition.vcpu_count = 1;
	vcpu->partition = &test_vcpu_partition;
	return vcpu;
}
