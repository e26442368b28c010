/*
 * A fake current VMCS for host unit tests: vmx_vmread/vmx_vmwrite
 * (arch/x86/vmx_ops.h) over an array indexed by field encoding.
 */
#include <string.h>
#include "tests/unit/support/fake_vmcs.h"

#define FAKE_VMCS_FIELDS 0x8000

static uint64_t fake_vmcs_fields[FAKE_VMCS_FIELDS];

/** Clears every field. */
void fake_vmcs_reset(void)
{
	memset(fake_vmcs_fields, 0, sizeof(fake_vmcs_fields));
}

/** Reads a field of the fake VMCS. */
uint64_t vmx_vmread(uint32_t field)
{
	return fake_vmcs_fields[field % FAKE_VMCS_FIELDS];
}

/** Writes a field of the fake VMCS, truncated to the field's width. */
bool vmx_vmwrite(uint32_t field, uint64_t value)
{
	static const uint64_t width_masks[] = {
		[VMCS_WIDTH_16] = 0xffff,
		[VMCS_WIDTH_64] = ~0ULL,
		[VMCS_WIDTH_32] = 0xffffffff,
		[VMCS_WIDTH_NATURAL] = ~0ULL,
	};

	fake_vmcs_fields[field % FAKE_VMCS_FIELDS] = value & width_masks[VMCS_FIELD_WIDTH(field)];
	return true;
}
