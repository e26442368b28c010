/*
 * The 8254 PIT and its port 0x61 bits: see hv/vpit.h. Each channel is kept
 * as "count N loaded at input-clock tick L": the counting element's value and
 * OUT at any later tick follow from the mode, so nothing needs to run between
 * the guest's accesses. Section names are those of the Intel 8254 data sheet.
 */
#include "hv/vpit.h"
#include "hv/check.h"
#include "hv/string.h"

#define CHANNEL_IRQ0 0
#define CHANNEL_SPEAKER 2

/* Control word (port 0x43): SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define CONTROL_SELECT_SHIFT 6
#define CONTROL_SELECT_READ_BACK 3
#define CONTROL_ACCESS_SHIFT 4
#define CONTROL_ACCESS_MASK 3
#define CONTROL_MODE_SHIFT 1
#define CONTROL_MODE_MASK 7
#define CONTROL_KEPT 0x3e /* RW1-M0; BCD is refused */
#define ACCESS_LATCH 0
#define ACCESS_LSB   1
#define ACCESS_MSB   2
#define ACCESS_WORD  3
/* Read-back command: COUNT and STATUS are active low, CNT2-CNT0 in bits 3-1. */
#define READ_BACK_NO_COUNT  0x20
#define READ_BACK_NO_STATUS 0x10
/* Status byte: OUT, NULL COUNT, then the control word's bits 5-0. */
#define STATUS_OUT        0x80
#define STATUS_NULL_COUNT 0x40

#define PORT_B_GATE2    0x01
#define PORT_B_WRITABLE 0x0f
#define PORT_B_REFRESH_SHIFT 4
#define PORT_B_OUT2     0x20
/* A PC's refresh requests come from channel 1 in mode 2 with a count of 18. */
#define REFRESH_CLOCKS 18

#define COUNT_MAX 65536U /* a count of 0 */
/* Modes 2 and 3 need a count of at least 2 ("Mode 2", "Mode 3"). */
#define PERIODIC_COUNT_MIN 2U
#define NEVER UINT64_MAX
/* Unprogrammed channels: square wave with no count, OUT high (no IRQ0 edge). */
#define POWER_ON_MODE 3

/** Whether @port is the PIT's (0x40-0x43) or port 0x61. */
bool vpit_handles_port(uint16_t port)
{
	return (port >= VPIT_CHANNEL0_PORT && port <= VPIT_CONTROL_PORT) || port == VPIT_PORT_B;
}

/** The input-clock ticks that have happened by TSC time @now. */
static uint64_t vpit_tick_at(const struct vpit *pit, uint64_t now)
{
	uint64_t elapsed = now > pit->start_tsc ? now - pit->start_tsc : 0;

	/* Split so that nothing overflows for any TSC rate below 2^43 Hz. */
	return elapsed / pit->tsc_hz * VPIT_CLOCK_HZ +
	       elapsed % pit->tsc_hz * VPIT_CLOCK_HZ / pit->tsc_hz;
}

/** The first TSC time at which input-clock tick @tick has happened. */
static uint64_t vpit_tsc_of_tick(const struct vpit *pit, uint64_t tick)
{
	uint64_t whole = tick / VPIT_CLOCK_HZ;
	uint64_t part = tick % VPIT_CLOCK_HZ;

	return pit->start_tsc + whole * pit->tsc_hz +
	       (part * pit->tsc_hz + VPIT_CLOCK_HZ - 1) / VPIT_CLOCK_HZ;
}

/** Whether the channel's mode repeats its count (modes 2 and 3). */
static bool channel_is_periodic(const struct vpit_channel *ch)
{
	return ch->mode == 2 || ch->mode == 3;
}

/** Starts a mode 2/3 period that ended at @tick with the waiting count, once @tick has come. */
static void channel_settle(struct vpit_channel *ch, uint64_t tick)
{
	if (ch->reload_pending && tick >= ch->reload_tick) {
		ch->load_tick = ch->reload_tick;
		ch->period = ch->reload_period;
		ch->edge_at_start = true;
		ch->reload_pending = false;
	}
}

/** Clocks counted since the load at @tick; false when no count is in the counting element. */
static bool channel_elapsed(const struct vpit_channel *ch, uint64_t tick, uint64_t *elapsed)
{
	if (!ch->armed) {
		return false;
	}
	if (!ch->running) {
		*elapsed = ch->held_elapsed;
		return true;
	}
	if (tick < ch->load_tick) {
		return false;
	}
	*elapsed = tick - ch->load_tick;
	return true;
}

/** OUT at @tick, from each mode's waveform ("Mode definitions"). */
static bool channel_out(const struct vpit_channel *ch, uint64_t tick)
{
	uint64_t elapsed = 0;
	bool loaded = channel_elapsed(ch, tick, &elapsed);

	switch (ch->mode) {
	case 0:
		return loaded && elapsed >= ch->period;
	case 1:
		return !loaded || elapsed >= ch->period;
	case 2:
		return !loaded || !ch->running || elapsed % ch->period != ch->period - 1;
	case 3:
		return !loaded || !ch->running || elapsed % ch->period < (ch->period + 1) / 2;
	default:
		/* Modes 4 and 5: low for the one clock at which the count reaches 0. */
		return !loaded || elapsed != ch->period;
	}
}

/**
 * Mode 3's counting element at @phase clocks into a period: each half loads
 * the even part of N and counts down by two; the high half is the longer one
 * for an odd N.
 */
static uint16_t square_wave_count(uint32_t period, uint64_t phase)
{
	uint64_t high_clocks = (period + 1) / 2;
	uint64_t into_half = phase < high_clocks ? phase : phase - high_clocks;

	return (uint16_t)((period & ~1U) - 2 * into_half);
}

/** The counting element at @tick, as a read or a latch sees it. */
static uint16_t channel_count(const struct vpit_channel *ch, uint64_t tick)
{
	uint64_t elapsed = 0;

	if (!channel_elapsed(ch, tick, &elapsed)) {
		return (uint16_t)ch->period;
	}
	switch (ch->mode) {
	case 2:
		return (uint16_t)(ch->period - elapsed % ch->period);
	case 3:
		return square_wave_count(ch->period, elapsed % ch->period);
	default:
		/* Modes 0, 1, 4, 5 keep counting down through 0 (mod 2^16). */
		return (uint16_t)(ch->period - elapsed);
	}
}

/** The status byte of the read-back command at @tick. */
static uint8_t channel_status(const struct vpit_channel *ch, uint64_t tick)
{
	return (uint8_t)((channel_out(ch, tick) ? STATUS_OUT : 0) |
			 (tick < ch->null_count_until ? STATUS_NULL_COUNT : 0) | ch->control);
}

/** The first OUT rising edge of the current load and, for modes 2/3, the period after it. */
static uint64_t channel_first_edge(const struct vpit_channel *ch, uint64_t *step)
{
	*step = 0;
	switch (ch->mode) {
	case 0:
	case 1:
		return ch->load_tick + ch->period;
	case 2:
	case 3:
		*step = ch->period;
		return ch->load_tick + (ch->edge_at_start ? 0 : ch->period);
	default:
		/* Modes 4 and 5: OUT comes back up one clock after the strobe. */
		return ch->load_tick + ch->period + 1;
	}
}

/** The OUT rising edges at ticks in (@after, @until] of the current load. */
static uint64_t channel_edges_between(const struct vpit_channel *ch, uint64_t after, uint64_t until)
{
	uint64_t step;
	uint64_t first;
	uint64_t last_index;
	uint64_t first_index;

	if (!ch->armed || !ch->running || until <= after) {
		return 0;
	}
	first = channel_first_edge(ch, &step);
	if (first > until) {
		return 0;
	}
	if (step == 0) {
		return first > after ? 1 : 0;
	}
	last_index = (until - first) / step;
	first_index = first > after ? 0 : (after - first) / step + 1;
	return last_index >= first_index ? last_index - first_index + 1 : 0;
}

/** The first OUT rising edge after tick @after of the current load, or NEVER. */
static uint64_t channel_next_edge(const struct vpit_channel *ch, uint64_t after)
{
	uint64_t step;
	uint64_t first;

	if (!ch->armed || !ch->running) {
		return NEVER;
	}
	first = channel_first_edge(ch, &step);
	if (first > after) {
		return first;
	}
	if (step == 0) {
		return NEVER;
	}
	return first + ((after - first) / step + 1) * step;
}

/** Adds @count IRQ0 edges to those waiting, saturating. */
static void vpit_add_irq0_edges(struct vpit *pit, uint64_t count)
{
	uint64_t total = pit->irq0_pending + count;

	pit->irq0_pending = total > UINT32_MAX ? UINT32_MAX : (unsigned int)total;
}

