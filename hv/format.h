/*
 * printf-style formatting for a freestanding hypervisor.
 *
 * Supported: %d %i %u %x %X %o %c %s %p %%, the length modifiers hh h l ll z,
 * flags '-' '0' '#' ' ' '+', a field width and a precision (numbers or '*').
 * Output is always NUL-terminated when size > 0; the return value is the
 * length the full output would have had, as in C99.
 */
#ifndef TESSERA_HV_FORMAT_H
#define TESSERA_HV_FORMAT_H

#include <stdarg.h>
#include "hv/types.h"

int format_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int format_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

#endif /* TESSERA_HV_FORMAT_H */
