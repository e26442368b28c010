/*
 * A vCPU's virtual local APIC (SDM Vol. 3A, Ch. 11 "Advanced Programmable
 * Interrupt Controller"): xAPIC registers through MMIO, x2APIC registers
 * through MSRs 0x800-0x8ff, IA32_APIC_BASE, the timer (one-shot, periodic,
 * TSC-deadline), priorities, EOI and IPIs. A pure state machine: it never
 * touches hardware or the VMCS, so it is tested on the host.
 *
 * The registers live in a caller-provided 4 KiB page laid out exactly like
 * the xAPIC MMIO page (each 32-bit register at its offset, ISR/TMR/IRR as
 * 8 x 32 bits at 0x100/0x180/0x200 with a 16-byte stride). The same page is
 * meant to be the VMX virtual-APIC page: with the TPR shadow the CPU reads
 * and writes TPR at offset 0x80 itself, so TPR is never cached anywhere else.
 * In x2APIC mode the ID slot holds the 32-bit x2APIC ID and the LDR slot the
 * derived logical ID, as RDMSR would return them.
 *
 * Model choices (where the SDM leaves room):
 *  - Version 0x00050014: version 0x14, max LVT entry 5 (timer, thermal,
 *    performance, LINT0, LINT1, error; no CMCI), no EOI-broadcast
 *    suppression. The CMCI slot 0x2f0 (MSR 0x82f) is reserved.
 *  - The APIC base stays at 0xfee00000: IA32_APIC_BASE writes that move it
 *    are refused (#GP). The BSP flag is read-only (writes keep it).
 *  - The xAPIC ID register is read-only (the SDM makes writability model
 *    specific); APR and RRD read 0.
 *  - MMIO: only 4-byte accesses at a register's 16-byte-aligned offset do
 *    anything; every other size or offset reads 0 and ignores writes. A
 *    4-byte access to an offset that holds no register reads 0 and sets
 *    the ESR's "illegal register address" bit.
 *  - A software-disabled APIC (SVR bit 8 clear) drops fixed interrupts; it
 *    still takes NMI, INIT, SIPI and ExtINT (SDM 11.4.7.2). SMI is ignored.
 *  - Timer mode 3 (reserved): the write keeps the current timer mode.
 *  - A divide-configuration change applies from the next count-down (an
 *    initial-count write or a periodic reload).
 */
#ifndef TESSERA_HV_VLAPIC_H
#define TESSERA_HV_VLAPIC_H

#include "hv/mmio.h"
#include "hv/types.h"

#define VLAPIC_DEFAULT_BASE      0xfee00000ULL
#define VLAPIC_X2APIC_MSR_FIRST  0x800U
#define VLAPIC_X2APIC_MSR_LAST   0x8ffU

/* IA32_APIC_BASE bits (SDM 11.4.4). */
#define VLAPIC_BASE_BSP     BIT(8)
#define VLAPIC_BASE_EXTD    BIT(10)
#define VLAPIC_BASE_ENABLE  BIT(11)

/* ICR destination shorthands (ICR bits 19:18). */
#define VLAPIC_SHORTHAND_NONE        0
#define VLAPIC_SHORTHAND_SELF        1
#define VLAPIC_SHORTHAND_ALL         2 /* all including self */
#define VLAPIC_SHORTHAND_ALL_BUT_SELF 3

/** Delivery modes, with their ICR/LVT encodings (SDM 11.5.1, 11.6.1). */
enum vlapic_delivery {
	VLAPIC_DELIVERY_FIXED = 0,
	VLAPIC_DELIVERY_LOWEST = 1,
	VLAPIC_DELIVERY_SMI = 2,
	VLAPIC_DELIVERY_NMI = 4,
	VLAPIC_DELIVERY_INIT = 5,
	VLAPIC_DELIVERY_SIPI = 6,
	VLAPIC_DELIVERY_EXTINT = 7,
};

/**
 * An IPI as decoded from the ICR. destination is ICR[63:56] (8 bits) in
 * xAPIC mode and ICR[63:32] in x2APIC mode; level is the trigger mode
 * (ICR bit 15: true = level-triggered).
 */
struct vlapic_ipi {
	enum vlapic_delivery mode;
	uint8_t vector;
	uint32_t destination;
	bool logical;
	bool level;
	uint8_t shorthand;
};

/**
 * One virtual local APIC. vlapic_init() clears every field; the caller then
 * sets the callbacks, ctx and tsc_offset. A NULL callback means: no clock
 * (time 0), IPIs to others dropped, no EOI notification.
 */
struct vlapic {
	uint8_t *page;          /* the registers; also the virtual-APIC page */
	uint32_t apic_id;       /* initial (x2)APIC ID */
	uint64_t apic_base_msr; /* IA32_APIC_BASE */
	uint64_t tsc_hz;        /* host TSC frequency */
	uint64_t timer_hz;      /* timer input clock, before the divider */
	uint64_t tsc_offset;    /* guest TSC = host TSC + tsc_offset (mod 2^64) */

	/* One-shot and periodic count-down, in host TSC ticks. */
	uint64_t timer_deadline; /* next expiry, UINT64_MAX when disarmed */
	uint64_t timer_period;   /* length of the current count-down */
	uint32_t timer_divisor;  /* divider latched when it started */
	uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE (guest TSC), 0 = disarmed */

