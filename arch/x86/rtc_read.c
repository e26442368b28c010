/*
 * Reading the machine's RTC (see rtc_read.h), with the MC146818 registers
 * and the PC/AT century byte of arch/x86/cmos.h.
 *
 * A read is only trusted between updates: the clock's bytes change during
 * the update cycle, which register A's UIP announces 244 us ahead. So the
 * reader waits for UIP to clear and reads every byte twice, until two
 * passes agree.
 */
#include "arch/x86/rtc_read.h"
#include "arch/x86/cmos.h"
#include "arch/x86/cpu.h"
#include "hv/sched.h"

/* An update cycle lasts under 2 ms; wait at most this long for UIP to clear. */
#define RTC_UIP_WAIT_MS 10
#define RTC_READ_TRIES  5

/** The clock's bytes as read in one pass. */
struct rtc_raw {
	uint8_t second, minute, hour, day, month, year, century, reg_b;
};

/** Reads CMOS register @index (NMIs left enabled: bit 7 of the index clear). */
static uint8_t rtc_read_register(uint8_t index)
{
	cpu_outb(CMOS_INDEX_PORT, index);
	return cpu_inb(CMOS_DATA_PORT);
}

/** Waits, boundedly, until no update cycle is announced. */
static void rtc_wait_uip_clear(void)
{
	uint64_t give_up = cpu_rdtsc() + tsc_hz / 1000 * RTC_UIP_WAIT_MS;

	while ((rtc_read_register(RTC_REG_A) & RTC_A_UIP) != 0 && cpu_rdtsc() < give_up) {
		cpu_relax();
	}
}

/** One pass over the clock's bytes. */
static void rtc_read_raw(struct rtc_raw *raw)
{
	raw->second = rtc_read_register(RTC_SECONDS);
	raw->minute = rtc_read_register(RTC_MINUTES);
	raw->hour = rtc_read_register(RTC_HOURS);
	raw->day = rtc_read_register(RTC_DAY);
	raw->month = rtc_read_register(RTC_MONTH);
	raw->year = rtc_read_register(RTC_YEAR);
	raw->century = rtc_read_register(RTC_CENTURY);
	raw->reg_b = rtc_read_register(RTC_REG_B);
}

/** Whether two passes read the same bytes. */
static bool rtc_raw_equal(const struct rtc_raw *a, const struct rtc_raw *b)
{
	return a->second == b->second && a->minute == b->minute && a->hour == b->hour &&
	       a->day == b->day && a->month == b->month && a->year == b->year &&
	       a->century == b->century && a->reg_b == b->reg_b;
}

/** A byte of the clock as a number: BCD unless register B says binary. */
static unsigned int rtc_number(uint8_t byte, bool binary)
{
	return binary ? byte : (unsigned int)(byte >> 4) * 10 + (byte & 0x0f);
}

/** The hour 0-23 from the hours byte, in 12-hour form (1-12, bit 7 PM) or 24-hour. */
static unsigned int rtc_hour(uint8_t byte, uint8_t reg_b)
{
	bool binary = (reg_b & RTC_B_DM_BINARY) != 0;

	if ((reg_b & RTC_B_24_HOUR) != 0) {
		return rtc_number(byte, binary);
	}
	return rtc_number(byte & (uint8_t)~RTC_HOUR_PM, binary) % 12 +
	       ((byte & RTC_HOUR_PM) != 0 ? 12 : 0);
}

/**
 * Decodes a pass; false when a field is out of range. A century byte that
 * is not 19-99 (some boards keep none) is inferred from the two-digit year.
 */
static bool rtc_decode(const struct rtc_raw *raw, struct vrtc_time *out)
{
	bool binary = (raw->reg_b & RTC_B_DM_BINARY) != 0;
	unsigned int year = rtc_number(raw->year, binary);
	unsigned int century = rtc_number(raw->century, binary);

	if (century < 19 || century > 99) {
		century = year < 70 ? 20 : 19;
	}
	*out = (struct vrtc_time){
		.year = (uint16_t)(century * 100 + year),
		.month = (uint8_t)rtc_number(raw->month, binary),
		.day = (uint8_t)rtc_number(raw->day, binary),
		.hour = (uint8_t)rtc_hour(raw->hour, raw->reg_b),
		.minute = (uint8_t)rtc_number(raw->minute, binary),
		.second = (uint8_t)rtc_number(raw->second, binary),
		.weekday = 0, /* vrtc_init() computes it from the date */
	};
	return year <= 99 && out->month >= 1 && out->month <= 12 && out->day >= 1 &&
	       out->day <= 31 && out->hour <= 23 && out->minute <= 59 && out->second <= 59;
}

/** Reads the RTC until two passes agree; false when they never do or it reads nonsense. */
static bool rtc_read_hardware(struct vrtc_time *out)
{
	struct rtc_raw first;
	struct rtc_raw second;

	for (unsigned int i = 0; i < RTC_READ_TRIES; i++) {
		rtc_wait_uip_clear();
		rtc_read_raw(&first);
		rtc_wait_uip_clear();
		rtc_read_raw(&second);
		if (rtc_raw_equal(&first, &second)) {
			return rtc_decode(&second, out);
		}
	}
	return false;
}

/** The wall-clock time at host TSC @now; see rtc_read.h. */
bool rtc_read_wall_time(struct vrtc_time *out, uint64_t now)
{
	static bool read_done;
	static bool read_ok;
	static struct vrtc_time at_read;
	static uint64_t tsc_at_read;

	if (!read_done) {
		read_done = true;
		tsc_at_read = cpu_rdtsc();
		read_ok = rtc_read_hardware(&at_read);
		if (!read_ok) {
			at_read = (struct vrtc_time){ .year = RTC_FALLBACK_YEAR, .month = 1, .day = 1 };
		}
	}
	*out = at_read;
	if (now > tsc_at_read && tsc_hz != 0) {
		vrtc_time_add_seconds(out, (now - tsc_at_read) / tsc_hz);
	}
	return read_ok;
}
