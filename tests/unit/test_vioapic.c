/*
 * Host tests of hv/vioapic.c: the partition's I/O APIC.
 *
 * Register values are checked against the 82093AA data sheet (IOREGSEL and
 * IOWIN, ID, version, redirection entry bits) and the ICH9 IOxAPIC chapter
 * (version 0x20, EOI register at 0x40); interrupt behaviour against the
 * messages a recording deliver() receives.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vioapic.h"

/* Window offsets and registers (82093AA 3.1, 3.2; ICH9 EOI). */
#define T_IOREGSEL 0x00
#define T_IOWIN    0x10
#define T_EOI      0x40
#define T_REG_ID   0x00
#define T_REG_VER  0x01
#define T_REG_ARB  0x02
#define T_REG_RTE_LOW(pin)  (0x10 + 2 * (pin))
#define T_REG_RTE_HIGH(pin) (0x11 + 2 * (pin))

/* Redirection entry low dword bits (82093AA 3.2.4). */
#define T_RTE_LOGICAL     (1U << 11)
#define T_RTE_DELIV_STAT  (1U << 12)
#define T_RTE_ACTIVE_LOW  (1U << 13)
#define T_RTE_REMOTE_IRR  (1U << 14)
#define T_RTE_LEVEL       (1U << 15)
#define T_RTE_MASKED      (1U << 16)
#define T_MODE_FIXED      (0U << 8)
#define T_MODE_LOWEST     (1U << 8)
#define T_MODE_NMI        (4U << 8)

#define MAX_MESSAGES 16

static struct vioapic io;
static struct vioapic_message messages[MAX_MESSAGES];
static unsigned int message_count;

/** The deliver() callback: records each message; checks the context. */
static void record(void *ctx, const struct vioapic_message *msg)
{
	assert_ptr_equal(ctx, &io);
	assert_true(message_count < MAX_MESSAGES);
	messages[message_count++] = *msg;
}

/** A fresh I/O APIC over dirty memory, no messages. */
static int setup(void **state)
{
	memset(&io, 0xa5, sizeof(io));
	memset(messages, 0, sizeof(messages));
	message_count = 0;
	vioapic_init(&io, record, &io);
	return 0;
}

/** A 32-bit MMIO read at @offset. */
static uint32_t mmio_read32(uint64_t offset)
{
	return (uint32_t)vioapic_mmio_ops.read(&io, offset, 4);
}

/** A 32-bit MMIO write at @offset. */
static void mmio_write32(uint64_t offset, uint32_t value)
{
	vioapic_mmio_ops.write(&io, offset, value, 4);
}

/** Reads register @index through IOREGSEL/IOWIN, as an OS does. */
static uint32_t reg_read(uint8_t index)
{
	mmio_write32(T_IOREGSEL, index);
	return mmio_read32(T_IOWIN);
}

/** Writes register @index through IOREGSEL/IOWIN. */
static void reg_write(uint8_t index, uint32_t value)
{
	mmio_write32(T_IOREGSEL, index);
	mmio_write32(T_IOWIN, value);
}

/** Programs pin's entry: @low is the low dword, @dest the destination byte. */
static void program(unsigned int pin, uint32_t low, uint8_t dest)
{
	reg_write(T_REG_RTE_HIGH(pin), (uint32_t)dest << 24);
	reg_write(T_REG_RTE_LOW(pin), low);
}

/** Checks message @i field by field. */
static void assert_message(unsigned int i, uint8_t vector, uint8_t mode, bool logical,
			   uint8_t dest, bool level)
{
	assert_true(i < message_count);
	assert_int_equal(messages[i].vector, vector);
	assert_int_equal(messages[i].delivery_mode, mode);
	assert_int_equal(messages[i].logical, logical);
	assert_int_equal(messages[i].destination, dest);
	assert_int_equal(messages[i].level_triggered, level);
}

/* ------------------------------------------------------------------------
 * Registers
 * ------------------------------------------------------------------------ */

