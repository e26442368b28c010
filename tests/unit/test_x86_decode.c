/*
 * Host tests of hv/x86_decode.c: the instruction decoder of the MMIO
 * interpreter.
 *
 * Every supported form is checked against an encoding worked out by hand
 * from the SDM Vol. 2 tables (one-byte and two-byte opcode maps, Tables
 * 2-1 to 2-5 for ModRM/SIB, 2.2.1 for REX): its length, operation, sizes,
 * operands, immediate and prefixes. Then the refusals: unsupported
 * opcodes, LOCK where it raises #UD, truncated buffers and the 15-byte
 * limit. Buffers are copied to exactly-sized heap blocks, so that an
 * over-read is an AddressSanitizer report.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/x86_decode.h"

#define M16 X86_MODE_16
#define M32 X86_MODE_32
#define M64 X86_MODE_64
#define NONE X86_REG_NONE

/** One decoded form and everything the decoder must report for it. */
struct decode_case {
	const char *name;
	enum x86_mode mode;
	uint8_t bytes[16];
	uint8_t nbytes;
	uint8_t length;
	enum x86_op op;
	uint8_t op_size, rm_size, addr_size;
	enum x86_reg reg;
	bool reg_is_dest;
	enum x86_operand_kind rm_kind;
	enum x86_reg rm_reg;
	enum x86_reg base, index;
	uint8_t scale;
	int64_t disp;
	bool rip_relative;
	enum x86_segment seg;
	bool seg_override;
	bool has_imm;
	int64_t imm;
	uint8_t imm_size;
	enum x86_rep rep;
	bool lock;
	uint8_t rex;
};

#define BYTES(...) .bytes = { __VA_ARGS__ }, .nbytes = sizeof((uint8_t[]){ __VA_ARGS__ })
#define SIZES(o, r, a) .op_size = (o), .rm_size = (r), .addr_size = (a)
#define RM_REG(r) .rm_kind = X86_OPERAND_REG, .rm_reg = (r), .base = NONE, .index = NONE, .scale = 1
#define RM_MEM(b, i, s, d) .rm_kind = X86_OPERAND_MEM, .rm_reg = NONE, .base = (b), .index = (i), \
	.scale = (s), .disp = (d)
#define RM_NONE .rm_kind = X86_OPERAND_NONE, .rm_reg = NONE, .base = NONE, .index = NONE, .scale = 1
#define IMM(v, n) .has_imm = true, .imm = (v), .imm_size = (n)

