/*
 * The cascaded 8259A pair and the ELCR: see hv/vpic.h. Section names below
 * are those of the Intel 8259A data sheet.
 */
#include "hv/vpic.h"
#include "hv/check.h"
#include "hv/string.h"

#define MASTER 0
#define SLAVE  1
#define LEVELS 8
#define SPURIOUS_LEVEL 7

/* ICW1 (A0 = 0, D4 = 1). */
#define ICW1_SELECT 0x10
#define ICW1_IC4    0x01
#define ICW1_SNGL   0x02
#define ICW1_LTIM   0x08
/* ICW2 keeps bits 7-3 in 8086 mode. */
#define ICW2_BASE_MASK 0xf8
/* ICW4. */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW2 (A0 = 0, D4-D3 = 00): R, SL, EOI in bits 7-5, the level in 2-0. */
#define OCW2_LEVEL_MASK 0x07
#define OCW2_NONSPECIFIC_EOI   0x20
#define OCW2_SPECIFIC_EOI      0x60
#define OCW2_ROTATE_EOI        0xa0
#define OCW2_ROTATE_SPECIFIC   0xe0
#define OCW2_SET_ROTATE_AEOI   0x80
#define OCW2_CLEAR_ROTATE_AEOI 0x00
#define OCW2_SET_PRIORITY      0xc0
/* OCW3 (A0 = 0, D4-D3 = 01). */
#define OCW3_SELECT 0x08
#define OCW3_RIS    0x01
#define OCW3_RR     0x02
#define OCW3_POLL   0x04
#define OCW3_SMM    0x20
#define OCW3_ESMM   0x40
/* The poll byte: I (a request was found) and W2-W0. */
#define POLL_INTERRUPT 0x80

/* ELCR bits the chipset keeps edge-triggered (IRQ0-2, IRQ8, IRQ13). */
#define ELCR_MASTER_WRITABLE 0xf8
#define ELCR_SLAVE_WRITABLE  0xde

/** Whether @port is one of the PICs' or the ELCR's. */
bool vpic_handles_port(uint16_t port)
{
	return port == VPIC_MASTER_COMMAND || port == VPIC_MASTER_DATA ||
	       port == VPIC_SLAVE_COMMAND || port == VPIC_SLAVE_DATA ||
	       port == VPIC_ELCR_MASTER || port == VPIC_ELCR_SLAVE;
}

/** Lines that request while high rather than on a rising edge. */
static uint8_t chip_level_lines(const struct vpic_chip *chip)
{
	return chip->level_mode ? 0xff : chip->elcr;
}

/** IRR as the chip sees it: latched edges plus level lines that are high. */
static uint8_t chip_requests(const struct vpic_chip *chip)
{
	uint8_t level = chip_level_lines(chip);

	return (uint8_t)((chip->irr & ~level) | (chip->lines & level));
}

/** The level of priority rank @rank (0 highest), given the rotation. */
static unsigned int chip_level_at_rank(const struct vpic_chip *chip, unsigned int rank)
{
	return (chip->lowest_priority + 1 + rank) % LEVELS;
}

/** Whether @level of the master is the input the slave drives. */
static bool master_is_cascade(const struct vpic_chip *master, unsigned int level)
{
	return level == VPIC_CASCADE_IRQ && !master->single &&
	       (master->cascade & BIT(VPIC_CASCADE_IRQ)) != 0;
}

/** Whether an in-service @level may be interrupted by a request on itself (SFNM, master only). */
static bool chip_reenters(const struct vpic_chip *chip, bool is_master, unsigned int level)
{
	return is_master && chip->special_fully_nested && master_is_cascade(chip, level);
}

/**
 * Priority resolution ("Interrupt sequence", "Fully nested mode"): the
 * highest-priority unmasked request above every level in service, or -1. In
 * special mask mode a masked level in service no longer holds off the others;
 * in special fully nested mode the master accepts a new request from a slave
 * whose earlier one is still in service.
 */
static int chip_resolve(const struct vpic_chip *chip, bool is_master)
{
	uint8_t requests = (uint8_t)(chip_requests(chip) & ~chip->imr);
	uint8_t blocking = chip->special_mask ? (uint8_t)(chip->isr & ~chip->imr) : chip->isr;

	if (chip->init_step != 0) {
		return -1;
	}
	for (unsigned int rank = 0; rank < LEVELS; rank++) {
		unsigned int level = chip_level_at_rank(chip, rank);
		uint8_t bit = (uint8_t)BIT(level);

		bool in_service = (blocking & bit) != 0;

		if ((requests & bit) != 0 && (!in_service || chip_reenters(chip, is_master, level))) {
			return (int)level;
		}
		if (in_service) {
			return -1; /* it holds off itself and every lower level */
		}
	}
	return -1;
}

