/*
 * Host tests of hv/vpit.c: the 8254 PIT and its port 0x61 bits.
 *
 * Expected values follow the Intel 8254 data sheet: a count written at
 * input-clock tick w is loaded at tick w + 1 and decremented from w + 2; in
 * mode 0 OUT rises N + 1 clocks after the count is written; in mode 2 OUT is
 * low for the one clock at which the count is 1 and rises as it reloads, so
 * the rising edges fall at ticks w + 1 + m * N (m >= 1); mode 3 is high for
 * ceil(N / 2) clocks of each period. An input-clock tick n happens at TSC
 * time ceil(n * tsc_hz / 1193182); with tsc_hz = 1193182000 that is exactly
 * n * 1000, which most tests use to place accesses on exact ticks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vpit.h"

#define T_CH0 0x40
#define T_CH1 0x41
#define T_CH2 0x42
#define T_CONTROL 0x43
#define T_PORT_B 0x61

#define T_PIT_HZ 1193182ULL
/* 1000 TSC ticks per input clock. */
#define T_TICK_TSC_HZ (T_PIT_HZ * 1000)
#define T_GHZ 1000000000ULL
#define T_25MHZ 25000000ULL

/* Control words: channel, lobyte/hibyte (0x30), mode, binary. */
#define T_CW_CH0_MODE0 0x30
#define T_CW_CH0_MODE2 0x34
#define T_CW_CH0_MODE3 0x36
#define T_CW_CH0_MODE4 0x38
#define T_CW_CH2_MODE0 0xb0
#define T_CW_CH2_MODE1 0xb2
#define T_CW_CH2_MODE2 0xb4
/* Linux's HZ=1000 LATCH, (1193182 + 500) / 1000. */
#define T_LATCH_1000HZ 1193
/* Linux's CALIBRATE_LATCH: 50 ms of input clock. */
#define T_CALIBRATE_LATCH 59659

#define T_PORT_B_GATE2 0x01
#define T_PORT_B_SPEAKER 0x02
#define T_PORT_B_REFRESH 0x10
#define T_PORT_B_OUT2 0x20

#define T_STATUS_OUT 0x80
#define T_STATUS_NULL 0x40

static struct vpit pit;

/** The TSC time of input-clock tick @tick with T_TICK_TSC_HZ. */
static uint64_t at(uint64_t tick)
{
	return tick * 1000;
}

/** A fresh PIT started at TSC 0 with 1000 TSC ticks per input clock. */
static int setup(void **state)
{
	memset(&pit, 0x5a, sizeof(pit));
	vpit_init(&pit, T_TICK_TSC_HZ, 0);
	return 0;
}

/** Writes a control word then a lobyte/hibyte count, all at @now. */
static void program(uint8_t control, uint16_t data_port, unsigned int count, uint64_t now)
{
	vpit_port_write(&pit, T_CONTROL, control, now);
	vpit_port_write(&pit, data_port, (uint8_t)count, now);
	vpit_port_write(&pit, data_port, (uint8_t)(count >> 8), now);
}

/** Reads a lobyte/hibyte count (LSB then MSB) at @now. */
static unsigned int read_count(uint16_t data_port, uint64_t now)
{
	unsigned int lsb = vpit_port_read(&pit, data_port, now);

	return lsb | (unsigned int)vpit_port_read(&pit, data_port, now) << 8;
}

/** The read-back status byte of channel @channel at @now. */
static uint8_t read_status(unsigned int channel, uint64_t now)
{
	/* Read-back: COUNT# = 1 (no count), STATUS# = 0, the channel's select bit. */
	vpit_port_write(&pit, T_CONTROL, (uint8_t)(0xe0 | 2 << channel), now);
	return vpit_port_read(&pit, (uint16_t)(T_CH0 + channel), now);
}

