/*
 * Host tests of hv/vpic.c: the cascaded 8259A pair and the ELCR.
 *
 * Command bytes and expected register values come from the Intel 8259A data
 * sheet (ICW1-ICW4, OCW1-OCW3, the poll word) and from the sequence Linux
 * uses to program the PICs (ICW1 0x11, ICW2 0x30/0x38 or 0x20/0x28, ICW3 4
 * and 2, ICW4 1; specific EOI 0x60 + level; OCW3 0x0a/0x0b).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vpic.h"

#define T_MASTER_CMD  0x20
#define T_MASTER_DATA 0x21
#define T_SLAVE_CMD   0xa0
#define T_SLAVE_DATA  0xa1
#define T_ELCR1       0x4d0
#define T_ELCR2       0x4d1

#define T_ICW1_EDGE_CASCADE_ICW4 0x11
#define T_ICW3_MASTER_SLAVE_ON_IR2 0x04
#define T_ICW3_SLAVE_ID_2 0x02
#define T_ICW4_8086 0x01
#define T_ICW4_8086_AEOI 0x03
#define T_ICW4_8086_SFNM 0x11
#define T_OCW2_EOI 0x20
#define T_OCW2_SPECIFIC_EOI 0x60
#define T_OCW2_ROTATE_EOI 0xa0
#define T_OCW2_SET_PRIORITY 0xc0
#define T_OCW3_READ_IRR 0x0a
#define T_OCW3_READ_ISR 0x0b
#define T_OCW3_POLL 0x0c
#define T_OCW3_SET_SMM 0x68
#define T_OCW3_RESET_SMM 0x48

static struct vpic pic;

/** A fresh pair of PICs. */
static int setup(void **state)
{
	memset(&pic, 0x5a, sizeof(pic));
	vpic_init(&pic);
	return 0;
}

/** Programs both chips the way Linux's init_8259A does, then unmasks every line. */
static void program(uint8_t master_base, uint8_t slave_base, uint8_t master_icw4)
{
	vpic_port_write(&pic, T_MASTER_DATA, 0xff);
	vpic_port_write(&pic, T_SLAVE_DATA, 0xff);
	vpic_port_write(&pic, T_MASTER_CMD, T_ICW1_EDGE_CASCADE_ICW4);
	vpic_port_write(&pic, T_MASTER_DATA, master_base);
	vpic_port_write(&pic, T_MASTER_DATA, T_ICW3_MASTER_SLAVE_ON_IR2);
	vpic_port_write(&pic, T_MASTER_DATA, master_icw4);
	vpic_port_write(&pic, T_SLAVE_CMD, T_ICW1_EDGE_CASCADE_ICW4);
	vpic_port_write(&pic, T_SLAVE_DATA, slave_base);
	vpic_port_write(&pic, T_SLAVE_DATA, T_ICW3_SLAVE_ID_2);
	vpic_port_write(&pic, T_SLAVE_DATA, T_ICW4_8086);
}

/** The Linux setup with vector bases 0x30/0x38. */
static void program_linux(void)
{
	program(0x30, 0x38, T_ICW4_8086);
}

/** Raises and lowers an edge-triggered line (a device's pulse). */
static void pulse(unsigned int irq)
{
	vpic_set_irq(&pic, irq, true);
	vpic_set_irq(&pic, irq, false);
}

/** ISR of the chip whose command port is @cmd (OCW3 read select, then back to IRR). */
static uint8_t read_isr(uint16_t cmd)
{
	uint8_t value;

	vpic_port_write(&pic, cmd, T_OCW3_READ_ISR);
	value = vpic_port_read(&pic, cmd);
	vpic_port_write(&pic, cmd, T_OCW3_READ_IRR);
	return value;
}

/** IRR of the chip whose command port is @cmd. */
static uint8_t read_irr(uint16_t cmd)
{
	vpic_port_write(&pic, cmd, T_OCW3_READ_IRR);
	return vpic_port_read(&pic, cmd);
}

/** The PIC and ELCR ports, and nothing next to them. */
static void test_vpic_handles_ports(void **state)
{
	assert_true(vpic_handles_port(0x20));
	assert_true(vpic_handles_port(0x21));
	assert_true(vpic_handles_port(0xa0));
	assert_true(vpic_handles_port(0xa1));
	assert_true(vpic_handles_port(0x4d0));
	assert_true(vpic_handles_port(0x4d1));
	assert_false(vpic_handles_port(0x22));
	assert_false(vpic_handles_port(0x1f));
	assert_false(vpic_handles_port(0xa2));
	assert_false(vpic_handles_port(0x4d2));
	assert_false(vpic_handles_port(0x60));
	assert_int_equal(vpic_port_read(&pic, 0x22), 0xff);
}

