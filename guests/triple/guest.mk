GUEST_SRCS := triple.c