/**
 * Counts channel 0's edges up to @tick into irq0_pending, across a mode 2/3
 * count that took over at the end of a period, before the channel changes.
 */
static void vpit_collect_irq0(struct vpit *pit, uint64_t tick)
{
	struct vpit_channel *ch = &pit->channels[CHANNEL_IRQ0];
	uint64_t after = pit->irq0_checked_tick;

	if (tick <= after) {
		return;
	}
	if (ch->reload_pending && ch->reload_tick <= tick) {
		uint64_t old_end = ch->reload_tick - 1; /* the new load counts the edge at reload_tick */

		if (old_end > after) {
			vpit_add_irq0_edges(pit, channel_edges_between(ch, after, old_end));
			after = old_end;
		}
		channel_settle(ch, ch->reload_tick);
	}
	vpit_add_irq0_edges(pit, channel_edges_between(ch, after, tick));
	pit->irq0_checked_tick = tick;
}

/** Resets the timer at TSC time @now; the TSC runs at @tsc_hz (not 0). */
void vpit_init(struct vpit *pit, uint64_t tsc_hz, uint64_t now)
{
	CHECK(tsc_hz != 0);
	memset(pit, 0, sizeof(*pit));
	pit->tsc_hz = tsc_hz;
	pit->start_tsc = now;
	for (unsigned int i = 0; i < VPIT_CHANNELS; i++) {
		struct vpit_channel *ch = &pit->channels[i];

		ch->control = ACCESS_WORD << CONTROL_ACCESS_SHIFT | POWER_ON_MODE << CONTROL_MODE_SHIFT;
		ch->mode = POWER_ON_MODE;
		ch->count_register = COUNT_MAX;
		ch->period = COUNT_MAX;
		ch->gate = i != CHANNEL_SPEAKER;
		ch->null_count_until = NEVER;
	}
}

/** Starts counting the count register from the next clock after @tick (load or trigger). */
static void channel_start(struct vpit_channel *ch, uint64_t tick)
{
	ch->armed = true;
	ch->running = true;
	ch->edge_at_start = false;
	ch->reload_pending = false;
	ch->period = ch->count_register;
	if (channel_is_periodic(ch)) {
		ch->period = MAX(ch->period, PERIODIC_COUNT_MIN);
	}
	ch->load_tick = tick + 1;
	ch->null_count_until = tick + 1;
}

/**
 * A mode 2/3 count written while counting: the current period runs out and
 * the new count is loaded as it reloads ("Mode 2": "the current period is
 * not affected").
 */
static void channel_reload_at_period_end(struct vpit_channel *ch, uint64_t tick)
{
	uint64_t periods_done = (tick - ch->load_tick) / ch->period;

	ch->reload_pending = true;
	ch->reload_period = MAX(ch->count_register, PERIODIC_COUNT_MIN);
	ch->reload_tick = ch->load_tick + (periods_done + 1) * ch->period;
	ch->null_count_until = ch->reload_tick;
}

/** A complete new count at @tick, taking effect as the channel's mode says. */
static void channel_load_count(struct vpit_channel *ch, uint32_t count, uint64_t tick)
{
	ch->count_register = count;
	ch->has_count = true;
	switch (ch->mode) {
	case 0:
	case 4:
		/* Loaded on the next clock; GATE low holds it there. */
		channel_start(ch, tick);
		if (!ch->gate) {
			ch->running = false;
			ch->held_elapsed = 0;
		}
		break;
	case 2:
	case 3:
		if (ch->armed && ch->running && tick >= ch->load_tick) {
			channel_reload_at_period_end(ch, tick);
		} else if (ch->gate) {
			channel_start(ch, tick);
		} else {
			ch->null_count_until = NEVER; /* loaded when GATE rises */
		}
		break;
	default:
		/* Modes 1 and 5: loaded by the next trigger. */
		ch->null_count_until = NEVER;
		break;
	}
}

