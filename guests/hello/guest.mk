GUEST_SRCS := hello.c
