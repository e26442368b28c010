/*
 * VMX hardware bit definitions: the one place where Tessera names the bits of
 * the VM-execution, VM-exit and VM-entry control words and of the VMX
 * capability MSRs. MSR numbers live in arch/x86/msr.h; VMCS field encodings
 * and exit reasons live elsewhere.
 *
 * Names follow the SDM (Vol. 3C, "Virtual Machine Control Structures" and
 * Appendix A "VMX Capability Reporting Facility"), with one prefix per word:
 *
 *   PIN_BASED_   pin-based VM-execution controls
 *   CPU_BASED_   primary processor-based VM-execution controls
 *   SECONDARY_   secondary processor-based VM-execution controls
 *   VM_EXIT_     primary VM-exit controls
 *   VM_ENTRY_    VM-entry controls
 *   VMX_BASIC_, VMX_MISC_, VMX_EPT_, VMX_VPID_   capability MSR fields
 *   FEATURE_CONTROL_                             IA32_FEATURE_CONTROL bits
 *
 * Control bits are 32-bit constants because the control words are 32-bit
 * VMCS fields; capability MSR fields are 64-bit.
 */
#ifndef TESSERA_ARCH_X86_VMX_DEFS_H
#define TESSERA_ARCH_X86_VMX_DEFS_H

/* ------------------------------------------------------------------------
 * Pin-based VM-execution controls.
 * ------------------------------------------------------------------------ */
#define PIN_BASED_EXTERNAL_INTERRUPT_EXITING (1U << 0)
#define PIN_BASED_NMI_EXITING                (1U << 3)
#define PIN_BASED_VIRTUAL_NMIS               (1U << 5)
#define PIN_BASED_VMX_PREEMPTION_TIMER       (1U << 6)
#define PIN_BASED_PROCESS_POSTED_INTERRUPTS  (1U << 7)

/* The default1 class (SDM A.2): reserved bits 1, 2 and 4. */
#define PIN_BASED_DEFAULT1 0x00000016U

/* ------------------------------------------------------------------------
 * Primary processor-based VM-execution controls.
 * ------------------------------------------------------------------------ */
#define CPU_BASED_INTERRUPT_WINDOW_EXITING   (1U << 2)
#define CPU_BASED_USE_TSC_OFFSETTING         (1U << 3)
#define CPU_BASED_HLT_EXITING                (1U << 7)
#define CPU_BASED_INVLPG_EXITING             (1U << 9)
#define CPU_BASED_MWAIT_EXITING              (1U << 10)
#define CPU_BASED_RDPMC_EXITING              (1U << 11)
#define CPU_BASED_RDTSC_EXITING              (1U << 12)
#define CPU_BASED_CR3_LOAD_EXITING           (1U << 15)
#define CPU_BASED_CR3_STORE_EXITING          (1U << 16)
#define CPU_BASED_ACTIVATE_TERTIARY_CONTROLS (1U << 17)
#define CPU_BASED_CR8_LOAD_EXITING           (1U << 19)
#define CPU_BASED_CR8_STORE_EXITING          (1U << 20)
#define CPU_BASED_USE_TPR_SHADOW             (1U << 21)
#define CPU_BASED_NMI_WINDOW_EXITING         (1U << 22)
#define CPU_BASED_MOV_DR_EXITING             (1U << 23)
#define CPU_BASED_UNCONDITIONAL_IO_EXITING   (1U << 24)
#define CPU_BASED_USE_IO_BITMAPS             (1U << 25)
#define CPU_BASED_MONITOR_TRAP_FLAG          (1U << 27)
#define CPU_BASED_USE_MSR_BITMAPS            (1U << 28)
#define CPU_BASED_MONITOR_EXITING            (1U << 29)
#define CPU_BASED_PAUSE_EXITING              (1U << 30)
#define CPU_BASED_ACTIVATE_SECONDARY_CONTROLS (1U << 31)

/*
 * The default1 class (SDM A.2): bits 1, 4-6, 8, 13-16 and 26. Of these only
 * 15 and 16 (CR3-load/store exiting) have a meaning; the rest are reserved.
 */