/** The chip's part of an acknowledge of @level: IRR to ISR, or automatic EOI. */
static void chip_accept(struct vpic_chip *chip, unsigned int level)
{
	uint8_t bit = (uint8_t)BIT(level);

	chip->irr &= (uint8_t)~bit;
	if (!chip->auto_eoi) {
		chip->isr |= bit;
	} else if (chip->rotate_on_auto_eoi) {
		chip->lowest_priority = (uint8_t)level;
	}
}

/** Sets input @line of @chip to @level, latching a rising edge on an edge-triggered line. */
static void chip_set_line(struct vpic_chip *chip, unsigned int line, bool level)
{
	uint8_t bit = (uint8_t)BIT(line);

	if (!level) {
		chip->lines &= (uint8_t)~bit;
		return;
	}
	if ((chip->lines & bit) == 0 && (chip_level_lines(chip) & bit) == 0) {
		chip->irr |= bit;
	}
	chip->lines |= bit;
}

/** Drives the master's IR2 with the slave's INT output. */
static void vpic_update_cascade(struct vpic *pic)
{
	bool slave_int = chip_resolve(&pic->chips[SLAVE], false) >= 0;

	chip_set_line(&pic->chips[MASTER], VPIC_CASCADE_IRQ, slave_int);
}

/** Resets both chips: in operation, vector base 0, every line masked and edge-triggered. */
void vpic_init(struct vpic *pic)
{
	memset(pic, 0, sizeof(*pic));
	for (unsigned int i = 0; i < ARRAY_SIZE(pic->chips); i++) {
		pic->chips[i].imr = 0xff;
		pic->chips[i].lowest_priority = LEVELS - 1;
	}
	pic->chips[MASTER].cascade = (uint8_t)BIT(VPIC_CASCADE_IRQ);
	pic->chips[SLAVE].cascade = VPIC_CASCADE_IRQ;
}

/**
 * ICW1 ("Initialization command words"): the edge sense is reset (an edge
 * line must rise again), IMR and ISR are cleared, IR7 gets the lowest
 * priority, special mask mode ends, reads select IRR, and without IC4 every
 * ICW4 function is cleared.
 */
static void chip_write_icw1(struct vpic_chip *chip, uint8_t value)
{
	chip->irr = 0;
	chip->isr = 0;
	chip->imr = 0;
	chip->lowest_priority = LEVELS - 1;
	chip->special_mask = false;
	chip->read_isr = false;
	chip->poll = false;
	chip->rotate_on_auto_eoi = false;
	chip->icw4_needed = (value & ICW1_IC4) != 0;
	chip->single = (value & ICW1_SNGL) != 0;
	chip->level_mode = (value & ICW1_LTIM) != 0;
	if (!chip->icw4_needed) {
		chip->auto_eoi = false;
		chip->special_fully_nested = false;
	}
	chip->init_step = 2;
}

/** ICW2-ICW4 at the data port, in the order ICW1 asked for. */
static void chip_write_icw(struct vpic_chip *chip, uint8_t value)
{
	switch (chip->init_step) {
	case 2:
		chip->vector_base = value & ICW2_BASE_MASK;
		chip->init_step = !chip->single ? 3 : chip->icw4_needed ? 4 : 0;
		break;
	case 3:
		chip->cascade = value;
		chip->init_step = chip->icw4_needed ? 4 : 0;
		break;
	default:
		chip->auto_eoi = (value & ICW4_AEOI) != 0;
		chip->special_fully_nested = (value & ICW4_SFNM) != 0;
		chip->init_step = 0;
		break;
	}
}

/** The in-service level with the highest priority, or -1 when none is. */
static int chip_highest_in_service(const struct vpic_chip *chip)
{
	for (unsigned int rank = 0; rank < LEVELS; rank++) {
		unsigned int level = chip_level_at_rank(chip, rank);

		if ((chip->isr & BIT(level)) != 0) {
			return (int)level;
		}
	}
	return -1;
}

