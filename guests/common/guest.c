/*
 * The runtime shared by the in-tree test guests (see guest.h).
 */
#include "guests/common/guest.h"

#include <stdarg.h>

/*
 * How often uart_putc polls LSR before writing anyway. Tessera's UART is
 * always ready at once; the bound only keeps a broken UART from hanging the
 * guest forever, where losing a byte is the better failure.
 */
#define UART_READY_POLLS 10000

/* Enough for the 20 decimal digits of UINT64_MAX. */
#define FORMAT_DIGITS_MAX 20

/** One conversion of a format string: what came between '%' and its letter. */
struct format_spec {
	bool zero_pad;
	uint32_t width;
	/* 0 for int, 1 for long ("l"), 2 for long long ("ll"). */
	uint32_t long_count;
};

/** Writes one byte to the UART once its THR is empty (or the wait ran out). */
void uart_putc(char c)
{
	for (uint32_t polls = 0; polls < UART_READY_POLLS; polls++) {
		if ((port_read8(UART_LSR) & UART_LSR_THRE) != 0) {
			break;
		}
	}
	port_write8(UART_THR, (uint8_t)c);
}

/** Writes a NUL-terminated string to the UART, byte by byte. */
void uart_puts(const char *s)
{
	while (*s != '\0') {
		uart_putc(*s++);
	}
}

/** Writes c count times: the padding of a field. */
static void uart_putc_repeated(char c, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++) {
		uart_putc(c);
	}
}

/**
 * Divides a 64-bit value by a 32-bit one without libgcc's __udivdi3, which
 * 32-bit guests do not link: binary long division, one quotient bit per step.
 * The running remainder stays below the 32-bit divisor, so shifting it left
 * never overflows 64 bits.
 */
uint64_t divide_u64(uint64_t dividend, uint32_t divisor, uint32_t *remainder)
{
	uint64_t quotient = 0;
	uint64_t rest = 0;

	for (int bit = 63; bit >= 0; bit--) {
		rest = (rest << 1) | ((dividend >> bit) & 1);
		if (rest >= divisor) {
			rest -= divisor;
			quotient |= 1ULL << bit;
		}
	}
	if (remainder != NULL) {
		*remainder = (uint32_t)rest;
	}
	return quotient;
}

/**
 * Writes the digits of value in base 10 or 16 into digits, least significant
 * first, and returns how many there are (at least one: "0").
 */
static uint32_t format_digits(uint64_t value, uint32_t base, char *digits)
{
	static const char symbols[] = "0123456789abcdef";
	uint32_t count = 0;

	do {
		uint32_t digit;

		value = divide_u64(value, base, &digit);
		digits[count++] = symbols[digit];
	} while (value != 0 && count < FORMAT_DIGITS_MAX);
	return count;
}

/** Prints a number right-aligned in the spec's width, with its sign if any. */
static void print_number(uint64_t magnitude, bool negative, uint32_t base,
			 const struct format_spec *spec)
{
	char digits[FORMAT_DIGITS_MAX];
	uint32_t count = format_digits(magnitude, base, digits);
	uint32_t length = count + (negative ? 1 : 0);
	uint32_t padding = spec->width > length ? spec->width - length : 0;

	/* Spaces go before the sign, zeros after it: "  -42" but "-0042". */
	if (!spec->zero_pad) {
		uart_putc_repeated(' ', padding);
	}
	if (negative) {
		uart_putc('-');
	}
	if (spec->zero_pad) {
		uart_putc_repeated('0', padding);
	}
	while (count > 0) {
		uart_putc(digits[--count]);
	}
}

/** Prints a string right-aligned in the spec's width. */
static void print_string(const char *s, const struct format_spec *spec)
{
	uint32_t length = 0;

	if (s == NULL) {
		s = "(null)";
	}
	while (s[length] != '\0') {
		length++;
	}
	if (spec->width > length) {
		uart_putc_repeated(' ', spec->width - length);
	}
	uart_puts(s);
}

/** Takes the next unsigned argument, as wide as the length modifier says. */
static uint64_t next_unsigned(va_list *ap, const struct format_spec *spec)
{
	switch (spec->long_count) {
	case 0:
		return va_arg(*ap, unsigned int);
	case 1:
		return va_arg(*ap, unsigned long);
	default:
		return va_arg(*ap, unsigned long long);
	}
}

/** Takes the next signed argument, as wide as the length modifier says. */
static int64_t next_signed(va_list *ap, const struct format_spec *spec)
{
	switch (spec->long_count) {
	case 0:
		return va_arg(*ap, int);
	case 1:
		return va_arg(*ap, long);
	default:
		return va_arg(*ap, long long);
	}
}

