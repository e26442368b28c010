/*
 * The virtual local APIC's state machine (SDM Vol. 3A, Ch. 11). Every
 * register is kept in the xAPIC page layout; both access paths (MMIO in
 * xAPIC mode, MSRs in x2APIC mode) go through one table that says which
 * offsets exist in which mode, which way they may be accessed and which
 * bits software can write.
 */
#include "hv/vlapic.h"
#include "hv/check.h"
#include "hv/string.h"

/* Register offsets in the xAPIC page (SDM Table 11-1). */
#define REG_ID      0x020
#define REG_VERSION 0x030
#define REG_TPR     0x080
#define REG_APR     0x090
#define REG_PPR     0x0a0
#define REG_EOI     0x0b0
#define REG_RRD     0x0c0
#define REG_LDR     0x0d0
#define REG_DFR     0x0e0
#define REG_SVR     0x0f0
#define REG_ISR     0x100
#define REG_TMR     0x180
#define REG_IRR     0x200
#define REG_ESR     0x280
#define REG_ICR_LOW  0x300
#define REG_ICR_HIGH 0x310
#define REG_LVT_TIMER   0x320
#define REG_LVT_THERMAL 0x330
#define REG_LVT_PERF    0x340
#define REG_LVT_LINT0   0x350
#define REG_LVT_LINT1   0x360
#define REG_LVT_ERROR   0x370
#define REG_TIMER_INITIAL 0x380
#define REG_TIMER_CURRENT 0x390
#define REG_TIMER_DIVIDE  0x3e0
#define REG_SELF_IPI      0x3f0 /* x2APIC only */

#define REG_STRIDE      0x10
#define VECTOR_REGS     8    /* ISR, TMR, IRR: 8 x 32 bits each */
#define LAST_REG_OFFSET 0xff0

/* Version 0x14, max LVT entry 5 (no CMCI), no EOI-broadcast suppression. */
#define VLAPIC_VERSION 0x00050014U

#define SVR_ENABLE BIT(8)

#define LVT_VECTOR_MASK   0xffU
#define LVT_DELIVERY_SHIFT 8
#define LVT_DELIVERY_MASK  0x7U
#define LVT_MASKED        (1U << 16)
#define LVT_TIMER_MODE_SHIFT 17
#define LVT_TIMER_MODE_MASK  (3U << LVT_TIMER_MODE_SHIFT)
#define TIMER_ONE_SHOT    0U
#define TIMER_PERIODIC    1U
#define TIMER_TSC_DEADLINE 2U
#define TIMER_RESERVED    3U

#define ICR_VECTOR_MASK    0xffU
#define ICR_DELIVERY_SHIFT 8
#define ICR_LOGICAL        (1U << 11)
#define ICR_LEVEL_ASSERT   (1U << 14)
#define ICR_TRIGGER_LEVEL  (1U << 15)
#define ICR_SHORTHAND_SHIFT 18
#define ICR_DELIVERY_REMOTE_READ 3U /* reserved on xAPIC and x2APIC */
#define ICR_DELIVERY_RESERVED    7U

/* ESR bits (SDM 11.5.3). */
#define ESR_SEND_ILLEGAL_VECTOR     BIT(5)
#define ESR_RECEIVE_ILLEGAL_VECTOR  BIT(6)
#define ESR_ILLEGAL_REGISTER        BIT(7)

#define FIRST_LEGAL_VECTOR 16
#define TIMER_DISARMED     UINT64_MAX
#define XAPIC_BROADCAST    0xffU
#define X2APIC_BROADCAST   0xffffffffU

/* Register access rights, per mode. */
#define XAPIC_READ   BIT(0)
#define XAPIC_WRITE  BIT(1)
#define X2APIC_READ  BIT(2)
#define X2APIC_WRITE BIT(3)
#define ALL_MODES    (XAPIC_READ | XAPIC_WRITE | X2APIC_READ | X2APIC_WRITE)
#define READ_ONLY    (XAPIC_READ | X2APIC_READ)

/** One register of the table: where, who may access it, which bits software writes. */
struct vlapic_reg {
	uint16_t offset;
	uint8_t access;
	uint32_t write_mask;
};

/*
 * Every register but ISR/TMR/IRR (see vlapic_reg_lookup). A write mask of 0
 * marks a register whose written value only triggers something (EOI, ESR):
 * in x2APIC mode a non-zero value there is a #GP (SDM Table 11-6).
 */
static const struct vlapic_reg vlapic_regs[] = {
	{ REG_ID, READ_ONLY, 0 },
	{ REG_VERSION, READ_ONLY, 0 },
	{ REG_TPR, ALL_MODES, 0xff },
	{ REG_APR, XAPIC_READ, 0 },
	{ REG_PPR, READ_ONLY, 0 },
	{ REG_EOI, XAPIC_WRITE | X2APIC_WRITE, 0 },
	{ REG_RRD, XAPIC_READ, 0 },
	{ REG_LDR, XAPIC_READ | XAPIC_WRITE | X2APIC_READ, 0xff000000U },
	{ REG_DFR, XAPIC_READ | XAPIC_WRITE, 0xf0000000U },
	{ REG_SVR, ALL_MODES, 0x3ff },
	{ REG_ESR, ALL_MODES, 0 },
	{ REG_ICR_LOW, ALL_MODES, 0x000ccfffU },
	{ REG_ICR_HIGH, XAPIC_READ | XAPIC_WRITE, 0xff000000U },
	{ REG_LVT_TIMER, ALL_MODES, 0x000700ffU },
	{ REG_LVT_THERMAL, ALL_MODES, 0x000107ffU },
	{ REG_LVT_PERF, ALL_MODES, 0x000107ffU },
	{ REG_LVT_LINT0, ALL_MODES, 0x0001a7ffU },
	{ REG_LVT_LINT1, ALL_MODES, 0x0001a7ffU },
	{ REG_LVT_ERROR, ALL_MODES, 0x000100ffU },
	{ REG_TIMER_INITIAL, ALL_MODES, 0xffffffffU },
	{ REG_TIMER_CURRENT, READ_ONLY, 0 },
	{ REG_TIMER_DIVIDE, ALL_MODES, 0xb },
	{ REG_SELF_IPI, X2APIC_WRITE, 0xff },
};