/** The PIT's ports and port 0x61, nothing else. */
static void test_vpit_handles_ports(void **state)
{
	assert_true(vpit_handles_port(0x40));
	assert_true(vpit_handles_port(0x41));
	assert_true(vpit_handles_port(0x42));
	assert_true(vpit_handles_port(0x43));
	assert_true(vpit_handles_port(0x61));
	assert_false(vpit_handles_port(0x3f));
	assert_false(vpit_handles_port(0x44));
	assert_false(vpit_handles_port(0x60));
	assert_false(vpit_handles_port(0x62));
	assert_int_equal(vpit_port_read(&pit, 0x44, 0), 0xff);
	/* The control word register is write-only. */
	assert_int_equal(vpit_port_read(&pit, T_CONTROL, 0), 0xff);
}

/** Unprogrammed: no IRQ0 edge ever, OUT2 high, gate 2 low. */
static void test_vpit_power_on_quiet(void **state)
{
	assert_int_equal(vpit_next_irq0(&pit), UINT64_MAX);
	assert_int_equal(vpit_irq0_edges(&pit, at(10000000)), 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(0)) & ~T_PORT_B_REFRESH, T_PORT_B_OUT2);
}

/** Mode 2, N = 1193 at 1 GHz: the first edges at ticks 1194, 2387, 3580. */
static void test_vpit_mode2_edges_1ghz(void **state)
{
	vpit_init(&pit, T_GHZ, 0);
	program(T_CW_CH0_MODE2, T_CH0, T_LATCH_1000HZ, 0);
	/* ceil(1194e9 / 1193182) = 1000686, ceil(2387e9 / 1193182) = 2000534. */
	assert_int_equal(vpit_next_irq0(&pit), 1000686);
	assert_int_equal(vpit_irq0_edges(&pit, 1000685), 0);
	assert_int_equal(vpit_next_irq0(&pit), 1000686);
	assert_int_equal(vpit_irq0_edges(&pit, 1000686), 1);
	assert_int_equal(vpit_next_irq0(&pit), 2000534);
	assert_int_equal(vpit_irq0_edges(&pit, 2000533), 0);
	assert_int_equal(vpit_irq0_edges(&pit, 2000534), 1);
	assert_int_equal(vpit_next_irq0(&pit), 3000381);
	/* The 1000th edge is at tick 1193001: ceil(1193001e9 / 1193182) = 999848305. */
	assert_int_equal(vpit_irq0_edges(&pit, 999848304), 997);
	assert_int_equal(vpit_next_irq0(&pit), 999848305);
	assert_int_equal(vpit_irq0_edges(&pit, 999848305), 1);
	/* Nothing twice. */
	assert_int_equal(vpit_irq0_edges(&pit, 999848305), 0);
}

/** The same at 25 MHz: ceil(1194 * 25e6 / 1193182) = 25018, and so on. */
static void test_vpit_mode2_edges_25mhz(void **state)
{
	vpit_init(&pit, T_25MHZ, 0);
	program(T_CW_CH0_MODE2, T_CH0, T_LATCH_1000HZ, 0);
	assert_int_equal(vpit_next_irq0(&pit), 25018);
	assert_int_equal(vpit_irq0_edges(&pit, 25017), 0);
	assert_int_equal(vpit_irq0_edges(&pit, 25018), 1);
	assert_int_equal(vpit_next_irq0(&pit), 50014);
	assert_int_equal(vpit_irq0_edges(&pit, 75010), 2);
	assert_int_equal(vpit_irq0_edges(&pit, 24996207), 996);
	assert_int_equal(vpit_irq0_edges(&pit, 24996208), 1);
}

/** Programmed later: the edges count from the write's tick, not from 0. */
static void test_vpit_mode2_edges_from_write_time(void **state)
{
	vpit_init(&pit, T_GHZ, 0);
	/* TSC 12345678 is tick floor(12345678 * 1193182 / 1e9) = 14730. */
	program(T_CW_CH0_MODE2, T_CH0, T_LATCH_1000HZ, 12345678);
	/* Ticks 14730 + 1 + 1193 = 15924 and 17117. */
	assert_int_equal(vpit_next_irq0(&pit), 13345827);
	assert_int_equal(vpit_irq0_edges(&pit, 13345826), 0);
	assert_int_equal(vpit_irq0_edges(&pit, 14345675), 2);
}