#define CPU_BASED_DEFAULT1 0x0401e172U

/* ------------------------------------------------------------------------
 * Secondary processor-based VM-execution controls (no default1 class).
 * ------------------------------------------------------------------------ */
#define SECONDARY_VIRTUALIZE_APIC_ACCESSES   (1U << 0)
#define SECONDARY_ENABLE_EPT                 (1U << 1)
#define SECONDARY_DESCRIPTOR_TABLE_EXITING   (1U << 2)
#define SECONDARY_ENABLE_RDTSCP              (1U << 3)
#define SECONDARY_VIRTUALIZE_X2APIC_MODE     (1U << 4)
#define SECONDARY_ENABLE_VPID                (1U << 5)
#define SECONDARY_WBINVD_EXITING             (1U << 6)
#define SECONDARY_UNRESTRICTED_GUEST         (1U << 7)
#define SECONDARY_APIC_REGISTER_VIRTUALIZATION (1U << 8)
#define SECONDARY_VIRTUAL_INTERRUPT_DELIVERY (1U << 9)
#define SECONDARY_PAUSE_LOOP_EXITING         (1U << 10)
#define SECONDARY_RDRAND_EXITING             (1U << 11)
#define SECONDARY_ENABLE_INVPCID             (1U << 12)
#define SECONDARY_ENABLE_VM_FUNCTIONS        (1U << 13)
#define SECONDARY_VMCS_SHADOWING             (1U << 14)
#define SECONDARY_ENABLE_ENCLS_EXITING       (1U << 15)
#define SECONDARY_RDSEED_EXITING             (1U << 16)
#define SECONDARY_ENABLE_PML                 (1U << 17)
#define SECONDARY_EPT_VIOLATION_VE           (1U << 18)
#define SECONDARY_CONCEAL_VMX_FROM_PT        (1U << 19)
#define SECONDARY_ENABLE_XSAVES_XRSTORS      (1U << 20)
#define SECONDARY_PASID_TRANSLATION          (1U << 21)
#define SECONDARY_MODE_BASED_EPT_EXECUTE     (1U << 22)
#define SECONDARY_SUB_PAGE_WRITE_PERMISSIONS (1U << 23)
#define SECONDARY_PT_USES_GUEST_PHYSICAL     (1U << 24)
#define SECONDARY_USE_TSC_SCALING            (1U << 25)
#define SECONDARY_ENABLE_USER_WAIT_PAUSE     (1U << 26)
#define SECONDARY_ENABLE_PCONFIG             (1U << 27)
#define SECONDARY_ENABLE_ENCLV_EXITING       (1U << 28)
#define SECONDARY_VMM_BUS_LOCK_DETECTION     (1U << 30)
#define SECONDARY_INSTRUCTION_TIMEOUT        (1U << 31)

/* ------------------------------------------------------------------------
 * Primary VM-exit controls.
 * ------------------------------------------------------------------------ */
#define VM_EXIT_SAVE_DEBUG_CONTROLS          (1U << 2)
#define VM_EXIT_HOST_ADDRESS_SPACE_SIZE      (1U << 9)
#define VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL   (1U << 12)
#define VM_EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT (1U << 15)
#define VM_EXIT_SAVE_IA32_PAT                (1U << 18)
#define VM_EXIT_LOAD_IA32_PAT                (1U << 19)
#define VM_EXIT_SAVE_IA32_EFER               (1U << 20)
#define VM_EXIT_LOAD_IA32_EFER               (1U << 21)
#define VM_EXIT_SAVE_VMX_PREEMPTION_TIMER    (1U << 22)
#define VM_EXIT_CLEAR_IA32_BNDCFGS           (1U << 23)
#define VM_EXIT_CONCEAL_VMX_FROM_PT          (1U << 24)
#define VM_EXIT_CLEAR_IA32_RTIT_CTL          (1U << 25)
#define VM_EXIT_CLEAR_IA32_LBR_CTL           (1U << 26)
#define VM_EXIT_CLEAR_UINV                   (1U << 27)
#define VM_EXIT_LOAD_CET_STATE               (1U << 28)
#define VM_EXIT_LOAD_PKRS                    (1U << 29)
#define VM_EXIT_SAVE_IA32_PERF_GLOBAL_CTL    (1U << 30)
#define VM_EXIT_ACTIVATE_SECONDARY_CONTROLS  (1U << 31)

