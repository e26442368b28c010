/*
 * The isolation audit. It trusts nothing the partition builder computed: it
 * reads the EPT leaves back from the tables and checks them against the
 * ownership ledger and the host MTRRs.
 */
#include "hv/audit.h"
#include "hv/alloc.h"
#include "hv/log.h"

#define AUDIT_REPORT_LIMIT 8

/** State of the walk over one partition's EPT. */
struct audit_walk {
	const struct partition *partition;
	const struct mtrr_state *mtrr;
	struct audit_result *result;
};

/** Logs one problem (up to a limit, then only counts). */
static void audit_problem(struct audit_walk *w, gpa_t gpa, hpa_t hpa, const char *what)
{
	if (w->result->problems++ < AUDIT_REPORT_LIMIT) {
		log_error("isolation audit: partition '%s': gpa %#llx -> hpa %#llx: %s",
			  w->partition->config->name, (unsigned long long)gpa_addr(gpa),
			  (unsigned long long)hpa_addr(hpa), what);
	}
}

/** True when [gpa, gpa + size) -> hpa is exactly what one RAM piece maps. */
static bool audit_matches_ram(const struct partition *p, gpa_t gpa, hpa_t hpa, uint64_t size)
{
	for (size_t i = 0; i < p->ram_count; i++) {
		const struct partition_ram *r = &p->ram[i];
		uint64_t offset = gpa_addr(gpa) - gpa_addr(r->gpa);

		if (gpa_addr(gpa) >= gpa_addr(r->gpa) && offset < r->size) {
			return size <= r->size - offset && hpa_addr(hpa) == hpa_addr(r->hpa) + offset;
		}
	}
	return false;
}

/** Checks one EPT leaf. */
static void audit_leaf(void *ctx, gpa_t gpa, hpa_t hpa, uint64_t size, uint32_t access,
		       uint8_t memtype)
{
	struct audit_walk *w = ctx;
	owner_t owner = alloc_range_owner(hpa, size / PAGE_SIZE);
	uint8_t mtrr_type;
	uint64_t run_end = mtrr_uniform_run(w->mtrr, hpa_addr(hpa), hpa_addr(hpa) + size, &mtrr_type);

	w->result->leaves++;
	w->result->mapped_bytes += size;
	if (owner != OWNER_PARTITION(w->partition->id)) {
		audit_problem(w, gpa, hpa, owner_is_hypervisor(owner) ? "maps a hypervisor page"
				 : owner == OWNER_FREE ? "maps a free page"
				 : owner == OWNER_NONE ? "maps memory of several owners or no RAM"
				 : "maps another partition's page");
	}
	if (!audit_matches_ram(w->partition, gpa, hpa, size)) {
		audit_problem(w, gpa, hpa, "is not where the partition's RAM pieces say");
	}
	if (access != (EPT_READ | EPT_WRITE | EPT_EXEC)) {
		audit_problem(w, gpa, hpa, "has access rights other than read/write/execute");
	}
	if (run_end != hpa_addr(hpa) + size || mtrr_type != memtype) {
		audit_problem(w, gpa, hpa, "has a memory type that differs from the MTRRs'");
	}
}

/**
 * Checks that every page of one RAM piece is mapped, leaf by leaf: a hole
 * is named by its first GPA. (The leaves themselves were checked above.)
 */
static void audit_piece_mapped(struct audit_walk *w, const struct partition_ram *r)
{
	uint64_t end = gpa_addr(r->gpa) + r->size;

	for (uint64_t at = gpa_addr(r->gpa); at < end;) {
		uint64_t page_size = PAGE_SIZE;
		hpa_t hpa;

		if (!ept_translate(&w->partition->ept, gpa_init(at), &hpa, NULL, NULL, &page_size)) {
			audit_problem(w, gpa_init(at), hpa_init(hpa_addr(r->hpa) + (at - gpa_addr(r->gpa))),
				      "RAM of the partition that its EPT does not map");
			page_size = PAGE_SIZE;
		}
		at = ALIGN_DOWN(at, page_size) + page_size;
	}
}

/** Audits one partition's EPT. */
static void audit_partition(const struct partition *p, const struct mtrr_state *mtrr,
			    struct audit_result *result)
{
	struct audit_walk walk = { .partition = p, .mtrr = mtrr, .result = result };

	result->partitions++;
	ept_for_each_leaf(&p->ept, audit_leaf, &walk);
	for (size_t i = 0; i < p->ram_count; i++) {
		audit_piece_mapped(&walk, &p->ram[i]);
	}
}

/** Walks every partition's EPT (see audit.h). */
struct audit_result audit_isolation(const struct partition *parts, size_t count,
				    const struct mtrr_state *mtrr)
{
	struct audit_result result = { 0, 0, 0, 0 };

	for (size_t i = 0; i < count; i++) {
		if (parts[i].state != PARTITION_EMPTY && parts[i].ept.table_pages > 0) {
			audit_partition(&parts[i], mtrr, &result);
		}
	}
	return result;
}
