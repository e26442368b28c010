build/obj/boot/efi_main.o: boot/efi_main.c boot/efi_boot.h hv/boot_info.h \
 hv/config.h hv/log.h hv/types.h arch/x86/cpu.h arch/x86/vmx.h \
 arch/x86/vmx_caps.h hv/partition.h arch/x86/ept.h \
 arch/x86/exit_reasons.h arch/x86/guest_regs.h hv/layout.h hv/vuart.h \
 hv/percpu.h arch/x86/segments.h
boot/efi_boot.h:
hv/boot_info.h:
hv/config.h:
hv/log.h:
hv/types.h:
arch/x86/cpu.h:
arch/x86/vmx.h:
arch/x86/vmx_caps.h:
hv/partition.h:
arch/x86/ept.h:
arch/x86/exit_reasons.h:
arch/x86/guest_regs.h:
hv/layout.h:
hv/vuart.h:
hv/percpu.h:
arch/x86/segments.h:
