/*
 * Freestanding implementations of the C memory and string functions. On the
 * host (unit tests) the C library provides them, so this file is empty there
 * except for strlcpy, which glibc 2.36 lacks.
 */
#include "hv/string.h"

#ifndef TESSERA_HOST
/*
 * memcpy and memset use the string instructions: on CPUs with fast strings
 * (ERMS) they are the fastest way to move memory, and they clear a
 * partition's RAM in a few instructions rather than one loop per byte.
 */
void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	if (((uintptr_t)dst | (uintptr_t)src | n) % 8 == 0) {
		size_t quads = n / 8;

		__asm__ volatile("rep movsq" : "+D"(d), "+S"(src), "+c"(quads) : : "memory");
	} else {
		__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	}
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d <= s || d >= s + n) {
		return memcpy(dst, src, n);
	}
	while (n-- > 0) {
		d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	if (((uintptr_t)dst | n) % 8 == 0) {
		uint64_t pattern = 0x0101010101010101ULL * (uint8_t)c;
		size_t quads = n / 8;

		__asm__ volatile("rep stosq" : "+D"(d), "+c"(quads) : "a"(pattern) : "memory");
	} else {
		__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	}
	return dst;
}

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

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0') {
		n++;
	}
	return n;
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n] != '\0') {
		n++;
	}
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i] || a[i] == '\0') {
			return (unsigned char)a[i] - (unsigned char)b[i];
		}
	}
	return 0;
}

char *strchr(const char *s, int c)
{
	for (;; s++) {
		if (*s == (char)c) {
			return (char *)s;
		}
		if (*s == '\0') {
			return NULL;
		}
	}
}
#endif /* !TESSERA_HOST */

size_t strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
