/*
 * Unit tests of hv/format.c, the hypervisor's freestanding vsnprintf.
 *
 * Most expectations are written out; the integer conversions are also swept
 * over every defined combination of flags, width and precision and compared
 * with the host C library, which implements the same C99 rules.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/format.h"

#define CANARY 'Z'

/**
 * Formats into a large buffer and fails with the format in the message if
 * the text or the return value differs from expected.
 */
static void check_vformat(const char *expected, const char *fmt, va_list ap)
{
	char buf[512];
	int length;

	memset(buf, CANARY, sizeof(buf));
	length = format_vsnprintf(buf, sizeof(buf), fmt, ap);
	if (strcmp(buf, expected) != 0) {
		fail_msg("format \"%s\": got \"%s\", expected \"%s\"", fmt, buf,
			 expected);
	}
	if (length != (int)strlen(expected)) {
		fail_msg("format \"%s\": returned %d, expected %zu", fmt, length,
			 strlen(expected));
	}
}

/** check_vformat() for a format the compiler can check against its args. */
static PRINTF_LIKE(2, 3) void check_format(const char *expected,
					   const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vformat(expected, fmt, ap);
	va_end(ap);
}

/** check_vformat() for formats the compiler would rightly reject. */
static void check_format_unchecked(const char *expected, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	check_vformat(expected, fmt, ap);
	va_end(ap);
}

/** Text without conversions is copied as is; "%%" is a single '%'. */
static void test_plain_text_and_percent(void **state)
{
	check_format_unchecked("", "");
	check_format("hello, world", "hello, world");
	check_format("100%", "100%%");
	check_format("%%", "%%%%");
	check_format("a%b", "a%%b");
}

/** %d and %i print signed ints, including the extremes. */
static void test_signed_decimal(void **state)
{
	check_format("0", "%d", 0);
	check_format("42", "%d", 42);
	check_format("-42", "%i", -42);
	check_format("2147483647", "%d", INT_MAX);
	check_format("-2147483648", "%d", INT_MIN);
	check_format("-1 0 1", "%d %i %d", -1, 0, 1);
}

/** %u %x %X %o print unsigned ints in their bases. */
static void test_unsigned_conversions(void **state)
{
	check_format("4294967295", "%u", UINT_MAX);
	check_format("deadbeef", "%x", 0xdeadbeefU);
	check_format("DEADBEEF", "%X", 0xdeadbeefU);
	check_format("777", "%o", 0777U);
	check_format("0 0 0 0", "%u %x %X %o", 0U, 0U, 0U, 0U);
	check_format("ffffffff", "%x", UINT_MAX);
	check_format("37777777777", "%o", UINT_MAX);
}

/** The 64-bit extremes, where negating INT64_MIN would overflow. */
static void test_64bit_extremes(void **state)
{
	check_format("-9223372036854775808", "%lld", (long long)INT64_MIN);
	check_format("-9223372036854775808", "%ld", (long)INT64_MIN);
	check_format("-9223372036854775808", "%jd", (intmax_t)INT64_MIN);
	check_format("9223372036854775807", "%lld", (long long)INT64_MAX);
	check_format("18446744073709551615", "%llu",
		     (unsigned long long)UINT64_MAX);
	check_format("ffffffffffffffff", "%llx",
		     (unsigned long long)UINT64_MAX);
	check_format("1777777777777777777777", "%llo",
		     (unsigned long long)UINT64_MAX);
	check_format("-0000009223372036854775808", "%026lld",
		     (long long)INT64_MIN);
}

/** hh and h truncate to char and short like C's conversions do. */
static void test_short_length_modifiers(void **state)
{
	check_format("-1", "%hhd", 255);
	check_format("-128", "%hhd", 128);
	check_format("0", "%hhu", 256);
	check_format("ff", "%hhx", 0x1ff);
	check_format("-1", "%hd", 65535);
	check_format("65535", "%hu", -1);
	check_format("1234", "%hx", 0x51234);
}

/** l, ll, z, j and t read arguments of their full 64-bit size. */
static void test_long_length_modifiers(void **state)
{
	check_format("123456789012", "%ld", 123456789012L);
	check_format("-123456789012", "%lld", -123456789012LL);
	check_format("ffffffffffffffff", "%lx", ULONG_MAX);
	check_format("18446744073709551615", "%zu", SIZE_MAX);
	check_format("-1", "%zd", SIZE_MAX);
	check_format("1234567890abcdef", "%zx", (size_t)0x1234567890abcdefULL);
	check_format("9223372036854775807", "%jd", INTMAX_MAX);
	check_format("18446744073709551615", "%ju", UINTMAX_MAX);
	check_format("-5", "%td", (ptrdiff_t)-5);
}

