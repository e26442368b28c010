/*
 * A partition's virtual I/O APIC: an 82093AA-compatible I/O APIC of version
 * 0x20 (the ICH's IOxAPIC, which adds the EOI register) with 24 redirection
 * entries, at the architectural address 0xFEC00000.
 *
 * Registers of the MMIO window (offsets from VIOAPIC_BASE):
 *   0x00  IOREGSEL  selects the register IOWIN shows (bits 7:0)
 *   0x10  IOWIN     the selected register, 32 bits
 *   0x40  EOI       write: the vector of a level-triggered interrupt ended
 * Registers behind IOWIN:
 *   0x00  ID            bits 27:24
 *   0x01  version       0x00170020: 24 entries (max index 23), version 0x20
 *   0x02  arbitration   bits 27:24, read-only, follows the ID
 *   0x10-0x3f           redirection entries 0-23, low dword then high dword
 *
 * Device models drive the input pins with vioapic_set_irq(); an interrupt
 * leaves the I/O APIC as a message to the deliver() callback, which hands it
 * to the local APICs. Nothing here touches hardware.
 */
#ifndef TESSERA_HV_VIOAPIC_H
#define TESSERA_HV_VIOAPIC_H

#include "hv/mmio.h"
#include "hv/types.h"

#define VIOAPIC_BASE 0xFEC00000ULL
#define VIOAPIC_SIZE 0x1000ULL
#define VIOAPIC_PINS 24
/*
 * The ID the I/O APIC has after reset, and the one the MADT names. 0 is the
 * 82093AA's reset value; since xAPIC (system-bus delivery) I/O APIC IDs and
 * local APIC IDs no longer share an arbitration bus, so sharing 0 with the
 * boot processor is harmless, and common on real boards.
 */
#define VIOAPIC_ID 0

/** An interrupt message the I/O APIC sends towards the local APICs. */
struct vioapic_message {
	uint8_t vector;
	uint8_t delivery_mode;  /* enum vlapic_delivery (same encoding as the ICR) */
	bool logical;           /* destination is a logical APIC ID set */
	uint8_t destination;    /* APIC ID, or logical destination */
	bool level_triggered;   /* the local APIC must report its EOI */
};

/** State of one partition's I/O APIC. */
struct vioapic {
	void (*deliver)(void *ctx, const struct vioapic_message *msg);
	void *ctx;
	uint8_t select;                 /* IOREGSEL */
	uint8_t id;                     /* ID register bits 27:24 */
	uint64_t redirection[VIOAPIC_PINS];
	uint32_t pin_high;              /* electrical level of each input pin */
	uint64_t delivered;             /* messages sent so far */
};

/** The I/O APIC's register window, for mmio_map_add(). */
extern const struct mmio_ops vioapic_mmio_ops;

/**
 * Resets the I/O APIC (every entry masked, every pin low); its interrupts
 * go to @deliver with @ctx.
 */
void vioapic_init(struct vioapic *io, void (*deliver)(void *ctx, const struct vioapic_message *msg),
		  void *ctx);

/**
 * Sets the electrical level of input pin @gsi (true = high). The entry's
 * polarity says which level means asserted.
 */
void vioapic_set_irq(struct vioapic *io, unsigned int gsi, bool level);

/** The local APIC's EOI of a level-triggered @vector (also the EOI register). */
void vioapic_eoi(struct vioapic *io, uint8_t vector);

#endif /* TESSERA_HV_VIOAPIC_H */
