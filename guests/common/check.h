/*
 * The checks of the test guests that report one line each: "ok: <what>" or
 * "FAILED: <what>: expected X, got Y". Every check runs even after another
 * failed; the counts decide the guest's exit code at the end.
 */
#ifndef TESSERA_GUESTS_COMMON_CHECK_H
#define TESSERA_GUESTS_COMMON_CHECK_H

#include "guests/common/guest.h"

/* The exit code of a guest stopped by an exception no check armed for. */
#define EXIT_UNEXPECTED_EXCEPTION 255

/* The checks that passed and failed so far. */
extern uint32_t checks_passed;
extern uint32_t checks_failed;

/** Counts and prints a passed check. */
void check_pass(const char *what);

/** Counts a failed check and prints the start of its line; the caller ends it. */
void check_fail(const char *what);

/**
 * Passes @what if @holds; otherwise counts the failure and prints the start
 * of its line, which the caller ends with what it expected and what it got.
 * Returns @holds.
 */
bool check_that(const char *what, bool holds);

/** Checks a 64-bit value (printed in hexadecimal). */
void check_u64(const char *what, uint64_t got, uint64_t expected);

/** Checks a 32-bit value (printed in hexadecimal). */
void check_u32(const char *what, uint32_t got, uint32_t expected);

/** Checks a single bit of a register. */
void check_bit(const char *what, uint32_t reg, unsigned int bit, uint32_t expected);

/** Checks that @got lies in [@low, @high] (printed in decimal: counts and ticks). */
void check_within(const char *what, uint64_t got, uint64_t low, uint64_t high);

/** Checks that @got lies in [@low, @high] (printed in hexadecimal: register values). */
void check_within_hex(const char *what, uint64_t got, uint64_t low, uint64_t high);

/**
 * Reports an exception no check expected, as a failed check, and stops the
 * partition with EXIT_UNEXPECTED_EXCEPTION.
 */
NORETURN void check_fail_unexpected_exception(uint32_t vector, uint32_t error_code,
					      uint32_t eip);

/**
 * Prints the totals, "all N checks passed" or "F of N checks FAILED", and
 * returns the exit code: the number that failed, at most 254 (255 is
 * EXIT_UNEXPECTED_EXCEPTION's).
 */
int check_summary(void);

#endif /* TESSERA_GUESTS_COMMON_CHECK_H */
