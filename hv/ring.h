/*
 * A byte ring that keeps the newest bytes: a partition's console output is
 * kept here so that an operator can replay it. When it is full the oldest
 * bytes give way, and how many did is counted, never hidden.
 */
#ifndef TESSERA_HV_RING_H
#define TESSERA_HV_RING_H

#include "hv/types.h"

/** A ring over a caller-provided buffer. */
struct byte_ring {
	uint8_t *buffer;
	size_t size;
	uint64_t written;   /* bytes ever written: the next write's position */
};

/** Starts an empty ring over @buffer of @size bytes (size > 0). */
void ring_init(struct byte_ring *ring, uint8_t *buffer, size_t size);

/** Appends bytes, overwriting the oldest when full. */
void ring_write(struct byte_ring *ring, const void *bytes, size_t length);

/** Bytes the ring holds now (at most its size). */
size_t ring_used(const struct byte_ring *ring);

/** Bytes that were written but have given way to newer ones. */
uint64_t ring_dropped(const struct byte_ring *ring);

/** Copies the newest min(@max, used) bytes, oldest first, to @out; returns the count. */
size_t ring_read_newest(const struct byte_ring *ring, void *out, size_t max);

/** Copies up to @max kept bytes from @offset (0 = the oldest kept); returns the count. */
size_t ring_read_at(const struct byte_ring *ring, size_t offset, void *out, size_t max);

/** The position (in bytes ever written) of the oldest byte the ring keeps. */
uint64_t ring_oldest(const struct byte_ring *ring);

/**
 * Copies up to @max kept bytes from @position (in bytes ever written) on, to
 * a reader that keeps its own cursor; returns the count: 0 when @position
 * is not kept (given way, or not yet written).
 */
size_t ring_read_from(const struct byte_ring *ring, uint64_t position, void *out, size_t max);

#endif /* TESSERA_HV_RING_H */