/** A non-specific EOI: ends the highest-priority level in service, optionally rotating. */
static void chip_nonspecific_eoi(struct vpic_chip *chip, bool rotate)
{
	int level = chip_highest_in_service(chip);

	if (level < 0) {
		return;
	}
	chip->isr &= (uint8_t)~BIT(level);
	if (rotate) {
		chip->lowest_priority = (uint8_t)level;
	}
}

/** OCW2: the EOI and rotation commands ("Operation command words", table). */
static void chip_write_ocw2(struct vpic_chip *chip, uint8_t value)
{
	unsigned int level = value & OCW2_LEVEL_MASK;

	switch (value & (uint8_t)~OCW2_LEVEL_MASK) {
	case OCW2_NONSPECIFIC_EOI:
		chip_nonspecific_eoi(chip, false);
		break;
	case OCW2_ROTATE_EOI:
		chip_nonspecific_eoi(chip, true);
		break;
	case OCW2_SPECIFIC_EOI:
		chip->isr &= (uint8_t)~BIT(level);
		break;
	case OCW2_ROTATE_SPECIFIC:
		chip->isr &= (uint8_t)~BIT(level);
		chip->lowest_priority = (uint8_t)level;
		break;
	case OCW2_SET_PRIORITY:
		chip->lowest_priority = (uint8_t)level;
		break;
	case OCW2_SET_ROTATE_AEOI:
		chip->rotate_on_auto_eoi = true;
		break;
	case OCW2_CLEAR_ROTATE_AEOI:
		chip->rotate_on_auto_eoi = false;
		break;
	default:
		/* 010: no operation. */
		break;
	}
}

/** OCW3: special mask mode (with ESMM), poll, and the IRR/ISR read select (with RR). */
static void chip_write_ocw3(struct vpic_chip *chip, uint8_t value)
{
	if ((value & OCW3_ESMM) != 0) {
		chip->special_mask = (value & OCW3_SMM) != 0;
	}
	chip->poll = (value & OCW3_POLL) != 0;
	if ((value & OCW3_RR) != 0) {
		chip->read_isr = (value & OCW3_RIS) != 0;
	}
}

/** A write to the chip's port with A0 = 0: ICW1, OCW2 or OCW3. */
static void chip_write_command(struct vpic_chip *chip, uint8_t value)
{
	if ((value & ICW1_SELECT) != 0) {
		chip_write_icw1(chip, value);
	} else if ((value & OCW3_SELECT) != 0) {
		chip_write_ocw3(chip, value);
	} else {
		chip_write_ocw2(chip, value);
	}
}

/** A write to the chip's port with A0 = 1: the next ICW, or OCW1 (the mask). */
static void chip_write_data(struct vpic_chip *chip, uint8_t value)
{
	if (chip->init_step != 0) {
		chip_write_icw(chip, value);
	} else {
		chip->imr = value;
	}
}

/**
 * The poll command ("Poll command"): the read that follows it is an
 * acknowledge of this chip alone, answered with I and the level.
 */
static uint8_t vpic_poll(struct vpic *pic, unsigned int index)
{
	struct vpic_chip *chip = &pic->chips[index];
	int level = chip_resolve(chip, index == MASTER);

	chip->poll = false;
	if (level < 0) {
		return 0;
	}
	chip_accept(chip, (unsigned int)level);
	if (index == SLAVE) {
		/* INT falls during the acknowledge; a request still waiting raises it again. */
		chip_set_line(&pic->chips[MASTER], VPIC_CASCADE_IRQ, false);
	}
	vpic_update_cascade(pic);
	return (uint8_t)(POLL_INTERRUPT | level);
}

/** A read of one chip: the poll byte after a poll command, else IRR/ISR or IMR. */
static uint8_t vpic_chip_read(struct vpic *pic, unsigned int index, bool data_port)
{
	const struct vpic_chip *chip = &pic->chips[index];

	if (chip->poll) {
		return vpic_poll(pic, index);
	}
	if (data_port) {
		return chip->imr;
	}
	return chip->read_isr ? chip->isr : chip_requests(chip);
}