/** Version: 0x20, maximum redirection entry 23 (0x17) in bits 23:16. */
static void test_vioapic_version_register(void **state)
{
	assert_int_equal(reg_read(T_REG_VER), 0x00170020);
	reg_write(T_REG_VER, 0);
	assert_int_equal(reg_read(T_REG_VER), 0x00170020);
}

/** ID: bits 27:24 only, read/write; arbitration follows it, read-only. */
static void test_vioapic_id_and_arbitration(void **state)
{
	assert_int_equal(reg_read(T_REG_ID), (uint32_t)VIOAPIC_ID << 24);
	reg_write(T_REG_ID, 0xffffffff);
	assert_int_equal(reg_read(T_REG_ID), 0x0f000000);
	reg_write(T_REG_ID, 0x05000000);
	assert_int_equal(reg_read(T_REG_ID), 0x05000000);
	assert_int_equal(reg_read(T_REG_ARB), 0x05000000);
	reg_write(T_REG_ARB, 0x0a000000);
	assert_int_equal(reg_read(T_REG_ARB), 0x05000000);
	assert_int_equal(reg_read(T_REG_ID), 0x05000000);
}

/** After reset every entry is masked and zero otherwise, all 24 of them. */
static void test_vioapic_reset_masks_every_entry(void **state)
{
	for (unsigned int pin = 0; pin < 24; pin++) {
		assert_int_equal(reg_read(T_REG_RTE_LOW(pin)), T_RTE_MASKED);
		assert_int_equal(reg_read(T_REG_RTE_HIGH(pin)), 0);
	}
	/* Past entry 23 (index 0x3f) nothing: reads 0. */
	assert_int_equal(reg_read(0x40), 0);
	assert_int_equal(reg_read(0x03), 0);
}

/** Writable bits: vector, mode, dest mode, polarity, trigger, mask; dest 63:56. */
static void test_vioapic_entry_writable_bits(void **state)
{
	reg_write(T_REG_RTE_LOW(3), 0xffffffff);
	/* Delivery status (12), remote IRR (14) and 31:17 are not writable. */
	assert_int_equal(reg_read(T_REG_RTE_LOW(3)), 0x0001afff);
	reg_write(T_REG_RTE_HIGH(3), 0xffffffff);
	assert_int_equal(reg_read(T_REG_RTE_HIGH(3)), 0xff000000);
	/* Neighbours untouched. */
	assert_int_equal(reg_read(T_REG_RTE_LOW(2)), T_RTE_MASKED);
	assert_int_equal(reg_read(T_REG_RTE_LOW(4)), T_RTE_MASKED);
	assert_int_equal(reg_read(T_REG_RTE_HIGH(4)), 0);
	reg_write(T_REG_RTE_LOW(23), 0x000080ab);
	reg_write(T_REG_RTE_HIGH(23), 0x12000000);
	assert_int_equal(reg_read(0x3e), 0x000080ab);
	assert_int_equal(reg_read(0x3f), 0x12000000);
}

/** IOREGSEL reads back; smaller reads give the dword's byte lanes. */
static void test_vioapic_window_byte_lanes(void **state)
{
	mmio_write32(T_IOREGSEL, T_REG_VER);
	assert_int_equal(mmio_read32(T_IOREGSEL), T_REG_VER);
	assert_int_equal(vioapic_mmio_ops.read(&io, T_IOWIN, 1), 0x20);
	assert_int_equal(vioapic_mmio_ops.read(&io, T_IOWIN + 2, 1), 0x17);
	assert_int_equal(vioapic_mmio_ops.read(&io, T_IOWIN + 2, 2), 0x0017);
	assert_int_equal(vioapic_mmio_ops.read(&io, T_IOWIN, 8), 0x00170020);
	/* A byte write to IOREGSEL selects too. */
	vioapic_mmio_ops.write(&io, T_IOREGSEL, T_REG_RTE_LOW(0), 1);
	assert_int_equal(mmio_read32(T_IOWIN), T_RTE_MASKED);
	/* The EOI register and unused offsets read 0. */
	assert_int_equal(mmio_read32(T_EOI), 0);
	assert_int_equal(mmio_read32(0x20), 0);
}

