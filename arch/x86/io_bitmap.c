/*
 * I/O bitmap layout (SDM 25.6.4): bitmap A holds one bit per port for ports
 * 0-0x7fff, bitmap B for 0x8000-0xffff, lowest port in bit 0 of byte 0. A
 * set bit makes an access to that port exit; a clear bit sends it to the
 * hardware. The two 4 KiB bitmaps have their own VMCS pointers, so they are
 * addressed separately here even though the partition keeps them adjacent.
 *
 * An IN/OUT of 2 or 4 bytes touches 2 or 4 consecutive ports and exits if
 * the bit of any one of them is set, and an access that wraps from 0xffff to
 * 0 always exits. So passing a range lets through only the accesses that lie
 * entirely inside passed ports; one that straddles the edge of a range still
 * exits and is emulated (hv/io.c), not sent to the hardware.
 */
#include "arch/x86/io_bitmap.h"
#include "hv/string.h"

#define IO_BITMAP_PAGE    PAGE_SIZE
/* The first port of bitmap B. */
#define IO_BITMAP_B_FIRST 0x8000U

/** Byte offset of @port's bit from the start of bitmap A. */
static size_t io_bitmap_byte(uint16_t port)
{
	size_t bitmap_start = 0;
	uint32_t index = port;

	if (port >= IO_BITMAP_B_FIRST) {
		bitmap_start = IO_BITMAP_PAGE;
		index -= IO_BITMAP_B_FIRST;
	}
	return bitmap_start + index / 8;
}

/** The bit of @port within its byte. */
static uint8_t io_bitmap_mask(uint16_t port)
{
	return (uint8_t)(1U << (port % 8));
}

/** Fills both bitmaps so that every port exits. */
void io_bitmap_init(uint8_t *bitmaps)
{
	memset(bitmaps, 0xff, IO_BITMAP_SIZE);
}

/** Clears the bits of ports first..last, so that they reach the hardware. */
void io_bitmap_pass(uint8_t *bitmaps, uint16_t first, uint16_t last)
{
	/* 32 bits: a range ending at 0xffff would wrap a 16-bit counter. */
	for (uint32_t port = first; port <= last; port++) {
		bitmaps[io_bitmap_byte((uint16_t)port)] &=
			(uint8_t)~io_bitmap_mask((uint16_t)port);
	}
}

/** True when a one-byte access to @port exits. */
bool io_bitmap_intercepts(const uint8_t *bitmaps, uint16_t port)
{
	return (bitmaps[io_bitmap_byte(port)] & io_bitmap_mask(port)) != 0;
}
