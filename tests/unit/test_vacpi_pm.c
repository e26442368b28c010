/*
 * Host tests of hv/vacpi_pm.c: the partition's ACPI PM1a registers and PM
 * timer.
 *
 * Bits are the ACPI 6.0 specification's (4.8.3: PM1 status, enable and
 * control); the ports are the platform's (0x600 block, as the FADT says);
 * the timer is checked against 3.579545 MHz computed here independently,
 * with 128-bit arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vacpi_pm.h"

/* The platform's ports. */
#define T_PM1_STS 0x600
#define T_PM1_EN  0x602
#define T_PM1_CNT 0x604
#define T_PM_TMR  0x608

/* ACPI 6.0, 4.8.3.1 and 4.8.3.2.1. */
#define T_TMR_STS    0x0001
#define T_PWRBTN     0x0100
#define T_SCI_EN     0x0001
#define T_SLP_EN     0x2000
#define T_SLP_TYP(n) ((n) << 10)
/* Enable bits that exist: TMR, GBL, PWRBTN, SLPBTN, RTC. */
#define T_EN_IMPLEMENTED 0x0721

#define T_PM_HZ  3579545ULL
#define T_TSC_HZ 3000000000ULL
#define T_START  123456789ULL

static struct vacpi_pm pm;

/** A fresh PM block on a 3 GHz TSC whose timer starts at T_START. */
static int setup(void **state)
{
	memset(&pm, 0x5a, sizeof(pm));
	vacpi_pm_init(&pm, T_TSC_HZ, T_START);
	return 0;
}

/** The timer's value after @ticks TSC ticks at @hz, computed in 128 bits. */
static uint32_t expected_timer(uint64_t ticks, uint64_t hz)
{
	unsigned __int128 count = (unsigned __int128)ticks * T_PM_HZ / hz;

	return (uint32_t)(count & 0xffffff);
}

/** The ports of the block, and none around it. */
static void test_vacpi_pm_handles_ports(void **state)
{
	for (uint16_t port = 0x600; port < 0x60c; port++) {
		assert_true(vacpi_pm_handles_port(port));
	}
	assert_false(vacpi_pm_handles_port(0x5ff));
	assert_false(vacpi_pm_handles_port(0x60c));
	assert_false(vacpi_pm_handles_port(0xcf9));
	assert_false(vacpi_pm_handles_port(0));
}

/** After reset: no status, nothing enabled, SCI_EN set, timer at 0. */
static void test_vacpi_pm_reset_values(void **state)
{
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 2, T_START), 0);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_EN, 2, T_START), 0);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_CNT, 2, T_START), T_SCI_EN);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, T_START), 0);
	assert_false(vacpi_pm_sci_level(&pm));
}

/** One second of TSC is 3579545 timer counts; half a second half of it. */
static void test_vacpi_pm_timer_frequency(void **state)
{
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, T_START + T_TSC_HZ), 3579545);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, T_START + T_TSC_HZ / 2), 1789772);
	/* 1 ms: 3579.545 counts. */
	assert_int_equal(vacpi_pm_timer(&pm, T_START + 3000000), 3579);
	/* Another TSC frequency: 10 s at 2.5 GHz is 35795450, wrapped to 24 bits. */
	vacpi_pm_init(&pm, 2500000000ULL, 0);
	assert_int_equal(vacpi_pm_timer(&pm, 25000000000ULL), 35795450 - 2 * 16777216);
}

/** The timer stays exact over long runs (no overflow in its arithmetic). */
static void test_vacpi_pm_timer_long_run(void **state)
{
	static const uint64_t tsc_hz[] = { 1000000000ULL, 2399999999ULL, 3000000000ULL,
					   4100000000ULL };
	static const uint64_t ticks[] = { 1, 999999999ULL, 86400ULL * 3000000000ULL,
					  365ULL * 86400 * 4100000000ULL + 12345, UINT64_MAX / 2 };

	for (size_t h = 0; h < sizeof(tsc_hz) / sizeof(tsc_hz[0]); h++) {
		vacpi_pm_init(&pm, tsc_hz[h], 1000);
		for (size_t t = 0; t < sizeof(ticks) / sizeof(ticks[0]); t++) {
			assert_int_equal(vacpi_pm_timer(&pm, 1000 + ticks[t]),
					 expected_timer(ticks[t], tsc_hz[h]));
		}
	}
}

