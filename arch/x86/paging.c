/*
 * Builds the hypervisor's 4-level identity map (SDM Vol. 3, 4.5) with the
 * largest pages the special ranges allow: 1 GiB (where the CPU has them) or
 * 2 MiB pages everywhere except around the image's text and guard pages.
 */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "arch/x86/image.h"
#include "arch/x86/msr.h"
#include "hv/alloc.h"
#include "hv/phys.h"
#include "hv/string.h"

#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE   (1ULL << 1)
#define PTE_LARGE   (1ULL << 7)
#define PTE_NX      (1ULL << 63)
#define PTE_ADDRESS 0x000ffffffffff000ULL
#define PT_ENTRIES  512
#define CPUID_EXT_EDX_PAGE1GB (1U << 26)

/** What a 4 KiB page of the identity map should be. */
enum page_kind { PAGE_DATA, PAGE_TEXT, PAGE_GUARD };

static hpa_t guard_pages[PAGING_MAX_GUARDS];
static size_t guard_count;
static bool paging_failed;
static uint64_t paging_limit;

/** Declares a page that must stay unmapped (a stack guard page). */
bool paging_add_guard_page(hpa_t page)
{
	if (guard_count == PAGING_MAX_GUARDS) {
		return false;
	}
	guard_pages[guard_count++] = page;
	return true;
}

/** True when [base, base+size) meets [start, end). */
static bool overlaps(uint64_t base, uint64_t size, uint64_t start, uint64_t end)
{
	return base < end && start < base + size;
}

/** True when every page of the range is plain data (no text, no guard). */
static bool range_is_plain_data(uint64_t base, uint64_t size)
{
	if (overlaps(base, size, (uint64_t)__tessera_text_start, (uint64_t)__tessera_text_end)) {
		return false;
	}
	for (size_t i = 0; i < guard_count; i++) {
		if (overlaps(base, size, hpa_addr(guard_pages[i]), hpa_addr(guard_pages[i]) + PAGE_SIZE)) {
			return false;
		}
	}
	return true;
}

/** The kind of one 4 KiB page. */
static enum page_kind page_kind_of(uint64_t page)
{
	for (size_t i = 0; i < guard_count; i++) {
		if (hpa_addr(guard_pages[i]) == page) {
			return PAGE_GUARD;
		}
	}
	if (overlaps(page, PAGE_SIZE, (uint64_t)__tessera_text_start, (uint64_t)__tessera_text_end)) {
		return PAGE_TEXT;
	}
	return PAGE_DATA;
}

/** A zeroed page for a paging structure. */
static uint64_t *paging_new_table(uint64_t *table_hpa)
{
	hpa_t page;

	if (!alloc_pages(1, 1, OWNER_HV_PAGE_TABLES, &page)) {
		paging_failed = true;
		return NULL;
	}
	*table_hpa = hpa_addr(page);
	return memset(hpa_to_ptr(page), 0, PAGE_SIZE);
}

/** Fills one table of the given level; level 1 maps 4 KiB pages. */
static void paging_fill(uint64_t *table, uint64_t base, int level, bool use_1g)
{
	uint64_t entry_size = PAGE_SIZE << (9 * (level - 1));

	for (int i = 0; i < PT_ENTRIES && !paging_failed; i++) {
		uint64_t addr = base + (uint64_t)i * entry_size;
		bool large_ok = level == 2 || (level == 3 && use_1g);

		if (addr >= paging_limit) {
			table[i] = 0;
		} else if (level == 1) {
			enum page_kind kind = page_kind_of(addr);

			table[i] = kind == PAGE_GUARD ? 0
				 : kind == PAGE_TEXT ? (addr | PTE_PRESENT)
				 : (addr | PTE_PRESENT | PTE_WRITE | PTE_NX);
		} else if (large_ok && range_is_plain_data(addr, entry_size)) {
			table[i] = addr | PTE_PRESENT | PTE_WRITE | PTE_LARGE | PTE_NX;
		} else {
			uint64_t next_hpa;
			uint64_t *next = paging_new_table(&next_hpa);

			if (next == NULL) {
				return;
			}
			paging_fill(next, addr, level - 1, use_1g);
			/* Upper levels allow everything; the leaves restrict. */
			table[i] = next_hpa | PTE_PRESENT | PTE_WRITE;
		}
	}
}

/** Builds the identity map of [0, phys_limit) and switches CR3 to it. */
bool paging_init(uint64_t phys_limit)
{
	bool use_1g = (cpu_cpuid(0x80000001, 0).edx & CPUID_EXT_EDX_PAGE1GB) != 0;
	uint64_t pml4_hpa;
	uint64_t *pml4 = paging_new_table(&pml4_hpa);
	uint64_t per_pml4e = GiB(512);

	if (pml4 == NULL) {
		return false;
	}
	paging_limit = ALIGN_UP(phys_limit, GiB(1));
	for (uint64_t i = 0; i * per_pml4e < phys_limit && !paging_failed; i++) {
		uint64_t pdpt_hpa;
		uint64_t *pdpt = paging_new_table(&pdpt_hpa);

		if (pdpt == NULL) {
			break;
		}
		paging_fill(pdpt, i * per_pml4e, 3, use_1g);
		pml4[i] = pdpt_hpa | PTE_PRESENT | PTE_WRITE;
	}
	if (paging_failed) {
		return false;
	}
	cpu_wrmsr(MSR_IA32_EFER, cpu_rdmsr(MSR_IA32_EFER) | EFER_NXE);
	cpu_write_cr0(cpu_read_cr0() | CR0_WP);
	cpu_write_cr3(pml4_hpa);
	return true;
}