/** Mode 2 counts N, N-1, ..., 1, N and OUT is low only while the count is 1. */
static void test_vpit_mode2_count_and_out(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 5, at(100));
	/* Loaded at 101: 5 4 3 2 1 5 4 ... */
	assert_int_equal(read_count(T_CH0, at(101)), 5);
	assert_int_equal(read_count(T_CH0, at(104)), 2);
	assert_int_equal(read_status(0, at(104)) & T_STATUS_OUT, T_STATUS_OUT);
	assert_int_equal(read_count(T_CH0, at(105)), 1);
	assert_int_equal(read_status(0, at(105)) & T_STATUS_OUT, 0);
	assert_int_equal(vpit_irq0_edges(&pit, at(105)), 0);
	assert_int_equal(read_count(T_CH0, at(106)), 5);
	assert_int_equal(read_status(0, at(106)) & T_STATUS_OUT, T_STATUS_OUT);
	assert_int_equal(vpit_irq0_edges(&pit, at(106)), 1);
	/* Edges at 111 and 116. */
	assert_int_equal(vpit_irq0_edges(&pit, at(116)), 2);
}

/** Mode 3, N = 9: high for 5 clocks, low for 4; edges every 9 clocks. */
static void test_vpit_mode3_square_wave(void **state)
{
	program(T_CW_CH0_MODE3, T_CH0, 9, at(0));
	/* Loaded at 1: high at 1-5, low at 6-9, rising at 10. */
	assert_int_equal(read_status(0, at(5)) & T_STATUS_OUT, T_STATUS_OUT);
	assert_int_equal(read_status(0, at(6)) & T_STATUS_OUT, 0);
	assert_int_equal(read_status(0, at(9)) & T_STATUS_OUT, 0);
	assert_int_equal(read_status(0, at(10)) & T_STATUS_OUT, T_STATUS_OUT);
	/* The read-back at 10 already counted that edge: it is due now. */
	assert_int_equal(vpit_next_irq0(&pit), at(10));
	assert_int_equal(vpit_irq0_edges(&pit, at(28)), 3);
	assert_int_equal(vpit_next_irq0(&pit), at(37));
}

/** Mode 3 counts down by two in each half: N = 10 reads 10 8 6 4 2, 10 8 6 4 2. */
static void test_vpit_mode3_count_by_two(void **state)
{
	program(T_CW_CH0_MODE3, T_CH0, 10, at(0));
	assert_int_equal(read_count(T_CH0, at(1)), 10);
	assert_int_equal(read_count(T_CH0, at(2)), 8);
	assert_int_equal(read_count(T_CH0, at(5)), 2);
	assert_int_equal(read_count(T_CH0, at(6)), 10);
	assert_int_equal(read_status(0, at(6)) & T_STATUS_OUT, 0);
	assert_int_equal(read_count(T_CH0, at(10)), 2);
	assert_int_equal(read_count(T_CH0, at(11)), 10);
	assert_int_equal(read_status(0, at(11)) & T_STATUS_OUT, T_STATUS_OUT);
}

/** Linux's TSC calibration: channel 2, mode 0, gate via port 0x61, OUT2 in bit 5. */
static void test_vpit_mode0_channel2_calibration(void **state)
{
	uint8_t port_b = vpit_port_read(&pit, T_PORT_B, at(10));

	vpit_port_write(&pit, T_PORT_B, (uint8_t)((port_b & ~T_PORT_B_SPEAKER) | T_PORT_B_GATE2), at(10));
	program(T_CW_CH2_MODE0, T_CH2, T_CALIBRATE_LATCH, at(10));
	/* OUT2 went low with the control word; high N + 1 clocks after the count. */
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(10)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(10 + T_CALIBRATE_LATCH)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(11 + T_CALIBRATE_LATCH)) & T_PORT_B_OUT2,
			 T_PORT_B_OUT2);
	/* And it stays high (mode 0 does not repeat); the count wraps on. */
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(200000)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	assert_int_equal(read_count(T_CH2, at(11 + T_CALIBRATE_LATCH + 1)), 0xffff);
	/* Channel 2 never drives IRQ0. */
	assert_int_equal(vpit_irq0_edges(&pit, at(200000)), 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(200000)) & 0x0f, T_PORT_B_GATE2);
}

