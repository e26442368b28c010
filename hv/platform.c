/*
 * The PC platform of a partition: port dispatch to the device models, the
 * interrupt routing between them, the ACPI tables in RAM, and the guest's
 * reset and power-off requests (see platform.h).
 */
#include "hv/platform.h"
#include "arch/x86/i8042.h"
#include "hv/layout.h"
#include "hv/partition.h"
#include "hv/sched.h"
#include "hv/string.h"
#include "hv/vcpu_events.h"

/* The EBDA's first byte: its size in KiB (the tables' page). */
#define PLATFORM_EBDA_KIB (PLATFORM_ACPI_SIZE / KiB(1))

/** The partition's vCPU 0, the one whose LINT0 the PIC drives, or NULL before it exists. */
static struct vcpu *platform_vcpu0(struct partition *p)
{
	return p->vcpu_count > 0 ? &p->vcpus[0] : NULL;
}

/** The PIC's output may have changed: vCPU 0 looks again before its next entry. */
static void platform_pic_changed(struct partition *p)
{
	struct vcpu *vcpu0 = platform_vcpu0(p);

	if (vcpu0 != NULL) {
		vcpu_events_changed(vcpu0);
	}
}

/** The I/O APIC pin (GSI) of ISA IRQ @irq, as the MADT describes it. */
unsigned int platform_isa_gsi(unsigned int irq)
{
	return irq == ACPI_PIT_IRQ ? ACPI_PIT_GSI : irq;
}

/** Drives ISA IRQ @irq: the PIC's input and the I/O APIC's pin, as a PC's board does. */
static void platform_set_isa_irq(struct partition *p, unsigned int irq, bool level)
{
	vpic_set_irq(&p->platform.pic, irq, level);
	vioapic_set_irq(&p->platform.ioapic, platform_isa_gsi(irq), level);
	platform_pic_changed(p);
}

/**
 * An I/O APIC message: every local APIC it names accepts it (a
 * lowest-priority one goes to the first that matches, which the SDM leaves
 * to the model, 10.6.2.4), and each vCPU that took it looks again.
 */
static void platform_deliver(void *ctx, const struct vioapic_message *msg)
{
	struct partition *p = ctx;

	for (unsigned int i = 0; i < p->vcpu_count; i++) {
		struct vcpu *vcpu = &p->vcpus[i];

		if (!vlapic_matches_destination(&vcpu->lapic, msg->destination, msg->logical)) {
			continue;
		}
		vlapic_accept(&vcpu->lapic, (enum vlapic_delivery)msg->delivery_mode, msg->vector,
			      msg->level_triggered);
		vcpu_events_changed(vcpu);
		if (msg->delivery_mode == VLAPIC_DELIVERY_LOWEST) {
			return;
		}
	}
}

/** RAM of a partition of @memory_bytes below and above 4 GiB, as its layout places it. */
static void platform_ram_split(uint64_t memory_bytes, uint64_t *below_4g, uint64_t *above_4g)
{
	struct guest_region regions[LAYOUT_MAX_GUEST_RAM_REGIONS];
	size_t count = layout_guest_ram(memory_bytes, regions, ARRAY_SIZE(regions));

	*below_4g = 0;
	*above_4g = 0;
	for (size_t i = 0; i < count; i++) {
		if (gpa_addr(regions[i].base) >= LAYOUT_ABOVE_4G) {
			*above_4g += regions[i].size;
		} else {
			*below_4g += regions[i].size;
		}
	}
}

/** Resets every device of @p's platform at TSC @now; see platform.h. */
void platform_init(struct partition *p, const struct vrtc_time *wall, uint64_t now)
{
	struct platform *pl = &p->platform;
	uint64_t below_4g;
	uint64_t above_4g;

	memset(pl, 0, sizeof(*pl));
	platform_ram_split(p->config->memory_bytes, &below_4g, &above_4g);
	vpic_init(&pl->pic);
	vpit_init(&pl->pit, tsc_hz, now);
	vrtc_init(&pl->rtc, wall, tsc_hz, now, below_4g, above_4g);
	vioapic_init(&pl->ioapic, platform_deliver, p);
	vacpi_pm_init(&pl->pm, tsc_hz, now);
	vpci_init(&pl->pci);
	pl->port_a = PLATFORM_PORT_A_A20;
	pl->ready = true;
}

/**
 * Writes a little-endian 16-bit word of the BIOS data area; false if it is
 * not RAM.
 */
static bool platform_write_bda_word(struct partition *p, uint64_t gpa, uint16_t value)
{
	uint8_t bytes[2] = { (uint8_t)value, (uint8_t)(value >> 8) };

	return partition_copy_to_guest(p, gpa_init(gpa), bytes, sizeof(bytes));
}

/** platform_legacy_window_ops.read: nothing answers, so every bit reads 1. */
static uint64_t legacy_window_read(void *device, uint64_t offset, unsigned int size)
{
	return bytes_mask(size);
}

/** platform_legacy_window_ops.write: dropped, as by a bus where nothing answers. */
static void legacy_window_write(void *device, uint64_t offset, uint64_t value, unsigned int size)
{
}

const struct mmio_ops platform_legacy_window_ops = {
	.read = legacy_window_read,
	.write = legacy_window_write,
};

/**
 * The ACPI tables at PLATFORM_ACPI_BASE + PLATFORM_RSDP_OFFSET, and the
 * BIOS data area's EBDA segment and base memory size, so that the RSDP is
 * also where an OS without boot_params looks (ACPI 6.0, 5.2.5.1: the first
 * KiB of the EBDA, on 16-byte boundaries).
 */
bool platform_install_tables(struct partition *p)
{
	struct acpi_platform description = { .cpu_count = p->config->vcpus,
					     .pm_base = ACPI_PM_BASE };
	uint8_t *page = partition_gpa_to_ptr(p, gpa_init(PLATFORM_ACPI_BASE), PLATFORM_ACPI_SIZE);
	uint64_t rsdp = 0;

	if (page == NULL) {
		return false;
	}
	memset(page, 0, PLATFORM_ACPI_SIZE);
	page[0] = (uint8_t)PLATFORM_EBDA_KIB;
	if (acpi_build_tables(page + PLATFORM_RSDP_OFFSET,
			      PLATFORM_ACPI_SIZE - PLATFORM_RSDP_OFFSET,
			      PLATFORM_ACPI_BASE + PLATFORM_RSDP_OFFSET, &description, &rsdp) == 0) {
		return false;
	}
	p->platform.rsdp_gpa = rsdp;
	return platform_write_bda_word(p, PLATFORM_BDA_EBDA_SEGMENT,
				       (uint16_t)(PLATFORM_ACPI_BASE >> 4)) &&
	       platform_write_bda_word(p, PLATFORM_BDA_BASE_MEMORY,
				       (uint16_t)(PLATFORM_ACPI_BASE / KiB(1)));
}

/** Whether @port belongs to a device that takes 1, 2 and 4-byte accesses whole. */
static bool platform_wide_port(uint16_t port)
{
	return vpci_handles_port(port) || vacpi_pm_handles_port(port);
}

/** Whether the platform claims @port (for reads, writes or both). */
bool platform_handles_port(const struct partition *p, uint16_t port)
{
	return p->platform.ready &&
	       (vpic_handles_port(port) || vpit_handles_port(port) || vrtc_handles_port(port) ||
		platform_wide_port(port) || port == I8042_COMMAND_PORT ||
		port == PLATFORM_PORT_A);
}

/** Whether a @size-byte access at @port goes to one device as one access. */
bool platform_takes_whole_access(const struct partition *p, uint16_t port, unsigned int size)
{
	uint16_t last = (uint16_t)(port + size - 1);

	/* Both ends in one device's range (an access wrapping past 0xffff is not). */
	return p->platform.ready && size > 1 && last > port &&
	       ((vpci_handles_port(port) && vpci_handles_port(last)) ||
		(vacpi_pm_handles_port(port) && vacpi_pm_handles_port(last)));
}