	uint32_t esr_pending;    /* errors since the last ESR write */

	/* Events for the vCPU code to consume (and clear). */
	bool pending_nmi;
	bool pending_init;
	bool pending_sipi;
	uint8_t sipi_vector;
	bool pending_extint;

	uint64_t (*now)(void *ctx); /* host TSC now */
	void (*send_ipi)(void *ctx, const struct vlapic_ipi *ipi);
	void (*level_eoi)(void *ctx, uint8_t vector);
	void *ctx;
};

/**
 * RESET: IA32_APIC_BASE = 0xfee00000 | enable | (bsp ? BSP : 0), registers
 * at their power-up values (SDM 11.4.7.1). @page: 4 KiB, page-aligned.
 * @tsc_hz and @timer_hz must not be 0.
 */
void vlapic_init(struct vlapic *a, uint8_t *page, uint32_t apic_id, bool bsp, uint64_t tsc_hz,
		 uint64_t timer_hz);

/** INIT: registers to their power-up values except the ID; mode unchanged. */
void vlapic_reset_on_init(struct vlapic *a);

/** IA32_APIC_BASE[11]: the APIC is globally enabled. */
bool vlapic_enabled(const struct vlapic *a);

/** Enabled and in x2APIC mode (IA32_APIC_BASE[11:10] = 11b). */
bool vlapic_x2apic_mode(const struct vlapic *a);

/** Enabled and SVR bit 8 set. */
bool vlapic_software_enabled(const struct vlapic *a);

/** MOV from CR8: the task-priority class, TPR[7:4]. */
uint64_t vlapic_get_cr8(const struct vlapic *a);

/** MOV to CR8 (@value's reserved bits 63:4 already checked): sets TPR[7:4]. */
void vlapic_set_cr8(struct vlapic *a, uint64_t value);

/** The processor-priority register computed from TPR and ISR (SDM 11.8.3.1). */
uint32_t vlapic_ppr(const struct vlapic *a);

/** xAPIC MMIO read at @offset within the 4 KiB page (see the top). */
uint64_t vlapic_mmio_read(void *dev, uint64_t offset, unsigned int size);

/** xAPIC MMIO write at @offset within the 4 KiB page (see the top). */
void vlapic_mmio_write(void *dev, uint64_t offset, uint64_t value, unsigned int size);

/** The MMIO model; the device pointer is the struct vlapic. */
extern const struct mmio_ops vlapic_mmio_ops;

/** RDMSR of an x2APIC register; false means #GP. */
bool vlapic_msr_read(struct vlapic *a, uint32_t msr, uint64_t *value);

/** WRMSR of an x2APIC register; false means #GP. */
bool vlapic_msr_write(struct vlapic *a, uint32_t msr, uint64_t value);

/** WRMSR IA32_APIC_BASE; false means #GP (illegal transition, reserved bit, relocation). */
bool vlapic_set_base(struct vlapic *a, uint64_t value);

/** RDMSR IA32_APIC_BASE. */
uint64_t vlapic_get_base(const struct vlapic *a);

/** RDMSR IA32_TSC_DEADLINE (guest TSC units); 0 outside TSC-deadline mode. Never faults. */
bool vlapic_tsc_deadline_read(struct vlapic *a, uint64_t *value);

/** WRMSR IA32_TSC_DEADLINE; ignored outside TSC-deadline mode. Never faults. */
bool vlapic_tsc_deadline_write(struct vlapic *a, uint64_t value);

/** Fires the timer if it is due at host TSC @now. */
void vlapic_timer_update(struct vlapic *a, uint64_t now);

/** Host TSC tick of the next timer expiry, or UINT64_MAX. */
uint64_t vlapic_timer_next_deadline(const struct vlapic *a);

/** A fixed interrupt arrives: IRR, and TMR per @level_triggered. */
void vlapic_accept_interrupt(struct vlapic *a, uint8_t vector, bool level_triggered);

/** An interrupt message of any delivery mode arrives. */
void vlapic_accept(struct vlapic *a, enum vlapic_delivery mode, uint8_t vector,
		   bool level_triggered);

/** The vector to inject now: highest IRR above PPR's class, or -1. */
int vlapic_pending_vector(const struct vlapic *a);

/** The interrupt @vector is being injected: IRR -> ISR. */
void vlapic_acknowledge(struct vlapic *a, uint8_t vector);

/** The VMX TPR-threshold value: class of the highest IRR vector TPR masks, else 0. */
uint8_t vlapic_tpr_threshold(const struct vlapic *a);

/** LINT0 passes the legacy PIC's INTR (virtual-wire mode). */
bool vlapic_lint0_accepts_extint(const struct vlapic *a);

/** An NMI on the LINT1 pin; true when it became pending_nmi. */
bool vlapic_lint1_nmi(struct vlapic *a);

/**
 * Whether this APIC is an IPI destination: physical (@logical false) or
 * logical with the DFR model (xAPIC) or x2APIC cluster mode. In xAPIC mode
 * only the low 8 bits of @dest count; all-ones is a broadcast.
 */
bool vlapic_matches_destination(const struct vlapic *a, uint32_t dest, bool logical);

#endif /* TESSERA_HV_VLAPIC_H */
