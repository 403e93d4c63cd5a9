/* Lazy arithmetic flags (DESIGN decision 2).
 *
 * Hot ALU operations record (kind, size, operands, result) instead of computing CF..OF; the
 * flags are materialised only when read. lf_op = kind << 2 | size_index (0: 8, 1: 16, 2: 32 bit).
 * For LF_INC/LF_DEC, CF is not part of the lazy state: it stays in cpu->eflags.
 * Operations with irregular flag rules (shifts, multiplies, BCD, bit ops) compute flags
 * eagerly with flags_set_arith(). */
#ifndef BT86_FLAGS_H
#define BT86_FLAGS_H

#include "cpu/cpu.h"

enum lf_kind { LF_NONE = 0, LF_ADD = 1, LF_SUB = 2, LF_LOGIC = 3, LF_INC = 4, LF_DEC = 5 };

static inline unsigned lf_size_index(unsigned size) { return size == 1 ? 0 : size == 2 ? 1 : 2; }
static inline uint32_t size_mask(unsigned size)
{
    return size == 1 ? 0xFFu : size == 2 ? 0xFFFFu : 0xFFFFFFFFu;
}
static inline uint32_t size_sign(unsigned size) { return 1u << (size * 8 - 1); }

/* Record an operation; `res` must already be truncated to `size`. */
static inline void flags_lazy(struct cpu *c, unsigned kind, unsigned size, uint32_t a, uint32_t b,
                              uint32_t res)
{
    c->lf_op = kind << 2 | lf_size_index(size);
    c->lf_a = a;
    c->lf_b = b;
    c->lf_res = res;
}

/* Replace all six arithmetic flags with `arith` (other bits of the argument are ignored). */
static inline void flags_set_arith(struct cpu *c, uint32_t arith)
{
    c->eflags = (c->eflags & ~FL_ARITH) | (arith & FL_ARITH);
    c->lf_op = LF_NONE;
}

uint32_t flags_arith(const struct cpu *c);   /* the six arithmetic flags, materialised */

/* Carry (ADD) or borrow (SUB) out of the top bit of a `bits`-wide operation; also right for
 * ADC/SBB, whose record holds res = a + b + CF / a - b - CF. */
static inline uint32_t flags_carry_of(uint32_t kind, uint32_t a, uint32_t b, uint32_t r,
                                      unsigned bits)
{
    uint32_t v = kind == LF_ADD ? (a & b) | ((a | b) & ~r) : (~a & b) | ((~a | b) & r);
    return (v >> (bits - 1)) & 1;
}

/* CF alone (ADC/SBB carry-in, INC/DEC, Jcc): inline, it is read on hot paths. */
static inline bool flags_cf(const struct cpu *c)
{
    uint32_t op = c->lf_op;
    switch (op >> 2) {
    case LF_ADD:
    case LF_SUB: return flags_carry_of(op >> 2, c->lf_a, c->lf_b, c->lf_res, 8u << (op & 3));
    case LF_LOGIC: return false;
    default: return c->eflags & FL_CF; /* LF_NONE, LF_INC, LF_DEC: CF lives in eflags */
    }
}
/* Before an INC/DEC record replaces the lazy state: CF of an ADD/SUB/LOGIC record goes to
 * EFLAGS, where INC/DEC records keep it. */
static inline void flags_keep_cf(struct cpu *c)
{
    uint32_t kind = c->lf_op >> 2;
    if (kind == LF_ADD || kind == LF_SUB || kind == LF_LOGIC) {
        if (flags_cf(c))
            c->eflags |= FL_CF;
        else
            c->eflags &= ~FL_CF;
    }
}
bool flags_zf(const struct cpu *c);
bool cpu_cond(const struct cpu *c, unsigned cc); /* Jcc/SETcc/CMOVcc condition 0..15 */

/* Materialise into cpu->eflags and drop the lazy state (before eager partial updates). */
static inline void flags_materialize(struct cpu *c)
{
    if (c->lf_op != LF_NONE)
        flags_set_arith(c, flags_arith(c));
}

static inline uint32_t parity_flag(uint32_t v) { return __builtin_parity(v & 0xFF) ? 0 : FL_PF; }

/* Common eager helper: ZF, SF, PF of a result of `size`. */
static inline uint32_t flags_szp(uint32_t res, unsigned size)
{
    res &= size_mask(size);
    return (res == 0 ? FL_ZF : 0) | ((res & size_sign(size)) ? FL_SF : 0) | parity_flag(res);
}

#endif
