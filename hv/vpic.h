/*
 * A partition's two cascaded 8259A programmable interrupt controllers, as
 * wired in a PC: the master at 0x20/0x21 takes IRQ0-7, the slave at
 * 0xa0/0xa1 takes IRQ8-15 and drives the master's IR2, and the edge/level
 * control registers (ELCR) at 0x4d0/0x4d1 pick each line's trigger mode.
 *
 * The model follows the 8259A data sheet: the ICW1-ICW4 initialization
 * sequence, OCW1 (the mask), OCW2 (non-specific, specific and rotating EOI,
 * set priority), OCW3 (IRR/ISR read select, poll, special mask mode), fully
 * nested and special fully nested priority, automatic EOI (with rotation) and
 * the spurious IRQ7/IRQ15 vectors of an acknowledge that finds no request.
 *
 * Deliberate simplifications:
 *  - An edge-triggered request stays latched in IRR until it is acknowledged
 *    (or ICW1 resets the chip), even if its line falls first: device models
 *    pulse their lines. A request disappears before the acknowledge when a
 *    level-triggered line is deasserted, or when it is masked; the acknowledge
 *    then returns the spurious vector (master IRQ7, or slave IRQ15 with the
 *    master's IR2 put in service, as the chips do). The master's IR2 is an
 *    edge-triggered input like the others: it latches the rising edge of the
 *    slave's INT, so a slave request that goes away before the acknowledge
 *    gives the spurious IRQ15 (Linux then ends IR2 on the master).
 *  - Vectors are always formed the 8086 way (ICW2 bits 7-3 plus the level);
 *    the 8080 mode of ICW4 bit 0 = 0, the ICW1 interval bit and ICW4's
 *    buffered mode are ignored. The slave is assumed to have cascade ID 2.
 *  - Until a partition programs them, both chips are in operation with
 *    vector base 0 and every line masked, so nothing is delivered.
 *  - While a chip is in its initialization sequence it raises no interrupt.
 *  - IRQ2 has no line of its own (it is the cascade input): vpic_set_irq()
 *    ignores it.
 */
#ifndef TESSERA_HV_VPIC_H
#define TESSERA_HV_VPIC_H

#include "hv/types.h"

#define VPIC_MASTER_COMMAND 0x20
#define VPIC_MASTER_DATA    0x21
#define VPIC_SLAVE_COMMAND  0xa0
#define VPIC_SLAVE_DATA     0xa1
#define VPIC_ELCR_MASTER    0x4d0
#define VPIC_ELCR_SLAVE     0x4d1

#define VPIC_IRQ_COUNT   16
#define VPIC_CASCADE_IRQ 2

/** One 8259A's registers and mode. */
struct vpic_chip {
	uint8_t irr;            /* latched edge-triggered requests */
	uint8_t isr;            /* in service */
	uint8_t imr;            /* masked */
	uint8_t lines;          /* current level of the IR inputs */
	uint8_t elcr;           /* level-triggered lines (ELCR) */
	uint8_t vector_base;    /* ICW2, bits 7-3 */
	uint8_t cascade;        /* ICW3: slave lines (master) or ID (slave) */
	uint8_t lowest_priority; /* the level with the lowest priority (7 after ICW1) */
	uint8_t init_step;      /* the ICW expected next (2-4), 0 when in operation */
	bool icw4_needed;       /* ICW1 IC4 */
	bool single;            /* ICW1 SNGL: no ICW3, no cascade */
	bool level_mode;        /* ICW1 LTIM: every line level-triggered */
	bool auto_eoi;          /* ICW4 AEOI */
	bool special_fully_nested; /* ICW4 SFNM */
	bool rotate_on_auto_eoi; /* OCW2 rotate in automatic EOI mode */
	bool special_mask;      /* OCW3 special mask mode */
	bool read_isr;          /* OCW3: port A0=0 reads ISR instead of IRR */
	bool poll;              /* OCW3 poll: the next read is the poll byte */
};

/** The cascaded pair: chips[0] the master, chips[1] the slave. */
struct vpic {
	struct vpic_chip chips[2];
};

/** Resets both chips: in operation, vector base 0, every line masked and edge-triggered. */
void vpic_init(struct vpic *pic);

/** Whether @port is one of the PICs' or the ELCR's. */
bool vpic_handles_port(uint16_t port);

/** A guest IN from @port (0xff for a port that is not the PICs'). */
uint8_t vpic_port_read(struct vpic *pic, uint16_t port);

/** A guest OUT to @port (ignored for a port that is not the PICs'). */
void vpic_port_write(struct vpic *pic, uint16_t port, uint8_t value);

/**
 * Sets the level of input line @irq (0-15). A rising edge latches a request
 * on an edge-triggered line; a level-triggered line requests while high.
 */
void vpic_set_irq(struct vpic *pic, unsigned int irq, bool level);

/** The vector the INTR line would deliver now, or -1 when INTR is low. */
int vpic_pending_vector(const struct vpic *pic);

/**
 * The interrupt acknowledge cycle: returns the vector and moves the request
 * from IRR to ISR on the master and, through the cascade, on the slave. With
 * no request left, returns the spurious vector (base + 7) of the chip that
 * found none.
 */
uint8_t vpic_acknowledge(struct vpic *pic);

#endif /* TESSERA_HV_VPIC_H */