/** Unprogrammed: every line masked, nothing delivered, IMR reads back what is written. */
static void test_vpic_power_on_masked(void **state)
{
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0xff);
	assert_int_equal(vpic_port_read(&pic, T_SLAVE_DATA), 0xff);
	pulse(0);
	vpic_set_irq(&pic, 9, true);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	/* Linux's probe: the mask must read back. */
	vpic_port_write(&pic, T_MASTER_DATA, 0x5a);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0x5a);
}

/** ICW1 clears IMR; the ICWs land in order and OCW1 then writes the mask. */
static void test_vpic_linux_init_sequence(void **state)
{
	program_linux();
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0x00);
	assert_int_equal(vpic_port_read(&pic, T_SLAVE_DATA), 0x00);
	assert_int_equal(pic.chips[0].vector_base, 0x30);
	assert_int_equal(pic.chips[1].vector_base, 0x38);
	assert_int_equal(pic.chips[0].cascade, 0x04);
	assert_int_equal(pic.chips[1].cascade, 0x02);
	assert_int_equal(pic.chips[0].init_step, 0);
	assert_int_equal(pic.chips[1].init_step, 0);
	assert_false(pic.chips[0].auto_eoi);
	vpic_port_write(&pic, T_MASTER_DATA, 0xfb);
	vpic_port_write(&pic, T_SLAVE_DATA, 0xff);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0xfb);
	assert_int_equal(vpic_port_read(&pic, T_SLAVE_DATA), 0xff);
	/* IRR is read by default after ICW1. */
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x00);
}

/** ICW2 keeps bits 7-3 only: the level fills bits 2-0 of the vector. */
static void test_vpic_icw2_low_bits_ignored(void **state)
{
	program(0x27, 0x2f, T_ICW4_8086);
	pulse(3);
	assert_int_equal(vpic_pending_vector(&pic), 0x23);
	assert_int_equal(vpic_acknowledge(&pic), 0x23);
}

/** Without IC4 (ICW1 0x10) and with SNGL (0x12) the sequence is shorter. */
static void test_vpic_short_init_sequences(void **state)
{
	vpic_port_write(&pic, T_MASTER_CMD, 0x10); /* cascade, no ICW4 */
	vpic_port_write(&pic, T_MASTER_DATA, 0x40);
	vpic_port_write(&pic, T_MASTER_DATA, 0x04);
	/* In operation now: the next data write is OCW1. */
	vpic_port_write(&pic, T_MASTER_DATA, 0xf7);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0xf7);
	assert_int_equal(pic.chips[0].vector_base, 0x40);

	vpic_port_write(&pic, T_MASTER_CMD, 0x13); /* single, ICW4 */
	vpic_port_write(&pic, T_MASTER_DATA, 0x50);
	vpic_port_write(&pic, T_MASTER_DATA, T_ICW4_8086_AEOI); /* ICW4, no ICW3 */
	assert_int_equal(pic.chips[0].init_step, 0);
	assert_true(pic.chips[0].auto_eoi);
	assert_int_equal(pic.chips[0].cascade, 0x04); /* untouched */
	vpic_port_write(&pic, T_MASTER_DATA, 0x00);
	pulse(5);
	assert_int_equal(vpic_pending_vector(&pic), 0x55);
	/* Single mode: IR2 is an ordinary line, the master gives its own vector. */
	vpic_port_write(&pic, T_SLAVE_DATA, 0x00);
	vpic_set_irq(&pic, 9, true);
	assert_int_equal(vpic_pending_vector(&pic), 0x52);
	assert_int_equal(vpic_acknowledge(&pic), 0x52);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x00);
}

/** Nothing is delivered while a chip waits for its ICWs. */
static void test_vpic_no_interrupt_during_init(void **state)
{
	program_linux();
	pulse(1);
	vpic_port_write(&pic, T_MASTER_CMD, T_ICW1_EDGE_CASCADE_ICW4);
	vpic_port_write(&pic, T_MASTER_DATA, 0x20);
	pulse(1);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_DATA, 0x04);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_DATA, T_ICW4_8086);
	/* The edge during the sequence was latched after ICW1 reset the edge sense. */
	assert_int_equal(vpic_pending_vector(&pic), 0x21);
}

