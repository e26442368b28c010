build/obj/boot/efi_main.o: boot/efi_main.c hv/types.h
hv/types.h:
