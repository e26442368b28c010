/*
 * Port I/O of partitions that exits (SDM Vol. 3, 28.2.1, Table 28-5 for the
 * exit qualification): every port except the ranges the configuration passes
 * through to hardware (arch/x86/io_bitmap.c). The partition's virtual UART
 * claims 0x3f8-0x3ff, the platform (hv/platform.h) the PC's other ports, and
 * ports no device claims read as all-ones and drop writes, like an empty ISA
 * bus. An access that straddles the edge of a passed range exits too and is
 * treated as unclaimed.
 *
 * Each byte of an access goes to its own port, as on a bus, except where a
 * device decodes wider accesses itself (PCI configuration data, the ACPI PM
 * registers): an access wholly inside such a device reaches it as one.
 */
#include "hv/exit.h"
#include "hv/exit_cache.h"
#include "hv/guest_memory.h"
#include "hv/platform.h"
#include "hv/string.h"
#include "hv/vcpu_regs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"

#define IO_QUAL_SIZE_MASK 0x7
#define IO_QUAL_IN        (1U << 3)
#define IO_QUAL_STRING    (1U << 4)
#define IO_QUAL_REP       (1U << 5)
#define IO_QUAL_PORT_SHIFT 16
/* VM-exit instruction information for INS/OUTS (SDM 28.2.5, Table 28-8). */
#define IO_INFO_ADDRESS_SIZE(info) (((info) >> 7) & 7)
#define RFLAGS_DF (1ULL << 10)
#define GPR_RCX 1
#define GPR_RSI 6
#define GPR_RDI 7
/* Elements moved per exit; a longer REP resumes where it stopped. */
#define IO_STRING_BATCH 512

/** Whether @port is one of the virtual UART's. */
static bool io_is_uart(uint16_t port)
{
	return port >= VUART_PORT_BASE && port < VUART_PORT_BASE + VUART_PORT_COUNT;
}

/** Reads one byte of a port for the partition. */
static uint8_t io_read_byte(struct partition *p, uint16_t port)
{
	if (io_is_uart(port)) {
		uint8_t value = vuart_read(&p->uart, port - VUART_PORT_BASE);

		/* Reading RBR or IIR may end the UART's interrupt. */
		platform_uart_changed(p);
		return value;
	}
	if (platform_handles_port(p, port)) {
		return (uint8_t)platform_port_read(p, port, 1, cpu_rdtsc());
	}
	return 0xff;
}

/**
 * Whether reading the port changes nothing and gives the same value until
 * the partition's devices change (an OUT, a string I/O, an IN that is not
 * pure, input from the operator): so the exit fast path may answer it.
 */
static bool io_read_is_pure(const struct partition *p, uint16_t port)
{
	if (io_is_uart(port)) {
		return vuart_read_is_pure(&p->uart, port - VUART_PORT_BASE);
	}
	return platform_read_is_pure(p, port); /* and no device: all ones, always */
}

/** Writes one byte of a port for the partition. */
static void io_write_byte(struct partition *p, uint16_t port, uint8_t value)
{
	if (io_is_uart(port)) {
		vuart_write(&p->uart, port - VUART_PORT_BASE, value);
		platform_uart_changed(p);
	} else if (platform_handles_port(p, port)) {
		platform_port_write(p, port, 1, value, cpu_rdtsc());
	}
}

/** An IN of @size bytes: one access to a device that decodes it whole, else byte by byte. */
static uint32_t io_read(struct partition *p, uint16_t port, uint32_t size)
{
	uint32_t value = 0;

	if (platform_takes_whole_access(p, port, size)) {
		return platform_port_read(p, port, size, cpu_rdtsc());
	}
	for (uint32_t i = 0; i < size; i++) {
		value |= (uint32_t)io_read_byte(p, (uint16_t)(port + i)) << (8 * i);
	}
	return value;
}

/** An OUT of @size bytes: one access to a device that decodes it whole, else byte by byte. */
static void io_write(struct partition *p, uint16_t port, uint32_t size, uint32_t value)
{
	if (platform_takes_whole_access(p, port, size)) {
		platform_port_write(p, port, size, value, cpu_rdtsc());
		return;
	}
	for (uint32_t i = 0; i < size; i++) {
		io_write_byte(p, (uint16_t)(port + i), (uint8_t)(value >> (8 * i)));
	}
}

/** Moves one element between a port and the buffer (IN fills it, OUT drains it). */
static void io_transfer(struct partition *p, uint16_t port, uint8_t *element, uint32_t size,
			bool in)
{
	uint32_t value = 0;

	if (in) {
		value = io_read(p, port, size);
		memcpy(element, &value, size);
	} else {
		memcpy(&value, element, size);
		io_write(p, port, size, value);
	}
}

/** Writes a register as an address-size-wide string counter or pointer does. */
static void io_write_sized(struct vcpu *vcpu, unsigned int gpr, uint64_t value, uint64_t mask)
{
	uint64_t old = vcpu_read_gpr(vcpu, gpr);

	/* 16-bit forms keep the upper bits; 32-bit ones zero-extend (SDM 3.4.1.1). */
	vcpu_write_gpr(vcpu, gpr, mask == 0xffff ? (old & ~mask) | (value & mask) : value & mask);
}

/**
 * INS/OUTS, with or without REP: elements go between the port and guest
 * memory at ES:RDI (INS) or seg:RSI (OUTS), whose linear address the VMCS
 * gives for the first element; at most IO_STRING_BATCH per exit, the
 * instruction then runs again for the rest (SDM Vol. 2B, INS/OUTS, REP).
 */