/** One edge: pending, acknowledged into ISR, ended by a non-specific EOI. */
static void test_vpic_edge_irq_acknowledge_and_eoi(void **state)
{
	program_linux();
	assert_int_equal(vpic_pending_vector(&pic), -1);
	pulse(0);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x01);
	assert_int_equal(vpic_pending_vector(&pic), 0x30);
	assert_int_equal(vpic_acknowledge(&pic), 0x30);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x01);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** An edge line held high requests once; it must fall and rise again. */
static void test_vpic_edge_needs_new_rising_edge(void **state)
{
	program_linux();
	vpic_set_irq(&pic, 4, true);
	assert_int_equal(vpic_acknowledge(&pic), 0x34);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	vpic_set_irq(&pic, 4, true);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_set_irq(&pic, 4, false);
	vpic_set_irq(&pic, 4, true);
	assert_int_equal(vpic_pending_vector(&pic), 0x34);
}

/** A masked edge stays in IRR and is delivered once unmasked. */
static void test_vpic_mask_holds_request(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_MASTER_DATA, 0x02);
	pulse(1);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x02);
	pulse(6);
	assert_int_equal(vpic_pending_vector(&pic), 0x36);
	vpic_port_write(&pic, T_MASTER_DATA, 0x00);
	assert_int_equal(vpic_pending_vector(&pic), 0x31);
}

/** Fixed priority: IR0 highest; a higher level nests, a lower one waits for the EOI. */
static void test_vpic_nested_priority_and_eoi_order(void **state)
{
	program_linux();
	pulse(3);
	pulse(1);
	assert_int_equal(vpic_acknowledge(&pic), 0x31);
	/* IR3 is below IR1 in service: held off. */
	assert_int_equal(vpic_pending_vector(&pic), -1);
	pulse(0);
	assert_int_equal(vpic_acknowledge(&pic), 0x30);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x03);
	/* A non-specific EOI ends the highest level in service first: IR0. */
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x02);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
}

/** A specific EOI (0x60 + level) ends that level only. */
static void test_vpic_specific_eoi(void **state)
{
	program_linux();
	pulse(5);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	pulse(3);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 5);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x08);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 3);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
}

/** A slave line goes through IR2: both ISRs, slave vector, Linux's EOI pair. */
static void test_vpic_slave_irq_through_cascade(void **state)
{
	program(0x20, 0x28, T_ICW4_8086);
	vpic_set_irq(&pic, 12, true);
	assert_int_equal(read_irr(T_SLAVE_CMD), 0x10);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x04);
	assert_int_equal(vpic_pending_vector(&pic), 0x2c);
	assert_int_equal(vpic_acknowledge(&pic), 0x2c);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x04);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x10);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW2_SPECIFIC_EOI + 4);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 2);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** With a slave level in service, master IR0-1 still nest; IR3-7 wait. */
static void test_vpic_slave_in_service_blocks_lower_master(void **state)
{
	program_linux();
	pulse(8);
	assert_int_equal(vpic_acknowledge(&pic), 0x38);
	pulse(3);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	pulse(1);
	assert_int_equal(vpic_acknowledge(&pic), 0x31);
	/* A second slave line waits for the master's IR2 too (fully nested). */
	pulse(9);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 1);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW2_EOI);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(vpic_acknowledge(&pic), 0x39);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW2_EOI);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
}

/** Within the slave, a higher slave level nests only in special fully nested mode. */
static void test_vpic_special_fully_nested(void **state)
{
	program_linux();
	pulse(10);
	assert_int_equal(vpic_acknowledge(&pic), 0x3a);
	pulse(8);
	/* Fully nested: the master's IR2 in service holds the slave's INT off. */
	assert_int_equal(vpic_pending_vector(&pic), -1);

	program(0x30, 0x38, T_ICW4_8086_SFNM);
	pulse(10);
	assert_int_equal(vpic_acknowledge(&pic), 0x3a);
	pulse(11);
	assert_int_equal(vpic_pending_vector(&pic), -1); /* lower than IR10 in the slave */
	pulse(8);
	assert_int_equal(vpic_acknowledge(&pic), 0x38);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x05);
}

