/*
 * Basic types shared by every layer of Tessera.
 *
 * Host-physical and guest-physical addresses are distinct opaque types so
 * that the compiler refuses to mix them up (a guest-physical address used as
 * a host pointer is the classic isolation bug).
 */
#ifndef TESSERA_HV_TYPES_H
#define TESSERA_HV_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ULL << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

#define KiB(x) ((uint64_t)(x) << 10)
#define MiB(x) ((uint64_t)(x) << 20)
#define GiB(x) ((uint64_t)(x) << 30)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((uint64_t)(a) - 1)) == 0)
#define BIT(n)  (1ULL << (n))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define UNUSED(x) ((void)(x))
#define NORETURN __attribute__((noreturn))
#define PACKED   __attribute__((packed))
#define ALIGNED(n) __attribute__((aligned(n)))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/** A host-physical address. */
typedef struct {
	uint64_t value;
} hpa_t;

/** The mask of a value @size bytes wide (1 to 8): all its bits set. */
static inline uint64_t bytes_mask(unsigned int size)
{
	return size >= 8 ? ~0ULL : BIT(8 * size) - 1;
}

/** A guest-physical address, meaningful only within one partition. */
typedef struct {
	uint64_t value;
} gpa_t;

/** Makes a host-physical address from a raw number. */
static inline hpa_t hpa_init(uint64_t value)
{
	return (hpa_t){ .value = value };
}

/** The raw number behind a host-physical address. */
static inline uint64_t hpa_addr(hpa_t hpa)
{
	return hpa.value;
}

/** Makes a guest-physical address from a raw number. */
static inline gpa_t gpa_init(uint64_t value)
{
	return (gpa_t){ .value = value };
}

/** The raw number behind a guest-physical address. */
static inline uint64_t gpa_addr(gpa_t gpa)
{
	return gpa.value;
}

#endif /* TESSERA_HV_TYPES_H */