/** Mode 0 counts down from N one per clock: the read sequence quick calibration uses. */
static void test_vpit_mode0_count_down(void **state)
{
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(0));
	program(T_CW_CH2_MODE0, T_CH2, 0xffff, at(0));
	assert_int_equal(read_count(T_CH2, at(1)), 0xffff);
	assert_int_equal(read_count(T_CH2, at(2)), 0xfffe);
	assert_int_equal(read_count(T_CH2, at(1 + 0x100)), 0xfeff);
	assert_int_equal(read_count(T_CH2, at(1 + 40000)), 0xffff - 40000);
}

/** GATE low holds a mode 0 count; it resumes where it stopped. */
static void test_vpit_mode0_gate_holds_count(void **state)
{
	program(T_CW_CH2_MODE0, T_CH2, 100, at(0));
	/* Gate 2 is low after reset: the count waits at N. */
	assert_int_equal(read_count(T_CH2, at(50)), 100);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(500)) & T_PORT_B_OUT2, 0);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(1000));
	/* Counting from the clock after the gate rose, as if loaded then. */
	assert_int_equal(read_count(T_CH2, at(1001)), 100);
	assert_int_equal(read_count(T_CH2, at(1041)), 60);
	vpit_port_write(&pit, T_PORT_B, 0, at(1041));
	assert_int_equal(read_count(T_CH2, at(5000)), 60);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(6000));
	assert_int_equal(read_count(T_CH2, at(6001)), 60);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(6060)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(6061)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
}

/** Mode 0 on channel 0: one IRQ0 edge, then nothing more. */
static void test_vpit_mode0_one_shot_irq0(void **state)
{
	program(T_CW_CH0_MODE0, T_CH0, 1000, at(50));
	assert_int_equal(vpit_next_irq0(&pit), at(1051));
	assert_int_equal(vpit_irq0_edges(&pit, at(1050)), 0);
	assert_int_equal(vpit_irq0_edges(&pit, at(1051)), 1);
	assert_int_equal(vpit_next_irq0(&pit), UINT64_MAX);
	assert_int_equal(vpit_irq0_edges(&pit, at(1000000)), 0);
	/* A new count (no control word, as Linux's oneshot does) arms it again. */
	vpit_port_write(&pit, T_CH0, 0x64, at(2000000));
	vpit_port_write(&pit, T_CH0, 0x00, at(2000000));
	assert_int_equal(vpit_next_irq0(&pit), at(2000101));
}

/** In mode 0 the first byte of a two-byte count stops counting and drops OUT. */
static void test_vpit_mode0_first_byte_stops(void **state)
{
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(0));
	program(T_CW_CH2_MODE0, T_CH2, 10, at(0));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(20)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	vpit_port_write(&pit, T_CH2, 0x05, at(20));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(100)) & T_PORT_B_OUT2, 0);
	vpit_port_write(&pit, T_CH2, 0x00, at(100));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(105)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(106)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
}

/** The counter latch command freezes the count until both bytes are read. */
static void test_vpit_counter_latch(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, T_LATCH_1000HZ, at(0));
	/* At tick 101 the count is 1193 - 100 = 1093 = 0x445. */
	vpit_port_write(&pit, T_CONTROL, 0x00, at(101));
	/* A second latch before the read changes nothing. */
	vpit_port_write(&pit, T_CONTROL, 0x00, at(150));
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(300)), 0x45);
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(400)), 0x04);
	/* Released: live again (tick 501: 1193 - 500 = 693 = 0x2b5). */
	assert_int_equal(read_count(T_CH0, at(501)), 693);
}

