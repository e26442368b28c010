build/obj/hv/string.o: hv/string.c hv/string.h hv/types.h
hv/string.h:
hv/types.h:
