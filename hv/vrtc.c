/*
 * The MC146818 RTC and CMOS RAM: see hv/vrtc.h. The time bytes are kept as
 * one binary date (struct vrtc_time) that update cycles advance; BCD and the
 * 12-hour form exist only at the port. Update cycles fall on whole seconds
 * of the divider, which keeps its phase while SET stops the updates.
 */
#include "hv/vrtc.h"
#include "arch/x86/cmos.h"
#include "hv/check.h"
#include "hv/layout.h"
#include "hv/string.h"

/* Register A's bits a guest may write (not UIP), and what a PC BIOS sets. */
#define A_WRITABLE  0x7f
#define A_POWER_ON  0x26 /* DV 010, RS 0110 (1024 Hz) */
#define B_POWER_ON  RTC_B_24_HOUR /* BCD, 24-hour, no interrupts */
#define C_SOURCES   0x70 /* PF, AF, UF; the matching enables in B */

/* UIP rises this long before an update (data sheet: tBUC = 244 us). */
#define UIP_WINDOW_US 244
#define US_PER_SECOND 1000000ULL
/* The periodic rates: 65536 Hz >> shift, RS 1 and 2 repeat RS 8 and 9. */
#define PERIODIC_BASE_SHIFT 16

/* What the CMOS memory-size fields of a PC BIOS (arch/x86/cmos.h) hold. */
#define CMOS_WORD_MAX          0xffffU
#define CMOS_TRIPLE_MAX        0xffffffU
#define CMOS_EXT_MEMORY_BASE   MiB(1)
#define CMOS_ABOVE_16M_BASE    MiB(16)
#define CMOS_BLOCK             KiB(64)

#define SECONDS_PER_DAY 86400U
#define DAYS_PER_WEEK 7U
/* Years are counted from 400 years earlier: the Gregorian cycle, so no year goes below 1. */
#define CYCLE_YEARS 400U
#define CYCLE_DAYS 146097U
/* 1 January 2000 was a Saturday. */
#define REFERENCE_YEAR 2000U
#define REFERENCE_WEEKDAY 7U

/** Whether @year has 29 February (Gregorian). */
static bool is_leap_year(uint64_t year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

/** Days in @month (1-12) of @year. */
static unsigned int days_in_month(uint64_t year, unsigned int month)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return days[month - 1] + (month == 2 && is_leap_year(year) ? 1 : 0);
}

/** Days from the day numbering's origin to 1 January of shifted year @shifted (>= 1). */
static uint64_t days_before_shifted_year(uint64_t shifted)
{
	uint64_t years = shifted - 1;

	return years * 365 + years / 4 - years / 100 + years / 400;
}

/** The day number of a clamped date (consecutive days count up by one). */
static uint64_t day_number(const struct vrtc_time *time)
{
	uint64_t days = days_before_shifted_year((uint64_t)time->year + CYCLE_YEARS);

	for (unsigned int month = 1; month < time->month; month++) {
		days += days_in_month(time->year, month);
	}
	return days + time->day - 1;
}

/** Sets the year, month and day of @time to day number @days. */
static void set_date_from_day_number(struct vrtc_time *time, uint64_t days)
{
	uint64_t shifted = days * CYCLE_YEARS / CYCLE_DAYS + 1;
	unsigned int month = 1;

	/* The estimate is within a year either way. */
	while (shifted > 1 && days_before_shifted_year(shifted) > days) {
		shifted--;
	}
	while (days_before_shifted_year(shifted + 1) <= days) {
		shifted++;
	}
	days -= days_before_shifted_year(shifted);
	time->year = (uint16_t)(shifted - CYCLE_YEARS);
	while (days >= days_in_month(time->year, month)) {
		days -= days_in_month(time->year, month);
		month++;
	}
	time->month = (uint8_t)month;
	time->day = (uint8_t)(days + 1);
}

/** @value limited to [@low, @high]. */
static uint8_t clamp_field(unsigned int value, unsigned int low, unsigned int high)
{
	return (uint8_t)(value < low ? low : value > high ? high : value);
}

/** Brings every field of @time into its range. */
static void vrtc_time_clamp(struct vrtc_time *time)
{
	time->year = (uint16_t)MIN(time->year, VRTC_YEAR_MAX);
	time->month = clamp_field(time->month, 1, 12);
	time->day = clamp_field(time->day, 1, days_in_month(time->year, time->month));
	time->hour = clamp_field(time->hour, 0, 23);
	time->minute = clamp_field(time->minute, 0, 59);
	time->second = clamp_field(time->second, 0, 59);
}

/** The day number of the last day the clock can show, 9999-12-31. */
static uint64_t last_day_number(void)
{
	const struct vrtc_time last = { .year = VRTC_YEAR_MAX, .month = 12, .day = 31 };

	return day_number(&last);
}

/** Adds @seconds to @time, carrying through the calendar; stops at 9999-12-31 23:59:59. */
void vrtc_time_add_seconds(struct vrtc_time *time, uint64_t seconds)
{
	uint64_t today;
	uint64_t days = seconds / SECONDS_PER_DAY;
	uint64_t second_of_day;

	vrtc_time_clamp(time);
	today = day_number(time);
	second_of_day = time->hour * 3600U + time->minute * 60U + time->second +
			seconds % SECONDS_PER_DAY;
	days += second_of_day / SECONDS_PER_DAY;
	second_of_day %= SECONDS_PER_DAY;
	if (days > last_day_number() - today) {
		days = last_day_number() - today;
		second_of_day = SECONDS_PER_DAY - 1;
	}
	set_date_from_day_number(time, today + days);
	time->hour = (uint8_t)(second_of_day / 3600);
	time->minute = (uint8_t)(second_of_day / 60 % 60);
	time->second = (uint8_t)(second_of_day % 60);
	if (time->weekday >= 1 && time->weekday <= DAYS_PER_WEEK) {
		time->weekday = (uint8_t)((time->weekday - 1 + days % DAYS_PER_WEEK) % DAYS_PER_WEEK + 1);
	}
}

/** The day of week (1-7, Sunday = 1) of a clamped date. */
static uint8_t weekday_of(const struct vrtc_time *time)
{
	const struct vrtc_time reference = { .year = REFERENCE_YEAR, .month = 1, .day = 1 };
	uint64_t offset = (day_number(time) % DAYS_PER_WEEK + DAYS_PER_WEEK -
			   day_number(&reference) % DAYS_PER_WEEK) % DAYS_PER_WEEK;

	return (uint8_t)((REFERENCE_WEEKDAY - 1 + offset) % DAYS_PER_WEEK + 1);
}

/** Whether @port is the RTC's (0x70 or 0x71). */
bool vrtc_handles_port(uint16_t port)
{
	return port == CMOS_INDEX_PORT || port == CMOS_DATA_PORT;
}

/** Whether the guest masked NMIs (bit 7 of its last write to port 0x70). */
bool vrtc_nmi_masked(const struct vrtc *rtc)
{
	return rtc->nmi_masked;
}

/** Whether the divider runs (DV = 010), so that update cycles happen. */
static bool vrtc_divider_running(const struct vrtc *rtc)
{
	return (rtc->cmos[RTC_REG_A] & RTC_A_DV_MASK) == RTC_A_DV_RUN;
}

/** The TSC ticks between periodic flags for register A's RS, or 0 for none. */
static uint64_t vrtc_periodic_ticks(const struct vrtc *rtc)
{
	unsigned int rs = rtc->cmos[RTC_REG_A] & RTC_A_RS_MASK;
	unsigned int shift = rs <= 2 ? rs + 7 : rs;
	uint64_t ticks;

	if (rs == 0) {
		return 0;
	}
	ticks = (rtc->tsc_hz >> PERIODIC_BASE_SHIFT << shift) +
		((rtc->tsc_hz & (BIT(PERIODIC_BASE_SHIFT) - 1)) << shift >> PERIODIC_BASE_SHIFT);
	return MAX(ticks, 1);
}

