GUEST_SRCS := flood.c
