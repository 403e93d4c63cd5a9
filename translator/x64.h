/* A small x86-64 instruction emitter: just the forms the translator generates.
 *
 * Memory operands are [base + disp32] (any base register, rip-relative is not used). Every
 * emit function appends to a buffer; on overflow the buffer records it and stops writing, so
 * the caller checks `x64_ok()` once at the end of a block instead of after every instruction. */
#ifndef BT86_X64_H
#define BT86_X64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x64_reg {
    X_RAX, X_RCX, X_RDX, X_RBX, X_RSP, X_RBP, X_RSI, X_RDI,
    X_R8, X_R9, X_R10, X_R11, X_R12, X_R13, X_R14, X_R15,
};

/* ALU group numbers, as in the ModRM reg field of opcodes 81/83. */
enum x64_alu { XA_ADD = 0, XA_OR = 1, XA_ADC = 2, XA_SBB = 3, XA_AND = 4, XA_SUB = 5, XA_XOR = 6, XA_CMP = 7 };

/* Condition codes (low nibble of Jcc). */
enum x64_cc { XC_O, XC_NO, XC_B, XC_AE, XC_E, XC_NE, XC_BE, XC_A, XC_S, XC_NS, XC_P, XC_NP, XC_L, XC_GE, XC_LE, XC_G };

struct x64buf {
    uint8_t *start; /* writable view */
    uint8_t *p;
    uint8_t *end;
    bool overflow;
};

static inline void x64_init(struct x64buf *b, uint8_t *start, size_t size)
{
    b->start = b->p = start;
    b->end = start + size;
    b->overflow = false;
}
static inline bool x64_ok(const struct x64buf *b) { return !b->overflow; }
static inline size_t x64_used(const struct x64buf *b) { return (size_t)(b->p - b->start); }

void x64_byte(struct x64buf *b, uint8_t v);
void x64_u32(struct x64buf *b, uint32_t v);

/* Loads and stores between a 32/64-bit register and [base + disp]. */
void x64_load32(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_store32(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src);
void x64_load64(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_store64(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src);
void x64_store32_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint32_t imm);
/* Narrow loads (zero- or sign-extended to 32 bits) and stores. 8-bit stores take their
 * source from AL, CL or DL only (no REX byte, so no SPL..DIL ambiguity). */
void x64_load8zx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_load16zx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_load8sx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_load16sx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_store8(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src);
void x64_store16(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src);
void x64_store8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm);
void x64_store16_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint16_t imm);
void x64_mov_imm64(struct x64buf *b, enum x64_reg dst, uint64_t imm);
void x64_mov_rr64(struct x64buf *b, enum x64_reg dst, enum x64_reg src);

/* dst = dst OP src / imm (32-bit). */
void x64_alu_rr32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, enum x64_reg src);
void x64_alu_ri32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, uint32_t imm);
void x64_test_rr32(struct x64buf *b, enum x64_reg a, enum x64_reg c);
void x64_test_al(struct x64buf *b); /* a bool returned by a call */
void x64_imul_rr32(struct x64buf *b, enum x64_reg dst, enum x64_reg src);
void x64_imul_rri32(struct x64buf *b, enum x64_reg dst, enum x64_reg src, uint32_t imm);
/* 32-bit LEA dst = base + index * (1 << scale) + disp; base/index may be -1 for none. */
void x64_lea32(struct x64buf *b, enum x64_reg dst, int base, int index, unsigned scale, int32_t disp);

/* [base + disp] OP imm (64-bit with imm8, 32-bit with imm32). */
void x64_add_m64_imm8(struct x64buf *b, enum x64_reg base, int32_t disp, int8_t imm);
void x64_cmp_m32_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint32_t imm);
void x64_cmp_m64_imm8(struct x64buf *b, enum x64_reg base, int32_t disp, int8_t imm);

/* dst OP= [base + disp] (32-bit), and 64-bit dst += [base + disp] / src. */
void x64_alu_rm32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_add_rm64(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp);
void x64_add_rr64(struct x64buf *b, enum x64_reg dst, enum x64_reg src);
void x64_mov_rr32(struct x64buf *b, enum x64_reg dst, enum x64_reg src);
void x64_shr_ri32(struct x64buf *b, enum x64_reg r, uint8_t n);
void x64_shl_ri32(struct x64buf *b, enum x64_reg r, uint8_t n);
void x64_sar_ri32(struct x64buf *b, enum x64_reg r, uint8_t n);
/* Shift group by CL (32-bit register) and by an immediate (AL); `ext` is the ModRM.reg
 * extension: 4 SHL, 5 SHR, 7 SAR. */
void x64_shift_cl32(struct x64buf *b, unsigned ext, enum x64_reg r);
void x64_shift_al_imm(struct x64buf *b, unsigned ext, uint8_t n);
/* lahf; then movzx ecx, ah (the arithmetic flags of the last host operation in ECX). */
void x64_lahf_to_ecx(struct x64buf *b);
/* test byte [base + disp], imm8 */
void x64_test_m8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm);

/* 64-bit forms for counters and pointers. */
void x64_add_ri64(struct x64buf *b, enum x64_reg r, int32_t imm);
void x64_cmp_rm64(struct x64buf *b, enum x64_reg r, enum x64_reg base, int32_t disp);
/* cmp byte [base + disp], imm8 */
void x64_cmp_m8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm);
/* movabs with a full 8-byte immediate, to be patched: returns the immediate's offset. */
size_t x64_mov_imm64_patchable(struct x64buf *b, enum x64_reg dst);
void x64_patch_u64(struct x64buf *b, size_t at, uint64_t v);

void x64_push(struct x64buf *b, enum x64_reg r);
void x64_pop(struct x64buf *b, enum x64_reg r);
void x64_call_reg(struct x64buf *b, enum x64_reg r);
void x64_jmp_reg(struct x64buf *b, enum x64_reg r);
void x64_ret(struct x64buf *b);

/* Forward branches: emit with a placeholder, patch once the target is known. Returns the
 * offset of the rel32 field (or 0 after an overflow). */
size_t x64_jcc32(struct x64buf *b, enum x64_cc cc);
size_t x64_jmp32(struct x64buf *b);
void x64_patch_here(struct x64buf *b, size_t rel32_at);
/* Point the rel32 at `rel32_at` to buffer offset `target`. */
void x64_patch_to(struct x64buf *b, size_t rel32_at, size_t target);

#endif
