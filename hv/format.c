/*
 * printf-style formatting for a freestanding hypervisor (see hv/format.h).
 *
 * Everything is integer arithmetic: the hypervisor is built with
 * -mgeneral-regs-only, so a single floating-point instruction would not even
 * compile. Characters that do not fit the buffer are still counted, which
 * gives the C99 return value and lets a caller detect truncation.
 */
#include <limits.h>

#include "hv/format.h"
#include "hv/string.h"

/* The longest digit string of a 64-bit value: octal needs 22 digits. */
#define FORMAT_DIGITS_MAX 24

/** The size of the integer argument a conversion reads (hh h l ll z j t). */
enum length_modifier {
	LENGTH_DEFAULT,
	LENGTH_CHAR,
	LENGTH_SHORT,
	LENGTH_LONG,
	LENGTH_LONG_LONG,
	LENGTH_SIZE,
	LENGTH_INTMAX,
	LENGTH_PTRDIFF,
};

/** What one conversion specification such as "%-08.3llx" asks for. */
struct conversion_spec {
	bool left_justify;
	bool zero_pad;
	bool alternate_form;
	bool plus_sign;
	bool space_sign;
	/* 0 when absent: no padding. */
	int width;
	/* Negative when absent, which is not the same as an explicit ".0". */
	int precision;
	enum length_modifier length;
	char conversion;
};

/**
 * Where formatted characters go: a buffer of size bytes (which may be 0) and
 * the count of every character produced so far, whether it fitted or not.
 */
struct format_sink {
	char *buf;
	size_t size;
	size_t produced;
};

/** Appends one character, keeping the last byte of the buffer for the NUL. */
static void sink_put(struct format_sink *sink, char c)
{
	if (sink->produced + 1 < sink->size) {
		sink->buf[sink->produced] = c;
	}
	sink->produced++;
}

/** Appends length characters of text (which need not be NUL-terminated). */
static void sink_write(struct format_sink *sink, const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++) {
		sink_put(sink, text[i]);
	}
}

/** Appends count copies of c: the padding of a field. */
static void sink_repeat(struct format_sink *sink, char c, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		sink_put(sink, c);
	}
}

/** Writes the terminating NUL at the end of what fitted, if there is room. */
static void sink_terminate(struct format_sink *sink)
{
	if (sink->size > 0) {
		sink->buf[MIN(sink->produced, sink->size - 1)] = '\0';
	}
}

/** Parses the flag characters; returns the first character after them. */
static const char *parse_flags(const char *fmt, struct conversion_spec *spec)
{
	for (;; fmt++) {
		switch (*fmt) {
		case '-':
			spec->left_justify = true;
			break;
		case '0':
			spec->zero_pad = true;
			break;
		case '#':
			spec->alternate_form = true;
			break;
		case '+':
			spec->plus_sign = true;
			break;
		case ' ':
			spec->space_sign = true;
			break;
		default:
			return fmt;
		}
	}
}

/**
 * Parses a decimal field (width or precision) into *value, saturating at
 * INT_MAX so that an absurd format cannot overflow; returns what follows.
 */
static const char *parse_decimal(const char *fmt, int *value)
{
	int result = 0;

	while (*fmt >= '0' && *fmt <= '9') {
		int digit = *fmt - '0';

		result = result > (INT_MAX - digit) / 10 ? INT_MAX
							  : result * 10 + digit;
		fmt++;
	}
	*value = result;
	return fmt;
}

/** Parses the optional field width, digits or '*'; returns what follows. */
static const char *parse_width(const char *fmt, struct conversion_spec *spec,
			       va_list *ap)
{
	if (*fmt != '*') {
		return parse_decimal(fmt, &spec->width);
	}
	spec->width = va_arg(*ap, int);
	if (spec->width < 0) {
		/* C99: a negative '*' width is the '-' flag plus its magnitude. */
		spec->left_justify = true;
		spec->width = spec->width == INT_MIN ? INT_MAX : -spec->width;
	}
	return fmt + 1;
}