/** A write to a channel's data port: one byte of the count, as the access mode says. */
static void channel_write_count(struct vpit_channel *ch, uint8_t value, uint64_t tick)
{
	uint32_t count;

	switch ((ch->control >> CONTROL_ACCESS_SHIFT) & CONTROL_ACCESS_MASK) {
	case ACCESS_LSB:
		count = value;
		break;
	case ACCESS_MSB:
		count = (uint32_t)value << 8;
		break;
	default:
		if (!ch->write_msb_next) {
			ch->written_lsb = value;
			ch->write_msb_next = true;
			if (ch->mode == 0) {
				/* "Writing the first byte disables counting", OUT low at once. */
				ch->armed = false;
				ch->reload_pending = false;
			}
			return;
		}
		ch->write_msb_next = false;
		count = ch->written_lsb | ((uint32_t)value << 8);
		break;
	}
	channel_load_count(ch, count == 0 ? COUNT_MAX : count, tick);
}

/** A read of a channel's data port: latched status, latched count or the live count. */
static uint8_t channel_read(struct vpit_channel *ch, uint64_t tick)
{
	unsigned int access = (ch->control >> CONTROL_ACCESS_SHIFT) & CONTROL_ACCESS_MASK;
	bool msb = access == ACCESS_MSB || (access == ACCESS_WORD && ch->read_msb_next);
	uint16_t count;

	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->latched_status;
	}
	count = ch->count_latched ? ch->latched_count : channel_count(ch, tick);
	if (access == ACCESS_WORD) {
		ch->read_msb_next = !msb;
	}
	/* A latched count holds until its last byte is read. */
	if (access != ACCESS_WORD || msb) {
		ch->count_latched = false;
	}
	return (uint8_t)(msb ? count >> 8 : count);
}

/** The counter latch command: the first latch holds until it is read. */
static void channel_latch_count(struct vpit_channel *ch, uint64_t tick)
{
	if (!ch->count_latched) {
		ch->latched_count = channel_count(ch, tick);
		ch->count_latched = true;
	}
}

/** The read-back command: latches count and/or status of the selected channels. */
static void vpit_read_back(struct vpit *pit, uint8_t value, uint64_t tick)
{
	for (unsigned int i = 0; i < VPIT_CHANNELS; i++) {
		struct vpit_channel *ch = &pit->channels[i];

		if ((value & BIT(i + 1)) == 0) {
			continue;
		}
		if ((value & READ_BACK_NO_COUNT) == 0) {
			channel_latch_count(ch, tick);
		}
		if ((value & READ_BACK_NO_STATUS) == 0 && !ch->status_latched) {
			ch->latched_status = channel_status(ch, tick);
			ch->status_latched = true;
		}
	}
}

/**
 * A control word: a new mode resets the channel's logic; OUT goes low in
 * mode 0 and high in every other mode (a rise on channel 0 is an IRQ0 edge).
 */
static void vpit_write_control_word(struct vpit *pit, unsigned int index, uint8_t value,
				    uint64_t tick)
{
	struct vpit_channel *ch = &pit->channels[index];
	bool out_before = channel_out(ch, tick);
	uint8_t mode = (value >> CONTROL_MODE_SHIFT) & CONTROL_MODE_MASK;

	ch->control = value & CONTROL_KEPT;
	ch->mode = mode >= 6 ? (uint8_t)(mode - 4) : mode; /* 6 and 7 are 2 and 3 */
	ch->has_count = false;
	ch->armed = false;
	ch->running = false;
	ch->reload_pending = false;
	ch->write_msb_next = false;
	ch->read_msb_next = false;
	ch->count_latched = false;
	ch->status_latched = false;
	ch->null_count_until = NEVER;
	if (index == CHANNEL_IRQ0 && !out_before && channel_out(ch, tick)) {
		vpit_add_irq0_edges(pit, 1);
	}
}

/** A write to port 0x43: a control word, a counter latch or a read-back command. */
static void vpit_write_control(struct vpit *pit, uint8_t value, uint64_t tick)
{
	unsigned int select = value >> CONTROL_SELECT_SHIFT;

	if (select == CONTROL_SELECT_READ_BACK) {
		vpit_read_back(pit, value, tick);
	} else if (((value >> CONTROL_ACCESS_SHIFT) & CONTROL_ACCESS_MASK) == ACCESS_LATCH) {
		channel_latch_count(&pit->channels[select], tick);
	} else {
		vpit_write_control_word(pit, select, value, tick);
	}
}

/**
 * GATE of a channel changes at @tick: modes 0 and 4 hold the count while it
 * is low; modes 2 and 3 stop with OUT high and start a new period when it
 * rises; in modes 1 and 5 a rise triggers the count.
 */
