/*
 * The ACPI PM1a and PM timer register model (see vacpi_pm.h). The block is
 * handled byte by byte, so that every access size and byte lane behaves as
 * on a chipset: PM1_STS/PM1_EN as one 32-bit access or two 16-bit ones,
 * PM1_CNT's high byte alone, and so on.
 */
#include "hv/vacpi_pm.h"
#include "hv/check.h"
#include "hv/string.h"

/* Byte offsets inside the block. */
#define OFFSET_STATUS  (ACPI_PM1A_EVT - ACPI_PM_BASE)
#define OFFSET_ENABLE  (OFFSET_STATUS + ACPI_PM1_EVT_LEN / 2)
#define OFFSET_CONTROL (ACPI_PM1A_CNT - ACPI_PM_BASE)
#define OFFSET_TIMER   (ACPI_PM_TMR - ACPI_PM_BASE)

/* The PM1 event bits this block has (status and enable alike). */
#define PM1_EVENTS (VACPI_PM1_TMR | VACPI_PM1_GBL | VACPI_PM1_PWRBTN | VACPI_PM1_SLPBTN | \
		    VACPI_PM1_RTC)
/* PM1_CNT bits that keep what is written: BM_RLD and SLP_TYP (4.8.3.2.1). */
#define PM1_CNT_BM_RLD BIT(1)
#define PM1_CNT_STORED (PM1_CNT_BM_RLD | ACPI_SLP_TYP_MASK)

#define TIMER_MASK ((1ULL << ACPI_PM_TIMER_BITS) - 1)

/** Resets the registers; the PM timer counts from 0 at TSC @now. */
void vacpi_pm_init(struct vacpi_pm *pm, uint64_t tsc_hz, uint64_t now)
{
	/* The timer's arithmetic needs (tsc_hz - 1) * ACPI_PM_TIMER_HZ in 64 bits. */
	CHECK(tsc_hz != 0 && tsc_hz <= UINT64_MAX / ACPI_PM_TIMER_HZ);
	memset(pm, 0, sizeof(*pm));
	pm->tsc_hz = tsc_hz;
	pm->tsc_start = now;
}

/** True for the ports of the PM block (ACPI_PM_BASE, ACPI_PM_BLOCK_SIZE bytes). */
bool vacpi_pm_handles_port(uint16_t port)
{
	return port >= ACPI_PM_BASE && port < ACPI_PM_BASE + ACPI_PM_BLOCK_SIZE;
}

/**
 * The PM timer's count at TSC @now: ticks * 3579545 / tsc_hz, split into
 * whole seconds and the rest so that no product overflows; the wrap of the
 * whole-seconds product does not reach the low bits kept.
 */
uint32_t vacpi_pm_timer(const struct vacpi_pm *pm, uint64_t now)
{
	uint64_t ticks = now - pm->tsc_start;
	uint64_t seconds = ticks / pm->tsc_hz;
	uint64_t rest = ticks % pm->tsc_hz;
	uint64_t count = seconds * ACPI_PM_TIMER_HZ + rest * ACPI_PM_TIMER_HZ / pm->tsc_hz;

	return (uint32_t)(count & TIMER_MASK);
}

/** Byte @index (0 or 1) of a 16-bit register. */
static uint8_t vacpi_pm_byte_of(uint16_t reg, unsigned int index)
{
	return (uint8_t)(reg >> (8 * index));
}

/** The byte at @offset in the block; @timer is the count for this access. */
static uint8_t vacpi_pm_read_byte(const struct vacpi_pm *pm, unsigned int offset, uint32_t timer)
{
	if (offset >= OFFSET_TIMER && offset < OFFSET_TIMER + ACPI_PM_TMR_LEN) {
		return (uint8_t)(timer >> (8 * (offset - OFFSET_TIMER)));
	}
	switch (offset) {
	case OFFSET_STATUS:
	case OFFSET_STATUS + 1:
		return vacpi_pm_byte_of(pm->pm1_status, offset - OFFSET_STATUS);
	case OFFSET_ENABLE:
	case OFFSET_ENABLE + 1:
		return vacpi_pm_byte_of(pm->pm1_enable, offset - OFFSET_ENABLE);
	case OFFSET_CONTROL:
	case OFFSET_CONTROL + 1:
		/* SCI_EN reads 1: the hardware is always in ACPI mode. */
		return vacpi_pm_byte_of(pm->pm1_control | ACPI_SCI_EN, offset - OFFSET_CONTROL);
	default:
		return 0xff; /* between PM1_CNT and PM_TMR: nothing there */
	}
}

