/*
 * The operator's console: the shell (hv/shell.c) on the physical serial
 * line, wired to the hypervisor's partitions, ledger and audit.
 *
 * Once started it also routes the console's lines (hv/console.h): every
 * partition line, log line and partition state change reaches the operator
 * as a shell event, so text never lands on the prompt's line and JSON mode
 * sees one object per line. Partitions' raw UART output is tapped for
 * attached consoles and for JSON console chunks.
 */
#ifndef TESSERA_HV_OPERATOR_H
#define TESSERA_HV_OPERATOR_H

#include "arch/x86/mtrr.h"
#include "drivers/uart16550.h"
#include "hv/config.h"

/** Starts the shell on the console; @config and @mtrr stay valid for good. */
void operator_init(const struct tessera_config *config, const struct mtrr_state *mtrr,
		   int (*read_byte)(void));

/**
 * Tells the operator about the machine, after operator_init(): the console
 * UART (its receive errors for "stats"; flushed before a reboot) and the
 * firmware's ACPI RSDP (CPUs for "cpus", the reset register, S5 for
 * "poweroff"; 0 when there is none). Until then "stats" leaves the console
 * line out, "cpus" knows only the boot CPU, "reboot" uses the chipset's
 * reset port and "poweroff" refuses.
 */
void operator_set_platform(struct uart16550 *console_uart, uint64_t acpi_rsdp);

/**
 * Feeds what the operator typed since the last call to the shell, and does
 * the console's housekeeping: JSON console chunks, forced stops of
 * partitions whose power-button time is up, the prompt after output pauses.
 * Called about every millisecond, also from the VM-exit path of whichever
 * vCPU runs (a command may stop, pause or rebuild its partition: the caller
 * checks its partition afterwards); cheap when there is nothing to do.
 */
void operator_poll(void);

#endif /* TESSERA_HV_OPERATOR_H */