static const struct vlapic_reg vlapic_vector_reg = { 0, READ_ONLY, 0 };

static const uint16_t vlapic_lvt_offsets[] = {
	REG_LVT_TIMER, REG_LVT_THERMAL, REG_LVT_PERF,
	REG_LVT_LINT0, REG_LVT_LINT1, REG_LVT_ERROR,
};

/* ------------------------------------------------------------------------
 * The register page
 * ------------------------------------------------------------------------ */

/** The 32-bit register at @offset. */
static uint32_t reg_get(const struct vlapic *a, uint32_t offset)
{
	uint32_t value;

	__builtin_memcpy(&value, a->page + offset, sizeof(value));
	return value;
}

/** Stores the 32-bit register at @offset. */
static void reg_set(struct vlapic *a, uint32_t offset, uint32_t value)
{
	__builtin_memcpy(a->page + offset, &value, sizeof(value));
}

/** MOV from CR8: TPR[7:4] (SDM 11.8.6.1). */
uint64_t vlapic_get_cr8(const struct vlapic *a)
{
	return (reg_get(a, REG_TPR) >> 4) & 0xf;
}

/** MOV to CR8: TPR[7:4] = CR8[3:0], TPR[3:0] = 0 (SDM 11.8.6.1). */
void vlapic_set_cr8(struct vlapic *a, uint64_t value)
{
	reg_set(a, REG_TPR, (uint32_t)(value & 0xf) << 4);
}

/** Offset of the 32-bit word of a 256-bit register that holds @vector. */
static uint32_t vector_word(uint32_t base, uint8_t vector)
{
	return base + (uint32_t)(vector >> 5) * REG_STRIDE;
}

/** Whether @vector's bit is set in ISR, TMR or IRR (@base). */
static bool vector_test(const struct vlapic *a, uint32_t base, uint8_t vector)
{
	return (reg_get(a, vector_word(base, vector)) & (1U << (vector & 31))) != 0;
}

/** Sets or clears @vector's bit in ISR, TMR or IRR (@base). */
static void vector_assign(struct vlapic *a, uint32_t base, uint8_t vector, bool set)
{
	uint32_t word = vector_word(base, vector);
	uint32_t bit = 1U << (vector & 31);
	uint32_t value = reg_get(a, word);

	reg_set(a, word, set ? value | bit : value & ~bit);
}

/** The highest vector set in ISR, TMR or IRR (@base), or -1. */
static int vector_highest(const struct vlapic *a, uint32_t base)
{
	for (int i = VECTOR_REGS - 1; i >= 0; i--) {
		uint32_t value = reg_get(a, base + (uint32_t)i * REG_STRIDE);

		if (value != 0) {
			return i * 32 + 31 - __builtin_clz(value);
		}
	}
	return -1;
}

/* ------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------ */

/** IA32_APIC_BASE[11]: the APIC is globally enabled. */
bool vlapic_enabled(const struct vlapic *a)
{
	return (a->apic_base_msr & VLAPIC_BASE_ENABLE) != 0;
}

/** Enabled and in x2APIC mode (IA32_APIC_BASE[11:10] = 11b). */
bool vlapic_x2apic_mode(const struct vlapic *a)
{
	return vlapic_enabled(a) && (a->apic_base_msr & VLAPIC_BASE_EXTD) != 0;
}

/** Enabled and in xAPIC mode: the MMIO interface is live. */
static bool vlapic_xapic_mode(const struct vlapic *a)
{
	return vlapic_enabled(a) && (a->apic_base_msr & VLAPIC_BASE_EXTD) == 0;
}

/** Enabled and SVR bit 8 set. */
bool vlapic_software_enabled(const struct vlapic *a)
{
	return vlapic_enabled(a) && (reg_get(a, REG_SVR) & SVR_ENABLE) != 0;
}

/** The x2APIC logical ID: cluster ID[19:4] in bits 31:16, bit ID[3:0] (SDM 11.12.10.2). */
static uint32_t vlapic_x2apic_ldr(uint32_t apic_id)
{
	return (((apic_id >> 4) & 0xffffU) << 16) | (1U << (apic_id & 15));
}