/** %c prints one character, padded to the width. */
static void test_char_conversion(void **state)
{
	check_format("x", "%c", 'x');
	check_format("    x", "%5c", 'x');
	check_format("x    |", "%-5c|", 'x');
	check_format("ab", "%c%c", 'a', 'b');
}

/** A %c of NUL stores the NUL and counts it, as in C. */
static void test_char_nul_is_counted(void **state)
{
	char buf[8];

	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(format_snprintf(buf, sizeof(buf), "a%cb", '\0'), 3);
	assert_memory_equal(buf, "a\0b\0", 4);
}

/** %s with width, precision and the '-' flag. */
static void test_string_conversion(void **state)
{
	check_format("tessera", "%s", "tessera");
	check_format("   abc", "%6s", "abc");
	check_format("abc   |", "%-6s|", "abc");
	check_format("ab", "%.2s", "abc");
	check_format("", "%.0s", "abc");
	check_format("   ab", "%5.2s", "abc");
	check_format("abcdef", "%3s", "abcdef");
	/* '0' is for numbers; a string is padded with spaces regardless. */
	check_format_unchecked("  abc", "%05s", "abc");
	check_format("", "%s", "");
}

/** The precision bounds the read, so the string need not end in NUL. */
static void test_string_precision_reads_no_further(void **state)
{
	char unterminated[3] = { 'x', 'y', 'z' };

	check_format("xyz", "%.3s", unterminated);
	check_format("xy", "%.*s", 2, unterminated);
}

/**
 * A NULL %s prints "(null)", whatever the precision, padded as usual. (The
 * compiler rightly calls NULL for %s a bug; the hypervisor must survive it.)
 */
static void test_string_null_prints_null(void **state)
{
	check_format_unchecked("(null)", "%s", (char *)NULL);
	check_format_unchecked("  (null)", "%8s", (char *)NULL);
	check_format_unchecked("(null)  |", "%-8s|", (char *)NULL);
	check_format_unchecked("(null)", "%.2s", (char *)NULL);
}

/** %p is "0x" and lowercase hex; NULL is "0x0". */
static void test_pointer_conversion(void **state)
{
	check_format("0x1234abcd", "%p", (void *)0x1234abcdUL);
	check_format("0xffffffffffffffff", "%p", (void *)UINTPTR_MAX);
	check_format("0x0", "%p", (void *)NULL);
	check_format("      0x10", "%10p", (void *)0x10);
	check_format("0x10      |", "%-10p|", (void *)0x10);
}

/** The five flags, alone and combined, with their C99 precedence. */
static void test_flags(void **state)
{
	check_format("+5 -5 +0", "%+d %+d %+d", 5, -5, 0);
	check_format(" 5 -5", "% d % d", 5, -5);
	check_format_unchecked("+5", "%+ d", 5);
	check_format("00042", "%05d", 42);
	check_format("-0042", "%05d", -42);
	check_format("+0042", "%+05d", 42);
	check_format_unchecked("42   |", "%-05d|", 42);
	check_format("0x1f 0X1F 0", "%#x %#X %#x", 0x1fU, 0x1fU, 0U);
	check_format("0x001f", "%#06x", 0x1fU);
	check_format("017 0", "%#o %#o", 017U, 0U);
}

/** Field widths pad on the left, or on the right with '-'. */
static void test_widths(void **state)
{
	check_format("   42", "%5d", 42);
	check_format("42   |", "%-5d|", 42);
	check_format("42", "%1d", 42);
	check_format("  -42", "%5d", -42);
	check_format("    ff", "%6x", 0xffU);
}

/** Precision is a minimum digit count and disables the '0' flag. */
static void test_precisions(void **state)
{
	check_format("00042", "%.5d", 42);
	check_format("-00042", "%.5d", -42);
	check_format("   00042", "%8.5d", 42);
	check_format_unchecked("   00042", "%08.5d", 42);
	check_format("", "%.0d", 0);
	check_format("", "%.d", 0);
	check_format("     ", "%5.0x", 0U);
	check_format("0", "%#.0o", 0U);
	check_format("", "%#.0x", 0U);
	check_format("0x00ff", "%#.4x", 0xffU);
	check_format("0377", "%#.3o", 0377U);
	check_format("00377", "%#.5o", 0377U);
}

