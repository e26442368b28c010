/*
 * A partition's ACPI fixed hardware: the PM1a event and control blocks and
 * the PM timer, at the ports the FADT names (acpi_tables.h):
 *
 *   ACPI_PM1A_EVT + 0  PM1_STS  16 bits, write 1 to clear
 *   ACPI_PM1A_EVT + 2  PM1_EN   16 bits
 *   ACPI_PM1A_CNT      PM1_CNT  16 bits: SCI_EN reads 1 (always ACPI mode);
 *                      SLP_EN with SLP_TYP = ACPI_SLP_TYP_S5 powers off
 *   ACPI_PM_TMR        PM_TMR   24-bit count at 3.579545 MHz, read-only
 *
 * The timer is derived from the TSC, so it needs no tick of its own. The
 * fixed power button (PWRBTN_STS/EN) can be pressed by the hypervisor for
 * an orderly shutdown; the SCI is then vacpi_pm_sci_level(), for the caller
 * to drive the I/O APIC's ACPI_SCI_IRQ pin with. Timer overflow status
 * (TMR_STS) is never set: nothing would raise its SCI on time.
 */
#ifndef TESSERA_HV_VACPI_PM_H
#define TESSERA_HV_VACPI_PM_H

#include "hv/acpi_tables.h"
#include "hv/types.h"

/* PM1 status and enable bits (ACPI 6.0, 4.8.3.1). */
#define VACPI_PM1_TMR        BIT(0)
#define VACPI_PM1_GBL        BIT(5)
#define VACPI_PM1_PWRBTN     BIT(8)
#define VACPI_PM1_SLPBTN     BIT(9)
#define VACPI_PM1_RTC        BIT(10)
#define VACPI_PM1_WAK        BIT(15)

/** What a guest write asks of the partition. */
enum vacpi_pm_action {
	VACPI_PM_NONE,
	VACPI_PM_POWER_OFF, /* entered S5: stop the partition */
};

/** State of one partition's ACPI PM registers. */
struct vacpi_pm {
	uint64_t tsc_hz;      /* TSC ticks per second */
	uint64_t tsc_start;   /* TSC when the timer read 0 */
	uint16_t pm1_status;
	uint16_t pm1_enable;
	uint16_t pm1_control; /* SLP_TYP and the other stored bits; SLP_EN reads 0 */
};

/** Resets the registers; the PM timer counts from 0 at TSC @now. */
void vacpi_pm_init(struct vacpi_pm *pm, uint64_t tsc_hz, uint64_t now);

/** True for the ports of the PM block (ACPI_PM_BASE, ACPI_PM_BLOCK_SIZE bytes). */
bool vacpi_pm_handles_port(uint16_t port);

/** A guest IN of @size (1, 2, 4) bytes from @port at TSC @now. */
uint32_t vacpi_pm_read(struct vacpi_pm *pm, uint16_t port, unsigned size, uint64_t now);

/** A guest OUT of @size (1, 2, 4) bytes to @port; says what to do next. */
enum vacpi_pm_action vacpi_pm_write(struct vacpi_pm *pm, uint16_t port, unsigned size,
				    uint32_t value);

/** The PM timer's count at TSC @now (ACPI_PM_TIMER_BITS bits). */
uint32_t vacpi_pm_timer(const struct vacpi_pm *pm, uint64_t now);

/** Presses the fixed power button: sets PWRBTN_STS (an OS shuts down). */
void vacpi_pm_press_power_button(struct vacpi_pm *pm);

/** The SCI's level: an enabled PM1 event is pending while ACPI is on. */
bool vacpi_pm_sci_level(const struct vacpi_pm *pm);

#endif /* TESSERA_HV_VACPI_PM_H */