/** Read-back: status first, then the count; NULL COUNT until the count is loaded. */
static void test_vpit_read_back_status_and_count(void **state)
{
	vpit_port_write(&pit, T_CONTROL, T_CW_CH0_MODE2, at(0));
	/* OUT high in mode 2, no count yet: 0x80 | 0x40 | 0x34. */
	assert_int_equal(read_status(0, at(0)), 0xf4);
	vpit_port_write(&pit, T_CH0, 0x00, at(0));
	vpit_port_write(&pit, T_CH0, 0x01, at(0));
	assert_int_equal(read_status(0, at(0)), 0xf4);
	assert_int_equal(read_status(0, at(1)), 0xb4);
	/* 0xc2: latch count and status of channel 0. Count at 11 is 256 - 10. */
	vpit_port_write(&pit, T_CONTROL, 0xc2, at(11));
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(20)), 0xb4);
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(30)), 246);
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(40)), 0x00);
	/* 0xd2: count only. */
	vpit_port_write(&pit, T_CONTROL, 0xd2, at(51));
	assert_int_equal(read_count(T_CH0, at(60)), 206);
	/* Mode 0 status after its control word: OUT low, NULL COUNT: 0x40 | 0x30. */
	vpit_port_write(&pit, T_CONTROL, T_CW_CH2_MODE0, at(70));
	assert_int_equal(read_status(2, at(70)), 0x70);
}

/** One read-back command latches several channels at once. */
static void test_vpit_read_back_several_channels(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 1000, at(0));
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(0));
	program(T_CW_CH2_MODE0, T_CH2, 2000, at(0));
	/* 0xca: COUNT and STATUS of channels 0 and 2 at tick 101. */
	vpit_port_write(&pit, T_CONTROL, 0xca, at(101));
	assert_int_equal(vpit_port_read(&pit, T_CH2, at(500)), 0x30);
	assert_int_equal(read_count(T_CH2, at(500)), 1900);
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(600)), 0xb4);
	assert_int_equal(read_count(T_CH0, at(600)), 900);
	/* Channel 1 was not selected: its read is live. */
	assert_int_equal(pit.channels[1].count_latched, false);
}

/** BCD is refused: the channel counts in binary and reports binary. */
static void test_vpit_bcd_refused(void **state)
{
	program(T_CW_CH0_MODE2 | 0x01, T_CH0, 0x0100, at(0));
	assert_int_equal(read_status(0, at(1)), 0xb4);
	/* 0x0100 counts as 256, not BCD 100. */
	assert_int_equal(vpit_next_irq0(&pit), at(257));
}

/** Lobyte-only and hibyte-only access modes. */
static void test_vpit_lobyte_and_hibyte_access(void **state)
{
	/* 0x14: channel 0, LSB only, mode 2. */
	vpit_port_write(&pit, T_CONTROL, 0x14, at(0));
	vpit_port_write(&pit, T_CH0, 100, at(0));
	assert_int_equal(vpit_next_irq0(&pit), at(101));
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(11)), 90);
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(12)), 89);
	/* 0x24: MSB only: a write of 2 is a count of 512. */
	vpit_port_write(&pit, T_CONTROL, 0x24, at(1050));
	vpit_port_write(&pit, T_CH0, 0x02, at(1050));
	/* Edges at 101, 201, ..., 1001 before it. */
	assert_int_equal(vpit_irq0_edges(&pit, at(1050)), 10);
	assert_int_equal(vpit_next_irq0(&pit), at(1563));
	/* 512 - 256 = 0x100. */
	assert_int_equal(vpit_port_read(&pit, T_CH0, at(1051 + 256)), 0x01);
}

/** A count of 0 is 65536. */
static void test_vpit_count_zero_is_65536(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 0, at(0));
	assert_int_equal(vpit_next_irq0(&pit), at(65537));
	assert_int_equal(read_count(T_CH0, at(1)), 0);
	assert_int_equal(read_count(T_CH0, at(2)), 0xffff);
}