/** A partial write to IOWIN does not half-program an entry. */
static void test_vioapic_partial_iowin_write_ignored(void **state)
{
	mmio_write32(T_IOREGSEL, T_REG_RTE_LOW(5));
	vioapic_mmio_ops.write(&io, T_IOWIN, 0x0030, 2);
	vioapic_mmio_ops.write(&io, T_IOWIN, 0x30, 1);
	assert_int_equal(mmio_read32(T_IOWIN), T_RTE_MASKED);
}

/* ------------------------------------------------------------------------
 * Edge-triggered lines
 * ------------------------------------------------------------------------ */

/** An edge line delivers once per rising edge, with the entry's fields. */
static void test_vioapic_edge_delivers_on_rising_edge(void **state)
{
	program(4, T_MODE_FIXED | 0x34, 0x01);
	assert_int_equal(message_count, 0);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x34, 0, false, 0x01, false);
	vioapic_set_irq(&io, 4, true); /* still high: no edge */
	assert_int_equal(message_count, 1);
	vioapic_set_irq(&io, 4, false);
	assert_int_equal(message_count, 1);
	vioapic_set_irq(&io, 4, true);
	assert_int_equal(message_count, 2);
	/* Edge entries never set remote IRR; delivery status reads idle. */
	assert_int_equal(reg_read(T_REG_RTE_LOW(4)), 0x34);
}

/** An edge on a masked pin is lost, and unmasking does not bring it back. */
static void test_vioapic_edge_masked_is_lost(void **state)
{
	program(1, T_RTE_MASKED | 0x31, 0);
	vioapic_set_irq(&io, 1, true);
	assert_int_equal(message_count, 0);
	program(1, 0x31, 0);
	assert_int_equal(message_count, 0);
	vioapic_set_irq(&io, 1, false);
	vioapic_set_irq(&io, 1, true);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x31, 0, false, 0, false);
}

/** Active-low edge: the falling electrical edge is the asserting one. */
static void test_vioapic_edge_active_low(void **state)
{
	vioapic_set_irq(&io, 7, true); /* idle high, as an active-low line is */
	program(7, T_RTE_ACTIVE_LOW | 0x47, 0x02);
	assert_int_equal(message_count, 0);
	vioapic_set_irq(&io, 7, true);
	assert_int_equal(message_count, 0);
	vioapic_set_irq(&io, 7, false);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x47, 0, false, 0x02, false);
	vioapic_set_irq(&io, 7, true);
	assert_int_equal(message_count, 1);
}

/** Logical destination and lowest-priority mode travel in the message. */
static void test_vioapic_logical_lowest_priority_message(void **state)
{
	program(10, T_MODE_LOWEST | T_RTE_LOGICAL | 0xa1, 0x0f);
	vioapic_set_irq(&io, 10, true);
	assert_int_equal(message_count, 1);
	assert_message(0, 0xa1, 1, true, 0x0f, false);
}

/** NMI entries are edge whatever the trigger bit says: no remote IRR. */
static void test_vioapic_nmi_ignores_level_trigger(void **state)
{
	program(5, T_MODE_NMI | T_RTE_LEVEL | 0x02, 0);
	vioapic_set_irq(&io, 5, true);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x02, 4, false, 0, false);
	assert_int_equal(reg_read(T_REG_RTE_LOW(5)) & T_RTE_REMOTE_IRR, 0);
	vioapic_set_irq(&io, 5, true);
	assert_int_equal(message_count, 1);
}

/* ------------------------------------------------------------------------
 * Level-triggered lines
 * ------------------------------------------------------------------------ */