/** A guest IN of @size (1, 2, 4) bytes from @port at TSC @now. */
uint32_t vacpi_pm_read(struct vacpi_pm *pm, uint16_t port, unsigned size, uint64_t now)
{
	uint32_t timer = vacpi_pm_timer(pm, now);
	uint32_t value = 0;

	for (unsigned int i = 0; i < size && i < sizeof(value); i++) {
		uint32_t byte = 0xff;

		if (vacpi_pm_handles_port((uint16_t)(port + i))) {
			byte = vacpi_pm_read_byte(pm, port + i - ACPI_PM_BASE, timer);
		}
		value |= byte << (8 * i);
	}
	return value;
}

/** Replaces byte @index of *@reg with @byte, keeping only @writable bits. */
static void vacpi_pm_store_byte(uint16_t *reg, unsigned int index, uint8_t byte, uint16_t writable)
{
	uint16_t lane = (uint16_t)(0xffU << (8 * index));
	uint16_t bits = (uint16_t)((uint16_t)(byte << (8 * index)) & writable & lane);

	*reg = (uint16_t)((*reg & ~(writable & lane)) | bits);
}

/**
 * A write of the byte at @offset. Status bits are cleared by writing 1
 * (4.8.3.1.1); a byte holding SLP_EN enters the sleep state SLP_TYP names,
 * of which only S5 exists here (4.8.3.2.1, 16.1.7).
 */
static enum vacpi_pm_action vacpi_pm_write_byte(struct vacpi_pm *pm, unsigned int offset,
						uint8_t byte)
{
	switch (offset) {
	case OFFSET_STATUS:
	case OFFSET_STATUS + 1:
		pm->pm1_status &= (uint16_t)~((unsigned int)byte << (8 * (offset - OFFSET_STATUS)));
		break;
	case OFFSET_ENABLE:
	case OFFSET_ENABLE + 1:
		vacpi_pm_store_byte(&pm->pm1_enable, offset - OFFSET_ENABLE, byte, PM1_EVENTS);
		break;
	case OFFSET_CONTROL:
	case OFFSET_CONTROL + 1: {
		uint16_t written = (uint16_t)((unsigned int)byte << (8 * (offset - OFFSET_CONTROL)));

		vacpi_pm_store_byte(&pm->pm1_control, offset - OFFSET_CONTROL, byte,
				    PM1_CNT_STORED);
		if ((written & ACPI_SLP_EN) != 0 &&
		    (pm->pm1_control & ACPI_SLP_TYP_MASK) >> ACPI_SLP_TYP_SHIFT == ACPI_SLP_TYP_S5) {
			return VACPI_PM_POWER_OFF;
		}
		break;
	}
	default:
		break; /* the timer is read-only */
	}
	return VACPI_PM_NONE;
}

/** A guest OUT of @size (1, 2, 4) bytes to @port; says what to do next. */
enum vacpi_pm_action vacpi_pm_write(struct vacpi_pm *pm, uint16_t port, unsigned size,
				    uint32_t value)
{
	enum vacpi_pm_action action = VACPI_PM_NONE;

	for (unsigned int i = 0; i < size && i < sizeof(value); i++) {
		if (vacpi_pm_handles_port((uint16_t)(port + i)) &&
		    vacpi_pm_write_byte(pm, port + i - ACPI_PM_BASE, (uint8_t)(value >> (8 * i))) ==
			    VACPI_PM_POWER_OFF) {
			action = VACPI_PM_POWER_OFF;
		}
	}
	return action;
}

/** Presses the fixed power button: sets PWRBTN_STS (an OS shuts down). */
void vacpi_pm_press_power_button(struct vacpi_pm *pm)
{
	pm->pm1_status |= VACPI_PM1_PWRBTN;
}

/** The SCI's level: an enabled PM1 event is pending while ACPI is on. */
bool vacpi_pm_sci_level(const struct vacpi_pm *pm)
{
	return (pm->pm1_status & pm->pm1_enable & PM1_EVENTS) != 0;
}