/** ELCR: only the writable bits stick (IRQ0-2, 8 and 13 stay edge). */
static void test_vpic_elcr_writable_bits(void **state)
{
	vpic_port_write(&pic, T_ELCR1, 0xff);
	vpic_port_write(&pic, T_ELCR2, 0xff);
	assert_int_equal(vpic_port_read(&pic, T_ELCR1), 0xf8);
	assert_int_equal(vpic_port_read(&pic, T_ELCR2), 0xde);
	vpic_port_write(&pic, T_ELCR1, 0x20);
	assert_int_equal(vpic_port_read(&pic, T_ELCR1), 0x20);
}

/** A level line stays pending after its EOI until the device deasserts it. */
static void test_vpic_level_irq_pending_until_deasserted(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_ELCR1, 0x20); /* IRQ5 level */
	vpic_set_irq(&pic, 5, true);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x20);
	assert_int_equal(vpic_pending_vector(&pic), 0x35);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	vpic_set_irq(&pic, 5, false);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/**
 * A level slave line handled the way Linux does (mask, EOI slave then
 * master, service the device, unmask): delivered again only while still high.
 */
static void test_vpic_level_slave_irq_linux_flow(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_ELCR2, 0x08); /* IRQ11 level */
	vpic_set_irq(&pic, 11, true);
	assert_int_equal(vpic_acknowledge(&pic), 0x3b);
	vpic_port_write(&pic, T_SLAVE_DATA, 0x08);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW2_SPECIFIC_EOI + 3);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 2);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	/* The device is still asserting: unmasking delivers it again. */
	vpic_port_write(&pic, T_SLAVE_DATA, 0x00);
	assert_int_equal(read_irr(T_SLAVE_CMD), 0x08);
	assert_int_equal(vpic_acknowledge(&pic), 0x3b);
	vpic_port_write(&pic, T_SLAVE_DATA, 0x08);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW2_SPECIFIC_EOI + 3);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 2);
	/* Serviced: the device lets go, unmasking delivers nothing. */
	vpic_set_irq(&pic, 11, false);
	vpic_port_write(&pic, T_SLAVE_DATA, 0x00);
	assert_int_equal(read_irr(T_SLAVE_CMD), 0x00);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** A line switched to level-triggered forgets an edge it had latched. */
static void test_vpic_elcr_level_drops_latched_edge(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_MASTER_DATA, 0x20);
	pulse(5);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x20);
	vpic_port_write(&pic, T_ELCR1, 0x20);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
	vpic_port_write(&pic, T_ELCR1, 0x00);
	vpic_port_write(&pic, T_MASTER_DATA, 0x00);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** ICW1 LTIM makes every line of that chip level-triggered. */
static void test_vpic_icw1_level_mode(void **state)
{
	vpic_port_write(&pic, T_MASTER_CMD, 0x19);
	vpic_port_write(&pic, T_MASTER_DATA, 0x30);
	vpic_port_write(&pic, T_MASTER_DATA, 0x04);
	vpic_port_write(&pic, T_MASTER_DATA, T_ICW4_8086);
	pulse(1);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_set_irq(&pic, 1, true);
	assert_int_equal(vpic_pending_vector(&pic), 0x31);
}

/** A level request gone before the acknowledge: spurious IRQ7, nothing in service. */
static void test_vpic_spurious_irq7(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_ELCR1, 0x20); /* IRQ5 level */
	vpic_set_irq(&pic, 5, true);
	assert_int_equal(vpic_pending_vector(&pic), 0x35);
	vpic_set_irq(&pic, 5, false);
	assert_int_equal(vpic_acknowledge(&pic), 0x37);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	/* A real IRQ7 afterwards is delivered normally. */
	pulse(7);
	assert_int_equal(vpic_acknowledge(&pic), 0x37);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x80);
}

/** Masked between INTR and INTA: also spurious. */
static void test_vpic_spurious_after_mask(void **state)
{
	program(0x20, 0x28, T_ICW4_8086);
	pulse(4);
	assert_int_equal(vpic_pending_vector(&pic), 0x24);
	vpic_port_write(&pic, T_MASTER_DATA, 0x10);
	assert_int_equal(vpic_acknowledge(&pic), 0x27);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x10);
}