/** A guest IN of @size bytes at TSC @now; see platform.h. */
uint32_t platform_port_read(struct partition *p, uint16_t port, unsigned int size, uint64_t now)
{
	struct platform *pl = &p->platform;

	if (vpci_handles_port(port)) {
		return vpci_read(&pl->pci, port, size);
	}
	if (vacpi_pm_handles_port(port)) {
		return vacpi_pm_read(&pl->pm, port, size, now);
	}
	if (vpic_handles_port(port)) {
		/* A poll-mode read acknowledges an interrupt. */
		uint8_t value = vpic_port_read(&pl->pic, port);

		platform_pic_changed(p);
		return value;
	}
	if (vpit_handles_port(port)) {
		return vpit_port_read(&pl->pit, port, now);
	}
	if (vrtc_handles_port(port)) {
		return vrtc_port_read(&pl->rtc, port, now);
	}
	if (port == PLATFORM_PORT_A) {
		/* Reset reads 0 (it acts on a write); A20 is never masked in a partition. */
		return (pl->port_a & ~PLATFORM_PORT_A_RESET) | PLATFORM_PORT_A_A20;
	}
	return 0xff; /* the keyboard controller is not there: only its reset pulse is */
}

/** Records what a guest write asked; a reset or power-off wins over nothing. */
static void platform_ask(struct platform *pl, enum platform_action action)
{
	if (action != PLATFORM_ACTION_NONE) {
		pl->action = action;
	}
}

/** The SCI follows the PM block's status and enables (level-triggered IRQ9). */
static void platform_sync_sci(struct partition *p)
{
	bool level = vacpi_pm_sci_level(&p->platform.pm);

	if (level != p->platform.sci) {
		p->platform.sci = level;
		platform_set_isa_irq(p, ACPI_SCI_IRQ, level);
	}
}

/** A byte written to one of the ISA-style ports (PIC, PIT, RTC, 0x64, 0x92). */
static void platform_write_byte(struct partition *p, uint16_t port, uint8_t value, uint64_t now)
{
	struct platform *pl = &p->platform;

	if (vpic_handles_port(port)) {
		vpic_port_write(&pl->pic, port, value);
	} else if (vpit_handles_port(port)) {
		/* A new count or mode moves the next IRQ0: vCPU 0 re-arms its timer. */
		vpit_port_write(&pl->pit, port, value, now);
	} else if (vrtc_handles_port(port)) {
		vrtc_port_write(&pl->rtc, port, value, now);
	} else if (port == I8042_COMMAND_PORT) {
		if (value == I8042_PULSE_RESET) {
			platform_ask(pl, PLATFORM_ACTION_RESET);
		}
	} else if (port == PLATFORM_PORT_A) {
		/* Fast reset happens on bit 0's rising edge. */
		if ((value & PLATFORM_PORT_A_RESET) != 0 && (pl->port_a & PLATFORM_PORT_A_RESET) == 0) {
			platform_ask(pl, PLATFORM_ACTION_RESET);
		}
		pl->port_a = value;
	}
	platform_pic_changed(p);
}

/** A guest OUT of @size bytes at TSC @now; see platform.h. */
void platform_port_write(struct partition *p, uint16_t port, unsigned int size, uint32_t value,
			 uint64_t now)
{
	struct platform *pl = &p->platform;

	if (vpci_handles_port(port)) {
		/* RST_CPU alone (INIT) or with SYS_RST: either way the partition starts over. */
		if (vpci_write(&pl->pci, port, size, value) != VPCI_NONE) {
			platform_ask(pl, PLATFORM_ACTION_RESET);
		}
	} else if (vacpi_pm_handles_port(port)) {
		if (vacpi_pm_write(&pl->pm, port, size, value) == VACPI_PM_POWER_OFF) {
			platform_ask(pl, PLATFORM_ACTION_POWER_OFF);
		}
		platform_sync_sci(p);
	} else {
		platform_write_byte(p, port, (uint8_t)value, now);
	}
}

