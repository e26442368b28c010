/*
 * The VMX I/O bitmaps (SDM Vol. 3C, 25.6.4): which IN/OUT/INS/OUTS exit.
 */
#ifndef TESSERA_ARCH_X86_IO_BITMAP_H
#define TESSERA_ARCH_X86_IO_BITMAP_H

#include "hv/types.h"

/* Bitmap A (ports 0-0x7fff) then bitmap B (0x8000-0xffff), one page each. */
#define IO_BITMAP_SIZE (2 * PAGE_SIZE)

/** Fills both bitmaps (IO_BITMAP_SIZE bytes) so that every port exits. */
void io_bitmap_init(uint8_t *bitmaps);

/**
 * Lets ports first..last (inclusive) reach hardware without an exit. An
 * access of 2 or 4 bytes still exits if any port it touches is not passed:
 * see io_bitmap.c.
 */
void io_bitmap_pass(uint8_t *bitmaps, uint16_t first, uint16_t last);

/** True when a one-byte access to @port exits. */
bool io_bitmap_intercepts(const uint8_t *bitmaps, uint16_t port);

#endif /* TESSERA_ARCH_X86_IO_BITMAP_H */
