GUEST_SRCS := pcplat.c ../irq/vectors.S
