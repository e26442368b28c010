/*
 * The one-line checks of the test guests (see check.h).
 */
#include "guests/common/check.h"

/* The largest exit code check_summary() returns; 255 means something else. */
#define EXIT_FAILURES_MAX 254U

uint32_t checks_passed;
uint32_t checks_failed;

/** Counts and prints a passed check. */
void check_pass(const char *what)
{
	checks_passed++;
	guest_printf("ok: %s\n", what);
}

/** Counts a failed check and prints the start of its line; the caller ends it. */
void check_fail(const char *what)
{
	checks_failed++;
	guest_printf("FAILED: %s: ", what);
}

/** Passes @what if @holds, or fails it and leaves its line for the caller to end. */
bool check_that(const char *what, bool holds)
{
	if (holds) {
		check_pass(what);
	} else {
		check_fail(what);
	}
	return holds;
}

/** Checks a 64-bit value. */
void check_u64(const char *what, uint64_t got, uint64_t expected)
{
	if (check_that(what, got == expected)) {
		return;
	}
	guest_printf("expected 0x%llx, got 0x%llx\n", (unsigned long long)expected,
		     (unsigned long long)got);
}

/** Checks a 32-bit value. */
void check_u32(const char *what, uint32_t got, uint32_t expected)
{
	check_u64(what, got, expected);
}

/** Checks a single bit of a register. */
void check_bit(const char *what, uint32_t reg, unsigned int bit, uint32_t expected)
{
	check_u32(what, (reg >> bit) & 1, expected);
}

/** Checks that @got lies in [@low, @high], in decimal. */
void check_within(const char *what, uint64_t got, uint64_t low, uint64_t high)
{
	if (check_that(what, got >= low && got <= high)) {
		return;
	}
	guest_printf("expected %llu to %llu, got %llu\n", (unsigned long long)low,
		     (unsigned long long)high, (unsigned long long)got);
}

/** Checks that @got lies in [@low, @high], in hexadecimal. */
void check_within_hex(const char *what, uint64_t got, uint64_t low, uint64_t high)
{
	if (check_that(what, got >= low && got <= high)) {
		return;
	}
	guest_printf("expected 0x%llx to 0x%llx, got 0x%llx\n", (unsigned long long)low,
		     (unsigned long long)high, (unsigned long long)got);
}

/** Reports an unexpected exception as a failed check and stops the partition. */
void check_fail_unexpected_exception(uint32_t vector, uint32_t error_code, uint32_t eip)
{
	checks_failed++;
	guest_printf("FAILED: unexpected exception: expected none, got vector %u error code "
		     "0x%x at 0x%x\n", vector, error_code, eip);
	guest_stop(EXIT_UNEXPECTED_EXCEPTION);
}

/** Prints the totals and returns the exit code (see check.h). */
int check_summary(void)
{
	if (checks_failed != 0) {
		guest_printf("%u of %u checks FAILED\n", checks_failed,
			     checks_passed + checks_failed);
		return (int)MIN(checks_failed, EXIT_FAILURES_MAX);
	}
	guest_printf("all %u checks passed\n", checks_passed);
	return 0;
}
