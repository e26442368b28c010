/*
 * The operator's console: the shell (hv/shell.c) on the physical serial
 * line, wired to the hypervisor's partitions, ledger and audit.
 */
#ifndef TESSERA_HV_OPERATOR_H
#define TESSERA_HV_OPERATOR_H

#include "arch/x86/mtrr.h"
#include "hv/config.h"

/** Starts the shell on the console; @config and @mtrr stay valid for good. */
void operator_init(const struct tessera_config *config, const struct mtrr_state *mtrr,
		   int (*read_byte)(void));

/**
 * Feeds what the operator typed since the last call to the shell. Called
 * between time slices and when idle, so keystrokes are handled within a
 * slice whatever the partitions do.
 */
void operator_poll(void);

#endif /* TESSERA_HV_OPERATOR_H */
