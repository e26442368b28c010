GUEST_SRCS := ../escape/escape.c
GUEST_DEFINES := -DESCAPE_HOLE=1
