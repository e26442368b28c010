/*
 * Unit tests for hv/guest_paging.c: the software walk of a guest's paging.
 *
 * Guest page tables are built in a fake guest-physical memory (sparse 4-KByte
 * pages behind a read callback that logs every read), for every paging mode,
 * and each translation is checked to the exact guest-physical address, the
 * entries read and the #PF error code. The expected values come from the SDM
 * (Vol. 3A 4.3-4.7), written out by hand.
 *
 * A randomized test then builds random 4- and 5-level hierarchies (aliased
 * tables, tables outside RAM, reserved bits, large pages) and compares the
 * walker with a reference written here in another style (a recursion over
 * level numbers, reserved bits per level by switch, access rights as a list
 * of reasons to refuse), over random addresses, accesses and mode bits, from
 * fixed seeds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "hv/guest_paging.h"

/* Entry bits, from the SDM, for building tables. */
#define T_P    BIT(0)
#define T_RW   BIT(1)
#define T_US   BIT(2)
#define T_PWT  BIT(3)
#define T_A    BIT(5)
#define T_D    BIT(6)
#define T_PS   BIT(7)
#define T_G    BIT(8)
#define T_PAT  BIT(12)  /* in a PDE or PDPTE mapping a page */
#define T_XD   BIT(63)
#define T_URW  (T_P | T_RW | T_US)
#define T_ADDR 0x000ffffffffff000ULL
#define T_IGNORED_HIGH 0x7ff0000000000000ULL /* bits 62:52 of a 4-level entry */

/* Access kinds, for short. */
#define SUP_R ACCESS_READ
#define SUP_W ACCESS_WRITE
#define SUP_X ACCESS_FETCH
#define USR_R (ACCESS_READ | ACCESS_USER)
#define USR_W (ACCESS_WRITE | ACCESS_USER)
#define USR_X (ACCESS_FETCH | ACCESS_USER)

/* Where each mode's top table sits; new tables come from TABLE_BASE up. */
#define ROOT_32    0x2000ULL
#define ROOT_PAE   0x3020ULL /* 32-byte aligned, inside a page */
#define ROOT_LONG  0x4000ULL
#define TABLE_BASE 0x100000ULL
/* Guest-physical addresses that are never RAM in these tests. */
#define NOT_RAM    0xfee00000ULL

#define FAKE_RAM_PAGES 1024
#define READ_LOG_MAX   16

/** One page of fake guest RAM. */
struct fake_page {
	uint64_t gpa;
	uint8_t bytes[PAGE_SIZE];
};

/** One read the walker made through the callback. */
struct logged_read {
	uint64_t gpa;
	unsigned int size;
};

/** The fake guest-physical memory and what was read from it. */
struct fake_ram {
	struct fake_page pages[FAKE_RAM_PAGES];
	unsigned int page_count;
	uint64_t next_table;
	struct logged_read log[READ_LOG_MAX];
	unsigned int reads;
};

static struct fake_ram ram;

/** The fake RAM page holding gpa, or NULL if gpa is not RAM. */
static struct fake_page *ram_find(uint64_t gpa)
{
	for (unsigned int i = 0; i < ram.page_count; i++) {
		if (ram.pages[i].gpa == (gpa & PAGE_MASK)) {
			return &ram.pages[i];
		}
	}
	return NULL;
}

/** The fake RAM page holding gpa, made RAM (zeroed) if it was not. */
static struct fake_page *ram_page(uint64_t gpa)
{
	struct fake_page *page = ram_find(gpa);

	if (page == NULL) {
		assert_true(ram.page_count < FAKE_RAM_PAGES);
		page = &ram.pages[ram.page_count++];
		page->gpa = gpa & PAGE_MASK;
		memset(page->bytes, 0, sizeof(page->bytes));
	}
	return page;
}

/** Copies size bytes of fake RAM at gpa to buf; false if one is not RAM. */
static bool ram_copy(uint64_t gpa, void *buf, uint64_t size)
{
	uint8_t *out = buf;

	while (size > 0) {
		const struct fake_page *page = ram_find(gpa);
		uint64_t offset = gpa & ~PAGE_MASK;
		uint64_t chunk = MIN(size, PAGE_SIZE - offset);

		if (page == NULL) {
			return false;
		}
		memcpy(out, page->bytes + offset, chunk);
		out += chunk;
		gpa += chunk;
		size -= chunk;
	}
	return true;
}

/** Writes size bytes of buf to fake RAM at gpa, making it RAM. */
static void ram_write(uint64_t gpa, const void *buf, uint64_t size)
{
	const uint8_t *in = buf;

	while (size > 0) {
		struct fake_page *page = ram_page(gpa);
		uint64_t offset = gpa & ~PAGE_MASK;
		uint64_t chunk = MIN(size, PAGE_SIZE - offset);

		memcpy(page->bytes + offset, in, chunk);
		in += chunk;
		gpa += chunk;
		size -= chunk;
	}
}

/** Writes a 4-byte entry. */
static void put32(uint64_t gpa, uint32_t value)
{
	ram_write(gpa, &value, sizeof(value));
}

/** Writes an 8-byte entry. */
static void put64(uint64_t gpa, uint64_t value)
{
	ram_write(gpa, &value, sizeof(value));
}

/** Reads a 4-byte entry (0 where there is no RAM). */
static uint32_t get32(uint64_t gpa)
{
	uint32_t value = 0;

	return ram_copy(gpa, &value, sizeof(value)) ? value : 0;
}

/** Reads an 8-byte entry (0 where there is no RAM). */
static uint64_t get64(uint64_t gpa)
{
	uint64_t value = 0;

	return ram_copy(gpa, &value, sizeof(value)) ? value : 0;
}

/** A new zeroed table page. */
static uint64_t new_table(void)
{
	uint64_t gpa = ram.next_table;

	ram.next_table += PAGE_SIZE;
	ram_page(gpa);
	return gpa;
}

/** The walker's read callback: fake RAM, every call logged. */
static bool fake_read(void *ctx, gpa_t gpa, void *buf, unsigned int size)
{
	assert_ptr_equal(ctx, &ram);
	if (ram.reads < READ_LOG_MAX) {
		ram.log[ram.reads] = (struct logged_read){ gpa_addr(gpa), size };
	}
	ram.reads++;
	return ram_copy(gpa_addr(gpa), buf, size);
}

/** Asserts that read number i was of size bytes at gpa. */
static void assert_read(unsigned int i, uint64_t gpa, unsigned int size)
{
	assert_true(i < ram.reads && i < READ_LOG_MAX);
	assert_int_equal(ram.log[i].gpa, gpa);
	assert_int_equal(ram.log[i].size, size);
}

/** Empty RAM holding just the three root tables' pages. */
static int setup(void **state)
{
	ram.page_count = 0;
	ram.reads = 0;
	ram.next_table = TABLE_BASE;
	ram_page(ROOT_32);
	ram_page(ROOT_PAE);
	ram_page(ROOT_LONG);
	return 0;
}

/* ------------------------------------------------------------------------
 * Modes and table builders
 * ------------------------------------------------------------------------ */

/** 32-bit paging (CR4.PSE = 0), CR0.WP = 1, top table at ROOT_32. */
static struct guest_paging_mode mode_32bit(void)
{
	return (struct guest_paging_mode){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = ROOT_32,
	};
}

/** PAE paging with NXE, CR0.WP = 1, PDPT at ROOT_PAE. */
static struct guest_paging_mode mode_pae(void)
{
	return (struct guest_paging_mode){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = ROOT_PAE,
		.cr4 = CR4_PAE, .efer = EFER_NXE,
	};
}

/** 4-level paging with NXE, CR0.WP = 1, PML4 at ROOT_LONG. */
static struct guest_paging_mode mode_4level(void)
{
	return (struct guest_paging_mode){
		.cr0 = CR0_PE | CR0_PG | CR0_WP, .cr3 = ROOT_LONG,
		.cr4 = CR4_PAE, .efer = EFER_LME | EFER_LMA | EFER_NXE,
	};
}

/** 5-level paging: 4-level with CR4.LA57, PML5 at ROOT_LONG. */
static struct guest_paging_mode mode_5level(void)
{
	struct guest_paging_mode mode = mode_4level();

	mode.cr4 |= CR4_LA57;
	return mode;
}

/* Byte offsets of 4-byte and 8-byte entry i in its table. */
#define E4(i) ((uint64_t)(i) * 4)
#define E8(i) ((uint64_t)(i) * 8)

/** Index of the entry at level (1 = PTE ... 5 = PML5E) for linear. */
static uint64_t index_at(uint64_t linear, unsigned int level)
{
	return (linear >> (12 + 9 * (level - 1))) & 511;
}

/**
 * Maps linear in the hierarchy of 8-byte entries at root whose top level is
 * top (3 for the PAE PDPT, 4 or 5): missing tables are created behind
 * entries with P, R/W and U/S (P alone in a PAE PDPTE), and leaf_entry is
 * written at level leaf.
 */
