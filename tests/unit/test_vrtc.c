/*
 * Host tests of hv/vrtc.c: the MC146818 RTC and CMOS RAM, and the date
 * helper.
 *
 * Register numbers and bits come from the MC146818 data sheet (A: UIP, DV,
 * RS; B: SET, PIE, AIE, UIE, DM, 24/12; C: IRQF, PF, AF, UF; D: VRT), the
 * memory-size bytes from the PC BIOS's CMOS map. Expected dates were
 * worked out with an independent calendar (Python's datetime), days of week
 * with Sunday = 1 as the RTC counts them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vrtc.h"

#define T_INDEX 0x70
#define T_DATA  0x71

#define T_SEC_REG   0x00
#define T_MIN_REG   0x02
#define T_HOUR_REG  0x04
#define T_WDAY_REG  0x06
#define T_DAY_REG   0x07
#define T_MONTH_REG 0x08
#define T_YEAR_REG  0x09
#define T_REG_A     0x0a
#define T_REG_B     0x0b
#define T_REG_C     0x0c
#define T_REG_D     0x0d
#define T_CENTURY   0x32

#define T_A_UIP 0x80
#define T_B_SET 0x80
#define T_B_UIE 0x10
#define T_B_DM_BINARY 0x04
#define T_B_24H 0x02
#define T_C_IRQF 0x80
#define T_C_PF 0x40
#define T_C_UF 0x10

#define T_SEC 1000000000ULL /* TSC at 1 GHz */
#define T_MS  1000000ULL
#define T_US  1000ULL

static struct vrtc rtc;

/** 2024-02-28 23:59:58, a Wednesday; weekday 0 asks vrtc_init to work it out. */
static const struct vrtc_time start_time = {
	.year = 2024, .month = 2, .day = 28, .hour = 23, .minute = 59, .second = 58, .weekday = 0,
};

/** An RTC started at TSC 0 at 1 GHz with 256 MiB of RAM. */
static int setup(void **state)
{
	memset(&rtc, 0x5a, sizeof(rtc));
	vrtc_init(&rtc, &start_time, T_SEC, 0, MiB(256), 0);
	return 0;
}

/** Reads CMOS byte @index at @now. */
static uint8_t cmos_read(uint8_t index, uint64_t now)
{
	vrtc_port_write(&rtc, T_INDEX, index, now);
	return vrtc_port_read(&rtc, T_DATA, now);
}

/** Writes CMOS byte @index at @now. */
static void cmos_write(uint8_t index, uint8_t value, uint64_t now)
{
	vrtc_port_write(&rtc, T_INDEX, index, now);
	vrtc_port_write(&rtc, T_DATA, value, now);
}

/** Checks the seven time bytes and the century at @now against @expected. */
static void assert_clock(uint64_t now, const uint8_t expected[8])
{
	assert_int_equal(cmos_read(T_CENTURY, now), expected[0]);
	assert_int_equal(cmos_read(T_YEAR_REG, now), expected[1]);
	assert_int_equal(cmos_read(T_MONTH_REG, now), expected[2]);
	assert_int_equal(cmos_read(T_DAY_REG, now), expected[3]);
	assert_int_equal(cmos_read(T_HOUR_REG, now), expected[4]);
	assert_int_equal(cmos_read(T_MIN_REG, now), expected[5]);
	assert_int_equal(cmos_read(T_SEC_REG, now), expected[6]);
	assert_int_equal(cmos_read(T_WDAY_REG, now), expected[7]);
}

/** A date for the helper tests. */
static struct vrtc_time date(unsigned int year, unsigned int month, unsigned int day,
			     unsigned int hour, unsigned int minute, unsigned int second,
			     unsigned int weekday)
{
	return (struct vrtc_time){ .year = (uint16_t)year, .month = (uint8_t)month,
				   .day = (uint8_t)day, .hour = (uint8_t)hour,
				   .minute = (uint8_t)minute, .second = (uint8_t)second,
				   .weekday = (uint8_t)weekday };
}

