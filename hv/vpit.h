/*
 * A partition's 8254 programmable interval timer (channels 0-2 at
 * 0x40-0x42, the control word register at 0x43) and the bits of port 0x61
 * that belong to it: bit 0 is channel 2's GATE, bit 1 the speaker data
 * enable, bits 2-3 are kept as written, bit 4 toggles with each memory
 * refresh request (every 18 input clocks, about 15 us) and bit 5 reads
 * channel 2's OUT. Channel 0's OUT drives IRQ0; channels 0 and 1 have GATE
 * tied high.
 *
 * The input clock runs at VPIT_CLOCK_HZ. Time is the caller's TSC: every
 * call passes `now` in TSC ticks, and the clock's edges are counted from
 * vpit_init()'s `now` (tick n of the input clock happens at the first TSC
 * time t with floor((t - start) * VPIT_CLOCK_HZ / tsc_hz) >= n).
 *
 * Following the 8254 data sheet, a count written at input-clock tick w is
 * loaded into the counting element at tick w + 1 and decremented from tick
 * w + 2 on. Modes 0 (interrupt on terminal count), 2 (rate generator) and 3
 * (square wave) are complete, including GATE and new counts written while
 * counting (a mode 2/3 count takes effect at the end of the current period).
 * Modes 1, 4 and 5 (one-shot and strobes) follow the data sheet for OUT and
 * GATE. Lobyte, hibyte and lobyte/hibyte access, the counter latch command
 * and the read-back command (status and count) are supported.
 *
 * Limitations: BCD counting is refused: the BCD bit of a control word is
 * dropped, the channel counts in binary and its status reports binary. A
 * count of 1 in modes 2 and 3 (illegal per the data sheet) gives an edge per
 * input clock. Until a partition programs a channel it is in mode 3
 * (lobyte/hibyte) with no count: OUT high, so channel 0 raises no IRQ0.
 */
#ifndef TESSERA_HV_VPIT_H
#define TESSERA_HV_VPIT_H

#include "hv/types.h"

#define VPIT_CHANNEL0_PORT 0x40
#define VPIT_CONTROL_PORT  0x43
#define VPIT_PORT_B        0x61 /* NMI status and control (port B) */
#define VPIT_CHANNELS      3
#define VPIT_CLOCK_HZ      1193182ULL

/** One counter: its control word, count register, latches and counting state. */
struct vpit_channel {
	uint8_t control;          /* RW1 RW0 M2 M1 M0 BCD(=0) of the last control word */
	uint8_t mode;             /* 0-5 */
	uint32_t count_register;  /* CR: the last count written, 1-65536 */
	bool has_count;           /* a count was written since the control word */
	bool gate;
	/* Counting element: CE = count_register loaded at load_tick. */
	bool armed;               /* a count is loaded (modes 1 and 5: triggered) */
	bool running;             /* counting, not held by GATE */
	bool edge_at_start;       /* modes 2/3: OUT rises at load_tick (a mid-flight reload) */
	uint32_t period;          /* the count in the counting element, 1-65536 */
	uint64_t load_tick;       /* the input-clock tick the count was loaded at */
	uint64_t held_elapsed;    /* clocks counted before GATE held the count */
	bool reload_pending;      /* modes 2/3: a new count waits for the period's end */
	uint32_t reload_period;
	uint64_t reload_tick;
	uint64_t null_count_until; /* NULL COUNT reads 1 before this tick */
	/* Host interface. */
	bool write_msb_next;      /* lobyte/hibyte: the next write is the MSB */
	uint8_t written_lsb;
	bool read_msb_next;       /* lobyte/hibyte: the next read is the MSB */
	bool count_latched;
	uint16_t latched_count;
	bool status_latched;
	uint8_t latched_status;
};

/** The timer, port 0x61's bits and the IRQ0 edges not yet reported. */
struct vpit {
	uint64_t tsc_hz;
	uint64_t start_tsc;       /* input-clock tick 0 */
	struct vpit_channel channels[VPIT_CHANNELS];
	uint8_t port_b;           /* port 0x61 bits 3-0 as written */
	uint64_t irq0_checked_tick; /* edges up to this tick are counted */
	unsigned int irq0_pending;
};

/** Resets the timer at TSC time @now; the TSC runs at @tsc_hz (not 0). */
void vpit_init(struct vpit *pit, uint64_t tsc_hz, uint64_t now);

/** Whether @port is the PIT's (0x40-0x43) or port 0x61. */
bool vpit_handles_port(uint16_t port);

/** A guest IN from @port at TSC time @now (0xff for a port that is not the PIT's). */
uint8_t vpit_port_read(struct vpit *pit, uint16_t port, uint64_t now);

/** A guest OUT to @port at TSC time @now (ignored for a port that is not the PIT's). */
void vpit_port_write(struct vpit *pit, uint16_t port, uint8_t value, uint64_t now);

/**
 * The rising edges of channel 0's OUT since the previous call (since
 * vpit_init() for the first), up to @now; saturates at UINT_MAX. Each is an
 * IRQ0 edge: the caller pulses IRQ0 that many times, or once to coalesce
 * edges the partition missed (a guest that counts ticks then loses time):
 * that choice is the caller's.
 */
unsigned int vpit_irq0_edges(struct vpit *pit, uint64_t now);

/**
 * The TSC time of the first rising edge of channel 0's OUT that
 * vpit_irq0_edges() has not reported yet (a past time when edges are
 * waiting), or UINT64_MAX when channel 0 will not raise one as programmed.
 */
uint64_t vpit_next_irq0(const struct vpit *pit);

#endif /* TESSERA_HV_VPIT_H */