/** A slave level request gone: spurious IRQ15, with the master's IR2 in service. */
static void test_vpic_spurious_irq15(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_ELCR2, 0x04); /* IRQ10 level */
	vpic_set_irq(&pic, 10, true);
	assert_int_equal(vpic_pending_vector(&pic), 0x3a);
	vpic_set_irq(&pic, 10, false);
	assert_int_equal(vpic_pending_vector(&pic), 0x3f);
	assert_int_equal(vpic_acknowledge(&pic), 0x3f);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x00);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x04);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** No request at all: the acknowledge returns the master's IRQ7 vector. */
static void test_vpic_acknowledge_without_request(void **state)
{
	program(0x20, 0x28, T_ICW4_8086);
	assert_int_equal(vpic_acknowledge(&pic), 0x27);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
}

/** Poll: the read after OCW3 P=1 is 0x80 | level and acknowledges it. */
static void test_vpic_poll_mode(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_MASTER_DATA, 0xff);
	pulse(6);
	pulse(4);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_POLL);
	/* Masked requests are not polled. */
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x00);
	vpic_port_write(&pic, T_MASTER_DATA, 0x00);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_POLL);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x84);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x10);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x40);
	/* Without P the next read is IRR again. */
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x40);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_POLL);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0x86);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_POLL);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x00);
}

/** Polling the master then the slave finds a slave request. */
static void test_vpic_poll_cascade(void **state)
{
	program_linux();
	pulse(13);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_POLL);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x82);
	vpic_port_write(&pic, T_SLAVE_CMD, T_OCW3_POLL);
	assert_int_equal(vpic_port_read(&pic, T_SLAVE_CMD), 0x85);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x20);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** OCW3 with RR = 0 keeps the current IRR/ISR selection. */
static void test_vpic_read_select_sticks(void **state)
{
	program_linux();
	pulse(5);
	pulse(3);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_READ_ISR);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x08);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x08);
	vpic_port_write(&pic, T_MASTER_CMD, 0x08); /* OCW3, RR = 0 */
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x08);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_READ_IRR);
	assert_int_equal(vpic_port_read(&pic, T_MASTER_CMD), 0x20);
	/* The data port reads IMR whatever the selection. */
	assert_int_equal(vpic_port_read(&pic, T_MASTER_DATA), 0x00);
}

/** Auto-EOI: the acknowledge leaves nothing in service. */
static void test_vpic_auto_eoi(void **state)
{
	program(0x30, 0x38, T_ICW4_8086_AEOI);
	assert_true(pic.chips[0].auto_eoi);
	pulse(3);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	pulse(5);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	/* Slave lines: the master's IR2 is not left in service either. */
	pulse(9);
	assert_int_equal(vpic_acknowledge(&pic), 0x39);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(read_isr(T_SLAVE_CMD), 0x02);
}

/** Rotate on non-specific EOI: the level just ended becomes the lowest. */
static void test_vpic_rotate_on_eoi(void **state)
{
	program_linux();
	pulse(0);
	assert_int_equal(vpic_acknowledge(&pic), 0x30);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_ROTATE_EOI);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	/* Priority now 1, 2, ..., 7, 0. */
	pulse(0);
	pulse(7);
	assert_int_equal(vpic_acknowledge(&pic), 0x37);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(vpic_acknowledge(&pic), 0x30);
}

/** Set priority (0xc0 + level): that level becomes the lowest. */
static void test_vpic_set_priority(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SET_PRIORITY + 4);
	pulse(3);
	pulse(6);
	/* Priority 5, 6, 7, 0, 1, 2, 3, 4. */
	assert_int_equal(vpic_acknowledge(&pic), 0x36);
	pulse(5);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x60);
	/* IR3 ranks below IR5 and IR6 in service. */
	assert_int_equal(vpic_pending_vector(&pic), -1);
	/* Non-specific EOI ends IR5, the highest in service. */
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_EOI);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x40);
	/* Rotate on specific EOI: 0xe0 + 6 ends IR6 and makes it the lowest. */
	vpic_port_write(&pic, T_MASTER_CMD, 0xe6);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(pic.chips[0].lowest_priority, 6);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
}

