#include "translator/x64.h"

#include <string.h>

void x64_byte(struct x64buf *b, uint8_t v)
{
    if (b->p >= b->end) {
        b->overflow = true;
        return;
    }
    *b->p++ = v;
}

void x64_u32(struct x64buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        x64_byte(b, (uint8_t)(v >> (8 * i)));
}

static void rex(struct x64buf *b, bool w, unsigned reg, unsigned index, unsigned base)
{
    uint8_t r = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((index & 8) ? 2 : 0) |
                          ((base & 8) ? 1 : 0));
    if (r != 0x40)
        x64_byte(b, r);
}

/* ModRM (+SIB) (+disp) for [base + disp] with `reg` in the reg field. */
static void mem_operand(struct x64buf *b, unsigned reg, unsigned base, int32_t disp)
{
    unsigned rm = base & 7;
    unsigned mod = (disp == 0 && rm != 5) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    x64_byte(b, (uint8_t)(mod << 6 | (reg & 7) << 3 | rm));
    if (rm == 4)
        x64_byte(b, 0x24); /* SIB: no index, base = rsp/r12 */
    if (mod == 1)
        x64_byte(b, (uint8_t)disp);
    else if (mod == 2)
        x64_u32(b, (uint32_t)disp);
}

static void op_mem(struct x64buf *b, bool w, uint8_t opcode, unsigned reg, unsigned base,
                   int32_t disp)
{
    rex(b, w, reg, 0, base);
    x64_byte(b, opcode);
    mem_operand(b, reg, base, disp);
}

void x64_load32(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op_mem(b, false, 0x8B, dst, base, disp);
}

void x64_store32(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src)
{
    op_mem(b, false, 0x89, src, base, disp);
}

void x64_load64(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op_mem(b, true, 0x8B, dst, base, disp);
}

void x64_store64(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src)
{
    op_mem(b, true, 0x89, src, base, disp);
}

void x64_store32_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint32_t imm)
{
    op_mem(b, false, 0xC7, 0, base, disp);
    x64_u32(b, imm);
}

static void op0f_mem(struct x64buf *b, uint8_t opcode, unsigned reg, unsigned base, int32_t disp)
{
    rex(b, false, reg, 0, base);
    x64_byte(b, 0x0F);
    x64_byte(b, opcode);
    mem_operand(b, reg, base, disp);
}

void x64_load8zx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op0f_mem(b, 0xB6, dst, base, disp);
}

void x64_load16zx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op0f_mem(b, 0xB7, dst, base, disp);
}

void x64_load8sx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op0f_mem(b, 0xBE, dst, base, disp);
}

void x64_load16sx(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op0f_mem(b, 0xBF, dst, base, disp);
}

void x64_store8(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src)
{
    if (src > X_RBX) { /* only AL/CL/DL/BL encode without REX */
        b->overflow = true;
        return;
    }
    op_mem(b, false, 0x88, src, base, disp);
}

void x64_store16(struct x64buf *b, enum x64_reg base, int32_t disp, enum x64_reg src)
{
    x64_byte(b, 0x66);
    op_mem(b, false, 0x89, src, base, disp);
}

void x64_store8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm)
{
    op_mem(b, false, 0xC6, 0, base, disp);
    x64_byte(b, imm);
}

void x64_store16_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint16_t imm)
{
    x64_byte(b, 0x66);
    op_mem(b, false, 0xC7, 0, base, disp);
    x64_byte(b, (uint8_t)imm);
    x64_byte(b, (uint8_t)(imm >> 8));
}

void x64_mov_imm64(struct x64buf *b, enum x64_reg dst, uint64_t imm)
{
    if (imm <= 0xFFFFFFFFu) { /* mov r32, imm32 zero-extends */
        rex(b, false, 0, 0, dst);
        x64_byte(b, (uint8_t)(0xB8 + (dst & 7)));
        x64_u32(b, (uint32_t)imm);
        return;
    }
    rex(b, true, 0, 0, dst);
    x64_byte(b, (uint8_t)(0xB8 + (dst & 7)));
    x64_u32(b, (uint32_t)imm);
    x64_u32(b, (uint32_t)(imm >> 32));
}

static void op_rr(struct x64buf *b, bool w, uint8_t opcode, unsigned reg, unsigned rm)
{
    rex(b, w, reg, 0, rm);
    x64_byte(b, opcode);
    x64_byte(b, (uint8_t)(0xC0 | (reg & 7) << 3 | (rm & 7)));
}