/** '*' takes width and precision from the arguments; negatives per C99. */
static void test_star_width_and_precision(void **state)
{
	check_format("   42", "%*d", 5, 42);
	check_format("42   |", "%*d|", -5, 42);
	check_format("00042", "%.*d", 5, 42);
	check_format("42", "%.*d", -3, 42);
	check_format("  007", "%*.*d", 5, 3, 7);
	check_format("ab   |", "%-*.*s|", 5, 2, "abcdef");
	check_format("ab   |", "%*.*s|", -5, 2, "abcdef");
}

/** An unknown conversion is copied verbatim and consumes no argument. */
static void test_unknown_conversion_is_verbatim(void **state)
{
	check_format_unchecked("%q 7", "%q %d", 7);
	check_format_unchecked("%5.2f 7", "%5.2f %d", 7);
	check_format_unchecked("%llk", "%llk");
	check_format_unchecked("%-08y|", "%-08y|");
}

/** A format ending inside a conversion keeps the unfinished text. */
static void test_truncated_conversion_at_end_of_format(void **state)
{
	check_format_unchecked("abc%", "abc%");
	check_format_unchecked("abc%-5", "abc%-5");
	check_format_unchecked("%ll", "%ll");
}

/** The output stops at size - 1 and always ends in NUL; no byte past it. */
static void test_truncation_keeps_nul_and_bounds(void **state)
{
	const char *full = "value=12345 name=tessera";
	char buf[32];

	for (size_t size = 1; size <= strlen(full) + 2; size++) {
		size_t kept = size - 1 < strlen(full) ? size - 1 : strlen(full);

		memset(buf, CANARY, sizeof(buf));
		assert_int_equal(format_snprintf(buf, size, "value=%d name=%s",
						 12345, "tessera"),
				 strlen(full));
		assert_memory_equal(buf, full, kept);
		assert_int_equal(buf[kept], '\0');
		for (size_t i = size; i < sizeof(buf); i++) {
			assert_int_equal(buf[i], CANARY);
		}
	}
}

/** Size 0 writes nothing (buf may be NULL) and still measures. */
static void test_size_zero_measures(void **state)
{
	char buf[4] = { CANARY, CANARY, CANARY, CANARY };

	assert_int_equal(format_snprintf(NULL, 0, "%s-%d", "abc", 1234), 8);
	assert_int_equal(format_snprintf(buf, 0, "%s", "abc"), 3);
	assert_int_equal(buf[0], CANARY);
}

/** Padding that overflows the buffer is counted in the return value. */
static void test_return_value_counts_everything(void **state)
{
	char buf[8];

	assert_int_equal(format_snprintf(buf, sizeof(buf), "%300d", 1), 300);
	assert_string_equal(buf, "       ");
	assert_int_equal(format_snprintf(buf, sizeof(buf), "%-300d|", 1), 301);
	assert_string_equal(buf, "1      ");
	assert_int_equal(format_snprintf(buf, sizeof(buf), "%.20d", 5), 20);
	assert_string_equal(buf, "0000000");
}

/** Formats fmt with value both ways and fails on any difference. */
static void compare_with_libc(const char *fmt, bool is_long_long,
			      long long value)
{
	char expected[128];
	char actual[128];
	int expected_length;
	int actual_length;

	if (is_long_long) {
		expected_length = snprintf(expected, sizeof(expected), fmt,
					   value);
		actual_length = format_snprintf(actual, sizeof(actual), fmt,
						value);
	} else {
		expected_length = snprintf(expected, sizeof(expected), fmt,
					   (int)value);
		actual_length = format_snprintf(actual, sizeof(actual), fmt,
						(int)value);
	}
	if (strcmp(expected, actual) != 0 || expected_length != actual_length) {
		fail_msg("format \"%s\" of %lld: got \"%s\" (%d), libc \"%s\" (%d)",
			 fmt, value, actual, actual_length, expected,
			 expected_length);
	}
}

/** The flag string made of the bits of mask, among those defined for conv. */
static bool build_flags(unsigned int mask, char conversion, char *flags)
{
	static const char all_flags[] = "-0+ #";
	bool is_signed = conversion == 'd' || conversion == 'i';

	for (unsigned int bit = 0; bit < 5; bit++) {
		char flag = all_flags[bit];

		if ((mask & (1U << bit)) == 0) {
			continue;
		}
		/* C leaves '#' on d/i/u and '+'/' ' on unsigned undefined. */
		if ((flag == '#' && (is_signed || conversion == 'u')) ||
		    ((flag == '+' || flag == ' ') && !is_signed)) {
			return false;
		}
		*flags++ = flag;
	}
	*flags = '\0';
	return true;
}