/** Checks every field of @time. */
static void assert_date(const struct vrtc_time *time, unsigned int year, unsigned int month,
			unsigned int day, unsigned int hour, unsigned int minute,
			unsigned int second, unsigned int weekday)
{
	assert_int_equal(time->year, year);
	assert_int_equal(time->month, month);
	assert_int_equal(time->day, day);
	assert_int_equal(time->hour, hour);
	assert_int_equal(time->minute, minute);
	assert_int_equal(time->second, second);
	assert_int_equal(time->weekday, weekday);
}

/* ------------------------------------------------------------------------
 * The date helper
 * ------------------------------------------------------------------------ */

/** 2024 is a leap year: 28 February is followed by the 29th. */
static void test_vrtc_date_leap_day(void **state)
{
	struct vrtc_time t = date(2024, 2, 28, 23, 59, 59, 4);

	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2024, 2, 29, 0, 0, 0, 5);
	t = date(2024, 2, 29, 23, 59, 59, 5);
	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2024, 3, 1, 0, 0, 0, 6);
}

/** 2023 is not: 28 February is followed by 1 March. */
static void test_vrtc_date_common_year(void **state)
{
	struct vrtc_time t = date(2023, 2, 28, 23, 59, 59, 3);

	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2023, 3, 1, 0, 0, 0, 4);
}

/** The century: 2099-12-31 23:59:59 + 1 s is 2100-01-01, and 2100 is not leap. */
static void test_vrtc_date_century(void **state)
{
	struct vrtc_time t = date(2099, 12, 31, 23, 59, 59, 5);

	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2100, 1, 1, 0, 0, 0, 6);
	t = date(2100, 2, 28, 23, 59, 59, 1);
	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2100, 3, 1, 0, 0, 0, 2);
	/* 2000 divides by 400: leap. */
	t = date(2000, 2, 28, 23, 59, 59, 2);
	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2000, 2, 29, 0, 0, 0, 3);
	t = date(1999, 12, 31, 23, 59, 59, 6);
	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2000, 1, 1, 0, 0, 0, 7);
}

/** Month and year ends: 30-day months, 31 December. */
static void test_vrtc_date_month_and_year_ends(void **state)
{
	struct vrtc_time t = date(2024, 4, 30, 23, 59, 59, 3);

	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2024, 5, 1, 0, 0, 0, 4);
	t = date(2024, 12, 31, 23, 59, 59, 3);
	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2025, 1, 1, 0, 0, 0, 4);
	t = date(2024, 1, 31, 12, 0, 0, 4);
	vrtc_time_add_seconds(&t, 30 * 86400ULL);
	assert_date(&t, 2024, 3, 1, 12, 0, 0, 6);
}

/** Large steps: 10^9 s from 2000, and a century with seconds to spare. */
static void test_vrtc_date_large_steps(void **state)
{
	struct vrtc_time t = date(2000, 1, 1, 0, 0, 0, 7);

	vrtc_time_add_seconds(&t, 1000000000ULL);
	assert_date(&t, 2031, 9, 9, 1, 46, 40, 3);
	t = date(2025, 6, 15, 8, 30, 0, 1);
	vrtc_time_add_seconds(&t, 86400ULL * 365 * 100 + 12345);
	assert_date(&t, 2125, 5, 22, 11, 55, 45, 3);
	t = date(2024, 2, 28, 23, 59, 58, 4);
	vrtc_time_add_seconds(&t, 0);
	assert_date(&t, 2024, 2, 28, 23, 59, 58, 4);
}

/** The clock stops at 9999-12-31 23:59:59. */
static void test_vrtc_date_saturates(void **state)
{
	struct vrtc_time t = date(9999, 12, 31, 23, 59, 50, 6);

	vrtc_time_add_seconds(&t, 5);
	assert_date(&t, 9999, 12, 31, 23, 59, 55, 6);
	vrtc_time_add_seconds(&t, UINT64_MAX);
	assert_int_equal(t.year, 9999);
	assert_int_equal(t.month, 12);
	assert_int_equal(t.day, 31);
	assert_int_equal(t.hour, 23);
	assert_int_equal(t.minute, 59);
	assert_int_equal(t.second, 59);
}