/** 24 bits: the top byte reads 0, lanes read their bytes, writes do nothing. */
static void test_vacpi_pm_timer_lanes_and_width(void **state)
{
	uint64_t now = T_START + 4 * T_TSC_HZ + 777777; /* past one wrap */
	uint32_t count = expected_timer(now - T_START, T_TSC_HZ);

	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, now), count);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, now) >> 24, 0);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 1, now), count & 0xff);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR + 1, 2, now), (count >> 8) & 0xffff);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR + 3, 1, now), 0);
	assert_int_equal(vacpi_pm_write(&pm, T_PM_TMR, 4, 0), VACPI_PM_NONE);
	assert_int_equal(vacpi_pm_read(&pm, T_PM_TMR, 4, now), count);
}

/** Status bits are cleared by writing 1, not by writing 0. */
static void test_vacpi_pm_status_write_one_to_clear(void **state)
{
	vacpi_pm_press_power_button(&pm);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 2, T_START), T_PWRBTN);
	vacpi_pm_write(&pm, T_PM1_STS, 2, 0x0000);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 2, T_START), T_PWRBTN);
	vacpi_pm_write(&pm, T_PM1_STS, 2, T_TMR_STS); /* another bit */
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 2, T_START), T_PWRBTN);
	vacpi_pm_write(&pm, T_PM1_STS + 1, 1, T_PWRBTN >> 8);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 2, T_START), 0);
}

/** PM1_EN keeps the bits that exist; a 32-bit access covers STS and EN. */
static void test_vacpi_pm_enable_register(void **state)
{
	vacpi_pm_write(&pm, T_PM1_EN, 2, 0xffff);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_EN, 2, T_START), T_EN_IMPLEMENTED);
	vacpi_pm_write(&pm, T_PM1_EN, 1, 0x00);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_EN, 2, T_START), T_EN_IMPLEMENTED & 0xff00);
	vacpi_pm_press_power_button(&pm);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 4, T_START),
			 ((uint32_t)(T_EN_IMPLEMENTED & 0xff00) << 16) | T_PWRBTN);
	/* A 32-bit write of 0 status and a new enable clears no status. */
	vacpi_pm_write(&pm, T_PM1_STS, 4, (uint32_t)T_PWRBTN << 16);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_STS, 4, T_START),
			 ((uint32_t)T_PWRBTN << 16) | T_PWRBTN);
}

/** The SCI is high while an enabled event is pending. */
static void test_vacpi_pm_sci_follows_enabled_status(void **state)
{
	vacpi_pm_press_power_button(&pm);
	assert_false(vacpi_pm_sci_level(&pm));
	vacpi_pm_write(&pm, T_PM1_EN, 2, T_PWRBTN);
	assert_true(vacpi_pm_sci_level(&pm));
	vacpi_pm_write(&pm, T_PM1_STS, 2, T_PWRBTN);
	assert_false(vacpi_pm_sci_level(&pm));
}

/** SCI_EN always reads 1; SLP_TYP keeps what is written; SLP_EN reads 0. */
static void test_vacpi_pm_control_register(void **state)
{
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, 0x0000), VACPI_PM_NONE);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_CNT, 2, T_START), T_SCI_EN);
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(5)), VACPI_PM_NONE);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_CNT, 2, T_START), T_SLP_TYP(5) | T_SCI_EN);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_CNT + 1, 1, T_START), T_SLP_TYP(5) >> 8);
	/* Nothing lives between PM1_CNT and PM_TMR. */
	assert_int_equal(vacpi_pm_read(&pm, 0x606, 2, T_START), 0xffff);
}

