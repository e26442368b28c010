/*
 * flood and quiet: numbered console lines, for the console's fairness test.
 *
 * flood (this file as is) prints as fast as it can, forever: batches of
 * lines through TESSERA_HC_CONSOLE_WRITE, each call as full as the ABI
 * allows, so it produces output far faster than a serial line drains it.
 * Every line is "NNNNNNNN " (its number, from 0, eight digits) and 64
 * letters that depend on the number, so a reader can tell a lost, cut or
 * garbled line from an intact one:
 *   00000042 qrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzab
 *
 * quiet (-DFLOOD_QUIET=1) prints QUIET_LINES lines "line N of M" through its
 * UART, about QUIET_GAP_TICKS apart, then "done" and stops with exit code 0:
 * every one of its lines must reach the console however much flood prints.
 */
#include "guests/common/guest.h"

#define FLOOD_LETTERS    64
#define FLOOD_DIGITS     8
/* Digits, a space, the letters and the line end. */
#define FLOOD_LINE_BYTES (FLOOD_DIGITS + 1 + FLOOD_LETTERS + 1)
#define FLOOD_BATCH_LINES (TESSERA_HC_CONSOLE_WRITE_MAX / FLOOD_LINE_BYTES)

#define QUIET_LINES     30
/* A fraction of a second in Bochs here: quiet's 30 lines span some 5-20 s. */
#define QUIET_GAP_TICKS 3000000ULL

#ifndef FLOOD_QUIET

/** The next line's number, as digits and as its first letter. */
struct flood_counter {
	char digits[FLOOD_DIGITS];
	uint32_t first_letter; /* the number modulo 26 */
};

static char batch[FLOOD_BATCH_LINES * FLOOD_LINE_BYTES];

/**
 * Fills one line for the counter's number at out and counts on. Kept cheap
 * (no division: the digits count in decimal, the letters wrap) so the guest
 * spends its time printing, not formatting.
 */
static void fill_line(char *out, struct flood_counter *counter)
{
	uint32_t letter = counter->first_letter;

	memcpy(out, counter->digits, FLOOD_DIGITS);
	out[FLOOD_DIGITS] = ' ';
	for (uint32_t i = 0; i < FLOOD_LETTERS; i++) {
		out[FLOOD_DIGITS + 1 + i] = (char)('a' + letter);
		letter = letter == 25 ? 0 : letter + 1;
	}
	out[FLOOD_LINE_BYTES - 1] = '\n';
	counter->first_letter = counter->first_letter == 25 ? 0 : counter->first_letter + 1;
	for (int i = FLOOD_DIGITS - 1; i >= 0 && ++counter->digits[i] > '9'; i--) {
		counter->digits[i] = '0';
	}
}

/** Prints numbered lines, a full hypercall at a time, until stopped. */
int guest_main(void)
{
	struct flood_counter counter = { .first_letter = 0 };

	memset(counter.digits, '0', FLOOD_DIGITS);
	for (;;) {
		for (char *line = batch; line != batch + sizeof(batch); line += FLOOD_LINE_BYTES) {
			fill_line(line, &counter);
		}
		int32_t status = hc_console_write(batch, sizeof(batch));

		if (status != TESSERA_HC_SUCCESS) {
			guest_printf("FAILED: TESSERA_HC_CONSOLE_WRITE: %s\n", hc_status_name(status));
			return 1;
		}
	}
}

#else

/** Waits until the TSC has advanced by ticks. */
static void wait_ticks(uint64_t ticks)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < ticks) {
		__asm__ volatile("pause");
	}
}

/** Prints QUIET_LINES numbered lines through the UART, spaced out, then stops. */
int guest_main(void)
{
	for (uint32_t line = 1; line <= QUIET_LINES; line++) {
		guest_printf("line %u of %u\n", line, QUIET_LINES);
		wait_ticks(QUIET_GAP_TICKS);
	}
	guest_printf("done\n");
	return 0;
}

#endif