static void map64(uint64_t root, unsigned int top, uint64_t linear,
		  unsigned int leaf, uint64_t leaf_entry)
{
	uint64_t table = root;

	for (unsigned int level = top; level > leaf; level--) {
		uint64_t at = table + E8(index_at(linear, level));
		uint64_t entry = get64(at);

		if ((entry & T_P) == 0) {
			entry = new_table() | (top == 3 && level == 3 ? T_P : T_URW);
			put64(at, entry);
		}
		table = entry & T_ADDR;
	}
	put64(table + E8(index_at(linear, leaf)), leaf_entry);
}

/** Where the entry at level for linear is (the tables above it must exist). */
static uint64_t entry_at(uint64_t root, unsigned int top, uint64_t linear,
			 unsigned int level)
{
	uint64_t table = root;

	for (unsigned int l = top; l > level; l--) {
		table = get64(table + E8(index_at(linear, l))) & T_ADDR;
	}
	return table + E8(index_at(linear, level));
}

/** Sets the bits set and clears the bits clear in the entry at level. */
static void entry_change(uint64_t root, unsigned int top, uint64_t linear,
			 unsigned int level, uint64_t set, uint64_t clear)
{
	uint64_t at = entry_at(root, top, linear, level);

	put64(at, (get64(at) | set) & ~clear);
}

/** Maps linear with 32-bit paging: a PDE (big) or a PTE holding leaf_entry. */
static void map32(uint32_t linear, bool big, uint32_t leaf_entry)
{
	uint64_t pde_at = ROOT_32 + E4(linear >> 22);
	uint32_t pde = get32(pde_at);

	if (big) {
		put32(pde_at, leaf_entry);
		return;
	}
	if ((pde & T_P) == 0) {
		pde = (uint32_t)new_table() | (uint32_t)T_URW;
		put32(pde_at, pde);
	}
	put32((pde & 0xfffff000U) + E4((linear >> 12) & 1023), leaf_entry);
}

/* ------------------------------------------------------------------------
 * Checking a translation
 * ------------------------------------------------------------------------ */

/** The outcome of one translation. */
struct xlat {
	enum guest_walk_result result;
	uint64_t gpa;
	uint32_t error;
};

#define OK_AT(g)  ((struct xlat){ .result = WALK_OK, .gpa = (g) })
#define PF(e)     ((struct xlat){ .result = WALK_PAGE_FAULT, .error = (e) })
#define BAD_AT(g) ((struct xlat){ .result = WALK_BAD_PHYSICAL, .gpa = (g) })
#define NONCANON  ((struct xlat){ .result = WALK_NON_CANONICAL })

/** Translates linear with the walker, its read log restarted. */
static struct xlat xlate(const struct guest_paging_mode *mode, uint64_t linear,
			 unsigned int access)
{
	struct xlat got;
	gpa_t gpa = gpa_init(0x5a5a5a5a);

	got.error = 0xa5a5a5a5;
	ram.reads = 0;
	got.result = guest_linear_to_physical(mode, linear, access, fake_read,
					      &ram, &gpa, &got.error);
	got.gpa = gpa_addr(gpa);
	return got;
}

/** Whether translating linear gives want; prints both when not. */
static bool xlate_is(const struct guest_paging_mode *mode, uint64_t linear,
		     unsigned int access, struct xlat want)
{
	struct xlat got = xlate(mode, linear, access);

	if (got.result == want.result && got.gpa == want.gpa &&
	    got.error == want.error) {
		return true;
	}
	print_error("linear %#llx access %#x: got result %d gpa %#llx error %#x, "
		    "want result %d gpa %#llx error %#x\n",
		    (unsigned long long)linear, access, got.result,
		    (unsigned long long)got.gpa, got.error, want.result,
		    (unsigned long long)want.gpa, want.error);
	return false;
}

/* ------------------------------------------------------------------------
 * Paging off
 * ------------------------------------------------------------------------ */

/** CR0.PG = 0: linear is physical, bits 31:0 only, no table read, no rights. */
static void test_paging_off_is_identity_and_wraps(void **state)
{
	struct guest_paging_mode mode = { .cr0 = CR0_PE, .cr4 = CR4_SMEP | CR4_SMAP };

	assert_true(xlate_is(&mode, 0x12345678, SUP_R, OK_AT(0x12345678)));
	assert_true(xlate_is(&mode, 0xabcd00001234ULL, USR_W, OK_AT(0x1234)));
	assert_true(xlate_is(&mode, 0xffffffffULL, USR_X, OK_AT(0xffffffffULL)));
	assert_int_equal(ram.reads, 0);
	/* PAE and LME without PG are still no paging (SDM 4.1.1). */
	mode.cr4 |= CR4_PAE | CR4_LA57;
	mode.efer = EFER_LME | EFER_NXE;
	assert_true(xlate_is(&mode, 0x100000fffULL, SUP_W, OK_AT(0xfff)));
	assert_int_equal(ram.reads, 0);
	/* Real mode too: CR0.PE = 0. */
	mode.cr0 = 0;
	assert_true(xlate_is(&mode, 0x10ffefULL, SUP_R, OK_AT(0x10ffefULL)));
}

/* ------------------------------------------------------------------------
 * 32-bit paging (SDM 4.3)
 * ------------------------------------------------------------------------ */

/** A 4-KByte page: a 4-byte PDE at CR3[31:12], then a 4-byte PTE. */
static void test_32bit_4k_page(void **state)
{
	struct guest_paging_mode mode = mode_32bit();
	uint64_t pt;

	map32(0xc0801abc, false, 0x12345000 | (uint32_t)T_URW);
	pt = get32(ROOT_32 + E4(0x302)) & 0xfffff000U;
	/* CR3 bits 11:0 (PWT, PCD) and 63:32 do not locate the directory. */
	mode.cr3 = 0xabcd00000000ULL | ROOT_32 | 0x18;
	assert_true(xlate_is(&mode, 0xc0801abc, USR_W, OK_AT(0x12345abc)));
	assert_int_equal(ram.reads, 2);
	assert_read(0, ROOT_32 + E4(0x302), 4);
	assert_read(1, pt + E4(0x001), 4);
	/* Linear addresses are 32 bits: bits 63:32 are dropped. */
	assert_true(xlate_is(&mode, 0xffffffffc0801abcULL, SUP_R, OK_AT(0x12345abc)));
}

/** Without CR4.PSE, PS in a PDE is ignored: the PDE references a table. */
static void test_32bit_ps_ignored_without_pse(void **state)
{
	struct guest_paging_mode mode = mode_32bit();
	/* A table at 0x00a02000: bit 21 and bit 13 are address bits here. */
	uint32_t pde = 0x00a02000U | (uint32_t)(T_URW | T_PS);

	put32(ROOT_32 + E4(1), pde);
	put32(0x00a02000U + E4(0x3ff), 0x7777f000U | (uint32_t)T_URW);
	assert_true(xlate_is(&mode, 0x007ff123, USR_R, OK_AT(0x7777f123)));
	assert_int_equal(ram.reads, 2);
	/* With PSE the same PDE maps a 4-MByte page, and bit 21 is reserved. */
	mode.cr4 |= CR4_PSE;
	assert_true(xlate_is(&mode, 0x007ff123, USR_R, PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_U)));
	put32(ROOT_32 + E4(1), pde & ~BIT(21));
	assert_true(xlate_is(&mode, 0x007ff123, USR_R, OK_AT(0x100bff123ULL)));
}

/** A 4-MByte page with PSE-36: PDE bits 20:13 are address bits 39:32. */
static void test_32bit_4m_page_pse36(void **state)
{
	struct guest_paging_mode mode = mode_32bit();
	uint32_t pde = 0xc0000000U | (0xabU << 13) | (uint32_t)(T_URW | T_PS | T_PAT);

	mode.cr4 = CR4_PSE;
	map32(0x00312345, true, pde);
	/* MAXPHYADDR 46 counts as 40 for PSE-36; PAT (bit 12) is no address bit. */
	assert_true(xlate_is(&mode, 0x00312345, SUP_W, OK_AT(0xabc0312345ULL)));
	assert_int_equal(ram.reads, 1);
	assert_read(0, ROOT_32, 4);
	mode.maxphyaddr = 40;
	assert_true(xlate_is(&mode, 0x00312345, SUP_W, OK_AT(0xabc0312345ULL)));
	/* MAXPHYADDR 36: bits 20:17 hold address bits 39:36, reserved. */
	mode.maxphyaddr = 36;
	assert_true(xlate_is(&mode, 0x00312345, SUP_W, PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_W)));
	put32(ROOT_32, 0xc0000000U | (0x0bU << 13) | (uint32_t)(T_URW | T_PS));
	assert_true(xlate_is(&mode, 0x00312345, SUP_W, OK_AT(0xbc0312345ULL)));
	/* MAXPHYADDR 32 (no PSE-36 bits): 21:13 all reserved. */
	mode.maxphyaddr = 32;
	assert_true(xlate_is(&mode, 0x00312345, SUP_R, PF(PF_ERR_P | PF_ERR_RSVD)));
}

