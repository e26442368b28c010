/*
 * The machine's own real-time clock (the MC146818-compatible RTC in CMOS at
 * ports 0x70/0x71), read for the partitions' virtual RTCs. Hardware access:
 * never built for the host tests.
 */
#ifndef TESSERA_ARCH_X86_RTC_READ_H
#define TESSERA_ARCH_X86_RTC_READ_H

#include "hv/vrtc.h"

/* What a clock that reads nonsense is taken to say: 2000-01-01 00:00:00. */
#define RTC_FALLBACK_YEAR 2000

/**
 * The wall-clock time at host TSC @now. The first call reads the RTC (BCD
 * or binary, 12- or 24-hour, as its register B says; century from CMOS
 * 0x32); later calls add the TSC time since that reading, so the RTC is
 * read once. False, with *@out the fallback date, when the clock was
 * unreadable or out of range.
 */
bool rtc_read_wall_time(struct vrtc_time *out, uint64_t now);

#endif /* TESSERA_ARCH_X86_RTC_READ_H */
