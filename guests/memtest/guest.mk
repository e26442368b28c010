GUEST_SRCS := memtest.c