/** Bit 21 of a 4-MByte PDE is reserved whatever MAXPHYADDR (Table 4-4). */
static void test_32bit_4m_page_bit21_reserved(void **state)
{
	struct guest_paging_mode mode = mode_32bit();

	mode.cr4 = CR4_PSE;
	map32(0x00400000, true, 0x00400000U | BIT(21) | (uint32_t)(T_URW | T_PS));
	assert_true(xlate_is(&mode, 0x00400000, SUP_R, PF(PF_ERR_P | PF_ERR_RSVD)));
	assert_true(xlate_is(&mode, 0x00400000, USR_W,
			     PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_W | PF_ERR_U)));
	/* PTEs and table PDEs have no reserved bits: all 32 bits are defined. */
	map32(0x00800000, false, 0xfffff000U | 0xfffU);
	assert_true(xlate_is(&mode, 0x00800abc, USR_W, OK_AT(0xfffffabcULL)));
}

/** 32-bit paging has no XD: fetches pass, I/D is set only with SMEP. */
static void test_32bit_no_xd_and_id_only_with_smep(void **state)
{
	struct guest_paging_mode mode = mode_32bit();

	mode.efer = EFER_NXE; /* no effect without PAE (SDM 4.7) */
	map32(0x1000, false, 0x9000U | (uint32_t)T_URW);
	assert_true(xlate_is(&mode, 0x1004, USR_X, OK_AT(0x9004)));
	assert_true(xlate_is(&mode, 0x2000, SUP_X, PF(0)));
	assert_true(xlate_is(&mode, 0x2000, USR_X, PF(PF_ERR_U)));
	mode.cr4 = CR4_SMEP;
	assert_true(xlate_is(&mode, 0x2000, SUP_X, PF(PF_ERR_ID)));
	assert_true(xlate_is(&mode, 0x2000, USR_X, PF(PF_ERR_ID | PF_ERR_U)));
	assert_true(xlate_is(&mode, 0x1000, SUP_X, PF(PF_ERR_P | PF_ERR_ID)));
}