/* MOV in all its forms (88-8B, C6/C7, A0-A3) and the addressing forms through it. */
static const struct decode_case mov_cases[] = {
	{ "mov [rax], ecx", M64, BYTES(0x89, 0x08), .length = 2, .op = X86_OP_MOV, SIZES(4, 4, 8),
	  .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "mov [rsp], cl (SIB, SS default)", M64, BYTES(0x88, 0x0c, 0x24), .length = 3,
	  .op = X86_OP_MOV, SIZES(1, 1, 8), .reg = X86_REG_RCX, RM_MEM(X86_REG_RSP, NONE, 1, 0),
	  .seg = X86_SEG_SS },
	{ "mov al, [rbp-16]", M64, BYTES(0x8a, 0x45, 0xf0), .length = 3, .op = X86_OP_MOV,
	  SIZES(1, 1, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RBP, NONE, 1, -16),
	  .seg = X86_SEG_SS },
	{ "mov eax, [rax+disp32]", M64, BYTES(0x8b, 0x80, 0x78, 0x56, 0x34, 0x12), .length = 6,
	  .op = X86_OP_MOV, SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0x12345678), .seg = X86_SEG_DS },
	{ "mov rax, [rip+0x1000]", M64, BYTES(0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00), .length = 7,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x1000), .rip_relative = true, .seg = X86_SEG_DS, .rex = 0x48 },
	{ "mov eax, [eip+0x1000] (67)", M64, BYTES(0x67, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00),
	  .length = 7, .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x1000), .rip_relative = true, .seg = X86_SEG_DS },
	{ "mov [rbp+rcx*4+8], r8", M64, BYTES(0x4c, 0x89, 0x44, 0x8d, 0x08), .length = 5,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_R8, RM_MEM(X86_REG_RBP, X86_REG_RCX, 4, 8),
	  .seg = X86_SEG_SS, .rex = 0x4c },
	{ "mov eax, [r12*4-0x20000] (no base)", M64,
	  BYTES(0x42, 0x8b, 0x04, 0xa5, 0x00, 0x00, 0xfe, 0xff), .length = 8, .op = X86_OP_MOV,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, X86_REG_R12, 4, -0x20000), .seg = X86_SEG_DS, .rex = 0x42 },
	{ "mov rax, [r13+0] (r13 needs a disp8)", M64, BYTES(0x49, 0x8b, 0x45, 0x00), .length = 4,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_R13, NONE, 1, 0), .seg = X86_SEG_DS, .rex = 0x49 },
	{ "mov rax, [r12] (r12 needs a SIB)", M64, BYTES(0x49, 0x8b, 0x04, 0x24), .length = 4,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_R12, NONE, 1, 0), .seg = X86_SEG_DS, .rex = 0x49 },
	{ "mov eax, [0x100] (REX.B not decoded for SIB base 101)", M64,
	  BYTES(0x41, 0x8b, 0x04, 0x25, 0x00, 0x01, 0x00, 0x00), .length = 8, .op = X86_OP_MOV,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(NONE, NONE, 1, 0x100),
	  .seg = X86_SEG_DS, .rex = 0x41 },
	{ "mov eax, [r12*1] (REX.X: index 100 is r12)", M64, BYTES(0x42, 0x8b, 0x04, 0x20),
	  .length = 4, .op = X86_OP_MOV, SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, X86_REG_R12, 1, 0), .seg = X86_SEG_DS, .rex = 0x42 },
	{ "mov byte [rip+0x10], 0x7f", M64, BYTES(0xc6, 0x05, 0x10, 0x00, 0x00, 0x00, 0x7f),
	  .length = 7, .op = X86_OP_MOV, SIZES(1, 1, 8), .reg = NONE, RM_MEM(NONE, NONE, 1, 0x10),
	  .rip_relative = true, .seg = X86_SEG_DS, IMM(0x7f, 1) },
	{ "mov word [rax], 0x1234", M64, BYTES(0x66, 0xc7, 0x00, 0x34, 0x12), .length = 5,
	  .op = X86_OP_MOV, SIZES(2, 2, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(0x1234, 2) },
	{ "mov qword [rax], -1 (imm32 sign-extended)", M64,
	  BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff), .length = 7, .op = X86_OP_MOV,
	  SIZES(8, 8, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  IMM(-1, 4), .rex = 0x48 },
	{ "mov dword [rax], 0x80000000", M64, BYTES(0xc7, 0x00, 0x00, 0x00, 0x00, 0x80), .length = 6,
	  .op = X86_OP_MOV, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(INT64_C(-0x80000000), 4) },
	{ "mov al, [moffs64]", M64, BYTES(0xa0, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
	  .length = 9, .op = X86_OP_MOV, SIZES(1, 1, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x1122334455667788), .seg = X86_SEG_DS },
	{ "mov eax, [moffs32] (67 in 64-bit mode)", M64, BYTES(0x67, 0xa1, 0x44, 0x33, 0x22, 0x11),
	  .length = 6, .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x11223344), .seg = X86_SEG_DS },
	{ "mov eax, [moffs32] (32-bit mode)", M32, BYTES(0xa1, 0x44, 0x33, 0x22, 0x11), .length = 5,
	  .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x11223344), .seg = X86_SEG_DS },
	{ "mov ax, [moffs16] (16-bit mode)", M16, BYTES(0xa1, 0x34, 0x12), .length = 3,
	  .op = X86_OP_MOV, SIZES(2, 2, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x1234), .seg = X86_SEG_DS },
	{ "mov ax, [moffs32] (67 in 16-bit mode)", M16, BYTES(0x67, 0xa1, 0x44, 0x33, 0x22, 0x11),
	  .length = 6, .op = X86_OP_MOV, SIZES(2, 2, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x11223344), .seg = X86_SEG_DS },
	{ "mov [moffs64], rax", M64,
	  BYTES(0x48, 0xa3, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), .length = 10,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, RM_MEM(NONE, NONE, 1, 0x1122334455667788),
	  .seg = X86_SEG_DS, .rex = 0x48 },
	{ "mov [moffs32], eax (offset zero-extended)", M32, BYTES(0xa3, 0xff, 0xff, 0xff, 0xff),
	  .length = 5, .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX,
	  RM_MEM(NONE, NONE, 1, 0xffffffff), .seg = X86_SEG_DS },
	{ "mov [moffs16], al (16-bit mode)", M16, BYTES(0xa2, 0xfe, 0xff), .length = 3,
	  .op = X86_OP_MOV, SIZES(1, 1, 2), .reg = X86_REG_RAX, RM_MEM(NONE, NONE, 1, 0xfffe),
	  .seg = X86_SEG_DS },
	{ "mov al, ah (no REX: AH)", M64, BYTES(0x88, 0xe0), .length = 2, .op = X86_OP_MOV,
	  SIZES(1, 1, 8), .reg = X86_REG_AH, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS },
	{ "mov al, spl (REX: SPL)", M64, BYTES(0x40, 0x88, 0xe0), .length = 3, .op = X86_OP_MOV,
	  SIZES(1, 1, 8), .reg = X86_REG_RSP, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, .rex = 0x40 },
	{ "mov dil, r8b", M64, BYTES(0x44, 0x88, 0xc7), .length = 3, .op = X86_OP_MOV,
	  SIZES(1, 1, 8), .reg = X86_REG_R8, RM_REG(X86_REG_RDI), .seg = X86_SEG_DS, .rex = 0x44 },
	{ "mov bh, [rsi] (32-bit mode)", M32, BYTES(0x8a, 0x3e), .length = 2, .op = X86_OP_MOV,
	  SIZES(1, 1, 4), .reg = X86_REG_BH, .reg_is_dest = true, RM_MEM(X86_REG_RSI, NONE, 1, 0),
	  .seg = X86_SEG_DS },
};

