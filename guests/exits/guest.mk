GUEST_SRCS := exits.c vectors.S
