/*
 * The isolation audit: an independent check, from the EPT tables themselves,
 * that every partition reaches exactly its own RAM and nothing else.
 */
#ifndef TESSERA_HV_AUDIT_H
#define TESSERA_HV_AUDIT_H

#include "hv/partition.h"

/** What one audit saw. */
struct audit_result {
	unsigned int partitions;  /* partitions with an EPT */
	uint64_t leaves;          /* EPT leaf entries walked */
	uint64_t mapped_bytes;
	unsigned int problems;    /* each one logged */
};

/**
 * Walks the EPT of every partition in @parts and checks each leaf: it maps a
 * frame the ledger gives to that partition (so no hypervisor page and no page
 * of another partition), at the place the partition's RAM pieces say, with
 * read/write/execute access and the memory type the host MTRRs give the
 * frame; and every byte of the partition's RAM is mapped.
 */
struct audit_result audit_isolation(const struct partition *parts, size_t count,
				    const struct mtrr_state *mtrr);

#endif /* TESSERA_HV_AUDIT_H */
