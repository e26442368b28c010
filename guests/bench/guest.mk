GUEST_SRCS := bench.c
