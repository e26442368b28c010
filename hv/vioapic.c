/*
 * The I/O APIC's register model and interrupt logic (see vioapic.h).
 *
 * References: Intel 82093AA I/O APIC data sheet (registers, section 3), and
 * the ICH9 data sheet's IOxAPIC chapter for version 0x20 and its EOI
 * register. Messages are handed over at once, so delivery status (bit 12)
 * always reads idle.
 */
#include "hv/vioapic.h"
#include "hv/check.h"
#include "hv/string.h"
#include "hv/vlapic.h"

/* MMIO offsets of the window (82093AA 3.1; EOI: ICH9 IOxAPIC). */
#define WINDOW_IOREGSEL 0x00
#define WINDOW_IOWIN    0x10
#define WINDOW_EOI      0x40

/* Registers behind IOWIN. */
#define REG_ID          0x00
#define REG_VERSION     0x01
#define REG_ARBITRATION 0x02
#define REG_REDIR_FIRST 0x10
#define REG_REDIR_LAST  (REG_REDIR_FIRST + 2 * VIOAPIC_PINS - 1)

#define ID_SHIFT 24
#define ID_MASK  0x0f
/* Version 0x20, maximum redirection entry 23 in bits 23:16, no PRQ. */
#define VERSION_VALUE (0x20U | ((uint32_t)(VIOAPIC_PINS - 1) << 16))

/* Redirection entry bits (82093AA 3.2.4). */
#define RTE_VECTOR_MASK     0xffULL
#define RTE_DELIVERY_SHIFT  8
#define RTE_DELIVERY_MASK   0x7ULL
#define RTE_DEST_LOGICAL    BIT(11)
#define RTE_DELIVERY_STATUS BIT(12)
#define RTE_ACTIVE_LOW      BIT(13)
#define RTE_REMOTE_IRR      BIT(14)
#define RTE_LEVEL           BIT(15)
#define RTE_MASKED          BIT(16)
#define RTE_DEST_SHIFT      56
/* What the guest can write: all but delivery status, remote IRR, reserved. */
#define RTE_LOW_WRITABLE    (0x7ffULL | RTE_DEST_LOGICAL | RTE_ACTIVE_LOW | RTE_LEVEL | RTE_MASKED)
#define RTE_HIGH_WRITABLE   (0xffULL << RTE_DEST_SHIFT)

/** Resets the I/O APIC: every entry masked, every pin low, the reset ID. */
void vioapic_init(struct vioapic *io, void (*deliver)(void *ctx, const struct vioapic_message *msg),
		  void *ctx)
{
	memset(io, 0, sizeof(*io));
	io->deliver = deliver;
	io->ctx = ctx;
	io->id = VIOAPIC_ID;
	for (unsigned int pin = 0; pin < VIOAPIC_PINS; pin++) {
		io->redirection[pin] = RTE_MASKED;
	}
}

/** True when the pin's level is the one its entry's polarity calls asserted. */
static bool vioapic_pin_asserted(const struct vioapic *io, unsigned int pin)
{
	bool high = (io->pin_high & (1U << pin)) != 0;
	bool active_low = (io->redirection[pin] & RTE_ACTIVE_LOW) != 0;

	return high != active_low;
}

/**
 * True when the entry follows the level-triggered protocol (remote IRR and
 * EOI). SMI, NMI, INIT and ExtINT require edge trigger mode (82093AA
 * 3.2.4), so only fixed and lowest-priority entries can be level-triggered.
 */
static bool vioapic_entry_is_level(uint64_t rte)
{
	uint64_t mode = (rte >> RTE_DELIVERY_SHIFT) & RTE_DELIVERY_MASK;

	return (rte & RTE_LEVEL) != 0 &&
	       (mode == VLAPIC_DELIVERY_FIXED || mode == VLAPIC_DELIVERY_LOWEST);
}

/** Sends pin's interrupt; a level-triggered one first sets remote IRR. */
static void vioapic_send(struct vioapic *io, unsigned int pin)
{
	uint64_t rte = io->redirection[pin];
	struct vioapic_message msg = {
		.vector = (uint8_t)(rte & RTE_VECTOR_MASK),
		.delivery_mode = (uint8_t)((rte >> RTE_DELIVERY_SHIFT) & RTE_DELIVERY_MASK),
		.logical = (rte & RTE_DEST_LOGICAL) != 0,
		.destination = (uint8_t)(rte >> RTE_DEST_SHIFT),
		.level_triggered = vioapic_entry_is_level(rte),
	};

	/* Set before delivering, so that an EOI from inside deliver() sees it. */
	if (msg.level_triggered) {
		io->redirection[pin] |= RTE_REMOTE_IRR;
	}
	io->delivered++;
	io->deliver(io->ctx, &msg);
}

/**
 * A level-triggered pin delivers while it is asserted, unmasked and the
 * previous delivery has been EOIed (remote IRR clear).
 */
static void vioapic_service_level(struct vioapic *io, unsigned int pin)
{
	uint64_t rte = io->redirection[pin];

	if (vioapic_entry_is_level(rte) && (rte & (RTE_MASKED | RTE_REMOTE_IRR)) == 0 &&
	    vioapic_pin_asserted(io, pin)) {
		vioapic_send(io, pin);
	}
}

/**
 * Sets the electrical level of input pin @gsi (true = high). An edge entry
 * delivers when the pin becomes asserted while unmasked (an edge on a
 * masked pin is lost, 82093AA 3.2.4 bit 16); a level entry delivers as
 * vioapic_service_level() says.
 */
