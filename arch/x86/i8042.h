/*
 * The PC keyboard controller (8042), as far as a PC uses it to reset the
 * machine: writing 0xFE to its command port pulses the CPU's reset line.
 * Both the physical one (arch/x86/power.c) and a partition's virtual one
 * (hv/platform.c) follow these numbers.
 */
#ifndef TESSERA_ARCH_X86_I8042_H
#define TESSERA_ARCH_X86_I8042_H

#define I8042_COMMAND_PORT      0x64 /* command (write) and status (read) */
#define I8042_STATUS_INPUT_FULL 0x02 /* a command or data byte is still pending */
#define I8042_PULSE_RESET       0xfe /* pulse output line 0: the CPU's reset */

#endif /* TESSERA_ARCH_X86_I8042_H */