/** The timer mode field of the LVT timer register. */
static uint32_t vlapic_timer_mode(const struct vlapic *a)
{
	return (reg_get(a, REG_LVT_TIMER) & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT;
}

/** Stops the one-shot/periodic count-down and the TSC deadline. */
static void vlapic_timer_disarm(struct vlapic *a)
{
	a->timer_deadline = TIMER_DISARMED;
	a->timer_period = 0;
	a->tsc_deadline = 0;
}

/**
 * Power-up register values (SDM 11.4.7.1): all zero except the ID, the
 * version, DFR all ones, SVR 0xff and the LVT mask bits. In x2APIC mode
 * (after INIT) the ID slot holds the 32-bit ID and LDR the derived one.
 */
static void vlapic_reset_registers(struct vlapic *a)
{
	bool x2apic = vlapic_x2apic_mode(a);

	memset(a->page, 0, PAGE_SIZE);
	reg_set(a, REG_ID, x2apic ? a->apic_id : a->apic_id << 24);
	reg_set(a, REG_VERSION, VLAPIC_VERSION);
	reg_set(a, REG_DFR, 0xffffffffU);
	reg_set(a, REG_SVR, 0xff);
	for (size_t i = 0; i < ARRAY_SIZE(vlapic_lvt_offsets); i++) {
		reg_set(a, vlapic_lvt_offsets[i], LVT_MASKED);
	}
	if (x2apic) {
		reg_set(a, REG_LDR, vlapic_x2apic_ldr(a->apic_id));
	}
	vlapic_timer_disarm(a);
	a->timer_divisor = 0;
	a->esr_pending = 0;
}

/** RESET (see vlapic.h). */
void vlapic_init(struct vlapic *a, uint8_t *page, uint32_t apic_id, bool bsp, uint64_t tsc_hz,
		 uint64_t timer_hz)
{
	CHECK(page != NULL && IS_ALIGNED((uintptr_t)page, PAGE_SIZE));
	CHECK(tsc_hz != 0 && timer_hz != 0);
	memset(a, 0, sizeof(*a));
	a->page = page;
	a->apic_id = apic_id;
	a->tsc_hz = tsc_hz;
	a->timer_hz = timer_hz;
	a->apic_base_msr = VLAPIC_DEFAULT_BASE | VLAPIC_BASE_ENABLE | (bsp ? VLAPIC_BASE_BSP : 0);
	vlapic_reset_registers(a);
}

/** INIT: registers to their power-up values except the ID; mode unchanged (SDM 11.12.5.1). */
void vlapic_reset_on_init(struct vlapic *a)
{
	if (vlapic_enabled(a)) {
		vlapic_reset_registers(a);
	}
}

/** The host clock through the caller's callback (0 without one). */
static uint64_t vlapic_clock(const struct vlapic *a)
{
	return a->now != NULL ? a->now(a->ctx) : 0;
}

/* ------------------------------------------------------------------------
 * Interrupt acceptance, priorities, EOI
 * ------------------------------------------------------------------------ */

/** Sets IRR (and TMR per trigger mode) for a legal vector on an enabled APIC. */
static void vlapic_set_irr(struct vlapic *a, uint8_t vector, bool level_triggered)
{
	vector_assign(a, REG_IRR, vector, true);
	vector_assign(a, REG_TMR, vector, level_triggered);
}

/**
 * Logs errors for the next ESR write and signals them through the LVT
 * error entry when it is unmasked (SDM 11.5.3). An illegal error vector
 * is not raised, so that an error cannot cause another one.
 */
static void vlapic_record_error(struct vlapic *a, uint32_t errors)
{
	uint32_t lvt = reg_get(a, REG_LVT_ERROR);
	uint8_t vector = (uint8_t)(lvt & LVT_VECTOR_MASK);

	a->esr_pending |= errors;
	if ((lvt & LVT_MASKED) == 0 && vector >= FIRST_LEGAL_VECTOR &&
	    vlapic_software_enabled(a)) {
		vlapic_set_irr(a, vector, false);
	}
}

/** A fixed interrupt arrives: IRR, and TMR per @level_triggered. */
void vlapic_accept_interrupt(struct vlapic *a, uint8_t vector, bool level_triggered)
{
	if (!vlapic_software_enabled(a)) {
		return;
	}
	if (vector < FIRST_LEGAL_VECTOR) {
		vlapic_record_error(a, ESR_RECEIVE_ILLEGAL_VECTOR);
		return;
	}
	vlapic_set_irr(a, vector, level_triggered);
}

/** An interrupt message of any delivery mode arrives. */
void vlapic_accept(struct vlapic *a, enum vlapic_delivery mode, uint8_t vector,
		   bool level_triggered)
{
	if (!vlapic_enabled(a)) {
		return;
	}
	switch (mode) {
	case VLAPIC_DELIVERY_FIXED:
	case VLAPIC_DELIVERY_LOWEST:
		vlapic_accept_interrupt(a, vector, level_triggered);
		break;
	case VLAPIC_DELIVERY_NMI:
		a->pending_nmi = true;
		break;
	case VLAPIC_DELIVERY_INIT:
		a->pending_init = true;
		break;
	case VLAPIC_DELIVERY_SIPI:
		a->pending_sipi = true;
		a->sipi_vector = vector;
		break;
	case VLAPIC_DELIVERY_EXTINT:
		a->pending_extint = true;
		break;
	default:
		/* SMI: there is no SMM in a partition. */
		break;
	}
}

/**
 * PPR (SDM 11.8.3.1): TPR when its class is at least that of the highest
 * in-service vector, else that vector's class with bits 3:0 clear.
 */
uint32_t vlapic_ppr(const struct vlapic *a)
{
	uint32_t tpr = reg_get(a, REG_TPR) & 0xff;
	int isrv = vector_highest(a, REG_ISR);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

/** The vector to inject now: highest IRR above PPR's class, or -1 (SDM 11.8.3). */
int vlapic_pending_vector(const struct vlapic *a)
{
	int irrv;

	if (!vlapic_software_enabled(a)) {
		return -1;
	}
	irrv = vector_highest(a, REG_IRR);
	if (irrv < 0 || ((uint32_t)irrv & 0xf0) <= (vlapic_ppr(a) & 0xf0)) {
		return -1;
	}
	return irrv;
}

/** The interrupt @vector is being injected: IRR -> ISR (SDM 11.8.4). */
void vlapic_acknowledge(struct vlapic *a, uint8_t vector)
{
	vector_assign(a, REG_IRR, vector, false);
	vector_assign(a, REG_ISR, vector, true);
}

/**
 * The VMX TPR threshold (SDM 29.1.2 "TPR Virtualization"): the class of the
 * highest pending vector when it is TPR that holds it back, so that the
 * guest lowering its TPR below that class exits. 0 (no exit) otherwise:
 * when an in-service vector holds it back, the EOI exits anyway.
 */
uint8_t vlapic_tpr_threshold(const struct vlapic *a)
{
	int irrv;
	uint32_t irr_class;

	if (!vlapic_software_enabled(a)) {
		return 0;
	}
	irrv = vector_highest(a, REG_IRR);
	if (irrv < 0) {
		return 0;
	}
	irr_class = (uint32_t)irrv >> 4;
	return irr_class <= ((reg_get(a, REG_TPR) & 0xff) >> 4) ? (uint8_t)irr_class : 0;
}

/** EOI: retires the highest in-service vector; level-triggered ones go to the I/O APIC. */
static void vlapic_eoi(struct vlapic *a)
{
	int isrv = vector_highest(a, REG_ISR);
	uint8_t vector;

	if (isrv < 0) {
		return;
	}
	vector = (uint8_t)isrv;
	vector_assign(a, REG_ISR, vector, false);
	if (vector_test(a, REG_TMR, vector) && a->level_eoi != NULL) {
		a->level_eoi(a->ctx, vector);
	}
}

/* ------------------------------------------------------------------------
 * Timer (SDM 11.5.4)
 * ------------------------------------------------------------------------ */

/** (a * b) as a 128-bit number in two halves. */
static void mul_64x64(uint64_t a, uint64_t b, uint64_t *high, uint64_t *low)
{
	uint64_t a_lo = a & 0xffffffffU;
	uint64_t a_hi = a >> 32;
	uint64_t b_lo = b & 0xffffffffU;
	uint64_t b_hi = b >> 32;
	uint64_t lo_lo = a_lo * b_lo;
	uint64_t lo_hi = a_lo * b_hi;
	uint64_t hi_lo = a_hi * b_lo;
	uint64_t middle = (lo_lo >> 32) + (lo_hi & 0xffffffffU) + (hi_lo & 0xffffffffU);

	*low = (lo_lo & 0xffffffffU) | (middle << 32);
	*high = a_hi * b_hi + (lo_hi >> 32) + (hi_lo >> 32) + (middle >> 32);
}

/**
 * a * b / c, rounded down or up, saturating at UINT64_MAX. Long division of
 * the 128-bit product: the hypervisor links no libgcc for __int128 division.
 */
static uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c, bool round_up)
{
	uint64_t high;
	uint64_t low;
	uint64_t quotient = 0;
	uint64_t remainder;

	mul_64x64(a, b, &high, &low);
	if (high >= c) {
		return UINT64_MAX;
	}
	remainder = high;
	for (int bit = 63; bit >= 0; bit--) {
		bool carry = (remainder >> 63) != 0;

		remainder = (remainder << 1) | ((low >> bit) & 1);
		quotient <<= 1;
		if (carry || remainder >= c) {
			remainder -= c;
			quotient |= 1;
		}
	}
	if (round_up && remainder != 0 && quotient != UINT64_MAX) {
		quotient++;
	}
	return quotient;
}

/** a + b, saturating below TIMER_DISARMED. */
static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a < TIMER_DISARMED - 1 - b ? a + b : TIMER_DISARMED - 1;
}