/** Whether reading @port is pure; see platform.h. */
bool platform_read_is_pure(const struct partition *p, uint16_t port)
{
	return !p->platform.ready ||
	       !(vpic_handles_port(port) || vpit_handles_port(port) || vrtc_handles_port(port) ||
		 vacpi_pm_handles_port(port));
}

/** The UART was accessed or got input: IRQ4 follows its interrupt output. */
void platform_uart_changed(struct partition *p)
{
	bool level;

	if (!p->platform.ready) {
		return;
	}
	level = vuart_irq_asserted(&p->uart);
	if (level != p->platform.uart_irq) {
		p->platform.uart_irq = level;
		platform_set_isa_irq(p, PLATFORM_UART_IRQ, level);
	}
}

/**
 * An operator's orderly stop (partition_request_power_button) presses the
 * ACPI fixed power button once: an OS with ACPI shuts down on its SCI.
 */
static void platform_power_button(struct partition *p)
{
	if (p->shutdown_requested && !p->platform.power_button_pressed) {
		p->platform.power_button_pressed = true;
		vacpi_pm_press_power_button(&p->platform.pm);
		platform_sync_sci(p);
	}
}

/** Runs the platform's time up to TSC @now; see platform.h. */
void platform_update_timers(struct partition *p, uint64_t now)
{
	struct platform *pl = &p->platform;

	if (!pl->ready) {
		return;
	}
	if (now >= vpit_next_irq0(&pl->pit) && vpit_irq0_edges(&pl->pit, now) > 0) {
		/* One pulse: the PIC latches one request, the I/O APIC sends one message. */
		platform_set_isa_irq(p, ACPI_PIT_IRQ, true);
		platform_set_isa_irq(p, ACPI_PIT_IRQ, false);
	}
	platform_uart_changed(p);
	platform_power_button(p);
}

/** TSC of the platform's next timer event, or UINT64_MAX. */
uint64_t platform_next_deadline(const struct partition *p)
{
	return p->platform.ready ? vpit_next_irq0(&p->platform.pit) : UINT64_MAX;
}

/** The vector the PIC presents through @vcpu's LINT0, or -1. */
int platform_extint_vector(const struct vcpu *vcpu)
{
	const struct platform *pl = &vcpu->partition->platform;

	if (!pl->ready || vcpu->index != 0 || !vlapic_lint0_accepts_extint(&vcpu->lapic)) {
		return -1;
	}
	return vpic_pending_vector(&pl->pic);
}

/** The interrupt acknowledge cycle of an ExtINT being injected. */
uint8_t platform_extint_acknowledge(struct vcpu *vcpu)
{
	return vpic_acknowledge(&vcpu->partition->platform.pic);
}

/** The local APIC's EOI of a level-triggered vector goes to the I/O APIC. */
void platform_level_eoi(void *ctx, uint8_t vector)
{
	struct vcpu *vcpu = ctx;
	struct platform *pl = &vcpu->partition->platform;

	if (pl->ready) {
		vioapic_eoi(&pl->ioapic, vector);
	}
}

/** Whether a guest write asked to reset or power off the partition. */
bool platform_end_requested(const struct partition *p)
{
	return p->platform.action != PLATFORM_ACTION_NONE;
}

/** Stops @p for the recorded action and restarts it if configured; see platform.h. */
bool platform_end_partition(struct partition *p)
{
	bool power_off = p->platform.action == PLATFORM_ACTION_POWER_OFF;
	enum guest_end_action then = power_off ? p->config->on_poweroff : p->config->on_reboot;

	p->platform.action = PLATFORM_ACTION_NONE;
	partition_stop(p, "%s by the guest", power_off ? "powered off" : "reset");
	return then == GUEST_END_RESTART && partition_restart(p);
}