/** A new mode 2 count while counting takes over at the end of the current period. */
static void test_vpit_mode2_new_count_at_period_end(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 1000, at(0));
	vpit_port_write(&pit, T_CH0, 0x2c, at(500)); /* 300 */
	vpit_port_write(&pit, T_CH0, 0x01, at(500));
	/* The current period still ends at 1001. */
	assert_int_equal(read_count(T_CH0, at(501)), 500);
	assert_int_equal(read_status(0, at(501)) & T_STATUS_NULL, T_STATUS_NULL);
	assert_int_equal(vpit_next_irq0(&pit), at(1001));
	assert_int_equal(vpit_irq0_edges(&pit, at(1001)), 1);
	assert_int_equal(read_status(0, at(1001)) & T_STATUS_NULL, 0);
	assert_int_equal(read_count(T_CH0, at(1002)), 299);
	assert_int_equal(vpit_next_irq0(&pit), at(1301));
	assert_int_equal(vpit_irq0_edges(&pit, at(1901)), 3);
}

/** The edge at the period end is not lost when the next access comes after it. */
static void test_vpit_mode2_new_count_edges_counted_late(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 1000, at(0));
	vpit_port_write(&pit, T_CH0, 0x2c, at(500));
	vpit_port_write(&pit, T_CH0, 0x01, at(500));
	/* Edges at 1001, 1301, 1601: a read at 1700 must not hide them. */
	assert_int_equal(read_count(T_CH0, at(1700)), 300 - (1700 - 1001) % 300);
	assert_int_equal(vpit_irq0_edges(&pit, at(1700)), 3);
}

/** A control word for mode 2 while mode 0 holds OUT low raises OUT: one IRQ0 edge. */
static void test_vpit_control_word_raises_out(void **state)
{
	program(T_CW_CH0_MODE0, T_CH0, 1000, at(0));
	vpit_port_write(&pit, T_CONTROL, T_CW_CH0_MODE2, at(100));
	assert_int_equal(vpit_irq0_edges(&pit, at(100)), 1);
	assert_int_equal(vpit_next_irq0(&pit), UINT64_MAX);
	assert_int_equal(vpit_irq0_edges(&pit, at(5000)), 0);
}

/** Mode 4: OUT low for one clock when the count reaches 0: IRQ0 rises at N + 2. */
static void test_vpit_mode4_strobe(void **state)
{
	program(T_CW_CH0_MODE4, T_CH0, 10, at(0));
	assert_int_equal(vpit_next_irq0(&pit), at(12));
	assert_int_equal(read_status(0, at(10)) & T_STATUS_OUT, T_STATUS_OUT);
	assert_int_equal(read_status(0, at(11)) & T_STATUS_OUT, 0);
	assert_int_equal(vpit_irq0_edges(&pit, at(11)), 0);
	assert_int_equal(read_status(0, at(12)) & T_STATUS_OUT, T_STATUS_OUT);
	assert_int_equal(vpit_irq0_edges(&pit, at(100000)), 1);
	/* The count wraps on, but the strobe does not repeat. */
	assert_int_equal(vpit_next_irq0(&pit), UINT64_MAX);
}

/** Mode 1 on channel 2: the gate's rise triggers a low pulse of N clocks. */
static void test_vpit_mode1_gate_trigger(void **state)
{
	program(T_CW_CH2_MODE1, T_CH2, 20, at(0));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(100)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(100));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(101)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(120)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(121)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	/* Retriggered: another full pulse. */
	vpit_port_write(&pit, T_PORT_B, 0, at(200));
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(210));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(230)) & T_PORT_B_OUT2, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(231)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
}

/** Mode 2 on channel 2: gate low stops with OUT high, its rise starts a new period. */
static void test_vpit_mode2_gate_restarts(void **state)
{
	program(T_CW_CH2_MODE2, T_CH2, 50, at(0));
	/* Gate 2 low: nothing counts, OUT stays high. */
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(90)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(100));
	assert_int_equal(read_count(T_CH2, at(101)), 50);
	assert_int_equal(read_count(T_CH2, at(130)), 21);
	vpit_port_write(&pit, T_PORT_B, 0, at(149));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(150)) & T_PORT_B_OUT2, T_PORT_B_OUT2);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_GATE2, at(300));
	assert_int_equal(read_count(T_CH2, at(301)), 50);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(350)) & T_PORT_B_OUT2, 0);
}