void x64_mov_rr64(struct x64buf *b, enum x64_reg dst, enum x64_reg src)
{
    op_rr(b, true, 0x89, src, dst);
}

void x64_alu_rr32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, enum x64_reg src)
{
    op_rr(b, false, (uint8_t)(op << 3 | 1), src, dst);
}

void x64_alu_ri32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, uint32_t imm)
{
    int32_t s = (int32_t)imm;
    if (s >= -128 && s <= 127) {
        op_rr(b, false, 0x83, op, dst);
        x64_byte(b, (uint8_t)s);
    } else {
        op_rr(b, false, 0x81, op, dst);
        x64_u32(b, imm);
    }
}

void x64_test_rr32(struct x64buf *b, enum x64_reg a, enum x64_reg c)
{
    op_rr(b, false, 0x85, c, a);
}

void x64_imul_rr32(struct x64buf *b, enum x64_reg dst, enum x64_reg src)
{
    rex(b, false, dst, 0, src);
    x64_byte(b, 0x0F);
    x64_byte(b, 0xAF);
    x64_byte(b, (uint8_t)(0xC0 | (dst & 7) << 3 | (src & 7)));
}

void x64_imul_rri32(struct x64buf *b, enum x64_reg dst, enum x64_reg src, uint32_t imm)
{
    op_rr(b, false, 0x69, dst, src);
    x64_u32(b, imm);
}

void x64_test_al(struct x64buf *b)
{
    x64_byte(b, 0x84);
    x64_byte(b, 0xC0);
}

void x64_lea32(struct x64buf *b, enum x64_reg dst, int base, int index, unsigned scale, int32_t disp)
{
    /* Address-size override (67): the sum wraps at 32 bits, as the guest's does. */
    x64_byte(b, 0x67);
    unsigned bse = base < 0 ? 5 : (unsigned)base;
    unsigned idx = index < 0 ? 4 : (unsigned)index;
    rex(b, false, dst, index < 0 ? 0 : idx, base < 0 ? 0 : bse);
    x64_byte(b, 0x8D);
    if (index < 0 && base >= 0 && (bse & 7) != 4) {
        mem_operand(b, dst, bse, disp);
        return;
    }
    /* SIB form. No base: mod 00 with base 101 means disp32 only. */
    unsigned mod = base < 0 ? 0 : (disp == 0 && (bse & 7) != 5) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    x64_byte(b, (uint8_t)(mod << 6 | (dst & 7) << 3 | 4));
    x64_byte(b, (uint8_t)((scale & 3) << 6 | (idx & 7) << 3 | (bse & 7)));
    if (base < 0 || mod == 2)
        x64_u32(b, (uint32_t)disp);
    else if (mod == 1)
        x64_byte(b, (uint8_t)disp);
}

void x64_alu_rm32(struct x64buf *b, enum x64_alu op, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op_mem(b, false, (uint8_t)(op << 3 | 3), dst, base, disp);
}

void x64_add_rm64(struct x64buf *b, enum x64_reg dst, enum x64_reg base, int32_t disp)
{
    op_mem(b, true, 0x03, dst, base, disp);
}

void x64_add_rr64(struct x64buf *b, enum x64_reg dst, enum x64_reg src)
{
    op_rr(b, true, 0x01, src, dst);
}

void x64_mov_rr32(struct x64buf *b, enum x64_reg dst, enum x64_reg src)
{
    op_rr(b, false, 0x89, src, dst);
}

void x64_shr_ri32(struct x64buf *b, enum x64_reg r, uint8_t n)
{
    op_rr(b, false, 0xC1, 5, r);
    x64_byte(b, n);
}

void x64_shl_ri32(struct x64buf *b, enum x64_reg r, uint8_t n)
{
    op_rr(b, false, 0xC1, 4, r);
    x64_byte(b, n);
}

void x64_sar_ri32(struct x64buf *b, enum x64_reg r, uint8_t n)
{
    op_rr(b, false, 0xC1, 7, r);
    x64_byte(b, n);
}

void x64_shift_cl32(struct x64buf *b, unsigned ext, enum x64_reg r)
{
    op_rr(b, false, 0xD3, ext, r);
}

void x64_shift_al_imm(struct x64buf *b, unsigned ext, uint8_t n)
{
    x64_byte(b, 0xC0);
    x64_byte(b, (uint8_t)(0xC0 | (ext & 7) << 3)); /* register AL */
    x64_byte(b, n);
}

