GUEST_SRCS := scrub.c
