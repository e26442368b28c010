GUEST_SRCS := irq.c vectors.S