/** Parses the optional ".precision", digits or '*'; returns what follows. */
static const char *parse_precision(const char *fmt,
				   struct conversion_spec *spec, va_list *ap)
{
	spec->precision = -1;
	if (*fmt != '.') {
		return fmt;
	}
	fmt++;
	if (*fmt != '*') {
		/* A lone '.' means precision 0, as in C. */
		return parse_decimal(fmt, &spec->precision);
	}
	/* A negative '*' precision counts as absent (C99). */
	spec->precision = va_arg(*ap, int);
	return fmt + 1;
}

/** Parses the optional length modifier; returns what follows. */
static const char *parse_length(const char *fmt, enum length_modifier *length)
{
	switch (*fmt) {
	case 'h':
		if (fmt[1] == 'h') {
			*length = LENGTH_CHAR;
			return fmt + 2;
		}
		*length = LENGTH_SHORT;
		return fmt + 1;
	case 'l':
		if (fmt[1] == 'l') {
			*length = LENGTH_LONG_LONG;
			return fmt + 2;
		}
		*length = LENGTH_LONG;
		return fmt + 1;
	case 'z':
		*length = LENGTH_SIZE;
		return fmt + 1;
	case 'j':
		*length = LENGTH_INTMAX;
		return fmt + 1;
	case 't':
		*length = LENGTH_PTRDIFF;
		return fmt + 1;
	default:
		*length = LENGTH_DEFAULT;
		return fmt;
	}
}

/** Reads a signed integer argument of the size the length modifier names. */
static int64_t fetch_signed(enum length_modifier length, va_list *ap)
{
	switch (length) {
	case LENGTH_CHAR:
		return (signed char)va_arg(*ap, int);
	case LENGTH_SHORT:
		return (short)va_arg(*ap, int);
	case LENGTH_LONG:
		return va_arg(*ap, long);
	case LENGTH_LONG_LONG:
		return va_arg(*ap, long long);
	case LENGTH_SIZE:
		/* There is no ssize_t here; %zd reads size_t's signed twin. */
		return (int64_t)va_arg(*ap, size_t);
	case LENGTH_INTMAX: /* NOLINT(bugprone-branch-clone): equal types only on LP64 */
		return va_arg(*ap, intmax_t);
	case LENGTH_PTRDIFF:
		return va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, int);
	}
}

/** Reads an unsigned integer argument of the size the modifier names. */
static uint64_t fetch_unsigned(enum length_modifier length, va_list *ap)
{
	switch (length) {
	case LENGTH_CHAR:
		return (unsigned char)va_arg(*ap, unsigned int);
	case LENGTH_SHORT:
		return (unsigned short)va_arg(*ap, unsigned int);
	case LENGTH_LONG:
		return va_arg(*ap, unsigned long);
	case LENGTH_LONG_LONG:
		return va_arg(*ap, unsigned long long);
	case LENGTH_SIZE: /* NOLINT(bugprone-branch-clone): equal types only on LP64 */
		return va_arg(*ap, size_t);
	case LENGTH_INTMAX:
		return va_arg(*ap, uintmax_t);
	case LENGTH_PTRDIFF:
		return (uint64_t)va_arg(*ap, ptrdiff_t);
	default:
		return va_arg(*ap, unsigned int);
	}
}

/**
 * Writes value in base 8, 10 or 16 at the end of digits[]; returns the
 * number of digits, which start at digits + FORMAT_DIGITS_MAX - count.
 */
static size_t render_digits(uint64_t value, unsigned int base, bool upper,
			    char digits[FORMAT_DIGITS_MAX])
{
	const char *alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t count = 0;

	do {
		digits[FORMAT_DIGITS_MAX - 1 - count] = alphabet[value % base];
		value /= base;
		count++;
	} while (value != 0);
	return count;
}