void vioapic_set_irq(struct vioapic *io, unsigned int gsi, bool level)
{
	CHECK(gsi < VIOAPIC_PINS);
	bool was_asserted = vioapic_pin_asserted(io, gsi);
	uint64_t rte = io->redirection[gsi];

	if (level) {
		io->pin_high |= 1U << gsi;
	} else {
		io->pin_high &= ~(1U << gsi);
	}
	if (vioapic_entry_is_level(rte)) {
		vioapic_service_level(io, gsi);
	} else if (!was_asserted && vioapic_pin_asserted(io, gsi) && (rte & RTE_MASKED) == 0) {
		vioapic_send(io, gsi);
	}
}

/**
 * The EOI of @vector: every entry waiting for it (remote IRR set, same
 * vector) is freed, and delivers again if its pin is still asserted.
 */
void vioapic_eoi(struct vioapic *io, uint8_t vector)
{
	for (unsigned int pin = 0; pin < VIOAPIC_PINS; pin++) {
		uint64_t rte = io->redirection[pin];

		if ((rte & RTE_REMOTE_IRR) != 0 && (rte & RTE_VECTOR_MASK) == vector) {
			io->redirection[pin] = rte & ~RTE_REMOTE_IRR;
			vioapic_service_level(io, pin);
		}
	}
}

/** The value of the register behind IOWIN at @index. */
static uint32_t vioapic_register_read(const struct vioapic *io, uint8_t index)
{
	if (index >= REG_REDIR_FIRST && index <= REG_REDIR_LAST) {
		uint64_t rte = io->redirection[(index - REG_REDIR_FIRST) / 2];

		return (index & 1) != 0 ? (uint32_t)(rte >> 32) : (uint32_t)rte;
	}
	switch (index) {
	case REG_ID:
	case REG_ARBITRATION:
		/* The arbitration ID is loaded from the ID (82093AA 3.2.3). */
		return (uint32_t)io->id << ID_SHIFT;
	case REG_VERSION:
		return VERSION_VALUE;
	default:
		return 0;
	}
}

/**
 * A write of half of a redirection entry. Switching an entry to edge clears
 * remote IRR, which older OSes use to unstick a level entry; a change that
 * unmasks an asserted level pin delivers it.
 */
static void vioapic_redirection_write(struct vioapic *io, uint8_t index, uint32_t value)
{
	unsigned int pin = (index - REG_REDIR_FIRST) / 2;
	uint64_t rte = io->redirection[pin];

	if ((index & 1) != 0) {
		rte = (rte & ~RTE_HIGH_WRITABLE) | (((uint64_t)value << 32) & RTE_HIGH_WRITABLE);
	} else {
		rte = (rte & ~RTE_LOW_WRITABLE) | (value & RTE_LOW_WRITABLE);
		if ((rte & RTE_LEVEL) == 0) {
			rte &= ~RTE_REMOTE_IRR;
		}
	}
	io->redirection[pin] = rte;
	vioapic_service_level(io, pin);
}

/** A write of the register behind IOWIN at @index; read-only ones ignore it. */
static void vioapic_register_write(struct vioapic *io, uint8_t index, uint32_t value)
{
	if (index >= REG_REDIR_FIRST && index <= REG_REDIR_LAST) {
		vioapic_redirection_write(io, index, value);
	} else if (index == REG_ID) {
		io->id = (uint8_t)((value >> ID_SHIFT) & ID_MASK);
	}
}

/** The 32-bit window register at dword-aligned @offset (EOI is write-only). */
static uint32_t vioapic_window_dword(const struct vioapic *io, uint64_t offset)
{
	switch (offset) {
	case WINDOW_IOREGSEL:
		return io->select;
	case WINDOW_IOWIN:
		return vioapic_register_read(io, io->select);
	default:
		return 0;
	}
}

/**
 * A read of 1-8 bytes: the data sheet asks for dword accesses, but smaller
 * ones read their byte lanes of the dword, as memory would.
 */
static uint64_t vioapic_mmio_read(void *device, uint64_t offset, unsigned int size)
{
	const struct vioapic *io = device;
	uint64_t value = 0;

	for (unsigned int i = 0; i < size; i++) {
		uint64_t byte_offset = offset + i;
		uint32_t dword = vioapic_window_dword(io, ALIGN_DOWN(byte_offset, 4));
		uint64_t byte = (dword >> (8 * (byte_offset & 3))) & 0xff;

		value |= byte << (8 * i);
	}
	return value;
}

/**
 * A write of 1-8 bytes. IOREGSEL and EOI take bits 7:0 of a write of any
 * size at their offset; IOWIN takes only a write of all its 32 bits (a
 * partial write of a redirection entry would half-program it).
 */
static void vioapic_mmio_write(void *device, uint64_t offset, uint64_t value, unsigned int size)
{
	struct vioapic *io = device;

	switch (offset) {
	case WINDOW_IOREGSEL:
		io->select = (uint8_t)value;
		break;
	case WINDOW_IOWIN:
		if (size >= 4) {
			vioapic_register_write(io, io->select, (uint32_t)value);
		}
		break;
	case WINDOW_EOI:
		vioapic_eoi(io, (uint8_t)value);
		break;
	default:
		break;
	}
}

const struct mmio_ops vioapic_mmio_ops = {
	.read = vioapic_mmio_read,
	.write = vioapic_mmio_write,
};