/** SLP_EN with SLP_TYP = 5 (the DSDT's \_S5) asks for power off. */
static void test_vacpi_pm_s5_powers_off(void **state)
{
	assert_int_equal(ACPI_SLP_TYP_S5, 5);
	/* How ACPICA does it: SLP_TYP first, then SLP_TYP | SLP_EN. */
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(5) | T_SCI_EN),
			 VACPI_PM_NONE);
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(5) | T_SLP_EN | T_SCI_EN),
			 VACPI_PM_POWER_OFF);
	assert_int_equal(vacpi_pm_read(&pm, T_PM1_CNT, 2, T_START), T_SLP_TYP(5) | T_SCI_EN);
	/* The high byte alone does it too. */
	vacpi_pm_init(&pm, T_TSC_HZ, T_START);
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT + 1, 1, (T_SLP_TYP(5) | T_SLP_EN) >> 8),
			 VACPI_PM_POWER_OFF);
	/* And a 32-bit write at PM1_CNT. */
	vacpi_pm_init(&pm, T_TSC_HZ, T_START);
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 4, T_SLP_TYP(5) | T_SLP_EN),
			 VACPI_PM_POWER_OFF);
}

/** SLP_EN with any other sleep type (no other state exists) does nothing. */
static void test_vacpi_pm_other_sleep_types_ignored(void **state)
{
	for (uint32_t type = 0; type < 8; type++) {
		if (type == 5) {
			continue;
		}
		assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(type) | T_SLP_EN),
				 VACPI_PM_NONE);
	}
	/* SLP_TYP = 5 alone, then SLP_EN in a write that changes it: none. */
	vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(5));
	assert_int_equal(vacpi_pm_write(&pm, T_PM1_CNT, 2, T_SLP_TYP(3) | T_SLP_EN),
			 VACPI_PM_NONE);
}

/** Ports outside the block read all ones and ignore writes. */
static void test_vacpi_pm_outside_reads_all_ones(void **state)
{
	assert_int_equal(vacpi_pm_read(&pm, 0x5ff, 1, T_START), 0xff);
	assert_int_equal(vacpi_pm_read(&pm, 0x60c, 4, T_START), 0xffffffff);
	/* An access straddling the end: in-block bytes, then all ones. */
	assert_int_equal(vacpi_pm_read(&pm, 0x60b, 2, T_START), 0xff00);
	assert_int_equal(vacpi_pm_write(&pm, 0x5fc, 4, 0xffffffff), VACPI_PM_NONE);
}

/** A zero TSC frequency is a bug in the caller. */
static void test_vacpi_pm_zero_tsc_hz_is_a_check_failure(void **state)
{
	expect_assert_failure(vacpi_pm_init(&pm, 0, 0));
}

/** Runs the ACPI PM register tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_vacpi_pm_handles_ports, setup),
		cmocka_unit_test_setup(test_vacpi_pm_reset_values, setup),
		cmocka_unit_test_setup(test_vacpi_pm_timer_frequency, setup),
		cmocka_unit_test_setup(test_vacpi_pm_timer_long_run, setup),
		cmocka_unit_test_setup(test_vacpi_pm_timer_lanes_and_width, setup),
		cmocka_unit_test_setup(test_vacpi_pm_status_write_one_to_clear, setup),
		cmocka_unit_test_setup(test_vacpi_pm_enable_register, setup),
		cmocka_unit_test_setup(test_vacpi_pm_sci_follows_enabled_status, setup),
		cmocka_unit_test_setup(test_vacpi_pm_control_register, setup),
		cmocka_unit_test_setup(test_vacpi_pm_s5_powers_off, setup),
		cmocka_unit_test_setup(test_vacpi_pm_other_sleep_types_ignored, setup),
		cmocka_unit_test_setup(test_vacpi_pm_outside_reads_all_ones, setup),
		cmocka_unit_test_setup(test_vacpi_pm_zero_tsc_hz_is_a_check_failure, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