/**
 * The divider the divide-configuration register selects (SDM Figure
 * "Divide Configuration Register"): bits 3,1:0 = 000 -> 2, 001 -> 4, ...,
 * 110 -> 128, 111 -> 1.
 */
static uint32_t vlapic_timer_divisor(const struct vlapic *a)
{
	uint32_t dcr = reg_get(a, REG_TIMER_DIVIDE);
	uint32_t code = ((dcr >> 1) & 4) | (dcr & 3);

	return 1U << ((code + 1) & 7);
}

/** Host TSC ticks for @count timer ticks of the current divider (rounded up). */
static uint64_t vlapic_timer_length(const struct vlapic *a, uint32_t count, uint32_t divisor)
{
	return mul_div((uint64_t)count * divisor, a->tsc_hz, a->timer_hz, true);
}

/** Starts a count-down of the initial count at host TSC @now (0 stops the timer). */
static void vlapic_timer_start(struct vlapic *a, uint64_t now)
{
	uint32_t initial = reg_get(a, REG_TIMER_INITIAL);

	vlapic_timer_disarm(a);
	if (initial == 0) {
		return;
	}
	a->timer_divisor = vlapic_timer_divisor(a);
	a->timer_period = vlapic_timer_length(a, initial, a->timer_divisor);
	a->timer_deadline = add_saturating(now, a->timer_period);
}

/** The current-count register at host TSC @now, derived from the count-down. */
static uint32_t vlapic_timer_current(const struct vlapic *a, uint64_t now)
{
	uint32_t initial = reg_get(a, REG_TIMER_INITIAL);
	uint64_t start;
	uint64_t elapsed;
	uint64_t ticks;

	if (a->timer_deadline == TIMER_DISARMED || a->timer_period == 0 ||
	    vlapic_timer_mode(a) == TIMER_TSC_DEADLINE) {
		return 0;
	}
	start = a->timer_deadline - a->timer_period;
	elapsed = now > start ? now - start : 0;
	if (elapsed >= a->timer_period) {
		if (vlapic_timer_mode(a) != TIMER_PERIODIC) {
			return 0;
		}
		/* Expiries not yet processed: the count has reloaded meanwhile. */
		elapsed %= a->timer_period;
	}
	ticks = mul_div(elapsed, a->timer_hz, a->tsc_hz, false) / a->timer_divisor;
	return ticks >= initial ? 0 : initial - (uint32_t)ticks;
}