/** Level: one delivery per EOI while asserted; remote IRR shows the wait. */
static void test_vioapic_level_remote_irr_and_eoi(void **state)
{
	program(9, T_RTE_LEVEL | 0x59, 0x03);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x59, 0, false, 0x03, true);
	assert_int_equal(reg_read(T_REG_RTE_LOW(9)), T_RTE_LEVEL | T_RTE_REMOTE_IRR | 0x59);
	vioapic_set_irq(&io, 9, true);
	assert_int_equal(message_count, 1);
	/* EOI while still asserted: delivered again, remote IRR set again. */
	vioapic_eoi(&io, 0x59);
	assert_int_equal(message_count, 2);
	assert_message(1, 0x59, 0, false, 0x03, true);
	assert_int_equal(reg_read(T_REG_RTE_LOW(9)) & T_RTE_REMOTE_IRR, T_RTE_REMOTE_IRR);
	/* Deasserted, then EOI: remote IRR clears and nothing more comes. */
	vioapic_set_irq(&io, 9, false);
	vioapic_eoi(&io, 0x59);
	assert_int_equal(message_count, 2);
	assert_int_equal(reg_read(T_REG_RTE_LOW(9)), T_RTE_LEVEL | 0x59);
}

/** An EOI for another vector leaves remote IRR set. */
static void test_vioapic_level_eoi_other_vector(void **state)
{
	program(11, T_RTE_LEVEL | 0x61, 0);
	vioapic_set_irq(&io, 11, true);
	vioapic_set_irq(&io, 11, false);
	vioapic_eoi(&io, 0x62);
	assert_int_equal(reg_read(T_REG_RTE_LOW(11)) & T_RTE_REMOTE_IRR, T_RTE_REMOTE_IRR);
	vioapic_set_irq(&io, 11, true);
	assert_int_equal(message_count, 1);
	vioapic_eoi(&io, 0x61);
	assert_int_equal(message_count, 2);
}

/** The EOI register (0x40) takes the vector in bits 7:0. */
static void test_vioapic_eoi_register(void **state)
{
	program(12, T_RTE_LEVEL | 0x72, 0);
	vioapic_set_irq(&io, 12, true);
	assert_int_equal(message_count, 1);
	mmio_write32(T_EOI, 0x72);
	assert_int_equal(message_count, 2);
	vioapic_set_irq(&io, 12, false);
	mmio_write32(T_EOI, 0xffffff72);
	assert_int_equal(reg_read(T_REG_RTE_LOW(12)), T_RTE_LEVEL | 0x72);
}

/** One EOI frees every entry waiting on that vector. */
static void test_vioapic_eoi_frees_shared_vector(void **state)
{
	program(16, T_RTE_LEVEL | 0x80, 0);
	program(17, T_RTE_LEVEL | 0x80, 0);
	vioapic_set_irq(&io, 16, true);
	vioapic_set_irq(&io, 17, true);
	assert_int_equal(message_count, 2);
	vioapic_set_irq(&io, 16, false);
	vioapic_eoi(&io, 0x80);
	assert_int_equal(message_count, 3); /* only pin 17 is still asserted */
	assert_int_equal(reg_read(T_REG_RTE_LOW(16)) & T_RTE_REMOTE_IRR, 0);
	assert_int_equal(reg_read(T_REG_RTE_LOW(17)) & T_RTE_REMOTE_IRR, T_RTE_REMOTE_IRR);
}

/** A masked level line holds off; unmasking while asserted delivers. */
static void test_vioapic_level_masked_then_unmasked(void **state)
{
	program(20, T_RTE_MASKED | T_RTE_LEVEL | 0x90, 0x01);
	vioapic_set_irq(&io, 20, true);
	assert_int_equal(message_count, 0);
	assert_int_equal(reg_read(T_REG_RTE_LOW(20)) & T_RTE_REMOTE_IRR, 0);
	reg_write(T_REG_RTE_LOW(20), T_RTE_LEVEL | 0x90);
	assert_int_equal(message_count, 1);
	assert_message(0, 0x90, 0, false, 0x01, true);
}

