/*
 * The root-mode IDT and what happens on a trap: an interrupt is acknowledged
 * and dropped (partitions get theirs through VM exits), an exception is a
 * hypervisor bug and ends in a full report and a halt of every CPU.
 */
#include "arch/x86/segments.h"
#include "arch/x86/trap_frame.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "hv/console.h"
#include "arch/x86/image.h"
#include "hv/log.h"

#define IDT_VECTORS 256
#define IDT_GATE_INTERRUPT 0x8e /* present, DPL0, 64-bit interrupt gate */
#define FIRST_EXTERNAL_VECTOR 32
#define VECTOR_NMI 2
#define VECTOR_DOUBLE_FAULT 8
#define VECTOR_MACHINE_CHECK 18
#define BACKTRACE_DEPTH 16

/** One 16-byte IDT gate (SDM Vol. 3, 6.14.1). */
struct idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_high;
	uint32_t reserved;
} PACKED;

extern const uint64_t isr_stub_table[IDT_VECTORS];
static struct idt_gate idt[IDT_VECTORS] ALIGNED(16);
static bool idt_built;

static const char *const exception_names[FIRST_EXTERNAL_VECTOR] = {
	[0] = "#DE divide error", [1] = "#DB debug", [2] = "NMI",
	[3] = "#BP breakpoint", [4] = "#OF overflow", [5] = "#BR bound range",
	[6] = "#UD invalid opcode", [7] = "#NM device not available",
	[8] = "#DF double fault", [10] = "#TS invalid TSS",
	[11] = "#NP segment not present", [12] = "#SS stack fault",
	[13] = "#GP general protection", [14] = "#PF page fault",
	[16] = "#MF x87 error", [17] = "#AC alignment check",
	[18] = "#MC machine check", [19] = "#XM SIMD exception",
	[20] = "#VE virtualization exception", [21] = "#CP control protection",
};

/** Fills the IDT once; every CPU shares it. */
static void idt_build(void)
{
	for (int v = 0; v < IDT_VECTORS; v++) {
		uint64_t target = isr_stub_table[v];
		uint8_t ist = 0;

		if (v == VECTOR_NMI) {
			ist = IST_NMI;
		} else if (v == VECTOR_DOUBLE_FAULT) {
			ist = IST_DOUBLE_FAULT;
		} else if (v == VECTOR_MACHINE_CHECK) {
			ist = IST_MACHINE_CHECK;
		}
		idt[v] = (struct idt_gate){
			.offset_low = target & 0xffff,
			.selector = GDT_SEL_CODE,
			.ist = ist,
			.type = IDT_GATE_INTERRUPT,
			.offset_mid = (target >> 16) & 0xffff,
			.offset_high = target >> 32,
		};
	}
	idt_built = true;
}

/** Loads the IDT on this CPU (building it on first use). */
void idt_load(void)
{
	struct descriptor_table_register idtr = {
		.limit = sizeof(idt) - 1,
		.base = (uint64_t)idt,
	};

	if (!idt_built) {
		idt_build();
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/** Prints the frame-pointer chain, stopping at anything implausible. */
static void trap_print_backtrace(uint64_t rbp)
{
	for (int depth = 0; depth < BACKTRACE_DEPTH; depth++) {
		const uint64_t *frame = (const uint64_t *)rbp;

		if (rbp == 0 || (rbp & 7) != 0 || frame[1] == 0) {
			break;
		}
		log_error("  #%d return address %#llx (tessera.so+%#llx)", depth,
			  (unsigned long long)frame[1],
			  (unsigned long long)(frame[1] - (uint64_t)ImageBase));
		rbp = frame[0];
	}
}

/** Reports a root-mode exception in full, then stops every CPU. */
static NORETURN void trap_report_exception(const struct trap_frame *f)
{
	const char *name = exception_names[f->vector];

	console_enter_panic_mode();
	log_error("PANIC: exception %s (vector %llu) in the hypervisor, error code %#llx",
		  name != NULL ? name : "reserved", (unsigned long long)f->vector,
		  (unsigned long long)f->error_code);
	log_error("  rip %016llx cs %04llx rflags %016llx rsp %016llx ss %04llx",
		  (unsigned long long)f->rip, (unsigned long long)f->cs,
		  (unsigned long long)f->rflags, (unsigned long long)f->rsp,
		  (unsigned long long)f->ss);
	log_error("  rax %016llx rbx %016llx rcx %016llx rdx %016llx",
		  (unsigned long long)f->rax, (unsigned long long)f->rbx,
		  (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	log_error("  rsi %016llx rdi %016llx rbp %016llx r8  %016llx",
		  (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		  (unsigned long long)f->rbp, (unsigned long long)f->r8);
	log_error("  r9  %016llx r10 %016llx r11 %016llx r12 %016llx",
		  (unsigned long long)f->r9, (unsigned long long)f->r10,
		  (unsigned long long)f->r11, (unsigned long long)f->r12);
	log_error("  r13 %016llx r14 %016llx r15 %016llx",
		  (unsigned long long)f->r13, (unsigned long long)f->r14,
		  (unsigned long long)f->r15);
	log_error("  cr0 %016llx cr2 %016llx cr3 %016llx cr4 %016llx",
		  (unsigned long long)cpu_read_cr0(), (unsigned long long)cpu_read_cr2(),
		  (unsigned long long)cpu_read_cr3(), (unsigned long long)cpu_read_cr4());
	log_error("  at tessera.so+%#llx; backtrace (addr2line -e build/tessera.so OFFSET):",
		  (unsigned long long)(f->rip - (uint64_t)ImageBase));
	trap_print_backtrace(f->rbp);
	log_error("PANIC: all CPUs halted");
	cpu_halt_forever();
}

/** Called by isr.S for every interrupt and exception in root mode. */
void x86_trap(struct trap_frame *frame)
{
	/* An NMI is an event, not a bug: nothing sends one to Tessera yet. */
	if (frame->vector == VECTOR_NMI) {
		log_warn("NMI received in root mode (ignored)");
		return;
	}
	if (frame->vector >= FIRST_EXTERNAL_VECTOR) {
		lapic_eoi();
		return;
	}
	trap_report_exception(frame);
}