/** Runs the update cycles and periodic ticks due by @now. */
static void vrtc_sync(struct vrtc *rtc, uint64_t now)
{
	uint64_t period = vrtc_periodic_ticks(rtc);

	if (!vrtc_divider_running(rtc)) {
		return;
	}
	if (now >= rtc->next_update) {
		uint64_t updates = (now - rtc->next_update) / rtc->tsc_hz + 1;

		rtc->next_update += updates * rtc->tsc_hz;
		/* SET inhibits the updates, not the divider. */
		if ((rtc->cmos[RTC_REG_B] & RTC_B_SET) == 0) {
			vrtc_time_add_seconds(&rtc->clock, updates);
			rtc->flags |= RTC_C_UF;
		}
	}
	if (period != 0 && now >= rtc->next_periodic) {
		rtc->next_periodic += ((now - rtc->next_periodic) / period + 1) * period;
		rtc->flags |= RTC_C_PF;
	}
}

/** Whether UIP reads 1 at @now (after vrtc_sync): an update is less than 244 us away. */
static bool vrtc_update_in_progress(const struct vrtc *rtc, uint64_t now)
{
	uint64_t window = rtc->tsc_hz / US_PER_SECOND * UIP_WINDOW_US +
			  rtc->tsc_hz % US_PER_SECOND * UIP_WINDOW_US / US_PER_SECOND;

	return vrtc_divider_running(rtc) && (rtc->cmos[RTC_REG_B] & RTC_B_SET) == 0 &&
	       rtc->next_update - now <= window;
}

/** Stores a 16-bit CMOS field, low byte first. */
static void cmos_set_word(struct vrtc *rtc, unsigned int offset, uint64_t value)
{
	rtc->cmos[offset] = (uint8_t)value;
	rtc->cmos[offset + 1] = (uint8_t)(value >> 8);
}

/** The BIOS's memory-size fields for this RAM (see vrtc_init()). */
static void vrtc_fill_memory_sizes(struct vrtc *rtc, uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	uint64_t top = 0;
	uint64_t above_1m = 0;
	uint64_t above_16m = 0;

	if (ram_below_4g > LAYOUT_LOW_RAM_END) {
		top = MIN(LAYOUT_HIGH_RAM_BASE + (ram_below_4g - LAYOUT_LOW_RAM_END),
			  LAYOUT_MMIO_HOLE_BASE);
		above_1m = (top - CMOS_EXT_MEMORY_BASE) / KiB(1);
	}
	if (top > CMOS_ABOVE_16M_BASE) {
		above_16m = (top - CMOS_ABOVE_16M_BASE) / CMOS_BLOCK;
	}
	cmos_set_word(rtc, CMOS_BASE_MEMORY_KIB, MIN(ram_below_4g, LAYOUT_LOW_RAM_END) / KiB(1));
	cmos_set_word(rtc, CMOS_EXT_MEMORY_KIB, MIN(above_1m, CMOS_WORD_MAX));
	cmos_set_word(rtc, CMOS_EXT_MEMORY_KIB_2, MIN(above_1m, CMOS_WORD_MAX));
	cmos_set_word(rtc, CMOS_MEMORY_ABOVE_16M, MIN(above_16m, CMOS_WORD_MAX));
	cmos_set_word(rtc, CMOS_MEMORY_ABOVE_4G, MIN(ram_above_4g / CMOS_BLOCK, CMOS_TRIPLE_MAX));
	rtc->cmos[CMOS_MEMORY_ABOVE_4G + 2] = (uint8_t)(MIN(ram_above_4g / CMOS_BLOCK, CMOS_TRIPLE_MAX) >> 16);
}

/** The standard CMOS checksum: the sum of 0x10-0x2d, big-endian at 0x2e. */
static void vrtc_fill_checksum(struct vrtc *rtc)
{
	unsigned int sum = 0;

	for (unsigned int i = CMOS_CHECKSUM_FIRST; i <= CMOS_CHECKSUM_LAST; i++) {
		sum += rtc->cmos[i];
	}
	rtc->cmos[CMOS_CHECKSUM] = (uint8_t)(sum >> 8);
	rtc->cmos[CMOS_CHECKSUM + 1] = (uint8_t)sum;
}

