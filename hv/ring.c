/*
 * The byte ring (see ring.h). Positions are counted in bytes ever written,
 * so "how many were dropped" needs no extra bookkeeping.
 */
#include "hv/ring.h"
#include "hv/string.h"

/** Starts an empty ring over @buffer of @size bytes (size > 0). */
void ring_init(struct byte_ring *ring, uint8_t *buffer, size_t size)
{
	ring->buffer = buffer;
	ring->size = size;
	ring->written = 0;
}

/** Appends bytes, overwriting the oldest when full. */
void ring_write(struct byte_ring *ring, const void *bytes, size_t length)
{
	const uint8_t *from = bytes;

	/* Only the newest ring->size bytes can survive this write. */
	if (length > ring->size) {
		from += length - ring->size;
		ring->written += length - ring->size;
		length = ring->size;
	}
	while (length > 0) {
		size_t at = (size_t)(ring->written % ring->size);
		size_t piece = MIN(length, ring->size - at);

		memcpy(ring->buffer + at, from, piece);
		ring->written += piece;
		from += piece;
		length -= piece;
	}
}

/** Bytes the ring holds now (at most its size). */
size_t ring_used(const struct byte_ring *ring)
{
	return ring->written < ring->size ? (size_t)ring->written : ring->size;
}

/** Bytes that were written but have given way to newer ones. */
uint64_t ring_dropped(const struct byte_ring *ring)
{
	return ring->written - ring_used(ring);
}

/** Copies @count bytes from ring position @start (in bytes ever written). */
static void ring_copy_out(const struct byte_ring *ring, uint64_t start, uint8_t *to, size_t count)
{
	for (size_t done = 0; done < count;) {
		size_t at = (size_t)((start + done) % ring->size);
		size_t piece = MIN(count - done, ring->size - at);

		memcpy(to + done, ring->buffer + at, piece);
		done += piece;
	}
}

/** Copies the newest min(@max, used) bytes, oldest first, to @out; returns the count. */
size_t ring_read_newest(const struct byte_ring *ring, void *out, size_t max)
{
	size_t count = MIN(max, ring_used(ring));

	ring_copy_out(ring, ring->written - count, out, count);
	return count;
}

/** Copies up to @max kept bytes from @offset (0 = the oldest kept); returns the count. */
size_t ring_read_at(const struct byte_ring *ring, size_t offset, void *out, size_t max)
{
	size_t used = ring_used(ring);
	size_t count;

	if (offset >= used) {
		return 0;
	}
	count = MIN(max, used - offset);
	ring_copy_out(ring, ring->written - used + offset, out, count);
	return count;
}

/** The position of the oldest byte the ring keeps. */
uint64_t ring_oldest(const struct byte_ring *ring)
{
	return ring->written - ring_used(ring);
}

/** Copies up to @max kept bytes from @position on; returns the count. */
size_t ring_read_from(const struct byte_ring *ring, uint64_t position, void *out, size_t max)
{
	size_t count;

	if (position < ring_oldest(ring) || position >= ring->written) {
		return 0;
	}
	count = (size_t)MIN((uint64_t)max, ring->written - position);
	ring_copy_out(ring, position, out, count);
	return count;
}