/** Every defined flag/width/precision combination of d i u x X o matches libc. */
static void test_integer_conversions_match_libc(void **state)
{
	static const char conversions[] = "diuxXo";
	static const char *const widths[] = { "", "1", "6", "24" };
	static const char *const precisions[] = { "", ".", ".0", ".1", ".5", ".22" };
	static const long long values[] = {
		0, 1, -1, 7, 42, -42, 255, INT_MIN, INT_MAX,
		INT64_MIN, INT64_MAX, 0x123456789abcdefLL,
	};
	char flags[8];
	char fmt[64];

	for (size_t c = 0; c < strlen(conversions); c++) {
		for (unsigned int mask = 0; mask < 32; mask++) {
			if (!build_flags(mask, conversions[c], flags)) {
				continue;
			}
			for (size_t w = 0; w < 4; w++) {
				for (size_t p = 0; p < 6; p++) {
					for (size_t v = 0; v < 12; v++) {
						snprintf(fmt, sizeof(fmt),
							 "%%%s%s%s%c", flags,
							 widths[w],
							 precisions[p],
							 conversions[c]);
						compare_with_libc(fmt, false,
								  values[v]);
						snprintf(fmt, sizeof(fmt),
							 "%%%s%s%sll%c", flags,
							 widths[w],
							 precisions[p],
							 conversions[c]);
						compare_with_libc(fmt, true,
								  values[v]);
					}
				}
			}
		}
	}
}

/** %s and %c with widths, precisions and '-' match libc. */
static void test_text_conversions_match_libc(void **state)
{
	static const char *const specs[] = {
		"%s", "%8s", "%-8s|", "%.3s", "%8.3s", "%-8.3s|", "%.0s", "%1s",
	};
	static const char *const strings[] = { "", "a", "tessera", "0123456789" };
	char expected[64];
	char actual[64];

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		for (size_t s = 0; s < sizeof(strings) / sizeof(strings[0]); s++) {
			int expected_length = snprintf(expected,
						       sizeof(expected),
						       specs[i], strings[s]);
			int actual_length = format_snprintf(actual,
							    sizeof(actual),
							    specs[i],
							    strings[s]);

			assert_string_equal(actual, expected);
			assert_int_equal(actual_length, expected_length);
		}
	}
}

/** Several conversions in one format consume their arguments in order. */
static void test_mixed_conversions(void **state)
{
	check_format("tessera: vm 3 exit 0x30 at 0000000000401000 (ok)",
		     "%s: vm %u exit %#x at %016llx (%s)", "tessera", 3U, 0x30U,
		     0x401000ULL, "ok");
	check_format("[  7|-7  |+7|  0x7]", "[%3d|%-4d|%+d|%5p]", 7, -7, 7,
		     (void *)7);
}

/** format_bytes picks the largest unit that states the size exactly. */
static void test_format_bytes_units(void **state)
{
	char buf[FORMAT_BYTES_MAX];

	assert_string_equal(format_bytes(buf, 16ULL << 20), "16 MiB");
	assert_string_equal(format_bytes(buf, 1536ULL << 10), "1536 KiB");
	assert_string_equal(format_bytes(buf, 2ULL << 30), "2 GiB");
	assert_string_equal(format_bytes(buf, 4096), "4 KiB");
	assert_string_equal(format_bytes(buf, 100), "100 bytes");
	assert_string_equal(format_bytes(buf, 0), "0 bytes");
	assert_string_equal(format_bytes(buf, UINT64_MAX), "18446744073709551615 bytes");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_and_percent),
		cmocka_unit_test(test_signed_decimal),
		cmocka_unit_test(test_unsigned_conversions),
		cmocka_unit_test(test_64bit_extremes),
		cmocka_unit_test(test_short_length_modifiers),
		cmocka_unit_test(test_long_length_modifiers),
		cmocka_unit_test(test_char_conversion),
		cmocka_unit_test(test_char_nul_is_counted),
		cmocka_unit_test(test_string_conversion),
		cmocka_unit_test(test_string_precision_reads_no_further),
		cmocka_unit_test(test_string_null_prints_null),
		cmocka_unit_test(test_pointer_conversion),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_precisions),
		cmocka_unit_test(test_star_width_and_precision),
		cmocka_unit_test(test_unknown_conversion_is_verbatim),
		cmocka_unit_test(test_truncated_conversion_at_end_of_format),
		cmocka_unit_test(test_truncation_keeps_nul_and_bounds),
		cmocka_unit_test(test_size_zero_measures),
		cmocka_unit_test(test_return_value_counts_everything),
		cmocka_unit_test(test_integer_conversions_match_libc),
		cmocka_unit_test(test_text_conversions_match_libc),
		cmocka_unit_test(test_mixed_conversions),
		cmocka_unit_test(test_format_bytes_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