/** U/S and R/W of the PDE and the PTE combine; CR0.WP governs supervisors. */
static void test_32bit_access_rights(void **state)
{
	struct guest_paging_mode mode = mode_32bit();

	map32(0x1000, false, 0x9000U | (uint32_t)(T_P | T_US));
	map32(0x00401000, false, 0xa000U | (uint32_t)T_URW);
	put32(ROOT_32 + E4(1), get32(ROOT_32 + E4(1)) & ~(uint32_t)T_US);
	assert_true(xlate_is(&mode, 0x1000, USR_R, OK_AT(0x9000)));
	assert_true(xlate_is(&mode, 0x1000, USR_W, PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
	assert_true(xlate_is(&mode, 0x1000, SUP_W, PF(PF_ERR_P | PF_ERR_W)));
	assert_true(xlate_is(&mode, 0x00401000, USR_R, PF(PF_ERR_P | PF_ERR_U)));
	assert_true(xlate_is(&mode, 0x00401000, SUP_W, OK_AT(0xa000)));
	mode.cr0 &= ~CR0_WP;
	assert_true(xlate_is(&mode, 0x1000, SUP_W, OK_AT(0x9000)));
	assert_true(xlate_is(&mode, 0x1000, USR_W, PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
}

/* ------------------------------------------------------------------------
 * PAE paging (SDM 4.4)
 * ------------------------------------------------------------------------ */

/** 4-KByte and 2-MByte pages above 4 GBytes; the PDPTE read from CR3[31:5]. */
static void test_pae_4k_and_2m_pages(void **state)
{
	struct guest_paging_mode mode = mode_pae();

	map64(ROOT_PAE, 3, 0xbfe01234, 1, 0x1234567000ULL | T_URW);
	map64(ROOT_PAE, 3, 0x40234567, 2, 0x100200000ULL | T_URW | T_PS | T_PAT);
	/* CR3 bits 63:32 and 4:0 do not locate the PDPT. */
	mode.cr3 = 0xf00000000ULL | ROOT_PAE | 0x18;
	assert_true(xlate_is(&mode, 0xbfe01234, USR_W, OK_AT(0x1234567234ULL)));
	assert_int_equal(ram.reads, 3);
	assert_read(0, ROOT_PAE + E8(2), 8);
	assert_read(1, entry_at(ROOT_PAE, 3, 0xbfe01234, 2), 8);
	assert_read(2, entry_at(ROOT_PAE, 3, 0xbfe01234, 1), 8);
	assert_true(xlate_is(&mode, 0x40234567, USR_R, OK_AT(0x100234567ULL)));
	assert_int_equal(ram.reads, 2);
	assert_read(0, ROOT_PAE + E8(1), 8);
	/* Linear addresses are 32 bits. */
	assert_true(xlate_is(&mode, 0x7700000040234567ULL, USR_R, OK_AT(0x100234567ULL)));
	/* PDPTE 3 was never written: not present. */
	assert_true(xlate_is(&mode, 0xc0000000, USR_W, PF(PF_ERR_W | PF_ERR_U)));
}

/** A PDPTE has only P: bits 2:1, 8:5, 63 and 62:M are reserved (Table 4-8). */
static void test_pae_pdpte_reserved_bits(void **state)
{
	static const unsigned int reserved[] = { 1, 2, 5, 6, 7, 8, 46, 52, 62, 63 };
	struct guest_paging_mode mode = mode_pae();
	uint64_t pdpte;

	map64(ROOT_PAE, 3, 0x1000, 1, 0x5000 | T_URW);
	pdpte = get64(ROOT_PAE);
	/* Without R/W and U/S in the PDPTE, the PDE and PTE alone decide. */
	assert_true(xlate_is(&mode, 0x1000, USR_W, OK_AT(0x5000)));
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		put64(ROOT_PAE, pdpte | BIT(reserved[i]));
		if (!xlate_is(&mode, 0x1000, USR_R, PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_U))) {
			fail_msg("PDPTE bit %u", reserved[i]);
		}
	}
	/* PWT, PCD and the ignored bits 11:9 are not reserved. */
	put64(ROOT_PAE, pdpte | T_PWT | BIT(4) | BIT(9) | BIT(11));
	assert_true(xlate_is(&mode, 0x1000, SUP_R, OK_AT(0x5000)));
	/* A PDPTE without P: nothing else in it counts. */
	put64(ROOT_PAE, ~T_P);
	assert_true(xlate_is(&mode, 0x1000, SUP_W, PF(PF_ERR_W)));
	assert_int_equal(ram.reads, 1);
}

/** PAE PDEs and PTEs reserve 62:M, XD without NXE, 20:13 in a 2-MByte PDE. */
static void test_pae_entry_reserved_bits(void **state)
{
	struct guest_paging_mode mode = mode_pae();
	const uint32_t rsvd = PF_ERR_P | PF_ERR_RSVD;

	map64(ROOT_PAE, 3, 0x1000, 1, 0x5000 | T_URW | BIT(52));
	assert_true(xlate_is(&mode, 0x1000, SUP_R, PF(rsvd)));
	entry_change(ROOT_PAE, 3, 0x1000, 1, BIT(62), BIT(52));
	assert_true(xlate_is(&mode, 0x1000, SUP_R, PF(rsvd)));
	entry_change(ROOT_PAE, 3, 0x1000, 1, BIT(45), BIT(62));
	assert_true(xlate_is(&mode, 0x1000, SUP_R, OK_AT(BIT(45) | 0x5000)));
	entry_change(ROOT_PAE, 3, 0x1000, 2, BIT(46), 0);
	assert_true(xlate_is(&mode, 0x1000, SUP_X, PF(rsvd | PF_ERR_ID)));
	entry_change(ROOT_PAE, 3, 0x1000, 2, 0, BIT(46));
	/* XD: execute-disable with NXE, reserved without. */
	entry_change(ROOT_PAE, 3, 0x1000, 1, T_XD, 0);
	assert_true(xlate_is(&mode, 0x1000, SUP_R, OK_AT(BIT(45) | 0x5000)));
	assert_true(xlate_is(&mode, 0x1000, SUP_X, PF(PF_ERR_P | PF_ERR_ID)));
	mode.efer = 0;
	assert_true(xlate_is(&mode, 0x1000, SUP_R, PF(rsvd)));
	assert_true(xlate_is(&mode, 0x1000, SUP_X, PF(rsvd)));
	/* 2-MByte page: bits 20:13 reserved; bit 13 of a table PDE is address. */
	map64(ROOT_PAE, 3, 0x00600000, 2, 0x00600000 | T_URW | T_PS | BIT(13));
	assert_true(xlate_is(&mode, 0x00600000, SUP_R, PF(rsvd)));
	entry_change(ROOT_PAE, 3, 0x00600000, 2, BIT(20), BIT(13));
	assert_true(xlate_is(&mode, 0x00600000, SUP_R, PF(rsvd)));
}

/* ------------------------------------------------------------------------
 * 4-level and 5-level paging (SDM 4.5)
 * ------------------------------------------------------------------------ */

#define LIN_4K 0x00007fabcdef1abcULL
#define LIN_2M 0xffff800000601234ULL
#define LIN_1G 0x0000004012345678ULL

/** Maps LIN_4K, LIN_2M and LIN_1G in the 4-level tables at ROOT_LONG. */
static void map_three_sizes(void)
{
	map64(ROOT_LONG, 4, LIN_4K, 1, 0x234567000ULL | T_URW);
	map64(ROOT_LONG, 4, LIN_2M, 2, 0x345600000ULL | T_URW | T_PS | T_PAT);
	map64(ROOT_LONG, 4, LIN_1G, 3, 0x8040000000ULL | T_URW | T_PS | T_PAT);
}

/** 4-KByte, 2-MByte and 1-GByte pages, each entry read once, in order. */
static void test_4level_page_sizes(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	/* CR3 bits 11:0 (PCID, or PWT/PCD) do not locate the PML4. */
	mode.cr3 = ROOT_LONG | 0xfff;
	assert_true(xlate_is(&mode, LIN_4K, USR_W, OK_AT(0x234567abcULL)));
	assert_int_equal(ram.reads, 4);
	for (unsigned int level = 4; level >= 1; level--) {
		assert_read(4 - level, entry_at(ROOT_LONG, 4, LIN_4K, level), 8);
	}
	assert_true(xlate_is(&mode, LIN_2M, USR_X, OK_AT(0x345601234ULL)));
	assert_int_equal(ram.reads, 3);
	assert_true(xlate_is(&mode, LIN_1G, USR_R, OK_AT(0x8052345678ULL)));
	assert_int_equal(ram.reads, 2);
}

/** 5-level paging: the PML5 index is bits 56:48 (SDM 4.5.4). */
static void test_5level_translation(void **state)
{
	struct guest_paging_mode mode = mode_5level();
	const uint64_t high = 0xff12345678abc000ULL;

	map64(ROOT_LONG, 5, high, 1, 0x777000 | T_URW);
	map64(ROOT_LONG, 5, 0x0001000000000000ULL, 1, 0x888000 | T_URW);
	assert_true(xlate_is(&mode, high | 0x123, SUP_R, OK_AT(0x777123)));
	assert_int_equal(ram.reads, 5);
	assert_read(0, ROOT_LONG + E8(0x112), 8);
	assert_true(xlate_is(&mode, 0x0001000000000fffULL, SUP_R, OK_AT(0x888fff)));
	assert_read(0, ROOT_LONG + E8(1), 8);
	/* PML5 entry 0 is empty: not present. */
	assert_true(xlate_is(&mode, 0x0000800000000000ULL, SUP_R, PF(0)));
	/* PS in a PML5E is reserved. */
	entry_change(ROOT_LONG, 5, high, 5, T_PS, 0);
	assert_true(xlate_is(&mode, high, SUP_R, PF(PF_ERR_P | PF_ERR_RSVD)));
}

/** Canonical means bits 63:47 (63:56 with LA57) equal; else its own result. */
static void test_canonical_addresses(void **state)
{
	static const struct {
		uint64_t linear;
		bool la57;
		bool canonical;
	} cases[] = {
		{ 0x00007fffffffffffULL, false, true },
		{ 0x0000800000000000ULL, false, false },
		{ 0xffff7fffffffffffULL, false, false },
		{ 0xffff800000000000ULL, false, true },
		{ 0x8000000000000000ULL, false, false },
		{ 0xffffffffffffffffULL, false, true },
		{ 0x0000800000000000ULL, true, true },
		{ 0x00ffffffffffffffULL, true, true },
		{ 0x0100000000000000ULL, true, false },
		{ 0xfeffffffffffffffULL, true, false },
		{ 0xff00000000000000ULL, true, true },
		{ 0x7fffffffffffffffULL, true, false },
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct guest_paging_mode mode = cases[i].la57 ? mode_5level() : mode_4level();
		struct xlat want = cases[i].canonical ? PF(PF_ERR_U) : NONCANON;

		/* Nothing is mapped: a canonical address is simply not present. */
		if (!xlate_is(&mode, cases[i].linear, USR_R, want)) {
			fail_msg("case %zu", i);
		}
		assert_int_equal(ram.reads, cases[i].canonical ? 1 : 0);
	}
}

/** PS is reserved in a PML4E (Table 4-15): a RSVD fault, not a 512-GByte page. */
static void test_4level_ps_reserved_in_pml4e(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	entry_change(ROOT_LONG, 4, LIN_4K, 4, T_PS, 0);
	assert_true(xlate_is(&mode, LIN_4K, USR_X,
			     PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_U | PF_ERR_ID)));
	assert_int_equal(ram.reads, 1);
}

/** Bits 51:M are reserved at every level; 62:52 are ignored, PKE or not. */
static void test_4level_maxphyaddr_reserved_bits(void **state)
{
	static const unsigned int widths[] = { 36, 39, 46, 51 };
	struct guest_paging_mode mode = mode_4level();
	const struct xlat rsvd = PF(PF_ERR_P | PF_ERR_RSVD);

	map_three_sizes();
	for (size_t i = 0; i < ARRAY_SIZE(widths); i++) {
		unsigned int m = widths[i];

		mode.maxphyaddr = m;
		for (unsigned int level = 4; level >= 1; level--) {
			entry_change(ROOT_LONG, 4, LIN_4K, level, BIT(m), 0);
			if (!xlate_is(&mode, LIN_4K, SUP_R, rsvd)) {
				fail_msg("MAXPHYADDR %u level %u", m, level);
			}
			entry_change(ROOT_LONG, 4, LIN_4K, level, 0, BIT(m));
		}
		entry_change(ROOT_LONG, 4, LIN_4K, 1, BIT(51), 0);
		assert_true(xlate_is(&mode, LIN_4K, SUP_R, rsvd));
		entry_change(ROOT_LONG, 4, LIN_4K, 1, BIT(m - 1), BIT(51));
		assert_true(xlate_is(&mode, LIN_4K, SUP_R, OK_AT(BIT(m - 1) | 0x234567abcULL)));
		entry_change(ROOT_LONG, 4, LIN_4K, 1, 0, BIT(m - 1));
	}
	/* MAXPHYADDR 52 leaves nothing in 51:12 reserved. */
	mode.maxphyaddr = 52;
	entry_change(ROOT_LONG, 4, LIN_4K, 1, BIT(51), 0);
	assert_true(xlate_is(&mode, LIN_4K, SUP_R, OK_AT(BIT(51) | 0x234567abcULL)));
	/* Bits 62:52 (the protection key among them) are ignored. */
	mode.maxphyaddr = 0;
	mode.cr4 |= CR4_PKE;
	entry_change(ROOT_LONG, 4, LIN_4K, 1, T_IGNORED_HIGH, BIT(51));
	entry_change(ROOT_LONG, 4, LIN_4K, 4, T_IGNORED_HIGH, 0);
	assert_true(xlate_is(&mode, LIN_4K, USR_W, OK_AT(0x234567abcULL)));
}

/** Large pages reserve 29:13 (1 GByte) and 20:13 (2 MBytes) (Tables 4-16, 4-18). */
static void test_4level_large_page_reserved_bits(void **state)
{
	static const unsigned int bits_1g[] = { 13, 20, 21, 29 };
	static const unsigned int bits_2m[] = { 13, 16, 20 };
	struct guest_paging_mode mode = mode_4level();
	const struct xlat rsvd = PF(PF_ERR_P | PF_ERR_RSVD);

	map_three_sizes();
	for (size_t i = 0; i < ARRAY_SIZE(bits_1g); i++) {
		entry_change(ROOT_LONG, 4, LIN_1G, 3, BIT(bits_1g[i]), 0);
		if (!xlate_is(&mode, LIN_1G, SUP_R, rsvd)) {
			fail_msg("1-GByte page, bit %u", bits_1g[i]);
		}
		entry_change(ROOT_LONG, 4, LIN_1G, 3, 0, BIT(bits_1g[i]));
	}
	for (size_t i = 0; i < ARRAY_SIZE(bits_2m); i++) {
		entry_change(ROOT_LONG, 4, LIN_2M, 2, BIT(bits_2m[i]), 0);
		if (!xlate_is(&mode, LIN_2M, SUP_R, rsvd)) {
			fail_msg("2-MByte page, bit %u", bits_2m[i]);
		}
		entry_change(ROOT_LONG, 4, LIN_2M, 2, 0, BIT(bits_2m[i]));
	}
	/* Bit 31 of a 1-GByte PDPTE is an address bit. */
	entry_change(ROOT_LONG, 4, LIN_1G, 3, BIT(31), 0);
	assert_true(xlate_is(&mode, LIN_1G, SUP_R, OK_AT(0x80d2345678ULL)));
}

/** Without NXE, XD is reserved at every level; I/D then comes from SMEP only. */
static void test_4level_xd_reserved_without_nxe(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	const uint32_t rsvd = PF_ERR_P | PF_ERR_RSVD;

	mode.efer &= ~EFER_NXE;
	map_three_sizes();
	for (unsigned int level = 4; level >= 1; level--) {
		mode.cr4 &= ~CR4_SMEP;
		entry_change(ROOT_LONG, 4, LIN_4K, level, T_XD, 0);
		assert_true(xlate_is(&mode, LIN_4K, SUP_R, PF(rsvd)));
		assert_true(xlate_is(&mode, LIN_4K, USR_X, PF(rsvd | PF_ERR_U)));
		mode.cr4 |= CR4_SMEP;
		if (!xlate_is(&mode, LIN_4K, USR_X, PF(rsvd | PF_ERR_U | PF_ERR_ID))) {
			fail_msg("XD at level %u", level);
		}
		entry_change(ROOT_LONG, 4, LIN_4K, level, 0, T_XD);
	}
	assert_true(xlate_is(&mode, LIN_4K, USR_X, OK_AT(0x234567abcULL)));
}

/* ------------------------------------------------------------------------
 * Faults and access rights (SDM 4.6, 4.7)
 * ------------------------------------------------------------------------ */

/** An access and the error-code bits it contributes (with NXE, no SMEP). */
struct access_code {
	unsigned int access;
	uint32_t code;
};

static const struct access_code access_codes[] = {
	{ SUP_R, 0 },
	{ SUP_W, PF_ERR_W },
	{ SUP_X, PF_ERR_ID },
	{ USR_R, PF_ERR_U },
	{ USR_W, PF_ERR_W | PF_ERR_U },
	{ USR_X, PF_ERR_ID | PF_ERR_U },
	{ SUP_R | ACCESS_IMPLICIT, 0 },
	{ SUP_W | ACCESS_AC, PF_ERR_W },
	{ USR_R | ACCESS_AC, PF_ERR_U },
};

/** A missing entry at any level: P = 0, the rest from the access alone. */
static void test_not_present_at_every_level(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	for (unsigned int level = 4; level >= 1; level--) {
		uint64_t at = entry_at(ROOT_LONG, 4, LIN_4K, level);
		uint64_t saved = get64(at);

		/* Reserved bits of an entry without P are not checked (SDM 4.7). */
		put64(at, (saved & ~T_P) | T_PS | BIT(51) | T_XD);
		for (size_t i = 0; i < ARRAY_SIZE(access_codes); i++) {
			if (!xlate_is(&mode, LIN_4K, access_codes[i].access,
				      PF(access_codes[i].code))) {
				fail_msg("level %u, access %zu", level, i);
			}
			assert_int_equal(ram.reads, 5 - level);
		}
		put64(at, saved);
	}
}

/** U/S = 0 at any one level makes a supervisor page. */
static void test_us_at_every_level(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	for (unsigned int level = 4; level >= 1; level--) {
		entry_change(ROOT_LONG, 4, LIN_4K, level, 0, T_US);
		assert_true(xlate_is(&mode, LIN_4K, USR_R, PF(PF_ERR_P | PF_ERR_U)));
		assert_true(xlate_is(&mode, LIN_4K, USR_W,
				     PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
		assert_true(xlate_is(&mode, LIN_4K, USR_X,
				     PF(PF_ERR_P | PF_ERR_U | PF_ERR_ID)));
		assert_true(xlate_is(&mode, LIN_4K, SUP_R, OK_AT(0x234567abcULL)));
		assert_true(xlate_is(&mode, LIN_4K, SUP_W, OK_AT(0x234567abcULL)));
		if (!xlate_is(&mode, LIN_4K, SUP_X, OK_AT(0x234567abcULL))) {
			fail_msg("U/S = 0 at level %u", level);
		}
		entry_change(ROOT_LONG, 4, LIN_4K, level, T_US, 0);
	}
}

/** R/W = 0 at any one level: no user writes, supervisor writes only without WP. */
static void test_rw_and_wp_at_every_level(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	for (unsigned int level = 4; level >= 1; level--) {
		entry_change(ROOT_LONG, 4, LIN_4K, level, 0, T_RW);
		mode.cr0 |= CR0_WP;
		assert_true(xlate_is(&mode, LIN_4K, USR_R, OK_AT(0x234567abcULL)));
		assert_true(xlate_is(&mode, LIN_4K, USR_W,
				     PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
		assert_true(xlate_is(&mode, LIN_4K, SUP_W, PF(PF_ERR_P | PF_ERR_W)));
		mode.cr0 &= ~CR0_WP;
		assert_true(xlate_is(&mode, LIN_4K, USR_W,
				     PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
		if (!xlate_is(&mode, LIN_4K, SUP_W, OK_AT(0x234567abcULL))) {
			fail_msg("R/W = 0 at level %u", level);
		}
		entry_change(ROOT_LONG, 4, LIN_4K, level, T_RW, 0);
	}
}

/** XD = 1 at any one level forbids fetches, and only fetches. */
static void test_xd_at_every_level(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	for (unsigned int level = 4; level >= 1; level--) {
		entry_change(ROOT_LONG, 4, LIN_4K, level, T_XD, 0);
		assert_true(xlate_is(&mode, LIN_4K, SUP_X, PF(PF_ERR_P | PF_ERR_ID)));
		assert_true(xlate_is(&mode, LIN_4K, USR_X,
				     PF(PF_ERR_P | PF_ERR_U | PF_ERR_ID)));
		assert_true(xlate_is(&mode, LIN_4K, USR_W, OK_AT(0x234567abcULL)));
		if (!xlate_is(&mode, LIN_4K, SUP_R, OK_AT(0x234567abcULL))) {
			fail_msg("XD at level %u", level);
		}
		entry_change(ROOT_LONG, 4, LIN_4K, level, 0, T_XD);
	}
}

/** SMEP: no supervisor fetch from a user page, whatever NXE; I/D set. */
static void test_smep(void **state)
{
	struct guest_paging_mode mode = mode_4level();

	map_three_sizes();
	assert_true(xlate_is(&mode, LIN_4K, SUP_X, OK_AT(0x234567abcULL)));
	mode.cr4 |= CR4_SMEP;
	assert_true(xlate_is(&mode, LIN_4K, SUP_X, PF(PF_ERR_P | PF_ERR_ID)));
	assert_true(xlate_is(&mode, LIN_4K, USR_X, OK_AT(0x234567abcULL)));
	assert_true(xlate_is(&mode, LIN_4K, SUP_R, OK_AT(0x234567abcULL)));
	assert_true(xlate_is(&mode, LIN_4K, SUP_W, OK_AT(0x234567abcULL)));
	mode.efer &= ~EFER_NXE;
	assert_true(xlate_is(&mode, LIN_4K, SUP_X, PF(PF_ERR_P | PF_ERR_ID)));
	/* A supervisor page (U/S = 0 in the PDE only) may be fetched from. */
	entry_change(ROOT_LONG, 4, LIN_4K, 2, 0, T_US);
	assert_true(xlate_is(&mode, LIN_4K, SUP_X, OK_AT(0x234567abcULL)));
	assert_true(xlate_is(&mode, LIN_4K, USR_X, PF(PF_ERR_P | PF_ERR_U | PF_ERR_ID)));
}

/** SMAP reads: supervisor reads of user pages need AC and an explicit access. */
static void test_smap_reads(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	const struct xlat ok = OK_AT(0x234567abcULL);

	map_three_sizes();
	assert_true(xlate_is(&mode, LIN_4K, SUP_R | ACCESS_IMPLICIT, ok));
	mode.cr4 |= CR4_SMAP;
	assert_true(xlate_is(&mode, LIN_4K, SUP_R, PF(PF_ERR_P)));
	assert_true(xlate_is(&mode, LIN_4K, SUP_R | ACCESS_AC, ok));
	assert_true(xlate_is(&mode, LIN_4K, SUP_R | ACCESS_IMPLICIT, PF(PF_ERR_P)));
	assert_true(xlate_is(&mode, LIN_4K, SUP_R | ACCESS_IMPLICIT | ACCESS_AC,
			     PF(PF_ERR_P)));
	/* User accesses and fetches are not SMAP's business. */
	assert_true(xlate_is(&mode, LIN_4K, USR_R, ok));
	assert_true(xlate_is(&mode, LIN_4K, SUP_X, ok));
	/* Nor are supervisor pages. */
	entry_change(ROOT_LONG, 4, LIN_4K, 3, 0, T_US);
	assert_true(xlate_is(&mode, LIN_4K, SUP_R | ACCESS_IMPLICIT, ok));
}

/** SMAP writes, with CR0.WP: SMAP refuses even where WP = 0 would allow. */
static void test_smap_writes_and_wp(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	const struct xlat ok = OK_AT(0x234567abcULL);
	const struct xlat refused = PF(PF_ERR_P | PF_ERR_W);

	map_three_sizes();
	mode.cr4 |= CR4_SMAP;
	assert_true(xlate_is(&mode, LIN_4K, SUP_W, refused));
	assert_true(xlate_is(&mode, LIN_4K, SUP_W | ACCESS_AC, ok));
	assert_true(xlate_is(&mode, LIN_4K, SUP_W | ACCESS_AC | ACCESS_IMPLICIT, refused));
	/* A read-only user page: WP decides once SMAP lets the access through. */
	entry_change(ROOT_LONG, 4, LIN_4K, 1, 0, T_RW);
	assert_true(xlate_is(&mode, LIN_4K, SUP_W | ACCESS_AC, refused));
	mode.cr0 &= ~CR0_WP;
	assert_true(xlate_is(&mode, LIN_4K, SUP_W | ACCESS_AC, ok));
	assert_true(xlate_is(&mode, LIN_4K, SUP_W, refused));
	assert_true(xlate_is(&mode, LIN_4K, USR_W, PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
}

/** Rights are judged at the page: a missing or reserved lower entry wins. */
static void test_fault_precedence(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint64_t pte_at;

	map_three_sizes();
	pte_at = entry_at(ROOT_LONG, 4, LIN_4K, 1);
	entry_change(ROOT_LONG, 4, LIN_4K, 4, T_XD, T_US);
	entry_change(ROOT_LONG, 4, LIN_4K, 3, 0, T_RW);
	put64(pte_at, 0);
	assert_true(xlate_is(&mode, LIN_4K, USR_W, PF(PF_ERR_W | PF_ERR_U)));
	assert_true(xlate_is(&mode, LIN_4K, USR_X, PF(PF_ERR_U | PF_ERR_ID)));
	put64(pte_at, 0x234567000ULL | T_URW | BIT(50));
	assert_true(xlate_is(&mode, LIN_4K, USR_W,
			     PF(PF_ERR_P | PF_ERR_RSVD | PF_ERR_W | PF_ERR_U)));
	put64(pte_at, 0x234567000ULL | T_URW);
	assert_true(xlate_is(&mode, LIN_4K, USR_W, PF(PF_ERR_P | PF_ERR_W | PF_ERR_U)));
	/* A reserved bit stops the walk before the next table is read. */
	entry_change(ROOT_LONG, 4, LIN_4K, 3, BIT(47), 0);
	assert_true(xlate_is(&mode, LIN_4K, SUP_R, PF(PF_ERR_P | PF_ERR_RSVD)));
	assert_int_equal(ram.reads, 2);
}

/** A table outside RAM: WALK_BAD_PHYSICAL naming the entry's address. */
static void test_tables_outside_ram(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	struct guest_paging_mode pae = mode_pae();
	struct guest_paging_mode legacy = mode_32bit();
	uint64_t pde_at;

	map_three_sizes();
	pde_at = entry_at(ROOT_LONG, 4, LIN_4K, 2);
	put64(pde_at, (get64(pde_at) & ~T_ADDR) | NOT_RAM);
	assert_true(xlate_is(&mode, LIN_4K, SUP_R,
			     BAD_AT(NOT_RAM + E8(index_at(LIN_4K, 1)))));
	assert_int_equal(ram.reads, 4);
	mode.cr3 = NOT_RAM;
	assert_true(xlate_is(&mode, LIN_2M, USR_W, BAD_AT(NOT_RAM + E8(256))));
	pae.cr3 = NOT_RAM | 0x40;
	assert_true(xlate_is(&pae, 0xc0000000, SUP_R, BAD_AT(NOT_RAM + 0x40 + E8(3))));
	legacy.cr3 = NOT_RAM;
	assert_true(xlate_is(&legacy, 0xc0000000, SUP_R, BAD_AT(NOT_RAM + E4(0x300))));
}

/* ------------------------------------------------------------------------
 * guest_read_linear
 * ------------------------------------------------------------------------ */

/** The outcome of one guest_read_linear(). */
struct linear_read {
	enum guest_walk_result result;
	uint64_t gpa;
	uint32_t error;
	uint64_t fault_linear;
};

/** Reads size bytes at linear with guest_read_linear, outputs poisoned first. */
static struct linear_read read_linear(const struct guest_paging_mode *mode,
				      uint64_t linear, void *buf,
				      unsigned int size, unsigned int access)
{
	struct linear_read got = { .error = 0xa5a5a5a5, .fault_linear = 0x5a5a };
	gpa_t gpa = gpa_init(0x5a5a5a5a);

	ram.reads = 0;
	got.result = guest_read_linear(mode, linear, buf, size, access, fake_read,
				       &ram, &gpa, &got.error, &got.fault_linear);
	got.gpa = gpa_addr(gpa);
	return got;
}

/** Fills fake RAM [gpa, gpa + size) with bytes seed, seed + 1, ... */
static void fill_pattern(uint64_t gpa, uint64_t size, uint8_t seed)
{
	for (uint64_t i = 0; i < size; i++) {
		uint8_t byte = (uint8_t)(seed + i);

		ram_write(gpa + i, &byte, 1);
	}
}

/** Asserts buf holds size bytes of the pattern starting at seed. */
static void assert_pattern(const uint8_t *buf, uint64_t size, uint8_t seed)
{
	for (uint64_t i = 0; i < size; i++) {
		assert_int_equal(buf[i], (uint8_t)(seed + i));
	}
}

/** Within one page: one walk, one data read, the first byte's address. */
static void test_read_linear_within_page(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint8_t buf[16];
	struct linear_read got;

	map64(ROOT_LONG, 4, 0x400000, 1, 0x50000 | T_URW);
	fill_pattern(0x50100, sizeof(buf), 0x10);
	got = read_linear(&mode, 0x400100, buf, sizeof(buf), USR_X);
	assert_int_equal(got.result, WALK_OK);
	assert_int_equal(got.gpa, 0x50100);
	assert_int_equal(got.error, 0);
	assert_pattern(buf, sizeof(buf), 0x10);
	assert_int_equal(ram.reads, 5);
	assert_read(4, 0x50100, sizeof(buf));
}

/** Across pages: each linear page translated on its own, in order. */
static void test_read_linear_across_pages(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	static uint8_t big[0x2010];
	uint8_t buf[16];
	struct linear_read got;

	/* Physically in the opposite order, and a third page elsewhere. */
	map64(ROOT_LONG, 4, 0x400000, 1, 0x51000 | T_URW);
	map64(ROOT_LONG, 4, 0x401000, 1, 0x50000 | T_URW);
	map64(ROOT_LONG, 4, 0x402000, 1, 0x90000 | T_URW);
	fill_pattern(0x51ff0, 0x10, 0x40);
	fill_pattern(0x50000, PAGE_SIZE, 0x50);
	fill_pattern(0x90000, PAGE_SIZE, 0x50);
	got = read_linear(&mode, 0x400ff8, buf, sizeof(buf), SUP_R);
	assert_int_equal(got.result, WALK_OK);
	assert_int_equal(got.gpa, 0x51ff8);
	assert_pattern(buf, 8, 0x48);
	assert_pattern(buf + 8, 8, 0x50);
	assert_int_equal(ram.reads, 10);
	got = read_linear(&mode, 0x400ff0, big, sizeof(big), SUP_R);
	assert_int_equal(got.result, WALK_OK);
	assert_int_equal(got.gpa, 0x51ff0);
	assert_pattern(big, 0x10, 0x40);
	assert_pattern(big + 0x10, PAGE_SIZE, 0x50);
	assert_pattern(big + 0x10 + PAGE_SIZE, PAGE_SIZE, 0x50);
}

/** A fault on a later page reports that page's start as CR2. */
static void test_read_linear_fault_on_later_page(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint8_t buf[16];
	struct linear_read got;

	map64(ROOT_LONG, 4, 0x400000, 1, 0x51000 | T_URW);
	map64(ROOT_LONG, 4, 0x402000, 1, 0x52000 | T_P | T_US);
	fill_pattern(0x51ff8, 8, 0x70);
	memset(buf, 0, sizeof(buf));
	got = read_linear(&mode, 0x400ff8, buf, sizeof(buf), USR_X);
	assert_int_equal(got.result, WALK_PAGE_FAULT);
	assert_int_equal(got.error, PF_ERR_U | PF_ERR_ID);
	assert_int_equal(got.fault_linear, 0x401000);
	assert_pattern(buf, 8, 0x70);
	/* A fault on the first page reports linear itself. */
	got = read_linear(&mode, 0x401ffc, buf, 8, SUP_R);
	assert_int_equal(got.result, WALK_PAGE_FAULT);
	assert_int_equal(got.error, 0);
	assert_int_equal(got.fault_linear, 0x401ffc);
	/* The access kind goes to every piece: a write to a read-only page. */
	got = read_linear(&mode, 0x402ff0, buf, 8, USR_W);
	assert_int_equal(got.result, WALK_PAGE_FAULT);
	assert_int_equal(got.error, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	assert_int_equal(got.fault_linear, 0x402ff0);
}

/** Data outside RAM (MMIO) or a table outside RAM: WALK_BAD_PHYSICAL. */
static void test_read_linear_outside_ram(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint8_t buf[8];
	struct linear_read got;

	map64(ROOT_LONG, 4, 0x400000, 1, NOT_RAM | T_URW);
	got = read_linear(&mode, 0x400010, buf, sizeof(buf), SUP_R);
	assert_int_equal(got.result, WALK_BAD_PHYSICAL);
	assert_int_equal(got.gpa, NOT_RAM + 0x10);
	assert_int_equal(got.fault_linear, 0x400010);
	mode.cr3 = NOT_RAM;
	got = read_linear(&mode, 0x400010, buf, sizeof(buf), SUP_R);
	assert_int_equal(got.result, WALK_BAD_PHYSICAL);
	assert_int_equal(got.gpa, NOT_RAM);
	assert_int_equal(got.fault_linear, 0x400010);
}

/** Crossing the top of the lower canonical half: #GP for the second piece. */
static void test_read_linear_into_non_canonical(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint8_t buf[8];
	struct linear_read got;

	map64(ROOT_LONG, 4, 0x00007ffffffff000ULL, 1, 0x53000 | T_URW);
	fill_pattern(0x53ffc, 4, 0x33);
	got = read_linear(&mode, 0x00007ffffffffffcULL, buf, sizeof(buf), SUP_R);
	assert_int_equal(got.result, WALK_NON_CANONICAL);
	assert_int_equal(got.fault_linear, 0x0000800000000000ULL);
	assert_int_equal(got.error, 0);
	assert_pattern(buf, 4, 0x33);
}

/** Without IA-32e paging a read wraps from 0xffffffff to 0. */
static void test_read_linear_wraps_at_4g(void **state)
{
	struct guest_paging_mode off = { .cr0 = CR0_PE };
	struct guest_paging_mode legacy = mode_32bit();
	uint8_t buf[4];
	struct linear_read got;

	fill_pattern(0xfffffffeULL, 2, 0x61);
	fill_pattern(0, 2, 0x63);
	got = read_linear(&off, 0xfffffffeULL, buf, sizeof(buf), SUP_R);
	assert_int_equal(got.result, WALK_OK);
	assert_int_equal(got.gpa, 0xfffffffeULL);
	assert_pattern(buf, sizeof(buf), 0x61);
	map32(0xfffff000U, false, 0x7000U | (uint32_t)T_URW);
	map32(0, false, 0x8000U | (uint32_t)T_URW);
	fill_pattern(0x7ffe, 2, 0x71);
	fill_pattern(0x8000, 2, 0x73);
	got = read_linear(&legacy, 0xfffffffeULL, buf, sizeof(buf), USR_R);
	assert_int_equal(got.result, WALK_OK);
	assert_int_equal(got.gpa, 0x7ffe);
	assert_pattern(buf, sizeof(buf), 0x71);
	/* A fault after the wrap reports the wrapped address. */
	put32(ROOT_32, 0);
	got = read_linear(&legacy, 0xfffffffeULL, buf, sizeof(buf), USR_R);
	assert_int_equal(got.result, WALK_PAGE_FAULT);
	assert_int_equal(got.fault_linear, 0);
	assert_int_equal(got.error, PF_ERR_U);
}

/** Inconsistent arguments are bugs in Tessera: CHECK failures. */
static void test_bad_arguments_fail_checks(void **state)
{
	struct guest_paging_mode mode = mode_4level();
	uint8_t buf[1];

	expect_assert_failure(xlate(&mode, 0, USR_R | ACCESS_IMPLICIT));
	expect_assert_failure(xlate(&mode, 0, ACCESS_KIND_MASK));
	expect_assert_failure(xlate(&mode, 0, SUP_R | (1U << 7)));
	expect_assert_failure(read_linear(&mode, 0, buf, 0, SUP_R));
	mode.maxphyaddr = 53;
	expect_assert_failure(xlate(&mode, 0, SUP_R));
	mode.maxphyaddr = 31;
	expect_assert_failure(xlate(&mode, 0, SUP_R));
}

/* ------------------------------------------------------------------------
 * Randomized: the walker against a reference walker
 * ------------------------------------------------------------------------ */

#define RANDOM_SEEDS      16
#define RANDOM_QUERIES    4000
#define RANDOM_MAX_TABLES 400

/* The indices random tables fill and random addresses mostly use. */
static const unsigned int random_slots[] = { 0, 1, 255, 256, 511 };

/** A random hierarchy, its generator and the parameters fixed for it. */
struct random_tree {
	uint64_t rng;
	unsigned int top; /* 4 or 5 */
	unsigned int maxphyaddr;
	uint64_t root;
	unsigned int table_count;
	uint64_t tables[RANDOM_MAX_TABLES];
};

/** splitmix64: the next number of a sequence fixed by its seed. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/** True with a probability of percent in a hundred. */
static bool rng_chance(uint64_t *state, unsigned int percent)
{
	return rng_next(state) % 100 < percent;
}

/** Bits maxphyaddr-1:low, the address bits of an entry. */
static uint64_t address_bits(unsigned int maxphyaddr, unsigned int low)
{
	return ((1ULL << maxphyaddr) - 1) & ~((1ULL << low) - 1);
}

/** Random flags: P mostly, R/W, U/S, XD, the ignored bits at random. */
static uint64_t random_flags(struct random_tree *t)
{
	uint64_t e = rng_next(&t->rng) & (T_PWT | BIT(4) | T_A | T_D | T_G | 0xe00);

	e |= rng_chance(&t->rng, 95) ? T_P : 0;
	e |= rng_chance(&t->rng, 85) ? T_US : 0;
	e |= rng_chance(&t->rng, 80) ? T_RW : 0;
	e |= rng_chance(&t->rng, 12) ? T_XD : 0;
	if (rng_chance(&t->rng, 20)) {
		e |= rng_next(&t->rng) & T_IGNORED_HIGH;
	}
	if (t->maxphyaddr < 52 && rng_chance(&t->rng, 3)) {
		e |= BIT(t->maxphyaddr + rng_next(&t->rng) % (52 - t->maxphyaddr));
	}
	return e;
}

/** A random page frame for level, now and then with a reserved low bit. */
static uint64_t random_frame(struct random_tree *t, unsigned int level)
{
	unsigned int shift = 12 + 9 * (level - 1);
	uint64_t frame = rng_next(&t->rng) & address_bits(t->maxphyaddr, shift);

	if (level > 1 && rng_chance(&t->rng, 30)) {
		frame |= T_PAT;
	}
	if (level > 1 && rng_chance(&t->rng, 5)) {
		frame |= BIT(13 + rng_next(&t->rng) % (shift - 13));
	}
	return frame;
}

static uint64_t random_table(struct random_tree *t, unsigned int level);

/** Where a random table entry at level points: a new, a shared or no table. */
static uint64_t random_next_table(struct random_tree *t, unsigned int level)
{
	uint64_t pick = rng_next(&t->rng) % 100;

	if (pick < 5 || t->table_count == RANDOM_MAX_TABLES) {
		return NOT_RAM;
	}
	if (pick < 12) {
		return t->tables[rng_next(&t->rng) % t->table_count];
	}
	return random_table(t, level - 1);
}

/** A random entry at level: a page (PS at levels 3 and 2) or a table. */
static uint64_t random_entry(struct random_tree *t, unsigned int level)
{
	uint64_t e = random_flags(t);

	if (level == 1) {
		return e | random_frame(t, level);
	}
	if (level <= 3 && rng_chance(&t->rng, 35)) {
		return e | T_PS | random_frame(t, level);
	}
	if (level >= 4 && rng_chance(&t->rng, 3)) {
		e |= T_PS; /* reserved there */
	}
	return e | random_next_table(t, level);
}

/** A new table for level with random entries in some of random_slots. */
static uint64_t random_table(struct random_tree *t, unsigned int level)
{
	uint64_t table = new_table();

	t->tables[t->table_count++] = table;
	for (size_t i = 0; i < ARRAY_SIZE(random_slots); i++) {
		if (rng_chance(&t->rng, 90)) {
			put64(table + E8(random_slots[i]), random_entry(t, level));
		}
	}
	return table;
}

/** A random linear address, mostly through random_slots, mostly canonical. */
static uint64_t random_linear(struct random_tree *t)
{
	unsigned int bits = t->top == 5 ? 57 : 48;
	uint64_t linear = rng_next(&t->rng) & 0xfff;

	for (unsigned int level = t->top; level >= 1; level--) {
		uint64_t index = rng_chance(&t->rng, 95) ?
			random_slots[rng_next(&t->rng) % ARRAY_SIZE(random_slots)] :
			rng_next(&t->rng) % 512;

		linear |= index << (12 + 9 * (level - 1));
	}
	if ((linear >> (bits - 1)) & 1) {
		linear |= ~0ULL << bits;
	}
	if (rng_chance(&t->rng, 4)) {
		linear ^= BIT(bits + rng_next(&t->rng) % (64 - bits));
	}
	return linear;
}

/** A random access: kind, user or (implicit) supervisor, AC. */
static unsigned int random_access(struct random_tree *t)
{
	unsigned int access = (unsigned int)(rng_next(&t->rng) % 3);

	if (rng_chance(&t->rng, 50)) {
		access |= ACCESS_USER;
	} else if (rng_chance(&t->rng, 25)) {
		access |= ACCESS_IMPLICIT;
	}
	if (rng_chance(&t->rng, 50)) {
		access |= ACCESS_AC;
	}
	return access;
}

/** The tree's mode with WP, SMEP, SMAP and NXE at random, CR3 with a PCID. */
static struct guest_paging_mode random_mode(struct random_tree *t)
{
	struct guest_paging_mode mode = t->top == 5 ? mode_5level() : mode_4level();
	uint64_t r = rng_next(&t->rng);

	mode.maxphyaddr = t->maxphyaddr;
	mode.cr3 = t->root | (r & 0xfff);
	mode.cr0 ^= (r & BIT(12)) != 0 ? CR0_WP : 0;
	mode.cr4 |= (r & BIT(13)) != 0 ? CR4_SMEP : 0;
	mode.cr4 |= (r & BIT(14)) != 0 ? CR4_SMAP : 0;
	mode.efer ^= (r & BIT(15)) != 0 ? EFER_NXE : 0;
	return mode;
}

/** One question to the reference walker. */
struct ref_query {
	const struct guest_paging_mode *mode;
	unsigned int maxphyaddr;
	unsigned int access;
};

/** What the entries on the way said, as reasons to refuse. */
struct ref_path {
	bool supervisor_somewhere;
	bool read_only_somewhere;
	bool no_execute_somewhere;
};

/** The reference's reserved bits at level (SDM Tables 4-14 to 4-20). */
static uint64_t ref_reserved(const struct ref_query *q, unsigned int level,
			     bool page)
{
	uint64_t reserved = 0;
	unsigned int low_top = 0;

	for (unsigned int b = q->maxphyaddr; b < 52; b++) {
		reserved |= 1ULL << b;
	}
	if ((q->mode->efer & EFER_NXE) == 0) {
		reserved |= 1ULL << 63;
	}
	switch (level) {
	case 5:
	case 4:
		reserved |= 1ULL << 7;
		break;
	case 3:
		low_top = page ? 29 : 0;
		break;
	case 2:
		low_top = page ? 20 : 0;
		break;
	default:
		break;
	}
	for (unsigned int b = 13; b <= low_top; b++) {
		reserved |= 1ULL << b;
	}
	return reserved;
}

/** The reference's error code: the cause and what the access was. */
static uint32_t ref_error(const struct ref_query *q, uint32_t cause)
{
	unsigned int kind = q->access & ACCESS_KIND_MASK;
	bool fetch_bit = kind == ACCESS_FETCH &&
			 ((q->mode->cr4 & CR4_SMEP) != 0 || (q->mode->efer & EFER_NXE) != 0);

	return cause | (kind == ACCESS_WRITE ? 2U : 0U) |
	       ((q->access & ACCESS_USER) != 0 ? 4U : 0U) | (fetch_bit ? 16U : 0U);
}

/** Whether the reference refuses the access to a page reached via path. */
static bool ref_refused(const struct ref_query *q, const struct ref_path *path)
{
	bool user_page = !path->supervisor_somewhere;
	bool user_access = (q->access & ACCESS_USER) != 0;
	bool smap_on = (q->mode->cr4 & CR4_SMAP) != 0 &&
		       ((q->access & ACCESS_AC) == 0 || (q->access & ACCESS_IMPLICIT) != 0);

	switch (q->access & ACCESS_KIND_MASK) {
	case ACCESS_FETCH:
		if (path->no_execute_somewhere) {
			return true;
		}
		return user_access ? !user_page :
				     user_page && (q->mode->cr4 & CR4_SMEP) != 0;
	case ACCESS_WRITE:
		if (user_access) {
			return !user_page || path->read_only_somewhere;
		}
		if (user_page && smap_on) {
			return true;
		}
		return path->read_only_somewhere && (q->mode->cr0 & CR0_WP) != 0;
	default:
		return user_access ? !user_page : user_page && smap_on;
	}
}

/** The reference walk, from the table at level down: one call per level. */
static struct xlat ref_walk(const struct ref_query *q, unsigned int level,
			    uint64_t table, uint64_t linear, struct ref_path path)
{
	uint64_t where = table + E8(index_at(linear, level));
	uint64_t entry;
	uint64_t size;
	bool page;

	if (!ram_copy(where, &entry, sizeof(entry))) {
		return BAD_AT(where);
	}
	if ((entry & T_P) == 0) {
		return PF(ref_error(q, 0));
	}
	page = level <= 1 || ((level == 2 || level == 3) && (entry & T_PS) != 0);
	if ((entry & ref_reserved(q, level, page)) != 0) {
		return PF(ref_error(q, PF_ERR_P | PF_ERR_RSVD));
	}
	path.supervisor_somewhere |= (entry & T_US) == 0;
	path.read_only_somewhere |= (entry & T_RW) == 0;
	path.no_execute_somewhere |= (entry & T_XD) != 0;
	if (!page) {
		return ref_walk(q, level - 1, entry & address_bits(q->maxphyaddr, 12),
				linear, path);
	}
	if (ref_refused(q, &path)) {
		return PF(ref_error(q, PF_ERR_P));
	}
	size = 1ULL << (12 + 9 * (level - 1));
	return OK_AT((entry & address_bits(q->maxphyaddr, 12) & ~(size - 1)) |
		     (linear & (size - 1)));
}

/** The reference translation under 4- or 5-level paging (top). */
static struct xlat ref_translate(const struct guest_paging_mode *mode,
				 unsigned int top, uint64_t linear,
				 unsigned int access)
{
	unsigned int unused_bits = top == 5 ? 64 - 57 : 64 - 48;
	int64_t extended = (int64_t)(linear << unused_bits) >> unused_bits;
	struct ref_query q = { mode, mode->maxphyaddr, access };

	if ((uint64_t)extended != linear) {
		return NONCANON;
	}
	return ref_walk(&q, top, mode->cr3 & address_bits(q.maxphyaddr, 12),
			linear, (struct ref_path){ 0 });
}

/** Outcome counts of the randomized test, to show every kind was reached. */
struct random_counts {
	unsigned int ok;
	unsigned int not_present;
	unsigned int reserved;
	unsigned int refused;
	unsigned int bad_physical;
	unsigned int non_canonical;
};

/** Counts one reference outcome. */
static void count_outcome(struct random_counts *counts, struct xlat want)
{
	if (want.result == WALK_OK) {
		counts->ok++;
	} else if (want.result == WALK_BAD_PHYSICAL) {
		counts->bad_physical++;
	} else if (want.result == WALK_NON_CANONICAL) {
		counts->non_canonical++;
	} else if ((want.error & PF_ERR_RSVD) != 0) {
		counts->reserved++;
	} else if ((want.error & PF_ERR_P) != 0) {
		counts->refused++;
	} else {
		counts->not_present++;
	}
}

/** Random 4- and 5-level tables: the walker agrees with the reference. */
static void test_random_tables_against_reference(void **state)
{
	static const unsigned int widths[] = { 36, 39, 46, 52 };
	static struct random_tree tree;
	struct random_counts counts = { 0 };

	for (unsigned int seed = 1; seed <= RANDOM_SEEDS; seed++) {
		setup(NULL);
		tree = (struct random_tree){
			.rng = seed * 0x51ed2701ULL, .top = seed % 2 == 0 ? 4 : 5,
			.maxphyaddr = widths[seed % ARRAY_SIZE(widths)],
		};
		tree.root = random_table(&tree, tree.top);
		for (unsigned int i = 0; i < RANDOM_QUERIES; i++) {
			struct guest_paging_mode mode = random_mode(&tree);
			uint64_t linear = random_linear(&tree);
			unsigned int access = random_access(&tree);
			struct xlat want = ref_translate(&mode, tree.top, linear, access);

			if (!xlate_is(&mode, linear, access, want)) {
				fail_msg("seed %u query %u", seed, i);
			}
			count_outcome(&counts, want);
		}
	}
	print_message("randomized: %u translated, %u not present, %u reserved, "
		      "%u refused, %u outside RAM, %u non-canonical\n",
		      counts.ok, counts.not_present, counts.reserved,
		      counts.refused, counts.bad_physical, counts.non_canonical);
	assert_true(counts.ok > 1000 && counts.not_present > 500);
	assert_true(counts.reserved > 500 && counts.refused > 500);
	assert_true(counts.bad_physical > 100 && counts.non_canonical > 100);
}

#define TEST(f) cmocka_unit_test_setup(f, setup)

/** Runs the guest paging tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_paging_off_is_identity_and_wraps),
		TEST(test_32bit_4k_page),
		TEST(test_32bit_ps_ignored_without_pse),
		TEST(test_32bit_4m_page_pse36),
		TEST(test_32bit_4m_page_bit21_reserved),
		TEST(test_32bit_no_xd_and_id_only_with_smep),
		TEST(test_32bit_access_rights),
		TEST(test_pae_4k_and_2m_pages),
		TEST(test_pae_pdpte_reserved_bits),
		TEST(test_pae_entry_reserved_bits),
		TEST(test_4level_page_sizes),
		TEST(test_5level_translation),
		TEST(test_canonical_addresses),
		TEST(test_4level_ps_reserved_in_pml4e),
		TEST(test_4level_maxphyaddr_reserved_bits),
		TEST(test_4level_large_page_reserved_bits),
		TEST(test_4level_xd_reserved_without_nxe),
		TEST(test_not_present_at_every_level),
		TEST(test_us_at_every_level),
		TEST(test_rw_and_wp_at_every_level),
		TEST(test_xd_at_every_level),
		TEST(test_smep),
		TEST(test_smap_reads),
		TEST(test_smap_writes_and_wp),
		TEST(test_fault_precedence),
		TEST(test_tables_outside_ram),
		TEST(test_read_linear_within_page),
		TEST(test_read_linear_across_pages),
		TEST(test_read_linear_fault_on_later_page),
		TEST(test_read_linear_outside_ram),
		TEST(test_read_linear_into_non_canonical),
		TEST(test_read_linear_wraps_at_4g),
		TEST(test_bad_arguments_fail_checks),
		TEST(test_random_tables_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