/** A level line deasserted before it is unmasked delivers nothing. */
static void test_vioapic_level_deasserted_while_masked(void **state)
{
	program(21, T_RTE_MASKED | T_RTE_LEVEL | 0x91, 0);
	vioapic_set_irq(&io, 21, true);
	vioapic_set_irq(&io, 21, false);
	reg_write(T_REG_RTE_LOW(21), T_RTE_LEVEL | 0x91);
	assert_int_equal(message_count, 0);
}

/** Active-low level: a low pin is asserted and delivers once unmasked. */
static void test_vioapic_level_active_low(void **state)
{
	program(22, T_RTE_ACTIVE_LOW | T_RTE_LEVEL | 0xb2, 0);
	assert_int_equal(message_count, 1); /* the pin is low: asserted */
	vioapic_set_irq(&io, 22, true);     /* deasserted */
	vioapic_eoi(&io, 0xb2);
	assert_int_equal(message_count, 1);
	assert_int_equal(reg_read(T_REG_RTE_LOW(22)) & T_RTE_REMOTE_IRR, 0);
	vioapic_set_irq(&io, 22, false);    /* asserted again */
	assert_int_equal(message_count, 2);
}

/** Switching an entry to edge clears a stuck remote IRR. */
static void test_vioapic_edge_switch_clears_remote_irr(void **state)
{
	program(2, T_RTE_LEVEL | 0x40, 0);
	vioapic_set_irq(&io, 2, true);
	vioapic_set_irq(&io, 2, false);
	assert_int_equal(reg_read(T_REG_RTE_LOW(2)) & T_RTE_REMOTE_IRR, T_RTE_REMOTE_IRR);
	reg_write(T_REG_RTE_LOW(2), T_RTE_MASKED | 0x40);
	assert_int_equal(reg_read(T_REG_RTE_LOW(2)), T_RTE_MASKED | 0x40);
	reg_write(T_REG_RTE_LOW(2), T_RTE_LEVEL | 0x40);
	assert_int_equal(message_count, 1);
}

/** A pin number past 23 is a bug in the caller. */
static void test_vioapic_bad_pin_is_a_check_failure(void **state)
{
	expect_assert_failure(vioapic_set_irq(&io, 24, true));
	assert_int_equal(message_count, 0);
}

/** Runs the I/O APIC tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_vioapic_version_register, setup),
		cmocka_unit_test_setup(test_vioapic_id_and_arbitration, setup),
		cmocka_unit_test_setup(test_vioapic_reset_masks_every_entry, setup),
		cmocka_unit_test_setup(test_vioapic_entry_writable_bits, setup),
		cmocka_unit_test_setup(test_vioapic_window_byte_lanes, setup),
		cmocka_unit_test_setup(test_vioapic_partial_iowin_write_ignored, setup),
		cmocka_unit_test_setup(test_vioapic_edge_delivers_on_rising_edge, setup),
		cmocka_unit_test_setup(test_vioapic_edge_masked_is_lost, setup),
		cmocka_unit_test_setup(test_vioapic_edge_active_low, setup),
		cmocka_unit_test_setup(test_vioapic_logical_lowest_priority_message, setup),
		cmocka_unit_test_setup(test_vioapic_nmi_ignores_level_trigger, setup),
		cmocka_unit_test_setup(test_vioapic_level_remote_irr_and_eoi, setup),
		cmocka_unit_test_setup(test_vioapic_level_eoi_other_vector, setup),
		cmocka_unit_test_setup(test_vioapic_eoi_register, setup),
		cmocka_unit_test_setup(test_vioapic_eoi_frees_shared_vector, setup),
		cmocka_unit_test_setup(test_vioapic_level_masked_then_unmasked, setup),
		cmocka_unit_test_setup(test_vioapic_level_deasserted_while_masked, setup),
		cmocka_unit_test_setup(test_vioapic_level_active_low, setup),
		cmocka_unit_test_setup(test_vioapic_edge_switch_clears_remote_irr, setup),
		cmocka_unit_test_setup(test_vioapic_bad_pin_is_a_check_failure, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