/** Out-of-range fields are clamped first: 31 February counts from the 28th. */
static void test_vrtc_date_clamps_fields(void **state)
{
	struct vrtc_time t = date(2023, 2, 31, 10, 0, 0, 3);

	vrtc_time_add_seconds(&t, 1);
	assert_date(&t, 2023, 2, 28, 10, 0, 1, 3);
	t = date(2023, 13, 0, 25, 61, 99, 0);
	vrtc_time_add_seconds(&t, 1);
	/* 2023-12-01 23:59:59 + 1 s; a weekday outside 1-7 is left alone. */
	assert_date(&t, 2023, 12, 2, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------------
 * The registers
 * ------------------------------------------------------------------------ */

/** The two ports only. */
static void test_vrtc_handles_ports(void **state)
{
	assert_true(vrtc_handles_port(0x70));
	assert_true(vrtc_handles_port(0x71));
	assert_false(vrtc_handles_port(0x72));
	assert_false(vrtc_handles_port(0x6f));
	assert_int_equal(vrtc_port_read(&rtc, 0x72, 0), 0xff);
	/* The index register is write-only. */
	assert_int_equal(vrtc_port_read(&rtc, T_INDEX, 0), 0xff);
}

/** Registers A-D as a PC BIOS leaves them. */
static void test_vrtc_control_registers_at_reset(void **state)
{
	assert_int_equal(cmos_read(T_REG_A, 0), 0x26);
	assert_int_equal(cmos_read(T_REG_B, 0), 0x02);
	assert_int_equal(cmos_read(T_REG_C, 0), 0x00);
	assert_int_equal(cmos_read(T_REG_D, 0), 0x80);
	/* D is read-only. */
	cmos_write(T_REG_D, 0x00, 0);
	assert_int_equal(cmos_read(T_REG_D, 0), 0x80);
}

/** BCD, 24-hour: the start time; the day of week (Wednesday = 4) was computed. */
static void test_vrtc_reads_bcd(void **state)
{
	static const uint8_t expected[8] = { 0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x58, 0x04 };

	assert_clock(0, expected);
}

/** The clock runs with the TSC: two seconds later it is leap day, a Thursday. */
static void test_vrtc_clock_advances(void **state)
{
	static const uint8_t at_one[8] = { 0x20, 0x24, 0x02, 0x28, 0x23, 0x59, 0x59, 0x04 };
	static const uint8_t at_two[8] = { 0x20, 0x24, 0x02, 0x29, 0x00, 0x00, 0x00, 0x05 };

	assert_int_equal(cmos_read(T_SEC_REG, T_SEC - 1), 0x58);
	assert_clock(T_SEC, at_one);
	assert_clock(2 * T_SEC, at_two);
	/* An hour and a bit later, after a long pause. */
	assert_int_equal(cmos_read(T_HOUR_REG, 3602 * T_SEC), 0x01);
	assert_int_equal(cmos_read(T_MIN_REG, 3602 * T_SEC), 0x00);
	assert_int_equal(cmos_read(T_SEC_REG, 3602 * T_SEC), 0x00);
}

/** Binary mode (DM = 1). */
static void test_vrtc_reads_binary(void **state)
{
	static const uint8_t expected[8] = { 20, 24, 2, 28, 23, 59, 58, 4 };

	cmos_write(T_REG_B, T_B_DM_BINARY | T_B_24H, 0);
	assert_clock(0, expected);
}

/** 12-hour mode: 1-12 with bit 7 for PM, in BCD or binary. */
static void test_vrtc_reads_12_hour(void **state)
{
	cmos_write(T_REG_B, 0x00, 0);
	assert_int_equal(cmos_read(T_HOUR_REG, 0), 0x91);   /* 11 PM */
	assert_int_equal(cmos_read(T_HOUR_REG, 2 * T_SEC), 0x12); /* midnight: 12 AM */
	cmos_write(T_HOUR_REG, 0x92, 2 * T_SEC);            /* 12 PM: noon */
	cmos_write(T_REG_B, T_B_24H, 2 * T_SEC);
	assert_int_equal(cmos_read(T_HOUR_REG, 2 * T_SEC), 0x12);
	cmos_write(T_REG_B, T_B_DM_BINARY, 2 * T_SEC);
	assert_int_equal(cmos_read(T_HOUR_REG, 2 * T_SEC), 0x8c); /* 12 PM, binary */
	cmos_write(T_HOUR_REG, 0x0b, 2 * T_SEC);            /* 11 AM */
	cmos_write(T_REG_B, T_B_DM_BINARY | T_B_24H, 2 * T_SEC);
	assert_int_equal(cmos_read(T_HOUR_REG, 2 * T_SEC), 11);
	cmos_write(T_HOUR_REG, 23, 2 * T_SEC);
	cmos_write(T_REG_B, T_B_DM_BINARY, 2 * T_SEC);
	assert_int_equal(cmos_read(T_HOUR_REG, 2 * T_SEC), 0x8b); /* 11 PM, binary */
}

/** UIP reads 1 for the last 244 us before each update, and 0 otherwise. */
static void test_vrtc_uip_window(void **state)
{
	assert_int_equal(cmos_read(T_REG_A, T_SEC - 244 * T_US - 1), 0x26);
	assert_int_equal(cmos_read(T_REG_A, T_SEC - 244 * T_US), 0x26 | T_A_UIP);
	assert_int_equal(cmos_read(T_REG_A, T_SEC - 1), 0x26 | T_A_UIP);
	/* The update happened: the seconds changed and UIP is clear again. */
	assert_int_equal(cmos_read(T_REG_A, T_SEC), 0x26);
	assert_int_equal(cmos_read(T_SEC_REG, T_SEC), 0x59);
	assert_int_equal(cmos_read(T_REG_A, 2 * T_SEC - 244 * T_US), 0x26 | T_A_UIP);
	/* Register A's UIP bit cannot be written. */
	cmos_write(T_REG_A, 0xa6, 2 * T_SEC);
	assert_int_equal(cmos_read(T_REG_A, 2 * T_SEC), 0x26);
}

/** The window is 244 us at any TSC rate: 6100 ticks at 25 MHz. */
static void test_vrtc_uip_window_25mhz(void **state)
{
	vrtc_init(&rtc, &start_time, 25000000, 1000, MiB(256), 0);
	assert_int_equal(cmos_read(T_REG_A, 1000 + 25000000 - 6101), 0x26);
	assert_int_equal(cmos_read(T_REG_A, 1000 + 25000000 - 6100), 0xa6);
	assert_int_equal(cmos_read(T_SEC_REG, 1000 + 25000000 - 1), 0x58);
	assert_int_equal(cmos_read(T_SEC_REG, 1000 + 25000000), 0x59);
}

/** SET freezes the time, clears UIP and UIE; the clock resumes on the divider's next second. */
static void test_vrtc_set_freezes_clock(void **state)
{
	cmos_write(T_REG_B, T_B_SET | T_B_UIE | T_B_24H, 500 * T_MS);
	assert_int_equal(cmos_read(T_REG_B, 500 * T_MS), T_B_SET | T_B_24H);
	assert_int_equal(cmos_read(T_SEC_REG, 10 * T_SEC), 0x58);
	assert_int_equal(cmos_read(T_REG_A, 11 * T_SEC - 1), 0x26);
	cmos_write(T_REG_B, T_B_24H, 11 * T_SEC + 200 * T_MS);
	assert_int_equal(cmos_read(T_SEC_REG, 12 * T_SEC - 1), 0x58);
	assert_int_equal(cmos_read(T_SEC_REG, 12 * T_SEC), 0x59);
}

/** Linux's set_time: SET, every field (day 31 before month 3), then SET clear. */
static void test_vrtc_set_time_sequence(void **state)
{
	static const uint8_t expected[8] = { 0x20, 0x25, 0x03, 0x31, 0x08, 0x15, 0x30, 0x02 };
	static const uint8_t later[8] = { 0x20, 0x25, 0x03, 0x31, 0x08, 0x15, 0x31, 0x02 };
	uint64_t now = 300 * T_MS;

	cmos_write(T_REG_B, T_B_SET | T_B_24H, now);
	cmos_write(T_SEC_REG, 0x30, now);
	cmos_write(T_MIN_REG, 0x15, now);
	cmos_write(T_HOUR_REG, 0x08, now);
	cmos_write(T_WDAY_REG, 0x02, now);
	cmos_write(T_DAY_REG, 0x31, now);
	cmos_write(T_MONTH_REG, 0x03, now);
	cmos_write(T_YEAR_REG, 0x25, now);
	assert_clock(5 * T_SEC, expected);
	cmos_write(T_REG_B, T_B_24H, 5 * T_SEC + 100 * T_MS);
	assert_clock(6 * T_SEC - 1, expected);
	assert_clock(6 * T_SEC, later);
}

/** A time byte written while the clock runs changes that field at once; the phase stays. */
static void test_vrtc_write_while_running(void **state)
{
	cmos_write(T_SEC_REG, 0x10, 500 * T_MS);
	assert_int_equal(cmos_read(T_SEC_REG, 500 * T_MS), 0x10);
	assert_int_equal(cmos_read(T_SEC_REG, T_SEC), 0x11);
	assert_int_equal(cmos_read(T_MIN_REG, T_SEC), 0x59);
	/* Out of range: clamped (BCD 75 to 59). */
	cmos_write(T_SEC_REG, 0x75, T_SEC);
	assert_int_equal(cmos_read(T_SEC_REG, T_SEC), 0x59);
}

/** The century byte is part of the clock: it carries and can be written. */
static void test_vrtc_century_byte(void **state)
{
	static const uint8_t expected[8] = { 0x21, 0x00, 0x01, 0x01, 0x00, 0x00, 0x00, 0x06 };

	cmos_write(T_REG_B, T_B_SET | T_B_24H, 0);
	cmos_write(T_YEAR_REG, 0x99, 0);
	cmos_write(T_MONTH_REG, 0x12, 0);
	cmos_write(T_DAY_REG, 0x31, 0);
	cmos_write(T_WDAY_REG, 0x05, 0);
	cmos_write(T_SEC_REG, 0x59, 0);
	cmos_write(T_REG_B, T_B_24H, 0);
	assert_clock(T_SEC, expected);
	cmos_write(T_CENTURY, 0x19, T_SEC);
	assert_int_equal(cmos_read(T_CENTURY, T_SEC), 0x19);
	assert_int_equal(cmos_read(T_YEAR_REG, T_SEC), 0x00);
	assert_int_equal(rtc.clock.year, 1900);
}

/** Register C: UF and PF since the last read, IRQF when enabled; reading clears. */
static void test_vrtc_register_c_clears_on_read(void **state)
{
	assert_int_equal(cmos_read(T_REG_C, 500 * T_US), 0x00);
	/* RS = 6: a periodic flag every 1/1024 s. */
	assert_int_equal(cmos_read(T_REG_C, 2 * T_MS), T_C_PF);
	assert_int_equal(cmos_read(T_REG_C, 2 * T_MS), 0x00);
	assert_int_equal(cmos_read(T_REG_C, T_SEC), T_C_PF | T_C_UF);
	assert_int_equal(cmos_read(T_REG_C, T_SEC), 0x00);
	cmos_write(T_REG_B, T_B_UIE | T_B_24H, T_SEC);
	assert_int_equal(cmos_read(T_REG_C, 2 * T_SEC), T_C_IRQF | T_C_PF | T_C_UF);
	assert_int_equal(cmos_read(T_REG_C, 2 * T_SEC), 0x00);
	/* RS = 0: no periodic flag. Register C cannot be written. */
	cmos_write(T_REG_A, 0x20, 2 * T_SEC);
	cmos_write(T_REG_C, 0xff, 2 * T_SEC);
	assert_int_equal(cmos_read(T_REG_C, 2 * T_SEC + 900 * T_MS), 0x00);
}

/** DV = 11x holds the divider: time stops; after release the first update is 500 ms later. */
static void test_vrtc_divider_reset(void **state)
{
	cmos_write(T_REG_A, 0x76, 300 * T_MS);
	assert_int_equal(cmos_read(T_SEC_REG, 5 * T_SEC), 0x58);
	assert_int_equal(cmos_read(T_REG_A, 5 * T_SEC), 0x76);
	cmos_write(T_REG_A, 0x26, 5 * T_SEC);
	assert_int_equal(cmos_read(T_SEC_REG, 5 * T_SEC + 500 * T_MS - 1), 0x58);
	assert_int_equal(cmos_read(T_SEC_REG, 5 * T_SEC + 500 * T_MS), 0x59);
	assert_int_equal(cmos_read(T_SEC_REG, 6 * T_SEC + 500 * T_MS), 0x00);
}

/** Bit 7 of the index write is the NMI mask; bits 6-0 select the byte. */
static void test_vrtc_nmi_mask(void **state)
{
	assert_false(vrtc_nmi_masked(&rtc));
	vrtc_port_write(&rtc, T_INDEX, 0x80 | T_REG_D, 0);
	assert_true(vrtc_nmi_masked(&rtc));
	assert_int_equal(vrtc_port_read(&rtc, T_DATA, 0), 0x80);
	vrtc_port_write(&rtc, T_INDEX, T_REG_B, 0);
	assert_false(vrtc_nmi_masked(&rtc));
	assert_int_equal(vrtc_port_read(&rtc, T_DATA, 0), 0x02);
}

/** CMOS RAM keeps what is written, alarms included. */
static void test_vrtc_cmos_ram(void **state)
{
	cmos_write(0x40, 0xa5, 0);
	cmos_write(0x7f, 0x3c, 0);
	cmos_write(0x01, 0x45, 0); /* seconds alarm */
	assert_int_equal(cmos_read(0x40, 0), 0xa5);
	assert_int_equal(cmos_read(0x7f, 0), 0x3c);
	assert_int_equal(cmos_read(0x01, 0), 0x45);
	assert_int_equal(cmos_read(T_SEC_REG, 0), 0x58);
}

/**
 * 256 MiB: 640 KiB at 0 and the rest from 1 MiB (hv/layout.h), so RAM ends
 * at 256 MiB + 384 KiB: 0xffff KiB above 1 MiB (capped), and
 * (256 MiB + 384 KiB - 16 MiB) / 64 KiB = 0x0f06 above 16 MiB.
 */
static void test_vrtc_memory_256m(void **state)
{
	assert_int_equal(cmos_read(0x15, 0), 0x80); /* 640 = 0x280 */
	assert_int_equal(cmos_read(0x16, 0), 0x02);
	assert_int_equal(cmos_read(0x17, 0), 0xff);
	assert_int_equal(cmos_read(0x18, 0), 0xff);
	assert_int_equal(cmos_read(0x30, 0), 0xff);
	assert_int_equal(cmos_read(0x31, 0), 0xff);
	assert_int_equal(cmos_read(0x34, 0), 0x06);
	assert_int_equal(cmos_read(0x35, 0), 0x0f);
	assert_int_equal(cmos_read(0x5b, 0), 0x00);
	assert_int_equal(cmos_read(0x5c, 0), 0x00);
	assert_int_equal(cmos_read(0x5d, 0), 0x00);
	/* Checksum of 0x10-0x2d: 0x80 + 0x02 + 0xff + 0xff = 0x0280. */
	assert_int_equal(cmos_read(0x2e, 0), 0x02);
	assert_int_equal(cmos_read(0x2f, 0), 0x80);
}

/**
 * 6 GiB: below 4 GiB 640 KiB + (3 GiB - 1 MiB) up to the hole at 3 GiB,
 * (3 GiB - 16 MiB) / 64 KiB = 0xbf00; above, 6 GiB less that is
 * 3 GiB + 384 KiB = 0xc006 blocks of 64 KiB.
 */
static void test_vrtc_memory_6g(void **state)
{
	uint64_t below = KiB(640) + GiB(3) - MiB(1);

	vrtc_init(&rtc, &start_time, T_SEC, 0, below, GiB(6) - below);
	assert_int_equal(cmos_read(0x15, 0), 0x80);
	assert_int_equal(cmos_read(0x16, 0), 0x02);
	assert_int_equal(cmos_read(0x17, 0), 0xff);
	assert_int_equal(cmos_read(0x18, 0), 0xff);
	assert_int_equal(cmos_read(0x34, 0), 0x00);
	assert_int_equal(cmos_read(0x35, 0), 0xbf);
	assert_int_equal(cmos_read(0x5b, 0), 0x06);
	assert_int_equal(cmos_read(0x5c, 0), 0xc0);
	assert_int_equal(cmos_read(0x5d, 0), 0x00);
}

/** Small partitions: 512 KiB has no extended memory; 8 MiB has 7552 KiB of it. */
static void test_vrtc_memory_small(void **state)
{
	vrtc_init(&rtc, &start_time, T_SEC, 0, KiB(512), 0);
	assert_int_equal(cmos_read(0x15, 0), 0x00); /* 512 = 0x200 */
	assert_int_equal(cmos_read(0x16, 0), 0x02);
	assert_int_equal(cmos_read(0x17, 0), 0x00);
	assert_int_equal(cmos_read(0x18, 0), 0x00);
	vrtc_init(&rtc, &start_time, T_SEC, 0, MiB(8), 0);
	/* 8 MiB - 640 KiB = 7552 KiB = 0x1d80. */
	assert_int_equal(cmos_read(0x17, 0), 0x80);
	assert_int_equal(cmos_read(0x18, 0), 0x1d);
	assert_int_equal(cmos_read(0x30, 0), 0x80);
	assert_int_equal(cmos_read(0x31, 0), 0x1d);
	assert_int_equal(cmos_read(0x34, 0), 0x00);
	assert_int_equal(cmos_read(0x35, 0), 0x00);
}

/** A given day of week is kept as the RTC's own counter. */
static void test_vrtc_init_keeps_given_weekday(void **state)
{
	struct vrtc_time wall = start_time;

	wall.weekday = 1;
	vrtc_init(&rtc, &wall, T_SEC, 0, MiB(256), 0);
	assert_int_equal(cmos_read(T_WDAY_REG, 0), 0x01);
	assert_int_equal(cmos_read(T_WDAY_REG, 2 * T_SEC), 0x02);
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

/** Runs the virtual RTC tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_vrtc_date_leap_day),
		TEST(test_vrtc_date_common_year),
		TEST(test_vrtc_date_century),
		TEST(test_vrtc_date_month_and_year_ends),
		TEST(test_vrtc_date_large_steps),
		TEST(test_vrtc_date_saturates),
		TEST(test_vrtc_date_clamps_fields),
		TEST(test_vrtc_handles_ports),
		TEST(test_vrtc_control_registers_at_reset),
		TEST(test_vrtc_reads_bcd),
		TEST(test_vrtc_clock_advances),
		TEST(test_vrtc_reads_binary),
		TEST(test_vrtc_reads_12_hour),
		TEST(test_vrtc_uip_window),
		TEST(test_vrtc_uip_window_25mhz),
		TEST(test_vrtc_set_freezes_clock),
		TEST(test_vrtc_set_time_sequence),
		TEST(test_vrtc_write_while_running),
		TEST(test_vrtc_century_byte),
		TEST(test_vrtc_register_c_clears_on_read),
		TEST(test_vrtc_divider_reset),
		TEST(test_vrtc_nmi_mask),
		TEST(test_vrtc_cmos_ram),
		TEST(test_vrtc_memory_256m),
		TEST(test_vrtc_memory_6g),
		TEST(test_vrtc_memory_small),
		TEST(test_vrtc_init_keeps_given_weekday),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