/** Appends text padded with spaces to the field width (for %s, %c, %%). */
static void emit_text(struct format_sink *sink,
		      const struct conversion_spec *spec, const char *text,
		      size_t length)
{
	size_t width = (size_t)spec->width;
	size_t padding = width > length ? width - length : 0;

	if (!spec->left_justify) {
		sink_repeat(sink, ' ', padding);
	}
	sink_write(sink, text, length);
	if (spec->left_justify) {
		sink_repeat(sink, ' ', padding);
	}
}

/** The zeros the precision (and "%#o") put in front of the digits. */
static size_t precision_zeros(const struct conversion_spec *spec,
			      uint64_t magnitude, unsigned int base,
			      size_t digit_count)
{
	size_t zeros = 0;

	if (spec->precision > 0 && (size_t)spec->precision > digit_count) {
		zeros = (size_t)spec->precision - digit_count;
	}
	/* "%#o" guarantees a leading 0; a zero value's digit already is one. */
	if (spec->alternate_form && base == 8 && zeros == 0 &&
	    (digit_count == 0 || magnitude != 0)) {
		zeros = 1;
	}
	return zeros;
}

/**
 * Appends a number laid out as [spaces][prefix][zeros]digits[spaces]: prefix
 * is the sign or "0x", zeros come from the precision or the '0' flag.
 */
static void emit_integer(struct format_sink *sink,
			 const struct conversion_spec *spec, uint64_t magnitude,
			 unsigned int base, const char *prefix)
{
	char digits[FORMAT_DIGITS_MAX];
	size_t digit_count = 0;
	size_t zeros;
	size_t body;
	size_t padding = 0;

	/* C99: a zero value with precision 0 has no digits at all. */
	if (magnitude != 0 || spec->precision != 0) {
		digit_count = render_digits(magnitude, base,
					    spec->conversion == 'X', digits);
	}
	zeros = precision_zeros(spec, magnitude, base, digit_count);
	body = strlen(prefix) + zeros + digit_count;
	if ((size_t)spec->width > body) {
		padding = (size_t)spec->width - body;
	}
	/* An explicit precision turns the '0' flag off, as in C. */
	if (spec->zero_pad && !spec->left_justify && spec->precision < 0) {
		zeros += padding;
		padding = 0;
	}
	if (!spec->left_justify) {
		sink_repeat(sink, ' ', padding);
	}
	sink_write(sink, prefix, strlen(prefix));
	sink_repeat(sink, '0', zeros);
	sink_write(sink, digits + FORMAT_DIGITS_MAX - digit_count, digit_count);
	if (spec->left_justify) {
		sink_repeat(sink, ' ', padding);
	}
}

/** Handles %d and %i: the sign goes in front of any zero padding. */
static void emit_signed(struct format_sink *sink,
			const struct conversion_spec *spec, va_list *ap)
{
	int64_t value = fetch_signed(spec->length, ap);
	/* Negating in unsigned arithmetic keeps INT64_MIN defined. */
	uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
	const char *sign = "";

	if (value < 0) {
		sign = "-";
	} else if (spec->plus_sign) {
		sign = "+";
	} else if (spec->space_sign) {
		sign = " ";
	}
	emit_integer(sink, spec, magnitude, 10, sign);
}

/** Handles %u %o %x %X: '#' adds "0x"/"0X" to a non-zero hex value. */
static void emit_unsigned(struct format_sink *sink,
			  const struct conversion_spec *spec, va_list *ap)
{
	uint64_t value = fetch_unsigned(spec->length, ap);
	unsigned int base = 10;
	const char *prefix = "";

	if (spec->conversion == 'o') {
		base = 8;
	} else if (spec->conversion == 'x' || spec->conversion == 'X') {
		base = 16;
		if (spec->alternate_form && value != 0) {
			prefix = spec->conversion == 'x' ? "0x" : "0X";
		}
	}
	emit_integer(sink, spec, value, base, prefix);
}

