/*
 * The operator's console: the shell (hv/shell.c) on the physical serial
 * line, wired to the hypervisor's partitions, ledger and audit.
 *
 * Once started it also routes the console's lines (hv/console.h): every
 * partition line, log line and partition state change reaches the operator
 * as a shell event, so text never lands on the prompt's line and JSON mode
 * sees one object per line. Partitions' UART output is tapped into a
 * stream per partition, which the console reads only as fast as the line
 * carries it: Tessera's own output goes first, and a partition that writes
 * faster than the line loses its oldest bytes, with a log line saying how
 * many.
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
 * Called every console tick, also from the VM-exit path of whichever vCPU
 * runs (a command may stop, pause or rebuild its partition: the caller
 * checks its partition afterwards); cheap when there is nothing to do.
 * Returns whether the console is active (output to send, work pending, or
 * input within the last OPERATOR_ACTIVE_MS), which asks for the fast tick.
 */
bool operator_poll(void);

#endif /* TESSERA_HV_OPERATOR_H */
