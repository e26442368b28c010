/*
 * The PC's CMOS: the MC146818 real-time clock and its RAM behind ports 0x70
 * (index) and 0x71 (data). The register numbers and bits are the MC146818
 * data sheet's; the century byte and the memory sizes are the PC/AT BIOS's
 * CMOS map (the FADT's CENTURY field usually names 0x32).
 *
 * Only constants: the host's RTC reader (arch/x86/rtc_read.c), the
 * partitions' virtual RTC (hv/vrtc.c) and the pcplat test guest share them.
 */
#ifndef TESSERA_ARCH_X86_CMOS_H
#define TESSERA_ARCH_X86_CMOS_H

#define CMOS_INDEX_PORT 0x70
#define CMOS_DATA_PORT  0x71
#define CMOS_SIZE       128  /* bytes the index selects: bits 6-0 */
#define CMOS_INDEX_MASK 0x7f
#define CMOS_INDEX_NMI_MASK 0x80 /* bit 7 of a write to 0x70: NMIs masked */

/* The clock's bytes: BCD or binary as register B's DM says. */
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS   0x04
#define RTC_WEEKDAY 0x06 /* 1-7, Sunday = 1 */
#define RTC_DAY     0x07
#define RTC_MONTH   0x08
#define RTC_YEAR    0x09 /* two digits */
#define RTC_REG_A   0x0a
#define RTC_REG_B   0x0b
#define RTC_REG_C   0x0c
#define RTC_REG_D   0x0d
#define RTC_CENTURY 0x32 /* PC/AT convention, in the same form as the year */

/* Register A: update in progress, divider control, rate select. */
#define RTC_A_UIP     0x80
#define RTC_A_DV_MASK 0x70
#define RTC_A_DV_RUN  0x20 /* 010: 32.768 kHz time base, running */
#define RTC_A_RS_MASK 0x0f

/* Register B: SET stops updates; update interrupt enable; binary; 24-hour. */
#define RTC_B_SET       0x80
#define RTC_B_UIE       0x10
#define RTC_B_DM_BINARY 0x04
#define RTC_B_24_HOUR   0x02

/* Register C: any enabled flag, periodic, update (read clears them). */
#define RTC_C_IRQF 0x80
#define RTC_C_PF   0x40
#define RTC_C_UF   0x10

/* Register D: valid RAM and time. */
#define RTC_D_VRT 0x80

/* The hours byte in 12-hour form: bit 7 is PM. */
#define RTC_HOUR_PM 0x80

/* The PC/AT BIOS's memory sizes (little-endian) and checksum (big-endian). */
#define CMOS_BASE_MEMORY_KIB  0x15 /* KiB below 1 MiB, 640 at most */
#define CMOS_EXT_MEMORY_KIB   0x17 /* KiB above 1 MiB */
#define CMOS_CHECKSUM_FIRST   0x10 /* the checksum covers 0x10-0x2d */
#define CMOS_CHECKSUM_LAST    0x2d
#define CMOS_CHECKSUM         0x2e
#define CMOS_EXT_MEMORY_KIB_2 0x30 /* KiB above 1 MiB, again */
#define CMOS_MEMORY_ABOVE_16M 0x34 /* 64 KiB blocks above 16 MiB */
#define CMOS_MEMORY_ABOVE_4G  0x5b /* 64 KiB blocks above 4 GiB, 3 bytes */

#endif /* TESSERA_ARCH_X86_CMOS_H */
