GUEST_SRCS := fpu.c
