/*
 * VM-exit handling: the dispatcher's view of one exit and the helpers that
 * handlers share (advance RIP, inject an exception, stop the partition).
 */
#ifndef TESSERA_HV_EXIT_H
#define TESSERA_HV_EXIT_H

#include "hv/partition.h"

/** What the dispatcher does after a handler. */
enum exit_result {
	EXIT_RESUME,     /* enter the same vCPU again */
	EXIT_RESCHEDULE, /* let the scheduler pick (time slice over, vCPU halted) */
	EXIT_STOPPED,    /* the partition was stopped */
};

/**
 * The facts of one VM exit that every handler may need. Each VMREAD costs,
 * so only what most handlers use is read up front: the exit qualification
 * only for the reasons that have one a handler uses, and the instruction
 * length only when RIP advances.
 */
struct vm_exit {
	uint32_t full_reason;
	uint32_t reason;          /* basic exit reason */
	uint64_t qualification;   /* 0 unless the reason's handler uses it */
	uint64_t guest_rip;
	gpa_t gpa;                /* EPT violations and misconfigurations only */
};

/** A handler for one basic exit reason. */
typedef enum exit_result (*exit_handler_fn)(struct vcpu *vcpu, const struct vm_exit *exit);

/** The dispatch table: one entry per basic exit reason, none NULL. */
extern const exit_handler_fn exit_handlers[EXIT_REASON_COUNT];

/** Reads the exit, counts it and runs its handler. */
enum exit_result exit_dispatch(struct vcpu *vcpu);

/** Reports a failed VMLAUNCH/VMRESUME (VMfail) and stops the partition. */
void exit_report_entry_failure(struct vcpu *vcpu, bool valid_vmcs);

/** Ends the STI/MOV SS blocking of an instruction that completed. */
void vcpu_end_instruction_blocking(struct vcpu *vcpu);

/** Moves the guest past the instruction that exited. */
void vcpu_advance_rip(struct vcpu *vcpu, const struct vm_exit *exit);

/** Injects a hardware exception without error code (#UD, #DE, ...). */
void vcpu_inject_exception(uint8_t vector);

/** Injects a hardware exception with an error code (#GP(0), ...). */
void vcpu_inject_exception_error(uint8_t vector, uint32_t error_code);

#define VECTOR_UD 6
#define VECTOR_GP 13

/* Handlers, each in the file of its subject. */
enum exit_result exit_handle_cpuid(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_io(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_vmcall(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_cr_access(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_xsetbv(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_rdmsr(struct vcpu *vcpu, const struct vm_exit *exit);
enum exit_result exit_handle_wrmsr(struct vcpu *vcpu, const struct vm_exit *exit);

/** What CPUID answers depends on changed (CR4, XCR0, APIC base): forget cached answers. */
void vcpu_cpuid_changed(struct vcpu *vcpu);

/** Fills a vCPU's emulated MSRs (virtual MTRRs) with their power-on state. */
void vcpu_msrs_reset(struct vcpu *vcpu);

#endif /* TESSERA_HV_EXIT_H */