void x64_lahf_to_ecx(struct x64buf *b)
{
    x64_byte(b, 0x9F);             /* lahf (needs LAHF-SAHF in 64-bit mode: every x86-64 since 2006) */
    x64_byte(b, 0x0F);             /* movzx ecx, ah: no REX, so register 4 is AH */
    x64_byte(b, 0xB6);
    x64_byte(b, 0xCC);
}

void x64_test_m8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm)
{
    op_mem(b, false, 0xF6, 0, base, disp);
    x64_byte(b, imm);
}

void x64_add_m64_imm8(struct x64buf *b, enum x64_reg base, int32_t disp, int8_t imm)
{
    op_mem(b, true, 0x83, 0, base, disp);
    x64_byte(b, (uint8_t)imm);
}

void x64_cmp_m32_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint32_t imm)
{
    op_mem(b, false, 0x81, 7, base, disp);
    x64_u32(b, imm);
}

void x64_cmp_m64_imm8(struct x64buf *b, enum x64_reg base, int32_t disp, int8_t imm)
{
    op_mem(b, true, 0x83, 7, base, disp);
    x64_byte(b, (uint8_t)imm);
}

void x64_add_ri64(struct x64buf *b, enum x64_reg r, int32_t imm)
{
    if (imm >= -128 && imm <= 127) {
        op_rr(b, true, 0x83, 0, r);
        x64_byte(b, (uint8_t)imm);
    } else {
        op_rr(b, true, 0x81, 0, r);
        x64_u32(b, (uint32_t)imm);
    }
}

void x64_cmp_rm64(struct x64buf *b, enum x64_reg r, enum x64_reg base, int32_t disp)
{
    op_mem(b, true, 0x3B, r, base, disp);
}

void x64_cmp_m8_imm(struct x64buf *b, enum x64_reg base, int32_t disp, uint8_t imm)
{
    op_mem(b, false, 0x80, 7, base, disp);
    x64_byte(b, imm);
}

size_t x64_mov_imm64_patchable(struct x64buf *b, enum x64_reg dst)
{
    rex(b, true, 0, 0, dst);
    x64_byte(b, (uint8_t)(0xB8 + (dst & 7)));
    size_t at = x64_used(b);
    x64_u32(b, 0);
    x64_u32(b, 0);
    return b->overflow ? 0 : at;
}

void x64_patch_u64(struct x64buf *b, size_t at, uint64_t v)
{
    if (b->overflow || at == 0)
        return;
    memcpy(b->start + at, &v, 8);
}

void x64_push(struct x64buf *b, enum x64_reg r)
{
    rex(b, false, 0, 0, r);
    x64_byte(b, (uint8_t)(0x50 + (r & 7)));
}

void x64_pop(struct x64buf *b, enum x64_reg r)
{
    rex(b, false, 0, 0, r);
    x64_byte(b, (uint8_t)(0x58 + (r & 7)));
}

void x64_call_reg(struct x64buf *b, enum x64_reg r)
{
    rex(b, false, 0, 0, r);
    x64_byte(b, 0xFF);
    x64_byte(b, (uint8_t)(0xD0 | (r & 7)));
}

void x64_jmp_reg(struct x64buf *b, enum x64_reg r)
{
    rex(b, false, 0, 0, r);
    x64_byte(b, 0xFF);
    x64_byte(b, (uint8_t)(0xE0 | (r & 7)));
}

void x64_ret(struct x64buf *b) { x64_byte(b, 0xC3); }

size_t x64_jcc32(struct x64buf *b, enum x64_cc cc)
{
    x64_byte(b, 0x0F);
    x64_byte(b, (uint8_t)(0x80 | cc));
    size_t at = x64_used(b);
    x64_u32(b, 0);
    return b->overflow ? 0 : at;
}

size_t x64_jmp32(struct x64buf *b)
{
    x64_byte(b, 0xE9);
    size_t at = x64_used(b);
    x64_u32(b, 0);
    return b->overflow ? 0 : at;
}

void x64_patch_to(struct x64buf *b, size_t rel32_at, size_t target)
{
    if (b->overflow || rel32_at == 0)
        return;
    int32_t rel = (int32_t)((int64_t)target - (int64_t)(rel32_at + 4));
    memcpy(b->start + rel32_at, &rel, 4);
}

void x64_patch_here(struct x64buf *b, size_t rel32_at)
{
    x64_patch_to(b, rel32_at, x64_used(b));
}