/** Handles %s; a NULL pointer prints "(null)" whatever the precision. */
static void emit_string(struct format_sink *sink,
			const struct conversion_spec *spec, va_list *ap)
{
	const char *text = va_arg(*ap, const char *);
	size_t length;

	if (text == NULL) {
		text = "(null)";
		length = strlen(text);
	} else if (spec->precision >= 0) {
		/* The precision bounds the read: text may lack a NUL. */
		length = strnlen(text, (size_t)spec->precision);
	} else {
		length = strlen(text);
	}
	emit_text(sink, spec, text, length);
}

/**
 * Emits one parsed conversion, consuming its argument; returns false for a
 * conversion this subset does not know, which then consumes nothing.
 */
static bool emit_conversion(struct format_sink *sink,
			    const struct conversion_spec *spec, va_list *ap)
{
	char c;

	switch (spec->conversion) {
	case 'd':
	case 'i':
		emit_signed(sink, spec, ap);
		return true;
	case 'u':
	case 'o':
	case 'x':
	case 'X':
		emit_unsigned(sink, spec, ap);
		return true;
	case 'p':
		emit_integer(sink, spec, (uintptr_t)va_arg(*ap, void *), 16,
			     "0x");
		return true;
	case 'c':
		c = (char)va_arg(*ap, int);
		emit_text(sink, spec, &c, 1);
		return true;
	case 's':
		emit_string(sink, spec, ap);
		return true;
	case '%':
		sink_put(sink, '%');
		return true;
	default:
		return false;
	}
}

/**
 * Formats the conversion starting at fmt (which points at '%') and returns
 * the rest of the format. An unknown or unfinished conversion is copied out
 * verbatim, so that a mistake shows in the log instead of vanishing.
 */
static const char *format_conversion(struct format_sink *sink, const char *fmt,
				     va_list *ap)
{
	struct conversion_spec spec = { 0 };
	const char *start = fmt;

	fmt = parse_flags(fmt + 1, &spec);
	fmt = parse_width(fmt, &spec, ap);
	fmt = parse_precision(fmt, &spec, ap);
	fmt = parse_length(fmt, &spec.length);
	spec.conversion = *fmt;
	if (*fmt == '\0') {
		sink_write(sink, start, (size_t)(fmt - start));
		return fmt;
	}
	if (!emit_conversion(sink, &spec, ap)) {
		sink_write(sink, start, (size_t)(fmt + 1 - start));
	}
	return fmt + 1;
}

/** Formats into buf (see hv/format.h); returns the untruncated length. */
int format_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct format_sink sink = { .buf = buf, .size = buf != NULL ? size : 0 };
	va_list args;

	/* A copy, because only a va_list object can be passed by address. */
	va_copy(args, ap);
	while (*fmt != '\0') {
		if (*fmt == '%') {
			fmt = format_conversion(&sink, fmt, &args);
		} else {
			sink_put(&sink, *fmt);
			fmt++;
		}
	}
	va_end(args);
	sink_terminate(&sink);
	return sink.produced > INT_MAX ? -1 : (int)sink.produced;
}

/** Formats into buf (see hv/format.h); returns the untruncated length. */
int format_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int length;

	va_start(ap, fmt);
	length = format_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return length;
}

/** Writes a size for people in the largest exact unit (see format.h). */
const char *format_bytes(char buf[FORMAT_BYTES_MAX], uint64_t bytes)
{
	static const char *const units[] = { "GiB", "MiB", "KiB" };

	for (unsigned int i = 0; i < ARRAY_SIZE(units); i++) {
		unsigned int shift = 30 - 10 * i;

		if (bytes != 0 && bytes % (1ULL << shift) == 0) {
			format_snprintf(buf, FORMAT_BYTES_MAX, "%llu %s",
					(unsigned long long)(bytes >> shift), units[i]);
			return buf;
		}
	}
	format_snprintf(buf, FORMAT_BYTES_MAX, "%llu bytes", (unsigned long long)bytes);
	return buf;
}