static enum exit_result exit_handle_string_io(struct vcpu *vcpu, const struct vm_exit *exit,
					      uint16_t port, uint32_t size, bool in)
{
	static const uint64_t masks[] = { 0xffff, 0xffffffffULL, ~0ULL };
	uint32_t info = vmcs_read32(VMCS_EXIT_INSTRUCTION_INFO);
	uint64_t mask = masks[MIN(IO_INFO_ADDRESS_SIZE(info), 2U)];
	bool rep = (exit->qualification & IO_QUAL_REP) != 0;
	uint64_t count = rep ? vcpu_read_gpr(vcpu, GPR_RCX) & mask : 1;
	int64_t step = (vmcs_readl(VMCS_GUEST_RFLAGS) & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
	unsigned int pointer = in ? GPR_RDI : GPR_RSI;
	uint64_t linear = vmcs_readl(VMCS_GUEST_LINEAR_ADDRESS);
	uint64_t done = 0;

	for (; done < count && done < IO_STRING_BATCH; done++, linear += step) {
		uint8_t element[4] = { 0, 0, 0, 0 };
		bool not_ram = false;

		if (!in && !vcpu_access_linear(vcpu, linear, element, size, false, &not_ram)) {
			break;
		}
		io_transfer(vcpu->partition, port, element, size, in);
		if (in && !vcpu_access_linear(vcpu, linear, element, size, true, &not_ram)) {
			break;
		}
		if (not_ram) {
			break;
		}
	}
	io_write_sized(vcpu, pointer, vcpu_read_gpr(vcpu, pointer) + (uint64_t)step * done, mask);
	if (rep) {
		io_write_sized(vcpu, GPR_RCX, count - done, mask);
	}
	if (vmcs_read32(VMCS_ENTRY_INTERRUPTION_INFO) & VMCS_INTR_INFO_VALID) {
		return EXIT_RESUME; /* a fault: the instruction restarts after the handler */
	}
	if (done < count && (!rep || done < IO_STRING_BATCH)) {
		partition_stop(vcpu->partition, "string I/O on port %#x reached memory that is not "
			       "RAM at linear %#llx, guest rip %#llx", port,
			       (unsigned long long)linear, (unsigned long long)exit->guest_rip);
		return EXIT_STOPPED;
	}
	if (done == count) {
		vcpu_advance_rip(vcpu, exit);
	}
	return EXIT_RESUME;
}

/**
 * After an IN: a pure read is remembered for the exit fast path, keyed on
 * the qualification's port, direction and size; one that was not pure
 * changed a device, so every remembered read of the partition goes.
 */
static void io_remember_read(struct vcpu *vcpu, uint64_t qualification, uint32_t size,
			     uint32_t value, bool pure)
{
	static const uint32_t widths[] = { [1] = EXIT_CACHE_OUT_AL, [2] = EXIT_CACHE_OUT_AX,
					   [4] = EXIT_CACHE_OUT_EAX };

	if (!pure) {
		partition_devices_changed(vcpu->partition);
		return;
	}
	exit_cache_store(vcpu, EXIT_REASON_IO_INSTRUCTION,
			 (uint32_t)(qualification & EXIT_CACHE_IO_KEY_MASK), 0,
			 &(struct exit_answer){ .outputs = widths[size], .eax = value });
}

/** IN of 1, 2 or 4 bytes into RAX; remembered for the fast path when pure. */
static void io_handle_in(struct vcpu *vcpu, const struct vm_exit *exit, uint16_t port,
			 uint32_t size)
{
	uint32_t value;
	bool pure = true;

	for (uint32_t i = 0; i < size; i++) {
		pure &= io_read_is_pure(vcpu->partition, (uint16_t)(port + i));
	}
	value = io_read(vcpu->partition, port, size);
	/* A 32-bit IN zero-extends into RAX; 8/16-bit ones merge. */
	if (size == 4) {
		vcpu->regs.rax = value;
	} else {
		uint64_t mask = (1ULL << (8 * size)) - 1;

		vcpu->regs.rax = (vcpu->regs.rax & ~mask) | value;
	}
	io_remember_read(vcpu, exit->qualification, size, value, pure);
}

/**
 * After the access: a write that reset or powered off the machine ends the
 * partition (and may boot it again); its vCPU is not entered again.
 */
static enum exit_result io_finish(struct vcpu *vcpu, enum exit_result result)
{
	struct partition *p = vcpu->partition;

	if (result == EXIT_STOPPED || !platform_end_requested(p)) {
		return result;
	}
	return platform_end_partition(p) ? EXIT_RESCHEDULE : EXIT_STOPPED;
}

/** IN/OUT of 1, 2 or 4 bytes, or INS/OUTS: to the UART, the platform, or nothing. */
enum exit_result exit_handle_io(struct vcpu *vcpu, const struct vm_exit *exit)
{
	uint32_t size = (uint32_t)(exit->qualification & IO_QUAL_SIZE_MASK) + 1;
	uint16_t port = (uint16_t)(exit->qualification >> IO_QUAL_PORT_SHIFT);
	bool in = (exit->qualification & IO_QUAL_IN) != 0;

	if (exit->qualification & IO_QUAL_STRING) {
		partition_devices_changed(vcpu->partition);
		return io_finish(vcpu, exit_handle_string_io(vcpu, exit, port, size, in));
	}
	if (in) {
		io_handle_in(vcpu, exit, port, size);
	} else {
		partition_devices_changed(vcpu->partition);
		io_write(vcpu->partition, port, size, (uint32_t)vcpu->regs.rax);
	}
	vcpu_advance_rip(vcpu, exit);
	return io_finish(vcpu, EXIT_RESUME);
}
