/*
 * Fatal errors of the hypervisor itself (never of a partition: a partition's
 * fault stops that partition only).
 */
#ifndef TESSERA_HV_PANIC_H
#define TESSERA_HV_PANIC_H

#include "hv/types.h"

/** Prints "tessera: PANIC: ..." and stops every CPU. */
NORETURN void panic(const char *fmt, ...) PRINTF_LIKE(1, 2);

#endif /* TESSERA_HV_PANIC_H */