static void channel_set_gate(struct vpit_channel *ch, bool gate, uint64_t tick)
{
	bool periodic_or_triggered = ch->mode != 0 && ch->mode != 4;

	if (gate == ch->gate) {
		return;
	}
	ch->gate = gate;
	if (gate && periodic_or_triggered) {
		if (ch->has_count) {
			channel_start(ch, tick);
		}
	} else if (gate) {
		if (ch->armed && !ch->running) {
			/* Counting resumes on the next clock, where it stopped. */
			ch->running = true;
			ch->load_tick = tick + 1 - ch->held_elapsed;
		}
	} else if (ch->mode != 1 && ch->mode != 5 && ch->armed && ch->running) {
		ch->held_elapsed = tick >= ch->load_tick ? tick - ch->load_tick : 0;
		ch->running = false;
		ch->reload_pending = false;
	}
}

/**
 * Brings the channels to @tick before an access: channel 0's edges so far
 * are counted first (a new mode 2/3 count taking over would hide them).
 */
static void vpit_advance(struct vpit *pit, uint64_t tick)
{
	vpit_collect_irq0(pit, tick);
	for (unsigned int i = 0; i < VPIT_CHANNELS; i++) {
		channel_settle(&pit->channels[i], tick);
	}
}

/** Port 0x61 as read: the written bits, the refresh toggle and OUT2. */
static uint8_t vpit_read_port_b(const struct vpit *pit, uint64_t tick)
{
	bool refresh = (tick / REFRESH_CLOCKS) % 2 != 0;
	bool out2 = channel_out(&pit->channels[CHANNEL_SPEAKER], tick);

	return (uint8_t)(pit->port_b | (refresh ? 1U << PORT_B_REFRESH_SHIFT : 0) |
			 (out2 ? PORT_B_OUT2 : 0));
}

/** A guest IN from @port at TSC time @now (0xff for a port that is not the PIT's). */
uint8_t vpit_port_read(struct vpit *pit, uint16_t port, uint64_t now)
{
	uint64_t tick = vpit_tick_at(pit, now);

	vpit_advance(pit, tick);
	if (port >= VPIT_CHANNEL0_PORT && port < VPIT_CHANNEL0_PORT + VPIT_CHANNELS) {
		return channel_read(&pit->channels[port - VPIT_CHANNEL0_PORT], tick);
	}
	if (port == VPIT_PORT_B) {
		return vpit_read_port_b(pit, tick);
	}
	/* The control word register cannot be read. */
	return 0xff;
}

/** A guest OUT to @port at TSC time @now (ignored for a port that is not the PIT's). */
void vpit_port_write(struct vpit *pit, uint16_t port, uint8_t value, uint64_t now)
{
	uint64_t tick = vpit_tick_at(pit, now);

	vpit_advance(pit, tick);
	if (port >= VPIT_CHANNEL0_PORT && port < VPIT_CHANNEL0_PORT + VPIT_CHANNELS) {
		channel_write_count(&pit->channels[port - VPIT_CHANNEL0_PORT], value, tick);
	} else if (port == VPIT_CONTROL_PORT) {
		vpit_write_control(pit, value, tick);
	} else if (port == VPIT_PORT_B) {
		pit->port_b = value & PORT_B_WRITABLE;
		channel_set_gate(&pit->channels[CHANNEL_SPEAKER], (value & PORT_B_GATE2) != 0, tick);
	}
}

/** The rising edges of channel 0's OUT since the previous call, up to @now. */
unsigned int vpit_irq0_edges(struct vpit *pit, uint64_t now)
{
	unsigned int edges;

	vpit_collect_irq0(pit, vpit_tick_at(pit, now));
	edges = pit->irq0_pending;
	pit->irq0_pending = 0;
	return edges;
}

/** The TSC time of the first IRQ0 edge not reported yet, or UINT64_MAX. */
uint64_t vpit_next_irq0(const struct vpit *pit)
{
	struct vpit_channel ch = pit->channels[CHANNEL_IRQ0];
	uint64_t tick;

	if (pit->irq0_pending > 0) {
		return vpit_tsc_of_tick(pit, pit->irq0_checked_tick);
	}
	channel_settle(&ch, pit->irq0_checked_tick);
	tick = channel_next_edge(&ch, pit->irq0_checked_tick);
	return tick == NEVER ? UINT64_MAX : vpit_tsc_of_tick(pit, tick);
}
