/* MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
 *
 * Undefined flags get fixed values so both engines agree: after a multiply SF, ZF and PF
 * describe the low half of the product (the part left in the destination) and AF is 0; a
 * divide leaves all flags unchanged. */
#include "cpu/exec.h"
#include "cpu/exec_rmw.h"
#include "cpu/flags.h"
#include "cpu/mem.h"

static void mul_flags(struct cpu *c, uint32_t low, unsigned sz, bool overflow)
{
    flags_set_arith(c, flags_szp(low, sz) | (overflow ? FL_CF | FL_OF : 0));
}

/* Store a double-width result: AX for bytes, DX:AX or EDX:EAX otherwise. */
static void store_wide(struct cpu *c, unsigned sz, uint64_t prod)
{
    if (sz == 1) {
        reg_set(c, R_EAX, 2, (uint32_t)prod & 0xFFFF);
    } else {
        reg_set(c, R_EAX, sz, (uint32_t)prod & size_mask(sz));
        reg_set(c, R_EDX, sz, (uint32_t)(prod >> (sz * 8)) & size_mask(sz));
    }
}

void exec_MUL(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    uint64_t prod = (uint64_t)e_read(c, i) * reg_get(c, R_EAX, sz);
    store_wide(c, sz, prod);
    mul_flags(c, (uint32_t)prod, sz, (prod >> (sz * 8)) != 0);
}

void exec_IMUL1(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    int64_t prod = (int64_t)sext(e_read(c, i), sz) * sext(reg_get(c, R_EAX, sz), sz);
    store_wide(c, sz, (uint64_t)prod);
    /* Overflow: the product does not equal the sign extension of its low half. */
    mul_flags(c, (uint32_t)prod, sz, prod != sext((uint32_t)prod & size_mask(sz), sz));
}

/* G = a * b truncated to the operand size (0F AF and 69/6B). */
static void imul_trunc(struct cpu *c, const struct insn *i, uint32_t a, uint32_t b)
{
    const unsigned sz = i->osize;
    int64_t prod = (int64_t)sext(a, sz) * sext(b, sz);
    uint32_t low = (uint32_t)prod & size_mask(sz);
    reg_set(c, i->reg, sz, low);
    mul_flags(c, low, sz, prod != sext(low, sz));
}

void exec_IMUL(struct cpu *c, const struct insn *i)
{
    uint32_t src = e_read(c, i);
    imul_trunc(c, i, reg_get(c, i->reg, i->osize), src);
}

void exec_IMUL3(struct cpu *c, const struct insn *i)
{
    imul_trunc(c, i, e_read(c, i), i->imm & size_mask(i->osize));
}

/* Dividend: AX for bytes, DX:AX or EDX:EAX otherwise. */
static uint64_t load_wide(const struct cpu *c, unsigned sz)
{
    if (sz == 1)
        return reg_get(c, R_EAX, 2);
    return ((uint64_t)reg_get(c, R_EDX, sz) << (sz * 8)) | reg_get(c, R_EAX, sz);
}

/* Quotient in AL/AX/EAX, remainder in AH/DX/EDX. */
static void store_divide(struct cpu *c, unsigned sz, uint32_t q, uint32_t r)
{
    if (sz == 1) {
        reg_set(c, R_EAX, 2, (q & 0xFF) | (r & 0xFF) << 8);
    } else {
        reg_set(c, R_EAX, sz, q);
        reg_set(c, R_EDX, sz, r);
    }
}

void exec_DIV(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    uint64_t divisor = e_read(c, i);
    uint64_t dividend = load_wide(c, sz);
    if (divisor == 0)
        cpu_fault(c, EXC_DE);
    uint64_t q = dividend / divisor;
    if (q > size_mask(sz))
        cpu_fault(c, EXC_DE);
    store_divide(c, sz, (uint32_t)q, (uint32_t)(dividend % divisor));
}

void exec_IDIV(struct cpu *c, const struct insn *i)
{
    const unsigned sz = i->osize;
    int64_t divisor = sext(e_read(c, i), sz);
    uint64_t raw = load_wide(c, sz);
    int64_t dividend = sz == 4 ? (int64_t)raw : (int64_t)sext((uint32_t)raw, sz * 2);
    if (divisor == 0)
        cpu_fault(c, EXC_DE);
    /* INT64_MIN / -1 would overflow in C; its quotient is out of range anyway. */
    if (divisor == -1 && dividend == INT64_MIN)
        cpu_fault(c, EXC_DE);
    int64_t q = dividend / divisor, r = dividend % divisor; /* both truncate toward zero */
    int64_t lim = (int64_t)1 << (sz * 8 - 1);
    if (q < -lim || q >= lim)
        cpu_fault(c, EXC_DE);
    store_divide(c, sz, (uint32_t)q & size_mask(sz), (uint32_t)r & size_mask(sz));
}