/*
 * The default1 class (SDM A.2): bits 0-8, 10, 11, 13, 14, 16 and 17. Only bit
 * 2 (save debug controls) has a meaning; the rest are reserved.
 */
#define VM_EXIT_DEFAULT1 0x00036dffU

/* ------------------------------------------------------------------------
 * VM-entry controls.
 * ------------------------------------------------------------------------ */
#define VM_ENTRY_LOAD_DEBUG_CONTROLS         (1U << 2)
#define VM_ENTRY_IA32E_MODE_GUEST            (1U << 9)
#define VM_ENTRY_ENTRY_TO_SMM                (1U << 10)
#define VM_ENTRY_DEACTIVATE_DUAL_MONITOR     (1U << 11)
#define VM_ENTRY_LOAD_IA32_PERF_GLOBAL_CTRL  (1U << 13)
#define VM_ENTRY_LOAD_IA32_PAT               (1U << 14)
#define VM_ENTRY_LOAD_IA32_EFER              (1U << 15)
#define VM_ENTRY_LOAD_IA32_BNDCFGS           (1U << 16)
#define VM_ENTRY_CONCEAL_VMX_FROM_PT         (1U << 17)
#define VM_ENTRY_LOAD_IA32_RTIT_CTL          (1U << 18)
#define VM_ENTRY_LOAD_UINV                   (1U << 19)
#define VM_ENTRY_LOAD_CET_STATE              (1U << 20)
#define VM_ENTRY_LOAD_GUEST_IA32_LBR_CTL     (1U << 21)
#define VM_ENTRY_LOAD_PKRS                   (1U << 22)

/*
 * The default1 class (SDM A.2): bits 0-8 and 12. Only bit 2 (load debug
 * controls) has a meaning; the rest are reserved.
 */
#define VM_ENTRY_DEFAULT1 0x000011ffU

/* ------------------------------------------------------------------------
 * IA32_VMX_BASIC (SDM A.1).
 * ------------------------------------------------------------------------ */
#define VMX_BASIC_REVISION_MASK     0x7fffffffULL
#define VMX_BASIC_VMCS_SIZE_SHIFT   32
#define VMX_BASIC_VMCS_SIZE_MASK    0x1fffULL /* bits 44:32, once shifted */
#define VMX_BASIC_VMCS_SIZE_MAX     4096U
#define VMX_BASIC_PHYS_ADDR_32BIT   (1ULL << 48)
#define VMX_BASIC_DUAL_MONITOR      (1ULL << 49)
#define VMX_BASIC_MEMORY_TYPE_SHIFT 50
#define VMX_BASIC_MEMORY_TYPE_MASK  0xfULL    /* bits 53:50, once shifted */
#define VMX_BASIC_INS_OUTS_INFO     (1ULL << 54)
#define VMX_BASIC_TRUE_CONTROLS     (1ULL << 55)
#define VMX_BASIC_NO_ERROR_CODE_CHECK (1ULL << 56)

/* Memory types as IA32_VMX_BASIC and IA32_VMX_EPT_VPID_CAP encode them. */
#define VMX_MEMORY_TYPE_UC 0U
#define VMX_MEMORY_TYPE_WB 6U

/* ------------------------------------------------------------------------
 * IA32_VMX_MISC (SDM A.6).
 * ------------------------------------------------------------------------ */