/** Rotate in auto-EOI mode: each acknowledged level becomes the lowest. */
static void test_vpic_rotate_in_auto_eoi(void **state)
{
	program(0x30, 0x38, T_ICW4_8086_AEOI);
	vpic_port_write(&pic, T_MASTER_CMD, 0x80);
	pulse(1);
	assert_int_equal(vpic_acknowledge(&pic), 0x31);
	pulse(1);
	pulse(4);
	assert_int_equal(vpic_acknowledge(&pic), 0x34);
	vpic_port_write(&pic, T_MASTER_CMD, 0x00); /* clear rotate in AEOI */
	pulse(3);
	assert_int_equal(vpic_acknowledge(&pic), 0x31);
	assert_int_equal(pic.chips[0].lowest_priority, 4);
}

/** Special mask mode: a masked level in service no longer holds off lower ones. */
static void test_vpic_special_mask_mode(void **state)
{
	program_linux();
	pulse(3);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
	pulse(5);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_DATA, 0x08);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_SET_SMM);
	assert_int_equal(vpic_pending_vector(&pic), 0x35);
	assert_int_equal(vpic_acknowledge(&pic), 0x35);
	assert_int_equal(read_isr(T_MASTER_CMD), 0x28);
	/* Leaving special mask mode restores the nesting. */
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW2_SPECIFIC_EOI + 5);
	vpic_port_write(&pic, T_MASTER_CMD, T_OCW3_RESET_SMM);
	vpic_port_write(&pic, T_MASTER_DATA, 0x00);
	pulse(6);
	assert_int_equal(vpic_pending_vector(&pic), -1);
}

/** IRQ2 is the cascade input: driving it changes nothing. */
static void test_vpic_irq2_has_no_line(void **state)
{
	program_linux();
	vpic_set_irq(&pic, 2, true);
	assert_int_equal(vpic_pending_vector(&pic), -1);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x00);
}

/** A line number past 15 is a caller bug. */
static void test_vpic_irq_out_of_range(void **state)
{
	expect_assert_failure(vpic_set_irq(&pic, 16, true));
}

/** ICW1 resets IRR and ISR; edge lines need a new edge, level lines still request. */
static void test_vpic_icw1_resets_state(void **state)
{
	program_linux();
	vpic_port_write(&pic, T_ELCR1, 0x08); /* IRQ3 level */
	vpic_set_irq(&pic, 3, true);
	pulse(1);
	vpic_set_irq(&pic, 4, true);
	assert_int_equal(vpic_acknowledge(&pic), 0x31);
	program_linux();
	assert_int_equal(read_isr(T_MASTER_CMD), 0x00);
	assert_int_equal(read_irr(T_MASTER_CMD), 0x08);
	assert_int_equal(vpic_acknowledge(&pic), 0x33);
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

/** Runs the virtual PIC tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_vpic_handles_ports),
		TEST(test_vpic_power_on_masked),
		TEST(test_vpic_linux_init_sequence),
		TEST(test_vpic_icw2_low_bits_ignored),
		TEST(test_vpic_short_init_sequences),
		TEST(test_vpic_no_interrupt_during_init),
		TEST(test_vpic_edge_irq_acknowledge_and_eoi),
		TEST(test_vpic_edge_needs_new_rising_edge),
		TEST(test_vpic_mask_holds_request),
		TEST(test_vpic_nested_priority_and_eoi_order),
		TEST(test_vpic_specific_eoi),
		TEST(test_vpic_slave_irq_through_cascade),
		TEST(test_vpic_slave_in_service_blocks_lower_master),
		TEST(test_vpic_special_fully_nested),
		TEST(test_vpic_elcr_writable_bits),
		TEST(test_vpic_level_irq_pending_until_deasserted),
		TEST(test_vpic_level_slave_irq_linux_flow),
		TEST(test_vpic_elcr_level_drops_latched_edge),
		TEST(test_vpic_icw1_level_mode),
		TEST(test_vpic_spurious_irq7),
		TEST(test_vpic_spurious_after_mask),
		TEST(test_vpic_spurious_irq15),
		TEST(test_vpic_acknowledge_without_request),
		TEST(test_vpic_poll_mode),
		TEST(test_vpic_poll_cascade),
		TEST(test_vpic_read_select_sticks),
		TEST(test_vpic_auto_eoi),
		TEST(test_vpic_rotate_on_eoi),
		TEST(test_vpic_set_priority),
		TEST(test_vpic_rotate_in_auto_eoi),
		TEST(test_vpic_special_mask_mode),
		TEST(test_vpic_irq2_has_no_line),
		TEST(test_vpic_irq_out_of_range),
		TEST(test_vpic_icw1_resets_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
