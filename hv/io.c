/*
 * Port I/O of partitions (SDM Vol. 3, 28.2.1, Table 28-5 for the exit
 * qualification). Every port traps; the partition's virtual UART claims
 * 0x3f8-0x3ff, and ports no device claims read as all-ones and drop writes,
 * like an empty ISA bus.
 */
#include "hv/exit.h"
#include "arch/x86/vmcs.h"

#define IO_QUAL_SIZE_MASK 0x7
#define IO_QUAL_IN        (1U << 3)
#define IO_QUAL_STRING    (1U << 4)
#define IO_QUAL_PORT_SHIFT 16

/** Reads one byte of a port for the partition. */
static uint8_t io_read_byte(struct partition *p, uint16_t port)
{
	if (port >= VUART_PORT_BASE && port < VUART_PORT_BASE + VUART_PORT_COUNT) {
		return vuart_read(&p->uart, port - VUART_PORT_BASE);
	}
	return 0xff;
}

/** Writes one byte of a port for the partition. */
static void io_write_byte(struct partition *p, uint16_t port, uint8_t value)
{
	if (port >= VUART_PORT_BASE && port < VUART_PORT_BASE + VUART_PORT_COUNT) {
		vuart_write(&p->uart, port - VUART_PORT_BASE, value);
	}
}

/** IN/OUT of 1, 2 or 4 bytes: each byte goes to its own port, as on a bus. */
enum exit_result exit_handle_io(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint32_t size = (uint32_t)(exit->qualification & IO_QUAL_SIZE_MASK) + 1;
	uint16_t port = (uint16_t)(exit->qualification >> IO_QUAL_PORT_SHIFT);
	bool in = (exit->qualification & IO_QUAL_IN) != 0;

	if (exit->qualification & IO_QUAL_STRING) {
		partition_stop(vcpu->partition, "string I/O (INS/OUTS) on port %#x is not emulated yet, "
			       "guest rip %#llx", port, (unsigned long long)exit->guest_rip);
		return EXIT_STOPPED;
	}
	if (in) {
		uint64_t value = 0;

		for (uint32_t i = 0; i < size; i++) {
			value |= (uint64_t)io_read_byte(vcpu->partition, (uint16_t)(port + i)) << (8 * i);
		}
		/* A 32-bit IN zero-extends into RAX; 8/16-bit ones merge. */
		if (size == 4) {
			vcpu->regs.rax = value;
		} else {
			uint64_t mask = (1ULL << (8 * size)) - 1;

			vcpu->regs.rax = (vcpu->regs.rax & ~mask) | value;
		}
	} else {
		for (uint32_t i = 0; i < size; i++) {
			io_write_byte(vcpu->partition, (uint16_t)(port + i),
				      (uint8_t)(vcpu->regs.rax >> (8 * i)));
		}
	}
	vcpu_advance_rip(vcpu, exit);
	return EXIT_RESUME;
}