/** A guest IN from @port (0xff for a port that is not the PICs'). */
uint8_t vpic_port_read(struct vpic *pic, uint16_t port)
{
	switch (port) {
	case VPIC_MASTER_COMMAND:
	case VPIC_MASTER_DATA:
		return vpic_chip_read(pic, MASTER, port == VPIC_MASTER_DATA);
	case VPIC_SLAVE_COMMAND:
	case VPIC_SLAVE_DATA:
		return vpic_chip_read(pic, SLAVE, port == VPIC_SLAVE_DATA);
	case VPIC_ELCR_MASTER:
		return pic->chips[MASTER].elcr;
	case VPIC_ELCR_SLAVE:
		return pic->chips[SLAVE].elcr;
	default:
		return 0xff;
	}
}

/** A new ELCR value: a line turning level-triggered forgets its latched edge. */
static void chip_write_elcr(struct vpic_chip *chip, uint8_t value)
{
	chip->elcr = value;
	chip->irr &= (uint8_t)~chip_level_lines(chip);
}

/** A guest OUT to @port (ignored for a port that is not the PICs'). */
void vpic_port_write(struct vpic *pic, uint16_t port, uint8_t value)
{
	switch (port) {
	case VPIC_MASTER_COMMAND:
		chip_write_command(&pic->chips[MASTER], value);
		break;
	case VPIC_MASTER_DATA:
		chip_write_data(&pic->chips[MASTER], value);
		break;
	case VPIC_SLAVE_COMMAND:
		chip_write_command(&pic->chips[SLAVE], value);
		break;
	case VPIC_SLAVE_DATA:
		chip_write_data(&pic->chips[SLAVE], value);
		break;
	case VPIC_ELCR_MASTER:
		chip_write_elcr(&pic->chips[MASTER], value & ELCR_MASTER_WRITABLE);
		break;
	case VPIC_ELCR_SLAVE:
		chip_write_elcr(&pic->chips[SLAVE], value & ELCR_SLAVE_WRITABLE);
		break;
	default:
		return;
	}
	vpic_update_cascade(pic);
}

/** Sets the level of input line @irq (0-15); IRQ2, the cascade input, has no line. */
void vpic_set_irq(struct vpic *pic, unsigned int irq, bool level)
{
	CHECK(irq < VPIC_IRQ_COUNT);
	if (irq == VPIC_CASCADE_IRQ) {
		return;
	}
	chip_set_line(&pic->chips[irq / LEVELS], irq % LEVELS, level);
	vpic_update_cascade(pic);
}

/** The vector the INTR line would deliver now, or -1 when INTR is low. */
int vpic_pending_vector(const struct vpic *pic)
{
	const struct vpic_chip *master = &pic->chips[MASTER];
	const struct vpic_chip *slave = &pic->chips[SLAVE];
	int level = chip_resolve(master, true);
	int slave_level;

	if (level < 0) {
		return -1;
	}
	if (!master_is_cascade(master, (unsigned int)level)) {
		return master->vector_base + level;
	}
	slave_level = chip_resolve(slave, false);
	return slave->vector_base + (slave_level >= 0 ? slave_level : SPURIOUS_LEVEL);
}

/**
 * The slave's part of an acknowledge the master passed down its cascade: its
 * vector, or its spurious IRQ15 vector when its request went away.
 */
static uint8_t vpic_acknowledge_slave(struct vpic *pic)
{
	struct vpic_chip *slave = &pic->chips[SLAVE];
	int level = chip_resolve(slave, false);

	/* INT falls during the acknowledge; a request still waiting raises it again. */
	chip_set_line(&pic->chips[MASTER], VPIC_CASCADE_IRQ, false);
	if (level < 0) {
		return (uint8_t)(slave->vector_base + SPURIOUS_LEVEL);
	}
	chip_accept(slave, (unsigned int)level);
	return (uint8_t)(slave->vector_base + level);
}

/** The interrupt acknowledge cycle: the vector, with IRR moved to ISR. */
uint8_t vpic_acknowledge(struct vpic *pic)
{
	struct vpic_chip *master = &pic->chips[MASTER];
	int level = chip_resolve(master, true);
	uint8_t vector;

	if (level < 0) {
		/* "Spurious interrupt": IR7's vector, nothing goes in service. */
		return (uint8_t)(master->vector_base + SPURIOUS_LEVEL);
	}
	chip_accept(master, (unsigned int)level);
	if (master_is_cascade(master, (unsigned int)level)) {
		vector = vpic_acknowledge_slave(pic);
	} else {
		vector = (uint8_t)(master->vector_base + level);
	}
	vpic_update_cascade(pic);
	return vector;
}