/** Port 0x61: bits 0-3 read back, bit 4 toggles every 18 clocks, 6-7 read 0. */
static void test_vpit_port_b_bits(void **state)
{
	vpit_port_write(&pit, T_PORT_B, 0xff, at(0));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(0)) & 0xcf, 0x0f);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(17)) & T_PORT_B_REFRESH, 0);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(18)) & T_PORT_B_REFRESH, T_PORT_B_REFRESH);
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(36)) & T_PORT_B_REFRESH, 0);
	vpit_port_write(&pit, T_PORT_B, T_PORT_B_SPEAKER, at(40));
	assert_int_equal(vpit_port_read(&pit, T_PORT_B, at(40)) & 0x0f, T_PORT_B_SPEAKER);
}

/** Edges the caller did not collect for long are all reported at once. */
static void test_vpit_edges_accumulate(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 2, at(0));
	/* Edges at 3, 5, ..., 2001: 1000 of them. */
	assert_int_equal(vpit_irq0_edges(&pit, at(2001)), 1000);
	/* Reprogramming does not lose the ones before it. */
	program(T_CW_CH0_MODE2, T_CH0, 100, at(2011));
	assert_int_equal(vpit_irq0_edges(&pit, at(2112)), 6);
}

/** The edges since the last call are reported once waiting, even with a past TSC. */
static void test_vpit_next_irq0_when_edges_wait(void **state)
{
	program(T_CW_CH0_MODE2, T_CH0, 10, at(0));
	/* Reprogramming at 25 collects the edges at 11 and 21. */
	program(T_CW_CH0_MODE2, T_CH0, 10, at(25));
	assert_int_equal(vpit_next_irq0(&pit), at(25));
	assert_int_equal(vpit_irq0_edges(&pit, at(25)), 2);
	assert_int_equal(vpit_next_irq0(&pit), at(36));
}

/** A zero TSC rate is a caller bug. */
static void test_vpit_zero_tsc_rate(void **state)
{
	expect_assert_failure(vpit_init(&pit, 0, 0));
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

/** Runs the virtual PIT tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_vpit_handles_ports),
		TEST(test_vpit_power_on_quiet),
		TEST(test_vpit_mode2_edges_1ghz),
		TEST(test_vpit_mode2_edges_25mhz),
		TEST(test_vpit_mode2_edges_from_write_time),
		TEST(test_vpit_mode2_count_and_out),
		TEST(test_vpit_mode3_square_wave),
		TEST(test_vpit_mode3_count_by_two),
		TEST(test_vpit_mode0_channel2_calibration),
		TEST(test_vpit_mode0_count_down),
		TEST(test_vpit_mode0_gate_holds_count),
		TEST(test_vpit_mode0_one_shot_irq0),
		TEST(test_vpit_mode0_first_byte_stops),
		TEST(test_vpit_counter_latch),
		TEST(test_vpit_read_back_status_and_count),
		TEST(test_vpit_read_back_several_channels),
		TEST(test_vpit_bcd_refused),
		TEST(test_vpit_lobyte_and_hibyte_access),
		TEST(test_vpit_count_zero_is_65536),
		TEST(test_vpit_mode2_new_count_at_period_end),
		TEST(test_vpit_mode2_new_count_edges_counted_late),
		TEST(test_vpit_control_word_raises_out),
		TEST(test_vpit_mode4_strobe),
		TEST(test_vpit_mode1_gate_trigger),
		TEST(test_vpit_mode2_gate_restarts),
		TEST(test_vpit_port_b_bits),
		TEST(test_vpit_edges_accumulate),
		TEST(test_vpit_next_irq0_when_edges_wait),
		TEST(test_vpit_zero_tsc_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
