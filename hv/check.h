/*
 * CHECK(): an invariant the hypervisor relies on. A failed CHECK is a bug in
 * Tessera itself, never a partition's misbehaviour, so it stops everything:
 * the hypervisor's check_failed() panics (hv/panic.c), the host unit tests'
 * one reports through cmocka (tests/unit/support/check_host.c) so that a test
 * can expect it.
 *
 * Unlike assert(), a CHECK is never compiled out.
 */
#ifndef TESSERA_HV_CHECK_H
#define TESSERA_HV_CHECK_H

#include "hv/types.h"

/** Reports a failed CHECK at file:line with the condition's text; never returns. */
NORETURN void check_failed(const char *file, int line, const char *cond);

#define CHECK(c) ((c) ? (void)0 : check_failed(__FILE__, __LINE__, #c))

#endif /* TESSERA_HV_CHECK_H */
