GUEST_SRCS := mmio.c
