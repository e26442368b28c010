/*
 * A partition's MC146818 real-time clock and CMOS RAM at 0x70 (index) and
 * 0x71 (data).
 *
 * Port 0x70 is write-only (reads 0xff): bits 6-0 select one of the 128
 * bytes, bit 7 is the NMI mask, kept for vrtc_nmi_masked(). The clock runs
 * from the caller's TSC (`now` in ticks of tsc_hz) and starts at the wall
 * time given to vrtc_init(). Following the MC146818 data sheet:
 *  - 0x00-0x09: seconds, minutes, hours, day of week (1-7, Sunday = 1), day
 *    of month, month, year (two digits), in BCD or binary (register B DM)
 *    and 24- or 12-hour form (register B 24/12; 12-hour: 1-12, bit 7 = PM);
 *    the alarm bytes 0x01/0x03/0x05 are plain storage.
 *  - 0x0a register A: UIP (read-only) is 1 during the 244 us before each
 *    update; DV (bits 6-4) must be 010 for the clock to run, 11x holds the
 *    divider in reset and the first update follows 500 ms after release;
 *    RS (bits 3-0) sets the periodic rate.
 *  - 0x0b register B: SET stops updates (and clears UIE); time bytes written
 *    meanwhile are the time the clock resumes from when SET is cleared, on
 *    the divider's next second. A time byte written while the clock runs
 *    changes that field at once. Changing DM or 24/12 changes how the time
 *    reads, not the time.
 *  - 0x0c register C: PF (a periodic tick), UF (an update) and IRQF
 *    (PF.PIE + AF.AIE + UF.UIE) since the last read, which clears them.
 *  - 0x0d register D: VRT = 1, read-only.
 *  - 0x32: the century, in the same form as the year: years run 0000-9999
 *    with Gregorian leap years.
 *  - 0x0e-0x7f: RAM, with the memory sizes a PC BIOS stores (see
 *    vrtc_init()) and the standard checksum of 0x10-0x2d at 0x2e/0x2f.
 * A time byte written out of its range is clamped into it (the chip would
 * keep it and count strangely); a day beyond its month is kept until the
 * clock next advances.
 *
 * Not modelled: interrupts. Nothing is raised on IRQ8; register B's PIE,
 * AIE and UIE are stored and only feed IRQF in register C. The alarm is
 * never compared (AF stays 0) and daylight saving (DSE) is stored, inert.
 */
#ifndef TESSERA_HV_VRTC_H
#define TESSERA_HV_VRTC_H

#include "arch/x86/cmos.h"
#include "hv/types.h"

#define VRTC_YEAR_MAX   9999

/** A calendar date and time of day, all fields binary. */
struct vrtc_time {
	uint16_t year;    /* full year, 0-9999 */
	uint8_t month;    /* 1-12 */
	uint8_t day;      /* 1-31 */
	uint8_t hour;     /* 0-23 */
	uint8_t minute;   /* 0-59 */
	uint8_t second;   /* 0-59 */
	uint8_t weekday;  /* 1-7, Sunday = 1 (the RTC's day of week) */
};

/** The clock, its control registers and the CMOS RAM. */
struct vrtc {
	uint64_t tsc_hz;
	struct vrtc_time clock;  /* what the time bytes hold */
	uint64_t next_update;    /* TSC time of the next update cycle (divider running) */
	uint64_t next_periodic;  /* TSC time of the next periodic tick (RS != 0) */
	uint8_t flags;           /* register C's PF, AF, UF since it was last read */
	uint8_t index;
	bool nmi_masked;
	uint8_t cmos[CMOS_SIZE]; /* registers A, B, the alarms and RAM */
};

/**
 * Adds @seconds to @time: minutes, hours, days, months and years carry
 * (Gregorian leap years, so 2100 is not one), the day of week advances with
 * the days. Fields out of range are first clamped into it (a day beyond its
 * month becomes the month's last). Stops at 9999-12-31 23:59:59.
 */
void vrtc_time_add_seconds(struct vrtc_time *time, uint64_t seconds);

/**
 * Resets the RTC at TSC time @now (the TSC runs at @tsc_hz, not 0): the
 * clock shows @wall (a weekday outside 1-7 is computed from the date) and
 * advances from there; registers A-D as a PC BIOS leaves them (0x26, 0x02:
 * BCD, 24-hour). The partition's RAM is @ram_below_4g bytes below 4 GiB,
 * laid out as hv/layout.h says (the first LAYOUT_LOW_RAM_END bytes at 0,
 * the rest from LAYOUT_HIGH_RAM_BASE up to the MMIO hole), and @ram_above_4g
 * bytes from 4 GiB. CMOS gets the BIOS's fields: 0x15/0x16 base memory in
 * KiB (640 at most), 0x17/0x18 and 0x30/0x31 memory above 1 MiB in KiB
 * (0xffff at most), 0x34/0x35 memory above 16 MiB in 64 KiB units, and
 * 0x5b-0x5d memory above 4 GiB in 64 KiB units.
 */
void vrtc_init(struct vrtc *rtc, const struct vrtc_time *wall, uint64_t tsc_hz, uint64_t now,
	       uint64_t ram_below_4g, uint64_t ram_above_4g);

/** Whether @port is the RTC's (0x70 or 0x71). */
bool vrtc_handles_port(uint16_t port);

/** A guest IN from @port at TSC time @now (0xff for 0x70 and other ports). */
uint8_t vrtc_port_read(struct vrtc *rtc, uint16_t port, uint64_t now);

/** A guest OUT to @port at TSC time @now (ignored for other ports). */
void vrtc_port_write(struct vrtc *rtc, uint16_t port, uint8_t value, uint64_t now);

/** Whether the guest masked NMIs (bit 7 of its last write to port 0x70). */
bool vrtc_nmi_masked(const struct vrtc *rtc);

#endif /* TESSERA_HV_VRTC_H */