/** Resets the RTC at @now, showing @wall, with the BIOS's memory-size fields. */
void vrtc_init(struct vrtc *rtc, const struct vrtc_time *wall, uint64_t tsc_hz, uint64_t now,
	       uint64_t ram_below_4g, uint64_t ram_above_4g)
{
	CHECK(tsc_hz != 0);
	memset(rtc, 0, sizeof(*rtc));
	rtc->tsc_hz = tsc_hz;
	rtc->clock = *wall;
	vrtc_time_clamp(&rtc->clock);
	if (rtc->clock.weekday < 1 || rtc->clock.weekday > DAYS_PER_WEEK) {
		rtc->clock.weekday = weekday_of(&rtc->clock);
	}
	rtc->cmos[RTC_REG_A] = A_POWER_ON;
	rtc->cmos[RTC_REG_B] = B_POWER_ON;
	rtc->next_update = now + tsc_hz;
	rtc->next_periodic = now + vrtc_periodic_ticks(rtc);
	vrtc_fill_memory_sizes(rtc, ram_below_4g, ram_above_4g);
	vrtc_fill_checksum(rtc);
}

/** A time field (0-99) as the guest reads it: BCD unless register B says binary. */
static uint8_t vrtc_encode(const struct vrtc *rtc, unsigned int value)
{
	if ((rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY) != 0) {
		return (uint8_t)value;
	}
	return (uint8_t)((value / 10) << 4 | value % 10);
}

/** A time byte the guest wrote, as a binary number (BCD unless register B says binary). */
static unsigned int vrtc_decode(const struct vrtc *rtc, uint8_t value)
{
	if ((rtc->cmos[RTC_REG_B] & RTC_B_DM_BINARY) != 0) {
		return value;
	}
	return (value >> 4) * 10U + (value & 0x0f);
}

/** The hours byte: 0-23, or 1-12 with bit 7 for PM in 12-hour mode. */
static uint8_t vrtc_encode_hour(const struct vrtc *rtc, unsigned int hour)
{
	unsigned int twelve = hour % 12 == 0 ? 12 : hour % 12;

	if ((rtc->cmos[RTC_REG_B] & RTC_B_24_HOUR) != 0) {
		return vrtc_encode(rtc, hour);
	}
	return (uint8_t)(vrtc_encode(rtc, twelve) | (hour >= 12 ? RTC_HOUR_PM : 0));
}

/** A written hours byte as 0-23. */
static uint8_t vrtc_decode_hour(const struct vrtc *rtc, uint8_t value)
{
	unsigned int twelve;

	if ((rtc->cmos[RTC_REG_B] & RTC_B_24_HOUR) != 0) {
		return clamp_field(vrtc_decode(rtc, value), 0, 23);
	}
	twelve = clamp_field(vrtc_decode(rtc, value & (uint8_t)~RTC_HOUR_PM), 1, 12) % 12;
	return (uint8_t)(twelve + ((value & RTC_HOUR_PM) != 0 ? 12 : 0));
}

/** Register C as read: the flags with IRQF; reading clears them. */
static uint8_t vrtc_read_c(struct vrtc *rtc)
{
	uint8_t value = rtc->flags;

	if ((rtc->flags & rtc->cmos[RTC_REG_B] & C_SOURCES) != 0) {
		value |= RTC_C_IRQF;
	}
	rtc->flags = 0;
	return value;
}

/** The byte at the current index, at @now (after vrtc_sync). */
static uint8_t vrtc_read_register(struct vrtc *rtc, uint64_t now)
{
	const struct vrtc_time *clock = &rtc->clock;

	switch (rtc->index) {
	case RTC_SECONDS:
		return vrtc_encode(rtc, clock->second);
	case RTC_MINUTES:
		return vrtc_encode(rtc, clock->minute);
	case RTC_HOURS:
		return vrtc_encode_hour(rtc, clock->hour);
	case RTC_WEEKDAY:
		return vrtc_encode(rtc, clock->weekday);
	case RTC_DAY:
		return vrtc_encode(rtc, clock->day);
	case RTC_MONTH:
		return vrtc_encode(rtc, clock->month);
	case RTC_YEAR:
		return vrtc_encode(rtc, clock->year % 100U);
	case RTC_CENTURY:
		return vrtc_encode(rtc, clock->year / 100U);
	case RTC_REG_A:
		return (uint8_t)(rtc->cmos[RTC_REG_A] | (vrtc_update_in_progress(rtc, now) ? RTC_A_UIP : 0));
	case RTC_REG_C:
		return vrtc_read_c(rtc);
	case RTC_REG_D:
		return RTC_D_VRT;
	default:
		return rtc->cmos[rtc->index];
	}
}

