/*
 * The extent of Tessera's own image, exported by linker.ld.
 */
#ifndef TESSERA_ARCH_X86_IMAGE_H
#define TESSERA_ARCH_X86_IMAGE_H

extern const char ImageBase[];
extern const char __tessera_image_start[];
extern const char __tessera_image_end[];
extern const char __tessera_text_start[];
extern const char __tessera_text_end[];

#endif /* TESSERA_ARCH_X86_IMAGE_H */
