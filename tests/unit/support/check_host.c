/*
 * The host's check_failed() (hv/check.h): a failed CHECK becomes a cmocka
 * mock_assert() failure, so a test can expect it with expect_assert_failure()
 * and any other CHECK failure fails the running test with its location.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hv/check.h"

/** Reports a failed CHECK to cmocka; aborts if cmocka did not take over. */
void check_failed(const char *file, int line, const char *cond)
{
	mock_assert(0, cond, file, line);
	/* Only reached outside a cmocka test run. */
	fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, cond);
	abort();
}