/** A guest IN from @port at TSC time @now (0xff for 0x70 and other ports). */
uint8_t vrtc_port_read(struct vrtc *rtc, uint16_t port, uint64_t now)
{
	if (port != CMOS_DATA_PORT) {
		return 0xff;
	}
	vrtc_sync(rtc, now);
	return vrtc_read_register(rtc, now);
}

/**
 * Register A: a divider leaving reset (or stop) makes its first update half
 * a second later ("Divider control"); a new rate restarts the periodic ticks.
 */
static void vrtc_write_a(struct vrtc *rtc, uint8_t value, uint64_t now)
{
	bool was_running = vrtc_divider_running(rtc);
	uint8_t old_rate = rtc->cmos[RTC_REG_A] & RTC_A_RS_MASK;

	rtc->cmos[RTC_REG_A] = value & A_WRITABLE;
	if (!vrtc_divider_running(rtc)) {
		return;
	}
	if (!was_running) {
		rtc->next_update = now + rtc->tsc_hz / 2;
	}
	if (!was_running || old_rate != (value & RTC_A_RS_MASK)) {
		rtc->next_periodic = now + vrtc_periodic_ticks(rtc);
	}
}

/** A time byte written at the current index: the field changes, clamped into its range. */
static void vrtc_write_time(struct vrtc *rtc, uint8_t value)
{
	struct vrtc_time *clock = &rtc->clock;
	unsigned int number = vrtc_decode(rtc, value);

	switch (rtc->index) {
	case RTC_SECONDS:
		clock->second = clamp_field(number, 0, 59);
		break;
	case RTC_MINUTES:
		clock->minute = clamp_field(number, 0, 59);
		break;
	case RTC_HOURS:
		clock->hour = vrtc_decode_hour(rtc, value);
		break;
	case RTC_WEEKDAY:
		clock->weekday = clamp_field(number, 1, DAYS_PER_WEEK);
		break;
	case RTC_DAY:
		/* Up to 31 whatever the month: the month may be written next. */
		clock->day = clamp_field(number, 1, 31);
		break;
	case RTC_MONTH:
		clock->month = clamp_field(number, 1, 12);
		break;
	case RTC_YEAR:
		clock->year = (uint16_t)(clock->year / 100U * 100U + clamp_field(number, 0, 99));
		break;
	default:
		clock->year = (uint16_t)(clamp_field(number, 0, 99) * 100U + clock->year % 100U);
		break;
	}
}

/** A guest OUT to @port at TSC time @now (ignored for other ports). */
void vrtc_port_write(struct vrtc *rtc, uint16_t port, uint8_t value, uint64_t now)
{
	if (port == CMOS_INDEX_PORT) {
		rtc->index = value & CMOS_INDEX_MASK;
		rtc->nmi_masked = (value & CMOS_INDEX_NMI_MASK) != 0;
		return;
	}
	if (port != CMOS_DATA_PORT) {
		return;
	}
	vrtc_sync(rtc, now);
	switch (rtc->index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_WEEKDAY:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		vrtc_write_time(rtc, value);
		break;
	case RTC_REG_A:
		vrtc_write_a(rtc, value, now);
		break;
	case RTC_REG_B:
		/* "UIE is cleared when SET is written to 1." */
		rtc->cmos[RTC_REG_B] = (value & RTC_B_SET) != 0 ? (uint8_t)(value & ~RTC_B_UIE) : value;
		break;
	case RTC_REG_C:
	case RTC_REG_D:
		break; /* read-only */
	default:
		rtc->cmos[rtc->index] = value;
		break;
	}
}
