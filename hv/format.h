/*
 * printf-style formatting for a freestanding hypervisor.
 *
 * Supported: %d %i %u %x %X %o %c %s %p %%, the length modifiers hh h l ll z
 * (and j t), flags '-' '0' '#' ' ' '+', a field width and a precision
 * (numbers or '*'), all with their C99 meaning. Beyond C99:
 *   - %s of a NULL pointer prints "(null)", whatever the precision;
 *   - %p prints "0x" and lowercase hex digits (a NULL pointer is "0x0");
 *   - an unknown conversion (%f, %n, ...) or one cut off by the end of the
 *     format is copied out verbatim and consumes no argument (though a '*'
 *     width or precision before it has consumed its own).
 * There is no floating point: the hypervisor is built -mgeneral-regs-only.
 *
 * buf may be NULL when size is 0, to measure. Output is always NUL-terminated
 * when size > 0; the return value is the length the full output would have
 * had, as in C99, or -1 if that exceeds INT_MAX.
 */
#ifndef TESSERA_HV_FORMAT_H
#define TESSERA_HV_FORMAT_H

#include <stdarg.h>
#include "hv/types.h"

/** Formats fmt and ap into buf[size]; returns the untruncated length. */
int format_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/** Formats fmt and the arguments into buf[size]; returns the untruncated length. */
int format_snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/** Room for any format_bytes() result. */
#define FORMAT_BYTES_MAX 32

/**
 * Writes a size for people: in the largest of GiB, MiB, KiB that states it
 * exactly ("16 MiB", "1536 KiB"), else in bytes. Returns buf.
 */
const char *format_bytes(char buf[FORMAT_BYTES_MAX], uint64_t bytes);

#endif /* TESSERA_HV_FORMAT_H */