/* The preemption timer counts down once per 2^rate TSC ticks. */
#define VMX_MISC_PREEMPTION_TIMER_RATE_MASK 0x1fULL
#define VMX_MISC_STORE_EFER_LMA             (1ULL << 5)
#define VMX_MISC_ACTIVITY_HLT               (1ULL << 6)
#define VMX_MISC_ACTIVITY_SHUTDOWN          (1ULL << 7)
#define VMX_MISC_ACTIVITY_WAIT_FOR_SIPI     (1ULL << 8)
#define VMX_MISC_PT_IN_VMX                  (1ULL << 14)
#define VMX_MISC_RDMSR_SMBASE_IN_SMM        (1ULL << 15)
#define VMX_MISC_CR3_TARGET_COUNT_SHIFT     16
#define VMX_MISC_CR3_TARGET_COUNT_MASK      0x1ffULL /* bits 24:16 */
/* Recommended maximum MSR-list length is 512 * (N + 1), N in bits 27:25. */
#define VMX_MISC_MAX_MSR_LIST_SHIFT         25
#define VMX_MISC_MAX_MSR_LIST_MASK          0x7ULL
#define VMX_MISC_MSR_LIST_UNIT              512U
#define VMX_MISC_SMM_MONITOR_CTL_BIT2       (1ULL << 28)
#define VMX_MISC_VMWRITE_ANY_FIELD          (1ULL << 29)
#define VMX_MISC_INJECT_ZERO_LENGTH         (1ULL << 30)

/* ------------------------------------------------------------------------
 * IA32_VMX_EPT_VPID_CAP (SDM A.10).
 * ------------------------------------------------------------------------ */
#define VMX_EPT_EXECUTE_ONLY                (1ULL << 0)
#define VMX_EPT_PAGE_WALK_4                 (1ULL << 6)
#define VMX_EPT_PAGE_WALK_5                 (1ULL << 7)
#define VMX_EPT_MEMORY_TYPE_UC              (1ULL << 8)
#define VMX_EPT_MEMORY_TYPE_WB              (1ULL << 14)
#define VMX_EPT_2MB_PAGES                   (1ULL << 16)
#define VMX_EPT_1GB_PAGES                   (1ULL << 17)
#define VMX_EPT_INVEPT                      (1ULL << 20)
#define VMX_EPT_ACCESSED_DIRTY              (1ULL << 21)
#define VMX_EPT_ADVANCED_EXIT_INFO          (1ULL << 22)
#define VMX_EPT_SUPERVISOR_SHADOW_STACK     (1ULL << 23)
#define VMX_EPT_INVEPT_SINGLE_CONTEXT       (1ULL << 25)
#define VMX_EPT_INVEPT_ALL_CONTEXT          (1ULL << 26)
#define VMX_VPID_INVVPID                    (1ULL << 32)
#define VMX_VPID_INVVPID_INDIVIDUAL_ADDRESS (1ULL << 40)
#define VMX_VPID_INVVPID_SINGLE_CONTEXT     (1ULL << 41)
#define VMX_VPID_INVVPID_ALL_CONTEXT        (1ULL << 42)
#define VMX_VPID_INVVPID_SINGLE_CONTEXT_RETAINING_GLOBALS (1ULL << 43)

/* The type operand of INVEPT and INVVPID (SDM Vol. 3C, Ch. 31). */
#define INVEPT_TYPE_SINGLE_CONTEXT  1U
#define INVEPT_TYPE_ALL_CONTEXT     2U
#define INVVPID_TYPE_INDIVIDUAL_ADDRESS 0U
#define INVVPID_TYPE_SINGLE_CONTEXT 1U
#define INVVPID_TYPE_ALL_CONTEXT    2U
#define INVVPID_TYPE_SINGLE_CONTEXT_RETAINING_GLOBALS 3U

/* ------------------------------------------------------------------------
 * IA32_FEATURE_CONTROL (SDM Vol. 3C, "Enabling and Entering VMX Operation").
 * Once the lock bit is set the MSR cannot be written until reset; VMXON
 * outside SMX raises #GP unless both LOCK and VMX_OUTSIDE_SMX are set.
 * ------------------------------------------------------------------------ */
#define FEATURE_CONTROL_LOCK            (1ULL << 0)
#define FEATURE_CONTROL_VMX_INSIDE_SMX  (1ULL << 1)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ULL << 2)

#endif /* TESSERA_ARCH_X86_VMX_DEFS_H */
