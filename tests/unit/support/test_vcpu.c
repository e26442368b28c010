/*
 * The one-vCPU fixture of the exit-handler tests (see test_vcpu.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/alloc.h"
#include "hv/phys.h"
#include "hv/vcpu_events.h"

#include "tests/unit/support/fake_vmcs.h"
#include "tests/unit/support/test_vcpu.h"

struct partition test_vcpu_partition;
struct partition_config test_vcpu_config;
/* The vCPU's local APIC registers (the virtual-APIC page on hardware). */
static uint8_t test_vcpu_apic_page[PAGE_SIZE] ALIGNED(PAGE_SIZE);

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
	vcpu->apic_page = test_vcpu_apic_page;
	vcpu_events_init(vcpu);
	return vcpu;
}

/** Gives @p @bytes of zeroed RAM from the fake arena (see test_vcpu.h). */
size_t test_give_partition_ram(struct partition *p, unsigned int id, uint64_t bytes)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(bytes, regions, ARRAY_SIZE(regions));

	assert_true(count > 0);
	for (size_t i = 0; i < count; i++) {
		struct partition_ram *r = &p->ram[i];

		assert_true(alloc_pages(regions[i].size / PAGE_SIZE, 1, OWNER_PARTITION(id), &r->hpa));
		r->gpa = regions[i].base;
		r->size = regions[i].size;
		memset(hpa_to_ptr(r->hpa), 0, r->size);
	}
	p->ram_count = count;
	return count;
}