/** Prints the next argument as a signed decimal number. */
static void print_signed(va_list *ap, const struct format_spec *spec)
{
	int64_t value = next_signed(ap, spec);
	/* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
	uint64_t magnitude = value < 0 ? -(uint64_t)value : (uint64_t)value;

	print_number(magnitude, value < 0, 10, spec);
}

/**
 * Reads the flag, width and length modifier that follow a '%' and returns
 * the position of the conversion letter.
 */
static const char *parse_format_spec(const char *fmt, struct format_spec *spec)
{
	*spec = (struct format_spec){ .zero_pad = false };
	if (*fmt == '0') {
		spec->zero_pad = true;
		fmt++;
	}
	while (*fmt >= '0' && *fmt <= '9') {
		spec->width = spec->width * 10 + (uint32_t)(*fmt - '0');
		fmt++;
	}
	while (*fmt == 'l' && spec->long_count < 2) {
		spec->long_count++;
		fmt++;
	}
	return fmt;
}

/**
 * Prints one conversion; fmt points just past its '%'. Returns where the
 * format string continues.
 */
static const char *print_conversion(const char *fmt, va_list *ap)
{
	struct format_spec spec;

	fmt = parse_format_spec(fmt, &spec);
	switch (*fmt) {
	case 'd':
	case 'i':
		print_signed(ap, &spec);
		break;
	case 'u':
		print_number(next_unsigned(ap, &spec), false, 10, &spec);
		break;
	case 'x':
		print_number(next_unsigned(ap, &spec), false, 16, &spec);
		break;
	case 'c':
		uart_putc((char)va_arg(*ap, int));
		break;
	case 's':
		print_string(va_arg(*ap, const char *), &spec);
		break;
	case '%':
		uart_putc('%');
		break;
	case '\0':
		/* A lone '%' at the end: print it, and stop at the NUL. */
		uart_putc('%');
		return fmt;
	default:
		/* Unknown: show it as written, which makes the bug visible. */
		uart_putc('%');
		uart_putc(*fmt);
		break;
	}
	return fmt + 1;
}

/** printf to the UART; the conversions are listed in guest.h. */
void guest_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	while (*fmt != '\0') {
		if (*fmt == '%') {
			fmt = print_conversion(fmt + 1, &ap);
		} else {
			uart_putc(*fmt++);
		}
	}
	va_end(ap);
}

/** A short name for a hypercall status, for messages. */
const char *hc_status_name(int32_t status)
{
	switch (status) {
	case TESSERA_HC_SUCCESS:
		return "success";
	case TESSERA_HC_ENOSYS:
		return "ENOSYS";
	case TESSERA_HC_EINVAL:
		return "EINVAL";
	case TESSERA_HC_EFAULT:
		return "EFAULT";
	default:
		return "unknown status";
	}
}

/** TESSERA_HC_VERSION: stores the ABI version; returns the status. */
int32_t hc_version(uint32_t *abi_version)
{
	struct hypercall_regs regs = { .eax = TESSERA_HC_VERSION };
	int32_t status = hypercall(&regs);

	if (status == TESSERA_HC_SUCCESS) {
		*abi_version = regs.ebx;
	}
	return status;
}

/** TESSERA_HC_PARTITION_INFO: fills *info on success; returns the status. */
int32_t hc_partition_info(struct partition_info *info)
{
	struct hypercall_regs regs = { .eax = TESSERA_HC_PARTITION_INFO };
	int32_t status = hypercall(&regs);

	if (status == TESSERA_HC_SUCCESS) {
		info->id = regs.ebx;
		info->vcpu_count = regs.ecx;
		info->memory_mib = regs.edx;
	}
	return status;
}

/** TESSERA_HC_CONSOLE_WRITE of count bytes at bytes; returns the status. */
int32_t hc_console_write(const void *bytes, uint32_t count)
{
	struct hypercall_regs regs = {
		.eax = TESSERA_HC_CONSOLE_WRITE,
		/* Paging is off: the pointer is the guest-physical address. */
		.ebx = (uint32_t)(uintptr_t)bytes,
		.ecx = count,
	};

	return hypercall(&regs);
}

/** TESSERA_HC_STOP: stops the partition with exit_code; never returns. */
void guest_stop(uint32_t exit_code)
{
	struct hypercall_regs regs = {
		.eax = TESSERA_HC_STOP,
		.ebx = exit_code,
	};

	hypercall(&regs);
	/*
	 * Not reached under Tessera. Anywhere else, halt with interrupts off so
	 * that nothing resumes the guest.
	 */
	for (;;) {
		__asm__ volatile("cli; hlt");
	}
}

/*
 * The memory functions GCC may call on its own. Written byte by byte: speed
 * does not matter in a test guest, and obvious loops are easy to trust.
 */

/** Copies n bytes between buffers that do not overlap. */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *to = dst;
	const uint8_t *from = src;

	for (size_t i = 0; i < n; i++) {
		to[i] = from[i];
	}
	return dst;
}

/** Copies n bytes between buffers that may overlap. */
void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *to = dst;
	const uint8_t *from = src;

	if (to <= from) {
		return memcpy(dst, src, n);
	}
	/* The destination overlaps the source's end: copy backwards. */
	while (n > 0) {
		n--;
		to[n] = from[n];
	}
	return dst;
}

/** Fills n bytes with the byte c. */
void *memset(void *dst, int c, size_t n)
{
	uint8_t *to = dst;

	for (size_t i = 0; i < n; i++) {
		to[i] = (uint8_t)c;
	}
	return dst;
}

/** Compares n bytes: negative, 0 or positive as in C. */
int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a;
	const uint8_t *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			return x[i] < y[i] ? -1 : 1;
		}
	}
	return 0;
}