/**
 * Host TSC of guest TSC @guest, clamped to [0, UINT64_MAX - 1]. The offset
 * is a two's-complement number, as in the VMCS TSC-offset field.
 */
static uint64_t vlapic_guest_to_host_tsc(const struct vlapic *a, uint64_t guest)
{
	uint64_t offset = a->tsc_offset;

	if ((offset >> 63) == 0) {
		return guest >= offset ? guest - offset : 0;
	}
	return add_saturating(guest, (uint64_t)0 - offset);
}

/** The timer's interrupt, unless the LVT entry masks it. */
static void vlapic_timer_fire(struct vlapic *a)
{
	uint32_t lvt = reg_get(a, REG_LVT_TIMER);

	if ((lvt & LVT_MASKED) == 0) {
		vlapic_accept_interrupt(a, (uint8_t)(lvt & LVT_VECTOR_MASK), false);
	}
}

/**
 * Periodic reload without drift: the next deadline is the previous one
 * plus the period (SDM 11.5.4), skipping whole periods that already
 * passed; their interrupts coalesce into the one IRR bit.
 */
static void vlapic_timer_reload(struct vlapic *a, uint64_t now)
{
	uint32_t initial = reg_get(a, REG_TIMER_INITIAL);
	uint64_t missed;

	a->timer_divisor = vlapic_timer_divisor(a);
	a->timer_period = vlapic_timer_length(a, initial, a->timer_divisor);
	if (a->timer_period == 0) {
		/* Not reached: an armed timer has a non-zero initial count. */
		vlapic_timer_disarm(a);
		return;
	}
	missed = (now - a->timer_deadline) / a->timer_period;
	a->timer_deadline = add_saturating(a->timer_deadline,
					   mul_div(missed + 1, a->timer_period, 1, false));
}

/** Fires the timer if it is due at host TSC @now. */
void vlapic_timer_update(struct vlapic *a, uint64_t now)
{
	if (vlapic_timer_mode(a) == TIMER_TSC_DEADLINE) {
		if (a->tsc_deadline != 0 && now >= vlapic_guest_to_host_tsc(a, a->tsc_deadline)) {
			/* The timer disarms itself and clears the MSR (SDM 11.5.4.1). */
			a->tsc_deadline = 0;
			vlapic_timer_fire(a);
		}
		return;
	}
	if (a->timer_deadline == TIMER_DISARMED || now < a->timer_deadline) {
		return;
	}
	vlapic_timer_fire(a);
	if (vlapic_timer_mode(a) == TIMER_PERIODIC) {
		vlapic_timer_reload(a, now);
	} else {
		vlapic_timer_disarm(a);
	}
}

/** Host TSC tick of the next timer expiry, or UINT64_MAX. */
uint64_t vlapic_timer_next_deadline(const struct vlapic *a)
{
	if (vlapic_timer_mode(a) == TIMER_TSC_DEADLINE) {
		return a->tsc_deadline == 0 ? TIMER_DISARMED :
					      vlapic_guest_to_host_tsc(a, a->tsc_deadline);
	}
	return a->timer_deadline;
}

/** RDMSR IA32_TSC_DEADLINE (guest TSC units); 0 outside TSC-deadline mode. Never faults. */
bool vlapic_tsc_deadline_read(struct vlapic *a, uint64_t *value)
{
	*value = 0;
	if (vlapic_timer_mode(a) == TIMER_TSC_DEADLINE) {
		/* A deadline that has passed reads 0 even before the scheduler noticed. */
		vlapic_timer_update(a, vlapic_clock(a));
		*value = a->tsc_deadline;
	}
	return true;
}

/** WRMSR IA32_TSC_DEADLINE; ignored outside TSC-deadline mode. Never faults. */
bool vlapic_tsc_deadline_write(struct vlapic *a, uint64_t value)
{
	if (vlapic_timer_mode(a) == TIMER_TSC_DEADLINE) {
		/* 0 disarms; a deadline already passed fires at once (SDM 11.5.4.1). */
		a->tsc_deadline = value;
		vlapic_timer_update(a, vlapic_clock(a));
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Register writes with side effects
 * ------------------------------------------------------------------------ */

/** An LVT write; a software-disabled APIC keeps every entry masked (SDM 11.4.7.2). */
static void vlapic_lvt_write(struct vlapic *a, uint32_t offset, uint32_t value)
{
	if (!vlapic_software_enabled(a)) {
		value |= LVT_MASKED;
	}
	reg_set(a, offset, value);
}

/**
 * An LVT timer write. Mode 3 is reserved: the write keeps the current mode.
 * Changing the mode disarms the timer (SDM 11.5.4.1).
 */
static void vlapic_lvt_timer_write(struct vlapic *a, uint32_t value)
{
	uint32_t old_mode = vlapic_timer_mode(a);
	uint32_t new_mode = (value & LVT_TIMER_MODE_MASK) >> LVT_TIMER_MODE_SHIFT;

	if (new_mode == TIMER_RESERVED) {
		new_mode = old_mode;
		value = (value & ~LVT_TIMER_MODE_MASK) | (old_mode << LVT_TIMER_MODE_SHIFT);
	}
	vlapic_lvt_write(a, REG_LVT_TIMER, value);
	if (new_mode != old_mode) {
		vlapic_timer_disarm(a);
	}
}

/** SVR: clearing the software-enable bit masks every LVT entry (SDM 11.4.7.2). */
static void vlapic_svr_write(struct vlapic *a, uint32_t value)
{
	reg_set(a, REG_SVR, value);
	if ((value & SVR_ENABLE) == 0) {
		for (size_t i = 0; i < ARRAY_SIZE(vlapic_lvt_offsets); i++) {
			uint32_t offset = vlapic_lvt_offsets[i];

			reg_set(a, offset, reg_get(a, offset) | LVT_MASKED);
		}
	}
}

/** The ICR's fields as an IPI. */
static struct vlapic_ipi vlapic_decode_icr(uint32_t low, uint32_t destination)
{
	return (struct vlapic_ipi){
		.mode = (enum vlapic_delivery)((low >> ICR_DELIVERY_SHIFT) & LVT_DELIVERY_MASK),
		.vector = (uint8_t)(low & ICR_VECTOR_MASK),
		.destination = destination,
		.logical = (low & ICR_LOGICAL) != 0,
		.level = (low & ICR_TRIGGER_LEVEL) != 0,
		.shorthand = (uint8_t)((low >> ICR_SHORTHAND_SHIFT) & 3),
	};
}

/**
 * Sends the IPI an ICR write describes. Reserved delivery modes and INIT
 * level de-assert (not supported since the Pentium 4, SDM 11.6.1) send
 * nothing; a fixed or lowest-priority vector below 16 logs "send illegal
 * vector". Shorthand self is valid for fixed delivery only and never
 * leaves this APIC; everything else goes to the send_ipi callback.
 */
static void vlapic_send_ipi(struct vlapic *a, uint32_t low, uint32_t destination)
{
	struct vlapic_ipi ipi = vlapic_decode_icr(low, destination);
	uint32_t mode = (uint32_t)ipi.mode;

	if (mode == ICR_DELIVERY_REMOTE_READ || mode == ICR_DELIVERY_RESERVED) {
		return;
	}
	if (ipi.mode == VLAPIC_DELIVERY_INIT && (low & ICR_LEVEL_ASSERT) == 0 && ipi.level) {
		return;
	}
	if ((ipi.mode == VLAPIC_DELIVERY_FIXED || ipi.mode == VLAPIC_DELIVERY_LOWEST) &&
	    ipi.vector < FIRST_LEGAL_VECTOR) {
		vlapic_record_error(a, ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	if (ipi.shorthand == VLAPIC_SHORTHAND_SELF) {
		if (ipi.mode == VLAPIC_DELIVERY_FIXED) {
			vlapic_accept_interrupt(a, ipi.vector, ipi.level);
		}
		return;
	}
	if (a->send_ipi != NULL) {
		a->send_ipi(a->ctx, &ipi);
	}
}

/** Writes a register the table allows, @value already limited to its writable bits. */
static void vlapic_reg_write(struct vlapic *a, uint32_t offset, uint32_t value)
{
	switch (offset) {
	case REG_EOI:
		vlapic_eoi(a);
		break;
	case REG_DFR:
		/* Bits 27:0 are reserved and read as ones. */
		reg_set(a, REG_DFR, value | 0x0fffffffU);
		break;
	case REG_SVR:
		vlapic_svr_write(a, value);
		break;
	case REG_ESR:
		/* A write latches the errors logged since the previous one (SDM 11.5.3). */
		reg_set(a, REG_ESR, a->esr_pending);
		a->esr_pending = 0;
		break;
	case REG_ICR_LOW:
		reg_set(a, REG_ICR_LOW, value);
		vlapic_send_ipi(a, value, reg_get(a, REG_ICR_HIGH) >> 24);
		break;
	case REG_LVT_TIMER:
		vlapic_lvt_timer_write(a, value);
		break;
	case REG_LVT_THERMAL:
	case REG_LVT_PERF:
	case REG_LVT_LINT0:
	case REG_LVT_LINT1:
	case REG_LVT_ERROR:
		vlapic_lvt_write(a, offset, value);
		break;
	case REG_TIMER_INITIAL:
		/* Ignored in TSC-deadline mode (SDM 11.5.4.1). */
		if (vlapic_timer_mode(a) != TIMER_TSC_DEADLINE) {
			reg_set(a, REG_TIMER_INITIAL, value);
			vlapic_timer_start(a, vlapic_clock(a));
		}
		break;
	case REG_SELF_IPI:
		/* Exactly an ICR write of a fixed, edge-triggered self IPI (SDM 11.12.11). */
		vlapic_send_ipi(a, value | (VLAPIC_SHORTHAND_SELF << ICR_SHORTHAND_SHIFT), 0);
		break;
	default:
		/* TPR, LDR, ICR high, divide configuration: plain storage. */
		reg_set(a, offset, value);
		break;
	}
}

/** A register's value as software reads it (PPR and the current count are derived). */
static uint32_t vlapic_reg_read(const struct vlapic *a, uint32_t offset)
{
	switch (offset) {
	case REG_PPR:
		return vlapic_ppr(a);
	case REG_TIMER_CURRENT:
		return vlapic_timer_current(a, vlapic_clock(a));
	case REG_APR:
	case REG_RRD:
		return 0;
	default:
		return reg_get(a, offset);
	}
}

/** The table entry of the register at @offset, or NULL for a reserved offset. */
static const struct vlapic_reg *vlapic_reg_lookup(uint32_t offset)
{
	if (offset >= REG_ISR && offset < REG_IRR + VECTOR_REGS * REG_STRIDE &&
	    offset % REG_STRIDE == 0) {
		return &vlapic_vector_reg;
	}
	for (size_t i = 0; i < ARRAY_SIZE(vlapic_regs); i++) {
		if (vlapic_regs[i].offset == offset) {
			return &vlapic_regs[i];
		}
	}
	return NULL;
}

/** The register at @offset if it exists in the current mode, else NULL. */
static const struct vlapic_reg *vlapic_reg_in_mode(const struct vlapic *a, uint32_t offset)
{
	const struct vlapic_reg *reg = vlapic_reg_lookup(offset);
	uint8_t mode_bits = vlapic_x2apic_mode(a) ? X2APIC_READ | X2APIC_WRITE :
						    XAPIC_READ | XAPIC_WRITE;

	return reg != NULL && (reg->access & mode_bits) != 0 ? reg : NULL;
}

/* ------------------------------------------------------------------------
 * xAPIC MMIO
 * ------------------------------------------------------------------------ */

/** Whether an MMIO access can reach a register: xAPIC mode, 4 bytes, aligned slot. */
static bool vlapic_mmio_access_ok(const struct vlapic *a, uint64_t offset, unsigned int size)
{
	return vlapic_xapic_mode(a) && size == 4 && offset <= LAST_REG_OFFSET &&
	       offset % REG_STRIDE == 0;
}

/** xAPIC MMIO read at @offset within the 4 KiB page (see vlapic.h). */
uint64_t vlapic_mmio_read(void *dev, uint64_t offset, unsigned int size)
{
	struct vlapic *a = dev;
	const struct vlapic_reg *reg;

	if (!vlapic_mmio_access_ok(a, offset, size)) {
		return 0;
	}
	reg = vlapic_reg_in_mode(a, (uint32_t)offset);
	if (reg == NULL) {
		vlapic_record_error(a, ESR_ILLEGAL_REGISTER);
		return 0;
	}
	return (reg->access & XAPIC_READ) != 0 ? vlapic_reg_read(a, (uint32_t)offset) : 0;
}

/** xAPIC MMIO write at @offset within the 4 KiB page (see vlapic.h). */
void vlapic_mmio_write(void *dev, uint64_t offset, uint64_t value, unsigned int size)
{
	struct vlapic *a = dev;
	const struct vlapic_reg *reg;

	if (!vlapic_mmio_access_ok(a, offset, size)) {
		return;
	}
	reg = vlapic_reg_in_mode(a, (uint32_t)offset);
	if (reg == NULL) {
		vlapic_record_error(a, ESR_ILLEGAL_REGISTER);
		return;
	}
	if ((reg->access & XAPIC_WRITE) != 0) {
		vlapic_reg_write(a, (uint32_t)offset, (uint32_t)value & reg->write_mask);
	}
}

const struct mmio_ops vlapic_mmio_ops = {
	.read = vlapic_mmio_read,
	.write = vlapic_mmio_write,
};

/* ------------------------------------------------------------------------
 * x2APIC MSRs (SDM 11.12.1)
 * ------------------------------------------------------------------------ */

/** The xAPIC offset of x2APIC MSR @msr, or 0 (no register) outside 0x800-0x8ff. */
static uint32_t vlapic_msr_offset(uint32_t msr)
{
	if (msr < VLAPIC_X2APIC_MSR_FIRST || msr > VLAPIC_X2APIC_MSR_LAST) {
		return 0;
	}
	return (msr - VLAPIC_X2APIC_MSR_FIRST) * REG_STRIDE;
}

/** RDMSR of an x2APIC register; false means #GP. */
bool vlapic_msr_read(struct vlapic *a, uint32_t msr, uint64_t *value)
{
	uint32_t offset = vlapic_msr_offset(msr);
	const struct vlapic_reg *reg;

	*value = 0;
	if (!vlapic_x2apic_mode(a)) {
		return false;
	}
	reg = vlapic_reg_in_mode(a, offset);
	if (reg == NULL || (reg->access & X2APIC_READ) == 0) {
		return false;
	}
	*value = vlapic_reg_read(a, offset);
	if (offset == REG_ICR_LOW) {
		/* One 64-bit ICR: the destination is in bits 63:32. */
		*value |= (uint64_t)reg_get(a, REG_ICR_HIGH) << 32;
	}
	return true;
}

/** The x2APIC ICR: a single 64-bit write that sends (SDM 11.12.9). */
static bool vlapic_msr_write_icr(struct vlapic *a, uint64_t value, uint32_t write_mask)
{
	uint32_t low = (uint32_t)value;
	uint32_t destination = (uint32_t)(value >> 32);

	if ((low & ~write_mask) != 0) {
		return false;
	}
	reg_set(a, REG_ICR_HIGH, destination);
	reg_set(a, REG_ICR_LOW, low);
	vlapic_send_ipi(a, low, destination);
	return true;
}

/**
 * WRMSR of an x2APIC register; false means #GP: no such register, read-only,
 * or a reserved bit set, including bits 63:32 of a 32-bit register (SDM
 * 11.12.1.3).
 */
bool vlapic_msr_write(struct vlapic *a, uint32_t msr, uint64_t value)
{
	uint32_t offset = vlapic_msr_offset(msr);
	const struct vlapic_reg *reg;

	if (!vlapic_x2apic_mode(a)) {
		return false;
	}
	reg = vlapic_reg_in_mode(a, offset);
	if (reg == NULL || (reg->access & X2APIC_WRITE) == 0) {
		return false;
	}
	if (offset == REG_ICR_LOW) {
		return vlapic_msr_write_icr(a, value, reg->write_mask);
	}
	if ((value & ~(uint64_t)reg->write_mask) != 0) {
		return false;
	}
	vlapic_reg_write(a, offset, (uint32_t)value);
	return true;
}

/* ------------------------------------------------------------------------
 * IA32_APIC_BASE (SDM 11.12.5)
 * ------------------------------------------------------------------------ */

/** RDMSR IA32_APIC_BASE. */
uint64_t vlapic_get_base(const struct vlapic *a)
{
	return a->apic_base_msr;
}

/**
 * The state transitions IA32_APIC_BASE allows (SDM Figure "Local x2APIC
 * State Transitions"): never into EN=0/EXTD=1, never disabled -> x2APIC,
 * never x2APIC -> xAPIC.
 */
static bool vlapic_transition_allowed(uint64_t old_state, uint64_t new_state)
{
	const uint64_t x2apic = VLAPIC_BASE_ENABLE | VLAPIC_BASE_EXTD;

	if (new_state == VLAPIC_BASE_EXTD) {
		return false;
	}
	if (old_state == 0 && new_state == x2apic) {
		return false;
	}
	return !(old_state == x2apic && new_state == VLAPIC_BASE_ENABLE);
}

/** Enters x2APIC mode from xAPIC: 32-bit ID, derived logical ID (SDM 11.12.5.1). */
static void vlapic_enter_x2apic(struct vlapic *a)
{
	reg_set(a, REG_ID, a->apic_id);
	reg_set(a, REG_LDR, vlapic_x2apic_ldr(a->apic_id));
}

/** WRMSR IA32_APIC_BASE; false means #GP (illegal transition, reserved bit, relocation). */
bool vlapic_set_base(struct vlapic *a, uint64_t value)
{
	const uint64_t state_bits = VLAPIC_BASE_ENABLE | VLAPIC_BASE_EXTD;
	uint64_t old_state = a->apic_base_msr & state_bits;
	uint64_t new_state = value & state_bits;

	/* Anything but the base, BSP, EXTD and EN is reserved; the base stays put. */
	if ((value & ~(state_bits | VLAPIC_BASE_BSP)) != VLAPIC_DEFAULT_BASE) {
		return false;
	}
	if (!vlapic_transition_allowed(old_state, new_state)) {
		return false;
	}
	a->apic_base_msr = (a->apic_base_msr & VLAPIC_BASE_BSP) | VLAPIC_DEFAULT_BASE | new_state;
	if (new_state == old_state) {
		return true;
	}
	if (new_state == 0) {
		/* Disabling loses the APIC's state (SDM 11.4.3). */
		vlapic_reset_registers(a);
		a->pending_nmi = false;
		a->pending_init = false;
		a->pending_sipi = false;
		a->pending_extint = false;
	} else if (new_state == state_bits) {
		vlapic_enter_x2apic(a);
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Local interrupt pins and destinations
 * ------------------------------------------------------------------------ */

/** Delivery mode of an LVT entry. */
static uint32_t lvt_delivery(uint32_t lvt)
{
	return (lvt >> LVT_DELIVERY_SHIFT) & LVT_DELIVERY_MASK;
}

/**
 * LINT0 passes the legacy PIC's INTR: unmasked in ExtINT mode, or the APIC
 * globally disabled, when LINT0 is the processor's plain INTR pin (SDM 11.4.3).
 */
bool vlapic_lint0_accepts_extint(const struct vlapic *a)
{
	uint32_t lvt = reg_get(a, REG_LVT_LINT0);

	if (!vlapic_enabled(a)) {
		return true;
	}
	return (lvt & LVT_MASKED) == 0 && lvt_delivery(lvt) == VLAPIC_DELIVERY_EXTINT;
}

/** An NMI on LINT1: pending when unmasked in NMI mode, or when LINT1 is the plain NMI pin. */
bool vlapic_lint1_nmi(struct vlapic *a)
{
	uint32_t lvt = reg_get(a, REG_LVT_LINT1);

	if (vlapic_enabled(a) &&
	    ((lvt & LVT_MASKED) != 0 || lvt_delivery(lvt) != VLAPIC_DELIVERY_NMI)) {
		return false;
	}
	a->pending_nmi = true;
	return true;
}

/** xAPIC logical match through DFR: flat bitmap or cluster/bitmap (SDM 11.6.2.2). */
static bool vlapic_xapic_logical_match(const struct vlapic *a, uint8_t dest)
{
	uint8_t logical_id = (uint8_t)(reg_get(a, REG_LDR) >> 24);
	bool flat = (reg_get(a, REG_DFR) >> 28) == 0xf;

	if (flat) {
		return (logical_id & dest) != 0;
	}
	return (logical_id >> 4) == (dest >> 4) && (logical_id & dest & 0xf) != 0;
}

/** Whether this APIC is an IPI destination (see vlapic.h). */
bool vlapic_matches_destination(const struct vlapic *a, uint32_t dest, bool logical)
{
	uint32_t ldr;

	if (!vlapic_enabled(a)) {
		return false;
	}
	if (!vlapic_x2apic_mode(a)) {
		dest &= 0xff;
		if (dest == XAPIC_BROADCAST) {
			return true;
		}
		return logical ? vlapic_xapic_logical_match(a, (uint8_t)dest) :
				 dest == (a->apic_id & 0xff);
	}
	if (dest == X2APIC_BROADCAST) {
		return true;
	}
	if (!logical) {
		return dest == a->apic_id;
	}
	/* x2APIC logical: cluster in bits 31:16, bitmap in bits 15:0 (SDM 11.12.10.1). */
	ldr = reg_get(a, REG_LDR);
	return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff) != 0;
}