/* MOVZX, MOVSX, MOVSXD, MOVS and STOS. */
static const struct decode_case move_cases[] = {
	{ "movzx eax, byte [rdi]", M64, BYTES(0x0f, 0xb6, 0x07), .length = 3, .op = X86_OP_MOVZX,
	  SIZES(4, 1, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RDI, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "movzx rax, word [rsi]", M64, BYTES(0x48, 0x0f, 0xb7, 0x06), .length = 4,
	  .op = X86_OP_MOVZX, SIZES(8, 2, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RSI, NONE, 1, 0), .seg = X86_SEG_DS, .rex = 0x48 },
	{ "movzx ax, ah", M64, BYTES(0x66, 0x0f, 0xb6, 0xc4), .length = 4, .op = X86_OP_MOVZX,
	  SIZES(2, 1, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_REG(X86_REG_AH),
	  .seg = X86_SEG_DS },
	{ "movsx eax, byte [rcx+1]", M64, BYTES(0x0f, 0xbe, 0x41, 0x01), .length = 4,
	  .op = X86_OP_MOVSX, SIZES(4, 1, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RCX, NONE, 1, 1), .seg = X86_SEG_DS },
	{ "movsx ecx, word [rdx]", M64, BYTES(0x0f, 0xbf, 0x0a), .length = 3, .op = X86_OP_MOVSX,
	  SIZES(4, 2, 8), .reg = X86_REG_RCX, .reg_is_dest = true, RM_MEM(X86_REG_RDX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "movsx ax, byte [bx] (16-bit mode)", M16, BYTES(0x0f, 0xbe, 0x07), .length = 3,
	  .op = X86_OP_MOVSX, SIZES(2, 1, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "movsxd rax, dword [rbx]", M64, BYTES(0x48, 0x63, 0x03), .length = 3, .op = X86_OP_MOVSXD,
	  SIZES(8, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RBX, NONE, 1, 0),
	  .seg = X86_SEG_DS, .rex = 0x48 },
	{ "movsxd eax, dword [rbx] (no REX.W)", M64, BYTES(0x63, 0x03), .length = 2,
	  .op = X86_OP_MOVSXD, SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "movsb", M64, BYTES(0xa4), .length = 1, .op = X86_OP_MOVS, SIZES(1, 1, 8), .reg = NONE,
	  RM_NONE, .seg = X86_SEG_DS },
	{ "rep movsq", M64, BYTES(0xf3, 0x48, 0xa5), .length = 3, .op = X86_OP_MOVS, SIZES(8, 8, 8),
	  .reg = NONE, RM_NONE, .seg = X86_SEG_DS, .rep = X86_REP_REPE, .rex = 0x48 },
	{ "movsw with FS source", M64, BYTES(0x64, 0x66, 0xa5), .length = 3, .op = X86_OP_MOVS,
	  SIZES(2, 2, 8), .reg = NONE, RM_NONE, .seg = X86_SEG_FS, .seg_override = true },
	{ "repne movsd", M64, BYTES(0xf2, 0xa5), .length = 2, .op = X86_OP_MOVS, SIZES(4, 4, 8),
	  .reg = NONE, RM_NONE, .seg = X86_SEG_DS, .rep = X86_REP_REPNE },
	{ "movsb with ES source (32-bit mode)", M32, BYTES(0x26, 0xa4), .length = 2,
	  .op = X86_OP_MOVS, SIZES(1, 1, 4), .reg = NONE, RM_NONE, .seg = X86_SEG_ES,
	  .seg_override = true },
	{ "movsb, ES override ignored (64-bit mode)", M64, BYTES(0x26, 0xa4), .length = 2,
	  .op = X86_OP_MOVS, SIZES(1, 1, 8), .reg = NONE, RM_NONE, .seg = X86_SEG_DS },
	{ "rep movsw (16-bit mode)", M16, BYTES(0xf3, 0xa5), .length = 2, .op = X86_OP_MOVS,
	  SIZES(2, 2, 2), .reg = NONE, RM_NONE, .seg = X86_SEG_DS, .rep = X86_REP_REPE },
	{ "stosb", M64, BYTES(0xaa), .length = 1, .op = X86_OP_STOS, SIZES(1, 1, 8), .reg = NONE,
	  RM_NONE, .seg = X86_SEG_ES },
	{ "rep stosd with 67", M64, BYTES(0xf3, 0x67, 0xab), .length = 3, .op = X86_OP_STOS,
	  SIZES(4, 4, 4), .reg = NONE, RM_NONE, .seg = X86_SEG_ES, .rep = X86_REP_REPE },
	{ "stosb: FS does not override ES", M64, BYTES(0x64, 0xaa), .length = 2, .op = X86_OP_STOS,
	  SIZES(1, 1, 8), .reg = NONE, RM_NONE, .seg = X86_SEG_ES },
};

/* ADD/OR/ADC/SBB/AND/SUB/XOR/CMP, TEST, XCHG. */
static const struct decode_case alu_cases[] = {
	{ "add [rax], ecx", M64, BYTES(0x01, 0x08), .length = 2, .op = X86_OP_ADD, SIZES(4, 4, 8),
	  .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "lock add [rax], ecx", M64, BYTES(0xf0, 0x01, 0x08), .length = 3, .op = X86_OP_ADD,
	  SIZES(4, 4, 8), .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  .lock = true },
	{ "add ecx, [rax]", M64, BYTES(0x03, 0x08), .length = 2, .op = X86_OP_ADD, SIZES(4, 4, 8),
	  .reg = X86_REG_RCX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "add al, 0x80", M64, BYTES(0x04, 0x80), .length = 2, .op = X86_OP_ADD, SIZES(1, 1, 8),
	  .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(-0x80, 1) },
	{ "add eax, imm32", M64, BYTES(0x05, 0x78, 0x56, 0x34, 0x12), .length = 5, .op = X86_OP_ADD,
	  SIZES(4, 4, 8), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(0x12345678, 4) },
	{ "add rax, imm32 sign-extended", M64, BYTES(0x48, 0x05, 0x00, 0x00, 0x00, 0x80),
	  .length = 6, .op = X86_OP_ADD, SIZES(8, 8, 8), .reg = NONE, RM_REG(X86_REG_RAX),
	  .seg = X86_SEG_DS, IMM(INT64_C(-0x80000000), 4), .rex = 0x48 },
	{ "add ax, imm16", M64, BYTES(0x66, 0x05, 0x34, 0x12), .length = 4, .op = X86_OP_ADD,
	  SIZES(2, 2, 8), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(0x1234, 2) },
	{ "or byte [rax], 1", M64, BYTES(0x80, 0x08, 0x01), .length = 3, .op = X86_OP_OR,
	  SIZES(1, 1, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  IMM(1, 1) },
	{ "adc dword [rax], 1 (group 1 /2)", M64, BYTES(0x81, 0x10, 0x01, 0x00, 0x00, 0x00),
	  .length = 6, .op = X86_OP_ADC, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(1, 4) },
	{ "sbb dword [rax], 1 (group 1 /3)", M64, BYTES(0x83, 0x18, 0x01), .length = 3,
	  .op = X86_OP_SBB, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(1, 1) },
	{ "and dword [rax], 0xff", M64, BYTES(0x81, 0x20, 0xff, 0x00, 0x00, 0x00), .length = 6,
	  .op = X86_OP_AND, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(0xff, 4) },
	{ "sub word [rax], imm16 (group 1 /5)", M64, BYTES(0x66, 0x81, 0x28, 0x00, 0x80),
	  .length = 5, .op = X86_OP_SUB, SIZES(2, 2, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(-0x8000, 2) },
	{ "xor dword [rax], -1 (imm8 sign-extended)", M64, BYTES(0x83, 0x30, 0xff), .length = 3,
	  .op = X86_OP_XOR, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(-1, 1) },
	{ "cmp qword [rax], 0", M64, BYTES(0x48, 0x83, 0x38, 0x00), .length = 4, .op = X86_OP_CMP,
	  SIZES(8, 8, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  IMM(0, 1), .rex = 0x48 },
	{ "adc [rax], cx", M64, BYTES(0x66, 0x11, 0x08), .length = 3, .op = X86_OP_ADC,
	  SIZES(2, 2, 8), .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "sbb cl, [rax]", M64, BYTES(0x1a, 0x08), .length = 2, .op = X86_OP_SBB, SIZES(1, 1, 8),
	  .reg = X86_REG_RCX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "sub [rax], rcx", M64, BYTES(0x48, 0x29, 0x08), .length = 3, .op = X86_OP_SUB,
	  SIZES(8, 8, 8), .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  .rex = 0x48 },
	{ "xor ecx, [rax]", M64, BYTES(0x33, 0x08), .length = 2, .op = X86_OP_XOR, SIZES(4, 4, 8),
	  .reg = X86_REG_RCX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "or eax, imm32 (0D)", M32, BYTES(0x0d, 0x01, 0x00, 0x00, 0x00), .length = 5,
	  .op = X86_OP_OR, SIZES(4, 4, 4), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS,
	  IMM(1, 4) },
	{ "and al, 0x0f (24)", M16, BYTES(0x24, 0x0f), .length = 2, .op = X86_OP_AND,
	  SIZES(1, 1, 2), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(0x0f, 1) },
	{ "cmp [rax], cl", M64, BYTES(0x38, 0x08), .length = 2, .op = X86_OP_CMP, SIZES(1, 1, 8),
	  .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "cmp eax, [rbx] (3B)", M32, BYTES(0x3b, 0x03), .length = 2, .op = X86_OP_CMP,
	  SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RBX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "cmp ax, imm16 (3D, 16-bit mode)", M16, BYTES(0x3d, 0xff, 0x7f), .length = 3,
	  .op = X86_OP_CMP, SIZES(2, 2, 2), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS,
	  IMM(0x7fff, 2) },
	{ "lock sub dword [rax], 1", M64, BYTES(0xf0, 0x81, 0x28, 0x01, 0x00, 0x00, 0x00),
	  .length = 7, .op = X86_OP_SUB, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(1, 4), .lock = true },
	{ "test [rax], al", M64, BYTES(0x84, 0x00), .length = 2, .op = X86_OP_TEST, SIZES(1, 1, 8),
	  .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "test [rax], eax", M64, BYTES(0x85, 0x00), .length = 2, .op = X86_OP_TEST, SIZES(4, 4, 8),
	  .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "test byte [rax], 1", M64, BYTES(0xf6, 0x00, 0x01), .length = 3, .op = X86_OP_TEST,
	  SIZES(1, 1, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  IMM(1, 1) },
	{ "test dword [rax], 0x80000000", M64, BYTES(0xf7, 0x00, 0x00, 0x00, 0x00, 0x80),
	  .length = 6, .op = X86_OP_TEST, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(INT64_C(-0x80000000), 4) },
	{ "test al, 1", M64, BYTES(0xa8, 0x01), .length = 2, .op = X86_OP_TEST, SIZES(1, 1, 8),
	  .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(1, 1) },
	{ "test ax, 0x1234", M64, BYTES(0x66, 0xa9, 0x34, 0x12), .length = 4, .op = X86_OP_TEST,
	  SIZES(2, 2, 8), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS, IMM(0x1234, 2) },
	{ "xchg [rax], al", M64, BYTES(0x86, 0x00), .length = 2, .op = X86_OP_XCHG, SIZES(1, 1, 8),
	  .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "xchg [rax], eax", M64, BYTES(0x87, 0x00), .length = 2, .op = X86_OP_XCHG, SIZES(4, 4, 8),
	  .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "lock xchg [rax], rax", M64, BYTES(0xf0, 0x48, 0x87, 0x00), .length = 4,
	  .op = X86_OP_XCHG, SIZES(8, 8, 8), .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, .lock = true, .rex = 0x48 },
	{ "xchg ah, bl", M32, BYTES(0x86, 0xe3), .length = 2, .op = X86_OP_XCHG, SIZES(1, 1, 4),
	  .reg = X86_REG_AH, RM_REG(X86_REG_RBX), .seg = X86_SEG_DS },
};

/* BT, BTS, BTR, BTC. */
static const struct decode_case bit_cases[] = {
	{ "bt [rax], eax", M64, BYTES(0x0f, 0xa3, 0x00), .length = 3, .op = X86_OP_BT,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "bts [rax], eax", M64, BYTES(0x0f, 0xab, 0x00), .length = 3, .op = X86_OP_BTS,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "btr [rax], ax", M64, BYTES(0x66, 0x0f, 0xb3, 0x00), .length = 4, .op = X86_OP_BTR,
	  SIZES(2, 2, 8), .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "btc [rax], rax", M64, BYTES(0x48, 0x0f, 0xbb, 0x00), .length = 4, .op = X86_OP_BTC,
	  SIZES(8, 8, 8), .reg = X86_REG_RAX, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  .rex = 0x48 },
	{ "bt dword [rax], 5", M64, BYTES(0x0f, 0xba, 0x20, 0x05), .length = 4, .op = X86_OP_BT,
	  SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS,
	  IMM(5, 1) },
	{ "bts dword [rax], 6 (/5)", M64, BYTES(0x0f, 0xba, 0x28, 0x06), .length = 4,
	  .op = X86_OP_BTS, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(6, 1) },
	{ "btr dword [rax], 7 (/6)", M64, BYTES(0x0f, 0xba, 0x30, 0x07), .length = 4,
	  .op = X86_OP_BTR, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(7, 1) },
	{ "bt eax, 0xff (imm8 zero-extended)", M64, BYTES(0x0f, 0xba, 0xe0, 0xff), .length = 4,
	  .op = X86_OP_BT, SIZES(4, 4, 8), .reg = NONE, RM_REG(X86_REG_RAX), .seg = X86_SEG_DS,
	  IMM(0xff, 1) },
	{ "lock btc dword [rax], 31", M64, BYTES(0xf0, 0x0f, 0xba, 0x38, 0x1f), .length = 5,
	  .op = X86_OP_BTC, SIZES(4, 4, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(31, 1), .lock = true },
};

/* 16-bit addressing (Table 2-1), and 32-bit addressing outside 64-bit mode. */
static const struct decode_case addressing_cases[] = {
	{ "mov ax, [bx+si]", M16, BYTES(0x8b, 0x00), .length = 2, .op = X86_OP_MOV, SIZES(2, 2, 2),
	  .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RBX, X86_REG_RSI, 1, 0),
	  .seg = X86_SEG_DS },
	{ "mov ax, [bp+di] (SS)", M16, BYTES(0x8b, 0x03), .length = 2, .op = X86_OP_MOV,
	  SIZES(2, 2, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBP, X86_REG_RDI, 1, 0), .seg = X86_SEG_SS },
	{ "mov ax, [bp+2]", M16, BYTES(0x8b, 0x46, 0x02), .length = 3, .op = X86_OP_MOV,
	  SIZES(2, 2, 2), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RBP, NONE, 1, 2),
	  .seg = X86_SEG_SS },
	{ "mov ax, [0x1234] (mod 00 r/m 110)", M16, BYTES(0x8b, 0x06, 0x34, 0x12), .length = 4,
	  .op = X86_OP_MOV, SIZES(2, 2, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x1234), .seg = X86_SEG_DS },
	{ "mov ax, [bp+si-2] (disp16)", M16, BYTES(0x8b, 0x82, 0xfe, 0xff), .length = 4,
	  .op = X86_OP_MOV, SIZES(2, 2, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBP, X86_REG_RSI, 1, -2), .seg = X86_SEG_SS },
	{ "mov [bx-1], dl", M16, BYTES(0x88, 0x57, 0xff), .length = 3, .op = X86_OP_MOV,
	  SIZES(1, 1, 2), .reg = X86_REG_RDX, RM_MEM(X86_REG_RBX, NONE, 1, -1), .seg = X86_SEG_DS },
	{ "mov [si], cx", M16, BYTES(0x89, 0x0c), .length = 2, .op = X86_OP_MOV, SIZES(2, 2, 2),
	  .reg = X86_REG_RCX, RM_MEM(X86_REG_RSI, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "mov [di], cx", M16, BYTES(0x89, 0x0d), .length = 2, .op = X86_OP_MOV, SIZES(2, 2, 2),
	  .reg = X86_REG_RCX, RM_MEM(X86_REG_RDI, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "mov eax, [bx+si] (66 in 16-bit mode)", M16, BYTES(0x66, 0x8b, 0x00), .length = 3,
	  .op = X86_OP_MOV, SIZES(4, 4, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBX, X86_REG_RSI, 1, 0), .seg = X86_SEG_DS },
	{ "mov ax, [esp] (67 in 16-bit mode)", M16, BYTES(0x67, 0x8b, 0x04, 0x24), .length = 4,
	  .op = X86_OP_MOV, SIZES(2, 2, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RSP, NONE, 1, 0), .seg = X86_SEG_SS },
	{ "mov eax, [bx+si] (67 in 32-bit mode)", M32, BYTES(0x67, 0x8b, 0x00), .length = 3,
	  .op = X86_OP_MOV, SIZES(4, 4, 2), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBX, X86_REG_RSI, 1, 0), .seg = X86_SEG_DS },
	{ "mov eax, [0x12345678] (absolute in 32-bit mode)", M32,
	  BYTES(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), .length = 6, .op = X86_OP_MOV, SIZES(4, 4, 4),
	  .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(NONE, NONE, 1, 0x12345678),
	  .seg = X86_SEG_DS },
	{ "mov ax, [eax] (66 in 32-bit mode)", M32, BYTES(0x66, 0x8b, 0x00), .length = 3,
	  .op = X86_OP_MOV, SIZES(2, 2, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "mov [ebp+esi*8-128], edi", M32, BYTES(0x89, 0x7c, 0xf5, 0x80), .length = 4,
	  .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RDI,
	  RM_MEM(X86_REG_RBP, X86_REG_RSI, 8, -128), .seg = X86_SEG_SS },
	{ "mov eax, [ecx*2+disp32] (32-bit mode)", M32,
	  BYTES(0x8b, 0x04, 0x4d, 0x00, 0x10, 0x00, 0x00), .length = 7, .op = X86_OP_MOV,
	  SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, X86_REG_RCX, 2, 0x1000), .seg = X86_SEG_DS },
};

/* Segment overrides and REX placement. */
static const struct decode_case prefix_cases[] = {
	{ "fs: mov eax, [rax]", M64, BYTES(0x64, 0x8b, 0x00), .length = 3, .op = X86_OP_MOV,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_FS, .seg_override = true },
	{ "gs: mov rax, [0x100]", M64, BYTES(0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x01, 0x00, 0x00),
	  .length = 9, .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(NONE, NONE, 1, 0x100), .seg = X86_SEG_GS, .seg_override = true, .rex = 0x48 },
	{ "cs: ignored in 64-bit mode", M64, BYTES(0x2e, 0x8b, 0x00), .length = 3, .op = X86_OP_MOV,
	  SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS },
	{ "ds: on [rbp] ignored in 64-bit mode (stays SS)", M64, BYTES(0x3e, 0x8b, 0x45, 0x00),
	  .length = 4, .op = X86_OP_MOV, SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBP, NONE, 1, 0), .seg = X86_SEG_SS },
	{ "fs: then ss: (64-bit: ss ignored)", M64, BYTES(0x64, 0x36, 0x8b, 0x00), .length = 4,
	  .op = X86_OP_MOV, SIZES(4, 4, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_FS, .seg_override = true },
	{ "fs: then ss: (32-bit: the last wins)", M32, BYTES(0x64, 0x36, 0x8b, 0x00), .length = 4,
	  .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_SS, .seg_override = true },
	{ "cs: (32-bit mode)", M32, BYTES(0x2e, 0x8b, 0x00), .length = 3, .op = X86_OP_MOV,
	  SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_CS, .seg_override = true },
	{ "es: (16-bit mode)", M16, BYTES(0x26, 0x89, 0x07), .length = 3, .op = X86_OP_MOV,
	  SIZES(2, 2, 2), .reg = X86_REG_RAX, RM_MEM(X86_REG_RBX, NONE, 1, 0), .seg = X86_SEG_ES,
	  .seg_override = true },
	{ "ds: on [ebp] (32-bit: DS instead of SS)", M32, BYTES(0x3e, 0x8b, 0x45, 0x00),
	  .length = 4, .op = X86_OP_MOV, SIZES(4, 4, 4), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RBP, NONE, 1, 0), .seg = X86_SEG_DS, .seg_override = true },
	{ "REX before a legacy prefix is ignored", M64, BYTES(0x48, 0x66, 0x8b, 0x00), .length = 4,
	  .op = X86_OP_MOV, SIZES(2, 2, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS },
	{ "two REX: the last one counts", M64, BYTES(0x41, 0x48, 0x8b, 0x00), .length = 4,
	  .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true,
	  RM_MEM(X86_REG_RAX, NONE, 1, 0), .seg = X86_SEG_DS, .rex = 0x48 },
	{ "REX.W beats 66", M64, BYTES(0x66, 0x48, 0x8b, 0x00), .length = 4, .op = X86_OP_MOV,
	  SIZES(8, 8, 8), .reg = X86_REG_RAX, .reg_is_dest = true, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, .rex = 0x48 },
	{ "REX.R and REX.B with a 0F opcode", M64, BYTES(0x45, 0x0f, 0xb6, 0x08), .length = 4,
	  .op = X86_OP_MOVZX, SIZES(4, 1, 8), .reg = X86_REG_R9, .reg_is_dest = true,
	  RM_MEM(X86_REG_R8, NONE, 1, 0), .seg = X86_SEG_DS, .rex = 0x45 },
	{ "repeated prefixes", M64, BYTES(0x66, 0x66, 0x2e, 0x3e, 0xf3, 0x89, 0x08), .length = 7,
	  .op = X86_OP_MOV, SIZES(2, 2, 8), .reg = X86_REG_RCX, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, .rep = X86_REP_REPE },
	{ "F2 then F3: the last wins", M64, BYTES(0xf2, 0xf3, 0xa4), .length = 3, .op = X86_OP_MOVS,
	  SIZES(1, 1, 8), .reg = NONE, RM_NONE, .seg = X86_SEG_DS, .rep = X86_REP_REPE },
	{ "15 bytes exactly", M64,
	  BYTES(0x66, 0x66, 0x66, 0x2e, 0x48, 0xc7, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
		0x00),
	  .length = 15, .op = X86_OP_MOV, SIZES(8, 8, 8), .reg = NONE, RM_MEM(X86_REG_RAX, NONE, 1, 0),
	  .seg = X86_SEG_DS, IMM(1, 4), .rex = 0x48 },
};

/** Fails the running test, naming the case and the field that differs. */
static void expect_field(const struct decode_case *c, const char *field, int64_t actual,
			 int64_t expected)
{
	if (actual != expected) {
		fail_msg("%s: %s is %lld (0x%llx), expected %lld (0x%llx)", c->name, field,
			 (long long)actual, (unsigned long long)actual, (long long)expected,
			 (unsigned long long)expected);
	}
}

/** Decodes length bytes from an exactly-sized heap copy (ASan sees any over-read). */
static enum x86_decode_status decode_exact(const uint8_t *bytes, size_t length, enum x86_mode mode,
					   struct x86_insn *insn)
{
	uint8_t *copy = malloc(length > 0 ? length : 1);
	enum x86_decode_status status;

	assert_non_null(copy);
	memcpy(copy, bytes, length);
	status = x86_decode(length > 0 ? copy : copy + 1, length, mode, insn);
	free(copy);
	return status;
}

/** Checks the operand fields of one decoded case. */
static void check_operands(const struct decode_case *c, const struct x86_insn *insn)
{
	expect_field(c, "reg", insn->reg, c->reg);
	expect_field(c, "reg_is_dest", insn->reg_is_dest, c->reg_is_dest);
	expect_field(c, "rm.kind", insn->rm.kind, c->rm_kind);
	expect_field(c, "rm.reg", insn->rm.reg, c->rm_reg);
	expect_field(c, "base", insn->rm.mem.base, c->base);
	expect_field(c, "index", insn->rm.mem.index, c->index);
	expect_field(c, "scale", insn->rm.mem.scale, c->scale);
	expect_field(c, "disp", insn->rm.mem.disp, c->disp);
	expect_field(c, "rip_relative", insn->rm.mem.rip_relative, c->rip_relative);
	expect_field(c, "seg", insn->seg, c->seg);
	expect_field(c, "mem.seg", insn->rm.mem.seg, c->seg);
	expect_field(c, "seg_override", insn->seg_override, c->seg_override);
	expect_field(c, "has_imm", insn->has_imm, c->has_imm);
	expect_field(c, "imm", insn->imm, c->imm);
	expect_field(c, "imm_size", insn->imm_size, c->imm_size);
}

/**
 * Decodes one case and checks every field; then checks that each shorter
 * buffer is refused as truncated and that trailing bytes change nothing.
 */
static void check_case(const struct decode_case *c)
{
	uint8_t padded[32];
	struct x86_insn insn, longer;
	enum x86_decode_status status = decode_exact(c->bytes, c->nbytes, c->mode, &insn);

	if (status != X86_DECODE_OK) {
		fail_msg("%s: refused (%s: %s)", c->name, x86_decode_status_name(status), insn.reason);
	}
	assert_null(insn.reason);
	expect_field(c, "length", insn.length, c->length);
	expect_field(c, "op", insn.op, c->op);
	expect_field(c, "op_size", insn.op_size, c->op_size);
	expect_field(c, "rm_size", insn.rm_size, c->rm_size);
	expect_field(c, "addr_size", insn.addr_size, c->addr_size);
	expect_field(c, "mode", insn.mode, c->mode);
	expect_field(c, "rep", insn.rep, c->rep);
	expect_field(c, "lock", insn.lock, c->lock);
	expect_field(c, "rex", insn.rex, c->rex);
	check_operands(c, &insn);
	for (size_t n = 0; n < c->nbytes; n++) {
		expect_field(c, "truncated status", decode_exact(c->bytes, n, c->mode, &longer),
			     X86_DECODE_TRUNCATED);
	}
	memset(padded, 0x90, sizeof(padded));
	memcpy(padded, c->bytes, c->nbytes);
	expect_field(c, "status with trailing bytes", x86_decode(padded, sizeof(padded), c->mode, &longer),
		     X86_DECODE_OK);
	expect_field(c, "same result with trailing bytes", memcmp(&insn, &longer, sizeof(insn)), 0);
}

/** Runs check_case over a table. */
static void check_cases(const struct decode_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		check_case(&cases[i]);
	}
}

/** MOV: every opcode, every addressing form, moffs widths, byte registers. */
static void test_decode_mov_forms(void **state)
{
	check_cases(mov_cases, ARRAY_SIZE(mov_cases));
}

/** MOVZX, MOVSX, MOVSXD, MOVS and STOS. */
static void test_decode_move_forms(void **state)
{
	check_cases(move_cases, ARRAY_SIZE(move_cases));
}

/** The ALU rows 00-3D, group 1 (80/81/83), TEST and XCHG. */
static void test_decode_alu_forms(void **state)
{
	check_cases(alu_cases, ARRAY_SIZE(alu_cases));
}

/** BT/BTS/BTR/BTC with register and immediate bit offsets. */
static void test_decode_bit_forms(void **state)
{
	check_cases(bit_cases, ARRAY_SIZE(bit_cases));
}

/** 16-bit addressing and 32-bit addressing outside 64-bit mode. */
static void test_decode_addressing_forms(void **state)
{
	check_cases(addressing_cases, ARRAY_SIZE(addressing_cases));
}

/** Segment overrides, REX placement, repeated prefixes, the 15-byte maximum. */
static void test_decode_prefixes(void **state)
{
	check_cases(prefix_cases, ARRAY_SIZE(prefix_cases));
}

/** Every row of the ALU map decodes to its operation in all six forms. */
static void test_decode_alu_map_rows(void **state)
{
	static const enum x86_op rows[8] = { X86_OP_ADD, X86_OP_OR, X86_OP_ADC, X86_OP_SBB,
					     X86_OP_AND, X86_OP_SUB, X86_OP_XOR, X86_OP_CMP };
	static const uint8_t lengths[6] = { 2, 2, 2, 2, 2, 5 };
	static const uint8_t sizes[6] = { 1, 4, 1, 4, 1, 4 };
	struct x86_insn insn;

	for (unsigned int row = 0; row < 8; row++) {
		for (unsigned int form = 0; form < 6; form++) {
			uint8_t bytes[5] = { (uint8_t)(row * 8 + form), 0x08, 0, 0, 0 };

			assert_int_equal(x86_decode(bytes, sizeof(bytes), M32, &insn), X86_DECODE_OK);
			assert_int_equal(insn.op, rows[row]);
			assert_int_equal(insn.length, lengths[form]);
			assert_int_equal(insn.op_size, sizes[form]);
			assert_int_equal(insn.reg_is_dest, form == 2 || form == 3);
			assert_int_equal(insn.rm.kind, form >= 4 ? X86_OPERAND_REG : X86_OPERAND_MEM);
		}
	}
	/* Group 1 /n selects the operation of row n. */
	for (unsigned int row = 0; row < 8; row++) {
		uint8_t group[3] = { 0x83, (uint8_t)(row << 3), 0x01 };

		assert_int_equal(x86_decode(group, sizeof(group), M64, &insn), X86_DECODE_OK);
		assert_int_equal(insn.op, rows[row]);
	}
}

/** A refusal: the bytes, the mode and the status expected. */
struct refusal_case {
	const char *name;
	enum x86_mode mode;
	uint8_t bytes[20];
	uint8_t nbytes;
	enum x86_decode_status status;
};

static const struct refusal_case refusal_cases[] = {
	{ "mov eax, imm32 (B8: register only)", M64, BYTES(0xb8, 0x78, 0x56, 0x34, 0x12),
	  .status = X86_DECODE_UNSUPPORTED },
	{ "xchg eax, ecx (91)", M64, BYTES(0x91), .status = X86_DECODE_UNSUPPORTED },
	{ "nop", M64, BYTES(0x90), .status = X86_DECODE_UNSUPPORTED },
	{ "syscall", M64, BYTES(0x0f, 0x05), .status = X86_DECODE_UNSUPPORTED },
	{ "not byte [rax] (F6 /2)", M64, BYTES(0xf6, 0x10), .status = X86_DECODE_UNSUPPORTED },
	{ "F6 /1 (undocumented TEST alias)", M64, BYTES(0xf6, 0x08, 0x01),
	  .status = X86_DECODE_UNSUPPORTED },
	{ "C6 /1", M64, BYTES(0xc6, 0x08, 0x00), .status = X86_DECODE_UNSUPPORTED },
	{ "82 (80 alias)", M32, BYTES(0x82, 0x00, 0x01), .status = X86_DECODE_UNSUPPORTED },
	{ "inc eax (40, 32-bit mode)", M32, BYTES(0x40), .status = X86_DECODE_UNSUPPORTED },
	{ "arpl (63, 32-bit mode)", M32, BYTES(0x63, 0x00), .status = X86_DECODE_UNSUPPORTED },
	{ "movsxd with 66", M64, BYTES(0x66, 0x63, 0x00), .status = X86_DECODE_UNSUPPORTED },
	{ "vex (C5)", M64, BYTES(0xc5, 0xf8, 0x77), .status = X86_DECODE_UNSUPPORTED },
	{ "0F BA /0 (undefined)", M64, BYTES(0x0f, 0xba, 0x00, 0x05), .status = X86_DECODE_INVALID },
	{ "0F BA /3 (undefined)", M64, BYTES(0x0f, 0xba, 0x18, 0x05), .status = X86_DECODE_INVALID },
	{ "lock mov", M64, BYTES(0xf0, 0x8b, 0x00), .status = X86_DECODE_INVALID },
	{ "lock mov to memory", M64, BYTES(0xf0, 0x89, 0x00), .status = X86_DECODE_INVALID },
	{ "lock add reg, [mem]", M64, BYTES(0xf0, 0x03, 0x08), .status = X86_DECODE_INVALID },
	{ "lock add register destination", M64, BYTES(0xf0, 0x01, 0xc8),
	  .status = X86_DECODE_INVALID },
	{ "lock add al, imm8", M64, BYTES(0xf0, 0x04, 0x01), .status = X86_DECODE_INVALID },
	{ "lock cmp", M64, BYTES(0xf0, 0x39, 0x08), .status = X86_DECODE_INVALID },
	{ "lock test", M64, BYTES(0xf0, 0x85, 0x00), .status = X86_DECODE_INVALID },
	{ "lock bt", M64, BYTES(0xf0, 0x0f, 0xa3, 0x00), .status = X86_DECODE_INVALID },
	{ "lock bt imm8", M64, BYTES(0xf0, 0x0f, 0xba, 0x20, 0x01), .status = X86_DECODE_INVALID },
	{ "lock movs", M64, BYTES(0xf0, 0xa4), .status = X86_DECODE_INVALID },
	{ "lock stos", M64, BYTES(0xf0, 0xaa), .status = X86_DECODE_INVALID },
	{ "lock movzx", M64, BYTES(0xf0, 0x0f, 0xb6, 0x00), .status = X86_DECODE_INVALID },
	{ "lock xchg register", M64, BYTES(0xf0, 0x87, 0xc0), .status = X86_DECODE_INVALID },
	{ "lock mov moffs", M64, BYTES(0xf0, 0xa2, 0, 0, 0, 0, 0, 0, 0, 0),
	  .status = X86_DECODE_INVALID },
	{ "empty buffer", M64, .nbytes = 0, .status = X86_DECODE_TRUNCATED },
	{ "only prefixes", M64, BYTES(0x66, 0xf3), .status = X86_DECODE_TRUNCATED },
	{ "only REX", M64, BYTES(0x48), .status = X86_DECODE_TRUNCATED },
	{ "only 0F", M64, BYTES(0x0f), .status = X86_DECODE_TRUNCATED },
	{ "no ModRM", M64, BYTES(0xf7), .status = X86_DECODE_TRUNCATED },
	{ "no SIB", M64, BYTES(0x8b, 0x04), .status = X86_DECODE_TRUNCATED },
	{ "short disp32", M64, BYTES(0x8b, 0x80, 0x00), .status = X86_DECODE_TRUNCATED },
	{ "short imm32", M64, BYTES(0xc7, 0x00, 0x01, 0x02, 0x03), .status = X86_DECODE_TRUNCATED },
	{ "short moffs64", M64, BYTES(0xa1, 1, 2, 3, 4, 5, 6, 7), .status = X86_DECODE_TRUNCATED },
	{ "16 prefixes", M64,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66),
	  .status = X86_DECODE_TOO_LONG },
	{ "16 bytes with displacement", M64,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x2e, 0x48, 0xc7, 0x80, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
		0x00, 0x00),
	  .status = X86_DECODE_TOO_LONG },
	{ "19 bytes", M32,
	  BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x89,
		0x80, 0x00, 0x00, 0x00, 0x00),
	  .status = X86_DECODE_TOO_LONG },
};

/** Each refusal gets its status and a reason, from an exactly-sized buffer. */
static void test_decode_refusals(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(refusal_cases); i++) {
		const struct refusal_case *c = &refusal_cases[i];
		struct x86_insn insn;
		enum x86_decode_status status = decode_exact(c->bytes, c->nbytes, c->mode, &insn);

		if (status != c->status) {
			fail_msg("%s: %s (%s), expected %s", c->name, x86_decode_status_name(status),
				 insn.reason != NULL ? insn.reason : "no reason",
				 x86_decode_status_name(c->status));
		}
		assert_non_null(insn.reason);
		assert_true(strlen(insn.reason) > 0);
	}
}

/** A 15-byte instruction cut to 14 bytes is truncated; one more prefix makes it too long. */
static void test_decode_length_limit_versus_truncation(void **state)
{
	const struct decode_case *fifteen = &prefix_cases[ARRAY_SIZE(prefix_cases) - 1];
	uint8_t sixteen[16] = { 0x3e };
	struct x86_insn insn;

	assert_int_equal(fifteen->nbytes, 15);
	assert_int_equal(decode_exact(fifteen->bytes, 14, M64, &insn), X86_DECODE_TRUNCATED);
	memcpy(sixteen + 1, fifteen->bytes, 15);
	assert_int_equal(decode_exact(sixteen, 16, M64, &insn), X86_DECODE_TOO_LONG);
	/* The limit holds whatever the buffer holds: 15 bytes of it suffice to know. */
	assert_int_equal(decode_exact(sixteen, 15, M64, &insn), X86_DECODE_TOO_LONG);
}

/** A REX byte outside 64-bit mode is INC/DEC, and a REX not before the opcode is void. */
static void test_decode_rex_only_in_64bit_mode(void **state)
{
	static const uint8_t rex_mov[] = { 0x48, 0x8b, 0x00 };
	static const uint8_t rex_then_seg[] = { 0x41, 0x64, 0x8b, 0x00 };
	struct x86_insn insn;

	assert_int_equal(x86_decode(rex_mov, sizeof(rex_mov), M32, &insn), X86_DECODE_UNSUPPORTED);
	assert_int_equal(x86_decode(rex_mov, sizeof(rex_mov), M16, &insn), X86_DECODE_UNSUPPORTED);
	assert_int_equal(x86_decode(rex_then_seg, sizeof(rex_then_seg), M64, &insn), X86_DECODE_OK);
	assert_int_equal(insn.rex, 0);
	assert_int_equal(insn.rm.mem.base, X86_REG_RAX); /* REX.B had no effect */
	assert_int_equal(insn.seg, X86_SEG_FS);
}

/** An unknown mode is refused without reading the buffer. */
static void test_decode_invalid_mode(void **state)
{
	static const uint8_t mov[] = { 0x89, 0x08 };
	struct x86_insn insn;

	assert_int_equal(x86_decode(mov, sizeof(mov), (enum x86_mode)7, &insn),
			 X86_DECODE_UNSUPPORTED);
	assert_non_null(insn.reason);
}

/** The status and operation names are fixed strings, "?" out of range. */
static void test_decode_names(void **state)
{
	assert_string_equal(x86_decode_status_name(X86_DECODE_OK), "ok");
	assert_string_equal(x86_decode_status_name(X86_DECODE_TRUNCATED), "truncated");
	assert_string_equal(x86_decode_status_name(X86_DECODE_TOO_LONG), "too long");
	assert_string_equal(x86_decode_status_name(X86_DECODE_INVALID), "invalid");
	assert_string_equal(x86_decode_status_name(X86_DECODE_UNSUPPORTED), "unsupported");
	assert_string_equal(x86_decode_status_name((enum x86_decode_status)99), "?");
	assert_string_equal(x86_op_name(X86_OP_MOVSXD), "movsxd");
	assert_string_equal(x86_op_name(X86_OP_BTC), "btc");
	assert_string_equal(x86_op_name(X86_OP_COUNT), "?");
	for (int op = 0; op < X86_OP_COUNT; op++) {
		assert_non_null(x86_op_name((enum x86_op)op));
	}
}

/** Runs the decoder tests. */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_mov_forms),
		cmocka_unit_test(test_decode_move_forms),
		cmocka_unit_test(test_decode_alu_forms),
		cmocka_unit_test(test_decode_bit_forms),
		cmocka_unit_test(test_decode_addressing_forms),
		cmocka_unit_test(test_decode_prefixes),
		cmocka_unit_test(test_decode_alu_map_rows),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_decode_length_limit_versus_truncation),
		cmocka_unit_test(test_decode_rex_only_in_64bit_mode),
		cmocka_unit_test(test_decode_invalid_mode),
		cmocka_unit_test(test_decode_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
